/**
 * A simulator run whose ground truth can be queried: the {@link MarketSimulator} itself and the
 * stream of its trades. Tests compare what a pipeline made with what really happened, and the
 * mock exchanges serve REST history (aggTrades by id, klines by start time) from the same run
 * their streams come from.
 *
 * ```ts
 * const { simulator, trades$ } = createSimulatorRun({ seed: 7, duration: '1h' }, ctx);
 * const trades = await lastValueFrom(trades$.pipe(toArray()));
 * simulator.klines('1m');            // equals build-candles on `trades`, plus the forming bar
 * simulator.tradesFromId(1, 500);    // the first 500 of `trades`
 * ```
 *
 * Unlike {@link simulatorTrades}, every subscription to `trades$` drives this one simulator: a
 * second subscription continues where the first stopped, and the bounds are absolute (the run
 * covers trades before `startTime + duration` and ids up to `limit`). Subscribe once at a time.
 * What the history holds is what was emitted, except that a subscriber that leaves in the middle
 * of an unpaced batch leaves the rest of the batch (up to 255 trades) in the history.
 */
import type { Observable } from 'rxjs';
import { createContext, type NodeContext } from '../../context.js';
import type { Trade } from '../../model/index.js';
import { emitSimulatorTrades } from './emitSimulatorTrades.js';
import { DEFAULT_MAX_HISTORY, MarketSimulator } from './marketSimulator.js';
import { parseSimulatorTradesParams, simulatorModelParams, simulatorRunBounds, type SimulatorTradesInput } from './simulatorTrades.js';

export interface SimulatorRun {
  /** The market: its history, klines, jumps and clock. */
  readonly simulator: MarketSimulator;
  /** Its trades within the run's bounds, paced or as fast as possible, as `simulator-trades` emits them. */
  readonly trades$: Observable<Trade>;
}

export interface SimulatorRunOptions {
  /** Most trades kept for queries (default {@link DEFAULT_MAX_HISTORY}, about three days). */
  readonly maxHistory?: number;
}

/** Creates the simulator now (no work beyond allocating it) and a stream that drives it when subscribed. */
export function createSimulatorRun(params: SimulatorTradesInput = {}, ctx: NodeContext = createContext(), options: SimulatorRunOptions = {}): SimulatorRun {
  const parsed = parseSimulatorTradesParams(params, 'createSimulatorRun');
  const simulator = new MarketSimulator({ ...simulatorModelParams(parsed), maxHistory: options.maxHistory ?? DEFAULT_MAX_HISTORY });
  const trades$ = emitSimulatorTrades(() => simulator, simulatorRunBounds(parsed), ctx, { source: ctx.node === '' ? 'simulator-run' : ctx.node });
  return { simulator, trades$ };
}
