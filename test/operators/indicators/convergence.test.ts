/**
 * Start-offset invariance: a series that starts k bars later gives the same values as the full
 * series once its documented convergence horizon has passed (docs/indicators.md). Window
 * indicators agree exactly once their window is full; recursive ones (EMA, Wilder) converge
 * geometrically and agree within 1e-9 relative error (absolute below 1) after the horizon.
 */
import { describe, expect, it } from 'vitest';
import type { Candle } from '../../../src/model/index.js';
import { adx } from '../../../src/operators/indicators/adx.js';
import { atr } from '../../../src/operators/indicators/atr.js';
import { bollinger } from '../../../src/operators/indicators/bollinger.js';
import { ema } from '../../../src/operators/indicators/ema.js';
import { fibonacci } from '../../../src/operators/indicators/fibonacci.js';
import { ichimoku } from '../../../src/operators/indicators/ichimoku.js';
import { macd } from '../../../src/operators/indicators/macd.js';
import type { IndicatorSpecInput } from '../../../src/operators/indicators/registry.js';
import { rsi } from '../../../src/operators/indicators/rsi.js';
import { sma } from '../../../src/operators/indicators/sma.js';
import { stochastic } from '../../../src/operators/indicators/stochastic.js';
import { volumeProfile } from '../../../src/operators/indicators/volumeProfile.js';
import { vwap } from '../../../src/operators/indicators/vwap.js';
import { hasSharedData } from '../../support/data.js';
import { series, type Row } from './compute.js';
import { BTC_1H_LONG, candlesOf, ETH_1H_LONG, readCsv } from './referenceData.js';

/** Where a late-started series must agree with the full one: bars after its start, or after its own warm-up. */
type Horizon = { readonly bars: number; readonly exact: boolean } | { readonly afterWarmup: true } | { readonly sessionStart: true };

/** The horizons of docs/indicators.md, as formulas of the params. */
const cases: readonly { readonly spec: IndicatorSpecInput; readonly horizon: Horizon }[] = [
  { spec: sma(20), horizon: { afterWarmup: true } },
  { spec: ema(20), horizon: { bars: Math.ceil(11.5 * (20 + 1)), exact: false } },
  { spec: ema(50), horizon: { bars: Math.ceil(11.5 * (50 + 1)), exact: false } },
  { spec: rsi(14), horizon: { bars: 23 * 14, exact: false } },
  { spec: macd(), horizon: { bars: Math.ceil(11.5 * (26 + 1)) + Math.ceil(11.5 * (9 + 1)), exact: false } },
  { spec: bollinger(), horizon: { afterWarmup: true } },
  { spec: atr(14), horizon: { bars: 23 * 14, exact: false } },
  { spec: stochastic(), horizon: { afterWarmup: true } },
  { spec: adx(14), horizon: { bars: 30 * 14, exact: false } },
  { spec: ichimoku(), horizon: { afterWarmup: true } },
  { spec: fibonacci(), horizon: { afterWarmup: true } },
  { spec: vwap(), horizon: { sessionStart: true } },
  { spec: vwap({ mode: 'rolling', period: 20 }), horizon: { afterWarmup: true } },
  { spec: volumeProfile(), horizon: { afterWarmup: true } },
];

const OFFSETS = [1, 5, 17, 333, 2_000];
const LENGTH = 6_000;

function agree(late: number | null, full: number | null, exact: boolean): boolean {
  if (late === null || full === null) return late === full;
  return exact ? late === full : Math.abs(late - full) <= 1e-9 * Math.max(Math.abs(full), 1);
}

/** Index in the late series from which it must agree with the full one. */
function horizonIndex(horizon: Horizon, late: readonly Row[], bars: readonly Candle[]): number {
  if ('bars' in horizon) return horizon.bars;
  if ('sessionStart' in horizon) return bars.findIndex((bar) => bar.openTime % 86_400_000 === 0);
  return late.findIndex((row) => Object.values(row).every((value) => value !== null));
}

const ok = hasSharedData(BTC_1H_LONG, ETH_1H_LONG);

describe.skipIf(!ok)('start-offset invariance on BTCUSDT and ETHUSDT 1h (2022 on)', () => {
  const datasets = ok
    ? [candlesOf(readCsv(BTC_1H_LONG)).slice(0, LENGTH), candlesOf(readCsv(ETH_1H_LONG), 'ETH-USDT').slice(0, LENGTH)]
    : [];

  for (const { spec, horizon } of cases) {
    it(`does converge for ${JSON.stringify(spec)} within its documented horizon`, () => {
      for (const bars of datasets) {
        const full = series(spec, bars);
        for (const offset of OFFSETS) {
          const lateBars = bars.slice(offset);
          const late = series(spec, lateBars);
          const from = horizonIndex(horizon, late, lateBars);
          expect(from, 'the late series gets past its horizon').toBeGreaterThanOrEqual(0);
          expect(from, 'the horizon leaves bars to compare').toBeLessThan(late.length - 100);
          const exact = !('bars' in horizon) || horizon.exact;
          for (let index = from; index < late.length; index++) {
            const row = late[index] ?? {};
            const reference = full[index + offset] ?? {};
            for (const [name, value] of Object.entries(reference)) {
              const mine = row[name] ?? null;
              if (!agree(mine, value, exact)) {
                expect.fail(`${bars[0]?.symbol} offset ${offset}: ${name} at bar ${index} after the start is ${mine}, the full series has ${value}`);
              }
            }
          }
        }
      }
    });
  }
});
