/**
 * Fibonacci retracement levels of the last leg between confirmed swings.
 *
 * A bar is a swing high when its high is above the highs of the `left` bars before it and at or
 * above the highs of the `right` bars after it (so a flat top counts once, at its first bar); a
 * swing low mirrors that. A swing is confirmed only once its `right` bars have closed, so nothing
 * here reads the future: the swing of bar t appears at bar t + right.
 *
 * Outputs, from the last confirmed swing high H and swing low L:
 * - `fib.swingHigh` = H and `fib.swingLow` = L (each null until confirmed);
 * - `fib.trend` = +1 when the last swing is a high after a low (an up leg), -1 when it is a low
 *   after a high; when one bar is both, its body orders them (a bar that closed up made its low
 *   first);
 * - `fib.<r>` for each level r: H - r * (H - L) in an up leg (retracing down from the high),
 *   L + r * (H - L) in a down leg (retracing up from the low).
 *
 * Warm-up: data dependent; at least `left + right` bars (the first bar that can be confirmed).
 */
import { z } from 'zod';
import type { Candle } from '../../model/index.js';
import { defineIndicator, nameParam, type CandleIndicator } from './indicator.js';
import { RollingWindow } from './rollingWindow.js';

export const FIBONACCI_LEVELS: readonly number[] = Object.freeze([0.236, 0.382, 0.5, 0.618, 0.786]);

export const fibonacciParams = z.strictObject({
  /** Bars before a swing that it must exceed. */
  left: z.number().int().min(1).max(1_000).default(5),
  /** Bars after a swing that confirm it. */
  right: z.number().int().min(0).max(1_000).default(5),
  levels: z
    .array(z.number().gt(0).max(10))
    .min(1)
    .refine((levels) => new Set(levels).size === levels.length, { error: 'Fibonacci levels must be distinct' })
    .default([...FIBONACCI_LEVELS]),
  name: nameParam,
});
export type FibonacciParams = z.output<typeof fibonacciParams>;

function outputNames(params: FibonacciParams): readonly string[] {
  const prefix = params.name ?? 'fib';
  return [`${prefix}.swingHigh`, `${prefix}.swingLow`, `${prefix}.trend`, ...params.levels.map((level) => `${prefix}.${String(level)}`)];
}

interface SwingState {
  bars: number;
  /** Confirmation order of swings, so the later one of a high and a low is known. */
  order: number;
  high: number | null;
  highOrder: number;
  low: number | null;
  lowOrder: number;
}

class FibonacciIndicator implements CandleIndicator {
  readonly #names: readonly string[];
  readonly #levels: readonly number[];
  readonly #left: number;
  readonly #highs: RollingWindow;
  readonly #lows: RollingWindow;
  /** 1 when the bar closed at or above its open. */
  readonly #ups: RollingWindow;
  #state: SwingState = { bars: 0, order: 0, high: null, highOrder: 0, low: null, lowOrder: 0 };
  #before: SwingState = this.#state;

  constructor(params: FibonacciParams) {
    this.#names = outputNames(params);
    this.#levels = params.levels;
    this.#left = params.left;
    const span = params.left + params.right + 1;
    this.#highs = new RollingWindow(span);
    this.#lows = new RollingWindow(span);
    this.#ups = new RollingWindow(span);
  }

  update(bar: Candle, replace: boolean): void {
    const replacing = replace && this.#state.bars > 0;
    if (!replacing) this.#before = this.#state;
    const s: SwingState = { ...this.#before };
    this.#state = s;
    s.bars++;
    this.#highs.update(bar.high, replacing);
    this.#lows.update(bar.low, replacing);
    this.#ups.update(bar.close >= bar.open ? 1 : 0, replacing);
    if (!this.#highs.full) return;
    const isHigh = this.#isSwingHigh();
    const isLow = this.#isSwingLow();
    const candidate = this.#left;
    const lowFirst = this.#ups.at(candidate) === 1;
    if (isLow && lowFirst) confirmLow(s, this.#lows.at(candidate));
    if (isHigh) confirmHigh(s, this.#highs.at(candidate));
    if (isLow && !lowFirst) confirmLow(s, this.#lows.at(candidate));
  }

  #isSwingHigh(): boolean {
    const window = this.#highs;
    const candidate = this.#left;
    const high = window.at(candidate) ?? Number.NaN;
    for (let index = 0; index < window.size; index++) {
      const other = window.at(index) ?? Number.NaN;
      if (index < candidate ? !(other < high) : index > candidate && !(other <= high)) return false;
    }
    return true;
  }

  #isSwingLow(): boolean {
    const window = this.#lows;
    const candidate = this.#left;
    const low = window.at(candidate) ?? Number.NaN;
    for (let index = 0; index < window.size; index++) {
      const other = window.at(index) ?? Number.NaN;
      if (index < candidate ? !(other > low) : index > candidate && !(other >= low)) return false;
    }
    return true;
  }

  write(values: Record<string, number | null>): void {
    const [highName = '', lowName = '', trendName = ''] = this.#names;
    const { high, low, highOrder, lowOrder } = this.#state;
    values[highName] = high;
    values[lowName] = low;
    const ready = high !== null && low !== null;
    const trend = highOrder > lowOrder ? 1 : -1;
    values[trendName] = ready ? trend : null;
    for (let index = 0; index < this.#levels.length; index++) {
      const name = this.#names[index + 3] ?? '';
      const level = this.#levels[index] ?? 0;
      if (!ready) values[name] = null;
      else values[name] = trend === 1 ? high - level * (high - low) : low + level * (high - low);
    }
  }
}

function confirmHigh(s: SwingState, high: number | undefined): void {
  if (high === undefined) return;
  s.high = high;
  s.highOrder = ++s.order;
}

function confirmLow(s: SwingState, low: number | undefined): void {
  if (low === undefined) return;
  s.low = low;
  s.lowOrder = ++s.order;
}

export const fibonacciIndicator = defineIndicator({
  kind: 'fibonacci',
  summary: 'Fibonacci retracement levels between the last confirmed swing high and low (fib.swingHigh, fib.swingLow, fib.trend, fib.<level>)',
  params: fibonacciParams,
  outputs: outputNames,
  warmup: (params) => params.left + params.right,
  create: (params) => new FibonacciIndicator(params),
});

export interface FibonacciOptions {
  readonly left?: number;
  readonly right?: number;
  readonly levels?: readonly number[];
  readonly name?: string;
}

/** Config item for Fibonacci retracements (swings confirmed 5 bars either side by default): `features([fibonacci()])`. */
export function fibonacci(options: FibonacciOptions = {}): z.input<typeof fibonacciIndicator.spec> {
  const { levels, ...rest } = options;
  return { use: 'fibonacci', ...rest, ...(levels === undefined ? {} : { levels: [...levels] }) };
}
