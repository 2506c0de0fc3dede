/**
 * Keeps the local order book of one Binance symbol in sync with the venue: diff-depth records
 * from the WebSocket, bridged to a REST snapshot, continuity checked on every update
 * (protocols.md §1.5 for spot, §2.3 for futures; reliability.md §5 rule 6, matrix rows D-03,
 * D-03a, D-05, R-10). One instance per (market, symbol): a gap resets this symbol only.
 *
 * ```ts
 * const sync = new BinanceBookSync({
 *   market: 'spot',
 *   symbol: 'BTC-USDT',
 *   handler: {
 *     book: (record) => subscriber.next(record), // the synced book as a snapshot, then each applied diff
 *     requestSnapshot: (attempt) => {
 *       // The caller does the REST call, with its own backoff for attempt > 0.
 *       fetchDepth('BTCUSDT', attempt).then((snapshot) => sync.snapshot(snapshot), (err: unknown) => sync.snapshotFailed(err));
 *     },
 *     control: (event) => subscriber.next(toControlEvent(event)),
 *   },
 * });
 * // for every book-depth diff record of BTC-USDT the parser delivers:
 * sync.diff(record);
 * ```
 *
 * States:
 *
 * ```
 *   WAITING_SNAPSHOT ──snapshot bridges the buffer──► SYNCED ◄──snapshot bridges (resynced)──┐
 *          │                                            │                                   │
 *          │                                            └──gap / overlap / crossed / reset──► INVALID
 *          │                                                                                 │
 *          └──────────── maxSnapshotAttempts failed attempts in a row ──► DEGRADED ◄──────────┘
 *                                       reset(reason) leaves DEGRADED (to INVALID once a book was published)
 * ```
 *
 * - WAITING_SNAPSHOT: no book has been published yet. Diffs are buffered; the first one triggers
 *   `requestSnapshot(0)` (protocols.md §1.5 steps 1-2: buffer, then fetch).
 * - SYNCED: every diff is checked and applied, then delivered to `book`. A diff the book already
 *   covers (`u <= book id`) is a duplicate (D-05): dropped and counted.
 * - INVALID: a published book was found broken. `invalidated` was emitted (consumers must drop
 *   their copy), nothing more comes from `book` until a fresh snapshot bridges the buffered diffs.
 * - DEGRADED: `maxSnapshotAttempts` attempts in a row failed (a REST error, a snapshot too old,
 *   a snapshot the buffered diffs do not continue). `degraded` was emitted; diffs and late snapshot
 *   answers are dropped and counted, nothing is buffered (R-10: memory stays bounded). Only
 *   `reset(reason)` leaves it, for instance after the caller has reconnected.
 *
 * Bridging a snapshot with `lastUpdateId` L to the buffered diffs (first buffered `U` = firstU):
 *
 * | step | spot (§1.5) | futures (§2.3; COIN-M follows the same rules) |
 * |---|---|---|
 * | snapshot too old: fetch again (counts as a failed attempt) | L < firstU (deliberately conservative: even L = firstU - 1 re-fetches) | L < firstU (then no buffered diff can have U <= L) |
 * | drop buffered diffs the snapshot covers | u <= L | u < L |
 * | none left | keep the snapshot, wait for the next diff | same |
 * | first remaining diff must bridge | U <= L + 1 <= u | U <= L <= u (its `pu` is not checked) |
 * | each later diff | U = previous u + 1 | pu = previous u |
 *
 * A first remaining diff that does not bridge is a gap right after the snapshot (cause
 * `no-bridge`); a later buffered diff that breaks continuity (`gap`, `overlap`), or a book that
 * comes out crossed (`crossed`: best bid >= best ask), also ends the attempt. Each emits
 * `invalidated` and fetches again, counted as a failed attempt; the new buffer holds the diffs
 * from the offending one on (after it, for `crossed`, which was applied). Once SYNCED, a break
 * emits `invalidated` (`gap` when ids are missing, `overlap` when the diff starts inside what
 * the book already covers, `crossed`), drops the book, buffers the offending diff (not the
 * crossing one, which was applied) and fetches a snapshot; that is not a failed attempt.
 *
 * What comes out, in order: `book(snapshot)` with the whole synced book once sync is reached
 * (`snapshot: true`, first and last update id = the book id, times of the last applied diff),
 * then `control(resynced)` when a book had been published before, then `book(diff)` for every
 * diff applied, the record itself. Handlers run synchronously; `requestSnapshot` may answer
 * synchronously through `snapshot` or `snapshotFailed`. Other handlers should not call back into
 * the sync.
 *
 * The buffer holds at most `maxBufferedDiffs` diffs: one more drops them all (counted), emits
 * `invalidated` (cause `buffer-overflow`) and starts again from the new diff. The snapshot answer
 * still on its way will then be too old and is fetched again.
 *
 * There is no request id: a snapshot is accepted whenever the sync is waiting for one, and it is
 * always checked against the buffered diffs, so a late answer to an earlier request can cost an
 * attempt but never corrupt the book. A caller that resets should abandon its request in flight.
 */
import { InvariantError, quote } from '../../errors.js';
import type { BookDepth } from '../../model/index.js';
import type { ReadonlyOrderBook } from './orderBook.js';
import { OrderBook } from './orderBook.js';
import type { BinanceMarket } from './payloads.js';

export type BookSyncState = 'WAITING_SNAPSHOT' | 'SYNCED' | 'INVALID' | 'DEGRADED';

/**
 * Why a book or a sync attempt was discarded:
 * - `gap`: update ids are missing (spot `U > last + 1`, futures `pu > last`);
 * - `overlap`: a diff starts inside what the book already covers but goes beyond it (spot
 *   `U <= last < u`, futures `pu < last`);
 * - `crossed`: after an update the best bid is at or above the best ask;
 * - `no-bridge`: the first diff after the snapshot starts after it (a gap right after the snapshot);
 * - `buffer-overflow`: more diffs arrived than the buffer holds while waiting for a snapshot;
 * - `reset`: the caller reset the sync while it was synced.
 */
export type InvalidationCause = 'gap' | 'overlap' | 'crossed' | 'no-bridge' | 'buffer-overflow' | 'reset';

/** The book is no longer valid: consumers must drop their copy and wait for the next snapshot record. */
export interface BookInvalidated {
  readonly kind: 'invalidated';
  readonly symbol: string;
  readonly cause: InvalidationCause;
  /** A sentence naming the values, e.g. `binance spot BTC-USDT diff 1007-1009 starts at U "1007": expected U "1006"`. */
  readonly reason: string;
  /**
   * What was expected and what came: `gap`/`overlap`/`no-bridge`: the update id (spot `U`,
   * futures `pu`, `no-bridge` the largest acceptable `U`) and the one received; `crossed`: the
   * best ask and the best bid at or above it; `buffer-overflow`: the buffer size and the number of
   * diffs that arrived. Absent for `reset`.
   */
  readonly expected?: number;
  readonly got?: number;
  /** The id the book was at when the problem was found, when there was a book. */
  readonly lastUpdateId?: number;
}

/** Snapshot attempts are exhausted: the book stays unavailable until `reset`. Alert on it. */
export interface BookDegraded {
  readonly kind: 'degraded';
  readonly symbol: string;
  /** Failed attempts in a row. */
  readonly attempts: number;
  /** Why the last attempt failed. */
  readonly reason: string;
}

/** A book invalidated earlier is synced again; its snapshot record came just before. */
export interface BookResynced {
  readonly kind: 'resynced';
  readonly symbol: string;
  readonly lastUpdateId: number;
}

export type BookSyncEvent = BookInvalidated | BookDegraded | BookResynced;

/** Where a {@link BinanceBookSync} delivers what it produces. */
export interface BookSyncHandler {
  /** The synced book as a snapshot record when sync is reached, then every applied diff record. */
  book(record: BookDepth): void;
  /**
   * Fetch a REST depth snapshot and pass it to `snapshot` (or the error to `snapshotFailed`).
   * `attempt` is the number of failed attempts since the last sync (0 for the first), for backoff.
   */
  requestSnapshot(attempt: number): void;
  control(event: BookSyncEvent): void;
}

export interface BinanceBookSyncOptions {
  /** `spot` applies the U/u rules of protocols.md §1.5, `usdm` the `pu` rules of §2.3. */
  readonly market: BinanceMarket;
  /** The symbol of the records, as the parser writes it (`BTC-USDT`). */
  readonly symbol: string;
  readonly handler: BookSyncHandler;
  /** Diffs buffered while waiting for a snapshot (default 10 000). */
  readonly maxBufferedDiffs?: number;
  /** Failed snapshot attempts in a row before DEGRADED (default 5). */
  readonly maxSnapshotAttempts?: number;
  /** Most levels kept per side of the book (default: no limit); see {@link OrderBook}. */
  readonly maxLevels?: number;
}

/**
 * Counts since construction. Every diff received is counted once: `appliedDiffs + duplicateDiffs +
 * staleDiffs + overflowedDiffs + degradedDiffs + resetDiffs + bufferedDiffs` is the number of
 * `diff` calls. (Applied diffs are lost with the book when it is invalidated; the `invalidated`
 * event says so.)
 */
export interface BookSyncCounters {
  /** Diffs applied to the book, live or replayed from the buffer. */
  readonly appliedDiffs: number;
  /** Diffs dropped because the book already covered them (`u <= book id`, D-05). */
  readonly duplicateDiffs: number;
  /** Buffered diffs dropped because the snapshot already covered them (spot `u <= L`, futures `u < L`). */
  readonly staleDiffs: number;
  /** Buffered diffs dropped when the buffer overflowed. */
  readonly overflowedDiffs: number;
  /** Diffs dropped while DEGRADED, and buffered diffs dropped on entering it. */
  readonly degradedDiffs: number;
  /** Diffs buffered when the caller reset the sync. */
  readonly resetDiffs: number;
  /** Snapshots older than the first buffered diff, fetched again. */
  readonly staleSnapshots: number;
  /** Snapshot answers (records or failures) that came while SYNCED or DEGRADED, unused. */
  readonly ignoredSnapshots: number;
  /** `snapshotFailed` calls that were used (counted as failed attempts). */
  readonly snapshotFailures: number;
  /** `invalidated` events emitted. */
  readonly invalidations: number;
  /** Syncs reached after a book had been published (`resynced` events). */
  readonly resyncs: number;
}

const DEFAULT_MAX_BUFFERED_DIFFS = 10_000;
const DEFAULT_MAX_SNAPSHOT_ATTEMPTS = 5;

/** A broken rule: what an `invalidated` event says besides the symbol. */
interface Problem {
  readonly cause: InvalidationCause;
  readonly reason: string;
  readonly expected?: number;
  readonly got?: number;
  readonly lastUpdateId?: number;
}

const DUPLICATE = 'duplicate';

/** The local book of one Binance symbol, kept in sync. See the module comment. */
export class BinanceBookSync {
  readonly market: BinanceMarket;
  readonly symbol: string;
  readonly #handler: BookSyncHandler;
  readonly #futures: boolean;
  readonly #maxBuffered: number;
  readonly #maxAttempts: number;
  /** `binance spot BTC-USDT`, for messages. */
  readonly #name: string;
  readonly #book: OrderBook;

  #state: BookSyncState = 'WAITING_SNAPSHOT';
  /** The book id: the last update id applied. Meaningful while SYNCED and while replaying. */
  #lastId = 0;
  #buffer: BookDepth[] = [];
  /** `U` of the first diff buffered since buffering (re)started; undefined before it. */
  #firstU: number | undefined = undefined;
  /** A snapshot received but not yet bridged: it waits for a diff it does not cover. */
  #pending: BookDepth | undefined = undefined;
  /** A snapshot was requested and neither `snapshot` nor `snapshotFailed` has answered yet. */
  #inFlight = false;
  /** Failed snapshot attempts since the last sync or reset. */
  #failures = 0;
  /** A book snapshot has been delivered at least once. */
  #published = false;

  #appliedDiffs = 0;
  #duplicateDiffs = 0;
  #staleDiffs = 0;
  #overflowedDiffs = 0;
  #degradedDiffs = 0;
  #resetDiffs = 0;
  #staleSnapshots = 0;
  #ignoredSnapshots = 0;
  #snapshotFailures = 0;
  #invalidations = 0;
  #resyncs = 0;

  constructor(options: BinanceBookSyncOptions) {
    const { market, symbol, handler } = options;
    if (symbol === '') throw new RangeError('The book sync needs a symbol, got ""');
    this.market = market;
    this.symbol = symbol;
    this.#handler = handler;
    this.#futures = market === 'usdm';
    this.#maxBuffered = positiveInteger('maxBufferedDiffs', options.maxBufferedDiffs ?? DEFAULT_MAX_BUFFERED_DIFFS);
    this.#maxAttempts = positiveInteger('maxSnapshotAttempts', options.maxSnapshotAttempts ?? DEFAULT_MAX_SNAPSHOT_ATTEMPTS);
    this.#name = `binance ${market} ${symbol}`;
    this.#book = new OrderBook(options.maxLevels === undefined ? {} : { maxLevels: options.maxLevels });
  }

  get state(): BookSyncState {
    return this.#state;
  }

  /** The synced book (read only), or undefined when not SYNCED: a stale book is never exposed. */
  get book(): ReadonlyOrderBook | undefined {
    return this.#state === 'SYNCED' ? this.#book : undefined;
  }

  /** The last update id applied, or undefined when not SYNCED. */
  get lastUpdateId(): number | undefined {
    return this.#state === 'SYNCED' ? this.#lastId : undefined;
  }

  /** Diffs held while waiting for a snapshot (at most `maxBufferedDiffs`). */
  get bufferedDiffs(): number {
    return this.#buffer.length;
  }

  get counters(): BookSyncCounters {
    return {
      appliedDiffs: this.#appliedDiffs,
      duplicateDiffs: this.#duplicateDiffs,
      staleDiffs: this.#staleDiffs,
      overflowedDiffs: this.#overflowedDiffs,
      degradedDiffs: this.#degradedDiffs,
      resetDiffs: this.#resetDiffs,
      staleSnapshots: this.#staleSnapshots,
      ignoredSnapshots: this.#ignoredSnapshots,
      snapshotFailures: this.#snapshotFailures,
      invalidations: this.#invalidations,
      resyncs: this.#resyncs,
    };
  }

  /**
   * One diff-depth record (`snapshot: false`) of this symbol. Throws an InvariantError for a
   * record of another symbol, a snapshot record, or a futures diff without `prevUpdateId`: those
   * are wiring bugs, not venue data.
   */
  diff(record: BookDepth): void {
    this.#check(record, 'diff');
    if (this.#futures && record.prevUpdateId === undefined) {
      throw new InvariantError(`The ${this.#name} book sync was given a diff ${ids(record)} without a previous update id (pu): futures diffs need it`);
    }
    switch (this.#state) {
      case 'SYNCED':
        this.#live(record);
        return;
      case 'DEGRADED':
        this.#degradedDiffs++;
        return;
      default:
        this.#bufferDiff(record);
    }
  }

  /**
   * A REST depth snapshot (`snapshot: true`, `lastUpdateId` = the snapshot's). Used while
   * waiting for one (WAITING_SNAPSHOT or INVALID), requested or not; ignored and counted
   * otherwise. Throws an InvariantError for a record of another symbol or a diff record.
   */
  snapshot(record: BookDepth): void {
    this.#check(record, 'snapshot');
    if (this.#state === 'SYNCED' || this.#state === 'DEGRADED') {
      this.#ignoredSnapshots++;
      return;
    }
    this.#inFlight = false;
    this.#pending = record;
    if (this.#buffer.length > 0) this.#bridge();
  }

  /** The snapshot request failed (a 429, a timeout, ...): a failed attempt. Ignored and counted unless waiting for one. */
  snapshotFailed(error: unknown): void {
    if (this.#state === 'SYNCED' || this.#state === 'DEGRADED') {
      this.#ignoredSnapshots++;
      return;
    }
    this.#inFlight = false;
    this.#snapshotFailures++;
    this.#retry(`${this.#name} snapshot request failed: ${error instanceof Error ? error.message : quote(error)}`);
  }

  /**
   * Starts over, for instance after the caller reconnected: the book, the buffer, a pending
   * snapshot and the failed-attempt count are dropped, and the next diff requests a snapshot.
   * Emits `invalidated` (cause `reset`) when the book was synced. Leaves DEGRADED.
   */
  reset(reason: string): void {
    const synced = this.#state === 'SYNCED';
    const lastUpdateId = this.#lastId;
    this.#resetDiffs += this.#buffer.length;
    this.#failures = 0;
    this.#inFlight = false;
    this.#discard([]);
    if (synced) {
      this.#invalidations++;
      this.#handler.control({ kind: 'invalidated', symbol: this.symbol, cause: 'reset', reason: `${this.#name} book reset: ${reason}`, lastUpdateId });
    }
  }

  #check(record: BookDepth, input: 'diff' | 'snapshot'): void {
    if (record.symbol !== this.symbol) {
      throw new InvariantError(`The ${this.#name} book sync was given a ${input} for symbol ${quote(record.symbol)} (update ${ids(record)})`);
    }
    if (record.snapshot !== (input === 'snapshot')) {
      throw new InvariantError(`The ${this.#name} book sync was given a ${record.snapshot ? 'snapshot' : 'diff'} record (update ${ids(record)}) as a ${input}`);
    }
  }

  /** SYNCED: check continuity, apply, deliver. */
  #live(diff: BookDepth): void {
    const step = this.#next(diff);
    if (step === DUPLICATE) {
      this.#duplicateDiffs++;
      return;
    }
    if (step !== undefined) {
      this.#lose(step, [diff], false);
      return;
    }
    this.#apply(diff);
    if (this.#book.isCrossed()) {
      this.#lose(this.#crossed(diff), [], false);
      return;
    }
    this.#handler.book(diff);
  }

  /** Whether `diff` continues the book: undefined when it does, `duplicate` when the book covers it, else the broken rule. */
  #next(diff: BookDepth): Problem | typeof DUPLICATE | undefined {
    const last = this.#lastId;
    if (diff.lastUpdateId <= last) return DUPLICATE;
    if (this.#futures) {
      const pu = diff.prevUpdateId as number;
      if (pu === last) return undefined;
      return {
        cause: pu > last ? 'gap' : 'overlap',
        reason: `${this.#name} diff ${ids(diff)} follows pu ${quote(pu)}: expected the previous u ${quote(last)}`,
        expected: last,
        got: pu,
        lastUpdateId: last,
      };
    }
    const first = diff.firstUpdateId;
    if (first === last + 1) return undefined;
    return {
      cause: first > last + 1 ? 'gap' : 'overlap',
      reason: `${this.#name} diff ${ids(diff)} starts at U ${quote(first)}: expected U ${quote(last + 1)} (previous u + 1)`,
      expected: last + 1,
      got: first,
      lastUpdateId: last,
    };
  }

  #apply(diff: BookDepth): void {
    this.#book.apply(diff.bids, diff.asks);
    this.#lastId = diff.lastUpdateId;
    this.#appliedDiffs++;
  }

  #crossed(diff: BookDepth): Problem {
    const bid = this.#book.bestBidPrice;
    const ask = this.#book.bestAskPrice;
    return {
      cause: 'crossed',
      reason: `${this.#name} book is crossed after diff ${ids(diff)}: best bid ${quote(bid)} >= best ask ${quote(ask)}`,
      expected: ask,
      got: bid,
      lastUpdateId: diff.lastUpdateId,
    };
  }

  /** WAITING_SNAPSHOT or INVALID: buffer, then bridge a pending snapshot or ask for one. */
  #bufferDiff(diff: BookDepth): void {
    if (this.#buffer.length >= this.#maxBuffered) {
      const dropped = this.#buffer.length;
      this.#overflowedDiffs += dropped;
      this.#lose(
        {
          cause: 'buffer-overflow',
          reason: `${this.#name} buffered ${quote(dropped)} diffs waiting for a snapshot, the most allowed (maxBufferedDiffs): dropped them to start again from diff ${ids(diff)}`,
          expected: this.#maxBuffered,
          got: dropped + 1,
        },
        [diff],
        false,
      );
      return;
    }
    this.#firstU ??= diff.firstUpdateId;
    this.#buffer.push(diff);
    if (this.#pending !== undefined) this.#bridge();
    else this.#request();
  }

  /** A snapshot is pending and diffs are buffered: sync, wait for more diffs, or fail the attempt. */
  #bridge(): void {
    const snapshot = this.#pending as BookDepth;
    const last = snapshot.lastUpdateId;
    const firstU = this.#firstU as number;
    if (last < firstU) {
      this.#pending = undefined;
      this.#staleSnapshots++;
      this.#retry(`${this.#name} snapshot lastUpdateId ${quote(last)} is older than the first buffered diff U ${quote(firstU)}`);
      return;
    }
    const buffer = this.#buffer;
    let covered = 0;
    while (covered < buffer.length && this.#covers(last, buffer[covered] as BookDepth)) covered++;
    if (covered > 0) {
      this.#staleDiffs += covered;
      buffer.splice(0, covered);
    }
    const first = buffer[0];
    if (first === undefined) return;
    // Spot: U <= L + 1 <= u; futures: U <= L <= u. The upper bound holds: `first` is not covered.
    const reach = this.#futures ? last : last + 1;
    if (first.firstUpdateId > reach) {
      this.#lose(
        {
          cause: 'no-bridge',
          reason: `${this.#name} gap right after the snapshot: lastUpdateId ${quote(last)}, the next diff ${ids(first)} starts at U ${quote(first.firstUpdateId)}, expected U <= ${quote(reach)}`,
          expected: reach,
          got: first.firstUpdateId,
        },
        buffer,
        true,
      );
      return;
    }
    this.#pending = undefined;
    this.#buffer = [];
    this.#book.load(snapshot.bids, snapshot.asks);
    this.#lastId = last;
    let latest = first;
    for (let i = 0; i < buffer.length; i++) {
      const diff = buffer[i] as BookDepth;
      const step = i === 0 ? undefined : this.#next(diff);
      if (step === DUPLICATE) {
        this.#duplicateDiffs++;
        continue;
      }
      if (step !== undefined) {
        this.#lose(step, buffer.slice(i), true);
        return;
      }
      this.#apply(diff);
      if (this.#book.isCrossed()) {
        this.#lose(this.#crossed(diff), buffer.slice(i + 1), true);
        return;
      }
      latest = diff;
    }
    this.#synced(latest);
  }

  /** Whether a snapshot at `last` already covers `diff` (spot `u <= L`, futures `u < L`). */
  #covers(last: number, diff: BookDepth): boolean {
    return this.#futures ? diff.lastUpdateId < last : diff.lastUpdateId <= last;
  }

  #synced(latest: BookDepth): void {
    const resync = this.#published;
    this.#state = 'SYNCED';
    this.#published = true;
    this.#failures = 0;
    this.#firstU = undefined;
    if (resync) this.#resyncs++;
    const lastUpdateId = this.#lastId;
    this.#handler.book(this.#book.toDepth({ venue: latest.venue, symbol: this.symbol, tsEvent: latest.tsEvent, tsRecv: latest.tsRecv, lastUpdateId }));
    if (resync) this.#handler.control({ kind: 'resynced', symbol: this.symbol, lastUpdateId });
  }

  /**
   * Drops the book (and a failed attempt's snapshot), keeps `restart` as the new buffer, emits
   * `invalidated`, then asks for a snapshot; a failed attempt may degrade instead.
   */
  #lose(problem: Problem, restart: readonly BookDepth[], failedAttempt: boolean): void {
    this.#invalidations++;
    this.#discard(restart);
    this.#handler.control({ kind: 'invalidated', symbol: this.symbol, ...problem });
    if (failedAttempt) this.#retry(problem.reason);
    else this.#request();
  }

  /** Clears the book and any pending snapshot; `restart` becomes the buffer. */
  #discard(restart: readonly BookDepth[]): void {
    this.#book.clear();
    this.#pending = undefined;
    this.#buffer = [...restart];
    this.#firstU = restart[0]?.firstUpdateId;
    this.#state = this.#published ? 'INVALID' : 'WAITING_SNAPSHOT';
  }

  /** A snapshot attempt failed: ask again, or degrade when that was the last allowed attempt. */
  #retry(reason: string): void {
    this.#failures++;
    if (this.#failures < this.#maxAttempts) {
      this.#request();
      return;
    }
    this.#degradedDiffs += this.#buffer.length;
    this.#discard([]);
    this.#state = 'DEGRADED';
    this.#inFlight = false;
    this.#handler.control({ kind: 'degraded', symbol: this.symbol, attempts: this.#failures, reason });
  }

  #request(): void {
    if (this.#inFlight) return;
    this.#inFlight = true;
    this.#handler.requestSnapshot(this.#failures);
  }
}

function positiveInteger(name: string, value: number): number {
  if (!(Number.isSafeInteger(value) && value >= 1)) throw new RangeError(`${name} ${quote(value)} must be a positive integer`);
  return value;
}

/** `1001-1004`: a record's first and last update id. */
function ids(record: BookDepth): string {
  return `${record.firstUpdateId}-${record.lastUpdateId}`;
}
