/**
 * Average true range with Wilder smoothing, as TA-Lib computes it: the first bar has no previous
 * close, so its range is not used; `atr{N}` starts at bar N as the mean of the true ranges of bars
 * 1..N, then follows `atr += (tr - atr) / N`.
 *
 * trading-signals' `ATR` counts the first bar's high - low and so starts one bar earlier with a
 * different seed; this adapter feeds trading-signals' `TR` into its `WSMA` from the second bar on.
 */
import { TR, WSMA } from 'trading-signals';
import { z } from 'zod';
import type { Candle } from '../../model/index.js';
import { defineIndicator, nameParam, periodParam, type CandleIndicator } from './indicator.js';

export const atrParams = z.strictObject({
  period: periodParam(14),
  name: nameParam,
});
export type AtrParams = z.output<typeof atrParams>;

class AtrIndicator implements CandleIndicator {
  readonly #name: string;
  readonly #trueRange = new TR();
  readonly #average: WSMA;
  #bars = 0;
  #value: number | null = null;

  constructor(params: AtrParams) {
    this.#name = params.name ?? `atr${params.period}`;
    this.#average = new WSMA(params.period);
  }

  update(bar: Candle, replace: boolean): void {
    const replacing = replace && this.#bars > 0;
    if (!replacing) this.#bars++;
    const range = this.#trueRange.update(bar, replacing);
    // The average was fed on every bar after the first, so a replace there replaces its last input.
    this.#value = this.#bars < 2 ? null : this.#average.update(range, replacing);
  }

  write(values: Record<string, number | null>): void {
    values[this.#name] = this.#value;
  }
}

export const atrIndicator = defineIndicator({
  kind: 'atr',
  summary: 'Average true range, Wilder-smoothed like TA-Lib (atr{period})',
  params: atrParams,
  outputs: (params) => [params.name ?? `atr${params.period}`],
  warmup: (params) => params.period,
  create: (params) => new AtrIndicator(params),
});

/** Config item for an ATR over `period` bars: `features([atr(14)])`. */
export function atr(period = 14, options: { readonly name?: string } = {}): z.input<typeof atrIndicator.spec> {
  return { use: 'atr', period, ...options };
}
