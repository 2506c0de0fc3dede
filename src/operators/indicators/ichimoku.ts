/**
 * Ichimoku cloud without the lagging span, never reading the future:
 *
 * - `ichimoku.conversion` (tenkan-sen) = (highest high + lowest low) / 2 over `conversion` bars;
 * - `ichimoku.base` (kijun-sen) = the same over `base` bars;
 * - `ichimoku.spanA` (senkou span A) at bar t = (conversion + base) / 2 computed at bar
 *   t - `displacement`: the cloud a chart draws `displacement` bars ahead, read at the bar it is
 *   drawn over, so bar t uses only bars <= t;
 * - `ichimoku.spanB` (senkou span B) at bar t = the midpoint over `spanB` bars computed at bar
 *   t - `displacement`.
 *
 * The lagging span (chikou, today's close drawn `displacement` bars back) is not emitted: at the bar
 * it is drawn over it would be a value from the future.
 *
 * Warm-up: spanB is the last to appear, at bar spanB + displacement - 1 (77 for 9/26/52/26).
 * talipp (the quantedge reference) displaces span A by 26 and span B by 27 bars; here both move by
 * `displacement`, so span B here equals talipp's one bar later (see docs/indicators.md).
 */
import { z } from 'zod';
import type { Candle } from '../../model/index.js';
import { defineIndicator, nameParam, periodParam, type CandleIndicator } from './indicator.js';
import { RollingWindow } from './rollingWindow.js';

export const ichimokuParams = z.strictObject({
  conversion: periodParam(9),
  base: periodParam(26),
  spanB: periodParam(52),
  displacement: z.number().int().min(0).max(10_000).default(26),
  name: nameParam,
});
export type IchimokuParams = z.output<typeof ichimokuParams>;

type Names = readonly [conversion: string, base: string, spanA: string, spanB: string];

function outputNames(params: IchimokuParams): Names {
  const prefix = params.name ?? 'ichimoku';
  return [`${prefix}.conversion`, `${prefix}.base`, `${prefix}.spanA`, `${prefix}.spanB`];
}

/** Marks "no value" inside the span history; never written out. */
const NONE = Number.NaN;

class IchimokuIndicator implements CandleIndicator {
  readonly #names: Names;
  readonly #params: IchimokuParams;
  readonly #highs: RollingWindow;
  readonly #lows: RollingWindow;
  /** Undisplaced span values of the last `displacement + 1` bars. */
  readonly #spanA: RollingWindow;
  readonly #spanB: RollingWindow;
  #bars = 0;
  #conversion: number | null = null;
  #base: number | null = null;

  constructor(params: IchimokuParams) {
    this.#names = outputNames(params);
    this.#params = params;
    const longest = Math.max(params.conversion, params.base, params.spanB);
    this.#highs = new RollingWindow(longest);
    this.#lows = new RollingWindow(longest);
    this.#spanA = new RollingWindow(params.displacement + 1);
    this.#spanB = new RollingWindow(params.displacement + 1);
  }

  update(bar: Candle, replace: boolean): void {
    const replacing = replace && this.#bars > 0;
    if (!replacing) this.#bars++;
    this.#highs.update(bar.high, replacing);
    this.#lows.update(bar.low, replacing);
    const { conversion, base, spanB } = this.#params;
    this.#conversion = this.#midpoint(conversion);
    this.#base = this.#midpoint(base);
    const spanA = this.#conversion !== null && this.#base !== null ? (this.#conversion + this.#base) / 2 : NONE;
    this.#spanA.update(spanA, replacing);
    this.#spanB.update(this.#midpoint(spanB) ?? NONE, replacing);
  }

  /** Midpoint of the highest high and lowest low of the last `period` bars, null before that many. */
  #midpoint(period: number): number | null {
    if (this.#bars < period) return null;
    return (this.#highs.maxOfLast(period) + this.#lows.minOfLast(period)) / 2;
  }

  write(values: Record<string, number | null>): void {
    const [conversionName, baseName, spanAName, spanBName] = this.#names;
    values[conversionName] = this.#conversion;
    values[baseName] = this.#base;
    values[spanAName] = displaced(this.#spanA, this.#params.displacement);
    values[spanBName] = displaced(this.#spanB, this.#params.displacement);
  }
}

function displaced(history: RollingWindow, displacement: number): number | null {
  const value = history.back(displacement);
  return value === undefined || Number.isNaN(value) ? null : value;
}

export const ichimokuIndicator = defineIndicator({
  kind: 'ichimoku',
  summary: 'Ichimoku conversion, base and the displaced cloud spans, no lookahead (ichimoku.conversion, .base, .spanA, .spanB)',
  params: ichimokuParams,
  outputs: outputNames,
  warmup: (params) => Math.max(params.conversion, params.base, params.spanB) - 1 + params.displacement,
  create: (params) => new IchimokuIndicator(params),
});

export interface IchimokuOptions {
  readonly conversion?: number;
  readonly base?: number;
  readonly spanB?: number;
  readonly displacement?: number;
  readonly name?: string;
}

/** Config item for an Ichimoku cloud (9/26/52, displaced 26 by default): `features([ichimoku()])`. */
export function ichimoku(options: IchimokuOptions = {}): z.input<typeof ichimokuIndicator.spec> {
  return { use: 'ichimoku', ...options };
}
