/**
 * The true state of one mock Binance market (spot or USD-M): a seeded {@link SymbolSim} per symbol
 * and the named streams clients subscribe to.
 *
 * Time belongs to the exchange. `advanceTo(t)` makes every event before `t` happen and fires
 * every scheduled push (depth windows, kline updates, mark price) on the 50 ms grid up to `t`, so
 * at any moment REST answers (which read the same state) agree with what the streams have sent:
 * after a depth window is pushed at `t`, the REST snapshot's `lastUpdateId` is that event's `u`.
 * Who drives time (a wall clock, a benchmark's appetite, a test) is the caller's business.
 *
 * ```ts
 * const spot = new SimExchange({ market: 'spot', symbols: [{ symbol: 'BTC-USDT' }], seed: 7, startTime });
 * spot.advanceTo(startTime + 60_000);            // one minute of history, nothing subscribed
 * spot.simulator('BTC-USDT').tradesFromId(1, 10);
 * ```
 */
import { quote } from '../../errors.js';
import { tryCanonicalSymbol } from '../../model/index.js';
import type { MarketSimulator, MarketSimulatorOptions } from '../../sources/simulator/marketSimulator.js';
import { SeededRandom } from '../../sources/simulator/seededRandom.js';
import { markPricePayload } from './payloads.js';
import { StreamChannel } from './streamChannel.js';
import type { StreamSubscriber } from './streamChannel.js';
import type { MockMarket, StreamSpec } from './streamNames.js';
import { parseStreamName } from './streamNames.js';
import type { BookSettings, SharedChannels } from './symbolSim.js';
import { SymbolSim } from './symbolSim.js';

/** Scheduled pushes happen on this grid (every cadence Binance uses is a multiple of it). */
export const GRID_MS = 50;

/** One symbol and, optionally, its simulator params (defaults are realistic per symbol and market). */
export type SimSymbolOptions = { readonly symbol: string } & Omit<MarketSimulatorOptions, 'symbol' | 'seed' | 'startTime' | 'maxHistory'>;

export interface SimExchangeOptions {
  readonly market: MockMarket;
  readonly symbols: readonly SimSymbolOptions[];
  readonly seed: number;
  /** Start of the exchange clock and of the history, epoch ms. */
  readonly startTime: number;
  /** Trades kept per symbol (the simulator's `maxHistory`). */
  readonly maxHistory?: number;
  readonly book?: Partial<BookSettings>;
  /** Expected liquidations an hour per symbol (USD-M, default 60). */
  readonly liquidationsPerHour?: number;
  /** Funding interval (USD-M, default 8 h). */
  readonly fundingIntervalHours?: number;
  /** Overrides the push cadence of every kline stream, ms (a multiple of 50). */
  readonly klineUpdateMs?: number;
}

interface SymbolDefaults {
  readonly startPrice: number;
  readonly tickSize: number;
  readonly lotSize: number;
  readonly qtyMedian: number;
}

const SPOT_DEFAULTS: Readonly<Record<string, SymbolDefaults>> = {
  'BTC-USDT': { startPrice: 94_000, tickSize: 0.01, lotSize: 0.00001, qtyMedian: 0.004 },
  'ETH-USDT': { startPrice: 3_300, tickSize: 0.01, lotSize: 0.0001, qtyMedian: 0.05 },
  'SOL-USDT': { startPrice: 190, tickSize: 0.01, lotSize: 0.001, qtyMedian: 1 },
};
const USDM_DEFAULTS: Readonly<Record<string, SymbolDefaults>> = {
  'BTC-USDT': { startPrice: 94_000, tickSize: 0.1, lotSize: 0.001, qtyMedian: 0.01 },
  'ETH-USDT': { startPrice: 3_300, tickSize: 0.01, lotSize: 0.001, qtyMedian: 0.1 },
  'SOL-USDT': { startPrice: 190, tickSize: 0.01, lotSize: 0.01, qtyMedian: 1 },
};
const OTHER_DEFAULTS: SymbolDefaults = { startPrice: 100, tickSize: 0.01, lotSize: 0.001, qtyMedian: 1 };

export class SimExchange {
  readonly market: MockMarket;
  #now: number;
  #nextGrid: number;
  readonly #symbols: SymbolSim[] = [];
  readonly #byLower = new Map<string, SymbolSim>();
  readonly #channels = new Map<string, StreamChannel>();
  readonly #allMark: StreamChannel[];
  readonly #shared: SharedChannels;

  constructor(options: SimExchangeOptions) {
    this.market = options.market;
    if (!Number.isSafeInteger(options.startTime) || options.startTime < 0) throw new RangeError(`startTime ${quote(options.startTime)} must be epoch ms`);
    if (options.symbols.length === 0) throw new RangeError('A mock exchange needs at least one symbol');
    const usdm = options.market === 'usdm';
    this.#shared = usdm
      ? { allBookTicker: this.#channelOf('!bookTicker'), allForceOrder: this.#channelOf('!forceOrder@arr') }
      : { allBookTicker: undefined, allForceOrder: undefined };
    this.#allMark = usdm ? [this.#channelOf('!markPrice@arr'), this.#channelOf('!markPrice@arr@1s')] : [];
    // Every symbol gets its own seeds, drawn in order from the exchange seed.
    const seeds = new SeededRandom(options.seed + (usdm ? 1 : 0));
    const drawSeed = (): number => seeds.nextUint32() * 2_097_152 + (seeds.nextUint32() >>> 11);
    for (const [index, entry] of options.symbols.entries()) {
      const { symbol: raw, ...overrides } = entry;
      const canonical = tryCanonicalSymbol(raw);
      if (canonical === undefined) throw new RangeError(`symbols[${index}] ${quote(raw)} is not recognised: write it as BASE-QUOTE, e.g. "BTC-USDT"`);
      const lower = canonical.replace('-', '').toLowerCase();
      if (this.#byLower.has(lower)) throw new RangeError(`symbols[${index}] ${quote(raw)} is listed twice`);
      const defaults = (usdm ? USDM_DEFAULTS : SPOT_DEFAULTS)[canonical] ?? OTHER_DEFAULTS;
      const simulator: MarketSimulatorOptions = {
        ...defaults,
        venue: usdm ? 'binance-usdm' : 'binance',
        ...overrides,
        symbol: canonical,
        seed: drawSeed(),
        startTime: options.startTime,
        ...(options.maxHistory === undefined ? {} : { maxHistory: options.maxHistory }),
      };
      const sim = new SymbolSim(
        {
          market: options.market,
          simulator,
          seed: drawSeed(),
          book: { levels: 100, updatesPerSecond: 10, ...options.book },
          liquidationsPerHour: options.liquidationsPerHour ?? 60,
          fundingIntervalMs: (options.fundingIntervalHours ?? 8) * 3_600_000,
          klineUpdateMs: options.klineUpdateMs,
          tradeIdOffset: usdm ? 5_000_000_000 : 3_000_000_000,
          firstUpdateId: (usdm ? 7_000_000_000 : 1_000_000_000) + (seeds.nextUint32() % 1_000_000),
        },
        this.#shared,
      );
      this.#symbols.push(sim);
      this.#byLower.set(lower, sim);
    }
    this.#now = options.startTime;
    this.#nextGrid = options.startTime - (options.startTime % GRID_MS) + GRID_MS;
  }

  /** The exchange clock: every event before it has happened. */
  now(): number {
    return this.#now;
  }

  /** Canonical symbols, in the order given. */
  get symbols(): readonly string[] {
    return this.#symbols.map((sim) => sim.canonical);
  }

  /** The symbol's state, by canonical (`BTC-USDT`), Binance (`BTCUSDT`) or stream (`btcusdt`) name. */
  symbol(name: string): SymbolSim | undefined {
    const canonical = tryCanonicalSymbol(name);
    return canonical === undefined ? undefined : this.#byLower.get(canonical.replace('-', '').toLowerCase());
  }

  /** The trade simulator of a symbol: the ground truth of its trades and klines. */
  simulator(symbol: string): MarketSimulator {
    const sim = this.symbol(symbol);
    if (sim === undefined) throw new RangeError(`Symbol ${quote(symbol)} is not on the mock ${this.market} exchange. Available: ${this.symbols.join(', ')}`);
    return sim.sim;
  }

  /** Makes everything before `time` happen (see the module doc). Going back is a no-op. */
  advanceTo(time: number): void {
    if (!(time > this.#now)) return;
    const symbols = this.#symbols;
    while (this.#nextGrid <= time) {
      const g = this.#nextGrid;
      for (const sim of symbols) sim.runUntil(g - 1);
      for (const sim of symbols) sim.onGrid(g);
      if (this.#allMark.length > 0 && g % 1_000 === 0) this.#pushAllMark(g);
      this.#now = g;
      this.#nextGrid = g + GRID_MS;
    }
    const last = Math.ceil(time) - 1;
    for (const sim of symbols) sim.runUntil(last);
    this.#now = time;
  }

  /**
   * Subscribes to a stream. False when the symbol is not listed: the subscription is then
   * silent, as on Binance (acknowledged, never fed).
   */
  subscribe(spec: StreamSpec, subscriber: StreamSubscriber): boolean {
    const sim = spec.symbol === '' ? undefined : this.#byLower.get(spec.symbol);
    if (spec.symbol !== '' && sim === undefined) return false;
    const channel = this.#channelOf(spec.name, spec);
    const first = channel.subscribers.size === 0;
    channel.subscribers.add(subscriber);
    if (first && sim !== undefined) sim.activate(spec, channel, this.#now);
    return true;
  }

  unsubscribe(spec: StreamSpec, subscriber: StreamSubscriber): void {
    const channel = this.#channels.get(spec.name);
    if (channel === undefined || !channel.subscribers.delete(subscriber)) return;
    if (channel.subscribers.size > 0) return;
    const sim = spec.symbol === '' ? undefined : this.#byLower.get(spec.symbol);
    if (sim !== undefined) sim.deactivate(spec, channel);
  }

  /** Frames written per stream, over all connections so far. */
  deliveredByStream(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, channel] of this.#channels) if (channel.delivered > 0) out.set(name, channel.delivered);
    return out;
  }

  /** The channel of a stream, once anyone has subscribed to it. */
  channel(stream: string): StreamChannel | undefined {
    return this.#channels.get(stream);
  }

  /** Subscribers of a stream right now. */
  subscriberCount(stream: string): number {
    return this.#channels.get(stream)?.subscribers.size ?? 0;
  }

  #channelOf(name: string, known?: StreamSpec): StreamChannel {
    let channel = this.#channels.get(name);
    if (channel === undefined) {
      const spec = known ?? parseStreamName(this.market, name);
      if (typeof spec === 'string') throw new RangeError(spec);
      channel = new StreamChannel(spec);
      this.#channels.set(name, channel);
    }
    return channel;
  }

  #pushAllMark(g: number): void {
    const active = this.#allMark.filter((channel) => channel.active && g % channel.spec.cadenceMs === 0);
    if (active.length === 0) return;
    const parts: string[] = [];
    for (const sim of this.#symbols) {
      const mark = sim.mark();
      if (mark !== undefined) parts.push(markPricePayload(sim.format, mark));
    }
    if (parts.length === 0) return;
    const payload = `[${parts.join(',')}]`;
    for (const channel of active) channel.publish(payload);
  }
}
