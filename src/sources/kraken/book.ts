/**
 * A local copy of one symbol's Kraken L2 book, kept by the rules of protocols.md §4.4 and checked
 * against Kraken's CRC-32 on every message (§4.6):
 *
 * - a snapshot replaces the book; an update sets each level's quantity, and quantity 0 removes it;
 * - all levels of a message are applied before the checksum is computed;
 * - after every message each side is truncated to the subscribed depth (Kraken sends no delete for
 *   a level pushed out of range);
 * - the checksum covers the top 10 levels of each side, whatever the depth.
 *
 * ```ts
 * const book = new KrakenBook({ symbol: 'BTC-USD', depth: 10, pricePrecision: 1, qtyPrecision: 8 });
 * // for each `book` control message from the parser:
 * const result = book.apply(message);
 * if (!result.ok) invalidate(`checksum ${result.actual} != ${result.expected}`);
 * ```
 *
 * Precision: with `pricePrecision` and `qtyPrecision` (the instrument channel's `price_precision`
 * and `qty_precision`) every value is rendered with exactly that many decimals; without them the
 * checksum uses each level's text as Kraken sent it, which Kraken writes with full precision.
 *
 * {@link KrakenResyncLimiter} is the per-symbol flapping guard a connection layer puts in front of
 * resubscribing after a mismatch (reliability.md §5 rule 6, D-04).
 */
import { InvariantError, quote } from '../../errors.js';
import type { BookDepth, Level } from '../../model/index.js';
import type { KrakenLevel, KrakenPrecision } from './checksum.js';
import { krakenChecksum, krakenChecksumInput } from './checksum.js';
import type { KrakenBookDepth } from './messages.js';
import { KRAKEN_BOOK_DEPTHS } from './messages.js';

/** What a book applies: a snapshot or an update, with Kraken's checksum of the result. */
export interface KrakenBookInput {
  readonly snapshot: boolean;
  readonly bids: readonly KrakenLevel[];
  readonly asks: readonly KrakenLevel[];
  readonly checksum: number;
}

/** The verdict on one message: the local book's checksum equals Kraken's, or both values. */
export type ChecksumResult = { readonly ok: true } | { readonly ok: false; readonly expected: number; readonly actual: number };

export interface KrakenBookOptions {
  /** Canonical symbol (`BTC-USD`), for the records the book builds. */
  readonly symbol: string;
  /** The subscribed depth: each side is truncated to it after every message. */
  readonly depth: KrakenBookDepth;
  /** Decimals of prices in the checksum; absent: the text as sent. */
  readonly pricePrecision?: number;
  /** Decimals of quantities in the checksum; absent: the text as sent. */
  readonly qtyPrecision?: number;
}

/** The best bid and ask. */
export interface KrakenTop {
  readonly bid: Level | undefined;
  readonly ask: Level | undefined;
}

const OK: ChecksumResult = Object.freeze({ ok: true });

export class KrakenBook {
  readonly symbol: string;
  readonly depth: KrakenBookDepth;
  readonly #precision: KrakenPrecision;
  /** Bids from the highest price. */
  readonly #bids: KrakenLevel[] = [];
  /** Asks from the lowest price. */
  readonly #asks: KrakenLevel[] = [];
  #synced = false;

  constructor(options: KrakenBookOptions) {
    const depth: unknown = options.depth;
    if (!KRAKEN_BOOK_DEPTHS.some((valid) => valid === depth)) {
      throw new RangeError(`Kraken book depth ${quote(depth)} is not one of ${KRAKEN_BOOK_DEPTHS.join(', ')}`);
    }
    for (const [name, value] of [['pricePrecision', options.pricePrecision], ['qtyPrecision', options.qtyPrecision]] as const) {
      if (value !== undefined && !(Number.isInteger(value) && value >= 0 && value <= 30)) {
        throw new RangeError(`Kraken book ${name} ${quote(value)} must be an integer from 0 to 30`);
      }
    }
    this.symbol = options.symbol;
    this.depth = options.depth;
    this.#precision = { price: options.pricePrecision, qty: options.qtyPrecision };
  }

  /** True once a snapshot has been applied (and until {@link reset}). */
  get synced(): boolean {
    return this.#synced;
  }

  /**
   * Applies a snapshot or an update and compares the checksum of the result with the message's.
   * An update before any snapshot is applied to an empty book, which practically never matches:
   * the caller resyncs, as for any mismatch. The book keeps the levels applied either way.
   */
  apply(message: KrakenBookInput): ChecksumResult {
    if (message.snapshot) {
      this.#bids.length = 0;
      this.#asks.length = 0;
      this.#synced = true;
    }
    for (const level of message.bids) setLevel(this.#bids, level, true);
    for (const level of message.asks) setLevel(this.#asks, level, false);
    if (this.#bids.length > this.depth) this.#bids.length = this.depth;
    if (this.#asks.length > this.depth) this.#asks.length = this.depth;
    const actual = this.checksum();
    return actual === message.checksum ? OK : { ok: false, expected: message.checksum, actual };
  }

  /** Empties the book; the next message should be a snapshot. */
  reset(): void {
    this.#bids.length = 0;
    this.#asks.length = 0;
    this.#synced = false;
  }

  /** The checksum of the book as it is. */
  checksum(): number {
    return krakenChecksum(this.#asks, this.#bids, this.#precision);
  }

  /** The string the checksum is computed from, for diagnosing a mismatch. */
  checksumInput(): string {
    return krakenChecksumInput(this.#asks, this.#bids, this.#precision);
  }

  /** The best bid and ask (undefined for an empty side). */
  top(): KrakenTop {
    const bid = this.#bids[0];
    const ask = this.#asks[0];
    return { bid: bid === undefined ? undefined : [bid.price, bid.qty], ask: ask === undefined ? undefined : [ask.price, ask.qty] };
  }

  /** Bids from the best (highest) price, at most `limit` of them. */
  bids(limit = Infinity): Level[] {
    return this.#bids.slice(0, limit).map(toLevel);
  }

  /** Asks from the best (lowest) price, at most `limit` of them. */
  asks(limit = Infinity): Level[] {
    return this.#asks.slice(0, limit).map(toLevel);
  }

  /** The levels with the text they were sent as, in book order: for the checksum and for diagnosis. */
  levels(): { readonly bids: readonly KrakenLevel[]; readonly asks: readonly KrakenLevel[] } {
    return { bids: this.#bids.slice(), asks: this.#asks.slice() };
  }

  /**
   * The whole book as a `book-depth` snapshot record, e.g. to emit a fresh book after a resync.
   * Throws an InvariantError before the first snapshot: there is no book to describe yet.
   */
  toBookDepth(at: { readonly tsEvent: number; readonly tsRecv: number; readonly updateId: number }): BookDepth {
    if (!this.#synced) throw new InvariantError(`The Kraken book of ${this.symbol} has no snapshot yet`);
    return {
      type: 'book-depth',
      venue: 'kraken',
      symbol: this.symbol,
      tsEvent: at.tsEvent,
      tsRecv: at.tsRecv,
      firstUpdateId: at.updateId,
      lastUpdateId: at.updateId,
      bids: this.bids(),
      asks: this.asks(),
      snapshot: true,
    };
  }
}

/** Sets one level of a side kept in book order (bids descending, asks ascending); qty 0 removes it. */
function setLevel(side: KrakenLevel[], level: KrakenLevel, descending: boolean): void {
  const price = level.price;
  // Binary search for the first index whose price is not better than `price`.
  let lo = 0;
  let hi = side.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const other = (side[mid] as KrakenLevel).price;
    if (descending ? other > price : other < price) lo = mid + 1;
    else hi = mid;
  }
  const found = lo < side.length && (side[lo] as KrakenLevel).price === price;
  if (level.qty === 0) {
    if (found) side.splice(lo, 1);
  } else if (found) {
    side[lo] = level;
  } else {
    side.splice(lo, 0, level);
  }
}

function toLevel(level: KrakenLevel): Level {
  return [level.price, level.qty];
}

/** How a limiter answers a request to resync a symbol's book. */
export type ResyncDecision =
  /** Resync now; `attempt` counts the resyncs in the current window, this one included. */
  | { readonly action: 'resync'; readonly attempt: number }
  /** Too many resyncs in the window: stay degraded (e.g. checksum `warn` mode) until `retryAt` (epoch ms). */
  | { readonly action: 'degraded'; readonly retryAt: number };

export interface KrakenResyncLimiterOptions {
  /** Resyncs allowed per symbol within `windowMs` (default 5). */
  readonly maxResyncs?: number;
  /** The sliding window, in ms (default 10 minutes). */
  readonly windowMs?: number;
  /** The clock (epoch ms); inject the scheduler's `now`. */
  readonly now: () => number;
}

/**
 * The flapping guard of reliability.md §5 rule 6 and D-04: at most `maxResyncs` resyncs per symbol
 * in any `windowMs`, then `degraded` until the oldest of them leaves the window. Pure bookkeeping:
 * no timers, time comes from the injected clock, state is per instance and per symbol.
 */
export class KrakenResyncLimiter {
  readonly maxResyncs: number;
  readonly windowMs: number;
  readonly #now: () => number;
  /** Times of the resyncs still inside the window, oldest first, per symbol. */
  readonly #history = new Map<string, number[]>();

  constructor(options: KrakenResyncLimiterOptions) {
    const maxResyncs = options.maxResyncs ?? 5;
    const windowMs = options.windowMs ?? 600_000;
    if (!Number.isInteger(maxResyncs) || maxResyncs < 1) throw new RangeError(`maxResyncs ${quote(maxResyncs)} must be a positive integer`);
    if (!(windowMs > 0 && windowMs < Infinity)) throw new RangeError(`windowMs ${quote(windowMs)} must be a positive number of milliseconds`);
    this.maxResyncs = maxResyncs;
    this.windowMs = windowMs;
    this.#now = options.now;
  }

  /** Asks to resync `symbol` now: counts it and answers `resync`, or answers `degraded` without counting it. */
  request(symbol: string): ResyncDecision {
    const now = this.#now();
    const times = this.#recent(symbol, now);
    if (times.length >= this.maxResyncs) {
      return { action: 'degraded', retryAt: (times[0] as number) + this.windowMs };
    }
    times.push(now);
    this.#history.set(symbol, times);
    return { action: 'resync', attempt: times.length };
  }

  /** Resyncs of `symbol` counted in the current window. */
  recent(symbol: string): number {
    return this.#recent(symbol, this.#now()).length;
  }

  /** Forgets `symbol`'s history (e.g. after it was healthy for a long time, or on unsubscribe). */
  reset(symbol: string): void {
    this.#history.delete(symbol);
  }

  #recent(symbol: string, now: number): number[] {
    const times = this.#history.get(symbol);
    if (times === undefined) return [];
    let first = 0;
    while (first < times.length && (times[first] as number) <= now - this.windowMs) first++;
    if (first > 0) times.splice(0, first);
    if (times.length === 0) this.#history.delete(symbol);
    return times;
  }
}
