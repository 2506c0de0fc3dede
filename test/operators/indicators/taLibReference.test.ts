/**
 * Reference: the indicators built on trading-signals reproduce TA-Lib (the C library, run over
 * BTCUSDT 1h January 2025; see ../shared/data/README.md 4a) from TA-Lib's first valid index on,
 * within 1e-9 relative error, and are null before it.
 */
import { describe, expect, it } from 'vitest';
import type { IndicatorSpecInput } from '../../../src/operators/indicators/registry.js';
import { hasSharedData } from '../../support/data.js';
import { outputOf, relativeError, series } from './compute.js';
import { candlesOf, column, readCsv, TALIB_COLUMNS, TALIB_CSV, talibFirstValid } from './referenceData.js';

const cases: readonly { readonly spec: IndicatorSpecInput; readonly outputs: Readonly<Record<string, string>> }[] = [
  { spec: { use: 'sma', period: 20 }, outputs: { sma20: 'sma_20' } },
  { spec: { use: 'ema', period: 20 }, outputs: { ema20: 'ema_20' } },
  { spec: { use: 'ema', period: 50 }, outputs: { ema50: 'ema_50' } },
  { spec: { use: 'rsi', period: 14 }, outputs: { rsi14: 'rsi_14' } },
  { spec: { use: 'macd' }, outputs: { macd: 'macd_12_26_9', 'macd.signal': 'macdsignal_12_26_9', 'macd.histogram': 'macdhist_12_26_9' } },
  { spec: { use: 'bollinger' }, outputs: { 'bb.upper': 'bb_upper_20_2', 'bb.middle': 'bb_middle_20_2', 'bb.lower': 'bb_lower_20_2' } },
  { spec: { use: 'atr', period: 14 }, outputs: { atr14: 'atr_14' } },
  { spec: { use: 'stochastic' }, outputs: { 'stoch.k': 'stoch_slowk_14_3_3', 'stoch.d': 'stoch_slowd_14_3_3' } },
  { spec: { use: 'adx', period: 14 }, outputs: { adx: 'adx_14', 'adx.plusDi': 'plus_di_14', 'adx.minusDi': 'minus_di_14' } },
];

const ok = hasSharedData(TALIB_CSV, TALIB_COLUMNS);

describe.skipIf(!ok)('reference: TA-Lib on BTCUSDT 1h 2025-01', () => {
  const table = ok ? readCsv(TALIB_CSV) : { header: [], rows: [] };
  const bars = candlesOf(table);
  const firstValid = ok ? talibFirstValid() : new Map<string, number>();

  for (const { spec, outputs } of cases) {
    for (const [name, talibColumn] of Object.entries(outputs)) {
      it(`does match TA-Lib's ${talibColumn} with ${name}`, () => {
        const expected = column(table, talibColumn);
        const actual = outputOf(series(spec, bars), name);
        const first = firstValid.get(talibColumn);
        expect(first, 'the column is documented').toBeDefined();
        expect(expected.findIndex((value) => value !== null), 'the CSV agrees with its .columns.json').toBe(first);
        expect(actual.findIndex((value) => value !== null), 'first value at the same bar as TA-Lib').toBe(first);
        let worst = 0;
        expected.forEach((value, index) => {
          const ours = actual[index] ?? null;
          if (value === null) {
            expect(ours, `null before TA-Lib's first valid index (bar ${index})`).toBeNull();
            return;
          }
          expect(ours, `a value wherever TA-Lib has one (bar ${index})`).not.toBeNull();
          worst = Math.max(worst, relativeError(ours ?? Number.NaN, value));
        });
        expect(worst, 'within 1e-9 relative error of TA-Lib everywhere').toBeLessThanOrEqual(1e-9);
      });
    }
  }
});
