import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../../src/errors.js';
import type { BookDepth, Level } from '../../../src/model/index.js';
import { BookDepthSchema, BookTopSchema } from '../../../src/model/index.js';
import { CoinbaseBook, decideResync, ResyncPolicy } from '../../../src/sources/coinbase/book.js';

const T = 1_700_000_000_000;

function depth(id: number, bids: Level[], asks: Level[], options: { snapshot?: boolean; prev?: number; symbol?: string } = {}): BookDepth {
  const record: BookDepth = {
    type: 'book-depth',
    venue: 'coinbase',
    symbol: options.symbol ?? 'BTC-USD',
    tsEvent: T + id,
    tsRecv: T + id + 1,
    firstUpdateId: id,
    lastUpdateId: id,
    bids,
    asks,
    snapshot: options.snapshot ?? false,
  };
  const prev = options.snapshot === true ? options.prev : (options.prev ?? id - 1);
  return prev === undefined ? record : { ...record, prevUpdateId: prev };
}

const snapshot = (id: number, bids: Level[], asks: Level[]): BookDepth => depth(id, bids, asks, { snapshot: true });

function seeded(): CoinbaseBook {
  const book = new CoinbaseBook('BTC-USD');
  expect(book.apply(snapshot(10, [[100, 1], [99, 2], [98, 3]], [[101, 1], [102, 2]]))).toEqual({ status: 'applied' });
  return book;
}

describe('CoinbaseBook', () => {
  it('does build from a snapshot, best first on each side', () => {
    const book = new CoinbaseBook('BTC-USD');
    expect(book.state).toBe('empty');
    expect(book.apply(snapshot(10, [[98, 3], [100, 1], [99, 2]], [[102, 2], [101, 1]]))).toEqual({ status: 'applied' });
    expect(book.state).toBe('valid');
    expect(book.bids()).toEqual([[100, 1], [99, 2], [98, 3]]);
    expect(book.asks()).toEqual([[101, 1], [102, 2]]);
    expect(book.top()).toEqual({ bidPrice: 100, bidQty: 1, askPrice: 101, askQty: 1 });
    expect(book.lastUpdateId).toBe(10);
    expect(book.depth).toEqual({ bids: 3, asks: 2 });
  });

  it('does apply updates with absolute quantities; 0 removes a level', () => {
    const book = seeded();
    const result = book.apply(depth(11, [[100, 0], [99, 5], [97.5, 1]], [[101, 0], [101.5, 4], [103, 0]]));
    expect(result).toEqual({ status: 'applied' });
    expect(book.bids()).toEqual([[99, 5], [98, 3], [97.5, 1]]);
    expect(book.asks(), 'removing an absent level (103) is harmless').toEqual([[101.5, 4], [102, 2]]);
    expect(book.bids(2)).toEqual([[99, 5], [98, 3]]);
    expect(book.lastUpdateId).toBe(11);
    expect(book.tsEvent).toBe(T + 11);
  });

  it('does ignore updates before the first snapshot', () => {
    const book = new CoinbaseBook('BTC-USD');
    const result = book.apply(depth(3, [[100, 1]], []));
    expect(result).toEqual({ status: 'ignored', reason: 'update 3 ignored: the book is empty (no snapshot yet)' });
    expect(book.top()).toBeUndefined();
  });

  it('does ignore a stale update', () => {
    const book = seeded();
    expect(book.apply(depth(10, [[100, 9]], [], { prev: 9 }))).toEqual({ status: 'ignored', reason: 'stale update: 10 is not after the last applied 10' });
    expect(book.top()?.bidQty, 'the stale update changed nothing').toBe(1);
  });

  it('does invalidate on a sequence gap, ignore updates until a snapshot, then recover', () => {
    const book = seeded();
    expect(book.apply(depth(11, [[100, 2]], []))).toEqual({ status: 'applied' });
    const gap = book.apply(depth(14, [[100, 3]], [], { prev: 11 }));
    expect(gap).toEqual({ status: 'invalidated', reason: 'sequence gap: update 14 follows 11, messages 12 to 13 were lost' });
    expect(book.state).toBe('invalid');
    expect(book.top(), 'an invalid book shows nothing').toBeUndefined();
    expect(book.bids()).toEqual([]);
    expect(book.snapshot(T)).toBeUndefined();
    expect(book.apply(depth(15, [[100, 4]], []))).toMatchObject({ status: 'ignored' });
    expect(book.apply(snapshot(20, [[100, 5]], [[101, 6]]))).toEqual({ status: 'applied' });
    expect(book.state).toBe('valid');
    expect(book.invalidReason).toBeUndefined();
    expect(book.top()).toEqual({ bidPrice: 100, bidQty: 5, askPrice: 101, askQty: 6 });
  });

  it('does accept a gap the connection saw between records of other channels only when the numbers are contiguous', () => {
    const book = seeded();
    expect(book.apply(depth(13, [[100, 2]], [], { prev: 12 })), 'messages 11 and 12 were of other channels').toEqual({ status: 'applied' });
  });

  it('does detect a crossed book after an update', () => {
    const book = seeded();
    const result = book.apply(depth(11, [[101, 1]], []));
    expect(result).toEqual({ status: 'invalidated', reason: 'crossed book: best bid "101" is not below best ask "101" after update 11' });
    expect(book.state).toBe('invalid');
  });

  it('does judge crossing after the whole update, not level by level', () => {
    const book = seeded();
    expect(book.apply(depth(11, [[101, 1]], [[101, 0], [102, 0], [103, 1]]))).toEqual({ status: 'applied' });
    expect(book.top()).toEqual({ bidPrice: 101, bidQty: 1, askPrice: 103, askQty: 1 });
  });

  it('does leave a crossed snapshot invalid', () => {
    const book = new CoinbaseBook('BTC-USD');
    expect(book.apply(snapshot(5, [[101, 1]], [[100, 1]]))).toEqual({ status: 'invalidated', reason: 'crossed book: best bid "101" is not below best ask "100" in snapshot 5' });
    expect(book.state).toBe('invalid');
  });

  it('does mark itself invalid on request', () => {
    const book = seeded();
    book.invalidate('stream stalled');
    expect(book.state).toBe('invalid');
    expect(book.invalidReason).toBe('stream stalled');
    expect(book.apply(depth(11, [], []))).toEqual({ status: 'ignored', reason: 'update 11 ignored: the book is invalid (stream stalled)' });
  });

  it('does make snapshot and top-of-book records that satisfy the model', () => {
    const book = seeded();
    const record = book.snapshot(T + 99, 2);
    expect(record).toEqual({
      type: 'book-depth',
      venue: 'coinbase',
      symbol: 'BTC-USD',
      tsEvent: T + 10,
      tsRecv: T + 99,
      firstUpdateId: 10,
      lastUpdateId: 10,
      bids: [
        [100, 1],
        [99, 2],
      ],
      asks: [
        [101, 1],
        [102, 2],
      ],
      snapshot: true,
    });
    expect(BookDepthSchema.parse(record)).toEqual(record);
    const top = book.topRecord(T + 99);
    expect(top).toEqual({ type: 'book-top', venue: 'coinbase', symbol: 'BTC-USD', tsEvent: T + 10, tsRecv: T + 99, bidPrice: 100, bidQty: 1, askPrice: 101, askQty: 1, updateId: 10 });
    expect(BookTopSchema.parse(top)).toEqual(top);
  });

  it('does fail fast when given another product', () => {
    const book = new CoinbaseBook('BTC-USD');
    expect(() => book.apply(depth(1, [], [], { snapshot: true, symbol: 'ETH-USD' }))).toThrow(InvariantError);
    expect(() => book.apply(depth(1, [], [], { snapshot: true, symbol: 'ETH-USD' }))).toThrow('A "coinbase" "ETH-USD" book record was given to the coinbase "BTC-USD" book');
  });

  it('does agree with a plain map model on any sequence of level changes', () => {
    const price = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map((ticks) => ticks / 100);
    const change = fc.tuple(fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 5 }));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(price(1, 100), fc.integer({ min: 1, max: 9 })), { maxLength: 20 }),
        fc.array(fc.array(fc.tuple(change, price(1, 100)), { maxLength: 8 }), { maxLength: 30 }),
        (initialBids, updates) => {
          const book = new CoinbaseBook('BTC-USD');
          const bids = new Map<number, number>(initialBids);
          // Asks live above 200, bids below 100: the book can never cross.
          const asks = new Map<number, number>(initialBids.map(([p, q]) => [p + 200, q]));
          book.apply(snapshot(1, [...bids], [...asks]));
          updates.forEach((changes, i) => {
            const b: Level[] = [];
            const a: Level[] = [];
            for (const [[isBid, remove, qty], p] of changes) {
              const level: Level = [isBid ? p : p + 200, remove ? 0 : qty];
              (isBid ? b : a).push(level);
              const model = isBid ? bids : asks;
              if (level[1] === 0) model.delete(level[0]);
              else model.set(level[0], level[1]);
            }
            expect(book.apply(depth(i + 2, b, a))).toEqual({ status: 'applied' });
          });
          expect(book.bids()).toEqual([...bids].filter(([, q]) => q > 0).sort((x, y) => y[0] - x[0]));
          expect(book.asks()).toEqual([...asks].filter(([, q]) => q > 0).sort((x, y) => x[0] - y[0]));
        },
      ),
    );
  });
});

describe('decideResync', () => {
  const policy = { maxResyncs: 3, windowMs: 60_000 };

  it('does allow up to maxResyncs in a window, then report degraded until the oldest leaves it', () => {
    let history: readonly number[] = [];
    const decisions = [0, 1_000, 2_000, 3_000].map((now) => {
      const next = decideResync(history, now, policy);
      history = next.history;
      return next.decision;
    });
    expect(decisions).toEqual([
      { action: 'resync', attempt: 1 },
      { action: 'resync', attempt: 2 },
      { action: 'resync', attempt: 3 },
      { action: 'degraded', retryAt: 60_000, reason: '3 resyncs in the last 60000 ms reach the limit of 3: next allowed at 60000' },
    ]);
    expect(history, 'a refused resync is not counted').toEqual([0, 1_000, 2_000]);
    expect(decideResync(history, 60_000, policy).decision, 'the oldest has left the window').toEqual({ action: 'resync', attempt: 3 });
  });

  it('does not change the history it is given', () => {
    const history = Object.freeze([1, 2]);
    expect(decideResync(history, 3, policy).history).toEqual([1, 2, 3]);
    expect(history).toEqual([1, 2]);
  });
});

describe('ResyncPolicy', () => {
  it('does keep a history per product, on the injected clock', () => {
    let now = 0;
    const policy = new ResyncPolicy({ maxResyncs: 2, windowMs: 10_000 }, () => now);
    expect(policy.request('BTC-USD')).toEqual({ action: 'resync', attempt: 1 });
    now = 1;
    expect(policy.request('BTC-USD')).toEqual({ action: 'resync', attempt: 2 });
    expect(policy.request('ETH-USD'), 'another product has its own budget').toEqual({ action: 'resync', attempt: 1 });
    now = 2;
    expect(policy.request('BTC-USD')).toMatchObject({ action: 'degraded', retryAt: 10_000 });
    now = 10_000;
    expect(policy.request('BTC-USD')).toEqual({ action: 'resync', attempt: 2 });
    policy.reset('BTC-USD');
    expect(policy.request('BTC-USD')).toEqual({ action: 'resync', attempt: 1 });
  });

  it('does reject bad bounds with the value quoted', () => {
    expect(() => new ResyncPolicy({ maxResyncs: 0, windowMs: 1 }, () => 0)).toThrow('maxResyncs "0" must be an integer >= 1');
    expect(() => new ResyncPolicy({ maxResyncs: 1.5, windowMs: 1 }, () => 0)).toThrow('maxResyncs "1.5" must be an integer >= 1');
    expect(() => new ResyncPolicy({ maxResyncs: 1, windowMs: Number.NaN }, () => 0)).toThrow('windowMs "NaN" must be a positive number of milliseconds');
  });
});
