/**
 * Trades from the embedded market simulator: the default source of `npm start`, needing no
 * network. Deterministic: the same seed and params give the same trades on every run.
 *
 *   speed 600, duration 1h:   t-t--tt---t-t--t-...-t|     (one simulated hour in 6 s)
 *   no speed, limit 1000:     (ttttttt...t)|              (as fast as possible, 1000 trades)
 *
 * Paced (`speed` set), one second of simulated time takes `1 / speed` seconds on
 * `ctx.scheduler`; without `speed` it runs as fast as the machine allows, yielding to the event
 * loop between batches. `duration` and `limit` bound the run; without either it is endless.
 * Records keep the simulator's clock in `tsEvent` and `tsRecv` (see {@link MarketSimulator}).
 *
 * ```yaml
 * - id: trades
 *   use: simulator-trades
 *   params: { seed: 42, speed: 600 }
 * ```
 *
 * @see {@link createSimulatorRun} for a run whose ground truth can be queried.
 */
import type { Observable } from 'rxjs';
import { z } from 'zod';
import { createContext, type NodeContext } from '../../context.js';
import { defineSource } from '../../definitions.js';
import { quote } from '../../errors.js';
import type { Trade } from '../../model/index.js';
import { emitSimulatorTrades, type SimulatorRunBounds } from './emitSimulatorTrades.js';
import { checkMarketSimulatorParams, MarketSimulator, marketSimulatorShape } from './marketSimulator.js';

const DURATION_UNITS_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION_PATTERN = /^([1-9][0-9]*)([smhd])$/;
/** 100 years: any longer and "endless" is the better word. */
const MAX_DURATION_MS = 36_500 * DURATION_UNITS_MS.d;

/** Milliseconds in a duration such as `90m`, `3d` or `45s`, or undefined when it is not one. */
export function tryDurationMs(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text);
  if (match === null) return undefined;
  const ms = Number(match[1]) * DURATION_UNITS_MS[match[2] as keyof typeof DURATION_UNITS_MS];
  return ms <= MAX_DURATION_MS ? ms : undefined;
}

export const durationParam = z.string().refine((value) => tryDurationMs(value) !== undefined, {
  error: (issue) => `duration ${quote(issue.input)} must be a count and a unit s, m, h or d (e.g. "90m", "3d"), at most 36500d`,
});

/** The run's bounds and pace, on top of the model params. */
export const simulatorTradesShape = {
  ...marketSimulatorShape,
  /** Multiple of real time (1 = real time, 600 = ten simulated minutes a second); left out: as fast as possible. */
  speed: z
    .number({ error: (issue) => `speed ${quote(issue.input)} must be a finite number` })
    .refine((value) => value > 0, { error: (issue) => `speed ${quote(issue.input)} must be positive (or left out for as fast as possible)` })
    .optional(),
  /** Simulated time the run covers from `startTime` (`90m`, `3d`); left out: no time bound. */
  duration: durationParam.optional(),
  /** Number of trades the run covers; left out: no count bound. */
  limit: z
    .number()
    .refine((value) => Number.isSafeInteger(value) && value > 0, { error: (issue) => `limit ${quote(issue.input)} must be a positive integer` })
    .optional(),
};

export const simulatorTradesParams = z.strictObject(simulatorTradesShape).superRefine(checkMarketSimulatorParams);
export type SimulatorTradesInput = z.input<typeof simulatorTradesParams>;
export type SimulatorTradesParams = z.output<typeof simulatorTradesParams>;

/** Parses params for library callers, with every problem in one message. */
export function parseSimulatorTradesParams(params: SimulatorTradesInput, caller: string): SimulatorTradesParams {
  const parsed = simulatorTradesParams.safeParse(params);
  if (!parsed.success) throw new RangeError(`${caller} params are invalid:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** The end time and last id of a run from its params. */
export function simulatorRunBounds(params: SimulatorTradesParams): SimulatorRunBounds {
  const durationMs = params.duration === undefined ? undefined : tryDurationMs(params.duration);
  return {
    speed: params.speed,
    endTime: durationMs === undefined ? Number.POSITIVE_INFINITY : params.startTime + durationMs,
    lastId: params.limit ?? Number.POSITIVE_INFINITY,
  };
}

/** The model params of source params (without speed, duration and limit). */
export function simulatorModelParams(params: SimulatorTradesParams): Omit<SimulatorTradesParams, 'speed' | 'duration' | 'limit'> {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the run params are named only to leave them out of the rest
  const { speed, duration, limit, ...model } = params;
  return model;
}

/**
 * Trades of a new simulator for each subscription. It keeps no history (nothing could read it);
 * use {@link createSimulatorRun} to query the ground truth.
 */
export function simulatorTrades(params: SimulatorTradesInput = {}, ctx: NodeContext = createContext()): Observable<Trade> {
  const parsed = parseSimulatorTradesParams(params, 'simulatorTrades');
  const model = simulatorModelParams(parsed);
  return emitSimulatorTrades(() => new MarketSimulator({ ...model, maxHistory: 0 }), simulatorRunBounds(parsed), ctx, {
    source: ctx.node === '' ? 'simulator-trades' : ctx.node,
  });
}

export const simulatorTradesSource = defineSource({
  kind: 'simulator-trades',
  summary: 'Trades from the seeded market simulator (no network), paced by speed or as fast as possible',
  params: simulatorTradesParams,
  output: 'trade',
  create: (params, ctx) => simulatorTrades(params, ctx),
});
