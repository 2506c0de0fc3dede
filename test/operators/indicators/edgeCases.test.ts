/**
 * Where the indicators decide something TA-Lib or trading-signals leave odd: empty ranges,
 * flat windows, and how %B and bandwidth derive from the bands.
 */
import { describe, expect, it } from 'vitest';
import { adx } from '../../../src/operators/indicators/adx.js';
import { bollinger } from '../../../src/operators/indicators/bollinger.js';
import { rsi } from '../../../src/operators/indicators/rsi.js';
import { stochastic } from '../../../src/operators/indicators/stochastic.js';
import { candle, candles, MINUTE, T0 } from '../../support/builders.js';
import { hasSharedData } from '../../support/data.js';
import { outputOf, relativeError, series } from './compute.js';
import { candlesOf, column, readCsv, TALIB_CSV } from './referenceData.js';

/** Bars whose open, high, low and close are all `price`. */
function flat(count: number, price = 100) {
  return Array.from({ length: count }, (_, index) =>
    candle({ openTime: T0 + index * MINUTE, closeTime: T0 + (index + 1) * MINUTE - 1, open: price, high: price, low: price, close: price }),
  );
}

describe('edge cases', () => {
  it('does give RSI 50 on a window without any price change (TA-Lib says 0, trading-signals 100)', () => {
    expect(outputOf(series(rsi(3), flat(6)), 'rsi3')).toStrictEqual([null, null, null, 50, 50, 50]);
  });

  it('does give RSI 100 with gains only and 0 with losses only', () => {
    expect(outputOf(series(rsi(2), candles([1, 2, 3, 4])), 'rsi2').at(-1)).toBe(100);
    expect(outputOf(series(rsi(2), candles([4, 3, 2, 1])), 'rsi2').at(-1)).toBe(0);
  });

  it('does give DI 0 and hold ADX when there is no range at all', () => {
    const rows = series(adx(2), flat(6));
    // Bars 2..: TR sums are 0, so both DI are 0; DX is undefined, adds nothing: ADX = 0 / 2 at bar 3.
    expect(rows.map((row) => row['adx.plusDi'])).toStrictEqual([null, null, 0, 0, 0, 0]);
    expect(rows.map((row) => row.adx)).toStrictEqual([null, null, null, 0, 0, 0]);
  });

  it('does give stochastic %K 0 on a flat window, as TA-Lib does', () => {
    const rows = series(stochastic({ kPeriod: 2, kSlowingPeriod: 1, dPeriod: 1 }), flat(3));
    expect(rows.map((row) => row['stoch.k'])).toStrictEqual([null, 0, 0]);
  });

  it('does put the close mid-band (%B 0.5) and give bandwidth 0 when the bands have no width', () => {
    const rows = series(bollinger({ period: 2 }), flat(3));
    expect(rows[2]).toStrictEqual({ 'bb.upper': 100, 'bb.middle': 100, 'bb.lower': 100, 'bb.percentB': 0.5, 'bb.bandwidth': 0 });
  });

  it.skipIf(!hasSharedData(TALIB_CSV))('does derive %B and bandwidth from the bands TA-Lib computes', () => {
    const table = readCsv(TALIB_CSV);
    const rows = series(bollinger(), candlesOf(table));
    const [upper, middle, lower, close] = ['bb_upper_20_2', 'bb_middle_20_2', 'bb_lower_20_2', 'close'].map((name) => column(table, name));
    let worst = 0;
    rows.forEach((row, index) => {
      const u = upper?.[index] ?? null;
      const m = middle?.[index] ?? null;
      const l = lower?.[index] ?? null;
      const x = close?.[index] ?? null;
      if (u === null || m === null || l === null || x === null) return;
      // %B is of order 1 and crosses 0, so its error is measured against max(|%B|, 1).
      const percentB = (x - l) / (u - l);
      worst = Math.max(
        worst,
        Math.abs((row['bb.percentB'] ?? Number.NaN) - percentB) / Math.max(Math.abs(percentB), 1),
        relativeError(row['bb.bandwidth'] ?? Number.NaN, (u - l) / m),
      );
    });
    expect(worst, '%B = (close - lower) / (upper - lower), bandwidth = (upper - lower) / middle, within 1e-9').toBeLessThanOrEqual(1e-9);
  });
});
