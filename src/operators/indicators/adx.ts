/**
 * Average directional index with the directional indicators, as TA-Lib computes them (ADX,
 * PLUS_DI, MINUS_DI):
 *
 * - +DM = up-move when it exceeds the down-move and is positive, else 0 (and -DM the mirror);
 *   TR = true range. Bar 0 only provides the previous high, low and close.
 * - Wilder sums: the sums of +DM, -DM and TR over bars 1..N-1, then on every later bar
 *   `sum = sum - sum / N + x`.
 * - `adx.plusDi` = 100 * sum(+DM) / sum(TR), `adx.minusDi` likewise, from bar N on (0 when the
 *   true-range sum is 0).
 * - DX = 100 * |+DI - -DI| / (+DI + -DI); `adx` starts at bar 2N-1 as the mean of the DX of bars
 *   N..2N-1, then `adx = (adx * (N - 1) + dx) / N`. A bar whose DI sum is 0 has no DX: it adds
 *   nothing to the first mean and leaves `adx` unchanged, as in TA-Lib.
 *
 * trading-signals' `ADX`/`DX` seed with averages instead of sums and give DI in 0..1, so the
 * recurrence is written here. TA-Lib tests "is zero" with an absolute 1e-8; this indicator tests
 * for exact zero, so assets priced below 1e-6 keep their DI instead of reading 0.
 */
import { z } from 'zod';
import type { Candle } from '../../model/index.js';
import { defineIndicator, nameParam, type CandleIndicator } from './indicator.js';

export const adxParams = z.strictObject({
  /** At least 2: the Wilder sums start from N-1 bars. */
  period: z.number().int().min(2).max(10_000).default(14),
  name: nameParam,
});
export type AdxParams = z.output<typeof adxParams>;

function outputNames(params: AdxParams): readonly [string, string, string] {
  const prefix = params.name ?? 'adx';
  return [prefix, `${prefix}.plusDi`, `${prefix}.minusDi`];
}

interface AdxState {
  /** Bars fed. */
  bars: number;
  /** High, low and close of the last bar. */
  high: number;
  low: number;
  close: number;
  plusDm: number;
  minusDm: number;
  trueRange: number;
  /** Sum of DX over bars N..2N-1, for the first ADX. */
  dxSum: number;
  adx: number | null;
  plusDi: number | null;
  minusDi: number | null;
}

class AdxIndicator implements CandleIndicator {
  readonly #names: readonly [string, string, string];
  readonly #period: number;
  #state: AdxState = { bars: 0, high: 0, low: 0, close: 0, plusDm: 0, minusDm: 0, trueRange: 0, dxSum: 0, adx: null, plusDi: null, minusDi: null };
  /** The state before the last bar: what a replace starts from. */
  #before: AdxState = this.#state;

  constructor(params: AdxParams) {
    this.#names = outputNames(params);
    this.#period = params.period;
  }

  update(bar: Candle, replace: boolean): void {
    if (!(replace && this.#state.bars > 0)) this.#before = this.#state;
    const s: AdxState = { ...this.#before };
    this.#state = s;
    const n = this.#period;
    const index = s.bars;
    s.bars++;
    if (index > 0) {
      const up = bar.high - s.high;
      const down = s.low - bar.low;
      const plusDm = up > 0 && up > down ? up : 0;
      const minusDm = down > 0 && down > up ? down : 0;
      const range = Math.max(bar.high - bar.low, Math.abs(bar.high - s.close), Math.abs(bar.low - s.close));
      if (index < n) {
        s.plusDm += plusDm;
        s.minusDm += minusDm;
        s.trueRange += range;
      } else {
        s.plusDm = s.plusDm - s.plusDm / n + plusDm;
        s.minusDm = s.minusDm - s.minusDm / n + minusDm;
        s.trueRange = s.trueRange - s.trueRange / n + range;
        this.#directional(s, index);
      }
    }
    s.high = bar.high;
    s.low = bar.low;
    s.close = bar.close;
  }

  #directional(s: AdxState, index: number): void {
    const n = this.#period;
    let dx: number | null = null;
    if (s.trueRange === 0) {
      s.plusDi = 0;
      s.minusDi = 0;
    } else {
      const plusDi = 100 * (s.plusDm / s.trueRange);
      const minusDi = 100 * (s.minusDm / s.trueRange);
      s.plusDi = plusDi;
      s.minusDi = minusDi;
      const total = plusDi + minusDi;
      if (total !== 0) dx = 100 * (Math.abs(minusDi - plusDi) / total);
    }
    if (index < 2 * n - 1) {
      if (dx !== null) s.dxSum += dx;
    } else if (index === 2 * n - 1) {
      if (dx !== null) s.dxSum += dx;
      s.adx = s.dxSum / n;
    } else if (dx !== null && s.adx !== null) {
      s.adx = (s.adx * (n - 1) + dx) / n;
    }
  }

  write(values: Record<string, number | null>): void {
    const [adxName, plusName, minusName] = this.#names;
    values[adxName] = this.#state.adx;
    values[plusName] = this.#state.plusDi;
    values[minusName] = this.#state.minusDi;
  }
}

export const adxIndicator = defineIndicator({
  kind: 'adx',
  summary: 'Average directional index with +DI and -DI, Wilder sums like TA-Lib (adx, adx.plusDi, adx.minusDi)',
  params: adxParams,
  outputs: outputNames,
  warmup: (params) => 2 * params.period - 1,
  create: (params) => new AdxIndicator(params),
});

/** Config item for an ADX over `period` bars: `features([adx(14)])`. */
export function adx(period = 14, options: { readonly name?: string } = {}): z.input<typeof adxIndicator.spec> {
  return { use: 'adx', period, ...options };
}
