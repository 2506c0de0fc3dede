/**
 * A seeded order book for one symbol that follows the simulator's trades.
 *
 * Prices are integers in units of the price grid (`price * 10^decimals`), quantities integers in
 * lots. Each side keeps about `levels` levels, best first, spaced by random gaps of `gapTicks`
 * ticks on average. The book changes by **updates**, each with a new update id, in two ways:
 *
 * - a trade re-centres the book on it (the taker's side of the book moved to the trade price, the
 *   other side one spread away): crossed levels go, the new best levels come in, the traded level
 *   loses the traded quantity (refilled when it is used up), and the far ends are trimmed or
 *   extended back to `levels`;
 * - between trades, a Poisson stream of small changes: a level's quantity changes, a level is
 *   added inside the book, or one (never the best) is removed.
 *
 * Spot ids are contiguous (next `U` = previous `u` + 1); USD-M ids skip a few numbers between
 * updates, as the real ones do, so clients must chain events with `pu`. Each update is reported
 * to `onUpdate`, with its changes (quantity 0 = level removed) when `recording` is on, which is
 * how depth streams and the REST snapshot stay consistent.
 *
 * Sizes and gaps come from tables drawn once from the seed (4096 log-normal sizes, 4096
 * exponential gaps) and picked with one 32-bit draw each: the book follows every trade, so its
 * draws must be cheap.
 */
import type { SeededRandom } from '../../sources/simulator/seededRandom.js';

/** One level change: `lots` is the new absolute quantity, 0 to remove the level. */
export interface BookChange {
  readonly bid: boolean;
  readonly price: number;
  readonly lots: number;
}

export interface OrderBookSimOptions {
  readonly random: SeededRandom;
  /** Price grid step in price units (integer). */
  readonly tickUnits: number;
  /** Levels kept per side. */
  readonly levels: number;
  /** Mean distance between adjacent levels, in ticks (>= 1). */
  readonly gapTicks: number;
  /** Median quantity of a level, in lots, and the log-sd of level quantities. */
  readonly medianLots: number;
  readonly lotSigma: number;
  /** Id of the state before the first update. */
  readonly firstUpdateId: number;
  /** USD-M: ids skip up to this many numbers between updates (0 = contiguous). */
  readonly maxIdSkip: number;
  readonly onUpdate: (updateId: number, time: number, changes: readonly BookChange[]) => void;
}

const TABLE_SIZE = 4_096;
/** Most levels filled in between when the best price jumps (noise fills the rest over time). */
const MAX_FILL = 16;
const NO_CHANGES: readonly BookChange[] = Object.freeze([]);

/**
 * One side of the book, stored worst first so the best level is the last element: trades add and
 * remove levels at the best end (push, pop) and trim or extend the far end (shift, unshift),
 * without allocating.
 */
class Side {
  readonly bid: boolean;
  readonly prices: number[] = [];
  readonly lots: number[] = [];

  constructor(bid: boolean) {
    this.bid = bid;
  }

  get size(): number {
    return this.prices.length;
  }

  /** Best price, undefined when empty. */
  get best(): number | undefined {
    return this.prices[this.prices.length - 1];
  }

  /** True when `a` is a better price than `b` on this side. */
  better(a: number, b: number): boolean {
    return this.bid ? a > b : a < b;
  }

  /** A price `distance` further from the best than `price`. */
  away(price: number, distance: number): number {
    return this.bid ? price - distance : price + distance;
  }
}

export class OrderBookSim {
  readonly #bids = new Side(true);
  readonly #asks = new Side(false);
  #lastUpdateId: number;
  #lastUpdateTime = 0;
  readonly #o: OrderBookSimOptions;
  readonly #sizes = new Float64Array(TABLE_SIZE);
  readonly #gaps = new Float64Array(TABLE_SIZE);
  #changes: BookChange[] = [];
  #changed = false;
  /** Scratch list of the prices filled in by one move of the best price. */
  readonly #fill: number[] = [];
  /** Whether updates carry their changes (only depth streams need them; the book changes either way). */
  recording = false;

  constructor(options: OrderBookSimOptions) {
    this.#o = options;
    this.#lastUpdateId = options.firstUpdateId;
    const random = options.random;
    const mu = Math.log(Math.max(1, options.medianLots));
    for (let i = 0; i < TABLE_SIZE; i++) {
      this.#sizes[i] = Math.max(1, Math.round(Math.exp(mu + options.lotSigma * random.normal())));
      this.#gaps[i] = Math.max(1, Math.round(random.exponential(options.gapTicks))) * options.tickUnits;
    }
  }

  get lastUpdateId(): number {
    return this.#lastUpdateId;
  }

  get lastUpdateTime(): number {
    return this.#lastUpdateTime;
  }

  /** Best bid and ask price (units) and quantity (lots); 0 when a side is empty. */
  get bestBid(): number {
    return this.#bids.best ?? 0;
  }

  get bestBidLots(): number {
    return this.#bids.lots[this.#bids.size - 1] ?? 0;
  }

  get bestAsk(): number {
    return this.#asks.best ?? 0;
  }

  get bestAskLots(): number {
    return this.#asks.lots[this.#asks.size - 1] ?? 0;
  }

  /** Fills both sides around a best bid and ask, without an update (the state before any client). */
  init(bestBid: number, bestAsk: number, time: number): void {
    this.#pushBest(this.#bids, bestBid, this.#drawLots());
    this.#pushBest(this.#asks, bestAsk, this.#drawLots());
    this.#rebalance(this.#bids);
    this.#rebalance(this.#asks);
    this.#changes = [];
    this.#changed = false;
    this.#lastUpdateTime = time;
  }

  /** Re-centres the book on a trade (see the module doc). */
  trade(time: number, price: number, buy: boolean, lots: number, spreadUnits: number): void {
    const bestBid = buy ? price - spreadUnits : price;
    const bestAsk = bestBid + spreadUnits;
    const bids = this.#bids;
    const asks = this.#asks;
    while (bids.size > 0 && (bids.best as number) > bestBid) this.#popBest(bids);
    while (asks.size > 0 && (asks.best as number) < bestAsk) this.#popBest(asks);
    if (bestBid > 0) this.#ensureBest(bids, bestBid);
    this.#ensureBest(asks, bestAsk);
    // The traded level loses the traded quantity; a used-up level is refilled by new orders.
    const taken = buy ? asks : bids;
    if (taken.best === price) {
      const top = taken.size - 1;
      const resting = taken.lots[top] as number;
      this.#setAt(taken, top, resting > lots ? resting - lots : this.#drawLots());
    }
    this.#rebalance(bids);
    this.#rebalance(asks);
    this.#commit(time);
  }

  /** One small change between trades. */
  noise(time: number): void {
    const random = this.#o.random;
    const side = random.nextUint32() & 1 ? this.#bids : this.#asks;
    const count = side.size;
    if (count === 0) return;
    // Activity concentrates near the top of the book: `depth` levels from the best.
    const depth = Math.min(count - 1, Math.floor(random.exponential(Math.max(1, count / 5))));
    const index = count - 1 - depth;
    const at = side.prices[index] as number;
    const action = random.uniform();
    if (action < 0.6 || count < 3) {
      this.#setAt(side, index, this.#drawLots());
    } else if (action < 0.8 && depth > 0) {
      this.#removeAt(side, index);
      this.#rebalance(side);
    } else {
      // A new level between this one and the next one away from the best.
      const next = side.prices[index - 1];
      const tick = this.#o.tickUnits;
      const distance = next === undefined ? 0 : Math.abs(next - at);
      if (distance > tick) {
        const offset = (1 + Math.floor(random.uniform() * (distance / tick - 1))) * tick;
        this.#insertAt(side, index, side.away(at, offset), this.#drawLots());
        this.#rebalance(side);
      } else {
        this.#setAt(side, index, this.#drawLots());
      }
    }
    this.#commit(time);
  }

  /** The best `limit` levels of a side, best first, as `[price units, lots]`. */
  top(bid: boolean, limit: number): [number, number][] {
    const side = bid ? this.#bids : this.#asks;
    const n = Math.min(limit, side.size);
    const out: [number, number][] = new Array<[number, number]>(n);
    for (let i = 0; i < n; i++) {
      const index = side.size - 1 - i;
      out[i] = [side.prices[index] as number, side.lots[index] as number];
    }
    return out;
  }

  #ensureBest(side: Side, price: number): void {
    const best = side.best;
    if (best === price) return;
    // Crossed levels are gone, so the book moved towards `price`: orders fill in between,
    // `gapTicks` apart on average, up to MAX_FILL of them.
    const fill = this.#fill;
    fill.length = 0;
    if (best !== undefined) {
      const most = Math.min(this.#o.levels, MAX_FILL);
      for (let at = side.away(price, this.#gap()); side.better(at, best) && fill.length < most; at = side.away(at, this.#gap())) fill.push(at);
    }
    // Near to far was drawn; the side is stored far to near.
    for (let i = fill.length - 1; i >= 0; i--) this.#pushBest(side, fill[i] as number, this.#drawLots());
    this.#pushBest(side, price, this.#drawLots());
  }

  /** Trims the far end beyond `levels`, or extends it back to `levels`. */
  #rebalance(side: Side): void {
    const levels = this.#o.levels;
    while (side.size > levels) {
      const price = side.prices.shift() as number;
      side.lots.shift();
      this.#record(side.bid, price, 0);
    }
    while (side.size < levels && side.size > 0) {
      const price = side.away(side.prices[0] as number, this.#gap());
      if (price <= 0) break;
      const lots = this.#drawLots();
      side.prices.unshift(price);
      side.lots.unshift(lots);
      this.#record(side.bid, price, lots);
    }
  }

  #gap(): number {
    return this.#gaps[this.#o.random.nextUint32() & (TABLE_SIZE - 1)] as number;
  }

  #drawLots(): number {
    return this.#sizes[this.#o.random.nextUint32() & (TABLE_SIZE - 1)] as number;
  }

  #pushBest(side: Side, price: number, lots: number): void {
    side.prices.push(price);
    side.lots.push(lots);
    this.#record(side.bid, price, lots);
  }

  #popBest(side: Side): void {
    const price = side.prices.pop() as number;
    side.lots.pop();
    this.#record(side.bid, price, 0);
  }

  #insertAt(side: Side, index: number, price: number, lots: number): void {
    side.prices.splice(index, 0, price);
    side.lots.splice(index, 0, lots);
    this.#record(side.bid, price, lots);
  }

  #setAt(side: Side, index: number, lots: number): void {
    side.lots[index] = lots;
    this.#record(side.bid, side.prices[index] as number, lots);
  }

  #removeAt(side: Side, index: number): void {
    const price = side.prices[index] as number;
    side.prices.splice(index, 1);
    side.lots.splice(index, 1);
    this.#record(side.bid, price, 0);
  }

  #record(bid: boolean, price: number, lots: number): void {
    this.#changed = true;
    if (this.recording) this.#changes.push({ bid, price, lots });
  }

  #commit(time: number): void {
    if (!this.#changed) return;
    this.#changed = false;
    const changes = this.#changes.length > 0 ? this.#changes : NO_CHANGES;
    if (changes !== NO_CHANGES) this.#changes = [];
    const skip = this.#o.maxIdSkip;
    this.#lastUpdateId += skip > 0 ? 1 + (this.#o.random.nextUint32() % (skip + 1)) : 1;
    this.#lastUpdateTime = time;
    this.#o.onUpdate(this.#lastUpdateId, time, changes);
  }
}
