import { describe, expect, it } from 'vitest';
import { vwap, vwapIndicator } from '../../../src/operators/indicators/vwap.js';
import { candle, HOUR, T0 } from '../../support/builders.js';
import { hasSharedData } from '../../support/data.js';
import { outputOf, relativeError, series } from './compute.js';
import { candlesOf, column, QUANTEDGE_VWAP, readCsv } from './referenceData.js';

const INPUT = 'ta-reference/quantedge-ta/btcusdt-1h.csv';
const ok = hasSharedData(INPUT, QUANTEDGE_VWAP);

describe.skipIf(!ok)('reference: session VWAP against quantedge-ta (pandas_ta vwap, anchor D, hlc3)', () => {
  it('does match at every bar of the month, resetting at 00:00 UTC', () => {
    const bars = candlesOf(readCsv(INPUT), 'BTC-USDT', 1000);
    const expected = column(readCsv(QUANTEDGE_VWAP), 'expected');
    const actual = outputOf(series(vwap(), bars), 'vwap');
    expect(actual).toHaveLength(expected.length);
    let worst = 0;
    expected.forEach((value, index) => {
      worst = Math.max(worst, relativeError(actual[index] ?? Number.NaN, value ?? Number.NaN));
    });
    // The reference is printed with 10 decimals (about 1e-15 relative at 94,000).
    expect(worst, 'within 1e-9 relative error').toBeLessThanOrEqual(1e-9);
  });
});

/** 1h bars with given typical prices (high = low = close = price) and volumes. */
function bars(points: readonly (readonly [price: number, volume: number])[], start = T0) {
  return points.map(([price, volume], index) =>
    candle({ interval: '1h', openTime: start + index * HOUR, closeTime: start + (index + 1) * HOUR - 1, open: price, high: price, low: price, close: price, volume }),
  );
}

describe('vwap', () => {
  it('does weight typical prices by volume and restart at the session start', () => {
    const day = bars([[100, 1], [110, 3]], T0 + 22 * HOUR).concat(bars([[200, 2]], T0 + 24 * HOUR));
    // (100*1 + 110*3) / 4 = 107.5; then a new UTC day starts over: 200.
    expect(outputOf(series(vwap(), day), 'vwap')).toStrictEqual([100, 107.5, 200]);
  });

  it('does use the typical price (high + low + close) / 3', () => {
    const bar = candle({ open: 100, high: 112, low: 97, close: 106, volume: 5 });
    expect(outputOf(series(vwap(), [bar]), 'vwap')).toStrictEqual([(112 + 97 + 106) / 3]);
  });

  it('does move the session start by offsetMinutes', () => {
    // Sessions from 13:30 UTC: the 13:00 bar belongs to the previous session, the 14:00 bar starts a new one.
    const points = bars([[100, 1], [120, 1], [130, 1]], T0 + 12 * HOUR);
    expect(outputOf(series(vwap({ offsetMinutes: 810 }), points), 'vwap')).toStrictEqual([100, 110, 130]);
  });

  it('does emit null, not NaN, while the session has no volume', () => {
    const points = bars([[100, 0], [110, 0], [120, 2], [130, 0]]);
    expect(outputOf(series(vwap(), points), 'vwap')).toStrictEqual([null, null, 120, 120]);
  });

  it('does average over the last `period` bars in rolling mode', () => {
    const points = bars([[100, 1], [110, 1], [120, 2], [90, 0], [60, 1]]);
    // period 3: bars 0-2: (100 + 110 + 240) / 4 = 112.5; bars 1-3: (110 + 240) / 3; bars 2-4: (240 + 60) / 3 = 100.
    expect(outputOf(series(vwap({ mode: 'rolling', period: 3 }), points), 'vwap3')).toStrictEqual([null, null, 112.5, 350 / 3, 100]);
  });

  it('does emit null, not NaN, for a rolling window without volume', () => {
    const points = bars([[100, 0], [110, 0], [120, 0]]);
    expect(outputOf(series(vwap({ mode: 'rolling', period: 2 }), points), 'vwap2')).toStrictEqual([null, null, null]);
  });

  it('does reject params of the other mode instead of ignoring them', () => {
    const session = vwapIndicator.spec.safeParse({ use: 'vwap', period: 50 });
    expect(session.success, 'a period without mode rolling would silently compute a session VWAP').toBe(false);
    expect(session.error?.issues[0]?.message).toContain('applies to mode "rolling" only');
    expect(vwapIndicator.spec.safeParse({ use: 'vwap', mode: 'rolling', offsetMinutes: 30 }).success).toBe(false);
    expect(vwapIndicator.spec.safeParse({ use: 'vwap', session: '7x' }).success).toBe(false);
  });

  it('does name the outputs vwap and vwap{period}', () => {
    expect(vwapIndicator.outputs(vwapIndicator.params.parse({}))).toStrictEqual(['vwap']);
    expect(vwapIndicator.outputs(vwapIndicator.params.parse({ mode: 'rolling' }))).toStrictEqual(['vwap20']);
    expect(vwapIndicator.outputs(vwapIndicator.params.parse({ mode: 'rolling', period: 50, name: 'anchored' }))).toStrictEqual(['anchored']);
  });
});
