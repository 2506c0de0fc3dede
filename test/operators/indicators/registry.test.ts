import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Candle } from '../../../src/model/index.js';
import { adx } from '../../../src/operators/indicators/adx.js';
import { atr } from '../../../src/operators/indicators/atr.js';
import { bollinger } from '../../../src/operators/indicators/bollinger.js';
import { ema } from '../../../src/operators/indicators/ema.js';
import { fibonacci } from '../../../src/operators/indicators/fibonacci.js';
import { ichimoku } from '../../../src/operators/indicators/ichimoku.js';
import { macd } from '../../../src/operators/indicators/macd.js';
import {
  builtinIndicators,
  createIndicator,
  indicatorOutputs,
  indicatorSpec,
  indicatorWarmup,
  type IndicatorSpecInput,
} from '../../../src/operators/indicators/registry.js';
import { rsi } from '../../../src/operators/indicators/rsi.js';
import { sma } from '../../../src/operators/indicators/sma.js';
import { stochastic } from '../../../src/operators/indicators/stochastic.js';
import { volumeProfile } from '../../../src/operators/indicators/volumeProfile.js';
import { vwap } from '../../../src/operators/indicators/vwap.js';
import { hasSharedData } from '../../support/data.js';
import { barShape, candleSeries, startPrice, shapeBar } from './arbitraries.js';
import { series, snapshot, type Row } from './compute.js';
import { candlesOf, readCsv, TALIB_CSV } from './referenceData.js';

/** Every builtin with its default params. */
const defaults: readonly IndicatorSpecInput[] = builtinIndicators.map((definition) => ({ use: definition.kind }) as IndicatorSpecInput);

/** Every builtin with short periods, so random series of a few dozen bars get past warm-up. */
const short: readonly IndicatorSpecInput[] = [
  adx(3),
  atr(3),
  bollinger({ period: 3 }),
  ema(3),
  fibonacci({ left: 1, right: 1 }),
  ichimoku({ conversion: 2, base: 3, spanB: 4, displacement: 2 }),
  macd({ fast: 2, slow: 4, signal: 2 }),
  rsi(3),
  sma(3),
  stochastic({ kPeriod: 3, kSlowingPeriod: 2, dPeriod: 2 }),
  volumeProfile({ period: 3, bins: 5 }),
  vwap(),
  vwap({ mode: 'rolling', period: 3 }),
];

describe('builtinIndicators', () => {
  it('does list every indicator once, alphabetically, each in the spec union', () => {
    const kinds = builtinIndicators.map((definition) => definition.kind);
    expect(kinds, 'alphabetical').toStrictEqual([...kinds].sort());
    expect(new Set(kinds).size, 'no kind twice').toBe(kinds.length);
    expect(kinds).toStrictEqual(['adx', 'atr', 'bollinger', 'ema', 'fibonacci', 'ichimoku', 'macd', 'rsi', 'sma', 'stochastic', 'volume-profile', 'vwap']);
    for (const kind of kinds) expect(indicatorSpec.safeParse({ use: kind }).success, `${kind} parses with its defaults`).toBe(true);
    expect(short.map((spec) => spec.use), 'the short set covers every indicator').toStrictEqual(expect.arrayContaining(kinds));
  });

  it('does reject an unknown indicator with the list of valid ones', () => {
    const result = indicatorSpec.safeParse({ use: 'rsii', period: 14 });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe(
      'Unknown indicator "rsii"; available: adx, atr, bollinger, ema, fibonacci, ichimoku, macd, rsi, sma, stochastic, volume-profile, vwap',
    );
    expect(indicatorSpec.safeParse({ period: 14 }).error?.issues[0]?.message, 'a missing use says so').toMatch(/^Indicator needs "use"; available: adx, /);
  });

  it('does reject unknown keys and bad params of a known indicator, with their path', () => {
    const result = indicatorSpec.safeParse({ use: 'sma', period: 0, perod: 3 });
    expect(result.error?.issues.map((issue) => [issue.code, issue.path.join('.')])).toStrictEqual([
      ['too_small', 'period'],
      ['unrecognized_keys', ''],
    ]);
    expect(indicatorSpec.safeParse(macd({ fast: 26, slow: 12 })).error?.issues[0]?.message).toBe('MACD slow period "12" must be longer than the fast period "26"');
    expect(indicatorSpec.safeParse(sma(20, { name: 'a.b' })).success, 'a name may not hold the dot that separates outputs').toBe(false);
  });

  it('does give the feature names other nodes rely on', () => {
    const names = defaults.flatMap((spec) => indicatorOutputs(indicatorSpec.parse(spec)));
    expect(names).toStrictEqual([
      'adx', 'adx.plusDi', 'adx.minusDi',
      'atr14',
      'bb.upper', 'bb.middle', 'bb.lower', 'bb.percentB', 'bb.bandwidth',
      'ema20',
      'fib.swingHigh', 'fib.swingLow', 'fib.trend', 'fib.0.236', 'fib.0.382', 'fib.0.5', 'fib.0.618', 'fib.0.786',
      'ichimoku.conversion', 'ichimoku.base', 'ichimoku.spanA', 'ichimoku.spanB',
      'macd', 'macd.signal', 'macd.histogram',
      'rsi14',
      'sma20',
      'stoch.k', 'stoch.d',
      'vp.poc', 'vp.vah', 'vp.val',
      'vwap',
    ]);
    expect(indicatorOutputs(indicatorSpec.parse(sma(50))), 'the period is part of the name').toStrictEqual(['sma50']);
    expect(indicatorOutputs(indicatorSpec.parse(vwap({ mode: 'rolling', period: 50 })))).toStrictEqual(['vwap50']);
  });

  it('does rename a single output, or the prefix before the dot of several, with `name`', () => {
    expect(indicatorOutputs(indicatorSpec.parse(ema(50, { name: 'slowTrend' })))).toStrictEqual(['slowTrend']);
    expect(indicatorOutputs(indicatorSpec.parse(macd({ name: 'macdFast', fast: 5, slow: 13 })))).toStrictEqual(['macdFast', 'macdFast.signal', 'macdFast.histogram']);
    expect(indicatorOutputs(indicatorSpec.parse(adx(7, { name: 'adx7' })))).toStrictEqual(['adx7', 'adx7.plusDi', 'adx7.minusDi']);
    expect(indicatorOutputs(indicatorSpec.parse(stochastic({ name: 'fastStoch' })))).toStrictEqual(['fastStoch.k', 'fastStoch.d']);
  });

  it('does write exactly its declared outputs, in order, on every bar', () => {
    const bars = candleSeries(30);
    fc.assert(
      fc.property(bars, (series0) => {
        for (const spec of short) {
          const indicator = createIndicator(indicatorSpec.parse(spec));
          for (const bar of series0) {
            indicator.update(bar, false);
            expect(Object.keys(snapshot(indicator)), spec.use).toStrictEqual(indicatorOutputs(indicatorSpec.parse(spec)));
          }
        }
      }),
      { numRuns: 20 },
    );
  });

  it('does never emit a non-finite value on valid candles, however flat, tiny or volume-less (property)', () => {
    fc.assert(
      fc.property(candleSeries(60), (bars) => {
        for (const spec of [...short, ...defaults]) {
          for (const row of series(spec, bars)) {
            for (const [name, value] of Object.entries(row)) {
              if (value !== null) expect(Number.isFinite(value), `${name} = ${value}`).toBe(true);
            }
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('does end a bar updated with replace in the state that adding its final version alone gives (property)', () => {
    // Each bar: up to 3 forming versions (random bars with the same open time), then the final one.
    const plan = fc.tuple(startPrice, fc.array(fc.tuple(barShape, fc.array(barShape, { maxLength: 3 })), { minLength: 1, maxLength: 40 }));
    fc.assert(
      fc.property(plan, ([start, steps]) => {
        const finals: Candle[] = [];
        const updates: (readonly Candle[])[] = [];
        let open = start;
        steps.forEach(([final, forming], index) => {
          const bar = shapeBar(index, open, final);
          finals.push(bar);
          updates.push([...forming.map((shape) => ({ ...shapeBar(index, open, shape), closed: false })), bar]);
          open = bar.close;
        });
        for (const spec of short) {
          const parsed = indicatorSpec.parse(spec);
          const replaced = createIndicator(parsed);
          const added = createIndicator(parsed);
          updates.forEach((versions, index) => {
            versions.forEach((version, nth) => {
              replaced.update(version, nth > 0);
            });
            added.update(finals[index]!, false);
            expect(snapshot(replaced), `${spec.use} after bar ${index}`).toStrictEqual(snapshot(added));
          });
        }
      }),
      { numRuns: 100 },
    );
  });

  it('does treat a replace before any bar as an add', () => {
    const bars = candlesOfCloses([100, 103, 101, 104, 99, 102, 105, 98, 100, 101, 103, 104, 102]);
    for (const spec of short) {
      const first = createIndicator(indicatorSpec.parse(spec));
      const second = createIndicator(indicatorSpec.parse(spec));
      bars.forEach((bar, index) => {
        first.update(bar, index === 0);
        second.update(bar, false);
      });
      expect(snapshot(first), spec.use).toStrictEqual(snapshot(second));
    }
  });

  const ok = hasSharedData(TALIB_CSV);
  it.skipIf(!ok)('does declare as warm-up the bars before every output is set (BTCUSDT 1h)', () => {
    const bars = candlesOf(readCsv(TALIB_CSV));
    for (const spec of defaults) {
      const parsed = indicatorSpec.parse(spec);
      const firstComplete = series(spec, bars).findIndex((row: Row) => Object.values(row).every((value) => value !== null));
      if (parsed.use === 'fibonacci') {
        // Data dependent: the declared warm-up is the earliest a swing high and low can both be confirmed.
        expect(firstComplete, 'fibonacci').toBeGreaterThanOrEqual(indicatorWarmup(parsed));
      } else {
        expect(firstComplete, parsed.use).toBe(indicatorWarmup(parsed));
      }
    }
  });
});

function candlesOfCloses(closes: readonly number[]): Candle[] {
  return closes.map((close, index) => shapeBar(index, closes[index - 1] ?? close, { move: close / (closes[index - 1] ?? close) - 1, up: 0.01, down: 0.02, volume: index }));
}
