/**
 * A price-level order book: for each side, the quantity resting at each price. Bids are read
 * best (highest) first, asks best (lowest) first. Setting a level to quantity 0 removes it, and
 * removing a level the book does not hold is a no-op (Binance sends such deletes, protocols.md
 * §1.5 and §2.3).
 *
 * ```ts
 * const book = new OrderBook();
 * book.load(snapshot.bids, snapshot.asks);   // replace everything
 * book.apply(diff.bids, diff.asks);          // absolute quantities, 0 deletes
 * book.bestBid();                            // [price, qty] or undefined
 * book.levels('ask', 10);                    // top ten asks, best first
 * ```
 *
 * Layout: each side keeps two parallel `Float64Array`s (sort keys and quantities) sorted so that
 * the best level is the **last** element. Most updates touch levels near the top of the book, so
 * an insert or delete there moves only the few elements above it, and the search gallops from the
 * top before it bisects (O(log d) for a level d places from the top). The sort key is the price
 * for bids and minus the price for asks, so one ascending order serves both sides; negating a
 * double is exact, so the price read back is the price stored.
 *
 * With `maxLevels`, a side never holds more than that many levels: when a new level would exceed
 * it, the level farthest from the top goes (or the new one, when it is the farthest). Each such
 * level is counted in {@link OrderBook.trimmedLevels}; the deep end of a capped book is partial,
 * as the deep end of any book built from a REST snapshot is (protocols.md §1.5 step 7).
 *
 * Prices are compared as doubles: the same decimal text always parses to the same double (the
 * Binance parser divides exact integers by exact powers of ten, as `Number()` does), so
 * `"43.5"` and `"43.50000000"` name the same level.
 */
import { quote } from '../../errors.js';
import type { BookDepth, Level } from '../../model/index.js';

/** Which side of the book. */
export type BookSide = 'bid' | 'ask';

export interface OrderBookOptions {
  /** Most levels kept per side; the levels farthest from the top go first (default: no limit). */
  readonly maxLevels?: number;
}

/** Bids and asks as level lists, best first (a {@link BookDepth} is one). */
export interface BookLevels {
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
}

/** The venue fields of a book snapshot record made from an {@link OrderBook}. */
export interface BookDepthHeader {
  readonly venue: string;
  readonly symbol: string;
  readonly tsEvent: number;
  readonly tsRecv: number;
  /** The venue update id the book is at; the record's first and last update id. */
  readonly lastUpdateId: number;
  /** Levels per side to include, best first (default: all). */
  readonly depth?: number;
}

/** What a reader of a book may do: everything but change it. */
export interface ReadonlyOrderBook {
  /** Levels held on the bid side. */
  readonly bidCount: number;
  /** Levels held on the ask side. */
  readonly askCount: number;
  /** Levels held on both sides. */
  readonly size: number;
  /** Levels dropped because a side was full (`maxLevels`). */
  readonly trimmedLevels: number;
  /** The best bid price, NaN when there is no bid. Allocates nothing. */
  readonly bestBidPrice: number;
  /** The best ask price, NaN when there is no ask. Allocates nothing. */
  readonly bestAskPrice: number;
  /** The highest bid as `[price, qty]`, or undefined when there is none. */
  bestBid(): Level | undefined;
  /** The lowest ask as `[price, qty]`, or undefined when there is none. */
  bestAsk(): Level | undefined;
  /** True when both sides hold levels and the best bid is at or above the best ask. */
  isCrossed(): boolean;
  /** The quantity at `price` on `side`, 0 when the book holds no such level. */
  qty(side: BookSide, price: number): number;
  /** The top `limit` levels of `side` (default: all), best first. */
  levels(side: BookSide, limit?: number): Level[];
  /** The book as a snapshot record (`snapshot: true`). */
  toDepth(header: BookDepthHeader): BookDepth;
}

/** A price-level book for one instrument. See the module comment. */
export class OrderBook implements ReadonlyOrderBook {
  readonly #bids: SideLevels;
  readonly #asks: SideLevels;

  constructor(options: OrderBookOptions = {}) {
    const maxLevels = options.maxLevels ?? Infinity;
    if (!(maxLevels === Infinity || (Number.isSafeInteger(maxLevels) && maxLevels >= 1))) {
      throw new RangeError(`maxLevels ${quote(maxLevels)} must be a positive integer (levels per side) or Infinity`);
    }
    this.#bids = new SideLevels(1, maxLevels);
    this.#asks = new SideLevels(-1, maxLevels);
  }

  get bidCount(): number {
    return this.#bids.count;
  }

  get askCount(): number {
    return this.#asks.count;
  }

  get size(): number {
    return this.#bids.count + this.#asks.count;
  }

  get trimmedLevels(): number {
    return this.#bids.trimmed + this.#asks.trimmed;
  }

  /**
   * Sets the quantity at `price` on `side`: inserts a new level, replaces a quantity, or with
   * `qty` 0 removes the level (a no-op when there is none). Throws a RangeError, naming the
   * values, for a price that is not finite and > 0 or a quantity that is not finite and >= 0.
   */
  set(side: BookSide, price: number, qty: number): void {
    checkLevel(side, price, qty);
    (side === 'bid' ? this.#bids : this.#asks).set(price, qty);
  }

  /**
   * Applies a diff: every level's quantity is absolute, 0 removes. Levels are checked as in
   * {@link set}; records are validated where they are parsed, so a bad level here is a bug, and
   * the levels before it have been applied when the RangeError is thrown.
   */
  apply(bids: readonly Level[], asks: readonly Level[]): void {
    applyLevels(this.#bids, 'bid', bids);
    applyLevels(this.#asks, 'ask', asks);
  }

  /** Replaces the whole book with these levels (a snapshot). Zero quantities are skipped. */
  load(bids: readonly Level[], asks: readonly Level[]): void {
    this.#bids.clear();
    this.#asks.clear();
    // Snapshots list levels best first; going from the worst up appends each level at the top
    // end of the arrays, so a sorted snapshot loads without moving anything. Any order is correct.
    loadLevels(this.#bids, 'bid', bids);
    loadLevels(this.#asks, 'ask', asks);
  }

  /** Removes every level. The trimmed-level count is kept. */
  clear(): void {
    this.#bids.clear();
    this.#asks.clear();
  }

  bestBid(): Level | undefined {
    return this.#bids.level(this.#bids.count - 1);
  }

  bestAsk(): Level | undefined {
    return this.#asks.level(this.#asks.count - 1);
  }

  get bestBidPrice(): number {
    return this.#bids.bestPrice();
  }

  get bestAskPrice(): number {
    return this.#asks.bestPrice();
  }

  isCrossed(): boolean {
    // NaN (an empty side) compares false.
    return this.#bids.bestPrice() >= this.#asks.bestPrice();
  }

  qty(side: BookSide, price: number): number {
    return (side === 'bid' ? this.#bids : this.#asks).qty(price);
  }

  levels(side: BookSide, limit = Infinity): Level[] {
    checkLimit('limit', limit);
    return (side === 'bid' ? this.#bids : this.#asks).top(limit);
  }

  toDepth(header: BookDepthHeader): BookDepth {
    const depth = header.depth ?? Infinity;
    checkLimit('depth', depth);
    return {
      type: 'book-depth',
      venue: header.venue,
      symbol: header.symbol,
      tsEvent: header.tsEvent,
      tsRecv: header.tsRecv,
      firstUpdateId: header.lastUpdateId,
      lastUpdateId: header.lastUpdateId,
      bids: this.#bids.top(depth),
      asks: this.#asks.top(depth),
      snapshot: true,
    };
  }
}

/** One level where two books differ: `actual` or `expected` is 0 where that book has no level. */
export interface LevelDifference {
  readonly side: BookSide;
  readonly price: number;
  readonly actual: number;
  readonly expected: number;
}

export interface LevelComparison {
  /**
   * `all` (default) compares every level of both books. `overlap` compares, per side, only the
   * prices both books cover: from the top down to the shallower of the two deepest levels (for
   * bids the higher of the two lowest prices, for asks the lower of the two highest). Use it to
   * check a book against a REST snapshot that holds only the top N levels. A side that is empty in
   * either book has no overlap and is not compared.
   */
  readonly range?: 'all' | 'overlap';
}

/**
 * The levels at which two books differ, bids then asks, each side best first; empty when they
 * are equal. A level with quantity 0 counts as absent. For tests and for checking a synced book
 * against a later snapshot.
 */
export function levelDifferences(actual: BookLevels, expected: BookLevels, options: LevelComparison = {}): LevelDifference[] {
  const overlap = options.range === 'overlap';
  return [...sideDifferences('bid', actual.bids, expected.bids, overlap), ...sideDifferences('ask', actual.asks, expected.asks, overlap)];
}

function sideDifferences(side: BookSide, actual: readonly Level[], expected: readonly Level[], overlap: boolean): LevelDifference[] {
  const a = levelMap(actual);
  const e = levelMap(expected);
  // Bids count down from the top, asks up: `sign * price` grows toward the deep end.
  const sign = side === 'bid' ? -1 : 1;
  let deepest = Infinity;
  if (overlap) {
    if (a.size === 0 || e.size === 0) return [];
    deepest = Math.min(deepestKey(a, sign), deepestKey(e, sign));
  }
  const prices = [...new Set([...a.keys(), ...e.keys()])].filter((p) => sign * p <= deepest).sort((x, y) => sign * x - sign * y);
  const out: LevelDifference[] = [];
  for (const price of prices) {
    const actualQty = a.get(price) ?? 0;
    const expectedQty = e.get(price) ?? 0;
    if (actualQty !== expectedQty) out.push({ side, price, actual: actualQty, expected: expectedQty });
  }
  return out;
}

/** The largest `sign * price` of a non-empty side. */
function deepestKey(levels: ReadonlyMap<number, number>, sign: number): number {
  let deepest = -Infinity;
  for (const price of levels.keys()) deepest = Math.max(deepest, sign * price);
  return deepest;
}

function levelMap(levels: readonly Level[]): Map<number, number> {
  const map = new Map<number, number>();
  for (const [price, qty] of levels) {
    if (qty > 0) map.set(price, qty);
    else map.delete(price);
  }
  return map;
}

function checkLimit(name: string, limit: number): void {
  if (!(limit >= 0)) throw new RangeError(`Book ${name} ${quote(limit)} must be a number of levels >= 0`);
}

function checkLevel(side: BookSide, price: number, qty: number): void {
  if (!(price > 0 && price < Infinity)) throw new RangeError(`Book ${side} price ${quote(price)} must be a finite number > 0`);
  if (!(qty >= 0 && qty < Infinity)) throw new RangeError(`Book ${side} quantity ${quote(qty)} at price ${quote(price)} must be a finite number >= 0`);
}

function applyLevels(target: SideLevels, side: BookSide, levels: readonly Level[]): void {
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as Level;
    const price = level[0];
    const qty = level[1];
    if (!(price > 0 && price < Infinity && qty >= 0 && qty < Infinity)) checkLevel(side, price, qty);
    target.set(price, qty);
  }
}

function loadLevels(target: SideLevels, side: BookSide, levels: readonly Level[]): void {
  for (let i = levels.length - 1; i >= 0; i--) {
    const [price, qty] = levels[i] as Level;
    if (!(price > 0 && price < Infinity && qty >= 0 && qty < Infinity)) checkLevel(side, price, qty);
    if (qty > 0) target.set(price, qty);
  }
}

const INITIAL_CAPACITY = 64;

/** One side: sort keys ascending with the best level last, and the quantity of each. */
class SideLevels {
  /** `sign * price`: the price for bids, minus the price for asks. */
  #keys: Float64Array;
  #qtys: Float64Array;
  #count = 0;
  #trimmed = 0;
  readonly #sign: number;
  readonly #max: number;

  constructor(sign: 1 | -1, max: number) {
    this.#sign = sign;
    this.#max = max;
    const capacity = Math.min(INITIAL_CAPACITY, max);
    this.#keys = new Float64Array(capacity);
    this.#qtys = new Float64Array(capacity);
  }

  get count(): number {
    return this.#count;
  }

  get trimmed(): number {
    return this.#trimmed;
  }

  clear(): void {
    this.#count = 0;
  }

  bestPrice(): number {
    return this.#count === 0 ? NaN : this.#sign * (this.#keys[this.#count - 1] as number);
  }

  /** The level at array index `i` as `[price, qty]`, undefined outside the book. */
  level(i: number): Level | undefined {
    if (i < 0 || i >= this.#count) return undefined;
    return [this.#sign * (this.#keys[i] as number), this.#qtys[i] as number];
  }

  qty(price: number): number {
    const key = this.#sign * price;
    const i = this.#lowerBound(key);
    return i < this.#count && this.#keys[i] === key ? (this.#qtys[i] as number) : 0;
  }

  top(limit: number): Level[] {
    const n = Math.min(Math.floor(limit), this.#count);
    const out = new Array<Level>(n);
    for (let j = 0; j < n; j++) {
      const i = this.#count - 1 - j;
      out[j] = [this.#sign * (this.#keys[i] as number), this.#qtys[i] as number];
    }
    return out;
  }

  set(price: number, qty: number): void {
    const key = this.#sign * price;
    const i = this.#lowerBound(key);
    const n = this.#count;
    if (i < n && this.#keys[i] === key) {
      if (qty > 0) this.#qtys[i] = qty;
      else this.#removeAt(i, n);
    } else if (qty > 0) {
      this.#insertAt(i, n, key, qty);
    }
  }

  /**
   * The first index whose key is >= `key` (the count when there is none). Gallops down from the
   * top (the end) in steps of 1, 2, 4, ... and then bisects the bracket it found.
   */
  #lowerBound(key: number): number {
    const keys = this.#keys;
    let hi = this.#count;
    let lo = 0;
    let probe = hi - 1;
    let step = 1;
    // Invariant: every key at or after `hi` is >= `key`.
    while (probe >= 0 && (keys[probe] as number) >= key) {
      hi = probe;
      probe -= step;
      step += step;
    }
    // Every key at or before `probe` is < `key`.
    if (probe >= 0) lo = probe + 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((keys[mid] as number) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #removeAt(i: number, n: number): void {
    const keys = this.#keys;
    const qtys = this.#qtys;
    for (let j = i + 1; j < n; j++) {
      keys[j - 1] = keys[j] as number;
      qtys[j - 1] = qtys[j] as number;
    }
    this.#count = n - 1;
  }

  #insertAt(i: number, n: number, key: number, qty: number): void {
    if (n === this.#max) {
      // Full: the deepest level (index 0) makes room, unless the new level would be the deepest.
      this.#trimmed++;
      if (i === 0) return;
      const keys = this.#keys;
      const qtys = this.#qtys;
      for (let j = 1; j < i; j++) {
        keys[j - 1] = keys[j] as number;
        qtys[j - 1] = qtys[j] as number;
      }
      keys[i - 1] = key;
      qtys[i - 1] = qty;
      return;
    }
    if (n === this.#keys.length) this.#grow(n);
    const keys = this.#keys;
    const qtys = this.#qtys;
    for (let j = n; j > i; j--) {
      keys[j] = keys[j - 1] as number;
      qtys[j] = qtys[j - 1] as number;
    }
    keys[i] = key;
    qtys[i] = qty;
    this.#count = n + 1;
  }

  #grow(n: number): void {
    const capacity = Math.min(n * 2, this.#max);
    const keys = new Float64Array(capacity);
    const qtys = new Float64Array(capacity);
    keys.set(this.#keys.subarray(0, n));
    qtys.set(this.#qtys.subarray(0, n));
    this.#keys = keys;
    this.#qtys = qtys;
  }
}
