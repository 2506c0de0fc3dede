/**
 * Everything the mock exchange knows about one symbol of one market: the trade simulator (with
 * its full history), the order book, the kline bars being pushed, the depth windows being
 * collected and, on USD-M, mark price, funding and liquidations.
 *
 * Time is the exchange's: {@link SymbolSim.runUntil} makes every event up to a time happen, in
 * time order (trades, book changes, liquidations), and {@link SymbolSim.onGrid} fires what
 * Binance pushes on a schedule (depth windows, kline updates, mark price). The data depends only
 * on the seed and on time, never on who is subscribed: random numbers are drawn whether or not
 * anyone listens, and nothing is serialized for a stream without subscribers.
 */
import type { Trade } from '../../model/index.js';
import { bucketStart } from '../../model/index.js';
import type { MarketSimulatorOptions } from '../../sources/simulator/marketSimulator.js';
import { MarketSimulator } from '../../sources/simulator/marketSimulator.js';
import { SeededRandom } from '../../sources/simulator/seededRandom.js';
import { decimalsOfStep, formatDecimal, intText, UnitsFormatter } from './decimalFormat.js';
import { KlineBar } from './klineBar.js';
import type { BookChange } from './orderBookSim.js';
import { OrderBookSim } from './orderBookSim.js';
import type { AggTradeRow, LevelRow, LiquidationSample, MarkState, SymbolFormat } from './payloads.js';
import {
  aggTradePayload,
  aggTradeRow,
  bookTickerPayload,
  depthUpdatePayload,
  forceOrderPayload,
  klinePayload,
  levelsJson,
  markPricePayload,
  spotPartialDepthPayload,
  tradePayload,
} from './payloads.js';
import type { StreamChannel } from './streamChannel.js';
import type { MockMarket, StreamSpec } from './streamNames.js';

/** Book settings of one symbol. */
export interface BookSettings {
  /** Levels per side. */
  readonly levels: number;
  /** Book changes per second between trades (Poisson). */
  readonly updatesPerSecond: number;
  /** Mean distance between adjacent levels in ticks; derived from the price when absent. */
  readonly gapTicks?: number | undefined;
  /** Median quantity of a level (base units); derived from the trade size when absent. */
  readonly medianQty?: number | undefined;
}

export interface SymbolSimConfig {
  readonly market: MockMarket;
  /** Simulator options, `symbol`, `seed` and `startTime` included. */
  readonly simulator: MarketSimulatorOptions;
  /** Seed of the book, funding and liquidation draws. */
  readonly seed: number;
  readonly book: BookSettings;
  /** Expected liquidations an hour (USD-M). */
  readonly liquidationsPerHour: number;
  /** Funding interval (USD-M), ms. */
  readonly fundingIntervalMs: number;
  /** Overrides every kline stream's push cadence, ms (a multiple of 50). */
  readonly klineUpdateMs: number | undefined;
  /** Raw trade id = simulator id + this. */
  readonly tradeIdOffset: number;
  /** Book update id before the first update. */
  readonly firstUpdateId: number;
}

/** Streams shared by every symbol of a USD-M exchange. */
export interface SharedChannels {
  readonly allBookTicker: StreamChannel | undefined;
  readonly allForceOrder: StreamChannel | undefined;
}

/** A book snapshot as `/api/v3/depth` returns it. */
export interface DepthSnapshot {
  readonly lastUpdateId: number;
  /** Time of the last update. */
  readonly time: number;
  readonly bids: readonly LevelRow[];
  readonly asks: readonly LevelRow[];
}

/** One funding settlement, as `/fapi/v1/fundingRate` returns it. */
export interface FundingRecord {
  readonly symbol: string;
  readonly fundingRate: string;
  readonly fundingTime: number;
  readonly markPrice: string;
}

interface KlineTracker {
  readonly channel: StreamChannel;
  readonly interval: string;
  readonly pushMs: number;
  readonly bar: KlineBar;
}

/** Book changes of one depth cadence since its last push. */
interface DepthCadence {
  readonly cadence: number;
  readonly diff: StreamChannel[];
  readonly partial: StreamChannel[];
  firstId: number;
  lastId: number;
  lastTime: number;
  /** `u` of the previous event of this cadence (USD-M `pu`). */
  prevU: number;
  readonly bids: Map<number, number>;
  readonly asks: Map<number, number>;
}

const SECOND_MS = 1_000;
const HOUR_MS = 3_600_000;
/** A liquidation fills this far from the last price on average (relative). */
const LIQUIDATION_SLIPPAGE = 0.002;

export class SymbolSim {
  /** Canonical (`BTC-USDT`), Binance (`BTCUSDT`) and stream (`btcusdt`) spellings. */
  readonly canonical: string;
  readonly binance: string;
  readonly lower: string;
  readonly format: SymbolFormat;
  readonly sim: MarketSimulator;
  readonly book: OrderBookSim;
  readonly tickSize: number;
  readonly lotSize: number;

  readonly #market: MockMarket;
  readonly #random: SeededRandom;
  readonly #shared: SharedChannels;
  readonly #priceScale: number;
  readonly #lotScale: number;
  readonly #lotUnits: number;
  readonly #spreadUnits: number;
  readonly #klineUpdateMs: number | undefined;

  #trade: StreamChannel | undefined;
  #aggTrade: StreamChannel | undefined;
  #bookTicker: StreamChannel | undefined;
  readonly #markChannels: StreamChannel[] = [];
  #forceOrder: StreamChannel | undefined;
  readonly #klines = new Map<string, KlineTracker>();
  readonly #depth = new Map<number, DepthCadence>();

  /** The last trade time and its text (trades share milliseconds). */
  #lastTime = -1;
  #lastTimeText = '';

  // Best bid and ask last published (price units, lots).
  #topBid = 0;
  #topBidLots = 0;
  #topAsk = 0;
  #topAskLots = 0;

  #noiseClock: number;
  readonly #noiseMeanMs: number;
  #nextNoiseAt: number;
  #liquidationClock: number;
  readonly #liquidationMeanMs: number;
  #nextLiquidationAt: number;
  #pendingLiquidation: LiquidationSample | undefined;
  liquidations = 0;

  // USD-M mark price and funding.
  readonly #fundingIntervalMs: number;
  #premium = 0;
  #mark: MarkState | undefined;
  #nextFundingTime = 0;
  readonly #funding: FundingRecord[] = [];

  constructor(config: SymbolSimConfig, shared: SharedChannels) {
    this.#market = config.market;
    this.#shared = shared;
    this.sim = new MarketSimulator(config.simulator);
    const p = this.sim.params;
    this.canonical = this.sim.symbol;
    this.binance = this.canonical.replace('-', '');
    this.lower = this.binance.toLowerCase();
    this.tickSize = p.tickSize;
    this.lotSize = p.lotSize;
    const priceDecimals = decimalsOfStep(p.tickSize);
    const lotDecimals = decimalsOfStep(p.lotSize);
    const usdm = config.market === 'usdm';
    this.format = {
      symbol: this.binance,
      usdm,
      prices: new UnitsFormatter(priceDecimals, usdm ? priceDecimals : 8),
      quantities: new UnitsFormatter(lotDecimals, usdm ? lotDecimals : 8),
      tradeIdOffset: config.tradeIdOffset,
    };
    this.#priceScale = 10 ** priceDecimals;
    this.#lotScale = 10 ** lotDecimals;
    const tickUnits = Math.round(p.tickSize * this.#priceScale);
    this.#lotUnits = Math.round(p.lotSize * this.#lotScale);
    this.#spreadUnits = p.spreadTicks * tickUnits;
    this.#klineUpdateMs = config.klineUpdateMs;
    this.#fundingIntervalMs = config.fundingIntervalMs;

    this.#random = new SeededRandom(config.seed);
    const medianQty = config.book.medianQty ?? p.qtyMedian * 50;
    const gapTicks = config.book.gapTicks ?? Math.max(1, Math.round((p.startPrice * 1e-5) / p.tickSize));
    this.book = new OrderBookSim({
      random: this.#random,
      tickUnits,
      levels: config.book.levels,
      gapTicks,
      medianLots: Math.max(1, Math.round(medianQty / p.lotSize)),
      lotSigma: 1,
      firstUpdateId: config.firstUpdateId,
      maxIdSkip: usdm ? 4 : 0,
      onUpdate: (id, time, changes) => {
        this.#onBookUpdate(id, time, changes);
      },
    });
    const bestBid = Math.max(tickUnits, Math.floor((p.startPrice * this.#priceScale) / tickUnits) * tickUnits);
    this.book.init(bestBid, bestBid + this.#spreadUnits, p.startTime);
    this.#rememberTop();

    this.#noiseMeanMs = config.book.updatesPerSecond > 0 ? SECOND_MS / config.book.updatesPerSecond : Number.POSITIVE_INFINITY;
    this.#noiseClock = p.startTime + this.#random.exponential(this.#noiseMeanMs);
    this.#nextNoiseAt = Math.floor(this.#noiseClock);
    this.#liquidationMeanMs = usdm && config.liquidationsPerHour > 0 ? HOUR_MS / config.liquidationsPerHour : Number.POSITIVE_INFINITY;
    this.#liquidationClock = p.startTime + this.#random.exponential(this.#liquidationMeanMs);
    this.#nextLiquidationAt = Math.floor(this.#liquidationClock);
    if (usdm) this.#nextFundingTime = bucketStart(p.startTime, this.#fundingIntervalMs) + this.#fundingIntervalMs;
  }

  /** Makes every event with a time up to `limit` (inclusive, integer ms) happen, in time order. */
  runUntil(limit: number): void {
    const sim = this.sim;
    for (;;) {
      const tradeAt = sim.peek().tsEvent;
      const noiseAt = this.#nextNoiseAt;
      const liquidationAt = this.#nextLiquidationAt;
      if (tradeAt <= noiseAt && tradeAt <= liquidationAt) {
        if (tradeAt > limit) break;
        this.#onTrade(sim.next());
      } else if (noiseAt <= liquidationAt) {
        if (noiseAt > limit) break;
        this.book.noise(noiseAt);
        this.#noiseClock += this.#random.exponential(this.#noiseMeanMs);
        this.#nextNoiseAt = Math.floor(this.#noiseClock);
      } else {
        if (liquidationAt > limit) break;
        this.#liquidate(liquidationAt);
        this.#liquidationClock += this.#random.exponential(this.#liquidationMeanMs);
        this.#nextLiquidationAt = Math.floor(this.#liquidationClock);
      }
    }
  }

  /** Scheduled pushes at grid time `g` (a multiple of 50 ms); every event before `g` has happened. */
  onGrid(g: number): void {
    for (const depth of this.#depth.values()) {
      if (g % depth.cadence === 0) this.#flushDepth(depth, g);
    }
    for (const tracker of this.#klines.values()) this.#pushKline(tracker, g);
    if (this.#market === 'usdm' && g % SECOND_MS === 0) this.#onSecond(g);
  }

  /** Starts serving a stream of this symbol through `channel` (its first subscriber arrived). */
  activate(spec: StreamSpec, channel: StreamChannel, now: number): void {
    switch (spec.kind) {
      case 'trade':
        this.#trade = channel;
        return;
      case 'aggTrade':
        this.#aggTrade = channel;
        return;
      case 'bookTicker':
        this.#bookTicker = channel;
        return;
      case 'forceOrder':
        this.#forceOrder = channel;
        return;
      case 'markPrice':
        this.#markChannels.push(channel);
        return;
      case 'kline': {
        const bar = this.#currentBar(spec.intervalMs, now);
        this.#klines.set(spec.interval, { channel, interval: spec.interval, pushMs: this.#klineUpdateMs ?? spec.cadenceMs, bar });
        return;
      }
      case 'diffDepth':
      case 'partialDepth': {
        let depth = this.#depth.get(spec.cadenceMs);
        if (depth === undefined) {
          const id = this.book.lastUpdateId;
          depth = { cadence: spec.cadenceMs, diff: [], partial: [], firstId: 0, lastId: id, lastTime: now, prevU: id, bids: new Map(), asks: new Map() };
          this.#depth.set(spec.cadenceMs, depth);
          this.book.recording = true;
        }
        (spec.kind === 'diffDepth' ? depth.diff : depth.partial).push(channel);
        return;
      }
      default:
        return;
    }
  }

  /** Stops serving a stream (its last subscriber left). */
  deactivate(spec: StreamSpec, channel: StreamChannel): void {
    switch (spec.kind) {
      case 'trade':
        this.#trade = undefined;
        return;
      case 'aggTrade':
        this.#aggTrade = undefined;
        return;
      case 'bookTicker':
        this.#bookTicker = undefined;
        return;
      case 'forceOrder':
        this.#forceOrder = undefined;
        return;
      case 'markPrice':
        removeFrom(this.#markChannels, channel);
        return;
      case 'kline':
        this.#klines.delete(spec.interval);
        return;
      case 'diffDepth':
      case 'partialDepth': {
        const depth = this.#depth.get(spec.cadenceMs);
        if (depth === undefined) return;
        removeFrom(spec.kind === 'diffDepth' ? depth.diff : depth.partial, channel);
        if (depth.diff.length === 0 && depth.partial.length === 0) this.#depth.delete(spec.cadenceMs);
        this.book.recording = this.#depth.size > 0;
        return;
      }
      default:
        return;
    }
  }

  /** The best `limit` levels per side, as `/api/v3/depth` returns them. */
  depthSnapshot(limit: number): DepthSnapshot {
    return {
      lastUpdateId: this.book.lastUpdateId,
      time: this.book.lastUpdateTime,
      bids: this.book.top(true, limit).map(([p, lots]) => this.#level(p, lots)),
      asks: this.book.top(false, limit).map(([p, lots]) => this.#level(p, lots)),
    };
  }

  /**
   * Bars of `intervalMs` with Binance's REST semantics: open times in `[startTime, endTime]`, at
   * most `limit`, the first ones from `startTime` or else the last ones. The last bar is the one
   * forming at `now` (every event before `now` has happened).
   */
  klineBars(intervalMs: number, now: number, limit: number, startTime?: number, endTime?: number): KlineBar[] {
    const range = this.sim.historyRange();
    if (range === undefined || limit <= 0) return [];
    const first = bucketStart(range.firstTime, intervalMs) + (range.dropped > 0 ? intervalMs : 0);
    const lastBucket = bucketStart(now, intervalMs);
    let lo = startTime === undefined ? first : Math.max(first, bucketStart(startTime + intervalMs - 1, intervalMs));
    let hi = endTime === undefined ? lastBucket : Math.min(lastBucket, bucketStart(endTime, intervalMs));
    if (startTime !== undefined) hi = Math.min(hi, lo + (limit - 1) * intervalMs);
    else lo = Math.max(lo, hi - (limit - 1) * intervalMs);
    if (lo > hi) return [];
    return this.#buildBars(intervalMs, lo, hi);
  }

  /** Aggregate trades as `/api/v3/aggTrades` returns them. */
  aggTradesFromId(fromId: number, limit: number): AggTradeRow[] {
    const range = this.sim.historyRange();
    if (range === undefined || fromId > range.lastId) return [];
    return this.sim.tradesFromId(fromId, limit).map((trade) => aggTradeRow(this.format, trade));
  }

  aggTradesBetween(startTime: number, endTime: number, limit: number): AggTradeRow[] {
    return this.sim.tradesBetween(startTime, endTime, limit).map((trade) => aggTradeRow(this.format, trade));
  }

  aggTradesLatest(limit: number): AggTradeRow[] {
    const range = this.sim.historyRange();
    if (range === undefined) return [];
    return this.aggTradesFromId(Math.max(range.firstId, range.lastId - limit + 1), limit);
  }

  /** Current mark price and funding (USD-M), undefined before the first second with a book. */
  mark(): MarkState | undefined {
    return this.#mark;
  }

  /** Funding settlements so far, oldest first (USD-M). */
  fundingHistory(): readonly FundingRecord[] {
    return this.#funding;
  }

  #onTrade(trade: Trade): void {
    const priceUnits = Math.round(trade.price * this.#priceScale);
    const lots = Math.max(1, Math.round((trade.qty * this.#lotScale) / this.#lotUnits));
    this.book.trade(trade.tsEvent, priceUnits, trade.side === 'buy', lots, this.#spreadUnits);
    const aggTrade = this.#aggTrade;
    const raw = this.#trade;
    if (aggTrade !== undefined || raw !== undefined) {
      if (trade.tsEvent !== this.#lastTime) {
        this.#lastTime = trade.tsEvent;
        this.#lastTimeText = intText(trade.tsEvent);
      }
      if (aggTrade !== undefined) aggTrade.publish(aggTradePayload(this.format, trade, this.#lastTimeText));
      if (raw !== undefined) raw.publish(tradePayload(this.format, trade, this.#lastTimeText));
    }
    if (this.#klines.size > 0) for (const tracker of this.#klines.values()) tracker.bar.add(trade);
  }

  #onBookUpdate(id: number, time: number, changes: readonly BookChange[]): void {
    for (const depth of this.#depth.values()) {
      if (depth.firstId === 0) depth.firstId = id;
      depth.lastId = id;
      depth.lastTime = time;
      for (const change of changes) (change.bid ? depth.bids : depth.asks).set(change.price, change.lots);
    }
    const book = this.book;
    const bid = book.bestBid;
    const ask = book.bestAsk;
    const bidLots = book.bestBidLots;
    const askLots = book.bestAskLots;
    if (bid === this.#topBid && ask === this.#topAsk && bidLots === this.#topBidLots && askLots === this.#topAskLots) return;
    this.#rememberTop();
    const single = this.#bookTicker;
    const all = this.#shared.allBookTicker;
    const allActive = all !== undefined && all.active;
    if (single === undefined && !allActive) return;
    const payload = bookTickerPayload(this.format, id, time, this.#level(bid, bidLots), this.#level(ask, askLots));
    if (single !== undefined) single.publish(payload);
    if (allActive) all.publish(payload);
  }

  #rememberTop(): void {
    const book = this.book;
    this.#topBid = book.bestBid;
    this.#topAsk = book.bestAsk;
    this.#topBidLots = book.bestBidLots;
    this.#topAskLots = book.bestAskLots;
  }

  #flushDepth(depth: DepthCadence, g: number): void {
    const f = this.format;
    const changed = depth.firstId !== 0;
    if (changed && depth.diff.length > 0) {
      const bids = levelsJson(this.#sortedLevels(depth.bids, true));
      const asks = levelsJson(this.#sortedLevels(depth.asks, false));
      const payload = depthUpdatePayload(f, g, depth.lastTime, depth.firstId, depth.lastId, depth.prevU, bids, asks);
      for (const channel of depth.diff) channel.publish(payload);
    }
    const id = this.book.lastUpdateId;
    for (const channel of depth.partial) {
      const n = channel.spec.levels;
      const bids = levelsJson(this.book.top(true, n).map(([p, lots]) => this.#level(p, lots)));
      const asks = levelsJson(this.book.top(false, n).map(([p, lots]) => this.#level(p, lots)));
      const payload = f.usdm
        ? depthUpdatePayload(f, g, depth.lastTime, changed ? depth.firstId : id, id, depth.prevU, bids, asks)
        : spotPartialDepthPayload(id, bids, asks);
      channel.publish(payload);
    }
    if (changed) {
      depth.prevU = depth.lastId;
      depth.firstId = 0;
      depth.bids.clear();
      depth.asks.clear();
    }
  }

  #sortedLevels(levels: Map<number, number>, bids: boolean): LevelRow[] {
    const prices = [...levels.keys()].sort(bids ? (a, b) => b - a : (a, b) => a - b);
    return prices.map((p) => this.#level(p, levels.get(p) ?? 0));
  }

  #level(priceUnits: number, lots: number): LevelRow {
    return [this.format.prices.units(priceUnits), this.format.quantities.units(lots * this.#lotUnits)];
  }

  #pushKline(tracker: KlineTracker, g: number): void {
    const bar = tracker.bar;
    if (g >= bar.openTime + bar.intervalMs) {
      if (bar.started) tracker.channel.publish(klinePayload(this.format, bar, tracker.interval, g, true));
      bar.reset(bucketStart(g, bar.intervalMs), bar.started ? bar.close : undefined);
    } else if (g % tracker.pushMs === 0 && bar.started) {
      tracker.channel.publish(klinePayload(this.format, bar, tracker.interval, g, false));
    }
  }

  /** The bar forming at `now`, built from the history. */
  #currentBar(intervalMs: number, now: number): KlineBar {
    const openTime = bucketStart(now, intervalMs);
    const built = this.#buildBars(intervalMs, openTime, openTime)[0];
    if (built !== undefined) return built;
    const bar = new KlineBar(intervalMs);
    bar.reset(openTime, undefined);
    return bar;
  }

  /** Bars opening from `lo` to `hi`, flat at the previous close when empty; none before the first trade. */
  #buildBars(intervalMs: number, lo: number, hi: number): KlineBar[] {
    let previousClose = this.#lastTradeBefore(lo)?.price;
    const trades = this.sim.tradesBetween(lo, hi + intervalMs - 1);
    const bars: KlineBar[] = [];
    let i = 0;
    for (let open = lo; open <= hi; open += intervalMs) {
      const bar = new KlineBar(intervalMs);
      bar.reset(open, previousClose);
      const end = open + intervalMs;
      for (let trade = trades[i]; trade !== undefined && trade.tsEvent < end; trade = trades[++i]) bar.add(trade);
      if (bar.started) {
        bars.push(bar);
        previousClose = bar.close;
      }
    }
    return bars;
  }

  /** The last retained trade before `time`, by binary search over the (consecutive) ids. */
  #lastTradeBefore(time: number): Trade | undefined {
    const range = this.sim.historyRange();
    if (range === undefined || range.firstTime >= time) return undefined;
    let lo = range.firstId;
    let hi = range.lastId;
    while (lo < hi) {
      const mid = lo + Math.ceil((hi - lo) / 2);
      const trade = this.sim.tradesFromId(mid, 1)[0];
      if (trade !== undefined && trade.tsEvent < time) lo = mid;
      else hi = mid - 1;
    }
    return this.sim.tradesFromId(lo, 1)[0];
  }

  #liquidate(time: number): void {
    const random = this.#random;
    const last = this.sim.lastTrade();
    if (last === undefined) return;
    // SELL liquidates a long: more likely while takers sell (the price is falling).
    const sell = random.uniform() < (last.side === 'sell' ? 0.7 : 0.3);
    const slip = LIQUIDATION_SLIPPAGE * random.exponential();
    const limit = this.#toTick(last.price * (sell ? 1 - slip : 1 + slip));
    const average = this.#toTick(last.price * (sell ? 1 - slip / 2 : 1 + slip / 2));
    const lots = Math.max(1, Math.round(Math.exp(Math.log(Math.max(1, this.sim.params.qtyMedian / this.lotSize)) + 1.2 * random.normal())));
    const qty = (lots * this.#lotUnits) / this.#lotScale;
    this.#pendingLiquidation = { time, side: sell ? 'SELL' : 'BUY', qty, price: limit, avgPrice: average };
    this.liquidations++;
  }

  /** The nearest price on the tick grid (at least one tick). */
  #toTick(value: number): number {
    const tickUnits = Math.round(this.tickSize * this.#priceScale);
    return (Math.max(1, Math.round((value * this.#priceScale) / tickUnits)) * tickUnits) / this.#priceScale;
  }

  /** USD-M: mark price, funding and the liquidation window, once a second. */
  #onSecond(g: number): void {
    const random = this.#random;
    // Drawn every second whatever is subscribed, so the data depends on time only.
    const premiumShock = random.normal();
    const indexShock = random.normal();
    const bid = this.book.bestBid;
    const ask = this.book.bestAsk;
    if (bid > 0 && ask > 0) {
      this.#premium = Math.max(-0.003, Math.min(0.003, this.#premium * 0.98 + 2e-5 * premiumShock));
      const mid = (bid + ask) / 2 / this.#priceScale;
      const index = round8(mid * (1 + 1e-5 * indexShock));
      const markPrice = round8(index * (1 + this.#premium));
      const fundingRate = round8(Math.max(-0.0075, Math.min(0.0075, 0.0001 + this.#premium / 3)));
      const previous = this.#mark;
      const averageMark = round8(previous === undefined ? markPrice : previous.averageMark + (markPrice - previous.averageMark) / 10);
      while (g >= this.#nextFundingTime) {
        this.#funding.push({ symbol: this.binance, fundingRate: formatDecimal(fundingRate, 8), fundingTime: this.#nextFundingTime, markPrice: formatDecimal(markPrice, 8) });
        this.#nextFundingTime += this.#fundingIntervalMs;
      }
      this.#mark = { time: g, markPrice, indexPrice: index, settlePrice: index, fundingRate, nextFundingTime: this.#nextFundingTime, averageMark };
      const mark = this.#mark;
      for (const channel of this.#markChannels) {
        if (g % channel.spec.cadenceMs === 0) channel.publish(markPricePayload(this.format, mark));
      }
    }
    const liquidation = this.#pendingLiquidation;
    if (liquidation !== undefined) {
      this.#pendingLiquidation = undefined;
      const all = this.#shared.allForceOrder;
      const single = this.#forceOrder;
      const allActive = all !== undefined && all.active;
      if (single !== undefined || allActive) {
        const payload = forceOrderPayload(this.format, g, liquidation);
        if (single !== undefined) single.publish(payload);
        if (allActive) all.publish(payload);
      }
    }
  }
}

function round8(value: number): number {
  return Math.round(value * 1e8) / 1e8;
}

function removeFrom<T>(list: T[], item: T): void {
  const index = list.indexOf(item);
  if (index >= 0) list.splice(index, 1);
}
