/**
 * Order-book diff apply rate (the brief's B10 goal: >= 1M level updates/s), on generated
 * Binance-like depth diffs:
 *
 *   npx tsx bench/orderBook.ts [diffs] [levels]
 *
 * Input (seeded, deterministic, generated before timing): a snapshot of `levels` levels a side
 * (default 1000) in cent ticks around a mid price, then `diffs` diff records (default 200 000) of
 * 1-20 level updates each (about 10), contiguous spot ids. A level's distance from the top is
 * exponential with a mean of 30 levels (most traffic is near the top, as on Binance); a quarter
 * of the updates delete (quantity 0, some for levels the book does not hold); every 20th diff
 * moves the mid by 1-3 ticks and deletes the levels it crosses, so the book never crosses.
 *
 * Sides, each timed from loading the snapshot to the last diff, each reading the best bid and ask
 * after every diff (what the crossed-book check needs):
 * - `book`: `OrderBook.load` then `OrderBook.apply` per diff (sorted typed arrays, best level last);
 * - `sync`: `BinanceBookSync` in front of it: continuity checks, crossed check, delivery;
 * - `map` (plain baseline): a `Map` per side, the best price found by scanning the keys;
 * - `array` (plain baseline): an array of `[price, qty]` per side kept sorted best first, found by
 *   linear scan, changed with `splice`.
 *
 * Every side sums the best bid and ask after each diff and fingerprints the final book; the sides
 * must agree. One process: a warm-up of each side, then ROUNDS rounds with the order alternating.
 * One JSON line per timed run, then one line of medians (level updates/s) and same-run ratios.
 */
import { BinanceBookSync } from '../src/sources/binance/bookSync.js';
import { OrderBook } from '../src/sources/binance/orderBook.js';
import type { BookDepth, Level } from '../src/model/index.js';
import { median } from './stats.js';

const ROUNDS = 5;
const SEED = 20_210_404;
const CHUNK = 1000;

/** A small seeded generator (mulberry32): uniform in [0, 1). */
function seeded(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const T0 = 1_700_000_000_000;
const HEADER = { type: 'book-depth', venue: 'binance', symbol: 'BTC-USDT' } as const;

function priceOf(ticks: number): number {
  return ticks / 100;
}

/** The generated stream: a snapshot, then diffs chunk by chunk. Same seed, same stream. */
class DiffSource {
  readonly snapshot: BookDepth;
  #random = seeded(SEED);
  #mid = 4_300_000;
  /** The generator's own view of the book, to delete the levels a mid move crosses. */
  readonly #bidTicks = new Set<number>();
  readonly #askTicks = new Set<number>();
  readonly #depth: number;
  #id = 1001;
  #index = 0;
  /** Level updates generated so far. */
  updates = 0;

  constructor(depth: number) {
    this.#depth = depth;
    const bids: Level[] = [];
    const asks: Level[] = [];
    for (let d = 0; d < depth; d++) {
      this.#bidTicks.add(this.#mid - 1 - d);
      bids.push([priceOf(this.#mid - 1 - d), this.#lots()]);
      this.#askTicks.add(this.#mid + 1 + d);
      asks.push([priceOf(this.#mid + 1 + d), this.#lots()]);
    }
    this.snapshot = { ...HEADER, tsEvent: T0, tsRecv: T0, firstUpdateId: 1000, lastUpdateId: 1000, bids, asks, snapshot: true };
  }

  #lots(): number {
    return Math.round(1 + this.#random() * 5000) / 1000;
  }

  chunk(count: number): BookDepth[] {
    const out: BookDepth[] = [];
    for (let n = 0; n < count; n++) out.push(this.#diff());
    return out;
  }

  #diff(): BookDepth {
    const random = this.#random;
    const bids: Level[] = [];
    const asks: Level[] = [];
    const i = this.#index++;
    if (i % 20 === 19) {
      this.#mid += (random() < 0.5 ? -1 : 1) * (1 + Math.floor(random() * 3));
      for (const tick of this.#bidTicks) {
        if (tick >= this.#mid) {
          this.#bidTicks.delete(tick);
          bids.push([priceOf(tick), 0]);
        }
      }
      for (const tick of this.#askTicks) {
        if (tick <= this.#mid) {
          this.#askTicks.delete(tick);
          asks.push([priceOf(tick), 0]);
        }
      }
    }
    const count = 1 + Math.floor(random() * 20);
    for (let k = 0; k < count; k++) {
      const distance = Math.min(2 * this.#depth, Math.floor(-Math.log(1 - random()) * 30));
      const qty = random() < 0.25 ? 0 : this.#lots();
      const bid = random() < 0.5;
      const tick = bid ? this.#mid - 1 - distance : this.#mid + 1 + distance;
      const ticks = bid ? this.#bidTicks : this.#askTicks;
      if (qty === 0) ticks.delete(tick);
      else ticks.add(tick);
      (bid ? bids : asks).push([priceOf(tick), qty]);
    }
    const span = 1 + Math.floor(random() * 5);
    const time = T0 + 100 * (i + 1);
    const diff: BookDepth = { ...HEADER, tsEvent: time, tsRecv: time + 2, firstUpdateId: this.#id, lastUpdateId: this.#id + span - 1, bids, asks, snapshot: false };
    this.#id += span;
    this.updates += bids.length + asks.length;
    return diff;
  }
}

/** One way of keeping a book. `apply` returns best bid + best ask after the diff. */
interface Contender {
  load(snapshot: BookDepth): void;
  apply(diff: BookDepth): number;
  /** The final book as levels, any order. */
  levels(): [readonly Level[], readonly Level[]];
}

interface Run {
  readonly seconds: number;
  readonly updates: number;
  /** Sum of best bid + best ask after every diff. */
  readonly checksum: number;
  readonly fingerprint: number;
}

function run(make: () => Contender, diffCount: number, depth: number): Run {
  const source = new DiffSource(depth);
  const contender = make();
  let elapsed = 0n;
  let start = process.hrtime.bigint();
  contender.load(source.snapshot);
  elapsed += process.hrtime.bigint() - start;
  let checksum = 0;
  for (let done = 0; done < diffCount; done += CHUNK) {
    const chunk = source.chunk(Math.min(CHUNK, diffCount - done));
    start = process.hrtime.bigint();
    for (const diff of chunk) checksum += contender.apply(diff);
    elapsed += process.hrtime.bigint() - start;
  }
  const [bids, asks] = contender.levels();
  return { seconds: Number(elapsed) / 1e9, updates: source.updates, checksum, fingerprint: fingerprintOf(bids, asks) };
}

/** Fingerprint of a book given as levels in any order: summed in price order, so every side gets the same float. */
function fingerprintOf(bids: readonly Level[], asks: readonly Level[]): number {
  let sum = 0;
  for (const [price, qty] of [...bids].sort((x, y) => x[0] - y[0])) sum += price * qty;
  for (const [price, qty] of [...asks].sort((x, y) => x[0] - y[0])) sum -= price * qty;
  return sum;
}

function crossed(side: string, diff: BookDepth): Error {
  return new Error(`the ${side} book crossed at update ${diff.lastUpdateId}`);
}

function bookContender(): Contender {
  const book = new OrderBook();
  return {
    load: (snapshot) => {
      book.load(snapshot.bids, snapshot.asks);
    },
    apply: (diff) => {
      book.apply(diff.bids, diff.asks);
      if (book.isCrossed()) throw crossed('book', diff);
      return book.bestBidPrice + book.bestAskPrice;
    },
    levels: () => [book.levels('bid'), book.levels('ask')],
  };
}

function syncContender(): Contender {
  let top = NaN;
  let failure = '';
  const sync: BinanceBookSync = new BinanceBookSync({
    market: 'spot',
    symbol: HEADER.symbol,
    handler: {
      // The snapshot record is the book after the first diff; every later record is one diff.
      book: () => {
        const book = sync.book;
        top = book === undefined ? NaN : book.bestBidPrice + book.bestAskPrice;
      },
      requestSnapshot: () => undefined,
      control: (event) => {
        failure = `${event.kind}: ${'reason' in event ? event.reason : String(event.lastUpdateId)}`;
      },
    },
  });
  let pendingSnapshot: BookDepth | undefined;
  return {
    load: (snapshot) => {
      // A diff the snapshot covers starts the buffer, as on a live socket (protocols.md §1.5).
      sync.diff({ ...snapshot, firstUpdateId: snapshot.lastUpdateId, bids: [], asks: [], snapshot: false });
      pendingSnapshot = snapshot;
    },
    apply: (diff) => {
      sync.diff(diff);
      if (pendingSnapshot !== undefined) {
        // The first diff bridges once the snapshot is in: give it now, as a REST answer would come.
        sync.snapshot(pendingSnapshot);
        pendingSnapshot = undefined;
      }
      if (failure !== '') throw new Error(`the sync lost its book: ${failure}`);
      return top;
    },
    levels: () => {
      const book = sync.book;
      if (book === undefined) throw new Error(`the sync is ${sync.state}`);
      return [book.levels('bid'), book.levels('ask')];
    },
  };
}

function mapContender(): Contender {
  const bids = new Map<number, number>();
  const asks = new Map<number, number>();
  return {
    load: (snapshot) => {
      for (const [price, qty] of snapshot.bids) bids.set(price, qty);
      for (const [price, qty] of snapshot.asks) asks.set(price, qty);
    },
    apply: (diff) => {
      for (const [price, qty] of diff.bids) {
        if (qty === 0) bids.delete(price);
        else bids.set(price, qty);
      }
      for (const [price, qty] of diff.asks) {
        if (qty === 0) asks.delete(price);
        else asks.set(price, qty);
      }
      let bestBid = -Infinity;
      for (const price of bids.keys()) if (price > bestBid) bestBid = price;
      let bestAsk = Infinity;
      for (const price of asks.keys()) if (price < bestAsk) bestAsk = price;
      if (bestBid >= bestAsk) throw crossed('map', diff);
      return bestBid + bestAsk;
    },
    levels: () => [[...bids], [...asks]],
  };
}

/** Sets a level in a best-first array; `better(a, b)` is true when price a is nearer the top than b. */
function setSorted(side: [number, number][], price: number, qty: number, better: (a: number, b: number) => boolean): void {
  let i = 0;
  while (i < side.length && better((side[i] as [number, number])[0], price)) i++;
  const level = side[i];
  if (level !== undefined && level[0] === price) {
    if (qty === 0) side.splice(i, 1);
    else level[1] = qty;
  } else if (qty !== 0) {
    side.splice(i, 0, [price, qty]);
  }
}

function arrayContender(): Contender {
  const higher = (a: number, b: number): boolean => a > b;
  const lower = (a: number, b: number): boolean => a < b;
  let bids: [number, number][] = [];
  let asks: [number, number][] = [];
  return {
    load: (snapshot) => {
      bids = snapshot.bids.map(([price, qty]): [number, number] => [price, qty]);
      asks = snapshot.asks.map(([price, qty]): [number, number] => [price, qty]);
    },
    apply: (diff) => {
      for (const [price, qty] of diff.bids) setSorted(bids, price, qty, higher);
      for (const [price, qty] of diff.asks) setSorted(asks, price, qty, lower);
      const bestBid = (bids[0] as [number, number])[0];
      const bestAsk = (asks[0] as [number, number])[0];
      if (bestBid >= bestAsk) throw crossed('array', diff);
      return bestBid + bestAsk;
    },
    levels: () => [bids, asks],
  };
}

function main(): void {
  const diffCount = Number(process.argv[2] ?? 200_000);
  const depth = Number(process.argv[3] ?? 1000);
  if (!(Number.isSafeInteger(diffCount) && diffCount > 0 && Number.isSafeInteger(depth) && depth > 0)) {
    throw new RangeError(`usage: tsx bench/orderBook.ts [diffs] [levels], got diffs "${String(process.argv[2])}" and levels "${String(process.argv[3])}"`);
  }
  const contenders = { book: bookContender, sync: syncContender, map: mapContender, array: arrayContender };
  const order = ['book', 'sync', 'map', 'array'] as const;
  type Side = (typeof order)[number];
  const rates: Record<Side, number[]> = { book: [], sync: [], map: [], array: [] };
  const reference = run(bookContender, diffCount, depth);
  for (const side of order) {
    const warm = run(contenders[side], diffCount, depth);
    // Float sums in one fixed order: the sides must agree exactly.
    if (warm.checksum !== reference.checksum || warm.fingerprint !== reference.fingerprint) {
      throw new Error(`side ${side} disagrees with book: checksum ${warm.checksum} vs ${reference.checksum}, fingerprint ${warm.fingerprint} vs ${reference.fingerprint}`);
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of round % 2 === 0 ? order : [...order].reverse()) {
      const result = run(contenders[side], diffCount, depth);
      const levelUpdatesPerSecond = result.updates / result.seconds;
      rates[side].push(levelUpdatesPerSecond);
      process.stdout.write(
        `${JSON.stringify({ bench: 'orderbook', side, round, diffs: diffCount, depth, levelUpdates: result.updates, seconds: result.seconds, levelUpdatesPerSecond, diffsPerSecond: diffCount / result.seconds })}\n`,
      );
    }
  }
  const medians = Object.fromEntries(order.map((side) => [side, Math.round(median(rates[side]))]));
  const ratio = (a: Side, b: Side): number => Number((median(rates[a]) / median(rates[b])).toFixed(2));
  process.stdout.write(
    `${JSON.stringify({
      bench: 'orderbook',
      diffs: diffCount,
      depth,
      levelUpdates: reference.updates,
      rounds: ROUNDS,
      medianLevelUpdatesPerSecond: medians,
      bookOverMap: ratio('book', 'map'),
      bookOverArray: ratio('book', 'array'),
      syncOverMap: ratio('sync', 'map'),
      syncOverBook: ratio('sync', 'book'),
      goal: 'book and sync >= 1M level updates/s',
    })}\n`,
  );
}

if (process.argv[1]?.endsWith('orderBook.ts') === true) main();
