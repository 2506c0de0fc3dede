import { pino } from 'pino';
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../../src/context.js';
import type { PortInfo } from '../../../src/definitions.js';
import { InvariantError } from '../../../src/errors.js';
import { Metrics, METRIC } from '../../../src/metrics.js';
import type { Candle, Flow } from '../../../src/model/index.js';
import { CandleSchema } from '../../../src/model/index.js';
import { CandleResampler } from '../../../src/operators/candles/candleResampler.js';
import { resampleCandles, resampleCandlesOperator, resampleCandlesParams } from '../../../src/operators/candles/resampleCandles.js';
import { binanceKlinesCsv } from '../../../src/sources/replay/klinesCsv.js';
import { candle, gap, HOUR, MINUTE, status, T0, trade } from '../../support/builders.js';
import { testDefinitionContract } from '../../support/contracts.js';
import { hasSharedData, sharedData } from '../../support/data.js';
import { marbles } from '../../support/marbles.js';

const at = (minute: number): number => T0 + minute * MINUTE;

// 1m input bars; T0 (2025-01-01 00:00 UTC) is on a 3m boundary, so a, b, c fill bucket 00:00 and d, e, f bucket 00:03.
const a = candle({ openTime: at(0), open: 100, high: 102, low: 99, close: 101, volume: 0.1, quoteVolume: 10, trades: 2, takerBuyVolume: 0.05 });
const b = candle({ openTime: at(1), open: 101, high: 105, low: 100, close: 104, volume: 0.2, quoteVolume: 20, trades: 3, takerBuyVolume: 0.1 });
const c = candle({ openTime: at(2), open: 104, high: 104, low: 97, close: 98, volume: 0.00000001, quoteVolume: 5, trades: 1, takerBuyVolume: 0 });
const d = candle({ openTime: at(3), open: 98, high: 99, low: 96, close: 97, volume: 1, quoteVolume: 1, trades: 1, takerBuyVolume: 1 });
const e = candle({ openTime: at(4), open: 97, high: 100, low: 97, close: 99, volume: 2, quoteVolume: 2, trades: 1, takerBuyVolume: 1 });
const f = candle({ openTime: at(5), open: 99, high: 101, low: 95, close: 96, volume: 3, quoteVolume: 3, trades: 1, takerBuyVolume: 0 });
/** A forming 1m bar (00:01, half way through) as a venue stream sends it. */
const p = candle({ openTime: at(1), tsEvent: at(1) + 30_000, tsRecv: at(1) + 30_000, open: 101, high: 103, low: 100.5, close: 102, volume: 0.15, quoteVolume: 15, trades: 1, takerBuyVolume: 0.07, closed: false });

/** A 3m bar; every expected value below is worked out by hand from the inputs above. */
function bar3(openMinute: number, closedBy: Candle, values: Partial<Candle>): Candle {
  return candle({ interval: '3m', openTime: at(openMinute), closeTime: at(openMinute + 3) - 1, tsEvent: closedBy.tsEvent, tsRecv: closedBy.tsRecv, ...values });
}
// a, b, c: first open, max high, min low, last close; 0.1 + 0.2 + 0.00000001 is exact at 8 decimals.
const bar0 = bar3(0, c, { open: 100, high: 105, low: 97, close: 98, volume: 0.30000001, quoteVolume: 35, trades: 6, takerBuyVolume: 0.15 });
const bar1 = bar3(3, f, { open: 98, high: 101, low: 95, close: 96, volume: 6, quoteVolume: 6, trades: 3, takerBuyVolume: 2 });
// a, b only, closed when e (bucket 00:03) arrives; then e, f, where f is the last constituent.
const partial0 = bar3(0, e, { open: 100, high: 105, low: 99, close: 104, volume: 0.3, quoteVolume: 30, trades: 5, takerBuyVolume: 0.15 });
const partial1 = bar3(3, f, { open: 97, high: 101, low: 95, close: 96, volume: 5, quoteVolume: 5, trades: 2, takerBuyVolume: 1 });

describe('resampleCandles', () => {
  it(
    'emits a bar as soon as its last constituent closes',
    marbles((m) => {
      const candles$ = m.cold('  a-b-c-d-e-f-|', { a, b, c, d, e, f });
      const expected = '        ----x-----y-|';
      m.expect(candles$.pipe(resampleCandles('3m'))).toBeObservable(expected, { x: bar0, y: bar1 });
    }),
  );

  it(
    'emits nothing while the first bucket fills (warm-up) and never emits an unfinished bucket on completion',
    marbles((m) => {
      const candles$ = m.cold('  a-b-|', { a, b });
      m.expect(candles$.pipe(resampleCandles('3m'))).toBeObservable('----|');
    }),
  );

  it(
    'closes a bucket with what it had when a candle of a later bucket arrives',
    marbles((m) => {
      const candles$ = m.cold('  a-b-e-f-|', { a, b, e, f });
      const expected = '        ----x-y-|';
      m.expect(candles$.pipe(resampleCandles('3m'))).toBeObservable(expected, { x: partial0, y: partial1 });
    }),
  );

  it(
    'passes control events through in order',
    marbles((m) => {
      const g = gap({ stream: 'candle:1m', from: at(1), to: at(1) });
      const s = status();
      const candles$ = m.cold('  a-g-c-s-d-|', { a, g, c, s, d });
      const expected = '        --g-x-s---|';
      const x = bar3(0, c, { open: 100, high: 104, low: 97, close: 98, volume: 0.10000001, quoteVolume: 15, trades: 3, takerBuyVolume: 0.05 });
      m.expect(candles$.pipe(resampleCandles('3m'))).toBeObservable(expected, { g, s, x });
    }),
  );

  it(
    'ignores forming input by default',
    marbles((m) => {
      const candles$ = m.cold('  a-p-b-c-|', { a, p, b, c });
      m.expect(candles$.pipe(resampleCandles('3m'))).toBeObservable('------x-|', { x: bar0 });
    }),
  );

  it(
    'emits provisional bars from forming input and after each closed constituent when asked',
    marbles((m) => {
      const candles$ = m.cold('  a-p-b-c-|', { a, p, b, c });
      const expected = '        w-x-y-z-|';
      const w = bar3(0, a, { open: 100, high: 102, low: 99, close: 101, volume: 0.1, quoteVolume: 10, trades: 2, takerBuyVolume: 0.05, closed: false });
      // a plus the forming 00:01 bar, which is counted in but not kept.
      const x = bar3(0, p, { open: 100, high: 103, low: 99, close: 102, volume: 0.25, quoteVolume: 25, trades: 3, takerBuyVolume: 0.12, closed: false });
      const y = bar3(0, b, { open: 100, high: 105, low: 99, close: 104, volume: 0.3, quoteVolume: 30, trades: 5, takerBuyVolume: 0.15, closed: false });
      m.expect(candles$.pipe(resampleCandles('3m', { forming: true }))).toBeObservable(expected, { w, x, y, z: bar0 });
    }),
  );

  it(
    'propagates an upstream error',
    marbles((m) => {
      const candles$ = m.cold('  a-b-c-#', { a, b, c });
      m.expect(candles$.pipe(resampleCandles('3m'))).toBeObservable('----x-#', { x: bar0 });
    }),
  );

  it(
    'completes on empty and stays silent on never',
    marbles((m) => {
      m.expect(m.cold('|').pipe(resampleCandles('3m'))).toBeObservable('|');
      m.expect(m.cold('-').pipe(resampleCandles('3m'))).toBeObservable('-');
    }),
  );

  it(
    'unsubscribes from its source when the subscriber leaves early',
    marbles((m) => {
      const candles$ = m.hot('  a-b-c-d-|', { a, b, c, d });
      const unsub = '          ---!';
      m.expect(candles$.pipe(resampleCandles('3m')), unsub).toBeObservable('----');
      m.expect(candles$).toHaveSubscriptions('^--!');
    }),
  );

  it(
    'keeps state per subscription: two concurrent subscriptions give the same bars',
    marbles((m) => {
      const candles$ = m.hot('  a-b-c-d-e-f-|', { a, b, c, d, e, f });
      const operator = resampleCandles('3m');
      const expected = '        ----x-----y-|';
      m.expect(candles$.pipe(operator)).toBeObservable(expected, { x: bar0, y: bar1 });
      m.expect(candles$.pipe(operator)).toBeObservable(expected, { x: bar0, y: bar1 });
    }),
  );

  it(
    'errors with a clear message on a record of the wrong type',
    marbles((m) => {
      const candles$ = m.cold('  a-t-|', { a, t: trade() as never });
      m.expect(candles$.pipe(resampleCandles('3m'))).toBeObservable(
        '--#',
        undefined,
        new InvariantError('resampleCandles received a "trade" record; it takes "candle" records (filter the stream first)'),
      );
    }),
  );

  it(
    'fails on the first candle whose interval does not divide the target, naming both',
    marbles((m) => {
      const candles$ = m.cold('  a-b-|', { a, b });
      m.expect(candles$.pipe(resampleCandles('150s'))).toBeObservable(
        '#',
        undefined,
        new InvariantError('Cannot resample "1m" candles to "150s": the target interval must be a whole multiple of the input interval and larger'),
      );
      // The target must also be larger than the input.
      m.expect(candles$.pipe(resampleCandles('1m'))).toBeObservable(
        '#',
        undefined,
        new InvariantError('Cannot resample "1m" candles to "1m": the target interval must be a whole multiple of the input interval and larger'),
      );
    }),
  );

  it('rejects an invalid target interval where the pipeline is built', () => {
    expect(() => resampleCandles('7x'), 'a RangeError when the operator is built').toThrow('Interval "7x" is not valid');
  });
});

describe('CandleResampler', () => {
  it('keeps one series per venue and symbol', () => {
    const resampler = new CandleResampler({ interval: '3m' });
    const eth = (bar: Candle): Candle => candle({ ...bar, symbol: 'ETH-USDT' });
    const out = [a, eth(a), b, eth(b), c, eth(c)].flatMap((bar) => resampler.add(bar));
    expect(out, 'each symbol completes its own bucket').toStrictEqual([bar0, candle({ ...bar0, symbol: 'ETH-USDT' })]);
  });

  it('leaves out sums that some constituent lacks', () => {
    const resampler = new CandleResampler({ interval: '3m' });
    const bare = candle({ openTime: at(1), open: 101, high: 105, low: 100, close: 104, volume: 0.2 });
    const [bar] = [a, bare, c].flatMap((input) => resampler.add(input));
    expect(bar, 'volume is always summed; quote volume, trades and taker volume only when all have them').toStrictEqual(
      bar3(0, c, { open: 100, high: 105, low: 97, close: 98, volume: 0.30000001 }),
    );
  });

  it('ignores and counts a candle of a closed bucket, a repeated constituent and a stale forming update', () => {
    const resampler = new CandleResampler({ interval: '3m', forming: true });
    resampler.add(a);
    resampler.add(b);
    expect(resampler.add(b), 'a repeated constituent').toStrictEqual([]);
    expect(resampler.add(p), 'a forming 00:01 after the closed 00:01').toStrictEqual([]);
    expect(resampler.add(c), 'the bucket is unchanged by what was ignored').toStrictEqual([bar0]);
    expect(resampler.add(a), 'a candle of the closed bucket').toStrictEqual([]);
    expect(resampler.lateCandles, 'b again, p after b, a after its bucket closed').toBe(3);
  });

  it('closes the forming bucket when a forming candle of a later bucket arrives', () => {
    const resampler = new CandleResampler({ interval: '3m', forming: true });
    const q = candle({ ...d, tsEvent: at(3) + 10_000, tsRecv: at(3) + 10_000, closed: false });
    [a, b].forEach((bar) => resampler.add(bar));
    expect(resampler.add(q), 'the 00:00 bucket closes with a and b, then q alone forms 00:03').toStrictEqual([
      bar3(0, q, { open: 100, high: 105, low: 99, close: 104, volume: 0.3, quoteVolume: 30, trades: 5, takerBuyVolume: 0.15 }),
      bar3(3, q, { open: 98, high: 99, low: 96, close: 97, volume: 1, quoteVolume: 1, trades: 1, takerBuyVolume: 1, closed: false }),
    ]);
  });

  it('fails on a candle that is not on its interval boundary, or on a series that changes interval', () => {
    const resampler = new CandleResampler({ interval: '1h' });
    expect(() => resampler.add(candle({ openTime: T0 + 30_000 })), 'a 1m candle at 00:00:30 would straddle buckets').toThrow(
      new InvariantError('resampleCandles received a "1m" candle opening at "2025-01-01T00:00:30.000Z", which is not on a "1m" boundary'),
    );
    resampler.add(a);
    expect(() => resampler.add(candle({ openTime: at(5), closeTime: at(10) - 1, interval: '5m' })), 'last-constituent detection needs one input interval').toThrow(
      'resampleCandles received a "5m" candle for binance BTC-USDT after "1m" candles: one series has one interval',
    );
  });

  it('emits bars that satisfy the candle schema', () => {
    const resampler = new CandleResampler({ interval: '3m', forming: true });
    const out = [a, p, b, c, d, e, f].flatMap((bar) => resampler.add(bar));
    expect(out, '3 provisional + 1 closed for 00:00, 2 provisional + 1 closed for 00:03').toHaveLength(7);
    for (const bar of out) expect(CandleSchema.safeParse(bar).success, `${bar.openTime} ${String(bar.closed)}`).toBe(true);
  });
});

describe('resampleCandlesOperator', () => {
  it('reports a target that is not a whole multiple of the input interval statically, naming both', () => {
    const check = (params: { interval: string; forming: boolean; volumeDecimals: number }, inputs: readonly PortInfo[]): unknown =>
      resampleCandlesOperator.check?.(params, inputs);
    const params = resampleCandlesParams.parse({ interval: '7m' });
    expect(check(params, [{ type: 'candle', interval: '5m' }]), '7m is not a multiple of 5m').toStrictEqual([
      { path: 'params.interval', message: 'Cannot resample "5m" candles to "7m": the target interval must be a whole multiple of the input interval and larger' },
    ]);
    expect(check(resampleCandlesParams.parse({ interval: '1h' }), [{ type: 'candle', interval: '15m' }]), '1h = 4 x 15m').toStrictEqual([]);
    expect(check(params, [{ type: 'candle' }]), 'nothing to say when the input interval is unknown').toStrictEqual([]);
    expect(resampleCandlesOperator.describe?.(params, []), 'the output carries the target interval').toStrictEqual({ interval: '7m' });
  });

  it('counts candles it could not use', async () => {
    const ctx = createContext({ logger: pino({ level: 'silent' }), metrics: new Metrics(), node: 'hourly' });
    const operator = resampleCandlesOperator.create(resampleCandlesParams.parse({ interval: '3m' }), ctx);
    const out = await lastValueFrom(from([a, b, b, a, c]).pipe(operator, toArray()));
    expect(out, 'the repeats change nothing').toStrictEqual([bar0]);
    expect(ctx.metrics.counter(METRIC.skipped, '').get({ node: 'hourly', reason: 'late-candle' }), 'the repeated b and a').toBe(2);
  });
});

const ok = hasSharedData(
  'binance-klines/BTCUSDT-1m-2025-01-01_2025-02-04.csv.gz',
  'binance-klines/ETHUSDT-1m-2025-01-01_2025-02-04.csv.gz',
  'binance-klines/BTCUSDT-1h-2022-01-01_2026-04-29.csv.gz',
  'binance-klines/ETHUSDT-1h-2022-01-01_2026-04-29.csv.gz',
);

describe.skipIf(!ok)('resampleCandles on real Binance klines', () => {
  const ctx = createContext({ logger: pino({ level: 'silent' }), metrics: new Metrics(), baseDir: sharedData('binance-klines') });
  const onlyCandles = (records: readonly Flow<Candle>[]): Candle[] => {
    const bars = records.filter((record): record is Candle => record.type === 'candle');
    expect(bars.length, 'no gap in either range').toBe(records.length);
    return bars;
  };
  const ohlcv = (bar: Candle): Partial<Candle> => ({ openTime: bar.openTime, closeTime: bar.closeTime, open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume });

  for (const name of ['BTCUSDT', 'ETHUSDT']) {
    it(`reproduces Binance's own ${name} 1h bars exactly from the 1m klines`, async () => {
      const minutes$ = binanceKlinesCsv({ path: `${name}-1m-2025-01-01_2025-02-04.csv.gz` }, ctx);
      const resampled = onlyCandles(await lastValueFrom(minutes$.pipe(resampleCandles('1h'), toArray())));
      const hours$ = binanceKlinesCsv({ path: `${name}-1h-2022-01-01_2026-04-29.csv.gz`, from: '2025-01-01T03:00:00Z', to: '2025-02-04T20:00:00Z' }, ctx);
      const binance = onlyCandles(await lastValueFrom(hours$.pipe(toArray())));
      // The 1m file holds 50,000 contiguous rows from 2025-01-01 03:00 (data/README.md §1):
      // floor(50,000 / 60) = 833 complete hours, 03:00 on 1 January to 19:00 on 4 February
      // (34 days x 24 + 17 = 833). The last 20 rows (20:00-20:19) are an unfinished hour.
      expect(resampled, 'every complete hour, and not the unfinished one').toHaveLength(833);
      expect(binance, 'the same 833 hours in the 1h file').toHaveLength(833);
      expect(resampled.map(ohlcv), 'open, high, low, close and volume equal to the last digit').toStrictEqual(binance.map(ohlcv));
      expect(
        resampled.every((bar) => bar.closed && bar.tsEvent === bar.openTime + HOUR),
        'each bar is emitted closed when its 59th minute closes',
      ).toBe(true);
    });
  }
});

testDefinitionContract(resampleCandlesOperator, {
  params: { interval: '3m' },
  input: () => [a, b, c, d, e, f],
});
