/**
 * Slow stochastic oscillator (TA-Lib's STOCH with SMA smoothing), from trading-signals'
 * `StochasticOscillator`: raw %K = 100 * (close - lowest low) / (highest high - lowest low) over
 * `kPeriod` bars (0 when the range is empty), `stoch.k` = SMA of raw %K over `kSlowingPeriod`,
 * `stoch.d` = SMA of `stoch.k` over `dPeriod`.
 *
 * Both are null for the first kPeriod + kSlowingPeriod + dPeriod - 3 bars (17 for 14/3/3), as in
 * TA-Lib.
 */
import { StochasticOscillator } from 'trading-signals';
import { z } from 'zod';
import type { Candle } from '../../model/index.js';
import { defineIndicator, nameParam, periodParam, type CandleIndicator } from './indicator.js';

export const stochasticParams = z.strictObject({
  kPeriod: periodParam(14),
  kSlowingPeriod: periodParam(3),
  dPeriod: periodParam(3),
  name: nameParam,
});
export type StochasticParams = z.output<typeof stochasticParams>;

function outputNames(params: StochasticParams): readonly [string, string] {
  const prefix = params.name ?? 'stoch';
  return [`${prefix}.k`, `${prefix}.d`];
}

class StochasticIndicator implements CandleIndicator {
  readonly #names: readonly [string, string];
  readonly #oscillator: StochasticOscillator;
  #bars = 0;
  #k: number | null = null;
  #d: number | null = null;

  constructor(params: StochasticParams) {
    this.#names = outputNames(params);
    this.#oscillator = new StochasticOscillator({ kPeriod: params.kPeriod, kSlowingPeriod: params.kSlowingPeriod, dPeriod: params.dPeriod });
  }

  update(bar: Candle, replace: boolean): void {
    const replacing = replace && this.#bars > 0;
    if (!replacing) this.#bars++;
    const result = this.#oscillator.update(bar, replacing);
    this.#k = result?.stochK ?? null;
    this.#d = result?.stochD ?? null;
  }

  write(values: Record<string, number | null>): void {
    const [kName, dName] = this.#names;
    values[kName] = this.#k;
    values[dName] = this.#d;
  }
}

export const stochasticIndicator = defineIndicator({
  kind: 'stochastic',
  summary: 'Slow stochastic oscillator %K and %D, like TA-Lib STOCH (stoch.k, stoch.d)',
  params: stochasticParams,
  outputs: outputNames,
  warmup: (params) => params.kPeriod + params.kSlowingPeriod + params.dPeriod - 3,
  create: (params) => new StochasticIndicator(params),
});

export interface StochasticOptions {
  readonly kPeriod?: number;
  readonly kSlowingPeriod?: number;
  readonly dPeriod?: number;
  readonly name?: string;
}

/** Config item for a slow stochastic (14/3/3 by default): `features([stochastic()])`. */
export function stochastic(options: StochasticOptions = {}): z.input<typeof stochasticIndicator.spec> {
  return { use: 'stochastic', ...options };
}
