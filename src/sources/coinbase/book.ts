/**
 * The local level2 book of one Coinbase product, built from the `book-depth` records the parser
 * makes of `l2_data` (protocols.md §3.2), and the policy that bounds how often it may resync.
 *
 * The sync rule (reliability.md §5 rule 6, rows D-02 and D-03):
 *
 * 1. A snapshot replaces the book. A crossed snapshot leaves the book invalid.
 * 2. An update applies its absolute quantities in order (`0` removes the level) when the book is
 *    valid and the update is contiguous: `prevUpdateId + 1 === firstUpdateId`, i.e. no message of
 *    the connection was lost in between. Any lost message may have been an `l2_data` one, so a
 *    gap invalidates the book. An update at or before the last one applied is stale and ignored.
 * 3. After an update the best bid must be below the best ask; a crossed book is invalid.
 * 4. While invalid (or before the first snapshot) updates are ignored: the resync on Coinbase is
 *    an unsubscribe and subscribe of `level2` (see `coinbaseResubscribeBook`), which delivers a
 *    fresh snapshot on the same ordered stream, so there is nothing to buffer and replay. The
 *    caller must not use an invalid book; {@link CoinbaseBook.snapshot} returns undefined then.
 *
 * ```ts
 * const book = new CoinbaseBook('BTC-USD');
 * const result = book.apply(depth);           // depth: a BookDepth from the parser
 * if (result.status === 'invalidated' && policy.request('BTC-USD').action === 'resync') {
 *   for (const message of coinbaseResubscribeBook(['BTC-USD'])) socket.send(JSON.stringify(message));
 * }
 * book.top();                                  // { bidPrice, bidQty, askPrice, askQty } or undefined
 * ```
 */
import { InvariantError, quote } from '../../errors.js';
import type { BookDepth, BookTop, Level } from '../../model/index.js';

export type CoinbaseBookState = 'empty' | 'valid' | 'invalid';

/** What {@link CoinbaseBook.apply} did with a record. */
export type BookApplyResult =
  | { readonly status: 'applied' }
  /** Not applied, and the book is unchanged (stale, or waiting for a snapshot). */
  | { readonly status: 'ignored'; readonly reason: string }
  /** The book became invalid on this record: resync. */
  | { readonly status: 'invalidated'; readonly reason: string };

/** Best bid and ask with their quantities. */
export interface BookTopLevels {
  readonly bidPrice: number;
  readonly bidQty: number;
  readonly askPrice: number;
  readonly askQty: number;
}

/**
 * One side of a book: prices kept sorted worst first, so the changes near the top, the common
 * case, touch the end of the array.
 */
class BookSide {
  readonly #bids: boolean;
  /** Worst first: bids ascending, asks descending. */
  readonly #prices: number[] = [];
  readonly #quantities = new Map<number, number>();

  constructor(bids: boolean) {
    this.#bids = bids;
  }

  get size(): number {
    return this.#prices.length;
  }

  best(): number | undefined {
    return this.#prices[this.#prices.length - 1];
  }

  quantity(price: number): number | undefined {
    return this.#quantities.get(price);
  }

  set(price: number, qty: number): void {
    const known = this.#quantities.has(price);
    if (qty === 0) {
      if (!known) return;
      this.#quantities.delete(price);
      this.#prices.splice(this.#index(price), 1);
      return;
    }
    this.#quantities.set(price, qty);
    if (!known) this.#prices.splice(this.#index(price), 0, price);
  }

  clear(): void {
    this.#prices.length = 0;
    this.#quantities.clear();
  }

  /** Levels best first, at most `limit`. */
  levels(limit: number): Level[] {
    const out: Level[] = [];
    for (let i = this.#prices.length - 1; i >= 0 && out.length < limit; i--) {
      const price = this.#prices[i] as number;
      out.push([price, this.#quantities.get(price) ?? 0]);
    }
    return out;
  }

  /** Position of `price` in the worst-first order: where it is, or where it goes. */
  #index(price: number): number {
    const prices = this.#prices;
    let lo = 0;
    let hi = prices.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = prices[mid] as number;
      if (this.#bids ? at < price : at > price) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export class CoinbaseBook {
  readonly venue = 'coinbase';
  readonly symbol: string;
  readonly #bids = new BookSide(true);
  readonly #asks = new BookSide(false);
  #state: CoinbaseBookState = 'empty';
  #reason: string | undefined = 'no snapshot yet';
  #lastUpdateId = -1;
  #tsEvent = 0;

  constructor(symbol: string) {
    this.symbol = symbol;
  }

  get state(): CoinbaseBookState {
    return this.#state;
  }

  /** Why the book is not valid, or undefined when it is. */
  get invalidReason(): string | undefined {
    return this.#reason;
  }

  /** `lastUpdateId` of the last record applied (the message's `sequence_num`), or -1 before any. */
  get lastUpdateId(): number {
    return this.#lastUpdateId;
  }

  /** `tsEvent` of the last record applied, or 0 before any. */
  get tsEvent(): number {
    return this.#tsEvent;
  }

  /** Number of bid and ask levels. */
  get depth(): { readonly bids: number; readonly asks: number } {
    return { bids: this.#bids.size, asks: this.#asks.size };
  }

  /** Applies a snapshot or an update of this book's symbol. */
  apply(depth: BookDepth): BookApplyResult {
    if (depth.symbol !== this.symbol || depth.venue !== this.venue) {
      throw new InvariantError(`A ${quote(depth.venue)} ${quote(depth.symbol)} book record was given to the ${this.venue} ${quote(this.symbol)} book`);
    }
    if (depth.snapshot) return this.#snapshot(depth);
    if (this.#state !== 'valid') return { status: 'ignored', reason: `update ${depth.lastUpdateId} ignored: the book is ${this.#state} (${this.#reason ?? ''})` };
    if (depth.lastUpdateId <= this.#lastUpdateId) {
      return { status: 'ignored', reason: `stale update: ${depth.lastUpdateId} is not after the last applied ${this.#lastUpdateId}` };
    }
    const prev = depth.prevUpdateId;
    if (prev !== undefined && prev + 1 !== depth.firstUpdateId) {
      return this.#invalidate(`sequence gap: update ${depth.firstUpdateId} follows ${prev}, messages ${prev + 1} to ${depth.firstUpdateId - 1} were lost`);
    }
    for (const [price, qty] of depth.bids) this.#bids.set(price, qty);
    for (const [price, qty] of depth.asks) this.#asks.set(price, qty);
    this.#lastUpdateId = depth.lastUpdateId;
    this.#tsEvent = depth.tsEvent;
    const crossed = this.#crossed();
    if (crossed !== undefined) return this.#invalidate(`${crossed} after update ${depth.lastUpdateId}`);
    return APPLIED;
  }

  /** Marks the book invalid (the connection saw a gap, the feed stalled, ...) until the next snapshot. */
  invalidate(reason: string): void {
    this.#invalidate(reason);
  }

  /** Best bid and ask, or undefined unless the book is valid and has both sides. */
  top(): BookTopLevels | undefined {
    if (this.#state !== 'valid') return undefined;
    const bidPrice = this.#bids.best();
    const askPrice = this.#asks.best();
    if (bidPrice === undefined || askPrice === undefined) return undefined;
    return { bidPrice, bidQty: this.#bids.quantity(bidPrice) ?? 0, askPrice, askQty: this.#asks.quantity(askPrice) ?? 0 };
  }

  /** The top of the book as a `book-top` record received at `tsRecv`, or undefined when {@link top} is. */
  topRecord(tsRecv: number): BookTop | undefined {
    const top = this.top();
    if (top === undefined) return undefined;
    return { type: 'book-top', venue: this.venue, symbol: this.symbol, tsEvent: this.#tsEvent, tsRecv, ...top, updateId: this.#lastUpdateId };
  }

  /** Bid levels best first (highest price), at most `limit`. Empty unless valid. */
  bids(limit = Number.POSITIVE_INFINITY): Level[] {
    return this.#state === 'valid' ? this.#bids.levels(limit) : [];
  }

  /** Ask levels best first (lowest price), at most `limit`. Empty unless valid. */
  asks(limit = Number.POSITIVE_INFINITY): Level[] {
    return this.#state === 'valid' ? this.#asks.levels(limit) : [];
  }

  /** The book as a `book-depth` snapshot record received at `tsRecv` (top `limit` levels a side), or undefined unless valid. */
  snapshot(tsRecv: number, limit = Number.POSITIVE_INFINITY): BookDepth | undefined {
    if (this.#state !== 'valid') return undefined;
    return {
      type: 'book-depth',
      venue: this.venue,
      symbol: this.symbol,
      tsEvent: this.#tsEvent,
      tsRecv,
      firstUpdateId: this.#lastUpdateId,
      lastUpdateId: this.#lastUpdateId,
      bids: this.#bids.levels(limit),
      asks: this.#asks.levels(limit),
      snapshot: true,
    };
  }

  #snapshot(depth: BookDepth): BookApplyResult {
    this.#bids.clear();
    this.#asks.clear();
    for (const [price, qty] of depth.bids) this.#bids.set(price, qty);
    for (const [price, qty] of depth.asks) this.#asks.set(price, qty);
    this.#lastUpdateId = depth.lastUpdateId;
    this.#tsEvent = depth.tsEvent;
    const crossed = this.#crossed();
    if (crossed !== undefined) return this.#invalidate(`${crossed} in snapshot ${depth.lastUpdateId}`);
    this.#state = 'valid';
    this.#reason = undefined;
    return APPLIED;
  }

  #crossed(): string | undefined {
    const bid = this.#bids.best();
    const ask = this.#asks.best();
    if (bid === undefined || ask === undefined || bid < ask) return undefined;
    return `crossed book: best bid ${quote(bid)} is not below best ask ${quote(ask)}`;
  }

  #invalidate(reason: string): BookApplyResult {
    this.#state = 'invalid';
    this.#reason = reason;
    this.#bids.clear();
    this.#asks.clear();
    return { status: 'invalidated', reason };
  }
}

const APPLIED: BookApplyResult = { status: 'applied' };

/** Bounds on resyncs: at most `maxResyncs` in any `windowMs`. */
export interface ResyncPolicyOptions {
  readonly maxResyncs: number;
  readonly windowMs: number;
}

/** What to do about a book that needs a resync. */
export type ResyncDecision =
  /** Resync now; `attempt` counts the resyncs in the window, this one included. */
  | { readonly action: 'resync'; readonly attempt: number }
  /** Too many resyncs: report the book degraded, alert, and try again no sooner than `retryAt`. */
  | { readonly action: 'degraded'; readonly retryAt: number; readonly reason: string };

/** Validates resync bounds; throws a RangeError quoting the bad value. */
export function checkResyncPolicy(options: ResyncPolicyOptions): ResyncPolicyOptions {
  if (!Number.isSafeInteger(options.maxResyncs) || options.maxResyncs < 1) throw new RangeError(`maxResyncs ${quote(options.maxResyncs)} must be an integer >= 1`);
  if (!(options.windowMs > 0 && options.windowMs < Infinity)) throw new RangeError(`windowMs ${quote(options.windowMs)} must be a positive number of milliseconds`);
  return options;
}

/**
 * The resync decision for a book whose earlier resyncs happened at `history` (epoch ms, oldest
 * first), at time `now`. Pure: returns the history to keep (the resyncs still inside the window,
 * plus this one when it is allowed).
 */
export function decideResync(
  history: readonly number[],
  now: number,
  options: ResyncPolicyOptions,
): { readonly decision: ResyncDecision; readonly history: readonly number[] } {
  const recent = history.filter((time) => time > now - options.windowMs);
  if (recent.length < options.maxResyncs) {
    const kept = [...recent, now];
    return { decision: { action: 'resync', attempt: kept.length }, history: kept };
  }
  const retryAt = (recent[0] ?? now) + options.windowMs;
  return {
    decision: {
      action: 'degraded',
      retryAt,
      reason: `${recent.length} resyncs in the last ${options.windowMs} ms reach the limit of ${options.maxResyncs}: next allowed at ${retryAt}`,
    },
    history: recent,
  };
}

/**
 * {@link decideResync} with the history kept per key (a product id), and time from an injected
 * clock (`() => ctx.scheduler.now()`).
 */
export class ResyncPolicy {
  readonly options: ResyncPolicyOptions;
  readonly #now: () => number;
  readonly #history = new Map<string, readonly number[]>();

  constructor(options: ResyncPolicyOptions, now: () => number) {
    this.options = checkResyncPolicy(options);
    this.#now = now;
  }

  /** Asks to resync `key` now. */
  request(key: string): ResyncDecision {
    const { decision, history } = decideResync(this.#history.get(key) ?? [], this.#now(), this.options);
    this.#history.set(key, history);
    return decision;
  }

  /** Forgets `key`'s resyncs (the book has been healthy for long enough, or is gone). */
  reset(key: string): void {
    this.#history.delete(key);
  }
}
