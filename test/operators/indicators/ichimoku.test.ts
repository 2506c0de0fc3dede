import { describe, expect, it } from 'vitest';
import { ichimoku, ichimokuIndicator } from '../../../src/operators/indicators/ichimoku.js';
import { candles } from '../../support/builders.js';
import { hasSharedData } from '../../support/data.js';
import { outputOf, relativeError, series } from './compute.js';
import { candlesOf, column, QUANTEDGE_ICHIMOKU, readCsv } from './referenceData.js';

const INPUT = 'ta-reference/quantedge-ta/btcusdt-1h.csv';
const ok = hasSharedData(INPUT, QUANTEDGE_ICHIMOKU);

describe.skipIf(!ok)('reference: ichimoku against quantedge-ta (talipp) on BTCUSDT 1h 2025-01', () => {
  const bars = ok ? candlesOf(readCsv(INPUT), 'BTC-USDT', 1000) : [];
  const reference = ok ? readCsv(QUANTEDGE_ICHIMOKU) : { header: [], rows: [] };
  const rows = series(ichimoku(), bars);
  /** Bar index of each reference row (the reference has rows only where every value exists). */
  const indexOf = new Map(bars.map((bar, index) => [bar.openTime * 1000, index]));
  const at = (ok ? column(reference, 'open_time') : []).map((time) => indexOf.get(time ?? Number.NaN) ?? -1);

  function compare(ours: readonly (number | null)[], theirs: readonly (number | null)[], shift: number): number {
    let worst = 0;
    let compared = 0;
    theirs.forEach((value, row) => {
      const index = (at[row] ?? -1) - shift;
      if (value === null || index < 0) return;
      const mine = ours[index];
      expect(mine, `a value at bar ${index}`).not.toBeNull();
      worst = Math.max(worst, relativeError(mine ?? Number.NaN, value));
      compared++;
    });
    expect(compared, 'the comparison covers the reference').toBeGreaterThan(600);
    return worst;
  }

  it('does match the conversion line, base line and span A at every bar (both displace span A by 26)', () => {
    expect(at.every((index) => index >= 0), 'every reference row is a bar of the input').toBe(true);
    expect(compare(outputOf(rows, 'ichimoku.conversion'), column(reference, 'tenkan'), 0)).toBeLessThanOrEqual(1e-9);
    expect(compare(outputOf(rows, 'ichimoku.base'), column(reference, 'kijun'), 0)).toBeLessThanOrEqual(1e-9);
    expect(compare(outputOf(rows, 'ichimoku.spanA'), column(reference, 'senkou_a'), 0)).toBeLessThanOrEqual(1e-9);
  });

  it('does give span B one bar before talipp, which displaces span B by 27 bars instead of 26', () => {
    // Ours at bar t is the 52-bar midpoint at t - 26; talipp's at bar t is the one at t - 27.
    expect(compare(outputOf(rows, 'ichimoku.spanB'), column(reference, 'senkou_b'), 1)).toBeLessThanOrEqual(1e-9);
  });

  it('does start span B at bar 77, one bar before the reference starts', () => {
    expect(outputOf(rows, 'ichimoku.spanB').findIndex((value) => value !== null)).toBe(77);
    expect(at[0], 'talipp needs one bar more for its span B').toBe(78);
  });
});

describe('ichimoku', () => {
  it('does read span A and span B from `displacement` bars back, never from later bars', () => {
    const bars = candles(Array.from({ length: 12 }, (_, index) => 100 + ((index * 7) % 5)));
    const rows = series(ichimoku({ conversion: 2, base: 3, spanB: 4, displacement: 2 }), bars);
    for (let t = 0; t < rows.length; t++) {
      const source = rows[t - 2];
      const conversion = source?.['ichimoku.conversion'] ?? null;
      const base = source?.['ichimoku.base'] ?? null;
      const expectedA = conversion === null || base === null ? null : (conversion + base) / 2;
      expect(rows[t]?.['ichimoku.spanA'], `span A at bar ${t} is computed at bar ${t - 2}`).toBe(expectedA);
    }
    // Span B at bar t: midpoint of bars t-5..t-2 (the 4 bars ending 2 back), from the bars themselves.
    for (let t = 5; t < rows.length; t++) {
      const window = bars.slice(t - 5, t - 1);
      const expected = (Math.max(...window.map((bar) => bar.high)) + Math.min(...window.map((bar) => bar.low))) / 2;
      expect(rows[t]?.['ichimoku.spanB'], `span B at bar ${t}`).toBe(expected);
    }
    expect(rows[4]?.['ichimoku.spanB'], 'span B needs spanB + displacement - 1 bars').toBeNull();
    expect(ichimokuIndicator.warmup(ichimokuIndicator.params.parse({ conversion: 2, base: 3, spanB: 4, displacement: 2 }))).toBe(5);
  });

  it('does give the unshifted cloud with displacement 0', () => {
    // Builders: open = previous close, high = max(open, close) + 1, low = min(open, close) - 1.
    // Bars: 100 (h 101 l 99), 104 (h 105 l 99), 102 (h 105 l 101), 101 (h 103 l 100).
    const rows = series(ichimoku({ conversion: 2, base: 2, spanB: 3, displacement: 0 }), candles([100, 104, 102, 101]));
    // Bar 2: over bars 1..2 the high is 105 and the low 99, so conversion = base = span A = 102;
    // span B over bars 0..2: (105 + 99) / 2 = 102.
    expect(rows[2]).toStrictEqual({ 'ichimoku.conversion': 102, 'ichimoku.base': 102, 'ichimoku.spanA': 102, 'ichimoku.spanB': 102 });
    // Bar 3: over bars 2..3: (105 + 100) / 2 = 102.5; span B over bars 1..3: (105 + 99) / 2 = 102.
    expect(rows[3]).toStrictEqual({ 'ichimoku.conversion': 102.5, 'ichimoku.base': 102.5, 'ichimoku.spanA': 102.5, 'ichimoku.spanB': 102 });
  });
});
