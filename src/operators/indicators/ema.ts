/**
 * Exponential moving average of closes, seeded as TA-Lib seeds it: `ema{N}` is null for the first
 * N-1 bars, then the SMA of the first N closes, then `ema += (close - ema) * 2 / (N + 1)`.
 *
 * trading-signals' `EMA` seeds with the first close, so its values differ from TA-Lib's during the
 * first few hundred bars; this adapter uses {@link SeededEma} (trading-signals' `SMA` for the seed).
 */
import { z } from 'zod';
import type { Candle } from '../../model/index.js';
import { defineIndicator, nameParam, periodParam, type CandleIndicator } from './indicator.js';
import { SeededEma } from './seededEma.js';

export const emaParams = z.strictObject({
  period: periodParam(20),
  name: nameParam,
});
export type EmaParams = z.output<typeof emaParams>;

class EmaIndicator implements CandleIndicator {
  readonly #name: string;
  readonly #ema: SeededEma;

  constructor(params: EmaParams) {
    this.#name = params.name ?? `ema${params.period}`;
    this.#ema = new SeededEma(params.period);
  }

  update(bar: Candle, replace: boolean): void {
    this.#ema.update(bar.close, replace);
  }

  write(values: Record<string, number | null>): void {
    values[this.#name] = this.#ema.value;
  }
}

export const emaIndicator = defineIndicator({
  kind: 'ema',
  summary: 'Exponential moving average of closes, SMA-seeded like TA-Lib (ema{period})',
  params: emaParams,
  outputs: (params) => [params.name ?? `ema${params.period}`],
  warmup: (params) => params.period - 1,
  create: (params) => new EmaIndicator(params),
});

/** Config item for an EMA of `period` closes: `features([ema(20), ema(50)])`. */
export function ema(period = 20, options: { readonly name?: string } = {}): z.input<typeof emaIndicator.spec> {
  return { use: 'ema', period, ...options };
}
