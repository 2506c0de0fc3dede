import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError, InvariantError } from '../../../src/errors.js';
import { FeaturesSchema, type Candle, type Features, type Flow } from '../../../src/model/index.js';
import { DEFAULT_INDICATORS, features, featuresOperator, featuresParams } from '../../../src/operators/indicators/features.js';
import { fibonacci } from '../../../src/operators/indicators/fibonacci.js';
import { ichimoku } from '../../../src/operators/indicators/ichimoku.js';
import { indicatorOutputs, indicatorSpec, type IndicatorSpecInput } from '../../../src/operators/indicators/registry.js';
import { rsi } from '../../../src/operators/indicators/rsi.js';
import { sma } from '../../../src/operators/indicators/sma.js';
import { volumeProfile } from '../../../src/operators/indicators/volumeProfile.js';
import { vwap } from '../../../src/operators/indicators/vwap.js';
import { candle, candles, features as featuresRecord, gap, status, trade } from '../../support/builders.js';
import { testDefinitionContract } from '../../support/contracts.js';
import { hasSharedData } from '../../support/data.js';
import { marbles } from '../../support/marbles.js';
import { series } from './compute.js';
import { BTC_1H_LONG, candlesOf, ETH_1H_LONG, readCsv } from './referenceData.js';

// Closes 100, 102, 104 (builders: open = previous close, high = max + 1, low = min - 1).
const [a, b, c] = candles([100, 102, 104]) as [Candle, Candle, Candle];
// The same three minutes on another symbol.
const [e1, e2] = candles([10, 20], { symbol: 'ETH-USDT' }) as [Candle, Candle];

/** The features record `features([sma(2)])` emits for `bar`. */
function expected(bar: Candle, sma2: number | null): Features {
  return featuresRecord({ sma2 }, { candle: bar });
}

const A = expected(a, null);
const B = expected(b, 101);
const C = expected(c, 103);

describe('features', () => {
  it(
    'does emit one record per closed candle with the indicator values, null while warming up',
    marbles((m) => {
      const candles$ = m.cold('  a-b-c-|', { a, b, c });
      const expected$ = '        A-B-C-|';
      m.expect(candles$.pipe(features([sma(2)]))).toBeObservable(expected$, { A, B, C });
      m.expect(candles$).toHaveSubscriptions('^-----!');
    }),
  );

  it(
    'does skip forming candles by default',
    marbles((m) => {
      const forming = candle({ ...b, close: 101, closed: false });
      const candles$ = m.cold('  a-f-b-|', { a, f: forming, b });
      m.expect(candles$.pipe(features([sma(2)]))).toBeObservable('A---B-|', { A, B });
    }),
  );

  it(
    'does emit provisional features for forming candles when asked, replacing the bar until its final version',
    marbles((m) => {
      const forming1 = candle({ ...b, close: 101, closed: false });
      const forming2 = candle({ ...b, close: 103, closed: false });
      const candles$ = m.cold('  a-f-g-b-c-|', { a, f: forming1, g: forming2, b, c });
      const expected$ = '        A-F-G-B-C-|';
      m.expect(candles$.pipe(features([sma(2)], { includeForming: true }))).toBeObservable(expected$, {
        A,
        F: expected(forming1, 100.5),
        G: expected(forming2, 101.5),
        // The final bar replaces the forming ones: sma2 = (100 + 102) / 2, as if added alone.
        B,
        C,
      });
    }),
  );

  it(
    'does keep separate indicators per symbol in one stream',
    marbles((m) => {
      const candles$ = m.cold('  a-x-b-y-|', { a, x: e1, b, y: e2 });
      const expected$ = '        A-X-B-Y-|';
      m.expect(candles$.pipe(features([sma(2)]))).toBeObservable(expected$, { A, X: expected(e1, null), B, Y: expected(e2, 15) });
    }),
  );

  it(
    'does pass control events through in order without resetting the indicators',
    marbles((m) => {
      const g = gap({ stream: 'candle:1m' });
      const s = status();
      const candles$ = m.cold('  a-g-s-b-|', { a, g, s, b });
      m.expect(candles$.pipe(features([sma(2)]))).toBeObservable('A-g-s-B-|', { A, g, s, B });
    }),
  );

  it(
    'does propagate an upstream error',
    marbles((m) => {
      const candles$ = m.cold('  a-b-#', { a, b });
      m.expect(candles$.pipe(features([sma(2)]))).toBeObservable('A-B-#', { A, B });
    }),
  );

  it(
    'does complete on empty and stay silent on never',
    marbles((m) => {
      m.expect(m.cold('|').pipe(features([sma(2)]))).toBeObservable('|');
      m.expect(m.cold('-').pipe(features([sma(2)]))).toBeObservable('-');
    }),
  );

  it(
    'does unsubscribe from its source when the subscriber leaves early',
    marbles((m) => {
      const candles$ = m.hot('  a-b-c-|', { a, b, c });
      const unsubscribe = '     --!';
      m.expect(candles$.pipe(features([sma(2)])), unsubscribe).toBeObservable('A-', { A });
      m.expect(candles$).toHaveSubscriptions('^-!');
    }),
  );

  it(
    'does keep state per subscription: two concurrent subscriptions give the same values',
    marbles((m) => {
      const candles$ = m.hot('  a-b-c-|', { a, b, c });
      const operator = features([sma(2)]);
      m.expect(candles$.pipe(operator)).toBeObservable('A-B-C-|', { A, B, C });
      m.expect(candles$.pipe(operator)).toBeObservable('A-B-C-|', { A, B, C });
    }),
  );

  it(
    'does error with a clear message on a record of the wrong type',
    marbles((m) => {
      const candles$ = m.cold('  a-t-|', { a, t: trade() as never });
      m.expect(candles$.pipe(features([sma(2)]))).toBeObservable(
        'A-#',
        { A },
        new InvariantError('features received a "trade" record; it takes "candle" records (filter the stream first)'),
      );
    }),
  );

  it(
    'does treat a broken price, high below low or a bar from the past as a broken invariant',
    marbles((m) => {
      const at = '2025-01-01T00:01:00.000Z';
      const nan = candle({ ...b, close: Number.NaN });
      m.expect(m.cold('a-n-|', { a, n: nan }).pipe(features([sma(2)]))).toBeObservable(
        'A-#',
        { A },
        new InvariantError(`features: binance BTC-USDT 1m candle at ${at} has close "NaN"; prices must be finite and positive`),
      );
      const zero = candle({ ...b, low: 0 });
      m.expect(m.cold('n-|', { n: zero }).pipe(features([sma(2)]))).toBeObservable(
        '#',
        undefined,
        new InvariantError(`features: binance BTC-USDT 1m candle at ${at} has low "0"; prices must be finite and positive`),
      );
      const inverted = candle({ ...b, high: 98, low: 99 });
      m.expect(m.cold('n-|', { n: inverted }).pipe(features([sma(2)]))).toBeObservable(
        '#',
        undefined,
        new InvariantError(`features: binance BTC-USDT 1m candle at ${at} has high "98" below low "99"`),
      );
      m.expect(m.cold('b-a-|', { a, b }).pipe(features([sma(2)]))).toBeObservable(
        'B-#',
        { B: expected(b, null) },
        new InvariantError(
          'features: binance BTC-USDT 1m candle at 2025-01-01T00:00:00.000Z arrived after the bar at 2025-01-01T00:01:00.000Z; candles of a series must come in open-time order',
        ),
      );
    }),
  );

  it('does emit frozen records that satisfy the features schema', async () => {
    const out = await lastValueFrom(from(candles([100, 101, 102, 103])).pipe(features(), toArray()));
    for (const record of out) {
      expect(FeaturesSchema.safeParse(record).success, 'schema-valid').toBe(true);
      expect(Object.isFrozen(record) && Object.isFrozen((record as Features).values), 'emitted records cannot be mutated').toBe(true);
    }
  });

  it('does reject invalid items and clashing names where the pipeline is built', () => {
    expect(() => features([sma(0), { use: 'rsii' } as never])).toThrow(ConfigError);
    try {
      features([sma(0), { use: 'rsii' } as never]);
    } catch (err) {
      expect((err as ConfigError).issues.map((issue) => issue.path)).toStrictEqual(['indicators[0].period', 'indicators[1].use']);
    }
    expect(() => features([rsi(14), sma(20), rsi(14)])).toThrow(
      'Feature "rsi14" is already computed by indicators[0]; give this indicator another name (name: ...) or remove it\n  → at indicators[2]',
    );
  });
});

describe('featuresOperator', () => {
  it('does compute the voters\' bundle by default', () => {
    const params = featuresParams.parse({});
    expect(params.includeForming).toBe(false);
    const names = params.indicators.flatMap(indicatorOutputs);
    for (const name of ['sma20', 'sma50', 'ema20', 'ema50', 'rsi14', 'macd', 'macd.signal', 'macd.histogram', 'bb.upper', 'bb.lower', 'bb.percentB', 'atr14', 'stoch.k', 'stoch.d', 'adx', 'adx.plusDi', 'adx.minusDi', 'vwap']) {
      expect(names, `default features include ${name}`).toContain(name);
    }
    expect(params.indicators).toStrictEqual(DEFAULT_INDICATORS.map((spec) => indicatorSpec.parse(spec)));
  });

  it('does describe its feature names and pass the input interval on', () => {
    const params = featuresParams.parse({ indicators: [sma(20), { use: 'macd', name: 'm' }] });
    expect(featuresOperator.describe?.(params, [{ type: 'candle', interval: '5m' }])).toStrictEqual({
      features: ['sma20', 'm', 'm.signal', 'm.histogram'],
      interval: '5m',
    });
    expect(featuresOperator.describe?.(params, [{ type: 'candle' }])).toStrictEqual({ features: ['sma20', 'm', 'm.signal', 'm.histogram'] });
  });

  it('does report clashing feature names at the indicator that repeats them', () => {
    const params = featuresParams.parse({ indicators: [sma(20), ichimoku(), sma(20), { use: 'ichimoku', conversion: 7 }] });
    expect(featuresOperator.check?.(params, [{ type: 'candle' }])).toStrictEqual([
      { path: 'params.indicators[2]', message: 'Feature "sma20" is already computed by indicators[0]; give this indicator another name (name: ...) or remove it' },
      ...['conversion', 'base', 'spanA', 'spanB'].map((part) => ({
        path: 'params.indicators[3]',
        message: `Feature "ichimoku.${part}" is already computed by indicators[1]; give this indicator another name (name: ...) or remove it`,
      })),
    ]);
    expect(featuresOperator.check?.(featuresParams.parse({}), [{ type: 'candle' }]), 'the default bundle has no clash').toStrictEqual([]);
  });

  it('does reject an empty indicator list and an unknown indicator', () => {
    expect(featuresParams.safeParse({ indicators: [] }).success).toBe(false);
    expect(featuresParams.safeParse({ indicators: [{ use: 'nope' }] }).error?.issues[0]?.path).toStrictEqual(['indicators', 0, 'use']);
  });
});

testDefinitionContract(featuresOperator, {
  params: { indicators: [{ use: 'sma', period: 2 }, { use: 'rsi', period: 2 }] },
  input: () => candles([100, 102, 101, 104]),
});

const ok = hasSharedData(BTC_1H_LONG, ETH_1H_LONG);

describe.skipIf(!ok)('streaming equals batch (BTCUSDT and ETHUSDT 1h, January 2025)', () => {
  const JANUARY = [Date.UTC(2025, 0, 1), Date.UTC(2025, 1, 1)] as const;
  const month = (bars: readonly Candle[]): Candle[] => bars.filter((bar) => bar.openTime >= JANUARY[0] && bar.openTime < JANUARY[1]);
  const btc = ok ? month(candlesOf(readCsv(BTC_1H_LONG))) : [];
  const eth = ok ? month(candlesOf(readCsv(ETH_1H_LONG), 'ETH-USDT')) : [];
  const specs: readonly IndicatorSpecInput[] = [
    ...DEFAULT_INDICATORS,
    ichimoku(),
    fibonacci(),
    volumeProfile(),
    vwap({ mode: 'rolling', period: 24 }),
  ];

  /** Two forming versions of `bar`: partial ranges and volume around its open. */
  function forming(bar: Candle): Candle[] {
    return [1, 2].map((step) => {
      const high = bar.open + ((bar.high - bar.open) * step) / 3;
      const low = bar.open - ((bar.open - bar.low) * step) / 3;
      return { ...bar, high, low, close: (high + low) / 2, volume: (bar.volume * step) / 3, closed: false };
    });
  }

  /** The batch values of every indicator over one symbol's closed bars, bar by bar. */
  function batch(bars: readonly Candle[]): Record<string, number | null>[] {
    const perSpec = specs.map((spec) => series(spec, bars));
    return bars.map((_, index) => Object.assign({}, ...perSpec.map((rows) => rows[index])) as Record<string, number | null>);
  }

  it('does give, bar by bar with forming updates and two symbols interleaved, the values of each symbol computed at once', async () => {
    expect(btc.length, 'a month of hourly bars').toBe(744);
    expect(eth.length).toBe(744);
    const stream: Flow<Candle>[] = [];
    btc.forEach((bar, index) => {
      const other = eth[index]!;
      stream.push(...forming(bar), ...forming(other), bar, other);
      if (index % 100 === 50) stream.push(gap({ stream: 'candle:1h', tsEvent: bar.closeTime }));
    });
    const out = await lastValueFrom(from(stream).pipe(features(specs, { includeForming: true }), toArray()));
    const closed = (symbol: string): Features[] => out.filter((record): record is Features => record.type === 'features' && record.closed && record.symbol === symbol);
    expect(out.filter((record) => record.type === 'features' && !record.closed), 'every forming update gave provisional values').toHaveLength(4 * 744);
    expect(closed('BTC-USDT').map((record) => record.values)).toStrictEqual(batch(btc));
    expect(closed('ETH-USDT').map((record) => record.values)).toStrictEqual(batch(eth));
  });

  it('does give the same closed values when forming candles are skipped', async () => {
    const stream = btc.flatMap((bar) => [...forming(bar), bar]);
    const out = await lastValueFrom(from(stream).pipe(features(specs), toArray()));
    expect(out.map((record) => (record as Features).values)).toStrictEqual(batch(btc));
  });
});
