/**
 * One kline bar as the mock keeps it: OHLCV with the same arithmetic as `CandleBuilder` (volumes
 * summed with {@link VolumeSum} and rounded to 8 places), so the mock's bars equal
 * `MarketSimulator.klines()` value for value, plus the fields Binance sends and our candles do
 * not have: first and last trade id and the taker-buy quote volume.
 *
 * A bar without trades is flat at the previous close, with zero volume (Binance's convention).
 */
import type { Trade } from '../../model/index.js';
import { VolumeSum } from '../../operators/candles/volumeSum.js';

const VOLUME_DECIMALS = 8;

export class KlineBar {
  readonly intervalMs: number;
  openTime = 0;
  open = 0;
  high = 0;
  low = 0;
  close = 0;
  trades = 0;
  /** Simulator ids of the first and last trade, -1 without trades. */
  firstId = -1;
  lastId = -1;
  /** False until the bar has a price (a trade, or a previous close to be flat at). */
  started = false;
  readonly #volume = new VolumeSum();
  readonly #quoteVolume = new VolumeSum();
  readonly #takerBuyVolume = new VolumeSum();
  readonly #takerBuyQuote = new VolumeSum();

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  get closeTime(): number {
    return this.openTime + this.intervalMs - 1;
  }

  /** Starts the bar at `openTime`: flat at `previousClose`, or unstarted without one. */
  reset(openTime: number, previousClose: number | undefined): void {
    this.openTime = openTime;
    this.trades = 0;
    this.firstId = -1;
    this.lastId = -1;
    this.#volume.reset();
    this.#quoteVolume.reset();
    this.#takerBuyVolume.reset();
    this.#takerBuyQuote.reset();
    this.started = previousClose !== undefined;
    const price = previousClose ?? 0;
    this.open = price;
    this.high = price;
    this.low = price;
    this.close = price;
  }

  add(trade: Trade): void {
    const { price, qty } = trade;
    if (this.trades === 0) {
      this.open = price;
      this.high = price;
      this.low = price;
      this.firstId = trade.id;
      this.started = true;
    } else {
      if (price > this.high) this.high = price;
      if (price < this.low) this.low = price;
    }
    this.close = price;
    this.lastId = trade.id;
    this.trades++;
    const quote = price * qty;
    this.#volume.add(qty);
    this.#quoteVolume.add(quote);
    if (trade.side === 'buy') {
      this.#takerBuyVolume.add(qty);
      this.#takerBuyQuote.add(quote);
    }
  }

  get volume(): number {
    return this.#volume.value(VOLUME_DECIMALS);
  }

  get quoteVolume(): number {
    return this.#quoteVolume.value(VOLUME_DECIMALS);
  }

  get takerBuyVolume(): number {
    return this.#takerBuyVolume.value(VOLUME_DECIMALS);
  }

  get takerBuyQuoteVolume(): number {
    return this.#takerBuyQuote.value(VOLUME_DECIMALS);
  }
}
