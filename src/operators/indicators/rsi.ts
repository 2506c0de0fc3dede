/**
 * Relative strength index of closes with Wilder smoothing, as TA-Lib computes it:
 * `rsi{N}` = 100 * avgGain / (avgGain + avgLoss), where the averages start as the mean of the
 * first N close-to-close gains and losses and then follow `avg += (x - avg) / N`.
 *
 * Warm-up: null for the first N bars (N changes need N + 1 closes).
 *
 * Built from trading-signals' `WSMA` rather than its `RSI` for one reason: on a window with no
 * price change at all (avgGain = avgLoss = 0) TA-Lib answers 0 and trading-signals 100; both read
 * as an extreme on a dead market, so this indicator answers the neutral 50.
 */
import { WSMA } from 'trading-signals';
import { z } from 'zod';
import type { Candle } from '../../model/index.js';
import { defineIndicator, nameParam, periodParam, type CandleIndicator } from './indicator.js';

export const rsiParams = z.strictObject({
  period: periodParam(14),
  name: nameParam,
});
export type RsiParams = z.output<typeof rsiParams>;

class RsiIndicator implements CandleIndicator {
  readonly #name: string;
  readonly #gain: WSMA;
  readonly #loss: WSMA;
  #bars = 0;
  /** Close of the bar before the last one fed: the base of the last change. */
  #previousClose = 0;
  #lastClose = 0;
  #value: number | null = null;

  constructor(params: RsiParams) {
    this.#name = params.name ?? `rsi${params.period}`;
    this.#gain = new WSMA(params.period);
    this.#loss = new WSMA(params.period);
  }

  update(bar: Candle, replace: boolean): void {
    const replacing = replace && this.#bars > 0;
    if (!replacing) {
      this.#previousClose = this.#lastClose;
      this.#bars++;
    }
    this.#lastClose = bar.close;
    if (this.#bars < 2) return;
    const change = bar.close - this.#previousClose;
    const gain = this.#gain.update(change > 0 ? change : 0, replacing);
    const loss = this.#loss.update(change < 0 ? -change : 0, replacing);
    if (gain === null || loss === null) {
      this.#value = null;
    } else {
      const moved = gain + loss;
      this.#value = moved === 0 ? 50 : 100 * (gain / moved);
    }
  }

  write(values: Record<string, number | null>): void {
    values[this.#name] = this.#value;
  }
}

export const rsiIndicator = defineIndicator({
  kind: 'rsi',
  summary: 'Relative strength index of closes, Wilder-smoothed like TA-Lib (rsi{period})',
  params: rsiParams,
  outputs: (params) => [params.name ?? `rsi${params.period}`],
  warmup: (params) => params.period,
  create: (params) => new RsiIndicator(params),
});

/** Config item for an RSI over `period` closes: `features([rsi(14)])`. */
export function rsi(period = 14, options: { readonly name?: string } = {}): z.input<typeof rsiIndicator.spec> {
  return { use: 'rsi', period, ...options };
}
