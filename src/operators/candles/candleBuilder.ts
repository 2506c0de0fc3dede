/**
 * Trades to OHLCV candles by event time: the pure accumulator behind {@link buildCandles}.
 *
 * A bar covers `[openTime, openTime + interval)` in UTC-aligned buckets. It closes when a trade of
 * a later bucket arrives: only event time closes a bar, never the wall clock. Intervals without
 * trades become flat zero-volume bars (open = high = low = close = previous close), as Binance
 * publishes them, unless a gap was reported in between: missing data is never papered over.
 * One builder keeps one series per venue and symbol.
 */
import { InvariantError } from '../../errors.js';
import type { Candle, Gap, Trade } from '../../model/index.js';
import { bucketStart, intervalMs } from '../../model/index.js';
import { VolumeSum } from './volumeSum.js';

export interface CandleBuilderOptions {
  /** Bar length, `1s` to `1d`. */
  readonly interval: string;
  /** Emit flat zero-volume bars for intervals without trades (default true). */
  readonly fillEmpty?: boolean;
  /** Decimal places volumes are exact to (default 8, Binance's precision). */
  readonly volumeDecimals?: number;
}

const NONE: readonly Candle[] = Object.freeze([]);

/** The forming bar of one venue and symbol. */
class Series {
  readonly venue: string;
  readonly symbol: string;
  openTime = 0;
  open = 0;
  high = 0;
  low = 0;
  close = 0;
  trades = 0;
  readonly volume = new VolumeSum();
  readonly quoteVolume = new VolumeSum();
  readonly takerBuyVolume = new VolumeSum();
  /** A gap was reported since the last trade: do not fill the intervals it spans. */
  gapPending = false;
  started = false;

  constructor(venue: string, symbol: string) {
    this.venue = venue;
    this.symbol = symbol;
  }

  start(openTime: number, trade: Trade): void {
    this.started = true;
    this.openTime = openTime;
    this.open = trade.price;
    this.high = trade.price;
    this.low = trade.price;
    this.close = trade.price;
    this.trades = 0;
    this.volume.reset();
    this.quoteVolume.reset();
    this.takerBuyVolume.reset();
  }

  add(trade: Trade): void {
    const { price, qty } = trade;
    if (price > this.high) this.high = price;
    if (price < this.low) this.low = price;
    this.close = price;
    this.trades++;
    this.volume.add(qty);
    this.quoteVolume.add(price * qty);
    if (trade.side === 'buy') this.takerBuyVolume.add(qty);
  }
}

export class CandleBuilder {
  readonly interval: string;
  readonly intervalMs: number;
  readonly #fillEmpty: boolean;
  readonly #decimals: number;
  readonly #series = new Map<string, Series>();
  #last: Series | undefined;
  /** Trades that arrived after their bar had closed, and were not used. */
  lateTrades = 0;

  constructor(options: CandleBuilderOptions) {
    this.interval = options.interval;
    this.intervalMs = intervalMs(options.interval);
    this.#fillEmpty = options.fillEmpty ?? true;
    this.#decimals = options.volumeDecimals ?? 8;
  }

  /**
   * Adds a trade. Returns the bars it closed, oldest first (usually none). A trade older than the
   * forming bar cannot change a closed bar: it is counted in {@link lateTrades} and ignored.
   */
  add(trade: Trade): readonly Candle[] {
    const series = this.#seriesOf(trade.venue, trade.symbol);
    const openTime = bucketStart(trade.tsEvent, this.intervalMs);
    if (!series.started) {
      series.start(openTime, trade);
      series.add(trade);
      return NONE;
    }
    if (openTime === series.openTime) {
      series.add(trade);
      return NONE;
    }
    if (openTime < series.openTime) {
      this.lateTrades++;
      return NONE;
    }
    const closed: Candle[] = [this.#candle(series, series.openTime, true, trade)];
    if (this.#fillEmpty && !series.gapPending) {
      for (let t = series.openTime + this.intervalMs; t < openTime; t += this.intervalMs) {
        closed.push(this.#flat(series, t, trade));
      }
    }
    series.gapPending = false;
    series.start(openTime, trade);
    series.add(trade);
    return closed;
  }

  /** A gap was reported: the intervals it spans stay missing instead of being filled. */
  gap(event: Gap): void {
    for (const series of this.#series.values()) {
      if (series.venue === event.venue && (event.symbol === '*' || series.symbol === event.symbol)) series.gapPending = true;
    }
  }

  /** The forming bar of a venue and symbol as of `trade`, or undefined before the first trade. */
  forming(trade: Trade): Candle | undefined {
    const series = this.#series.get(key(trade.venue, trade.symbol));
    return series === undefined || !series.started ? undefined : this.#candle(series, series.openTime, false, trade);
  }

  #seriesOf(venue: string, symbol: string): Series {
    const last = this.#last;
    if (last !== undefined && last.symbol === symbol && last.venue === venue) return last;
    const id = key(venue, symbol);
    let series = this.#series.get(id);
    if (series === undefined) {
      series = new Series(venue, symbol);
      this.#series.set(id, series);
    }
    this.#last = series;
    return series;
  }

  #candle(series: Series, openTime: number, closed: boolean, at: Trade): Candle {
    const candle: Candle = {
      type: 'candle',
      venue: series.venue,
      symbol: series.symbol,
      tsEvent: at.tsEvent,
      tsRecv: at.tsRecv,
      interval: this.interval,
      openTime,
      closeTime: openTime + this.intervalMs - 1,
      open: series.open,
      high: series.high,
      low: series.low,
      close: series.close,
      volume: series.volume.value(this.#decimals),
      quoteVolume: series.quoteVolume.value(this.#decimals),
      trades: series.trades,
      takerBuyVolume: series.takerBuyVolume.value(this.#decimals),
      closed,
    };
    if (!(candle.low <= candle.open && candle.low <= candle.close && candle.high >= candle.open && candle.high >= candle.close)) {
      throw new InvariantError(`Candle ${series.symbol} ${this.interval} at ${new Date(openTime).toISOString()} is inconsistent: ${JSON.stringify(candle)}`);
    }
    return candle;
  }

  #flat(series: Series, openTime: number, at: Trade): Candle {
    const price = series.close;
    return {
      type: 'candle',
      venue: series.venue,
      symbol: series.symbol,
      tsEvent: at.tsEvent,
      tsRecv: at.tsRecv,
      interval: this.interval,
      openTime,
      closeTime: openTime + this.intervalMs - 1,
      open: price,
      high: price,
      low: price,
      close: price,
      volume: 0,
      quoteVolume: 0,
      trades: 0,
      takerBuyVolume: 0,
      closed: true,
    };
  }
}

function key(venue: string, symbol: string): string {
  return `${venue}\u0000${symbol}`;
}
