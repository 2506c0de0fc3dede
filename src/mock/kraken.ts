/**
 * A local Kraken Spot WebSocket v2 server for tests (protocols.md §4, reliability.md §6): a real
 * `ws` server on 127.0.0.1 with an ephemeral port, speaking Kraken's v2 messages, with its own
 * seeded market and fault hooks.
 *
 * ```ts
 * const mock = await startMockKraken({ seed: 7, tickMs: 0 });   // tickMs 0: the test drives time
 * const socket = new WebSocket(mock.url);
 * // {"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10},"req_id":1}
 * mock.step(1000);                         // 1000 steps of the market
 * mock.faults.flipNextChecksum('BTC/USD'); // the next book update carries a wrong checksum
 * await mock.close();
 * ```
 *
 * What it speaks:
 *
 * - on connect, a `status` frame (`system: online`, `api_version: v2`, a connection id);
 * - `subscribe`/`unsubscribe` for `book` (depth 10, 25, 100, 500, 1000), `ticker` (`event_trigger`
 *   `trades` or `bbo`), `trade`, `ohlc` (Kraken's intervals), `instrument` and `heartbeat`, one ack
 *   per symbol (`result` with `channel`, `depth`/`interval`/`event_trigger`, `snapshot`, `symbol`,
 *   then `success`, `time_in`, `time_out`, `req_id`); errors as `success: false` with an `error`
 *   text (`Currency pair not supported FOO/BAR`, `Already subscribed`, `Subscription Not Found`,
 *   `EGeneral:Invalid arguments...`). After a subscribe ack, the snapshot unless `snapshot: false`
 *   (trades: only with `snapshot: true`, the last 50);
 * - `ping` answered by `pong` with the `req_id`;
 * - each step (every `tickMs` of real time, or on {@link MockKraken.step}) moves simulated time by
 *   `stepMs` and the market of every pair: a few random level changes and, with probability
 *   `tradeProbability`, a trade that takes liquidity from the best level. Then, per pair:
 *   `book` updates (per subscribed depth: the levels whose quantity changed in that depth's view,
 *   `qty` 0 for a level deleted from the book, nothing for one pushed out of range, and the CRC-32
 *   of the top 10 computed from the same text that is sent), `trade`, `ticker` (on a trade, or for
 *   `bbo` on a change of the best levels) and `ohlc` (on a trade, for each subscribed interval);
 * - numbers are JSON numbers written with the pair's full precision (`50000.0`, `0.00100000`),
 *   times RFC 3339 (`ohlc` with nanoseconds, others with microseconds);
 * - `heartbeat` every `heartbeatMs` of real time to a subscribed connection that was sent nothing
 *   else since the previous one.
 *
 * The market is integers (price ticks of 10^-pricePrecision, quantity lots of 10^-qtyPrecision)
 * moved by one {@link SeededRandom}: the same seed and the same calls give the same frames. Times
 * are simulated (`startTime` plus `stepMs` per step), never the wall clock. The book is never
 * crossed and holds `bookLevels` levels per side, more than any subscribable depth.
 *
 * Fault hooks ({@link MockKrakenFaults}): flip the checksum of the next book update, drop the next
 * N frames, stall a channel, terminate every connection.
 */
import type { AddressInfo } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import { quote } from '../errors.js';
import type { KrakenLevel } from '../sources/kraken/checksum.js';
import { CHECKSUM_LEVELS, krakenChecksum } from '../sources/kraken/checksum.js';
import type { KrakenBookDepth, KrakenOhlcInterval, KrakenTickerTrigger } from '../sources/kraken/messages.js';
import { KRAKEN_BOOK_DEPTHS, KRAKEN_OHLC_INTERVALS } from '../sources/kraken/messages.js';
import { SeededRandom } from '../sources/simulator/seededRandom.js';

const PAIR = /^[A-Z0-9]+\/[A-Z0-9]+$/;

const integer = (name: string, min: number, max: number): z.ZodNumber =>
  z
    .number({ error: (issue) => `${name} ${quote(issue.input)} must be a number` })
    .refine((value) => Number.isSafeInteger(value) && value >= min && value <= max, {
      error: (issue) => `${name} ${quote(issue.input)} must be an integer from ${min} to ${max}`,
    });

export const mockKrakenPairParams = z.strictObject({
  /** Kraken's v2 symbol, `BASE/QUOTE`. */
  symbol: z.string().regex(PAIR, { error: (issue) => `symbol ${quote(issue.input)} must be BASE/QUOTE, e.g. "BTC/USD"` }),
  /** Decimals of prices (Kraken's `price_precision`). */
  pricePrecision: integer('pricePrecision', 0, 10),
  /** Decimals of quantities (Kraken's `qty_precision`). */
  qtyPrecision: integer('qtyPrecision', 0, 10),
  /** Mid price at the start. */
  price: z.number().refine((value) => value > 0 && value < 1e9, { error: (issue) => `price ${quote(issue.input)} must be above 0 and below 1e9` }),
});

export const mockKrakenParams = z.strictObject({
  /** Pairs served. */
  pairs: z
    .array(mockKrakenPairParams)
    .min(1, { error: 'pairs must list at least one pair' })
    .default([{ symbol: 'BTC/USD', pricePrecision: 1, qtyPrecision: 8, price: 50_000 }]),
  /** Seed of the whole market. */
  seed: integer('seed', 0, Number.MAX_SAFE_INTEGER).default(1),
  /** Start of simulated time, epoch ms (default 2025-01-01T00:00:00Z). */
  startTime: integer('startTime', 0, Number.MAX_SAFE_INTEGER).default(Date.UTC(2025, 0, 1)),
  /** Simulated time per step, ms. */
  stepMs: integer('stepMs', 1, 86_400_000).default(100),
  /** Real time between automatic steps, ms; 0: no automatic steps, the test calls `step()`. */
  tickMs: integer('tickMs', 0, 3_600_000).default(100),
  /** Real time between heartbeat checks, ms; 0: no heartbeats. */
  heartbeatMs: integer('heartbeatMs', 0, 3_600_000).default(1_000),
  /** Levels per side of the simulated book (more than the deepest subscription, so deep views fill). */
  bookLevels: integer('bookLevels', CHECKSUM_LEVELS, 100_000).default(1_100),
  /** Most random level changes per step (at least one is made). */
  changesPerStep: integer('changesPerStep', 1, 100).default(3),
  /** Chance of a trade per step, per pair. */
  tradeProbability: z
    .number()
    .refine((value) => value >= 0 && value <= 1, { error: (issue) => `tradeProbability ${quote(issue.input)} must be from 0 to 1` })
    .default(0.5),
});
export type MockKrakenOptions = z.input<typeof mockKrakenParams>;
type MockKrakenParams = z.output<typeof mockKrakenParams>;
type PairParams = z.output<typeof mockKrakenPairParams>;

/** The channels whose data frames a fault can stall. */
export type MockKrakenChannel = 'book' | 'ticker' | 'trade' | 'ohlc' | 'instrument';

export interface MockKrakenFaults {
  /** The next book update of `symbol` (any pair when left out) carries a checksum with its lowest bit flipped. */
  flipNextChecksum(symbol?: string): void;
  /** The next `count` frames the server would send, to any connection and of any kind, are not sent. */
  dropNext(count: number): void;
  /** Stops sending a channel's data frames (acks, pongs and heartbeats still go out). */
  stall(channel: MockKrakenChannel): void;
  resume(channel: MockKrakenChannel): void;
  /** Drops every connection without a close frame (the client sees 1006). */
  terminate(): void;
}

export interface MockKraken {
  /** `ws://127.0.0.1:<port>/v2` */
  readonly url: string;
  readonly faults: MockKrakenFaults;
  /** Moves the market `count` steps (default 1), sending what they produce. Returns the number of frames sent. */
  step(count?: number): number;
  /** Simulated time, epoch ms. */
  now(): number;
  /** The true book of a pair, best first, as `[price, qty]` numbers. */
  book(symbol: string): { readonly bids: [number, number][]; readonly asks: [number, number][] };
  /** Open connections. */
  connections(): number;
  /** Closes every connection, stops every timer and the server. */
  close(): Promise<void>;
}

/** Starts a mock on 127.0.0.1 with an ephemeral port. Throws a RangeError listing every bad option. */
export async function startMockKraken(options: MockKrakenOptions = {}): Promise<MockKraken> {
  const parsed = mockKrakenParams.safeParse(options);
  if (!parsed.success) throw new RangeError(`startMockKraken options are invalid:\n${z.prettifyError(parsed.error)}`);
  const symbols = parsed.data.pairs.map((pair) => pair.symbol);
  const twice = symbols.find((symbol, i) => symbols.indexOf(symbol) !== i);
  if (twice !== undefined) throw new RangeError(`startMockKraken options are invalid: pair ${quote(twice)} is listed twice`);
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/v2', maxPayload: 64 * 1024 });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return new MockKrakenServer(server, parsed.data);
}

const RECENT_TRADES = 50;

/** One price level: price in ticks, quantity in lots. Never mutated: a change replaces it. */
interface Lot {
  readonly ticks: number;
  readonly lots: number;
}

interface TradeFill {
  readonly id: number;
  readonly side: 'buy' | 'sell';
  readonly ticks: number;
  readonly lots: number;
  readonly time: number;
  readonly ordType: 'market' | 'limit';
}

interface Bar {
  readonly begin: number;
  open: number;
  high: number;
  low: number;
  close: number;
  lots: number;
  trades: number;
  /** Sum of price x quantity, in ticks x lots. */
  notional: number;
}

/** `units` scaled down by 10^decimals as a decimal text: (500000, 1) -> "50000.0". */
function formatUnits(units: number, decimals: number): string {
  if (decimals === 0) return String(units);
  const digits = String(units).padStart(decimals + 1, '0');
  return `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
}

/** RFC 3339 with microseconds, as Kraken writes trade and book times. */
function rfc3339Micros(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000Z');
}

/** RFC 3339 with nanoseconds, as Kraken writes ohlc times. */
function rfc3339Nanos(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000000Z');
}

/** One pair's market: an integer book, trades that take from it, statistics and candles. */
class PairMarket {
  readonly params: PairParams;
  readonly #random: SeededRandom;
  readonly #levels: number;
  readonly #changes: number;
  readonly #tradeProbability: number;
  /** Bids from the highest price, asks from the lowest. */
  #bids: Lot[] = [];
  #asks: Lot[] = [];
  readonly recent: TradeFill[] = [];
  readonly #bars = new Map<KrakenOhlcInterval, Bar>();
  #nextTradeId = 1;
  readonly #openTicks: number;
  lastTicks: number;
  lowTicks: number;
  highTicks: number;
  volumeLots = 0;
  notional = 0;

  constructor(params: PairParams, random: SeededRandom, options: MockKrakenParams) {
    this.params = params;
    this.#random = random;
    this.#levels = options.bookLevels;
    this.#changes = options.changesPerStep;
    this.#tradeProbability = options.tradeProbability;
    const mid = Math.max(Math.round(params.price * 10 ** params.pricePrecision), 4 * options.bookLevels + 10);
    this.#openTicks = mid;
    this.lastTicks = mid;
    this.lowTicks = mid;
    this.highTicks = mid;
    let bid = mid - 1;
    let ask = mid + 1;
    for (let i = 0; i < this.#levels; i++) {
      this.#bids.push({ ticks: bid, lots: this.#quantity() });
      this.#asks.push({ ticks: ask, lots: this.#quantity() });
      bid -= 1 + this.#int(3);
      ask += 1 + this.#int(3);
    }
  }

  get bids(): readonly Lot[] {
    return this.#bids;
  }

  get asks(): readonly Lot[] {
    return this.#asks;
  }

  bar(interval: KrakenOhlcInterval): Bar | undefined {
    return this.#bars.get(interval);
  }

  get openTicks(): number {
    return this.#openTicks;
  }

  /** One step at simulated time `now`: level changes, then maybe a trade (returned). */
  step(now: number): TradeFill | undefined {
    const changes = 1 + this.#int(this.#changes);
    for (let i = 0; i < changes; i++) this.#change(this.#random.uniform() < 0.5);
    if (this.#random.uniform() >= this.#tradeProbability) return undefined;
    return this.#trade(now);
  }

  /** A random integer in [0, n). */
  #int(n: number): number {
    return Math.min(n - 1, Math.floor(this.#random.uniform() * n));
  }

  /** A random level quantity in lots: mostly ragged, sometimes round (`0.00003000`) to exercise trailing zeros. */
  #quantity(): number {
    const unit = 10 ** this.params.qtyPrecision;
    if (this.#random.uniform() < 0.2) {
      const round = 10 ** Math.max(0, this.params.qtyPrecision - 5);
      return (1 + this.#int(9)) * round;
    }
    return Math.max(1, Math.round(this.#random.exponential(0.5) * unit));
  }

  /** An index near the top of a side: mostly the best levels, sometimes deeper. */
  #nearTop(length: number): number {
    return Math.min(length - 1, Math.floor(this.#random.exponential(3)));
  }

  #change(bidSide: boolean): void {
    const side = bidSide ? this.#bids : this.#asks;
    const kind = this.#random.uniform();
    if (kind < 0.5) {
      const i = this.#nearTop(side.length);
      const level = side[i] as Lot;
      side[i] = { ticks: level.ticks, lots: this.#quantity() };
      return;
    }
    if (kind < 0.75) {
      // A new level near the top; inside the spread as long as the book stays uncrossed.
      const best = (side[0] as Lot).ticks;
      const opposite = ((bidSide ? this.#asks : this.#bids)[0] as Lot).ticks;
      const offset = Math.floor(this.#random.exponential(4)) - 1;
      const ticks = bidSide ? Math.min(best - offset, opposite - 1) : Math.max(best + offset, opposite + 1);
      if (ticks <= 0) return;
      this.#set(side, { ticks, lots: this.#quantity() }, bidSide);
      if (side.length > this.#levels) side.pop();
      return;
    }
    side.splice(this.#nearTop(side.length), 1);
    this.#refill(side, bidSide);
  }

  /** Adds a level beyond the worst one, so a side keeps its size. */
  #refill(side: Lot[], bidSide: boolean): void {
    const worst = (side[side.length - 1] as Lot).ticks;
    const ticks = bidSide ? worst - 1 - this.#int(3) : worst + 1 + this.#int(3);
    if (ticks > 0) side.push({ ticks, lots: this.#quantity() });
  }

  /** Sets a level in a side kept in book order. */
  #set(side: Lot[], level: Lot, bidSide: boolean): void {
    let lo = 0;
    let hi = side.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = (side[mid] as Lot).ticks;
      if (bidSide ? other > level.ticks : other < level.ticks) lo = mid + 1;
      else hi = mid;
    }
    if (lo < side.length && (side[lo] as Lot).ticks === level.ticks) side[lo] = level;
    else side.splice(lo, 0, level);
  }

  /** A taker order against the best level of one side: it takes part or all of it. */
  #trade(now: number): TradeFill {
    const buy = this.#random.uniform() < 0.5;
    const side = buy ? this.#asks : this.#bids;
    const best = side[0] as Lot;
    const lots = Math.max(1, Math.min(best.lots, 1 + this.#int(best.lots)));
    if (lots >= best.lots) {
      side.shift();
      this.#refill(side, !buy);
    } else {
      side[0] = { ticks: best.ticks, lots: best.lots - lots };
    }
    const fill: TradeFill = {
      id: this.#nextTradeId++,
      side: buy ? 'buy' : 'sell',
      ticks: best.ticks,
      lots,
      time: now,
      ordType: this.#random.uniform() < 0.7 ? 'market' : 'limit',
    };
    this.lastTicks = fill.ticks;
    this.lowTicks = Math.min(this.lowTicks, fill.ticks);
    this.highTicks = Math.max(this.highTicks, fill.ticks);
    this.volumeLots += lots;
    this.notional += fill.ticks * lots;
    this.recent.push(fill);
    if (this.recent.length > RECENT_TRADES) this.recent.shift();
    for (const interval of KRAKEN_OHLC_INTERVALS) {
      const ms = interval * 60_000;
      const begin = now - (now % ms);
      const bar = this.#bars.get(interval);
      if (bar === undefined || bar.begin < begin) {
        this.#bars.set(interval, { begin, open: fill.ticks, high: fill.ticks, low: fill.ticks, close: fill.ticks, lots, trades: 1, notional: fill.ticks * lots });
      } else {
        bar.high = Math.max(bar.high, fill.ticks);
        bar.low = Math.min(bar.low, fill.ticks);
        bar.close = fill.ticks;
        bar.lots += lots;
        bar.trades += 1;
        bar.notional += fill.ticks * lots;
      }
    }
    return fill;
  }
}

type Subscription =
  | { readonly channel: 'book'; readonly symbol: string; readonly depth: KrakenBookDepth }
  | { readonly channel: 'ticker'; readonly symbol: string; readonly trigger: KrakenTickerTrigger }
  | { readonly channel: 'trade'; readonly symbol: string }
  | { readonly channel: 'ohlc'; readonly symbol: string; readonly interval: KrakenOhlcInterval }
  | { readonly channel: 'instrument' }
  | { readonly channel: 'heartbeat' };

interface Client {
  readonly socket: WebSocket;
  /** Keyed by channel and symbol (and interval for ohlc). */
  readonly subscriptions: Map<string, Subscription>;
  /** Something other than a heartbeat was sent since the last heartbeat check. */
  busy: boolean;
}

type JsonRecord = Readonly<Record<string, unknown>>;

function subscriptionKey(channel: string, symbol?: string, interval?: number): string {
  return [channel, symbol ?? '', interval ?? ''].join('|');
}

class MockKrakenServer implements MockKraken {
  readonly url: string;
  readonly faults: MockKrakenFaults;
  readonly #server: WebSocketServer;
  readonly #params: MockKrakenParams;
  readonly #markets = new Map<string, PairMarket>();
  readonly #clients = new Set<Client>();
  readonly #stalled = new Set<MockKrakenChannel>();
  readonly #timers: NodeJS.Timeout[] = [];
  /** Symbols whose next book update gets a flipped checksum; `*` for any. */
  readonly #flip = new Set<string>();
  #dropping = 0;
  #connectionIds = 0;
  #now: number;
  #sent = 0;
  #closed = false;

  constructor(server: WebSocketServer, params: MockKrakenParams) {
    this.#server = server;
    this.#params = params;
    this.#now = params.startTime;
    const address = server.address() as AddressInfo;
    this.url = `ws://127.0.0.1:${address.port}/v2`;
    const random = new SeededRandom(params.seed);
    for (const pair of params.pairs) this.#markets.set(pair.symbol, new PairMarket(pair, random, params));
    server.on('connection', (socket) => {
      this.#connect(socket);
    });
    if (params.tickMs > 0) this.#timers.push(setInterval(() => this.step(1), params.tickMs));
    if (params.heartbeatMs > 0) {
      this.#timers.push(
        setInterval(() => {
          this.#heartbeats();
        }, params.heartbeatMs),
      );
    }
    this.faults = {
      flipNextChecksum: (symbol) => {
        if (symbol !== undefined) this.#market(symbol);
        this.#flip.add(symbol ?? '*');
      },
      dropNext: (count) => {
        if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`dropNext count ${quote(count)} must be an integer >= 0`);
        this.#dropping += count;
      },
      stall: (channel) => {
        this.#stalled.add(channel);
      },
      resume: (channel) => {
        this.#stalled.delete(channel);
      },
      terminate: () => {
        for (const client of this.#clients) client.socket.terminate();
      },
    };
  }

  now(): number {
    return this.#now;
  }

  connections(): number {
    return this.#clients.size;
  }

  book(symbol: string): { readonly bids: [number, number][]; readonly asks: [number, number][] } {
    const market = this.#market(symbol);
    const { pricePrecision, qtyPrecision } = market.params;
    const level = (lot: Lot): [number, number] => [Number(formatUnits(lot.ticks, pricePrecision)), Number(formatUnits(lot.lots, qtyPrecision))];
    return { bids: market.bids.map(level), asks: market.asks.map(level) };
  }

  step(count = 1): number {
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`step count ${quote(count)} must be an integer >= 0`);
    const before = this.#sent;
    for (let i = 0; i < count && !this.#closed; i++) {
      this.#now += this.#params.stepMs;
      for (const market of this.#markets.values()) this.#stepMarket(market);
    }
    return this.#sent - before;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    for (const client of this.#clients) client.socket.terminate();
    this.#clients.clear();
    await new Promise<void>((resolve, reject) => {
      this.#server.close((err) => {
        if (err === undefined) resolve();
        else reject(err);
      });
    });
  }

  #market(symbol: string): PairMarket {
    const market = this.#markets.get(symbol);
    if (market === undefined) throw new RangeError(`Pair ${quote(symbol)} is not served by this mock: ${[...this.#markets.keys()].join(', ')}`);
    return market;
  }

  // -------------------------------------------------------------------------------------------
  // Sending

  /** Sends one frame, unless its channel is stalled or a drop fault swallows it. */
  #send(client: Client, frame: string, channel?: MockKrakenChannel): void {
    if (channel !== undefined && this.#stalled.has(channel)) return;
    if (this.#dropping > 0) {
      this.#dropping--;
      return;
    }
    if (client.socket.readyState !== client.socket.OPEN) return;
    client.socket.send(frame);
    client.busy = true;
    this.#sent++;
  }

  #heartbeats(): void {
    for (const client of this.#clients) {
      const idle = !client.busy;
      client.busy = false;
      if (idle && client.subscriptions.size > 0) {
        this.#send(client, '{"channel":"heartbeat"}');
        client.busy = false;
      }
    }
  }

  /** The clients subscribed to `key`, with their subscription. */
  *#subscribers(key: string): Generator<[Client, Subscription]> {
    for (const client of this.#clients) {
      const subscription = client.subscriptions.get(key);
      if (subscription !== undefined) yield [client, subscription];
    }
  }

  #stepMarket(market: PairMarket): void {
    const symbol = market.params.symbol;
    const bookKey = subscriptionKey('book', symbol);
    const depths = new Set<KrakenBookDepth>();
    for (const [, subscription] of this.#subscribers(bookKey)) if (subscription.channel === 'book') depths.add(subscription.depth);
    const deepest = Math.max(0, ...depths);
    const beforeBids = market.bids.slice(0, deepest);
    const beforeAsks = market.asks.slice(0, deepest);
    const beforeTop = [market.bids[0], market.asks[0]];
    const fill = market.step(this.#now);
    const afterTop = [market.bids[0], market.asks[0]];

    if (depths.size > 0) {
      const checksum = this.#checksum(market);
      const flip = this.#flip.has(symbol) || this.#flip.has('*');
      let flipped = false;
      const frames = new Map<KrakenBookDepth, string>();
      for (const depth of depths) {
        const bids = viewChanges(beforeBids, market.bids, depth, true);
        const asks = viewChanges(beforeAsks, market.asks, depth, false);
        if (bids.length === 0 && asks.length === 0) continue;
        flipped ||= flip;
        const sent = flip ? (checksum ^ 1) >>> 0 : checksum;
        frames.set(depth, this.#bookFrame(market, 'update', bids, asks, sent, rfc3339Micros(this.#now)));
      }
      if (flipped) {
        this.#flip.delete(symbol);
        this.#flip.delete('*');
      }
      for (const [client, subscription] of this.#subscribers(bookKey)) {
        const frame = subscription.channel === 'book' ? frames.get(subscription.depth) : undefined;
        if (frame !== undefined) this.#send(client, frame, 'book');
      }
    }
    if (fill !== undefined) {
      const frame = `{"channel":"trade","type":"update","data":[${this.#tradeItem(market, fill)}]}`;
      for (const [client] of this.#subscribers(subscriptionKey('trade', symbol))) this.#send(client, frame, 'trade');
    }
    // Levels are replaced, never mutated: the same objects mean the same best levels.
    const bboChanged = beforeTop[0] !== afterTop[0] || beforeTop[1] !== afterTop[1];
    if (fill !== undefined || bboChanged) {
      const frame = `{"channel":"ticker","type":"update","data":[${this.#tickerItem(market)}]}`;
      for (const [client, subscription] of this.#subscribers(subscriptionKey('ticker', symbol))) {
        const trigger = subscription.channel === 'ticker' ? subscription.trigger : 'trades';
        if (trigger === 'trades' ? fill !== undefined : bboChanged) this.#send(client, frame, 'ticker');
      }
    }
    if (fill !== undefined) {
      for (const interval of KRAKEN_OHLC_INTERVALS) {
        const bar = market.bar(interval);
        if (bar === undefined) continue;
        let frame: string | undefined;
        for (const [client] of this.#subscribers(subscriptionKey('ohlc', symbol, interval))) {
          frame ??= this.#ohlcFrame(market, 'update', interval, [bar]);
          this.#send(client, frame, 'ohlc');
        }
      }
    }
  }

  #checksum(market: PairMarket): number {
    const { pricePrecision, qtyPrecision } = market.params;
    const level = (lot: Lot): KrakenLevel => {
      const priceText = formatUnits(lot.ticks, pricePrecision);
      const qtyText = formatUnits(lot.lots, qtyPrecision);
      return { price: Number(priceText), qty: Number(qtyText), priceText, qtyText };
    };
    return krakenChecksum(market.asks.slice(0, CHECKSUM_LEVELS).map(level), market.bids.slice(0, CHECKSUM_LEVELS).map(level));
  }

  // -------------------------------------------------------------------------------------------
  // Frames (written by hand: numbers keep their full precision, as Kraken writes them)

  #levelsText(market: PairMarket, levels: readonly Lot[]): string {
    const { pricePrecision, qtyPrecision } = market.params;
    return `[${levels.map((lot) => `{"price":${formatUnits(lot.ticks, pricePrecision)},"qty":${formatUnits(lot.lots, qtyPrecision)}}`).join(',')}]`;
  }

  #bookFrame(market: PairMarket, type: 'snapshot' | 'update', bids: readonly Lot[], asks: readonly Lot[], checksum: number, timestamp?: string): string {
    const time = timestamp === undefined ? '' : `,"timestamp":${JSON.stringify(timestamp)}`;
    const item = `{"symbol":${JSON.stringify(market.params.symbol)},"bids":${this.#levelsText(market, bids)},"asks":${this.#levelsText(market, asks)},"checksum":${checksum}${time}}`;
    return `{"channel":"book","type":"${type}","data":[${item}]}`;
  }

  #tradeItem(market: PairMarket, fill: TradeFill): string {
    const { symbol, pricePrecision, qtyPrecision } = market.params;
    return (
      `{"symbol":${JSON.stringify(symbol)},"side":"${fill.side}","price":${formatUnits(fill.ticks, pricePrecision)},` +
      `"qty":${formatUnits(fill.lots, qtyPrecision)},"ord_type":"${fill.ordType}","trade_id":${fill.id},"timestamp":"${rfc3339Micros(fill.time)}"}`
    );
  }

  #tickerItem(market: PairMarket): string {
    const { symbol, pricePrecision, qtyPrecision } = market.params;
    const price = (ticks: number): string => formatUnits(ticks, pricePrecision);
    const qty = (lots: number): string => formatUnits(lots, qtyPrecision);
    const bid = market.bids[0] as Lot;
    const ask = market.asks[0] as Lot;
    const scale = 10 ** pricePrecision;
    const vwap = market.volumeLots === 0 ? market.lastTicks / scale : market.notional / market.volumeLots / scale;
    const change = (market.lastTicks - market.openTicks) / scale;
    const changePct = (100 * (market.lastTicks - market.openTicks)) / market.openTicks;
    return (
      `{"symbol":${JSON.stringify(symbol)},"bid":${price(bid.ticks)},"bid_qty":${qty(bid.lots)},"ask":${price(ask.ticks)},"ask_qty":${qty(ask.lots)},` +
      `"last":${price(market.lastTicks)},"volume":${qty(market.volumeLots)},"vwap":${vwap.toFixed(pricePrecision)},"low":${price(market.lowTicks)},` +
      `"high":${price(market.highTicks)},"change":${change.toFixed(pricePrecision)},"change_pct":${changePct.toFixed(2)}}`
    );
  }

  #ohlcFrame(market: PairMarket, type: 'snapshot' | 'update', interval: KrakenOhlcInterval, bars: readonly Bar[]): string {
    const { symbol, pricePrecision, qtyPrecision } = market.params;
    const price = (ticks: number): string => formatUnits(ticks, pricePrecision);
    const items = bars.map((bar) => {
      const vwap = bar.notional / bar.lots / 10 ** pricePrecision;
      return (
        `{"symbol":${JSON.stringify(symbol)},"open":${price(bar.open)},"high":${price(bar.high)},"low":${price(bar.low)},"close":${price(bar.close)},` +
        `"trades":${bar.trades},"volume":${formatUnits(bar.lots, qtyPrecision)},"vwap":${vwap.toFixed(pricePrecision)},` +
        `"interval_begin":"${rfc3339Nanos(bar.begin)}","interval":${interval},"timestamp":"${rfc3339Micros(bar.begin + interval * 60_000)}"}`
      );
    });
    return `{"channel":"ohlc","type":"${type}","timestamp":"${rfc3339Nanos(this.#now)}","data":[${items.join(',')}]}`;
  }

  #instrumentFrame(): string {
    const assets = new Set<string>();
    const pairs: JsonRecord[] = [];
    for (const market of this.#markets.values()) {
      const { symbol, pricePrecision, qtyPrecision } = market.params;
      const [base = '', quoteAsset = ''] = symbol.split('/');
      assets.add(base);
      assets.add(quoteAsset);
      pairs.push({
        symbol,
        base,
        quote: quoteAsset,
        status: 'online',
        qty_precision: qtyPrecision,
        qty_increment: 10 ** -qtyPrecision,
        price_precision: pricePrecision,
        price_increment: 10 ** -pricePrecision,
        qty_min: 10 ** -qtyPrecision,
      });
    }
    const assetList = [...assets].map((id) => ({ id, status: 'enabled', precision: 10, precision_display: 5, borrowable: false, collateral_value: 1, margin_rate: 0 }));
    return JSON.stringify({ channel: 'instrument', type: 'snapshot', data: { assets: assetList, pairs } });
  }

  // -------------------------------------------------------------------------------------------
  // Requests

  #connect(socket: WebSocket): void {
    const client: Client = { socket, subscriptions: new Map(), busy: false };
    this.#clients.add(client);
    // A protocol error closes the socket; the close handler below cleans up.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#clients.delete(client);
    });
    socket.on('message', (data, isBinary) => {
      this.#request(client, isBinary ? undefined : rawText(data));
    });
    this.#connectionIds++;
    const status = { channel: 'status', type: 'update', data: [{ version: '2.0.10', system: 'online', api_version: 'v2', connection_id: 1_000_000_000 + this.#connectionIds }] };
    this.#send(client, JSON.stringify(status));
  }

  #request(client: Client, frame: string | undefined): void {
    const timeIn = rfc3339Micros(this.#now);
    let value: unknown;
    try {
      value = frame === undefined ? undefined : JSON.parse(frame);
    } catch {
      value = undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.#reply(client, { error: 'EGeneral:Invalid arguments', success: false, time_in: timeIn, time_out: timeIn });
      return;
    }
    const request = value as JsonRecord;
    const method = request.method;
    const reqId = Number.isSafeInteger(request.req_id) ? (request.req_id as number) : undefined;
    if (method === 'ping') {
      this.#reply(client, { method: 'pong', req_id: reqId, time_in: timeIn, time_out: timeIn });
      return;
    }
    if (method !== 'subscribe' && method !== 'unsubscribe') {
      this.#reply(client, { error: `EGeneral:Invalid arguments:method ${String(method)}`, method, success: false, time_in: timeIn, time_out: timeIn, req_id: reqId });
      return;
    }
    const fail = (error: string, symbol?: string): void => {
      this.#reply(client, { error, method, success: false, symbol, time_in: timeIn, time_out: timeIn, req_id: reqId });
    };
    const params = request.params;
    if (typeof params !== 'object' || params === null || Array.isArray(params)) {
      fail('EGeneral:Invalid arguments:params');
      return;
    }
    const p = params as JsonRecord;
    const channel = p.channel;
    const snapshot = p.snapshot;
    if (snapshot !== undefined && typeof snapshot !== 'boolean') {
      fail('EGeneral:Invalid arguments:snapshot');
      return;
    }
    const ack = (result: JsonRecord, subscription: Subscription, key: string): void => {
      const exists = client.subscriptions.has(key);
      if (method === 'subscribe' && exists) {
        fail('Already subscribed', 'symbol' in result ? (result.symbol as string) : undefined);
        return;
      }
      if (method === 'unsubscribe' && !exists) {
        fail('Subscription Not Found', 'symbol' in result ? (result.symbol as string) : undefined);
        return;
      }
      if (method === 'subscribe') client.subscriptions.set(key, subscription);
      else client.subscriptions.delete(key);
      const shown = method === 'subscribe' ? result : Object.fromEntries(Object.entries(result).filter(([name]) => name !== 'snapshot' && name !== 'event_trigger'));
      this.#reply(client, { method, result: shown, success: true, time_in: timeIn, time_out: timeIn, req_id: reqId });
      if (method === 'subscribe') this.#snapshot(client, subscription, snapshot);
    };
    if (channel === 'heartbeat') {
      ack({ channel }, { channel }, subscriptionKey('heartbeat'));
      return;
    }
    if (channel === 'instrument') {
      ack({ channel, snapshot: snapshot ?? true }, { channel }, subscriptionKey('instrument'));
      return;
    }
    if (channel !== 'book' && channel !== 'ticker' && channel !== 'trade' && channel !== 'ohlc') {
      fail(`EGeneral:Invalid arguments:channel ${typeof channel === 'string' ? channel : JSON.stringify(channel)}`);
      return;
    }
    const symbols = p.symbol;
    if (!Array.isArray(symbols) || symbols.length === 0 || !symbols.every((s) => typeof s === 'string')) {
      fail('EGeneral:Invalid arguments:symbol');
      return;
    }
    let depth: KrakenBookDepth = 10;
    let interval: KrakenOhlcInterval = 1;
    let trigger: KrakenTickerTrigger = 'trades';
    if (channel === 'book' && p.depth !== undefined) {
      const found = KRAKEN_BOOK_DEPTHS.find((d) => d === p.depth);
      if (found === undefined) {
        fail('EGeneral:Invalid arguments:depth');
        return;
      }
      depth = found;
    }
    if (channel === 'ohlc' && p.interval !== undefined) {
      const found = KRAKEN_OHLC_INTERVALS.find((i) => i === p.interval);
      if (found === undefined) {
        fail('EGeneral:Invalid arguments:interval');
        return;
      }
      interval = found;
    }
    if (channel === 'ticker' && p.event_trigger !== undefined) {
      if (p.event_trigger !== 'trades' && p.event_trigger !== 'bbo') {
        fail('EGeneral:Invalid arguments:event_trigger');
        return;
      }
      trigger = p.event_trigger;
    }
    for (const symbol of symbols) {
      if (!this.#markets.has(symbol)) {
        fail(`Currency pair not supported ${symbol}`, symbol);
        continue;
      }
      switch (channel) {
        case 'book':
          ack({ channel, depth, snapshot: snapshot ?? true, symbol }, { channel, symbol, depth }, subscriptionKey(channel, symbol));
          break;
        case 'ticker':
          ack({ channel, event_trigger: trigger, snapshot: snapshot ?? true, symbol }, { channel, symbol, trigger }, subscriptionKey(channel, symbol));
          break;
        case 'trade':
          ack({ channel, snapshot: snapshot ?? false, symbol }, { channel, symbol }, subscriptionKey(channel, symbol));
          break;
        case 'ohlc':
          ack({ channel, interval, snapshot: snapshot ?? true, symbol }, { channel, symbol, interval }, subscriptionKey(channel, symbol, interval));
          break;
      }
    }
  }

  /** Sends a reply object with its fields in the order given, leaving out undefined ones. */
  #reply(client: Client, reply: JsonRecord): void {
    this.#send(client, JSON.stringify(reply));
  }

  #snapshot(client: Client, subscription: Subscription, requested: unknown): void {
    switch (subscription.channel) {
      case 'heartbeat':
        return;
      case 'instrument':
        if (requested !== false) this.#send(client, this.#instrumentFrame(), 'instrument');
        return;
      case 'book': {
        if (requested === false) return;
        const market = this.#market(subscription.symbol);
        const bids = market.bids.slice(0, subscription.depth);
        const asks = market.asks.slice(0, subscription.depth);
        this.#send(client, this.#bookFrame(market, 'snapshot', bids, asks, this.#checksum(market)), 'book');
        return;
      }
      case 'ticker': {
        if (requested === false) return;
        const market = this.#market(subscription.symbol);
        this.#send(client, `{"channel":"ticker","type":"snapshot","data":[${this.#tickerItem(market)}]}`, 'ticker');
        return;
      }
      case 'trade': {
        if (requested !== true) return;
        const market = this.#market(subscription.symbol);
        const items = market.recent.map((fill) => this.#tradeItem(market, fill));
        this.#send(client, `{"channel":"trade","type":"snapshot","data":[${items.join(',')}]}`, 'trade');
        return;
      }
      case 'ohlc': {
        if (requested === false) return;
        const market = this.#market(subscription.symbol);
        const bar = market.bar(subscription.interval);
        this.#send(client, this.#ohlcFrame(market, 'snapshot', subscription.interval, bar === undefined ? [] : [bar]), 'ohlc');
        return;
      }
    }
  }
}

/**
 * The changes that turn a subscriber's view of one side (the top `depth` before the step) into the
 * view after it: levels new to the view or with a new quantity, and quantity 0 for a level that
 * left the view because it left the book. A level pushed out of range by a better one is not sent:
 * the subscriber truncates it, as Kraken documents. Both lists are in book order (`bids` says
 * which order), so one merge pass finds the changes.
 */
function viewChanges(before: readonly Lot[], after: readonly Lot[], depth: number, bids: boolean): Lot[] {
  const oldLength = Math.min(depth, before.length);
  const newLength = Math.min(depth, after.length);
  const changes: Lot[] = [];
  let i = 0;
  let j = 0;
  while (i < oldLength || j < newLength) {
    const old = i < oldLength ? (before[i] as Lot) : undefined;
    const now = j < newLength ? (after[j] as Lot) : undefined;
    if (old !== undefined && (now === undefined || (bids ? old.ticks > now.ticks : old.ticks < now.ticks))) {
      // Left the view. Past the end of a full new view it was pushed out (or went with the
      // levels beyond the depth): the subscriber truncates it. Before that end it was deleted.
      if (!(now === undefined && newLength === depth)) changes.push({ ticks: old.ticks, lots: 0 });
      i++;
    } else if (now !== undefined && (old === undefined || old.ticks !== now.ticks)) {
      changes.push(now);
      j++;
    } else if (old !== undefined && now !== undefined) {
      if (old.lots !== now.lots) changes.push(now);
      i++;
      j++;
    }
  }
  return changes;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
