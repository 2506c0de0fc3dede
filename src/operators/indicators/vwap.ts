/**
 * Volume-weighted average price of the typical price (high + low + close) / 3:
 * sum(typical * volume) / sum(volume).
 *
 * - mode `session` (default): over the bars of the current session, which starts at 00:00 UTC
 *   every day by default (`session` sets its length, `offsetMinutes` moves its start: 810 for
 *   13:30 UTC). Output `vwap`. A bar belongs to the session its open time falls in.
 * - mode `rolling`: over the last `period` bars (default 20). Output `vwap{period}`, null for
 *   the first period - 1 bars.
 *
 * Null while the window holds no volume at all (zero-volume bars never produce NaN).
 */
import { z } from 'zod';
import type { Candle } from '../../model/index.js';
import { bucketStart, tryIntervalMs } from '../../model/index.js';
import { defineIndicator, nameParam, type CandleIndicator } from './indicator.js';
import { RollingWindow } from './rollingWindow.js';

const DEFAULT_ROLLING_PERIOD = 20;

export const vwapParams = z
  .strictObject({
    mode: z.enum(['session', 'rolling']).default('session'),
    /** Rolling mode: bars in the window (default 20). */
    period: z.number().int().min(1).max(10_000).optional(),
    /** Session mode: session length, `1h` to `1d` (default `1d`). */
    session: z
      .string()
      .refine((value) => tryIntervalMs(value) !== undefined, {
        error: (issue) => `Session ${JSON.stringify(issue.input)} is not valid: use <n>m, <n>h or 1d (e.g. 4h, 1d)`,
      })
      .optional(),
    /** Session mode: minutes after 00:00 UTC that sessions start at (default 0). */
    offsetMinutes: z.number().int().min(0).max(1_439).optional(),
    name: nameParam,
  })
  .superRefine((params, ctx) => {
    if (params.mode === 'session' && params.period !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['period'], message: 'VWAP "period" applies to mode "rolling" only (session VWAP resets every session)' });
    }
    if (params.mode === 'rolling') {
      for (const key of ['session', 'offsetMinutes'] as const) {
        if (params[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `VWAP "${key}" applies to mode "session" only` });
      }
    }
  });
export type VwapParams = z.output<typeof vwapParams>;

function outputName(params: VwapParams): string {
  if (params.name !== undefined) return params.name;
  return params.mode === 'session' ? 'vwap' : `vwap${params.period ?? DEFAULT_ROLLING_PERIOD}`;
}

function typicalPrice(bar: Candle): number {
  return (bar.high + bar.low + bar.close) / 3;
}

interface SessionState {
  bars: number;
  sessionStart: number;
  weighted: number;
  volume: number;
}

class SessionVwap implements CandleIndicator {
  readonly #name: string;
  readonly #sessionMs: number;
  readonly #offsetMs: number;
  #state: SessionState = { bars: 0, sessionStart: Number.NaN, weighted: 0, volume: 0 };
  #before: SessionState = this.#state;

  constructor(params: VwapParams) {
    this.#name = outputName(params);
    this.#sessionMs = tryIntervalMs(params.session ?? '1d') ?? 86_400_000;
    this.#offsetMs = (params.offsetMinutes ?? 0) * 60_000;
  }

  update(bar: Candle, replace: boolean): void {
    if (!(replace && this.#state.bars > 0)) this.#before = this.#state;
    const s: SessionState = { ...this.#before };
    this.#state = s;
    s.bars++;
    const sessionStart = bucketStart(bar.openTime - this.#offsetMs, this.#sessionMs) + this.#offsetMs;
    if (sessionStart !== s.sessionStart) {
      s.sessionStart = sessionStart;
      s.weighted = 0;
      s.volume = 0;
    }
    s.weighted += typicalPrice(bar) * bar.volume;
    s.volume += bar.volume;
  }

  write(values: Record<string, number | null>): void {
    const { weighted, volume } = this.#state;
    values[this.#name] = volume > 0 ? weighted / volume : null;
  }
}

class RollingVwap implements CandleIndicator {
  readonly #name: string;
  readonly #weighted: RollingWindow;
  readonly #volume: RollingWindow;

  constructor(params: VwapParams) {
    this.#name = outputName(params);
    const period = params.period ?? DEFAULT_ROLLING_PERIOD;
    this.#weighted = new RollingWindow(period);
    this.#volume = new RollingWindow(period);
  }

  update(bar: Candle, replace: boolean): void {
    this.#weighted.update(typicalPrice(bar) * bar.volume, replace);
    this.#volume.update(bar.volume, replace);
  }

  write(values: Record<string, number | null>): void {
    // Summed afresh from the window each time: no drift from adding and subtracting for days.
    const volume = this.#volume.full ? this.#volume.sum() : 0;
    values[this.#name] = volume > 0 ? this.#weighted.sum() / volume : null;
  }
}

export const vwapIndicator = defineIndicator({
  kind: 'vwap',
  summary: 'Volume-weighted average of the typical price, per UTC session or over a rolling window (vwap, vwap{period})',
  params: vwapParams,
  outputs: (params) => [outputName(params)],
  warmup: (params) => (params.mode === 'session' ? 0 : (params.period ?? DEFAULT_ROLLING_PERIOD) - 1),
  create: (params): CandleIndicator => (params.mode === 'session' ? new SessionVwap(params) : new RollingVwap(params)),
});

export interface VwapOptions {
  readonly mode?: 'session' | 'rolling';
  readonly period?: number;
  readonly session?: string;
  readonly offsetMinutes?: number;
  readonly name?: string;
}

/** Config item for a VWAP (session VWAP from 00:00 UTC by default): `features([vwap(), vwap({ mode: 'rolling', period: 50 })])`. */
export function vwap(options: VwapOptions = {}): z.input<typeof vwapIndicator.spec> {
  return { use: 'vwap', ...options };
}
