import { describe, expect, it } from 'vitest';
import { BookDepthSchema } from '../../../src/model/index.js';
import type { KrakenBookInput } from '../../../src/sources/kraken/book.js';
import { KrakenBook, KrakenResyncLimiter } from '../../../src/sources/kraken/book.js';
import type { KrakenLevel } from '../../../src/sources/kraken/checksum.js';
import type { KrakenBookDepth } from '../../../src/sources/kraken/messages.js';

/** Levels from `[price, qty]` texts, as the parser delivers them. */
function levels(pairs: readonly (readonly [string, string])[]): KrakenLevel[] {
  return pairs.map(([price, qty]) => ({ price: Number(price), qty: Number(qty), priceText: price, qtyText: qty }));
}

function message(snapshot: boolean, bids: readonly (readonly [string, string])[], asks: readonly (readonly [string, string])[], checksum: number): KrakenBookInput {
  return { snapshot, bids: levels(bids), asks: levels(asks), checksum };
}

// protocols.md §4.4 / §4.6.
const SNAPSHOT = message(
  true,
  [
    ['50000.0', '2.00000000'],
    ['49999.9', '0.00100000'],
  ],
  [
    ['50001.0', '0.50000000'],
    ['50002.5', '1.25000000'],
  ],
  3_008_123_608,
);
const UPDATE = message(false, [['50000.5', '0.30000000']], [['50001.0', '0']], 4_156_532_984);

function book(depth: KrakenBookDepth = 10): KrakenBook {
  return new KrakenBook({ symbol: 'BTC-USD', depth, pricePrecision: 1, qtyPrecision: 8 });
}

describe('KrakenBook', () => {
  it('does verify the documented snapshot and update (all levels applied before the check)', () => {
    const b = book();
    expect(b.apply(SNAPSHOT)).toEqual({ ok: true });
    expect(b.apply(UPDATE), 'the removal and the insert of one message are both applied first').toEqual({ ok: true });
    expect(b.bids()).toEqual([
      [50_000.5, 0.3],
      [50_000, 2],
      [49_999.9, 0.001],
    ]);
    expect(b.asks()).toEqual([[50_002.5, 1.25]]);
    expect(b.top()).toEqual({ bid: [50_000.5, 0.3], ask: [50_002.5, 1.25] });
  });

  it('does detect a mismatch on exactly the message that carries it, and report both values', () => {
    const b = book();
    expect(b.apply(SNAPSHOT).ok).toBe(true);
    const bad = { ...UPDATE, checksum: 4_156_532_985 };
    expect(b.apply(bad)).toEqual({ ok: false, expected: 4_156_532_985, actual: 4_156_532_984 });
    expect(b.checksum(), 'the levels were applied all the same').toBe(4_156_532_984);
  });

  it('does detect a wrong quantity: the book diverges and the next checksum fails', () => {
    const b = book();
    b.apply(SNAPSHOT);
    const wrongQty = message(false, [['50000.5', '0.30000001']], [['50001.0', '0']], 4_156_532_984);
    const result = b.apply(wrongQty);
    expect(result.ok).toBe(false);
    expect(b.checksumInput()).toBe('50002512500000050000530000001500000200000000499999100000');
  });

  it('does remove a level on qty 0 and ignore a removal of a level it does not have', () => {
    const b = new KrakenBook({ symbol: 'BTC-USD', depth: 10 });
    b.apply(SNAPSHOT);
    b.apply(message(false, [['49999.9', '0.00000000'], ['1.0', '0.00000000']], [], 0));
    expect(b.bids()).toEqual([[50_000, 2]]);
  });

  it('does truncate each side to the depth after every message (no delete is sent for a level pushed out)', () => {
    const bids = Array.from({ length: 10 }, (_, i) => [`${100 - i}.0`, '1.00000000'] as const);
    const asks = Array.from({ length: 10 }, (_, i) => [`${101 + i}.0`, '1.00000000'] as const);
    const b = new KrakenBook({ symbol: 'BTC-USD', depth: 10 });
    b.apply(message(true, bids, asks, 0));
    b.apply(message(false, [['99.5', '2.00000000']], [['101.5', '2.00000000']], 0));
    expect(b.bids()).toHaveLength(10);
    expect(b.bids().at(-1), 'the 11th bid went').toEqual([92, 1]);
    expect(b.asks().at(-1), 'the 11th ask went').toEqual([109, 1]);
    // A later removal does not bring the truncated level back.
    b.apply(message(false, [['100.0', '0']], [], 0));
    expect(b.bids()).toHaveLength(9);
    expect(b.bids().at(-1)).toEqual([92, 1]);
  });

  it('does truncate a snapshot deeper than the depth', () => {
    const bids = Array.from({ length: 30 }, (_, i) => [`${100 - i}.0`, '1.00000000'] as const);
    const b = new KrakenBook({ symbol: 'BTC-USD', depth: 25 });
    b.apply(message(true, bids, [['200.0', '1.00000000']], 0));
    expect(b.bids()).toHaveLength(25);
  });

  it('does keep the book sorted whatever order levels arrive in', () => {
    const b = new KrakenBook({ symbol: 'BTC-USD', depth: 10 });
    b.apply(message(true, [['1.0', '1'], ['3.0', '1'], ['2.0', '1']], [['6.0', '1'], ['4.0', '1'], ['5.0', '1']], 0));
    expect(b.bids(2)).toEqual([
      [3, 1],
      [2, 1],
    ]);
    expect(b.asks(2)).toEqual([
      [4, 1],
      [5, 1],
    ]);
  });

  it('does compute the checksum from the text as sent when no precision is given', () => {
    const b = new KrakenBook({ symbol: 'BTC-USD', depth: 10 });
    expect(b.apply(SNAPSHOT)).toEqual({ ok: true });
  });

  it('does compute the checksum from numbers with the precision when the text is unknown', () => {
    const b = book();
    const bare = (input: KrakenBookInput): KrakenBookInput => ({
      ...input,
      bids: input.bids.map(({ price, qty }) => ({ price, qty })),
      asks: input.asks.map(({ price, qty }) => ({ price, qty })),
    });
    expect(b.apply(bare(SNAPSHOT))).toEqual({ ok: true });
    expect(b.apply(bare(UPDATE))).toEqual({ ok: true });
  });

  it('does replace the whole book on a snapshot', () => {
    const b = book();
    b.apply(SNAPSHOT);
    const result = b.apply(message(true, [['10.0', '1.00000000']], [['11.0', '1.00000000']], 0));
    expect(result.ok).toBe(false);
    expect(b.bids()).toEqual([[10, 1]]);
    expect(b.asks()).toEqual([[11, 1]]);
  });

  it('does fail an update that comes before any snapshot, and say it is not synced', () => {
    const b = book();
    expect(b.synced).toBe(false);
    expect(b.apply(UPDATE).ok).toBe(false);
    expect(b.synced).toBe(false);
    b.apply(SNAPSHOT);
    expect(b.synced).toBe(true);
    b.reset();
    expect(b.synced).toBe(false);
    expect(b.bids()).toEqual([]);
    expect(b.top()).toEqual({ bid: undefined, ask: undefined });
  });

  it('does build a book-depth snapshot record that the model accepts', () => {
    const b = book();
    expect(() => b.toBookDepth({ tsEvent: 1, tsRecv: 1, updateId: 1 })).toThrowErrorMatchingInlineSnapshot(
      `[InvariantError: The Kraken book of BTC-USD has no snapshot yet]`,
    );
    b.apply(SNAPSHOT);
    const record = b.toBookDepth({ tsEvent: 1_767_225_600_000, tsRecv: 1_767_225_600_001, updateId: 7 });
    expect(BookDepthSchema.parse(record)).toEqual(record);
    expect(record).toMatchObject({ venue: 'kraken', symbol: 'BTC-USD', snapshot: true, firstUpdateId: 7, lastUpdateId: 7 });
    expect(record.asks).toEqual([
      [50_001, 0.5],
      [50_002.5, 1.25],
    ]);
  });

  it('does keep the exact text of each level', () => {
    const b = book();
    b.apply(SNAPSHOT);
    expect(b.levels().bids[1]).toEqual({ price: 49_999.9, qty: 0.001, priceText: '49999.9', qtyText: '0.00100000' });
  });

  it('does reject a depth Kraken does not offer and a bad precision, naming the value', () => {
    expect(() => new KrakenBook({ symbol: 'BTC-USD', depth: 7 as KrakenBookDepth })).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: Kraken book depth "7" is not one of 10, 25, 100, 500, 1000]`,
    );
    expect(() => new KrakenBook({ symbol: 'BTC-USD', depth: 10, qtyPrecision: -1 })).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: Kraken book qtyPrecision "-1" must be an integer from 0 to 30]`,
    );
  });

  // The first updates of python-kraken-sdk's recorded XBT/USD book-10 feed
  // (tests/spot/fixture/orderbook.json, a v1 capture: the same book rules and checksum string).
  it('does verify a recorded Kraken sequence: snapshot and 16 updates, with truncation to depth 10', () => {
    const b = new KrakenBook({ symbol: 'BTC-USD', depth: 10 });
    const init = message(
      true,
      [
        ['27918.50000', '0.44201019'],
        ['27918.20000', '2.68641244'],
        ['27918.10000', '0.01920189'],
        ['27917.30000', '0.10000000'],
        ['27916.60000', '0.04794621'],
        ['27916.00000', '2.57867480'],
        ['27915.90000', '0.10736874'],
        ['27914.40000', '2.68678413'],
        ['27914.00000', '0.01734074'],
        ['27913.90000', '0.04475898'],
      ],
      [
        ['27918.60000', '0.10013466'],
        ['27921.40000', '0.04476644'],
        ['27921.70000', '0.00200000'],
        ['27922.60000', '0.00744600'],
        ['27922.70000', '0.03909756'],
        ['27922.80000', '0.01570717'],
        ['27922.90000', '0.01933877'],
        ['27923.10000', '0.03165398'],
        ['27923.20000', '2.68594216'],
        ['27924.10000', '0.03123600'],
      ],
      0,
    );
    b.apply(init);
    const updates: [side: 'a' | 'b', levels: [string, string][], checksum: number][] = [
      ['a', [['27918.60000', '0.19013466']], 3_509_641_781],
      ['a', [['27918.60000', '0.19313466']], 3_537_477_593],
      ['a', [['27922.90000', '0.00000000'], ['27925.20000', '0.40000000']], 2_130_071_711],
      ['a', [['27922.70000', '0.05851057']], 266_505_086],
      ['a', [['27924.10000', '0.08078351']], 3_007_200_011],
      ['a', [['27918.60000', '0.19013466']], 444_693_541],
      ['a', [['27918.60000', '0.10013466']], 1_651_272_542],
      ['a', [['27922.60000', '0.00726150']], 1_879_094_727],
      ['a', [['27922.70000', '0.03909756']], 18_116_134],
      ['a', [['27924.10000', '0.03123600']], 3_184_057_939],
      ['a', [['27924.30000', '0.04801270']], 863_732_242],
      ['a', [['27922.90000', '0.01947342']], 252_574_142],
      ['b', [['27918.30000', '0.00035818']], 4_126_495_252],
      ['b', [['27916.00000', '0.00000000'], ['27913.90000', '0.04475898']], 2_280_320_765],
      ['b', [['27914.50000', '2.57867589']], 1_349_553_540],
      ['a', [['27923.20000', '0.00000000'], ['27924.30000', '0.04801270']], 1_669_155_769],
    ];
    const verdicts = updates.map(([side, changed, checksum]) => b.apply(message(false, side === 'b' ? changed : [], side === 'a' ? changed : [], checksum)).ok);
    expect(verdicts).toEqual(updates.map(() => true));
    expect(b.asks()).toHaveLength(10);
  });
});

describe('KrakenResyncLimiter', () => {
  it('does allow K resyncs per window, then answer degraded until the oldest leaves the window', () => {
    let now = 1_000;
    const limiter = new KrakenResyncLimiter({ maxResyncs: 3, windowMs: 60_000, now: () => now });
    expect(limiter.request('BTC-USD')).toEqual({ action: 'resync', attempt: 1 });
    now += 10_000;
    expect(limiter.request('BTC-USD')).toEqual({ action: 'resync', attempt: 2 });
    now += 10_000;
    expect(limiter.request('BTC-USD')).toEqual({ action: 'resync', attempt: 3 });
    now += 10_000;
    expect(limiter.request('BTC-USD')).toEqual({ action: 'degraded', retryAt: 61_000 });
    expect(limiter.recent('BTC-USD'), 'a refusal is not counted').toBe(3);
    now = 61_000;
    expect(limiter.request('BTC-USD'), 'the first resync left the window').toEqual({ action: 'resync', attempt: 3 });
  });

  it('does keep symbols apart, and forget a symbol on reset', () => {
    let now = 0;
    const limiter = new KrakenResyncLimiter({ maxResyncs: 1, windowMs: 1_000, now: () => now });
    expect(limiter.request('BTC-USD').action).toBe('resync');
    expect(limiter.request('ETH-USD').action, 'another symbol has its own budget').toBe('resync');
    expect(limiter.request('BTC-USD').action).toBe('degraded');
    limiter.reset('BTC-USD');
    expect(limiter.request('BTC-USD').action).toBe('resync');
    now = 5_000;
    expect(limiter.recent('ETH-USD')).toBe(0);
  });

  it('does default to 5 resyncs per 10 minutes and reject bad options', () => {
    const limiter = new KrakenResyncLimiter({ now: () => 0 });
    expect([limiter.maxResyncs, limiter.windowMs]).toEqual([5, 600_000]);
    expect(() => new KrakenResyncLimiter({ maxResyncs: 0, now: () => 0 })).toThrowErrorMatchingInlineSnapshot(`[RangeError: maxResyncs "0" must be a positive integer]`);
    expect(() => new KrakenResyncLimiter({ windowMs: Number.NaN, now: () => 0 })).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: windowMs "NaN" must be a positive number of milliseconds]`,
    );
  });
});
