/**
 * The trades of one venue and symbol, stored compactly: one typed-array column per field (25
 * bytes a trade), growing by doubling up to `maxSize` and then dropping the oldest (a ring).
 * Ids are consecutive, so a trade's position follows from its id and only times need a search.
 *
 * Records are rebuilt on demand and are equal (field by field) to the ones that were pushed.
 */
import { InvariantError } from '../../errors.js';
import type { Trade } from '../../model/index.js';

const INITIAL_CAPACITY = 1_024;

export class TradeHistory {
  readonly venue: string;
  readonly symbol: string;
  /** Most trades kept; the oldest are dropped beyond it (0 keeps none). */
  readonly maxSize: number;
  #times: Float64Array;
  #prices: Float64Array;
  #qtys: Float64Array;
  #buys: Uint8Array;
  /** Physical index of the oldest retained trade. */
  #head = 0;
  #size = 0;
  /** Id of the oldest retained trade (meaningful when size > 0). */
  #firstId = 0;
  /** Id of the last trade pushed, 0 before the first. */
  #lastId = 0;
  #dropped = 0;

  constructor(venue: string, symbol: string, maxSize: number) {
    if (!Number.isSafeInteger(maxSize) || maxSize < 0) throw new RangeError(`History size "${maxSize}" must be an integer >= 0`);
    this.venue = venue;
    this.symbol = symbol;
    this.maxSize = maxSize;
    const capacity = Math.min(maxSize, INITIAL_CAPACITY);
    this.#times = new Float64Array(capacity);
    this.#prices = new Float64Array(capacity);
    this.#qtys = new Float64Array(capacity);
    this.#buys = new Uint8Array(capacity);
  }

  /** Trades retained. */
  get size(): number {
    return this.#size;
  }

  /** Trades dropped from the front to respect `maxSize`. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Id of the oldest retained trade, or undefined when none is retained. */
  get firstId(): number | undefined {
    return this.#size === 0 ? undefined : this.#firstId;
  }

  /** Id of the newest retained trade, or undefined when none is retained. */
  get lastId(): number | undefined {
    return this.#size === 0 ? undefined : this.#lastId;
  }

  /** Appends a trade; its id must follow the previous one. */
  push(trade: Trade): void {
    if (this.#lastId !== 0 && trade.id !== this.#lastId + 1) {
      throw new InvariantError(`Trade history of ${this.symbol} expected id ${this.#lastId + 1}, got ${trade.id}`);
    }
    this.#lastId = trade.id;
    if (this.maxSize === 0) {
      this.#dropped++;
      return;
    }
    let capacity = this.#times.length;
    if (this.#size === capacity && capacity < this.maxSize) {
      this.#grow(Math.min(this.maxSize, capacity * 2));
      capacity = this.#times.length;
    }
    let slot: number;
    if (this.#size === capacity) {
      // Full at maxSize: overwrite the oldest.
      slot = this.#head;
      this.#head = this.#head + 1 === capacity ? 0 : this.#head + 1;
      this.#firstId++;
      this.#dropped++;
    } else {
      if (this.#size === 0) this.#firstId = trade.id;
      slot = this.#head + this.#size;
      if (slot >= capacity) slot -= capacity;
      this.#size++;
    }
    this.#times[slot] = trade.tsEvent;
    this.#prices[slot] = trade.price;
    this.#qtys[slot] = trade.qty;
    this.#buys[slot] = trade.side === 'buy' ? 1 : 0;
  }

  /** `tsEvent` of the trade at logical position `index` (0 = oldest retained). */
  timeAt(index: number): number {
    return this.#times[this.#slot(index)] ?? Number.NaN;
  }

  /** The trade at logical position `index` (0 = oldest retained), rebuilt as a record. */
  at(index: number): Trade {
    const slot = this.#slot(index);
    const tsEvent = this.#times[slot] ?? 0;
    return {
      type: 'trade',
      venue: this.venue,
      symbol: this.symbol,
      tsEvent,
      tsRecv: tsEvent,
      id: this.#firstId + index,
      price: this.#prices[slot] ?? 0,
      qty: this.#qtys[slot] ?? 0,
      side: this.#buys[slot] === 1 ? 'buy' : 'sell',
    };
  }

  /** Logical position of the first trade with `tsEvent >= time` (`size` when there is none). */
  lowerBound(time: number): number {
    let lo = 0;
    let hi = this.#size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timeAt(mid) < time) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Logical position of the first trade with `tsEvent > time` (`size` when there is none). */
  upperBound(time: number): number {
    let lo = 0;
    let hi = this.#size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timeAt(mid) <= time) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Logical position of trade `id`, clamped to [0, size]. */
  indexOfId(id: number): number {
    if (this.#size === 0) return 0;
    return Math.min(this.#size, Math.max(0, id - this.#firstId));
  }

  #slot(index: number): number {
    if (!(index >= 0 && index < this.#size)) throw new RangeError(`History index ${index} is outside [0, ${this.#size})`);
    const slot = this.#head + index;
    return slot >= this.#times.length ? slot - this.#times.length : slot;
  }

  #grow(capacity: number): void {
    const times = new Float64Array(capacity);
    const prices = new Float64Array(capacity);
    const qtys = new Float64Array(capacity);
    const buys = new Uint8Array(capacity);
    // Copy in logical order so the oldest lands at 0.
    const old = this.#times.length;
    const firstPart = Math.min(this.#size, old - this.#head);
    times.set(this.#times.subarray(this.#head, this.#head + firstPart));
    prices.set(this.#prices.subarray(this.#head, this.#head + firstPart));
    qtys.set(this.#qtys.subarray(this.#head, this.#head + firstPart));
    buys.set(this.#buys.subarray(this.#head, this.#head + firstPart));
    const rest = this.#size - firstPart;
    if (rest > 0) {
      times.set(this.#times.subarray(0, rest), firstPart);
      prices.set(this.#prices.subarray(0, rest), firstPart);
      qtys.set(this.#qtys.subarray(0, rest), firstPart);
      buys.set(this.#buys.subarray(0, rest), firstPart);
    }
    this.#times = times;
    this.#prices = prices;
    this.#qtys = qtys;
    this.#buys = buys;
    this.#head = 0;
  }
}
