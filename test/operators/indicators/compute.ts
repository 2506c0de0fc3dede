/**
 * Runs indicators over arrays of bars, for the tests: the values written after each bar.
 */
import type { Candle } from '../../../src/model/index.js';
import type { CandleIndicator } from '../../../src/operators/indicators/indicator.js';
import { createIndicator, indicatorSpec, type IndicatorSpecInput } from '../../../src/operators/indicators/registry.js';

export type Row = Readonly<Record<string, number | null>>;

export function snapshot(indicator: CandleIndicator): Row {
  const values: Record<string, number | null> = {};
  indicator.write(values);
  return values;
}

/** The values after each bar when every bar is added once. */
export function series(spec: IndicatorSpecInput, bars: readonly Candle[]): Row[] {
  const indicator = createIndicator(indicatorSpec.parse(spec));
  return bars.map((bar) => {
    indicator.update(bar, false);
    return snapshot(indicator);
  });
}

/** One output of a series. */
export function outputOf(rows: readonly Row[], name: string): (number | null)[] {
  return rows.map((row) => {
    const value = row[name];
    if (value === undefined) throw new Error(`No output "${name}" in ${Object.keys(row).join(', ')}`);
    return value;
  });
}

/** |actual - expected| / |expected| (the absolute error when expected is 0). */
export function relativeError(actual: number, expected: number): number {
  return expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
}
