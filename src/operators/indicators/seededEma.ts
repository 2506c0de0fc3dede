/**
 * An exponential moving average seeded the way TA-Lib seeds it: the first value is the simple
 * average of the last `period` inputs, then `ema += (x - ema) * 2 / (period + 1)`.
 *
 * trading-signals' `EMA` seeds with the first input instead, and cannot be given a seed, so the
 * recurrence is written here; the seed comes from trading-signals' `SMA`. `seedAt` delays the seed
 * to a later input (TA-Lib's MACD seeds its fast EMA at the slow EMA's first value): the seed is
 * then the average of the `period` inputs ending at input `seedAt`.
 *
 * Add/replace: `update(x, true)` recomputes the last input from the state before it.
 */
import { SMA } from 'trading-signals';

export class SeededEma {
  readonly period: number;
  readonly seedAt: number;
  readonly #k: number;
  readonly #sma: SMA;
  /** Inputs fed, and the value after them (null before the seed). */
  #count = 0;
  #value: number | null = null;
  /** The same, before the last input: what a replace starts from. */
  #countBefore = 0;
  #valueBefore: number | null = null;

  constructor(period: number, seedAt: number = period) {
    if (seedAt < period) throw new RangeError(`EMA seed input "${seedAt}" must be at or after the period "${period}"`);
    this.period = period;
    this.seedAt = seedAt;
    this.#k = 2 / (period + 1);
    this.#sma = new SMA(period);
  }

  /** The current value, null before the seed. */
  get value(): number | null {
    return this.#value;
  }

  update(x: number, replace: boolean): number | null {
    const replacing = replace && this.#count > 0;
    if (replacing) {
      this.#count = this.#countBefore;
      this.#value = this.#valueBefore;
    } else {
      this.#countBefore = this.#count;
      this.#valueBefore = this.#value;
    }
    this.#count++;
    if (this.#count <= this.seedAt) {
      // The SMA saw exactly the inputs up to the seed, so a replace there replaces its last input.
      const average = this.#sma.update(x, replacing);
      if (this.#count === this.seedAt) this.#value = average;
    } else if (this.#value !== null) {
      this.#value = (x - this.#value) * this.#k + this.#value;
    }
    return this.#value;
  }
}
