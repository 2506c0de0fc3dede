/**
 * Bollinger bands of closes: the SMA of the last N closes plus and minus `deviations` population
 * standard deviations (TA-Lib's BBANDS with the default SMA), from trading-signals'
 * `BollingerBands`. Also `percentB` = (close - lower) / (upper - lower), where the close sits in
 * the band (0.5 when the band has no width), and `bandwidth` = (upper - lower) / middle.
 *
 * Outputs `bb.upper`, `bb.middle`, `bb.lower`, `bb.percentB`, `bb.bandwidth`; null for the first
 * N-1 bars.
 */
import { BollingerBands } from 'trading-signals';
import { z } from 'zod';
import type { Candle } from '../../model/index.js';
import { defineIndicator, nameParam, periodParam, type CandleIndicator } from './indicator.js';

export const bollingerParams = z.strictObject({
  period: periodParam(20),
  deviations: z.number().positive().max(100).default(2),
  name: nameParam,
});
export type BollingerParams = z.output<typeof bollingerParams>;

type Names = readonly [upper: string, middle: string, lower: string, percentB: string, bandwidth: string];

function outputNames(params: BollingerParams): Names {
  const prefix = params.name ?? 'bb';
  return [`${prefix}.upper`, `${prefix}.middle`, `${prefix}.lower`, `${prefix}.percentB`, `${prefix}.bandwidth`];
}

class BollingerIndicator implements CandleIndicator {
  readonly #names: Names;
  readonly #bands: BollingerBands;
  #bars = 0;
  #close = 0;
  #upper: number | null = null;
  #middle = 0;
  #lower = 0;

  constructor(params: BollingerParams) {
    this.#names = outputNames(params);
    this.#bands = new BollingerBands(params.period, params.deviations);
  }

  update(bar: Candle, replace: boolean): void {
    const replacing = replace && this.#bars > 0;
    if (!replacing) this.#bars++;
    this.#close = bar.close;
    const bands = this.#bands.update(bar.close, replacing);
    this.#upper = bands?.upper ?? null;
    this.#middle = bands?.middle ?? 0;
    this.#lower = bands?.lower ?? 0;
  }

  write(values: Record<string, number | null>): void {
    const [upperName, middleName, lowerName, percentBName, bandwidthName] = this.#names;
    const upper = this.#upper;
    if (upper === null) {
      for (const name of this.#names) values[name] = null;
      return;
    }
    const width = upper - this.#lower;
    values[upperName] = upper;
    values[middleName] = this.#middle;
    values[lowerName] = this.#lower;
    values[percentBName] = width > 0 ? (this.#close - this.#lower) / width : 0.5;
    values[bandwidthName] = width / this.#middle;
  }
}

export const bollingerIndicator = defineIndicator({
  kind: 'bollinger',
  summary: 'Bollinger bands of closes with %B and bandwidth (bb.upper, bb.middle, bb.lower, bb.percentB, bb.bandwidth)',
  params: bollingerParams,
  outputs: outputNames,
  warmup: (params) => params.period - 1,
  create: (params) => new BollingerIndicator(params),
});

export interface BollingerOptions {
  readonly period?: number;
  readonly deviations?: number;
  readonly name?: string;
}

/** Config item for Bollinger bands (20 bars, 2 deviations by default): `features([bollinger()])`. */
export function bollinger(options: BollingerOptions = {}): z.input<typeof bollingerIndicator.spec> {
  return { use: 'bollinger', ...options };
}
