/**
 * BinanceBookSync: the transitions and edge cases of protocols.md §1.5 (spot) and §2.3 (futures),
 * reliability.md D-03, D-03a, D-05 and R-10, with synthetic diffs; a property test of the output
 * stream; and replays of real captures (../shared/data) checked against plain reconstructions and
 * the venue's own best bid/ask.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../../src/errors.js';
import type { BookDepth, Level } from '../../../src/model/index.js';
import type { BinanceBookSyncOptions, BookSyncEvent } from '../../../src/sources/binance/bookSync.js';
import { BinanceBookSync } from '../../../src/sources/binance/bookSync.js';
import { levelDifferences, OrderBook } from '../../../src/sources/binance/orderBook.js';
import type { BinanceRecord } from '../../../src/sources/binance/parse.js';
import { createBinanceParser } from '../../../src/sources/binance/parse.js';
import { canonicalFromBinance } from '../../../src/sources/binance/payloads.js';
import { hasSharedData, sharedData } from '../../support/data.js';

const SYMBOL = 'BTC-USDT';
const T0 = 1_700_000_000_000;

interface DiffOptions {
  readonly b?: Level[];
  readonly a?: Level[];
  /** Futures `pu`. */
  readonly pu?: number;
  readonly symbol?: string;
}

/** A frozen diff record `[U, u]`; by default it sets the bid at 99 to `u / 1000`, so the book shows which diff came last. */
function diff(first: number, last: number, options: DiffOptions = {}): BookDepth {
  const bids: Level[] = options.b ?? [[99, last / 1000]];
  return Object.freeze({
    type: 'book-depth',
    venue: options.pu === undefined ? 'binance' : 'binance-usdm',
    symbol: options.symbol ?? SYMBOL,
    tsEvent: T0 + last,
    tsRecv: T0 + last + 2,
    firstUpdateId: first,
    lastUpdateId: last,
    ...(options.pu === undefined ? {} : { prevUpdateId: options.pu }),
    bids,
    asks: options.a ?? [],
    snapshot: false,
  });
}

/** A frozen REST snapshot record with `lastUpdateId` L. */
function snap(lastUpdateId: number, bids: Level[] = [[100, 1]], asks: Level[] = [[101, 1]], symbol = SYMBOL): BookDepth {
  return Object.freeze({
    type: 'book-depth',
    venue: 'binance',
    symbol,
    tsEvent: T0,
    tsRecv: T0,
    firstUpdateId: lastUpdateId,
    lastUpdateId,
    bids,
    asks,
    snapshot: true,
  });
}

type Output = { readonly book: BookDepth } | { readonly request: number } | { readonly control: BookSyncEvent };

/** A sync whose handler records everything it is given, in order. */
function harness(options: Partial<Omit<BinanceBookSyncOptions, 'handler'>> = {}) {
  const out: Output[] = [];
  const sync = new BinanceBookSync({
    market: 'spot',
    symbol: SYMBOL,
    ...options,
    handler: {
      book: (record) => out.push({ book: record }),
      requestSnapshot: (attempt) => out.push({ request: attempt }),
      control: (event) => out.push({ control: event }),
    },
  });
  /** What came out since the last call. */
  const take = (): Output[] => out.splice(0);
  return { sync, take };
}

/** The ids of the book records among outputs, `s` for a snapshot record: `['s1005', '1006-1008']`. */
function bookIds(outputs: readonly Output[]): string[] {
  return outputs.flatMap((o) => ('book' in o ? [o.book.snapshot ? `s${o.book.lastUpdateId}` : `${o.book.firstUpdateId}-${o.book.lastUpdateId}`] : []));
}

function controls(outputs: readonly Output[]): BookSyncEvent[] {
  return outputs.flatMap((o) => ('control' in o ? [o.control] : []));
}

function requests(outputs: readonly Output[]): number[] {
  return outputs.flatMap((o) => ('request' in o ? [o.request] : []));
}

/** Feeds the spot worked example of protocols.md §1.5 up to SYNCED at 1005. */
function syncedSpot(options: Partial<Omit<BinanceBookSyncOptions, 'handler'>> = {}) {
  const h = harness(options);
  h.sync.diff(diff(990, 995));
  h.sync.diff(diff(996, 1002));
  h.sync.snapshot(snap(1000));
  h.sync.diff(diff(1003, 1005));
  h.take();
  return h;
}

describe('BinanceBookSync (spot, protocols.md §1.5)', () => {
  it('does wait for the first diff before asking for a snapshot, then asks once', () => {
    const { sync, take } = harness();
    expect(sync.state).toBe('WAITING_SNAPSHOT');
    expect(take(), 'nothing is requested before the socket delivers (step 1 before step 2)').toStrictEqual([]);
    sync.diff(diff(990, 995));
    sync.diff(diff(996, 1002));
    expect(take(), 'one request while it is in flight').toStrictEqual([{ request: 0 }]);
    expect(sync.bufferedDiffs).toBe(2);
    expect(sync.book, 'no book before sync').toBeUndefined();
    expect(sync.lastUpdateId).toBeUndefined();
  });

  it('does follow the worked example: drop old diffs, bridge, apply, then resync on a gap', () => {
    const { sync, take } = harness();
    sync.diff(diff(990, 995));
    sync.diff(diff(996, 1002));
    sync.snapshot(snap(1000));
    let out = take();
    expect(bookIds(out), '[996,1002] contains 1001: synced at once').toStrictEqual(['s1002']);
    expect(sync.state).toBe('SYNCED');
    expect(sync.counters.staleDiffs, '[990,995] is older than the snapshot').toBe(1);
    const first = out.find((o) => 'book' in o);
    expect(first).toStrictEqual({
      book: {
        type: 'book-depth',
        venue: 'binance',
        symbol: SYMBOL,
        tsEvent: T0 + 1002,
        tsRecv: T0 + 1004,
        firstUpdateId: 1002,
        lastUpdateId: 1002,
        bids: [
          [100, 1],
          [99, 1.002],
        ],
        asks: [[101, 1]],
        snapshot: true,
      },
    });
    const next = diff(1003, 1005);
    sync.diff(next);
    out = take();
    expect(out, 'an applied diff comes out as itself').toStrictEqual([{ book: next }]);
    expect(out[0] !== undefined && 'book' in out[0] && out[0].book, 'the same record object, not a copy').toBe(next);
    expect(sync.lastUpdateId).toBe(1005);
    sync.diff(diff(1007, 1009));
    out = take();
    expect(controls(out)).toStrictEqual([
      {
        kind: 'invalidated',
        symbol: SYMBOL,
        cause: 'gap',
        reason: 'binance spot BTC-USDT diff 1007-1009 starts at U "1007": expected U "1006" (previous u + 1)',
        expected: 1006,
        got: 1007,
        lastUpdateId: 1005,
      },
    ]);
    expect(bookIds(out), 'nothing from the book once invalid').toStrictEqual([]);
    expect(requests(out), 'a fresh snapshot is requested; a live gap is not a failed attempt').toStrictEqual([0]);
    expect(sync.state).toBe('INVALID');
    expect(sync.book, 'the stale book is not exposed').toBeUndefined();
    expect(sync.bufferedDiffs, 'the diff after the gap starts the new buffer').toBe(1);
  });

  it('does resync after an invalidation: snapshot record, then resynced, then live diffs', () => {
    const { sync, take } = syncedSpot();
    sync.diff(diff(1007, 1009));
    sync.diff(diff(1010, 1012));
    take();
    sync.snapshot(snap(1010, [[100, 2]], [[101, 2]]));
    const out = take();
    expect(out.map((o) => Object.keys(o)[0]), 'the book first, then the event').toStrictEqual(['book', 'control']);
    expect(bookIds(out)).toStrictEqual(['s1012']);
    expect(controls(out)).toStrictEqual([{ kind: 'resynced', symbol: SYMBOL, lastUpdateId: 1012 }]);
    expect(sync.state).toBe('SYNCED');
    expect(sync.book?.levels('bid'), 'the old book is gone: only the new snapshot and [1010,1012]').toStrictEqual([
      [100, 2],
      [99, 1.012],
    ]);
    expect(sync.counters).toMatchObject({ invalidations: 1, resyncs: 1, staleDiffs: 2 });
  });

  it('does drop and count duplicate diffs (u <= book id) while synced', () => {
    const { sync, take } = syncedSpot();
    sync.diff(diff(1003, 1005));
    sync.diff(diff(1004, 1005));
    sync.diff(diff(990, 995));
    expect(take(), 'duplicates are dropped silently for the stream, not for the counters').toStrictEqual([]);
    expect(sync.counters.duplicateDiffs).toBe(3);
    expect(sync.state).toBe('SYNCED');
    sync.diff(diff(1006, 1006));
    expect(bookIds(take())).toStrictEqual(['1006-1006']);
  });

  it('does invalidate a diff that overlaps the book and goes beyond it', () => {
    const { sync, take } = syncedSpot();
    sync.diff(diff(1004, 1008));
    expect(controls(take())).toMatchObject([{ kind: 'invalidated', cause: 'overlap', expected: 1006, got: 1004, lastUpdateId: 1005 }]);
    expect(sync.state).toBe('INVALID');
  });

  it('does accept a first diff that overlaps an older snapshot (U <= L + 1 <= u)', () => {
    const { sync, take } = harness();
    sync.diff(diff(995, 1005));
    sync.snapshot(snap(1000));
    expect(bookIds(take())).toStrictEqual(['s1005']);
    expect(sync.state).toBe('SYNCED');
  });

  it('does accept a first diff that starts right after the snapshot (U = L + 1)', () => {
    const { sync, take } = harness();
    sync.diff(diff(998, 1000));
    sync.diff(diff(1001, 1003));
    sync.snapshot(snap(1000));
    expect(bookIds(take())).toStrictEqual(['s1003']);
    expect(sync.counters.staleDiffs, 'u <= L is dropped on spot').toBe(1);
  });

  it('does reject a gap right after the snapshot and fetch again (a failed attempt)', () => {
    const { sync, take } = harness();
    sync.diff(diff(990, 1000));
    sync.diff(diff(1003, 1006));
    take();
    sync.snapshot(snap(1000));
    const out = take();
    expect(controls(out)).toStrictEqual([
      {
        kind: 'invalidated',
        symbol: SYMBOL,
        cause: 'no-bridge',
        reason: 'binance spot BTC-USDT gap right after the snapshot: lastUpdateId "1000", the next diff 1003-1006 starts at U "1003", expected U <= "1001"',
        expected: 1001,
        got: 1003,
      },
    ]);
    expect(requests(out), 'the attempt counts: attempt 1').toStrictEqual([1]);
    expect(sync.state, 'never published: still waiting').toBe('WAITING_SNAPSHOT');
    expect(bookIds(out)).toStrictEqual([]);
    sync.snapshot(snap(1004));
    expect(bookIds(take()), 'a newer snapshot bridges the kept diffs').toStrictEqual(['s1006']);
  });

  it('does hold a snapshot that arrives before the first diff and wait for the diff', () => {
    const { sync, take } = harness();
    sync.snapshot(snap(1000));
    expect(take(), 'no request, no output').toStrictEqual([]);
    expect(sync.state).toBe('WAITING_SNAPSHOT');
    sync.diff(diff(999, 1001));
    expect(take(), 'the first diff bridges the held snapshot, no request needed').toStrictEqual([
      {
        book: expect.objectContaining({ lastUpdateId: 1001, snapshot: true }) as BookDepth,
      },
    ]);
  });

  it('does keep a held snapshot while the diffs that come are older than it', () => {
    const { sync, take } = harness();
    sync.diff(diff(990, 995));
    take();
    sync.snapshot(snap(1000));
    expect(take(), 'all buffered diffs were older: wait').toStrictEqual([]);
    sync.diff(diff(996, 999));
    sync.diff(diff(1000, 1000));
    expect(take()).toStrictEqual([]);
    sync.diff(diff(1001, 1004));
    expect(bookIds(take())).toStrictEqual(['s1004']);
    expect(sync.counters.staleDiffs).toBe(3);
  });

  it('does fetch again when the snapshot is older than the first buffered diff, even by one id', () => {
    const { sync, take } = harness();
    sync.diff(diff(1001, 1003));
    take();
    sync.snapshot(snap(990));
    expect(take(), 'too old: fetched again, attempt 1').toStrictEqual([{ request: 1 }]);
    sync.snapshot(snap(1000));
    expect(take(), 'L = firstU - 1 is gap-free but §1.5 step 3 still re-fetches').toStrictEqual([{ request: 2 }]);
    expect(sync.counters.staleSnapshots).toBe(2);
    expect(sync.bufferedDiffs, 'the buffer is kept for the next snapshot').toBe(1);
    sync.snapshot(snap(1002));
    expect(bookIds(take())).toStrictEqual(['s1003']);
  });

  it('does invalidate a book that comes out crossed and emit nothing from it', () => {
    const { sync, take } = syncedSpot();
    sync.diff(diff(1006, 1006, { b: [[101.5, 1]] }));
    const out = take();
    expect(controls(out)).toStrictEqual([
      {
        kind: 'invalidated',
        symbol: SYMBOL,
        cause: 'crossed',
        reason: 'binance spot BTC-USDT book is crossed after diff 1006-1006: best bid "101.5" >= best ask "101"',
        expected: 101,
        got: 101.5,
        lastUpdateId: 1006,
      },
    ]);
    expect(bookIds(out), 'the crossing diff is not delivered').toStrictEqual([]);
    expect(sync.state).toBe('INVALID');
  });

  it('does fail an attempt whose replayed buffer crosses the book', () => {
    const { sync, take } = harness();
    sync.diff(diff(1000, 1002, { b: [[102, 1]] }));
    take();
    sync.snapshot(snap(1000));
    const out = take();
    expect(controls(out)).toMatchObject([{ kind: 'invalidated', cause: 'crossed', expected: 101, got: 102 }]);
    expect(requests(out)).toStrictEqual([1]);
    expect(bookIds(out)).toStrictEqual([]);
  });

  it('does fail an attempt when the buffered diffs have a gap after the bridge', () => {
    const { sync, take } = harness();
    sync.diff(diff(999, 1001));
    sync.diff(diff(1003, 1004));
    take();
    sync.snapshot(snap(1000));
    const out = take();
    expect(controls(out)).toMatchObject([{ kind: 'invalidated', cause: 'gap', expected: 1002, got: 1003 }]);
    expect(requests(out)).toStrictEqual([1]);
    expect(sync.bufferedDiffs, 'the diffs from the gap on are kept').toBe(1);
    sync.snapshot(snap(1003));
    expect(bookIds(take())).toStrictEqual(['s1004']);
  });

  it('does retry a failed snapshot request and degrade after maxSnapshotAttempts, bounded and counted (D-03a, R-10)', () => {
    const { sync, take } = harness();
    sync.diff(diff(1000, 1001));
    sync.snapshotFailed(new Error('HTTP 429 Too Many Requests'));
    expect(take(), 'a transient error is retried').toStrictEqual([{ request: 0 }, { request: 1 }]);
    for (let i = 0; i < 3; i++) sync.snapshotFailed(new Error('HTTP 503'));
    expect(requests(take())).toStrictEqual([2, 3, 4]);
    sync.snapshotFailed(new Error('HTTP 503'));
    expect(take()).toStrictEqual([{ control: { kind: 'degraded', symbol: SYMBOL, attempts: 5, reason: 'binance spot BTC-USDT snapshot request failed: HTTP 503' } }]);
    expect(sync.state).toBe('DEGRADED');
    expect(sync.bufferedDiffs, 'nothing held while degraded').toBe(0);
    sync.diff(diff(1002, 1003));
    sync.snapshot(snap(1002));
    sync.snapshotFailed('late');
    expect(take(), 'late messages do nothing').toStrictEqual([]);
    expect(sync.counters).toMatchObject({ snapshotFailures: 5, degradedDiffs: 2, ignoredSnapshots: 2, appliedDiffs: 0 });
    sync.reset('reconnected');
    expect(sync.state).toBe('WAITING_SNAPSHOT');
    sync.diff(diff(2000, 2001));
    expect(take(), 'after a reset the attempts start again at 0').toStrictEqual([{ request: 0 }]);
    sync.snapshot(snap(2000));
    expect(bookIds(take())).toStrictEqual(['s2001']);
  });

  it('does count too-old snapshots as failed attempts and degrade after maxSnapshotAttempts of them', () => {
    const { sync, take } = harness({ maxSnapshotAttempts: 2 });
    sync.diff(diff(1001, 1002));
    sync.snapshot(snap(10));
    sync.snapshot(snap(20));
    expect(take()).toStrictEqual([
      { request: 0 },
      { request: 1 },
      {
        control: {
          kind: 'degraded',
          symbol: SYMBOL,
          attempts: 2,
          reason: 'binance spot BTC-USDT snapshot lastUpdateId "20" is older than the first buffered diff U "1001"',
        },
      },
    ]);
  });

  it('does drop the buffer on overflow, say so, and start again from the new diff', () => {
    const { sync, take } = harness({ maxBufferedDiffs: 3 });
    for (let u = 1; u <= 3; u++) sync.diff(diff(u, u));
    expect(requests(take())).toStrictEqual([0]);
    sync.diff(diff(4, 4));
    const out = take();
    expect(controls(out)).toMatchObject([{ kind: 'invalidated', cause: 'buffer-overflow', expected: 3, got: 4 }]);
    expect(requests(out), 'the request in flight still stands').toStrictEqual([]);
    expect(sync.bufferedDiffs).toBe(1);
    expect(sync.counters.overflowedDiffs).toBe(3);
    sync.snapshot(snap(2));
    expect(requests(take()), 'the answer is now too old for the new buffer').toStrictEqual([1]);
    sync.snapshot(snap(4));
    expect(take(), 'L = 4 covers diff 4 and waits').toStrictEqual([]);
    sync.diff(diff(5, 5));
    expect(bookIds(take())).toStrictEqual(['s5']);
  });

  it('does emit invalidated on a reset while synced, and nothing on a reset while waiting', () => {
    const { sync, take } = syncedSpot();
    sync.reset('socket closed');
    expect(take()).toStrictEqual([{ control: { kind: 'invalidated', symbol: SYMBOL, cause: 'reset', reason: 'binance spot BTC-USDT book reset: socket closed', lastUpdateId: 1005 } }]);
    expect(sync.state, 'a book was published: INVALID until resynced').toBe('INVALID');
    sync.diff(diff(1100, 1101));
    expect(take()).toStrictEqual([{ request: 0 }]);
    sync.reset('socket closed again');
    expect(take(), 'no book to invalidate').toStrictEqual([]);
    expect(sync.counters.resetDiffs).toBe(1);
  });

  it('does ignore a snapshot that arrives while synced', () => {
    const { sync, take } = syncedSpot();
    sync.snapshot(snap(2000));
    expect(take()).toStrictEqual([]);
    expect(sync.counters.ignoredSnapshots).toBe(1);
    expect(sync.lastUpdateId).toBe(1005);
  });

  it('does take a snapshot answered synchronously from requestSnapshot', () => {
    const seen: string[] = [];
    const sync: BinanceBookSync = new BinanceBookSync({
      market: 'spot',
      symbol: SYMBOL,
      handler: {
        book: (record) => seen.push(`book ${record.lastUpdateId}`),
        requestSnapshot: (attempt) => {
          seen.push(`request ${attempt}`);
          sync.snapshot(snap(attempt === 0 ? 5 : 1000));
        },
        control: (event) => seen.push(event.kind),
      },
    });
    sync.diff(diff(999, 1001));
    expect(seen, 'the first answer is too old, the second bridges').toStrictEqual(['request 0', 'request 1', 'book 1001']);
    expect(sync.state).toBe('SYNCED');
  });

  it('does affect only its own symbol', () => {
    const btc = syncedSpot();
    const eth = harness({ symbol: 'ETH-USDT' });
    const ethDiff = (id: number) => diff(id, id, { symbol: 'ETH-USDT', b: [[9, id]] });
    eth.sync.diff(ethDiff(1));
    eth.sync.snapshot(snap(1, [[10, 1]], [[11, 1]], 'ETH-USDT'));
    eth.sync.diff(ethDiff(2));
    expect(bookIds(eth.take())).toStrictEqual(['s2']);
    btc.sync.diff(diff(1010, 1011));
    eth.sync.diff(ethDiff(3));
    expect(btc.sync.state).toBe('INVALID');
    expect(eth.sync.state).toBe('SYNCED');
    expect(bookIds(eth.take()), 'ETH keeps flowing').toStrictEqual(['3-3']);
  });

  it('does throw on wiring bugs: another symbol, a snapshot as a diff, a diff as a snapshot', () => {
    const { sync } = harness();
    expect(() => {
      sync.diff(diff(1, 2, { symbol: 'ETH-USDT' }));
    }).toThrow(new InvariantError('The binance spot BTC-USDT book sync was given a diff for symbol "ETH-USDT" (update 1-2)'));
    expect(() => {
      sync.diff(snap(5));
    }).toThrow('The binance spot BTC-USDT book sync was given a snapshot record (update 5-5) as a diff');
    expect(() => {
      sync.snapshot(diff(1, 2));
    }).toThrow('was given a diff record (update 1-2) as a snapshot');
    expect(() => new BinanceBookSync({ market: 'spot', symbol: SYMBOL, maxBufferedDiffs: 0, handler: { book: () => undefined, requestSnapshot: () => undefined, control: () => undefined } })).toThrow(
      'maxBufferedDiffs "0" must be a positive integer',
    );
  });
});

describe('BinanceBookSync (futures, protocols.md §2.3)', () => {
  function syncedFutures() {
    const h = harness({ market: 'usdm' });
    h.sync.diff(diff(980, 990, { pu: 970 }));
    h.sync.diff(diff(995, 1000, { pu: 990 }));
    h.sync.snapshot(snap(1000));
    h.take();
    return h;
  }

  it('does drop u < L, bridge on U <= L <= u, then chain on pu with ids that are not contiguous', () => {
    const { sync, take } = harness({ market: 'usdm' });
    sync.diff(diff(980, 990, { pu: 970 }));
    sync.diff(diff(995, 1000, { pu: 990 }));
    take();
    sync.snapshot(snap(1000));
    expect(bookIds(take()), 'u = L is kept on futures (spot would drop it)').toStrictEqual(['s1000']);
    expect(sync.counters.staleDiffs).toBe(1);
    sync.diff(diff(1001, 1004, { pu: 1000 }));
    sync.diff(diff(1006, 1010, { pu: 1004 }));
    expect(bookIds(take()), 'no U = u + 1 arithmetic on futures').toStrictEqual(['1001-1004', '1006-1010']);
    sync.diff(diff(1012, 1015, { pu: 1011 }));
    const out = take();
    expect(controls(out)).toStrictEqual([
      {
        kind: 'invalidated',
        symbol: SYMBOL,
        cause: 'gap',
        reason: 'binance usdm BTC-USDT diff 1012-1015 follows pu "1011": expected the previous u "1010"',
        expected: 1010,
        got: 1011,
        lastUpdateId: 1010,
      },
    ]);
    expect(requests(out)).toStrictEqual([0]);
  });

  it('does accept a first diff whose pu is older than the snapshot (D-03a)', () => {
    const { sync, take } = harness({ market: 'usdm' });
    sync.diff(diff(990, 1003, { pu: 950 }));
    sync.snapshot(snap(1000));
    expect(bookIds(take())).toStrictEqual(['s1003']);
  });

  it('does reject a first diff that starts after L, even one whose pu is L', () => {
    const { sync, take } = harness({ market: 'usdm' });
    sync.diff(diff(995, 999, { pu: 990 }));
    take();
    sync.snapshot(snap(1000));
    sync.diff(diff(1001, 1005, { pu: 1000 }));
    expect(controls(take()), '§2.3 step 4 needs U <= L').toMatchObject([{ kind: 'invalidated', cause: 'no-bridge', expected: 1000, got: 1001 }]);
  });

  it('does drop duplicates and invalidate a pu that points before the book', () => {
    const { sync, take } = syncedFutures();
    sync.diff(diff(995, 1000, { pu: 990 }));
    expect(take()).toStrictEqual([]);
    expect(sync.counters.duplicateDiffs).toBe(1);
    sync.diff(diff(998, 1003, { pu: 995 }));
    expect(controls(take())).toMatchObject([{ kind: 'invalidated', cause: 'overlap', expected: 1000, got: 995 }]);
  });

  it('does throw on a futures diff without pu', () => {
    const { sync } = harness({ market: 'usdm' });
    expect(() => {
      sync.diff(diff(1, 2));
    }).toThrow('The binance usdm BTC-USDT book sync was given a diff 1-2 without a previous update id (pu): futures diffs need it');
  });
});

describe('BinanceBookSync output stream (property)', () => {
  type Op =
    | { readonly op: 'diff'; readonly skip: number; readonly span: number; readonly back: number; readonly b: Level[]; readonly a: Level[] }
    | { readonly op: 'snapshot'; readonly offset: number; readonly b: Level[]; readonly a: Level[] }
    | { readonly op: 'fail' }
    | { readonly op: 'reset' };

  const level = (lo: number, hi: number) => fc.tuple(fc.integer({ min: lo, max: hi }), fc.integer({ min: 0, max: 3 })).map(([p, q]): Level => [p, q]);
  // Bids mostly below 100 and asks mostly above, with some overlap so that books can cross.
  const bids = fc.array(level(90, 101), { maxLength: 3 });
  const asks = fc.array(level(99, 110), { maxLength: 3 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 12, arbitrary: fc.record({ op: fc.constant('diff' as const), skip: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 3 })), span: fc.integer({ min: 1, max: 3 }), back: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 4 })), b: bids, a: asks }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('snapshot' as const), offset: fc.integer({ min: -6, max: 3 }), b: bids, a: asks }) },
    { weight: 1, arbitrary: fc.constant({ op: 'fail' as const }) },
    { weight: 1, arbitrary: fc.constant({ op: 'reset' as const }) },
  );

  it.each(['spot', 'usdm'] as const)('does keep a %s consumer copy equal to the sync, continuous and never crossed', (market) => {
    /** Events seen over all runs: the generated sequences must reach every path, or the property says little. */
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), (ops, maxBufferedDiffs, maxSnapshotAttempts) => {
        const copy = new OrderBook();
        let copyId: number | undefined;
        let requestedAttempt = -1;
        const sync: BinanceBookSync = new BinanceBookSync({
          market,
          symbol: SYMBOL,
          maxBufferedDiffs,
          maxSnapshotAttempts,
          handler: {
            book: (record) => {
              expect(sync.state, 'a book only comes out while synced').toBe('SYNCED');
              if (record.snapshot) {
                copy.load(record.bids, record.asks);
              } else {
                expect(copyId, 'a diff only follows a snapshot record').toBeDefined();
                const continues = market === 'spot' ? record.firstUpdateId === (copyId ?? NaN) + 1 : record.prevUpdateId === copyId;
                expect(continues, `diff ${record.firstUpdateId}-${record.lastUpdateId} continues ${String(copyId)}`).toBe(true);
                copy.apply(record.bids, record.asks);
              }
              copyId = record.lastUpdateId;
              expect(copy.isCrossed(), 'never a crossed book').toBe(false);
            },
            requestSnapshot: (attempt) => {
              expect(attempt).toBeLessThan(maxSnapshotAttempts);
              requestedAttempt = attempt;
            },
            control: (event) => {
              seen.add(event.kind === 'invalidated' ? event.cause : event.kind);
              if (event.kind !== 'resynced') {
                copy.clear();
                copyId = undefined;
              }
            },
          },
        });
        let nextId = 1;
        let prevU = 0;
        let diffs = 0;
        for (const step of ops) {
          if (step.op === 'diff') {
            const first = Math.max(1, nextId + step.skip - step.back);
            const last = first + step.span - 1;
            // Futures: skip and back move pu too, making gaps (pu > last u) and overlaps (pu < last u).
            sync.diff(diff(first, last, { b: step.b, a: step.a, ...(market === 'usdm' ? { pu: prevU + step.skip - step.back } : {}) }));
            diffs++;
            if (last >= nextId) {
              nextId = last + 1;
              prevU = last;
            }
          } else if (step.op === 'snapshot') {
            sync.snapshot(snap(Math.max(0, nextId - 1 + step.offset), step.b, step.a));
          } else if (step.op === 'fail') {
            sync.snapshotFailed(new Error('HTTP 500'));
          } else {
            sync.reset('test');
          }
          const c = sync.counters;
          expect(c.appliedDiffs + c.duplicateDiffs + c.staleDiffs + c.overflowedDiffs + c.degradedDiffs + c.resetDiffs + sync.bufferedDiffs, 'every diff is counted once').toBe(diffs);
          expect(sync.bufferedDiffs).toBeLessThanOrEqual(maxBufferedDiffs);
          if (sync.state === 'SYNCED') {
            expect(copyId, 'the consumer is at the book id').toBe(sync.lastUpdateId);
            const book = sync.book;
            expect(book && levelDifferences({ bids: copy.levels('bid'), asks: copy.levels('ask') }, { bids: book.levels('bid'), asks: book.levels('ask') })).toStrictEqual([]);
          }
        }
        expect(requestedAttempt).toBeLessThan(maxSnapshotAttempts);
        if (sync.counters.duplicateDiffs > 0) seen.add('duplicate');
        if (sync.counters.staleSnapshots > 0) seen.add('stale-snapshot');
      }),
      { numRuns: 300, seed: 42 },
    );
    expect([...seen].sort(), 'the runs reach every path').toStrictEqual(
      ['buffer-overflow', 'crossed', 'degraded', 'duplicate', 'gap', 'no-bridge', 'overlap', 'reset', 'resynced', 'stale-snapshot'].sort(),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Real captures (cryptofeed, ../shared/data/ws-messages/cryptofeed; README §2a, §2c)
// ---------------------------------------------------------------------------------------------

const CAPTURES = 'ws-messages/cryptofeed';
const SPOT_2021_04 = `${CAPTURES}/binance-spot_BTCUSDT-ETHUSDT-DOTUSDT_2021-04-04.jsonl.gz`;
const SPOT_2021_10 = `${CAPTURES}/binance-spot_NKNUSDT-BLZETH-LRCBTC-RUNEEUR_2021-10-12.jsonl.gz`;
const COINM_2021_07 = `${CAPTURES}/binance-coinm-futures_multi_2021-07-22.jsonl.gz`;
const NAUTILUS = 'ws-messages/nautilus-orderbook';
const NAUTILUS_SNAPSHOT = `${NAUTILUS}/binance-futures_BTCUSDT_depth-snapshot_2022-11-01.csv`;
const NAUTILUS_UPDATE = `${NAUTILUS}/binance-futures_BTCUSDT_depth-update_2022-11-01.csv`;

/** Levels per side compared after each delivery of a replay, and how often all levels are compared. */
const COMPARED_DEPTH = 20;
const FULL_EVERY = 50;

const haveCaptures = hasSharedData(SPOT_2021_04, SPOT_2021_10, COINM_2021_07, NAUTILUS_SNAPSHOT, NAUTILUS_UPDATE);

type RawLevel = readonly [string, string];
interface RestDepth {
  readonly lastUpdateId: number;
  readonly bids: readonly RawLevel[];
  readonly asks: readonly RawLevel[];
}
interface CaptureLine {
  readonly local_ts: number;
  readonly kind: string;
  readonly url: string;
  readonly data: unknown;
}
interface Envelope {
  readonly stream: string;
  readonly data: Readonly<Record<string, unknown>>;
}

function captureLines(file: string): CaptureLine[] {
  return gunzipSync(readFileSync(sharedData(file)))
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as CaptureLine);
}

/** The venue symbol of a REST depth URL (`...depth?symbol=BTCUSDT&limit=1000`). */
function restSymbol(url: string): string {
  const symbol = new URL(url).searchParams.get('symbol');
  if (symbol === null) throw new Error(`no symbol in ${url}`);
  return symbol;
}

/** The plain reconstruction: a Map per side, loaded from the REST answer, then every diff after it, unchecked. */
class PlainBook {
  readonly bids = new Map<number, number>();
  readonly asks = new Map<number, number>();
  lastUpdateId: number;

  constructor(rest: RestDepth) {
    for (const [p, q] of rest.bids) this.bids.set(Number(p), Number(q));
    for (const [p, q] of rest.asks) this.asks.set(Number(p), Number(q));
    this.lastUpdateId = rest.lastUpdateId;
  }

  apply(b: readonly RawLevel[], a: readonly RawLevel[], last: number): void {
    PlainBook.#set(this.bids, b);
    PlainBook.#set(this.asks, a);
    this.lastUpdateId = last;
  }

  static #set(side: Map<number, number>, levels: readonly RawLevel[]): void {
    for (const [p, q] of levels) {
      if (Number(q) === 0) side.delete(Number(p));
      else side.set(Number(p), Number(q));
    }
  }

  /** The top `depth` levels of each side, best first. */
  levels(depth = Infinity): { bids: Level[]; asks: Level[] } {
    return { bids: [...this.bids].sort((x, y) => y[0] - x[0]).slice(0, depth), asks: [...this.asks].sort((x, y) => x[0] - y[0]).slice(0, depth) };
  }
}

/** What one symbol's replay saw. */
interface SymbolReplay {
  readonly sync: BinanceBookSync;
  readonly events: BookSyncEvent[];
  readonly requests: number[];
  /** Book records delivered. */
  readonly books: BookDepth[];
  /** Crossed books seen after a delivery (must stay 0). */
  crossed: number;
  /** Deliveries whose book differed from the plain reconstruction at the same id. */
  mismatches: string[];
  /** Deliveries compared on every level (the others on the top COMPARED_DEPTH). */
  fullComparisons: number;
  /** Depth frames of the symbol whose `u` is after the snapshot's (spot `u > L`): each must be applied. */
  laterDiffs: number;
  plain: PlainBook | undefined;
}

describe.skipIf(!haveCaptures)('BinanceBookSync on real captures', () => {
  /**
   * Spot: every frame goes through the real parser (`createBinanceParser({ market: 'spot' })`,
   * frame text = the combined envelope, receive time = local_ts in ms), each depth record to its
   * symbol's sync. A REST answer `{lastUpdateId, bids, asks}` has the spot partial-depth payload
   * shape, so it goes through the same parser with a stream name that gives its symbol, which
   * turns it into the snapshot record a REST client would make (same decimal conversion).
   *
   * What is compared: after every record the sync delivers, its book must equal a plain
   * reconstruction (the REST answer in Maps, then every later diff applied without checks, prices
   * and quantities through `Number`) at the same update id: on every level of both sides for the
   * synced-book record, every FULL_EVERY-th delivery and at the end of the capture, on the top
   * COMPARED_DEPTH levels of each side for the others; and the book must never be crossed. The
   * captures hold exactly one REST snapshot per symbol, taken at the start, so there is no later
   * snapshot to compare against (asserted below).
   */
  function replaySpot(file: string): Map<string, SymbolReplay> {
    const lines = captureLines(file);
    const parser = createBinanceParser({ market: 'spot' });
    const replays = new Map<string, SymbolReplay>();
    const replayOf = (symbol: string): SymbolReplay => {
      let replay = replays.get(symbol);
      if (replay === undefined) {
        const events: BookSyncEvent[] = [];
        const requestsSeen: number[] = [];
        const books: BookDepth[] = [];
        const state: SymbolReplay = {
          sync: new BinanceBookSync({
            market: 'spot',
            symbol,
            handler: {
              book: (record) => {
                books.push(record);
                const book = state.sync.book;
                if (book === undefined || book.isCrossed()) state.crossed++;
                const plain = state.plain;
                if (book === undefined || plain === undefined || plain.lastUpdateId !== record.lastUpdateId) {
                  state.mismatches.push(`no plain book at ${record.lastUpdateId}`);
                  return;
                }
                // Every level at the synced book and every FULL_EVERY deliveries, the top levels at the others.
                const depth = record.snapshot || books.length % FULL_EVERY === 0 ? Infinity : COMPARED_DEPTH;
                if (depth === Infinity) state.fullComparisons++;
                const differences = levelDifferences({ bids: book.levels('bid', depth), asks: book.levels('ask', depth) }, plain.levels(depth));
                if (differences.length > 0) state.mismatches.push(`${record.lastUpdateId}: ${JSON.stringify(differences.slice(0, 3))}`);
              },
              requestSnapshot: (attempt) => requestsSeen.push(attempt),
              control: (event) => events.push(event),
            },
          }),
          events,
          requests: requestsSeen,
          books,
          crossed: 0,
          mismatches: [],
          fullComparisons: 0,
          laterDiffs: 0,
          plain: undefined,
        };
        replay = state;
        replays.set(symbol, replay);
      }
      return replay;
    };
    const drops: string[] = [];
    const handler = {
      record: (record: BinanceRecord) => {
        if (record.type !== 'book-depth') return;
        const replay = replayOf(record.symbol);
        if (record.snapshot) replay.sync.snapshot(record);
        else replay.sync.diff(record);
      },
      control: () => undefined,
      drop: (reason: string) => drops.push(reason),
    };
    for (const line of lines) {
      const tsRecv = Math.round(line.local_ts * 1000);
      if (line.kind === 'http_get') {
        const rest = line.data as RestDepth;
        const raw = restSymbol(line.url);
        // The plain book starts from the answer before the sync sees it.
        replayOf(canonicalFromBinance(raw) ?? raw).plain = new PlainBook(rest);
        parser.parse(JSON.stringify(rest), tsRecv, handler, `${raw.toLowerCase()}@depth`);
      } else if (line.kind === 'ws_recv') {
        const envelope = line.data as Envelope;
        const data = envelope.data;
        if (data.e === 'depthUpdate') {
          // Update the plain book first, so it is at the diff's id when the sync delivers it.
          const replay = replays.get(canonicalFromBinance(String(data.s)) ?? '');
          const plain = replay?.plain;
          if (replay !== undefined && plain !== undefined && (data.u as number) > plain.lastUpdateId) {
            plain.apply(data.b as RawLevel[], data.a as RawLevel[], data.u as number);
            replay.laterDiffs++;
          }
        }
        parser.parse(JSON.stringify(envelope), tsRecv, handler);
      }
    }
    expect(drops, 'every frame of the capture is valid').toStrictEqual([]);
    return replays;
  }

  it.each([
    [SPOT_2021_04, ['BTC-USDT', 'ETH-USDT', 'DOT-USDT']],
    [SPOT_2021_10, ['NKN-USDT', 'BLZ-ETH', 'LRC-BTC', 'RUNE-EUR']],
  ])('does sync every symbol of %s and apply every later update with no gap, matching a plain reconstruction', (file, symbols) => {
    const restCounts = new Map<string, number>();
    for (const line of captureLines(file)) if (line.kind === 'http_get') restCounts.set(restSymbol(line.url), (restCounts.get(restSymbol(line.url)) ?? 0) + 1);
    expect([...restCounts.values()], 'one REST snapshot per symbol: no later snapshot to compare against').toStrictEqual(symbols.map(() => 1));
    const replays = replaySpot(file);
    expect([...replays.keys()].sort()).toStrictEqual([...symbols].sort());
    for (const symbol of symbols) {
      const replay = replays.get(symbol);
      expect(replay, symbol).toBeDefined();
      if (replay === undefined) continue;
      const { sync, events, books } = replay;
      expect(sync.state, `${symbol} reaches SYNCED and stays there`).toBe('SYNCED');
      expect(events, `${symbol}: no invalidation, no degradation`).toStrictEqual([]);
      expect(replay.requests, `${symbol}: one snapshot request, on the first diff`).toStrictEqual([0]);
      expect(books.map((b) => b.snapshot).indexOf(true), `${symbol}: the first delivery is the synced book, the only snapshot`).toBe(0);
      expect(books.filter((b) => b.snapshot)).toHaveLength(1);
      expect(replay.laterDiffs, `${symbol} has diffs after its snapshot`).toBeGreaterThan(0);
      const c = sync.counters;
      expect(c.appliedDiffs, `${symbol}: every diff after the snapshot is applied`).toBe(replay.laterDiffs);
      expect({ duplicates: c.duplicateDiffs, overflowed: c.overflowedDiffs, invalidations: c.invalidations }).toStrictEqual({ duplicates: 0, overflowed: 0, invalidations: 0 });
      expect(replay.crossed, `${symbol}: never a crossed book`).toBe(0);
      expect(replay.mismatches, `${symbol}: the book equals the plain reconstruction at every delivery`).toStrictEqual([]);
      expect(replay.fullComparisons, `${symbol}: compared in full at least at sync`).toBeGreaterThan(0);
      const book = sync.book;
      expect(book && levelDifferences({ bids: book.levels('bid'), asks: book.levels('ask') }, replay.plain?.levels() ?? { bids: [], asks: [] }), `${symbol}: every level equal at the end`).toStrictEqual([]);
    }
  });

  /**
   * Futures rules on real data: the COIN-M capture (dstream, `U/u/pu`, ten contracts, one REST
   * snapshot each). The parser only knows spot and USD-M symbols (`BCHUSD_PERP` is refused), so
   * the records are built here with `Number` conversions; the sync runs the §2.3 rules
   * (`market: 'usdm'`, which COIN-M shares).
   *
   * What is compared: the venue's own best bid/ask. A bookTicker with update id `t` shows the book
   * after the last diff with `u <= t`, as long as the next diff starts after `t` (`t < U`); inside
   * a diff's `[U, u)` the book is not known from diffs and the ticker is skipped. Every ticker
   * whose state is known must match the synced book's top (price and quantity, both sides).
   */
  it('does sync every COIN-M futures contract on pu and match every bookTicker whose book state is known', () => {
    const lines = captureLines(COINM_2021_07);
    interface Top {
      readonly U: number;
      readonly u: number;
      readonly top: readonly [number, number, number, number];
    }
    const syncs = new Map<string, { sync: BinanceBookSync; events: BookSyncEvent[]; tops: Top[]; crossed: number }>();
    const tickers: { symbol: string; u: number; top: readonly [number, number, number, number] }[] = [];
    const levels = (raw: unknown): Level[] => (raw as RawLevel[]).map(([p, q]): Level => [Number(p), Number(q)]);
    const entry = (symbol: string) => {
      let found = syncs.get(symbol);
      if (found === undefined) {
        const events: BookSyncEvent[] = [];
        const tops: Top[] = [];
        const state = {
          sync: new BinanceBookSync({
            market: 'usdm',
            symbol,
            handler: {
              book: (record: BookDepth) => {
                const book = state.sync.book;
                if (book === undefined || book.isCrossed()) {
                  state.crossed++;
                  return;
                }
                const bid = book.bestBid();
                const ask = book.bestAsk();
                if (bid === undefined || ask === undefined) return;
                tops.push({ U: record.snapshot ? -1 : record.firstUpdateId, u: record.lastUpdateId, top: [bid[0], bid[1], ask[0], ask[1]] });
              },
              requestSnapshot: () => undefined,
              control: (event: BookSyncEvent) => events.push(event),
            },
          }),
          events,
          tops,
          crossed: 0,
        };
        found = state;
        syncs.set(symbol, found);
      }
      return found;
    };
    for (const line of lines) {
      const tsRecv = Math.round(line.local_ts * 1000);
      if (line.kind === 'http_get') {
        const rest = line.data as RestDepth & { T: number };
        const symbol = restSymbol(line.url);
        entry(symbol).sync.snapshot({ type: 'book-depth', venue: 'binance-coinm', symbol, tsEvent: rest.T, tsRecv, firstUpdateId: rest.lastUpdateId, lastUpdateId: rest.lastUpdateId, bids: levels(rest.bids), asks: levels(rest.asks), snapshot: true });
      } else if (line.kind === 'ws_recv') {
        const d = (line.data as Envelope).data;
        const symbol = String(d.s);
        if (d.e === 'depthUpdate') {
          entry(symbol).sync.diff({
            type: 'book-depth',
            venue: 'binance-coinm',
            symbol,
            tsEvent: d.T as number,
            tsRecv,
            firstUpdateId: d.U as number,
            lastUpdateId: d.u as number,
            prevUpdateId: d.pu as number,
            bids: levels(d.b),
            asks: levels(d.a),
            snapshot: false,
          });
        } else if (d.e === 'bookTicker') {
          tickers.push({ symbol, u: d.u as number, top: [Number(d.b), Number(d.B), Number(d.a), Number(d.A)] });
        }
      }
    }
    expect(syncs.size, 'ten contracts').toBe(10);
    for (const [symbol, { sync, events, crossed }] of syncs) {
      expect(sync.state, `${symbol} reaches SYNCED on the §2.3 rules and stays there`).toBe('SYNCED');
      expect(events, `${symbol}: no pu break`).toStrictEqual([]);
      expect(crossed, `${symbol}: never crossed`).toBe(0);
      expect(sync.counters.appliedDiffs, `${symbol} applies diffs`).toBeGreaterThan(50);
    }
    let compared = 0;
    const wrong: string[] = [];
    for (const ticker of tickers) {
      const tops = syncs.get(ticker.symbol)?.tops ?? [];
      const k = tops.findIndex((top, i) => top.u <= ticker.u && i + 1 < tops.length && ticker.u < (tops[i + 1] as Top).U);
      if (k < 0) continue;
      compared++;
      const top = (tops[k] as Top).top;
      if (top.some((value, i) => value !== ticker.top[i])) wrong.push(`${ticker.symbol} u ${ticker.u}: book ${JSON.stringify(top)} vs ticker ${JSON.stringify(ticker.top)}`);
    }
    expect(compared, 'the capture has 211 tickers at a known book state').toBe(211);
    expect(wrong, 'the synced book shows what the venue showed').toStrictEqual([]);
  });

  /**
   * Nautilus' Binance futures excerpts (README §2c): a snapshot and an update about ten minutes
   * later, not contiguous. Fed as a live sync would see them (the update first, buffered, then the
   * snapshot), the snapshot is older than the first buffered U and must be fetched again.
   */
  it('does call the non-contiguous nautilus futures snapshot too old and fetch again', () => {
    const rows = (file: string) =>
      readFileSync(sharedData(file), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(','));
    const levelsOf = (rowsOfSide: string[][]): Level[] => rowsOfSide.map((r): Level => [Number(r[6]), Number(r[7])]);
    const snapshotRows = rows(NAUTILUS_SNAPSHOT);
    const updateRows = rows(NAUTILUS_UPDATE);
    const first = updateRows[0] as string[];
    const [U, u, pu, L] = [Number(first[2]), Number(first[3]), Number(first[8]), Number((snapshotRows[0] as string[])[3])];
    expect(updateRows.every((r) => r[2] === first[2] && r[3] === first[3]), 'the update excerpt is one event').toBe(true);
    const { sync, take } = harness({ market: 'usdm', symbol: 'BTCUSDT' });
    sync.diff({ ...diff(U, u, { pu, symbol: 'BTCUSDT' }), bids: levelsOf(updateRows.filter((r) => r[4] === 'b')), asks: levelsOf(updateRows.filter((r) => r[4] === 'a')) });
    sync.snapshot(snap(L, levelsOf(snapshotRows.filter((r) => r[4] === 'b')), levelsOf(snapshotRows.filter((r) => r[4] === 'a')), 'BTCUSDT'));
    expect(L).toBeLessThan(U);
    expect(take(), 'requested on the first diff, then again: too old').toStrictEqual([{ request: 0 }, { request: 1 }]);
    expect(sync.counters.staleSnapshots).toBe(1);
    expect(sync.state).toBe('WAITING_SNAPSHOT');
  });
});
