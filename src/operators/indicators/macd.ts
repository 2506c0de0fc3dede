/**
 * Moving average convergence/divergence of closes, as TA-Lib computes it:
 *
 * - `macd` = fast EMA - slow EMA, both SMA-seeded, and the fast EMA starts where the slow one
 *   does (at bar `slow - 1`, seeded with the mean of the `fast` closes ending there);
 * - `macd.signal` = EMA of the MACD line over `signal` values, SMA-seeded;
 * - `macd.histogram` = macd - signal.
 *
 * All three are null until the signal line exists: the first values are at bar
 * `slow + signal - 2` (33 for 12/26/9), as in TA-Lib. trading-signals' `MACD` seeds each EMA with
 * its first input and emits earlier, so this adapter uses {@link SeededEma} for all three EMAs.
 */
import { z } from 'zod';
import type { Candle } from '../../model/index.js';
import { defineIndicator, nameParam, periodParam, type CandleIndicator } from './indicator.js';
import { SeededEma } from './seededEma.js';

export const macdParams = z
  .strictObject({
    fast: periodParam(12),
    slow: periodParam(26),
    signal: periodParam(9),
    name: nameParam,
  })
  .superRefine((params, ctx) => {
    if (params.fast >= params.slow) {
      ctx.addIssue({ code: 'custom', path: ['slow'], message: `MACD slow period "${params.slow}" must be longer than the fast period "${params.fast}"` });
    }
  });
export type MacdParams = z.output<typeof macdParams>;

function outputNames(params: MacdParams): readonly [string, string, string] {
  const prefix = params.name ?? 'macd';
  return [prefix, `${prefix}.signal`, `${prefix}.histogram`];
}

class MacdIndicator implements CandleIndicator {
  readonly #names: readonly [string, string, string];
  readonly #fast: SeededEma;
  readonly #slow: SeededEma;
  readonly #signal: SeededEma;
  #macd: number | null = null;

  constructor(params: MacdParams) {
    this.#names = outputNames(params);
    this.#fast = new SeededEma(params.fast, params.slow);
    this.#slow = new SeededEma(params.slow);
    this.#signal = new SeededEma(params.signal);
  }

  update(bar: Candle, replace: boolean): void {
    const fast = this.#fast.update(bar.close, replace);
    const slow = this.#slow.update(bar.close, replace);
    if (fast === null || slow === null) {
      this.#macd = null;
      return;
    }
    this.#macd = fast - slow;
    // Both EMAs exist from the same bar on, so the signal EMA was fed on every bar since: a
    // replace here replaces its last input.
    this.#signal.update(this.#macd, replace);
  }

  write(values: Record<string, number | null>): void {
    const [macdName, signalName, histogramName] = this.#names;
    const signal = this.#signal.value;
    const macd = this.#macd;
    const ready = signal !== null && macd !== null;
    values[macdName] = ready ? macd : null;
    values[signalName] = ready ? signal : null;
    values[histogramName] = ready ? macd - signal : null;
  }
}

export const macdIndicator = defineIndicator({
  kind: 'macd',
  summary: 'MACD line, signal and histogram of closes, seeded like TA-Lib (macd, macd.signal, macd.histogram)',
  params: macdParams,
  outputs: outputNames,
  warmup: (params) => params.slow + params.signal - 2,
  create: (params) => new MacdIndicator(params),
});

export interface MacdOptions {
  readonly fast?: number;
  readonly slow?: number;
  readonly signal?: number;
  readonly name?: string;
}

/** Config item for a MACD (12/26/9 by default): `features([macd()])`. */
export function macd(options: MacdOptions = {}): z.input<typeof macdIndicator.spec> {
  return { use: 'macd', ...options };
}
