/**
 * Volume profile of the last `period` bars: where in price the volume traded.
 *
 * The window's range, lowest low to highest high, is cut into `bins` equal price bins. Each bar's
 * volume is spread uniformly over its own range, low to high: a bin gets the share of the bar's
 * range it overlaps (a bar with high = low puts all its volume in the bin holding that price).
 *
 * - `vp.poc`, the point of control: the centre of the bin with the most volume (the lowest such
 *   bin on a tie);
 * - `vp.val` and `vp.vah`, the value area low and high: the lower edge of the lowest bin and the
 *   upper edge of the highest bin of the value area, the smallest run of adjacent bins that holds
 *   the POC bin and at least `valueArea` (default 0.7) of the window's volume (of equally narrow
 *   runs, the one holding more volume, then the lower one).
 *
 * Null for the first period - 1 bars, and while the window holds no volume. When every bar in the
 * window has one and the same price, all three are that price.
 */
import { z } from 'zod';
import type { Candle } from '../../model/index.js';
import { defineIndicator, nameParam, periodParam, type CandleIndicator } from './indicator.js';
import { RollingWindow } from './rollingWindow.js';

export const volumeProfileParams = z.strictObject({
  period: periodParam(50),
  bins: z.number().int().min(1).max(1_000).default(24),
  valueArea: z.number().gt(0).max(1).default(0.7),
  name: nameParam,
});
export type VolumeProfileParams = z.output<typeof volumeProfileParams>;

type Names = readonly [poc: string, vah: string, val: string];

function outputNames(params: VolumeProfileParams): Names {
  const prefix = params.name ?? 'vp';
  return [`${prefix}.poc`, `${prefix}.vah`, `${prefix}.val`];
}

class VolumeProfileIndicator implements CandleIndicator {
  readonly #names: Names;
  readonly #valueArea: number;
  readonly #highs: RollingWindow;
  readonly #lows: RollingWindow;
  readonly #volumes: RollingWindow;
  /** Volume per bin, reused on every bar. */
  readonly #bins: Float64Array;
  #poc: number | null = null;
  #vah: number | null = null;
  #val: number | null = null;

  constructor(params: VolumeProfileParams) {
    this.#names = outputNames(params);
    this.#valueArea = params.valueArea;
    this.#highs = new RollingWindow(params.period);
    this.#lows = new RollingWindow(params.period);
    this.#volumes = new RollingWindow(params.period);
    this.#bins = new Float64Array(params.bins);
  }

  update(bar: Candle, replace: boolean): void {
    this.#highs.update(bar.high, replace);
    this.#lows.update(bar.low, replace);
    this.#volumes.update(bar.volume, replace);
    this.#poc = null;
    this.#vah = null;
    this.#val = null;
    if (!this.#volumes.full) return;
    const total = this.#volumes.sum();
    if (!(total > 0)) return;
    const low = this.#lows.minOfLast(this.#lows.size);
    const high = this.#highs.maxOfLast(this.#highs.size);
    if (high === low) {
      this.#poc = low;
      this.#vah = low;
      this.#val = low;
      return;
    }
    this.#distribute(low, high);
    const bins = this.#bins;
    let poc = 0;
    for (let index = 1; index < bins.length; index++) if ((bins[index] ?? 0) > (bins[poc] ?? 0)) poc = index;
    const [first, last] = valueAreaBins(bins, poc, this.#valueArea * total);
    const width = (high - low) / bins.length;
    const edge = (index: number): number => (index === bins.length ? high : low + index * width);
    this.#poc = low + (poc + 0.5) * width;
    this.#val = edge(first);
    this.#vah = edge(last + 1);
  }

  /** Spreads each bar's volume over the bins its range overlaps. */
  #distribute(low: number, high: number): void {
    const bins = this.#bins;
    const count = bins.length;
    const width = (high - low) / count;
    bins.fill(0);
    for (let bar = 0; bar < this.#volumes.size; bar++) {
      const volume = this.#volumes.at(bar) ?? 0;
      if (volume === 0) continue;
      const barLow = this.#lows.at(bar) ?? low;
      const barHigh = this.#highs.at(bar) ?? high;
      const first = Math.min(count - 1, Math.floor((barLow - low) / width));
      if (barHigh === barLow) {
        bins[first] = (bins[first] ?? 0) + volume;
        continue;
      }
      const last = Math.min(count - 1, Math.floor((barHigh - low) / width));
      const perPrice = volume / (barHigh - barLow);
      for (let index = first; index <= last; index++) {
        const from = Math.max(barLow, low + index * width);
        const to = index === count - 1 ? barHigh : Math.min(barHigh, low + (index + 1) * width);
        if (to > from) bins[index] = (bins[index] ?? 0) + (to - from) * perPrice;
      }
    }
  }

  write(values: Record<string, number | null>): void {
    const [pocName, vahName, valName] = this.#names;
    values[pocName] = this.#poc;
    values[vahName] = this.#vah;
    values[valName] = this.#val;
  }
}

/**
 * The smallest run of adjacent bins `[first, last]` that holds bin `poc` and at least `target`
 * volume. Bin volumes are non-negative, so as the run's low end moves down, the high end it needs
 * never moves up: two pointers find every candidate in one pass.
 */
function valueAreaBins(bins: Float64Array, poc: number, target: number): readonly [number, number] {
  const count = bins.length;
  let best: [number, number] = [0, count - 1];
  let bestVolume = -1;
  let last = poc;
  let volume = 0;
  for (let index = poc; index <= last; index++) volume += bins[index] ?? 0;
  for (let first = poc; first >= 0; first--) {
    if (first < poc) volume += bins[first] ?? 0;
    while (last > poc && volume - (bins[last] ?? 0) >= target) volume -= bins[last--] ?? 0;
    while (volume < target && last < count - 1) volume += bins[++last] ?? 0;
    if (volume < target) continue;
    const width = last - first;
    const bestWidth = best[1] - best[0];
    if (bestVolume < 0 || width < bestWidth || (width === bestWidth && volume >= bestVolume)) {
      best = [first, last];
      bestVolume = volume;
    }
  }
  return best;
}

export const volumeProfileIndicator = defineIndicator({
  kind: 'volume-profile',
  summary: 'Volume profile over a rolling window: point of control and value area (vp.poc, vp.vah, vp.val)',
  params: volumeProfileParams,
  outputs: outputNames,
  warmup: (params) => params.period - 1,
  create: (params) => new VolumeProfileIndicator(params),
});

export interface VolumeProfileOptions {
  readonly period?: number;
  readonly bins?: number;
  readonly valueArea?: number;
  readonly name?: string;
}

/** Config item for a volume profile (50 bars, 24 bins, 70 % value area by default): `features([volumeProfile()])`. */
export function volumeProfile(options: VolumeProfileOptions = {}): z.input<typeof volumeProfileIndicator.spec> {
  return { use: 'volume-profile', ...options };
}
