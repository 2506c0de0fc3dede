import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../../src/errors.js';
import { CandleSchema } from '../../../src/model/index.js';
import { buildCandles, buildCandlesOperator } from '../../../src/operators/candles/buildCandles.js';
import { CandleBuilder } from '../../../src/operators/candles/candleBuilder.js';
import { candle, gap, MINUTE, status, T0, trade } from '../../support/builders.js';
import { testDefinitionContract } from '../../support/contracts.js';
import { marbles } from '../../support/marbles.js';

const a = trade({ id: 1, tsEvent: T0 + 1_000, price: 100, qty: 1, side: 'buy' });
const b = trade({ id: 2, tsEvent: T0 + 30_000, price: 103, qty: 0.5, side: 'sell' });
const c = trade({ id: 3, tsEvent: T0 + 45_000, price: 99, qty: 2, side: 'buy' });
const d = trade({ id: 4, tsEvent: T0 + MINUTE + 10_000, price: 101, qty: 1, side: 'sell' });
const e = trade({ id: 5, tsEvent: T0 + 3 * MINUTE + 5_000, price: 104, qty: 1, side: 'buy' });

const bar0 = candle({
  openTime: T0,
  closeTime: T0 + MINUTE - 1,
  tsEvent: d.tsEvent,
  tsRecv: d.tsRecv,
  open: 100,
  high: 103,
  low: 99,
  close: 99,
  volume: 3.5,
  quoteVolume: 100 + 51.5 + 198,
  trades: 3,
  takerBuyVolume: 3,
});
const bar1 = candle({
  openTime: T0 + MINUTE,
  closeTime: T0 + 2 * MINUTE - 1,
  tsEvent: e.tsEvent,
  tsRecv: e.tsRecv,
  open: 101,
  high: 101,
  low: 101,
  close: 101,
  volume: 1,
  quoteVolume: 101,
  trades: 1,
  takerBuyVolume: 0,
});
const flat2 = candle({
  openTime: T0 + 2 * MINUTE,
  closeTime: T0 + 3 * MINUTE - 1,
  tsEvent: e.tsEvent,
  tsRecv: e.tsRecv,
  open: 101,
  high: 101,
  low: 101,
  close: 101,
  volume: 0,
  quoteVolume: 0,
  trades: 0,
  takerBuyVolume: 0,
});

describe('buildCandles', () => {
  it(
    'closes a bar when the first trade of a later bar arrives',
    marbles((m) => {
      const trades$ = m.cold('  a-b-c-d--|', { a, b, c, d });
      const expected = '      ------x--|';
      m.expect(trades$.pipe(buildCandles('1m'))).toBeObservable(expected, { x: bar0 });
    }),
  );

  it(
    'emits nothing while the first bar forms (warm-up) and never emits an unfinished bar as closed on completion',
    marbles((m) => {
      const trades$ = m.cold('  a-b-c|', { a, b, c });
      m.expect(trades$.pipe(buildCandles('1m'))).toBeObservable('-----|');
    }),
  );

  it(
    'fills intervals without trades with flat zero-volume bars',
    marbles((m) => {
      const trades$ = m.cold('  a-d-e-----|', { a, d, e });
      const first = candle({ ...bar0, open: 100, high: 100, low: 100, close: 100, volume: 1, quoteVolume: 100, trades: 1, takerBuyVolume: 1 });
      const expected = '      --x-(yz)--|';
      m.expect(trades$.pipe(buildCandles('1m'))).toBeObservable(expected, { x: first, y: bar1, z: flat2 });
    }),
  );

  it(
    'does not invent bars across a reported gap, and passes control events through in order',
    marbles((m) => {
      const g = gap({ tsEvent: T0 + 2 * MINUTE });
      const s = status({ tsEvent: T0 + 2 * MINUTE });
      const trades$ = m.cold('  d-g-s-e-|', { d, g, s, e });
      const expected = '      --g-s-y-|';
      m.expect(trades$.pipe(buildCandles('1m'))).toBeObservable(expected, { g, s, y: bar1 });
    }),
  );

  it(
    'emits the forming bar after every trade when asked',
    marbles((m) => {
      const trades$ = m.cold('  a-b-|', { a, b });
      const forming1 = candle({ ...bar0, tsEvent: a.tsEvent, tsRecv: a.tsRecv, high: 100, low: 100, close: 100, volume: 1, quoteVolume: 100, trades: 1, takerBuyVolume: 1, closed: false });
      const forming2 = candle({ ...bar0, tsEvent: b.tsEvent, tsRecv: b.tsRecv, high: 103, low: 100, close: 103, volume: 1.5, quoteVolume: 151.5, trades: 2, takerBuyVolume: 1, closed: false });
      m.expect(trades$.pipe(buildCandles('1m', { forming: true }))).toBeObservable('x-y-|', { x: forming1, y: forming2 });
    }),
  );

  it(
    'propagates an upstream error',
    marbles((m) => {
      const trades$ = m.cold('  a-d-#', { a, d });
      const first = candle({ ...bar0, open: 100, high: 100, low: 100, close: 100, volume: 1, quoteVolume: 100, trades: 1, takerBuyVolume: 1 });
      m.expect(trades$.pipe(buildCandles('1m'))).toBeObservable('--x-#', { x: first });
    }),
  );

  it(
    'completes on empty and stays silent on never',
    marbles((m) => {
      m.expect(m.cold('|').pipe(buildCandles('1m'))).toBeObservable('|');
      m.expect(m.cold('-').pipe(buildCandles('1m'))).toBeObservable('-');
    }),
  );

  it(
    'unsubscribes from its source when the subscriber leaves early',
    marbles((m) => {
      const trades$ = m.hot('  a-b-c-d-e-|', { a, b, c, d, e });
      const unsub = '        ----!';
      m.expect(trades$.pipe(buildCandles('1m')), unsub).toBeObservable('-----');
      m.expect(trades$).toHaveSubscriptions('^---!');
    }),
  );

  it(
    'keeps state per subscription: two concurrent subscriptions give the same bars',
    marbles((m) => {
      const trades$ = m.hot('  a-b-c-d-e---|', { a, b, c, d, e });
      const operator = buildCandles('1m');
      const expected = '      ------x-(yz)|';
      m.expect(trades$.pipe(operator)).toBeObservable(expected, { x: bar0, y: bar1, z: flat2 });
      m.expect(trades$.pipe(operator)).toBeObservable(expected, { x: bar0, y: bar1, z: flat2 });
    }),
  );

  it(
    'errors with a clear message on a record of the wrong type',
    marbles((m) => {
      const trades$ = m.cold('  a-x-|', { a, x: bar0 as never });
      m.expect(trades$.pipe(buildCandles('1m'))).toBeObservable(
        '--#',
        undefined,
        new InvariantError('buildCandles received a "candle" record; it takes "trade" records (filter the stream first)'),
      );
    }),
  );

  it('rejects an invalid interval where the pipeline is built', () => {
    expect(() => buildCandles('7x')).toThrow('Interval "7x" is not valid');
    expect(() => buildCandles('2d')).toThrow('Interval "2d" is not valid');
  });
});

describe('CandleBuilder', () => {
  it('keeps one series per venue and symbol', () => {
    const builder = new CandleBuilder({ interval: '1m' });
    builder.add(trade({ symbol: 'BTC-USDT', tsEvent: T0, price: 100 }));
    builder.add(trade({ symbol: 'ETH-USDT', tsEvent: T0, price: 3 }));
    const closedBtc = builder.add(trade({ symbol: 'BTC-USDT', tsEvent: T0 + MINUTE, price: 101 }));
    const closedEth = builder.add(trade({ symbol: 'ETH-USDT', tsEvent: T0 + MINUTE, price: 4 }));
    expect(closedBtc.map((bar) => [bar.symbol, bar.close])).toStrictEqual([['BTC-USDT', 100]]);
    expect(closedEth.map((bar) => [bar.symbol, bar.close])).toStrictEqual([['ETH-USDT', 3]]);
  });

  it('ignores and counts a trade older than the forming bar', () => {
    const builder = new CandleBuilder({ interval: '1m' });
    builder.add(trade({ tsEvent: T0 + MINUTE }));
    expect(builder.add(trade({ tsEvent: T0 + 5_000 }))).toStrictEqual([]);
    expect(builder.lateTrades).toBe(1);
  });

  it('sums volumes exactly at the venue precision', () => {
    const builder = new CandleBuilder({ interval: '1m' });
    for (const qty of [0.1, 0.2, 0.00000001, 7.50148]) builder.add(trade({ tsEvent: T0, qty }));
    const [bar] = builder.add(trade({ tsEvent: T0 + MINUTE }));
    expect(bar?.volume, '0.1 + 0.2 + 1e-8 + 7.50148 is exact').toBe(7.80148001);
  });

  it('emits bars that satisfy the candle schema', () => {
    const builder = new CandleBuilder({ interval: '5m' });
    builder.add(trade({ tsEvent: T0 + 1 }));
    const closed = builder.add(trade({ tsEvent: T0 + 20 * MINUTE }));
    expect(closed).toHaveLength(4);
    for (const bar of closed) expect(CandleSchema.safeParse(bar).success).toBe(true);
  });
});

testDefinitionContract(buildCandlesOperator, {
  params: { interval: '1m' },
  input: () => [a, b, c, d, e],
});
