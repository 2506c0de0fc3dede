/**
 * Simple moving average of closes: `sma{N}` = mean of the last N closes.
 *
 * Warm-up: null for the first N-1 bars. Matches TA-Lib's SMA exactly (trading-signals' `SMA`).
 */
import { SMA } from 'trading-signals';
import { z } from 'zod';
import type { Candle } from '../../model/index.js';
import { defineIndicator, nameParam, periodParam, type CandleIndicator } from './indicator.js';

export const smaParams = z.strictObject({
  period: periodParam(20),
  name: nameParam,
});
export type SmaParams = z.output<typeof smaParams>;

class SmaIndicator implements CandleIndicator {
  readonly #name: string;
  readonly #sma: SMA;
  #bars = 0;
  #value: number | null = null;

  constructor(params: SmaParams) {
    this.#name = params.name ?? `sma${params.period}`;
    this.#sma = new SMA(params.period);
  }

  update(bar: Candle, replace: boolean): void {
    const replacing = replace && this.#bars > 0;
    if (!replacing) this.#bars++;
    this.#value = this.#sma.update(bar.close, replacing);
  }

  write(values: Record<string, number | null>): void {
    values[this.#name] = this.#value;
  }
}

export const smaIndicator = defineIndicator({
  kind: 'sma',
  summary: 'Simple moving average of closes (sma{period})',
  params: smaParams,
  outputs: (params) => [params.name ?? `sma${params.period}`],
  warmup: (params) => params.period - 1,
  create: (params) => new SmaIndicator(params),
});

/** Config item for an SMA of `period` closes: `features([sma(20), sma(50)])`. */
export function sma(period = 20, options: { readonly name?: string } = {}): z.input<typeof smaIndicator.spec> {
  return { use: 'sma', period, ...options };
}
