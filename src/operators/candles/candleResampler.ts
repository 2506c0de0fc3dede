/**
 * Lower-timeframe candles to higher-timeframe candles: the pure accumulator behind
 * {@link resampleCandles}.
 *
 * Buckets are UTC epoch aligned (`bucketStart`), as Binance aligns its klines, so resampled bars
 * line up with the venue's own bars of that interval. A bucket takes the first open, the highest
 * high, the lowest low and the last close of its constituents; volumes are summed exactly at the
 * venue's decimals ({@link VolumeSum}); quote volume, taker-buy volume and the trade count are
 * summed when every constituent has them, and left out otherwise (a partial sum would lie).
 *
 * A bucket closes when its last constituent closes (the candle opening one input interval before
 * the bucket ends), or, if that candle never comes, when a candle of a later bucket arrives: it
 * then closes with what it had. One resampler keeps one series per venue and symbol.
 */
import { InvariantError, quote } from '../../errors.js';
import type { Candle } from '../../model/index.js';
import { bucketStart, intervalMs, tryIntervalMs } from '../../model/index.js';
import { roundTo, VolumeSum } from './volumeSum.js';

export interface CandleResamplerOptions {
  /** Target bar length, a whole multiple of the input interval. */
  readonly interval: string;
  /** Emit provisional bars (`closed: false`) from forming input and after every closed constituent (default false). */
  readonly forming?: boolean;
  /** Decimal places volumes are exact to (default 8, Binance's precision). */
  readonly volumeDecimals?: number;
}

const NONE: readonly Candle[] = Object.freeze([]);

/** The forming bucket of one venue and symbol. */
class Series {
  readonly venue: string;
  readonly symbol: string;
  /** Interval of the input candles of this series, fixed by the first one. */
  inputInterval: string | undefined;
  inputMs = 0;
  /** A bucket is forming. */
  active = false;
  /** Open time of the forming bucket. */
  openTime = 0;
  /** Open time of the last constituent taken. */
  lastOpen = 0;
  /** Open time of the last bucket closed; candles of it or before are late. */
  closedBucket = -Infinity;
  open = 0;
  high = 0;
  low = 0;
  close = 0;
  trades = 0;
  readonly volume = new VolumeSum();
  readonly quoteVolume = new VolumeSum();
  readonly takerBuyVolume = new VolumeSum();
  /** Every constituent so far had a quote volume, a trade count, a taker-buy volume. */
  allQuote = true;
  allTrades = true;
  allTaker = true;

  constructor(venue: string, symbol: string) {
    this.venue = venue;
    this.symbol = symbol;
  }

  start(openTime: number, candle: Candle): void {
    this.active = true;
    this.openTime = openTime;
    this.open = candle.open;
    this.high = candle.high;
    this.low = candle.low;
    this.trades = 0;
    this.volume.reset();
    this.quoteVolume.reset();
    this.takerBuyVolume.reset();
    this.allQuote = true;
    this.allTrades = true;
    this.allTaker = true;
    this.add(candle);
  }

  add(candle: Candle): void {
    if (candle.high > this.high) this.high = candle.high;
    if (candle.low < this.low) this.low = candle.low;
    this.close = candle.close;
    this.lastOpen = candle.openTime;
    this.volume.add(candle.volume);
    if (candle.quoteVolume === undefined) this.allQuote = false;
    else this.quoteVolume.add(candle.quoteVolume);
    if (candle.trades === undefined) this.allTrades = false;
    else this.trades += candle.trades;
    if (candle.takerBuyVolume === undefined) this.allTaker = false;
    else this.takerBuyVolume.add(candle.takerBuyVolume);
  }
}

export class CandleResampler {
  readonly interval: string;
  readonly intervalMs: number;
  readonly #forming: boolean;
  readonly #decimals: number;
  readonly #series = new Map<string, Series>();
  #last: Series | undefined;
  /** Candles that arrived after their bucket had closed, or repeated a constituent, and were not used. */
  lateCandles = 0;

  constructor(options: CandleResamplerOptions) {
    this.interval = options.interval;
    this.intervalMs = intervalMs(options.interval);
    this.#forming = options.forming ?? false;
    this.#decimals = options.volumeDecimals ?? 8;
  }

  /**
   * Why candles of `input` cannot be resampled to `target`, naming both; undefined when they can.
   * The target must be a whole multiple of the input interval, and larger.
   */
  static mismatch(input: string, target: string): string | undefined {
    const inputMs = tryIntervalMs(input);
    const targetMs = tryIntervalMs(target);
    if (inputMs === undefined || targetMs === undefined || inputMs >= targetMs || targetMs % inputMs !== 0) {
      return `Cannot resample ${quote(input)} candles to ${quote(target)}: the target interval must be a whole multiple of the input interval and larger`;
    }
    return undefined;
  }

  /**
   * Adds a candle. Returns the bars it produced, oldest first: closed buckets, then (with
   * `forming`) the provisional bar of the forming bucket. Forming input is ignored unless
   * `forming` is on. A candle of a bucket already closed, or one not after the last constituent,
   * cannot change anything: it is counted in {@link lateCandles} and ignored.
   */
  add(candle: Candle): readonly Candle[] {
    if (!candle.closed && !this.#forming) return NONE;
    const series = this.#seriesOf(candle.venue, candle.symbol);
    const inputMs = this.#inputMs(series, candle);
    const bucket = bucketStart(candle.openTime, this.intervalMs);
    if (bucket <= series.closedBucket || (series.active && (bucket < series.openTime || (bucket === series.openTime && candle.openTime <= series.lastOpen)))) {
      this.lateCandles++;
      return NONE;
    }
    let out: Candle[] | undefined;
    if (series.active && bucket > series.openTime) {
      // The last constituent never came: the bucket closes with what it had.
      out = [this.#bar(series, candle, true)];
      series.active = false;
      series.closedBucket = series.openTime;
    }
    if (!candle.closed) {
      (out ??= []).push(series.active ? this.#bar(series, candle, false, candle) : this.#single(bucket, candle));
      return out;
    }
    if (series.active) series.add(candle);
    else series.start(bucket, candle);
    if (candle.openTime === bucket + this.intervalMs - inputMs) {
      (out ??= []).push(this.#bar(series, candle, true));
      series.active = false;
      series.closedBucket = bucket;
    } else if (this.#forming) {
      (out ??= []).push(this.#bar(series, candle, false));
    }
    return out ?? NONE;
  }

  /** The input interval of a series, checked against the target on its first candle. */
  #inputMs(series: Series, candle: Candle): number {
    if (candle.interval !== series.inputInterval) {
      if (series.inputInterval !== undefined) {
        throw new InvariantError(
          `resampleCandles received a ${quote(candle.interval)} candle for ${series.venue} ${series.symbol} after ${quote(series.inputInterval)} candles: one series has one interval`,
        );
      }
      const problem = CandleResampler.mismatch(candle.interval, this.interval);
      if (problem !== undefined) throw new InvariantError(problem);
      series.inputInterval = candle.interval;
      series.inputMs = intervalMs(candle.interval);
    }
    if (candle.openTime % series.inputMs !== 0) {
      throw new InvariantError(
        `resampleCandles received a ${quote(candle.interval)} candle opening at ${quote(new Date(candle.openTime).toISOString())}, which is not on a ${quote(candle.interval)} boundary`,
      );
    }
    return series.inputMs;
  }

  #seriesOf(venue: string, symbol: string): Series {
    const last = this.#last;
    if (last !== undefined && last.symbol === symbol && last.venue === venue) return last;
    const id = `${venue}\u0000${symbol}`;
    let series = this.#series.get(id);
    if (series === undefined) {
      series = new Series(venue, symbol);
      this.#series.set(id, series);
    }
    this.#last = series;
    return series;
  }

  /** The bucket of `series` as of `at`; `extra` is a forming constituent counted in without being kept. */
  #bar(series: Series, at: Candle, closed: boolean, extra?: Candle): Candle {
    const decimals = this.#decimals;
    let { high, low, close } = series;
    let volume = series.volume.value(decimals);
    let quoteVolume = series.allQuote ? series.quoteVolume.value(decimals) : undefined;
    let trades = series.allTrades ? series.trades : undefined;
    let takerBuyVolume = series.allTaker ? series.takerBuyVolume.value(decimals) : undefined;
    if (extra !== undefined) {
      if (extra.high > high) high = extra.high;
      if (extra.low < low) low = extra.low;
      close = extra.close;
      // Both terms are exact at `decimals`: rounding their sum gives the exact decimal total back.
      volume = roundTo(volume + extra.volume, decimals);
      quoteVolume = quoteVolume === undefined || extra.quoteVolume === undefined ? undefined : roundTo(quoteVolume + extra.quoteVolume, decimals);
      trades = trades === undefined || extra.trades === undefined ? undefined : trades + extra.trades;
      takerBuyVolume = takerBuyVolume === undefined || extra.takerBuyVolume === undefined ? undefined : roundTo(takerBuyVolume + extra.takerBuyVolume, decimals);
    }
    const bar: Candle = {
      type: 'candle',
      venue: series.venue,
      symbol: series.symbol,
      tsEvent: at.tsEvent,
      tsRecv: at.tsRecv,
      interval: this.interval,
      openTime: series.openTime,
      closeTime: series.openTime + this.intervalMs - 1,
      open: series.open,
      high,
      low,
      close,
      volume,
      ...(quoteVolume === undefined ? {} : { quoteVolume }),
      ...(trades === undefined ? {} : { trades }),
      ...(takerBuyVolume === undefined ? {} : { takerBuyVolume }),
      closed,
    };
    if (!(bar.low <= bar.open && bar.low <= bar.close && bar.high >= bar.open && bar.high >= bar.close)) {
      throw new InvariantError(`Resampled candle ${series.symbol} ${this.interval} at ${new Date(bar.openTime).toISOString()} is inconsistent: ${JSON.stringify(bar)}`);
    }
    return bar;
  }

  /** A provisional bar made of one forming candle, when its bucket has no closed constituent yet. */
  #single(bucket: number, candle: Candle): Candle {
    const { quoteVolume, trades, takerBuyVolume } = candle;
    return {
      type: 'candle',
      venue: candle.venue,
      symbol: candle.symbol,
      tsEvent: candle.tsEvent,
      tsRecv: candle.tsRecv,
      interval: this.interval,
      openTime: bucket,
      closeTime: bucket + this.intervalMs - 1,
      open: candle.open,
      high: candle.high,
      low: candle.low,
      close: candle.close,
      volume: candle.volume,
      ...(quoteVolume === undefined ? {} : { quoteVolume }),
      ...(trades === undefined ? {} : { trades }),
      ...(takerBuyVolume === undefined ? {} : { takerBuyVolume }),
      closed: false,
    };
  }
}
