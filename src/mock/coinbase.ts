/**
 * A local Coinbase Advanced Trade market-data WebSocket server for tests (protocols.md §3.2,
 * reliability.md §6): a real `ws` server on 127.0.0.1 with an ephemeral port, speaking the venue's
 * messages exactly, with its own seeded market and fault hooks.
 *
 * ```ts
 * const mock = await startMockCoinbase({ seed: 7, tickMs: 0 });   // tickMs 0: the test drives time
 * const socket = new WebSocket(mock.url);
 * // subscribe: {"type":"subscribe","channel":"level2","product_ids":["BTC-USD"]}, then heartbeats
 * mock.step(1000);                          // 1000 steps of the market: book updates, trades, tickers
 * mock.faults.skipSequence(3);              // the next message on each connection jumps 3 numbers
 * expect(localBook.bids()).toEqual(mock.book('BTC-USD').bids);
 * await mock.close();
 * ```
 *
 * What it speaks:
 *
 * - one channel per `subscribe`/`unsubscribe` message (`heartbeats`, `level2`, `market_trades`,
 *   `ticker`), answered by a `subscriptions` message listing everything the connection is now
 *   subscribed to; then, on subscribe, a `snapshot` event per product: the whole book on
 *   `l2_data`, the last 50 trades (newest first) on `market_trades`, the top of book on `ticker`;
 * - bad requests (malformed JSON, unknown channel or product, missing `product_ids`) get
 *   `{"type":"error","message":...}`;
 * - every other message has the envelope `channel`, `client_id`, `timestamp` (RFC 3339 with
 *   nanoseconds), `sequence_num` and `events`; `sequence_num` counts the messages of a connection
 *   from 0, whatever their channel;
 * - each step (every `tickMs` of real time, or on {@link MockCoinbase.step}) moves the market
 *   `stepMs` of simulated time: an `l2_data` `update` event per product with absolute quantities
 *   (`"0"` removes a level), a `market_trades` `update` with the step's trades when there were any,
 *   and a `ticker` `update`;
 * - `heartbeats` every `heartbeatMs` of real time, `heartbeat_counter` counting per connection;
 * - a connection that sends no subscribe within `subscribeTimeoutMs` is closed, and so is one that
 *   is not subscribed to `heartbeats` and was sent nothing for `idleCloseMs` (Coinbase closes idle
 *   channels after 60 to 90 s: reliability.md R-06).
 *
 * The market: per product a {@link MarketSimulator} (seeded) makes the trades, and a seeded
 * random book lives around the last trade price: bids strictly below it, asks strictly above, so
 * the book is never crossed. Simulated time starts at `startTime`, and nothing in the messages
 * depends on the wall clock: the same seed and the same calls give the same frames.
 *
 * `side` in `market_trades` is written as `tradeSide` says: the maker's side by default (Coinbase's
 * documented convention for matches, see the parser), or the taker's.
 */
import type { AddressInfo } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import { quote } from '../errors.js';
import type { Level, Trade } from '../model/index.js';
import type { CoinbaseChannel } from '../sources/coinbase/messages.js';
import { COINBASE_CHANNELS, COINBASE_MESSAGE_CHANNEL, CoinbaseRequestSchema, isCoinbaseChannel } from '../sources/coinbase/messages.js';
import { MarketSimulator } from '../sources/simulator/marketSimulator.js';
import { SeededRandom } from '../sources/simulator/seededRandom.js';

const PRODUCT_ID = /^[A-Z0-9]+-[A-Z0-9]+$/;

const count = (name: string, rule: string, ok: (value: number) => boolean): z.ZodNumber =>
  z
    .number({ error: (issue) => `${name} ${quote(issue.input)} must be a number` })
    .refine(ok, { error: (issue) => `${name} ${quote(issue.input)} must be ${rule}` });

const nonNegativeInteger = (name: string): z.ZodNumber => count(name, 'an integer >= 0', (value) => Number.isSafeInteger(value) && value >= 0);
const positiveInteger = (name: string): z.ZodNumber => count(name, 'an integer >= 1', (value) => Number.isSafeInteger(value) && value >= 1);

export const mockCoinbaseParams = z.strictObject({
  /** Products served (`BASE-QUOTE`). */
  products: z
    .array(z.string().regex(PRODUCT_ID, { error: (issue) => `product ${quote(issue.input)} must be BASE-QUOTE, e.g. "BTC-USD"` }))
    .min(1, { error: 'products must list at least one product' })
    .default(['BTC-USD']),
  /** First trade price per product (default 94000 for every product). */
  startPrices: z.record(z.string(), count('startPrice', 'a price >= 1', (value) => value >= 1 && value < 1e9)).default({}),
  /** Seed of the whole market. */
  seed: nonNegativeInteger('seed').default(1),
  /** Start of simulated time, epoch ms (default 2025-01-01T00:00:00Z). */
  startTime: nonNegativeInteger('startTime').default(Date.UTC(2025, 0, 1)),
  /** Simulated time per step, ms. */
  stepMs: positiveInteger('stepMs').default(250),
  /** Real time between automatic steps, ms; 0: no automatic steps, the test calls `step()`. */
  tickMs: nonNegativeInteger('tickMs').default(250),
  /** Real time between heartbeats, ms; 0: no heartbeats. */
  heartbeatMs: nonNegativeInteger('heartbeatMs').default(1_000),
  /** Close a connection not subscribed to heartbeats after this long without a message, ms; 0: never. */
  idleCloseMs: nonNegativeInteger('idleCloseMs').default(60_000),
  /** Close a connection that has not subscribed after this long, ms; 0: never. */
  subscribeTimeoutMs: nonNegativeInteger('subscribeTimeoutMs').default(5_000),
  /** Price levels a side is seeded with, and how far (in ticks) from the price random changes land. */
  depth: positiveInteger('depth').default(25),
  /** Random level changes per book update (plus the removals the moving price forces). */
  levelChangesPerStep: positiveInteger('levelChangesPerStep').default(4),
  /** Whose side `market_trades` `side` carries. */
  tradeSide: z.enum(['maker', 'taker']).default('maker'),
});
export type MockCoinbaseOptions = z.input<typeof mockCoinbaseParams>;
type MockCoinbaseParams = z.output<typeof mockCoinbaseParams>;

/** A fault the mock injected, or a close it decided on, in order. */
export type MockCoinbaseFault =
  | { readonly kind: 'gap'; readonly connection: number; readonly expected: number; readonly got: number; readonly channel: string }
  | { readonly kind: 'duplicate'; readonly connection: number; readonly sequence: number; readonly channel: string }
  | { readonly kind: 'terminate'; readonly connection: number }
  | { readonly kind: 'idle-close'; readonly connection: number }
  | { readonly kind: 'subscribe-timeout'; readonly connection: number };

export interface MockCoinbaseFaults {
  /** The next message on every open connection skips `count` sequence numbers (a gap of `count` lost messages). */
  skipSequence(count?: number): void;
  /** The next message on every open connection is sent twice, with the same `sequence_num`. */
  duplicateNext(): void;
  /** Stops sending a channel's messages (they are not numbered either: the server just goes quiet). */
  stopChannel(channel: CoinbaseChannel): void;
  resumeChannel(channel: CoinbaseChannel): void;
  /** Drops every connection without a close frame (the client sees 1006). */
  terminate(): void;
  /** Faults injected and closes decided so far. */
  readonly injected: readonly MockCoinbaseFault[];
}

export interface MockCoinbaseConnection {
  readonly id: number;
  /** `sequence_num` of the last message sent, -1 before any. */
  readonly lastSequence: number;
  /** Channel -> products (`heartbeats` -> `["heartbeats"]`). */
  readonly subscriptions: Readonly<Partial<Record<CoinbaseChannel, readonly string[]>>>;
}

export interface MockCoinbase {
  /** `ws://127.0.0.1:<port>` */
  readonly url: string;
  readonly products: readonly string[];
  readonly faults: MockCoinbaseFaults;
  /** Moves the market `count` steps, sending what they produce. */
  step(count?: number): void;
  /** The true book of a product, best first, as the numbers of the strings sent. */
  book(productId: string): { readonly bids: Level[]; readonly asks: Level[] };
  /** How many `l2_data` update events the product's book has produced. */
  bookUpdates(productId: string): number;
  /** The simulator making a product's trades (its history is what was traded). */
  simulator(productId: string): MarketSimulator;
  /** Open connections. */
  connections(): readonly MockCoinbaseConnection[];
  /** Closes every connection, stops every timer and the server. */
  close(): Promise<void>;
}

/** Starts a mock on 127.0.0.1 with an ephemeral port. Throws a RangeError listing every bad option. */
export async function startMockCoinbase(options: MockCoinbaseOptions = {}): Promise<MockCoinbase> {
  const parsed = mockCoinbaseParams.safeParse(options);
  if (!parsed.success) throw new RangeError(`startMockCoinbase options are invalid:\n${z.prettifyError(parsed.error)}`);
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024 });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return new MockCoinbaseServer(server, parsed.data);
}

const PRICE_DECIMALS = 2;
const PRICE_SCALE = 10 ** PRICE_DECIMALS;
const QTY_DECIMALS = 8;
/** Largest random level quantity, in units of 1e-8 (2 base units). */
const MAX_LEVEL_QTY = 200_000_000;
const RECENT_TRADES = 50;

type BookSide = 'bid' | 'offer';

interface LevelChange {
  readonly side: BookSide;
  /** Price in ticks (units of 10^-PRICE_DECIMALS). */
  readonly price: number;
  /** Quantity in units of 10^-QTY_DECIMALS; 0 removes. */
  readonly qty: number;
}

interface TradePayload {
  readonly trade_id: string;
  readonly product_id: string;
  readonly price: string;
  readonly size: string;
  readonly side: 'BUY' | 'SELL';
  readonly time: string;
}

/** `units` scaled down by 10^decimals, as a dec-string: (9400012, 2) -> "94000.12". */
function formatUnits(units: number, decimals: number): string {
  const digits = String(units).padStart(decimals + 1, '0');
  return `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
}

/** RFC 3339 with nanoseconds: the ms time plus six digits below it (`...00.123456789Z`). */
function rfc3339Nanos(ms: number, belowMs: number): string {
  return new Date(ms).toISOString().replace('Z', `${String(belowMs % 1_000_000).padStart(6, '0')}Z`);
}

/** Go's `time.Time` text, as in Coinbase heartbeats: `2025-01-01 00:00:01.25 +0000 UTC m=+1.250000001`. */
function goTime(ms: number, sinceStartMs: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000000 +0000 UTC m=+${(sinceStartMs / 1_000).toFixed(9)}`;
}

/** One product: its trades (a simulator) and its book (seeded random levels around the last price). */
class ProductMarket {
  readonly productId: string;
  readonly simulator: MarketSimulator;
  readonly #random: SeededRandom;
  readonly #depth: number;
  readonly #changesPerStep: number;
  readonly #makerSide: boolean;
  readonly #bids = new Map<number, number>();
  readonly #asks = new Map<number, number>();
  readonly #recent: TradePayload[] = [];
  /** Last trade price, in ticks. */
  #price: number;
  #lastPrice: string;
  #updates = 0;

  constructor(productId: string, index: number, params: MockCoinbaseParams) {
    this.productId = productId;
    const startPrice = params.startPrices[productId] ?? 94_000;
    this.simulator = new MarketSimulator({
      seed: params.seed * 31 + index,
      symbol: productId,
      venue: 'coinbase',
      startTime: params.startTime,
      startPrice,
      tickSize: 1 / PRICE_SCALE,
      maxHistory: 1_000_000,
    });
    this.#random = new SeededRandom(params.seed * 31 + index + 1_000_003);
    this.#depth = params.depth;
    this.#changesPerStep = params.levelChangesPerStep;
    this.#makerSide = params.tradeSide === 'maker';
    this.#price = Math.round(startPrice * PRICE_SCALE);
    this.#lastPrice = formatUnits(this.#price, PRICE_DECIMALS);
    for (let k = 1; k <= this.#depth; k++) {
      if (this.#price - k > 0) this.#bids.set(this.#price - k, this.#quantity());
      this.#asks.set(this.#price + k, this.#quantity());
    }
  }

  get updates(): number {
    return this.#updates;
  }

  /** Moves the market to `until` (simulated ms): the trades made and the level changes, in order. */
  step(until: number): { readonly trades: readonly TradePayload[]; readonly changes: readonly LevelChange[] } {
    const trades = this.simulator.advanceTo(until).map((trade) => this.#tradePayload(trade));
    const last = trades[trades.length - 1];
    if (last !== undefined) {
      this.#price = Math.round(Number(last.price) * PRICE_SCALE);
      this.#lastPrice = last.price;
      this.#recent.unshift(...[...trades].reverse());
      this.#recent.length = Math.min(this.#recent.length, RECENT_TRADES);
    }
    const changes: LevelChange[] = [];
    const set = (side: BookSide, price: number, qty: number): void => {
      const levels = side === 'bid' ? this.#bids : this.#asks;
      if (qty === 0) levels.delete(price);
      else levels.set(price, qty);
      changes.push({ side, price, qty });
    };
    const price = this.#price;
    const reach = 2 * this.#depth;
    for (const level of [...this.#bids.keys()]) if (level >= price || level < price - reach) set('bid', level, 0);
    for (const level of [...this.#asks.keys()]) if (level <= price || level > price + reach) set('offer', level, 0);
    for (let i = 0; i < this.#changesPerStep; i++) {
      const side: BookSide = this.#random.uniform() < 0.5 ? 'bid' : 'offer';
      const offset = 1 + Math.floor(this.#random.uniform() * this.#depth);
      const level = side === 'bid' ? price - offset : price + offset;
      if (level <= 0) continue;
      const exists = (side === 'bid' ? this.#bids : this.#asks).has(level);
      set(side, level, exists && this.#random.uniform() < 0.3 ? 0 : this.#quantity());
    }
    // A jump of the price can empty a side: refill the nearest ticks, so a side always has levels.
    const least = Math.ceil(this.#depth / 2);
    for (let offset = 1; offset <= this.#depth && this.#bids.size < least && price - offset > 0; offset++) {
      if (!this.#bids.has(price - offset)) set('bid', price - offset, this.#quantity());
    }
    for (let offset = 1; offset <= this.#depth && this.#asks.size < least; offset++) {
      if (!this.#asks.has(price + offset)) set('offer', price + offset, this.#quantity());
    }
    this.#updates++;
    return { trades: trades.reverse(), changes };
  }

  /** The whole book as `l2_data` updates: bids best first, then asks best first. */
  snapshotUpdates(eventTime: string): object[] {
    const { bids, asks } = this.#sorted();
    return [
      ...bids.map(([price, qty]) => this.#update('bid', price, qty, eventTime)),
      ...asks.map(([price, qty]) => this.#update('offer', price, qty, eventTime)),
    ];
  }

  changeUpdates(changes: readonly LevelChange[], eventTime: string): object[] {
    return changes.map((change) => this.#update(change.side, change.price, change.qty, eventTime));
  }

  /** The last trades, newest first. */
  recentTrades(): readonly TradePayload[] {
    return this.#recent;
  }

  ticker(): object {
    const { bids, asks } = this.#sorted();
    const [bid, bidQty] = bids[0] ?? [0, 0];
    const [ask, askQty] = asks[0] ?? [0, 0];
    return {
      type: 'ticker',
      product_id: this.productId,
      price: this.#lastPrice,
      volume_24_h: '0',
      low_24_h: this.#lastPrice,
      high_24_h: this.#lastPrice,
      low_52_w: this.#lastPrice,
      high_52_w: this.#lastPrice,
      price_percent_chg_24_h: '0',
      best_bid: formatUnits(bid, PRICE_DECIMALS),
      best_bid_quantity: formatUnits(bidQty, QTY_DECIMALS),
      best_ask: formatUnits(ask, PRICE_DECIMALS),
      best_ask_quantity: formatUnits(askQty, QTY_DECIMALS),
    };
  }

  book(): { readonly bids: Level[]; readonly asks: Level[] } {
    const { bids, asks } = this.#sorted();
    const level = ([price, qty]: readonly [number, number]): Level => [Number(formatUnits(price, PRICE_DECIMALS)), Number(formatUnits(qty, QTY_DECIMALS))];
    return { bids: bids.map(level), asks: asks.map(level) };
  }

  #sorted(): { bids: [number, number][]; asks: [number, number][] } {
    return {
      bids: [...this.#bids.entries()].sort((a, b) => b[0] - a[0]),
      asks: [...this.#asks.entries()].sort((a, b) => a[0] - b[0]),
    };
  }

  #update(side: BookSide, price: number, qty: number, eventTime: string): object {
    return { side, event_time: eventTime, price_level: formatUnits(price, PRICE_DECIMALS), new_quantity: formatUnits(qty, QTY_DECIMALS) };
  }

  #quantity(): number {
    return 1 + Math.floor(this.#random.uniform() * MAX_LEVEL_QTY);
  }

  #tradePayload(trade: Trade): TradePayload {
    const takerBuy = trade.side === 'buy';
    const buy = this.#makerSide ? !takerBuy : takerBuy;
    return {
      trade_id: String(trade.id),
      product_id: this.productId,
      price: trade.price.toFixed(PRICE_DECIMALS),
      size: trade.qty.toFixed(QTY_DECIMALS),
      side: buy ? 'BUY' : 'SELL',
      time: rfc3339Nanos(trade.tsEvent, (trade.id * 7_919) % 1_000_000),
    };
  }
}

interface Client {
  readonly id: number;
  readonly socket: WebSocket;
  nextSequence: number;
  heartbeatCounter: number;
  readonly subscriptions: Map<CoinbaseChannel, Set<string>>;
  subscribed: boolean;
  pendingSkip: number;
  pendingDuplicate: boolean;
  idleTimer: NodeJS.Timeout | undefined;
  subscribeTimer: NodeJS.Timeout | undefined;
}

class MockCoinbaseServer implements MockCoinbase {
  readonly url: string;
  readonly products: readonly string[];
  readonly faults: MockCoinbaseFaults;
  readonly #server: WebSocketServer;
  readonly #params: MockCoinbaseParams;
  readonly #markets = new Map<string, ProductMarket>();
  readonly #clients = new Map<number, Client>();
  readonly #stopped = new Set<CoinbaseChannel>();
  readonly #injected: MockCoinbaseFault[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  #nextClient = 1;
  #now: number;
  #closed = false;

  constructor(server: WebSocketServer, params: MockCoinbaseParams) {
    this.#server = server;
    this.#params = params;
    this.#now = params.startTime;
    const address = server.address() as AddressInfo;
    this.url = `ws://127.0.0.1:${address.port}`;
    this.products = params.products;
    params.products.forEach((productId, index) => this.#markets.set(productId, new ProductMarket(productId, index, params)));
    server.on('connection', (socket) => {
      this.#connect(socket);
    });
    if (params.tickMs > 0) this.#timers.push(setInterval(() => { this.step(1); }, params.tickMs));
    if (params.heartbeatMs > 0) this.#timers.push(setInterval(() => { this.#heartbeats(); }, params.heartbeatMs));
    const injected = this.#injected;
    this.faults = {
      injected,
      skipSequence: (count = 1) => {
        if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`skipSequence count ${quote(count)} must be an integer >= 1`);
        for (const client of this.#clients.values()) client.pendingSkip += count;
      },
      duplicateNext: () => {
        for (const client of this.#clients.values()) client.pendingDuplicate = true;
      },
      stopChannel: (channel) => {
        this.#stopped.add(channel);
      },
      resumeChannel: (channel) => {
        this.#stopped.delete(channel);
      },
      terminate: () => {
        for (const client of [...this.#clients.values()]) {
          injected.push({ kind: 'terminate', connection: client.id });
          client.socket.terminate();
        }
      },
    };
  }

  step(count = 1): void {
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`step count ${quote(count)} must be an integer >= 0`);
    for (let i = 0; i < count && !this.#closed; i++) {
      this.#now += this.#params.stepMs;
      for (const market of this.#markets.values()) {
        const { trades, changes } = market.step(this.#now);
        const id = market.productId;
        this.#broadcast('level2', id, (client) => [
          { type: 'update', product_id: id, updates: market.changeUpdates(changes, this.#timestamp(client.nextSequence)) },
        ]);
        if (trades.length > 0) this.#broadcast('market_trades', id, () => [{ type: 'update', trades }]);
        this.#broadcast('ticker', id, () => [{ type: 'update', tickers: [market.ticker()] }]);
      }
    }
  }

  book(productId: string): { readonly bids: Level[]; readonly asks: Level[] } {
    return this.#market(productId).book();
  }

  bookUpdates(productId: string): number {
    return this.#market(productId).updates;
  }

  simulator(productId: string): MarketSimulator {
    return this.#market(productId).simulator;
  }

  connections(): readonly MockCoinbaseConnection[] {
    return [...this.#clients.values()].map((client) => ({
      id: client.id,
      lastSequence: client.nextSequence - 1,
      subscriptions: Object.fromEntries([...client.subscriptions].map(([channel, products]) => [channel, [...products]])),
    }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    for (const client of this.#clients.values()) {
      this.#clearTimers(client);
      client.socket.terminate();
    }
    this.#clients.clear();
    await new Promise<void>((resolve, reject) => {
      this.#server.close((err) => {
        if (err === undefined) resolve();
        else reject(err);
      });
    });
  }

  #market(productId: string): ProductMarket {
    const market = this.#markets.get(productId);
    if (market === undefined) throw new RangeError(`Product ${quote(productId)} is not served by this mock: ${this.products.join(', ')}`);
    return market;
  }

  #connect(socket: WebSocket): void {
    const client: Client = {
      id: this.#nextClient++,
      socket,
      nextSequence: 0,
      heartbeatCounter: 0,
      subscriptions: new Map(),
      subscribed: false,
      pendingSkip: 0,
      pendingDuplicate: false,
      idleTimer: undefined,
      subscribeTimer: undefined,
    };
    this.#clients.set(client.id, client);
    // A protocol error closes the socket; the close handler below cleans up.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#clearTimers(client);
      this.#clients.delete(client.id);
    });
    socket.on('message', (data, isBinary) => {
      this.#request(client, isBinary ? undefined : text(data));
    });
    const deadline = this.#params.subscribeTimeoutMs;
    if (deadline > 0) {
      client.subscribeTimer = setTimeout(() => {
        if (client.subscribed) return;
        this.#injected.push({ kind: 'subscribe-timeout', connection: client.id });
        socket.close(1000, `no subscribe within ${deadline} ms`);
      }, deadline);
    }
  }

  /** Answers one client request; false when it was rejected with an error message. */
  #request(client: Client, frame: string | undefined): boolean {
    if (frame === undefined) return this.#error(client, 'binary frames are not accepted: send JSON text');
    let value: unknown;
    try {
      value = JSON.parse(frame);
    } catch {
      return this.#error(client, `malformed JSON: ${quote(frame)}`);
    }
    const parsed = CoinbaseRequestSchema.safeParse(value);
    if (!parsed.success) return this.#error(client, `invalid request: ${z.prettifyError(parsed.error).replace(/\n/g, ' ')}`);
    const { type, channel, product_ids: products = [] } = parsed.data;
    if (!isCoinbaseChannel(channel)) return this.#error(client, `Failed to ${type}: unsupported channel ${quote(channel)}, expected one of ${COINBASE_CHANNELS.join(', ')}`);
    const unknown = products.filter((product) => !this.#markets.has(product));
    if (unknown.length > 0) return this.#error(client, `Failed to ${type}: unknown product_ids ${quote(unknown)}`);
    if (type === 'subscribe') {
      if (channel !== 'heartbeats' && products.length === 0) return this.#error(client, `Failed to subscribe: channel ${quote(channel)} needs product_ids`);
      client.subscribed = true;
      if (client.subscribeTimer !== undefined) clearTimeout(client.subscribeTimer);
      client.subscribeTimer = undefined;
      const set = client.subscriptions.get(channel) ?? new Set<string>();
      for (const product of channel === 'heartbeats' ? ['heartbeats'] : products) set.add(product);
      client.subscriptions.set(channel, set);
      this.#acknowledge(client);
      if (channel !== 'heartbeats') for (const product of products) this.#snapshot(client, channel, product);
      return true;
    }
    const set = client.subscriptions.get(channel);
    if (set !== undefined) {
      if (products.length === 0 || channel === 'heartbeats') set.clear();
      for (const product of products) set.delete(product);
      if (set.size === 0) client.subscriptions.delete(channel);
    }
    this.#acknowledge(client);
    return true;
  }

  #acknowledge(client: Client): void {
    const subscriptions = Object.fromEntries([...client.subscriptions].map(([channel, products]) => [channel, [...products]]));
    this.#send(client, undefined, 'subscriptions', [{ subscriptions }]);
  }

  #snapshot(client: Client, channel: Exclude<CoinbaseChannel, 'heartbeats'>, productId: string): void {
    const market = this.#market(productId);
    if (channel === 'level2') {
      this.#send(client, channel, COINBASE_MESSAGE_CHANNEL.level2, [
        { type: 'snapshot', product_id: productId, updates: market.snapshotUpdates(this.#timestamp(client.nextSequence)) },
      ]);
    } else if (channel === 'market_trades') {
      this.#send(client, channel, COINBASE_MESSAGE_CHANNEL.market_trades, [{ type: 'snapshot', trades: market.recentTrades() }]);
    } else {
      this.#send(client, channel, COINBASE_MESSAGE_CHANNEL.ticker, [{ type: 'snapshot', tickers: [market.ticker()] }]);
    }
  }

  #heartbeats(): void {
    for (const client of this.#clients.values()) {
      if (!client.subscriptions.has('heartbeats')) continue;
      client.heartbeatCounter++;
      this.#send(client, 'heartbeats', 'heartbeats', [
        { current_time: goTime(this.#now, this.#now - this.#params.startTime), heartbeat_counter: client.heartbeatCounter },
      ]);
    }
  }

  /** Sends to each connection subscribed to `channel` for `productId`; `events` builds the events per connection. */
  #broadcast(channel: CoinbaseChannel, productId: string, events: (client: Client) => readonly object[]): void {
    for (const client of this.#clients.values()) {
      if (client.subscriptions.get(channel)?.has(productId) !== true) continue;
      this.#send(client, channel, COINBASE_MESSAGE_CHANNEL[channel], events(client));
    }
  }

  /** Sends one numbered message, applying the pending faults. `channel` undefined: a subscriptions ack, never stopped. */
  #send(client: Client, channel: CoinbaseChannel | undefined, messageChannel: string, events: readonly object[]): void {
    if (channel !== undefined && this.#stopped.has(channel)) return;
    if (client.socket.readyState !== client.socket.OPEN) return;
    let sequence = client.nextSequence;
    if (client.pendingSkip > 0) {
      sequence += client.pendingSkip;
      this.#injected.push({ kind: 'gap', connection: client.id, expected: client.nextSequence, got: sequence, channel: messageChannel });
      client.pendingSkip = 0;
    }
    client.nextSequence = sequence + 1;
    const frame = JSON.stringify({ channel: messageChannel, client_id: '', timestamp: this.#timestamp(sequence), sequence_num: sequence, events });
    client.socket.send(frame);
    if (client.pendingDuplicate) {
      client.pendingDuplicate = false;
      this.#injected.push({ kind: 'duplicate', connection: client.id, sequence, channel: messageChannel });
      client.socket.send(frame);
    }
    this.#armIdle(client);
  }

  #error(client: Client, message: string): false {
    if (client.socket.readyState === client.socket.OPEN) client.socket.send(JSON.stringify({ type: 'error', message }));
    return false;
  }

  /** The simulated time, with digits below the ms that vary by sequence number (so parsers meet real nanoseconds). */
  #timestamp(sequence: number): string {
    return rfc3339Nanos(this.#now, (sequence * 104_729 + 12_345) % 1_000_000);
  }

  /** (Re)starts the idle deadline of a subscribed connection (one that never subscribes meets the subscribe deadline instead). */
  #armIdle(client: Client): void {
    const idle = this.#params.idleCloseMs;
    if (idle === 0 || !client.subscribed) return;
    if (client.idleTimer !== undefined) clearTimeout(client.idleTimer);
    client.idleTimer = setTimeout(() => {
      client.idleTimer = undefined;
      if (client.subscriptions.has('heartbeats')) {
        this.#armIdle(client);
        return;
      }
      this.#injected.push({ kind: 'idle-close', connection: client.id });
      client.socket.close(1000, `idle for ${idle} ms without a heartbeats subscription`);
    }, idle);
  }

  #clearTimers(client: Client): void {
    if (client.idleTimer !== undefined) clearTimeout(client.idleTimer);
    if (client.subscribeTimer !== undefined) clearTimeout(client.subscribeTimer);
    client.idleTimer = undefined;
    client.subscribeTimer = undefined;
  }
}

function text(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}
