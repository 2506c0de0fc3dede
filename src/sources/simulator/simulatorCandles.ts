/**
 * Candles from the embedded market simulator: its trades through {@link buildCandles}, so the
 * bars are exactly what `build-candles` makes from `simulator-trades` with the same params.
 *
 *   trades:   -t-t--t-t-t--t-t-...-t-(c)|      (c: the first trade at or after the end of `duration`)
 *   candles:  -------------X-------...-Z|      (X: first bar, closed by the first trade of the next bar)
 *
 * A bar closes when the first trade of a later bar arrives. When `duration` ends the run, the
 * simulator makes one more trade to close the last bar, so `duration: 1h` with `interval: 1m`
 * gives 60 bars; bars reaching past the end are not emitted. A run ended by `limit` leaves its
 * last bar unclosed, as `build-candles` would.
 *
 * ```yaml
 * - id: candles
 *   use: simulator-candles
 *   params: { interval: 1m, speed: 600 }
 * ```
 */
import { filter, type Observable } from 'rxjs';
import { z } from 'zod';
import { createContext, type NodeContext } from '../../context.js';
import { defineSource } from '../../definitions.js';
import type { Candle, Flow } from '../../model/index.js';
import { buildCandles, intervalParam } from '../../operators/candles/buildCandles.js';
import { emitSimulatorTrades } from './emitSimulatorTrades.js';
import { checkMarketSimulatorParams, MarketSimulator } from './marketSimulator.js';
import { simulatorModelParams, simulatorRunBounds, simulatorTradesShape } from './simulatorTrades.js';

export const simulatorCandlesParams = z
  .strictObject({
    ...simulatorTradesShape,
    /** Bar length, `1s` to `1d`. */
    interval: intervalParam.default('1m'),
  })
  .superRefine(checkMarketSimulatorParams);
export type SimulatorCandlesInput = z.input<typeof simulatorCandlesParams>;
export type SimulatorCandlesParams = z.output<typeof simulatorCandlesParams>;

/** Closed candles of a new simulator for each subscription. */
export function simulatorCandles(params: SimulatorCandlesInput = {}, ctx: NodeContext = createContext()): Observable<Candle> {
  const parsed = simulatorCandlesParams.safeParse(params);
  if (!parsed.success) throw new RangeError(`simulatorCandles params are invalid:\n${z.prettifyError(parsed.error)}`);
  const { interval, ...tradeParams } = parsed.data;
  const bounds = simulatorRunBounds(tradeParams);
  const model = simulatorModelParams(tradeParams);
  const trades$ = emitSimulatorTrades(() => new MarketSimulator({ ...model, maxHistory: 0 }), bounds, ctx, {
    source: ctx.node === '' ? 'simulator-candles' : ctx.node,
    closingTrade: true,
  });
  const { endTime } = bounds;
  return trades$.pipe(
    buildCandles(interval),
    filter((bar: Flow<Candle>): bar is Candle => bar.type === 'candle' && bar.closeTime < endTime),
  );
}

export const simulatorCandlesSource = defineSource({
  kind: 'simulator-candles',
  summary: 'OHLCV candles built from the seeded market simulator trades (no network)',
  params: simulatorCandlesParams,
  output: 'candle',
  describe: (params) => ({ interval: params.interval }),
  create: (params, ctx) => simulatorCandles(params, ctx),
});
