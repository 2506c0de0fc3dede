import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Candle } from '../../../src/model/index.js';
import { volumeProfile, volumeProfileIndicator } from '../../../src/operators/indicators/volumeProfile.js';
import { candle, MINUTE, T0 } from '../../support/builders.js';
import { series } from './compute.js';

function bar(index: number, low: number, high: number, volume: number): Candle {
  return candle({ openTime: T0 + index * MINUTE, closeTime: T0 + (index + 1) * MINUTE - 1, open: low, high, low, close: high, volume });
}

// Hand-computed profiles over the range 100..104 in 4 bins of width 1:
//   A: 100..104, volume 4 -> 1 per price unit -> [1, 1, 1, 1]
//   B: 102..102, volume 3 -> all in the bin holding 102 (bin 2) -> [0, 0, 3, 0]
//   C: 100.5..102.5, volume 2 -> 1 per unit -> [0.5, 1, 0.5, 0]
const A = bar(0, 100, 104, 4);
const B = bar(1, 102, 102, 3);
const C = bar(2, 100.5, 102.5, 2);

describe('volumeProfile', () => {
  it('does find the POC and the smallest value area around it (A + B = [1, 1, 4, 1])', () => {
    // Total 7, POC bin 2 (centre 102.5). 70 %: 4.9 needs two bins; [1, 2] and [2, 3] both hold 5: the lower wins.
    expect(series(volumeProfile({ period: 2, bins: 4 }), [A, B])[1]).toStrictEqual({ 'vp.poc': 102.5, 'vp.vah': 103, 'vp.val': 101 });
    // 50 %: 3.5 fits in the POC bin alone.
    expect(series(volumeProfile({ period: 2, bins: 4, valueArea: 0.5 }), [A, B])[1]).toStrictEqual({ 'vp.poc': 102.5, 'vp.vah': 103, 'vp.val': 102 });
    // 100 %: every bin.
    expect(series(volumeProfile({ period: 2, bins: 4, valueArea: 1 }), [A, B])[1]).toStrictEqual({ 'vp.poc': 102.5, 'vp.vah': 104, 'vp.val': 100 });
  });

  it('does spread a bar over the share of its range in each bin (A + B + C = [1.5, 2, 4.5, 1])', () => {
    // Total 9, POC bin 2. 70 %: 6.3; [1, 2] holds 6.5, [2, 3] only 5.5.
    const rows = series(volumeProfile({ period: 3, bins: 4 }), [A, B, C]);
    expect(rows[2]).toStrictEqual({ 'vp.poc': 102.5, 'vp.vah': 103, 'vp.val': 101 });
  });

  it('does warm up for period - 1 bars and forget bars that left the window', () => {
    // Window [B, C] spans 100.5..102.5 (bins of 0.5): B -> bin 3 ([102, 102.5]), C -> 0.5 per bin.
    // [0.5, 0.5, 0.5, 3.5]: POC bin 3 (centre 102.25); 70 % of 5 = 3.5 is the POC bin alone.
    const rows = series(volumeProfile({ period: 2, bins: 4 }), [A, B, C]);
    expect(rows[0]).toStrictEqual({ 'vp.poc': null, 'vp.vah': null, 'vp.val': null });
    expect(rows[2]).toStrictEqual({ 'vp.poc': 102.25, 'vp.vah': 102.5, 'vp.val': 102 });
  });

  it('does emit null, not NaN, for a window without volume, and the price for a flat window', () => {
    expect(series(volumeProfile({ period: 2 }), [bar(0, 100, 101, 0), bar(1, 99, 103, 0)])[1]).toStrictEqual({ 'vp.poc': null, 'vp.vah': null, 'vp.val': null });
    expect(series(volumeProfile({ period: 2 }), [bar(0, 100, 100, 1), bar(1, 100, 100, 0)])[1]).toStrictEqual({ 'vp.poc': 100, 'vp.vah': 100, 'vp.val': 100 });
  });

  it('does hold the POC in a value area with at least `valueArea` of the volume, and no narrower one does (property)', () => {
    const bars = fc.array(
      fc.record({ low: fc.double({ min: 1, max: 1000, noNaN: true }), span: fc.double({ min: 0.001, max: 100, noNaN: true }), volume: fc.oneof(fc.constant(0), fc.double({ min: 0.001, max: 1e6, noNaN: true })) }),
      { minLength: 1, maxLength: 12 },
    );
    const settings = fc.record({ bins: fc.integer({ min: 1, max: 30 }), valueArea: fc.double({ min: 0.05, max: 1, noNaN: true }) });
    fc.assert(
      fc.property(bars, settings, (shapes, { bins, valueArea }) => {
        const window = shapes.map((shape, index) => bar(index, shape.low, shape.low + shape.span, shape.volume));
        const values = series(volumeProfile({ period: window.length, bins, valueArea }), window).at(-1);
        const total = window.reduce((sum, item) => sum + item.volume, 0);
        if (total === 0) return values?.['vp.poc'] === null;
        const poc = values?.['vp.poc'] ?? Number.NaN;
        const val = values?.['vp.val'] ?? Number.NaN;
        const vah = values?.['vp.vah'] ?? Number.NaN;
        expect(val <= poc && poc <= vah, `value area ${val}..${vah} holds the POC ${poc}`).toBe(true);
        // Independently: the volume of every bar inside [val, vah], spread uniformly over its range.
        const inside = (from: number, to: number): number =>
          window.reduce((sum, item) => sum + (item.volume * Math.max(0, Math.min(to, item.high) - Math.max(from, item.low))) / (item.high - item.low), 0);
        expect(inside(val, vah), 'the value area holds at least valueArea of the volume').toBeGreaterThanOrEqual(valueArea * total * (1 - 1e-9));
        // No run of bins one bin narrower that holds the POC bin has enough volume.
        const low = Math.min(...window.map((item) => item.low));
        const high = Math.max(...window.map((item) => item.high));
        const width = (high - low) / bins;
        const runBins = Math.round((vah - val) / width);
        const pocBin = Math.floor((poc - low) / width);
        for (let first = pocBin - runBins + 2; runBins > 1 && first <= pocBin; first++) {
          const from = low + Math.max(0, first) * width;
          const to = low + Math.min(bins, first + runBins - 1) * width;
          expect(inside(from, to), `bins ${first}..${first + runBins - 2} are too few`).toBeLessThan(valueArea * total * (1 + 1e-9));
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('does name its outputs vp.poc, vp.vah, vp.val, or under its name', () => {
    expect(volumeProfileIndicator.outputs(volumeProfileIndicator.params.parse({}))).toStrictEqual(['vp.poc', 'vp.vah', 'vp.val']);
    expect(volumeProfileIndicator.outputs(volumeProfileIndicator.params.parse({ name: 'day' }))).toStrictEqual(['day.poc', 'day.vah', 'day.val']);
  });
});
