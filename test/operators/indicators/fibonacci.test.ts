import { describe, expect, it } from 'vitest';
import type { Candle } from '../../../src/model/index.js';
import { fibonacci, fibonacciIndicator } from '../../../src/operators/indicators/fibonacci.js';
import { candle, MINUTE, T0 } from '../../support/builders.js';
import { series } from './compute.js';

/** Bars from [high, low] pairs; each closes at or above its open unless `down` is given. */
function bars(ranges: readonly (readonly [high: number, low: number, down?: 'down'])[]): Candle[] {
  return ranges.map(([high, low, down], index) =>
    candle({
      openTime: T0 + index * MINUTE,
      closeTime: T0 + (index + 1) * MINUTE - 1,
      high,
      low,
      open: down === undefined ? low : high,
      close: down === undefined ? high : low,
    }),
  );
}

const NULLS = { 'fib.swingHigh': null, 'fib.swingLow': null, 'fib.trend': null, 'fib.0.236': null, 'fib.0.382': null, 'fib.0.5': null, 'fib.0.618': null, 'fib.0.786': null };

describe('fibonacci', () => {
  // left = right = 2. The table, derived by hand:
  //   bar  high low
  //    0    10   8
  //    1    11   9
  //    2    14  12   swing high: above 10, 11 before, at or above 13, 12 after -> confirmed at bar 4
  //    3    13  11
  //    4    12  10   not a swing low: bar 5's low 7 is below it
  //    5    11   7   swing low: below 11, 10 before, at or below 8, 9 after -> confirmed at bar 7
  //    6    12   8
  //    7    13   9
  //    8    14  10   not a swing high: bar 9's high 15 is above it
  //    9    15  11   not a swing high: bar 10's high 16 is above it
  //   10    16  12   swing high: above 14, 15 before, at or above 15, 14 after -> confirmed at bar 12
  //   11    15  13
  //   12    14  12
  const table = bars([[10, 8], [11, 9], [14, 12], [13, 11], [12, 10], [11, 7], [12, 8], [13, 9], [14, 10], [15, 11], [16, 12], [15, 13], [14, 12]]);
  const rows = series(fibonacci({ left: 2, right: 2 }), table);

  it('does emit nothing before a swing is confirmed `right` bars later', () => {
    for (let index = 0; index < 4; index++) expect(rows[index], `bar ${index}`).toStrictEqual(NULLS);
  });

  it('does report the swing high alone until a swing low is confirmed', () => {
    for (let index = 4; index < 7; index++) {
      expect(rows[index], `bar ${index}`).toStrictEqual({ ...NULLS, 'fib.swingHigh': 14 });
    }
  });

  it('does measure a down leg (low after high) up from the low', () => {
    // H = 14, L = 7: level r = 7 + r * 7.
    for (let index = 7; index < 12; index++) {
      const row = rows[index];
      expect(row?.['fib.swingHigh'], `bar ${index}`).toBe(14);
      expect(row?.['fib.swingLow'], `bar ${index}`).toBe(7);
      expect(row?.['fib.trend'], `bar ${index}: the last swing is a low`).toBe(-1);
      expect(row?.['fib.0.236']).toBeCloseTo(8.652, 12);
      expect(row?.['fib.0.382']).toBeCloseTo(9.674, 12);
      expect(row?.['fib.0.5']).toBeCloseTo(10.5, 12);
      expect(row?.['fib.0.618']).toBeCloseTo(11.326, 12);
      expect(row?.['fib.0.786']).toBeCloseTo(12.502, 12);
    }
  });

  it('does measure an up leg (high after low) down from the high', () => {
    // H = 16, L = 7: level r = 16 - r * 9.
    const row = rows[12];
    expect(row?.['fib.swingHigh']).toBe(16);
    expect(row?.['fib.swingLow']).toBe(7);
    expect(row?.['fib.trend'], 'the last swing is a high').toBe(1);
    expect(row?.['fib.0.236']).toBeCloseTo(13.876, 12);
    expect(row?.['fib.0.382']).toBeCloseTo(12.562, 12);
    expect(row?.['fib.0.5']).toBeCloseTo(11.5, 12);
    expect(row?.['fib.0.618']).toBeCloseTo(10.438, 12);
    expect(row?.['fib.0.786']).toBeCloseTo(8.926, 12);
  });

  it('does order the swings of an outside bar by its body', () => {
    // left = right = 1: bar 1 is both a swing high (12) and a swing low (7).
    const up = series(fibonacci({ left: 1, right: 1 }), bars([[10, 9], [12, 7], [11, 8]]));
    expect(up[2]?.['fib.trend'], 'a bar that closed up made its low first: the high is the last swing').toBe(1);
    const down = series(fibonacci({ left: 1, right: 1 }), bars([[10, 9], [12, 7, 'down'], [11, 8]]));
    expect(down[2]?.['fib.trend'], 'a bar that closed down made its high first: the low is the last swing').toBe(-1);
  });

  it('does confirm at once with right = 0, from the bars before only', () => {
    const rows0 = series(fibonacci({ left: 1, right: 0, levels: [0.5] }), bars([[10, 9], [12, 8], [11, 7]]));
    // Bar 1: high 12 above 10 and low 8 below 9 (an up bar: low first); bar 2: low 7 below 8.
    expect(rows0[2]).toStrictEqual({ 'fib.swingHigh': 12, 'fib.swingLow': 7, 'fib.trend': -1, 'fib.0.5': 9.5 });
  });

  it('does name its outputs after the levels and the name prefix', () => {
    const params = fibonacciIndicator.params.parse({ levels: [0.382, 0.618], name: 'daily' });
    expect(fibonacciIndicator.outputs(params)).toStrictEqual(['daily.swingHigh', 'daily.swingLow', 'daily.trend', 'daily.0.382', 'daily.0.618']);
    expect(fibonacciIndicator.params.safeParse({ levels: [0.5, 0.5] }).success, 'duplicate levels would write one name twice').toBe(false);
  });
});
