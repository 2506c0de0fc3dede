/**
 * A local mock of Binance spot and USD-M futures market data: WebSocket streams and REST, on
 * 127.0.0.1, backed by a seeded simulated exchange, with a fault injector and counters. It is the
 * fixture of the reliability tests and the WebSocket benchmarks, and what `alphaflow
 * mock-exchange` serves to test pipelines offline (protocols.md §1, §2; reliability.md §6).
 *
 * ```ts
 * const mock = await startMockBinance({ symbols: ['BTC-USDT', 'ETH-USDT'], seed: 7, timing: 'test' });
 * const ws = new WebSocket(`${mock.spotWsUrl}/stream?streams=btcusdt@aggTrade/btcusdt@depth@100ms`);
 * const book = await fetch(`${mock.spotRestUrl}/api/v3/depth?symbol=BTCUSDT&limit=1000`);
 * mock.faults.skipDepthUpdates(3);                 // a sequence gap on every open connection
 * mock.faults.terminate({ atMessage: [100, 500] }); // a cut at a seeded random message
 * mock.stats.snapshot().closes1008;                // 0, unless a client sent too fast
 * await mock.close();                              // every socket, server and timer released
 * ```
 *
 * ## API
 *
 * `startMockBinance(options?: MockBinanceOptions): Promise<MockBinance>`; bad options reject with
 * a `ConfigError` listing every problem (`mockBinanceParams` is the schema). The handle:
 *
 * - `spotWsUrl`, `usdmWsUrl`: `ws://127.0.0.1:<port>`; append `/ws`, `/ws/<stream>` or
 *   `/stream?streams=a/b` (USD-M: under `/public` for book streams, `/market` for the others; the
 *   legacy un-routed paths serve what `futuresLegacyRoutes` says, book streams by default).
 *   `spotRestUrl`, `usdmRestUrl`: `http://127.0.0.1:<port>` (the same server as the market's
 *   WebSocket), serving `/api/v3/{ping,time,exchangeInfo,depth,klines,aggTrades}` and
 *   `/fapi/v1/{ping,time,exchangeInfo,depth,klines,aggTrades,fundingRate,premiumIndex}`.
 * - `sim: MockSim`: `sim.spot` and `sim.usdm` ({@link SimExchange}: `simulator(symbol)` is the
 *   ground truth of trades and klines, `symbol(name)` the book, mark price and funding), `now()`,
 *   and `advanceBy(ms)` / `advanceTo(t)` in `manual` mode.
 * - `faults: FaultInjector`: see `faults.ts` for every fault, its targeting and timing.
 * - `stats.snapshot(): MockStatsSnapshot`: connections open and total (per market too), every
 *   connection with its streams, silent streams, frames sent, control messages and their peak
 *   rate per second, close code and side; 1008 closes, pong timeouts, max-age closes,
 *   `serverShutdown` notices, slow-consumer cuts, refused and throttled upgrades; frames sent per
 *   stream; faults injected by kind; REST requests by path and status.
 * - `close(): Promise<void>`: terminates every connection, stops every timer, closes both servers.
 *
 * ## Streams (`<s>` is the lower-case symbol)
 *
 * Spot: `<s>@trade`, `<s>@aggTrade`, `<s>@kline_<i>` (1s to 1d: forming updates with `x:false`
 * every 2 s, 1 s bars only final, or every `klineUpdateMs`; the final bar with `x:true` when it
 * ends), `<s>@bookTicker`, `<s>@depth[@100ms]` (diffs, `U`/`u` contiguous),
 * `<s>@depth<5|10|20>[@100ms]`. USD-M `/market`: `<s>@aggTrade`, `<s>@trade`, `<s>@kline_<i>`
 * (every 250 ms), `<s>@markPrice[@1s]`, `!markPrice@arr[@1s]`, `<s>@forceOrder`,
 * `!forceOrder@arr`; `/public`: `<s>@depth[@100ms|@500ms]` (with `pu`), `<s>@depth<N>`,
 * `<s>@bookTicker`, `!bookTicker`. A known stream shape with an unlisted symbol is acknowledged
 * and silent, as on Binance.
 *
 * Connection rules per market (`timing: 'production'` or `'test'`, each overridable under `spot`
 * and `usdm`): server pings and a pong deadline, the inbound message limit (5/s spot, 10/s USD-M,
 * then close 1008), at most `maxStreams` streams, `maxAgeMs` with an optional `serverShutdown`
 * notice, and `connectionAttempts` upgrades per `connectionWindowMs` (then 429).
 *
 * ## Time
 *
 * The simulated history starts at `startTime` (default: now minus `warmupMs`), and `warmupMs` of
 * it exist before the servers open. Then `mode` decides: `realtime` follows the clock (times
 * `speed`); `manual` waits for `sim.advanceBy`; `firehose` runs as fast as the clients read
 * (lossless: the slowest sets the pace), for benchmarks. In firehose, raise the symbol's
 * `tradeRate` (e.g. `{ symbol: 'BTC-USDT', tradeRate: 100_000 }`) so simulated time does not
 * outrun the parser's one-day lead, and for rates beyond what the simulator makes live use
 * `spot: { prerender: { streams, frames } }`: frames made before the server opens and sent as
 * pre-framed slices (`prerender.ts`). Frames are flushed to the sockets on the next
 * `setImmediate` after they are made. A clock skew (reliability.md D-08) is a `startTime` shifted
 * by the skew in realtime mode.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { quote } from '../../errors.js';
import { FaultInjector } from './faults.js';
import type { ClockMode } from './marketDriver.js';
import { MarketDriver } from './marketDriver.js';
import type { MockBinanceOptions } from './mockBinanceOptions.js';
import { marketSettings, parseMockBinanceOptions } from './mockBinanceOptions.js';
import { systemClock } from './mockClock.js';
import { MockCounters } from './mockCounters.js';
import type { MockStats } from './mockStats.js';
import { createMockStats } from './mockStats.js';
import type { PrerenderedStream } from './prerender.js';
import { prerender } from './prerender.js';
import { RestFrontEnd } from './restServer.js';
import type { SimSymbolOptions } from './simExchange.js';
import { SimExchange } from './simExchange.js';
import type { MockMarket, StreamSpec } from './streamNames.js';
import { parseStreamName } from './streamNames.js';
import { WsFrontEnd } from './wsServer.js';

export type { ClockMode } from './marketDriver.js';
export type { MockBinanceOptions } from './mockBinanceOptions.js';
export { mockBinanceParams } from './mockBinanceOptions.js';
export type { MockClock } from './mockClock.js';
export type { MalformedKind } from './mockConnection.js';
export { MALFORMED_KINDS } from './mockConnection.js';
export type { FaultKind } from './mockCounters.js';
export { FAULT_KINDS } from './mockCounters.js';
export type { ConnectionStats, MarketStats, MockStats, MockStatsSnapshot } from './mockStats.js';
export type { ConnectionTarget, FaultTiming, FrameFaultOptions } from './faults.js';
export { FaultInjector } from './faults.js';
export type { SimExchangeOptions, SimSymbolOptions } from './simExchange.js';
export { SimExchange } from './simExchange.js';
export type { MockMarket, StreamKind, StreamSpec } from './streamNames.js';
export { parseStreamName } from './streamNames.js';

/** Time control and the two simulated exchanges. */
export interface MockSim {
  readonly mode: ClockMode;
  readonly spot: SimExchange;
  readonly usdm: SimExchange;
  /** The exchange clock of a market (default spot): every event before it has happened. */
  now(market?: MockMarket): number;
  /** Manual mode: moves both markets `ms` forward, making what happens in between happen. */
  advanceBy(ms: number): void;
  /** Manual mode: moves both markets to `time`. */
  advanceTo(time: number): void;
}

export interface MockBinance {
  readonly spotWsUrl: string;
  readonly spotRestUrl: string;
  readonly usdmWsUrl: string;
  readonly usdmRestUrl: string;
  readonly sim: MockSim;
  readonly faults: FaultInjector;
  readonly stats: MockStats;
  /** Closes every connection, server and timer. */
  close(): Promise<void>;
}

interface MarketParts {
  readonly market: MockMarket;
  readonly exchange: SimExchange;
  readonly frontEnd: WsFrontEnd;
  readonly rest: RestFrontEnd;
  readonly driver: MarketDriver;
  readonly server: Server;
}

/** Starts the mock: both markets, each on its own HTTP server (WebSocket and REST on one port). */
export async function startMockBinance(options: MockBinanceOptions = {}): Promise<MockBinance> {
  const params = parseMockBinanceOptions(options);
  const clock = options.clock ?? systemClock;
  const counters = new MockCounters();
  const startTime = params.startTime ?? clock.now() - params.warmupMs;
  const symbols: SimSymbolOptions[] = params.symbols.map((entry) => (typeof entry === 'string' ? { symbol: entry } : (entry as SimSymbolOptions)));
  const frontEnds: WsFrontEnd[] = [];
  const faults = new FaultInjector(params.seed, counters, frontEnds);

  const parts: MarketParts[] = (['spot', 'usdm'] as const).map((market) => {
    const settings = marketSettings(params, market);
    const exchange = new SimExchange({
      market,
      symbols,
      seed: params.seed,
      startTime,
      ...(params.maxHistory === undefined ? {} : { maxHistory: params.maxHistory }),
      book: params.book,
      liquidationsPerHour: params.liquidationsPerHour,
      fundingIntervalHours: params.fundingIntervalHours,
      ...(params.klineUpdateMs === undefined ? {} : { klineUpdateMs: params.klineUpdateMs }),
    });
    exchange.advanceTo(startTime + params.warmupMs);
    const prerendered = settings.prerender === undefined ? new Map<string, PrerenderedStream>() : prerender(exchange, settings.prerender.streams.map((name) => streamSpec(market, name)), settings.prerender.frames);
    // The driver needs the front-end and the front-end wakes the driver: tie them through `driverRef`.
    const driverRef: { driver?: MarketDriver } = {};
    const frontEnd = new WsFrontEnd({
      market,
      exchange,
      settings: settings.connection,
      clock,
      counters,
      faults,
      legacyRoutes: params.futuresLegacyRoutes,
      maxPayload: params.maxPayload,
      connectionAttempts: settings.connectionAttempts,
      connectionWindowMs: settings.connectionWindowMs,
      prerendered,
      onSubscribed: () => driverRef.driver?.kick(),
    });
    frontEnds.push(frontEnd);
    const driver = new MarketDriver({ mode: params.mode, exchange, frontEnd, clock, speed: params.speed, tickMs: params.tickMs, highWaterMarkBytes: params.highWaterMarkBytes });
    driverRef.driver = driver;
    const rest = new RestFrontEnd({ market, exchange, clock, counters, faults, weightLimit: settings.weightLimit, sync: () => {
        driver.sync();
      } });
    const server = createServer((req, res) => {
      rest.handle(req, res);
    });
    server.on('upgrade', (req, socket, head) => {
      frontEnd.handleUpgrade(req, socket, head);
    });
    server.on('clientError', (_err, socket) => {
      socket.destroy();
    });
    return { market, exchange, frontEnd, rest, driver, server };
  });

  const ports = await Promise.all(parts.map((part) => listen(part.server, params.host, marketSettings(params, part.market).port)));
  for (const part of parts) part.driver.start();
  const [spot, usdm] = parts as [MarketParts, MarketParts];
  const [spotPort, usdmPort] = ports as [number, number];
  const host = params.host.includes(':') ? `[${params.host}]` : params.host;

  const manual = (what: string): void => {
    if (params.mode !== 'manual') throw new RangeError(`sim.${what} needs mode "manual"; this mock runs in ${quote(params.mode)}`);
  };
  const sim: MockSim = {
    mode: params.mode,
    spot: spot.exchange,
    usdm: usdm.exchange,
    now: (market = 'spot') => (market === 'spot' ? spot.exchange.now() : usdm.exchange.now()),
    advanceBy(ms) {
      manual('advanceBy');
      if (!(ms >= 0 && Number.isFinite(ms))) throw new RangeError(`advanceBy ms ${quote(ms)} must be a finite number >= 0`);
      for (const part of parts) part.exchange.advanceTo(part.exchange.now() + ms);
    },
    advanceTo(time) {
      manual('advanceTo');
      for (const part of parts) part.exchange.advanceTo(time);
    },
  };

  let closing: Promise<void> | undefined;
  return {
    spotWsUrl: `ws://${host}:${spotPort}`,
    spotRestUrl: `http://${host}:${spotPort}`,
    usdmWsUrl: `ws://${host}:${usdmPort}`,
    usdmRestUrl: `http://${host}:${usdmPort}`,
    sim,
    faults,
    stats: createMockStats(counters, parts),
    close() {
      closing ??= (async () => {
        faults.clear();
        for (const part of parts) {
          part.driver.stop();
          part.frontEnd.close();
          part.rest.close();
          part.server.closeAllConnections();
        }
        await Promise.all(parts.map((part) => closeServer(part.server)));
      })();
      return closing;
    },
  };
}

/** A stream name already checked by the options schema. */
function streamSpec(market: MockMarket, name: string): StreamSpec {
  const spec = parseStreamName(market, name);
  if (typeof spec === 'string') throw new RangeError(spec);
  return spec;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => {
      resolve();
    });
  });
}
