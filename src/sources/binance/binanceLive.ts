/**
 * `binance-live`: Binance spot or USD-M futures market data over WebSocket, kept complete.
 *
 * Streams of the configured symbols are spread over {@link ManagedConnection}s (per USD-M route,
 * at most `maxStreamsPerConnection` each) and parsed by the same parser as replay. Then, per
 * symbol:
 *
 * - aggregate trades go through a {@link TradeMerger}: duplicates (renewal overlap, resends) are
 *   dropped by id, and a hole in the ids (a reconnect) is filled from REST `aggTrades` by id before
 *   later trades are released, so the output is contiguous; ids REST no longer has become a `gap`;
 * - raw trades are deduplicated by id; a hole becomes a `gap` (Binance has no public REST
 *   backfill for them);
 * - klines go through a {@link KlineMerger}: upserted by open time, only final bars (`x` true or
 *   REST) emitted as closed, in order; missing bars are fetched from REST `klines` by start time;
 *   with `historyDays`, the pipeline starts with that much REST history and hands over to live
 *   exactly (see backfill.ts);
 * - diff depth feeds a {@link BinanceBookSync}, which emits a snapshot record once synced and every
 *   applied diff, resyncs from REST on a gap or a reconnect, and reports `degraded` after five
 *   failed snapshots;
 * - book tickers, liquidations and mark prices pass through (they are not recoverable; an outage
 *   is a `gap` with `recoverable: false`).
 *
 * Control events in the stream: `status` on every connection state change (symbol `*`), `gap`
 * for every interruption and stall per affected stream, saying whether it will be backfilled.
 *
 * The logic after the sockets is {@link createBinanceLiveCore}, fed by a {@link LiveEnvironment}:
 * live, by {@link ManagedConnection}s, real timers and `fetch`; in replay (`replay-file` with
 * `mode: live-source`, through {@link binanceLiveReplayer}), by the frames and REST answers of a
 * recording, so a replay runs the same parsers, dedupe, mergers and book sync and emits the same
 * market records. With `options.tap` (`alphaflow record`), the start, every wire event, every
 * connection going live and every REST answer go to the recorder (src/sources/live/recorder.ts).
 */
import { Observable, type Subscriber, type Subscription } from 'rxjs';
import { z } from 'zod';
import type { NodeContext } from '../../context.js';
import { defineSource } from '../../definitions.js';
import { quote } from '../../errors.js';
import type { ControlEvent, Flow, Gap, StatusState, Trade } from '../../model/index.js';
import { binanceSymbol, canonicalSymbol, tryCanonicalSymbol, tryIntervalMs } from '../../model/index.js';
import { createDropReporter } from '../dropReporter.js';
import { ManagedConnection, type ConnectionHandler } from '../live/connection.js';
import { attemptBudgetFor } from '../live/rateLimit.js';
import {
  recordableSource,
  type LiveConnectionHandler,
  type LiveConnectionPlan,
  type LiveCore,
  type LiveEnvironment,
  type LiveReplayer,
  type LiveTap,
} from '../live/recorder.js';
import { resolveTiming, timingParam } from '../live/timing.js';
import { fetchAggTradesFrom, fetchKlinesRange, KlineMerger, TradeMerger } from './backfill.js';
import { BinanceBookSync } from './bookSync.js';
import { BINANCE_WS_URLS, binanceProtocol, binanceRoute, binanceStream, type BinanceRoute } from './liveProtocol.js';
import { createBinanceParser, type BinanceFrameHandler, type BinanceRecord } from './parse.js';
import type { BinanceMarket } from './payloads.js';
import { BinanceRestClient } from './rest.js';

const symbolParam = z
  .string()
  .refine((value) => tryCanonicalSymbol(value) !== undefined, {
    error: (issue) => `Symbol ${JSON.stringify(issue.input)} is not recognised: write it as BASE-QUOTE, e.g. "BTC-USDT"`,
  })
  .transform((value) => canonicalSymbol(value));

const intervalParam = z.string().refine((value) => tryIntervalMs(value) !== undefined, {
  error: (issue) => `Interval ${JSON.stringify(issue.input)} is not valid: use e.g. "1s", "1m", "1h", "1d"`,
});

export const binanceLiveParams = z
  .strictObject({
    market: z.enum(['spot', 'usdm']).default('spot').describe('`spot` or `usdm` (USD-M futures)'),
    symbols: z.array(symbolParam).min(1).describe('canonical symbols, e.g. ["BTC-USDT", "ETH-USDT"]'),
    trades: z.enum(['aggTrade', 'trade', 'none']).default('aggTrade').describe('trade stream: aggTrade is backfilled by id after outages'),
    klines: z.array(intervalParam).default([]).describe('kline intervals to stream, e.g. ["1m"]'),
    formingKlines: z.boolean().default(false).describe('also emit forming (not yet closed) kline updates'),
    bookTicker: z.boolean().default(false),
    depth: z.boolean().default(false).describe('diff depth with a local order book synced from REST snapshots'),
    depthSpeed: z.enum(['100ms', '250ms', '500ms', '1000ms']).default('100ms'),
    depthLimit: z.number().int().positive().default(1000).describe('levels in each REST snapshot'),
    liquidations: z.boolean().default(false).describe('USD-M only: forceOrder'),
    markPrice: z.boolean().default(false).describe('USD-M only: mark price and funding every second'),
    historyDays: z.number().nonnegative().default(0).describe('start klines with this much REST history, handed over to live exactly'),
    backfill: z.boolean().default(true).describe('refill klines and aggTrades from REST after an outage'),
    wsUrl: z.url({ error: (issue) => `wsUrl ${JSON.stringify(issue.input)} is not a URL: e.g. "ws://127.0.0.1:9443"` }).optional().describe('WebSocket root (default production); point it at `alphaflow mock-exchange` to test offline'),
    restUrl: z.url({ error: (issue) => `restUrl ${JSON.stringify(issue.input)} is not a URL: e.g. "http://127.0.0.1:9444"` }).optional().describe('REST root (default production)'),
    maxStreamsPerConnection: z.number().int().min(1).max(1024).default(200),
    timing: timingParam,
  })
  .superRefine((params, ctx) => {
    if (params.market === 'spot') {
      if (params.liquidations) ctx.addIssue({ code: 'custom', path: ['liquidations'], message: 'liquidations (forceOrder) exist on USD-M futures only: set market: usdm' });
      if (params.markPrice) ctx.addIssue({ code: 'custom', path: ['markPrice'], message: 'markPrice exists on USD-M futures only: set market: usdm' });
      if (params.depthSpeed === '250ms' || params.depthSpeed === '500ms') ctx.addIssue({ code: 'custom', path: ['depthSpeed'], message: `depthSpeed ${quote(params.depthSpeed)} is a futures speed; spot has 100ms and 1000ms` });
    } else if (params.depthSpeed === '1000ms') {
      ctx.addIssue({ code: 'custom', path: ['depthSpeed'], message: 'depthSpeed "1000ms" is a spot speed; USD-M futures have 100ms, 250ms and 500ms' });
    }
    if (params.trades === 'none' && params.klines.length === 0 && !params.bookTicker && !params.depth && !params.liquidations && !params.markPrice) {
      ctx.addIssue({ code: 'custom', path: [], message: 'no stream selected: set trades, klines, bookTicker, depth, liquidations or markPrice' });
    }
  });

export type BinanceLiveParams = z.output<typeof binanceLiveParams>;

export type { LiveTap } from '../live/recorder.js';

export interface BinanceLiveOptions {
  /** Sees the start, every frame, connection event and REST answer (the recorder). */
  readonly tap?: LiveTap;
}

type StreamKind = 'trades' | 'kline' | 'bookTicker' | 'depth' | 'liquidation' | 'markPrice';

interface StreamInfo {
  readonly name: string;
  readonly symbol: string;
  readonly kind: StreamKind;
  readonly interval?: string;
  /** Backfilled after an outage. */
  readonly recoverable: boolean;
}

/** Snapshot retry delays: 250 ms doubling to 3 s (reliability.md §5 rule 6). */
function snapshotDelay(attempt: number): number {
  return attempt === 0 ? 0 : Math.min(3_000, 250 * 2 ** (attempt - 1));
}

/** `binance` or `binance-usdm`. */
function venueOf(market: BinanceMarket): string {
  return market === 'spot' ? 'binance' : 'binance-usdm';
}

/** The live source as an Observable, for use in code. */
export function binanceLive(params: BinanceLiveParams, ctx: NodeContext, options: BinanceLiveOptions = {}): Observable<Flow<BinanceRecord>> {
  return new Observable<Flow<BinanceRecord>>((subscriber) => runBinanceLive(params, ctx, options, subscriber));
}

/** Live: the core fed by {@link ManagedConnection}s, real timers and `fetch`; everything tapped when recording. */
function runBinanceLive(params: BinanceLiveParams, ctx: NodeContext, options: BinanceLiveOptions, subscriber: Subscriber<Flow<BinanceRecord>>): () => void {
  const venue = venueOf(params.market);
  const now = (): number => ctx.scheduler.now();
  const tap = options.tap;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let stopped = false;
  const startedAt = now();
  tap?.start({ use: 'binance-live', venue, ts: startedAt, params });

  const env: LiveEnvironment = {
    now,
    later: (ms, run) => {
      // eslint-disable-next-line no-restricted-globals -- retries of network calls run in real time, like the sockets
      const timer = setTimeout(() => {
        timers.delete(timer);
        run();
      }, ms);
      timers.add(timer);
      return () => {
        clearTimeout(timer);
        timers.delete(timer);
      };
    },
    answered: (requester, answer) => {
      if (!stopped) tap?.rest(requester, venue, answer);
    },
  };
  const core = createBinanceLiveCore(params, ctx, env, (record) => {
    subscriber.next(record);
  }, startedAt);

  const timing = resolveTiming(params.timing);
  const budget = attemptBudgetFor(ctx.metrics, venue, 300, 300_000);
  const connections: ManagedConnection[] = [];
  const statusSubscriptions: Subscription[] = [];
  for (const plan of core.connections) {
    const handler: ConnectionHandler =
      tap === undefined
        ? plan.handler
        : {
            ...plan.handler,
            live: (event) => {
              // Before the core acts on it: replay applies it at the same point among the frames.
              if (!stopped) tap.wire(plan.name, venue, { kind: 'live', epoch: event.epoch, phase: event.phase, ts: now() });
              plan.handler.live(event);
            },
            wire: (event) => {
              if (!stopped) tap.wire(plan.name, venue, event);
            },
          };
    const connection = new ManagedConnection({ protocol: plan.protocol, handler, timing, budget, name: plan.name, wallClock: now });
    statusSubscriptions.push(
      connection.status$.subscribe({
        next: (state) => {
          if (!stopped && (state.state !== 'connecting' || state.epoch > 0)) subscriber.next(statusEvent(venue, state.state, state.detail, state.at));
        },
        error: (error: unknown) => {
          subscriber.error(error);
        },
      }),
    );
    connection.subscribe(plan.streams);
    connections.push(connection);
  }
  // Books: ask for the first snapshot once diffs are buffering (the sync requests it).
  for (const connection of connections) connection.start();

  return () => {
    stopped = true;
    core.close();
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    for (const connection of connections) connection.stop();
    for (const subscription of statusSubscriptions) subscription.unsubscribe();
  };
}

/**
 * The logic of `binance-live` after the sockets, shared by live and replay: parsing, trade dedupe
 * and backfill, kline merging, book sync with REST snapshots, gaps. It opens nothing itself: its
 * connections are driven by whoever holds the plan (live: {@link ManagedConnection}s; replay: the
 * recording), and time, timers and HTTP come from `env`. `startedAt` is the source's start (the
 * origin of `historyDays`).
 */
export function createBinanceLiveCore(
  params: BinanceLiveParams,
  ctx: NodeContext,
  env: LiveEnvironment,
  emit: (record: Flow<BinanceRecord>) => void,
  startedAt: number,
): LiveCore {
  const market: BinanceMarket = params.market;
  const venue = venueOf(market);
  const now = (): number => env.now();
  const drops = createDropReporter(ctx, ctx.node === '' ? venue : ctx.node);
  const abort = new AbortController();
  const cancels = new Set<() => void>();
  let closed = false;

  const out = (record: Flow<BinanceRecord>): void => {
    if (!closed) emit(record);
  };
  const outAll = (records: readonly Flow<BinanceRecord>[]): void => {
    for (const record of records) out(record);
  };
  const later = (ms: number, run: () => void): void => {
    const cancel = env.later(ms, () => {
      cancels.delete(cancel);
      if (!closed) run();
    });
    cancels.add(cancel);
  };
  const status = (state: StatusState, detail: string): void => {
    out(statusEvent(venue, state, detail, now()));
  };
  const gap = (info: StreamInfo, from: number | undefined, reason: string, recoverable: boolean): void => {
    const at = now();
    const event: Gap = { type: 'gap', venue, symbol: info.symbol, tsEvent: at, tsRecv: at, stream: streamLabel(info), ...(from === undefined ? {} : { from }), to: at, recoverable, reason };
    out(event);
  };

  const rest = new BinanceRestClient({
    market,
    ...(params.restUrl === undefined ? {} : { baseUrl: params.restUrl }),
    clock: now,
    ...(env.fetch === undefined ? {} : { fetch: env.fetch }),
    ...(env.sleep === undefined ? {} : { sleep: env.sleep }),
    ...(env.random === undefined ? {} : { random: env.random }),
    drops: { drop: (origin, reason, sample) => { drops.drop(origin, reason, sample); } },
    onResponse: (response) => {
      env.answered('rest', response);
    },
    onBan: (ban) => {
      ctx.logger.error({ ban }, `${venue} REST: IP banned (HTTP 418) until ${new Date(ban.until).toISOString()}`);
      status('degraded', `REST banned (HTTP 418) until ${new Date(ban.until).toISOString()}`);
    },
  });

  // Per-symbol state.
  const tradeMergers = new Map<string, TradeMerger>();
  const tradeWatermarks = new Map<string, number>();
  const klineMergers = new Map<string, KlineMerger>();
  const books = new Map<string, BinanceBookSync>();
  const fills = new Set<string>();

  const streams: StreamInfo[] = [];
  for (const symbol of params.symbols) {
    const raw = binanceSymbol(symbol);
    if (params.trades === 'aggTrade') {
      streams.push({ name: binanceStream.aggTrade(raw), symbol, kind: 'trades', recoverable: params.backfill });
      if (params.backfill) tradeMergers.set(symbol, new TradeMerger({ venue, symbol }));
    } else if (params.trades === 'trade') {
      streams.push({ name: binanceStream.trade(raw), symbol, kind: 'trades', recoverable: false });
    }
    for (const interval of params.klines) {
      streams.push({ name: binanceStream.kline(raw, interval), symbol, kind: 'kline', interval, recoverable: params.backfill });
      const from = params.historyDays > 0 ? startedAt - params.historyDays * 86_400_000 : undefined;
      klineMergers.set(`${symbol} ${interval}`, new KlineMerger({ venue, symbol, interval, emitForming: params.formingKlines, ...(from === undefined ? {} : { from }) }));
    }
    if (params.bookTicker) streams.push({ name: binanceStream.bookTicker(raw), symbol, kind: 'bookTicker', recoverable: false });
    if (params.depth) {
      streams.push({ name: binanceStream.depth(raw, params.depthSpeed), symbol, kind: 'depth', recoverable: true });
      books.set(symbol, createBook(symbol));
    }
    if (params.liquidations) streams.push({ name: binanceStream.forceOrder(raw), symbol, kind: 'liquidation', recoverable: false });
    if (params.markPrice) streams.push({ name: binanceStream.markPrice(raw), symbol, kind: 'markPrice', recoverable: false });
  }
  const byName = new Map(streams.map((info) => [info.name, info]));

  function createBook(symbol: string): BinanceBookSync {
    const book = new BinanceBookSync({
      market,
      symbol,
      handler: {
        book: (record) => {
          out(record);
        },
        requestSnapshot: (attempt) => {
          later(snapshotDelay(attempt), () => {
            rest.depthSnapshot(symbol, params.depthLimit, { signal: abort.signal }).then(
              (snapshot) => {
                if (!closed) book.snapshot(snapshot);
              },
              (error: unknown) => {
                if (!closed) book.snapshotFailed(error);
              },
            );
          });
        },
        control: (event) => {
          const info = { name: `${symbol} depth`, symbol, kind: 'depth', recoverable: true } as const;
          if (event.kind === 'invalidated') gap(info, event.lastUpdateId, `order book invalidated: ${event.reason}`, true);
          else if (event.kind === 'degraded') status('degraded', `order book of ${symbol} degraded after ${event.attempts} failed snapshots: ${event.reason}`);
          else status('live', `order book of ${symbol} resynced at update ${event.lastUpdateId}`);
        },
      },
    });
    return book;
  }

  /** Fills what a trade merger is missing from REST, one fill per symbol at a time. */
  const fillTrades = (symbol: string, merger: TradeMerger, failures = 0): void => {
    const missing = merger.missing();
    const key = `trades ${symbol}`;
    if (missing === undefined || fills.has(key)) return;
    fills.add(key);
    fetchAggTradesFrom(rest, symbol, missing.fromId, missing.untilId, { signal: abort.signal }).then(
      (trades) => {
        fills.delete(key);
        if (closed) return;
        outAll(merger.history(trades, missing));
        fillTrades(symbol, merger);
      },
      (error: unknown) => {
        fills.delete(key);
        if (closed) return;
        ctx.logger.warn({ err: error }, `${venue} ${symbol}: aggTrades backfill of ids ${missing.fromId}..${missing.untilId - 1} failed (attempt ${failures + 1})`);
        // The REST client already retried; keep trying while the source runs, more slowly.
        later(Math.min(30_000, 1_000 * 2 ** failures), () => {
          fillTrades(symbol, merger, failures + 1);
        });
      },
    );
  };

  const fillKlines = (key: string, merger: KlineMerger, failures = 0): void => {
    const missing = merger.missing();
    if (missing === undefined || fills.has(key)) return;
    fills.add(key);
    fetchKlinesRange(rest, merger.symbol, merger.interval, missing.from, missing.to, { signal: abort.signal }).then(
      (bars) => {
        fills.delete(key);
        if (closed) return;
        outAll(merger.history(bars, missing));
        fillKlines(key, merger);
      },
      (error: unknown) => {
        fills.delete(key);
        if (closed) return;
        ctx.logger.warn({ err: error }, `${venue} ${key}: klines backfill failed (attempt ${failures + 1})`);
        later(Math.min(30_000, 1_000 * 2 ** failures), () => {
          fillKlines(key, merger, failures + 1);
        });
      },
    );
  };

  const onRecord = (record: BinanceRecord): void => {
    switch (record.type) {
      case 'trade': {
        const merger = tradeMergers.get(record.symbol);
        if (merger !== undefined) {
          outAll(merger.live(record));
          fillTrades(record.symbol, merger);
          return;
        }
        dedupeTrade(record);
        return;
      }
      case 'candle': {
        const key = `${record.symbol} ${record.interval}`;
        const merger = klineMergers.get(key);
        if (merger === undefined) {
          out(record);
          return;
        }
        outAll(merger.live(record));
        if (params.backfill || params.historyDays > 0) fillKlines(key, merger);
        return;
      }
      case 'book-depth': {
        const book = books.get(record.symbol);
        if (book === undefined) out(record);
        else book.diff(record);
        return;
      }
      default:
        out(record);
    }
  };

  const dedupeTrade = (trade: Trade): void => {
    const last = tradeWatermarks.get(trade.symbol);
    if (last !== undefined && trade.id <= last) {
      drops.drop(venue, `duplicate trade id ${trade.id} of ${trade.symbol} (last ${last})`);
      return;
    }
    if (last !== undefined && trade.id > last + 1) {
      const info = byName.get(binanceStream.trade(binanceSymbol(trade.symbol)));
      if (info !== undefined) gap(info, last + 1, `trade ids ${last + 1}..${trade.id - 1} missing (raw trades cannot be backfilled)`, false);
    }
    tradeWatermarks.set(trade.symbol, trade.id);
    out(trade);
  };

  const frameHandler: BinanceFrameHandler = {
    record: onRecord,
    control: (message) => {
      if (message.kind === 'error-reply') ctx.logger.error(`${venue}: request ${String(message.id)} rejected: code ${message.code}: ${message.msg}`);
    },
    drop: (reason, frame) => {
      drops.drop(venue, reason, frame);
    },
  };

  // Connections: per route, shards of at most maxStreamsPerConnection streams.
  const routes = new Map<BinanceRoute, StreamInfo[]>();
  for (const info of streams) {
    const route = binanceRoute(market, info.name);
    routes.set(route, [...(routes.get(route) ?? []), info]);
  }
  const plans: LiveConnectionPlan[] = [];
  const wsUrl = params.wsUrl ?? BINANCE_WS_URLS[market];
  for (const [route, infos] of routes) {
    for (let i = 0; i < infos.length; i += params.maxStreamsPerConnection) {
      const shard = infos.slice(i, i + params.maxStreamsPerConnection);
      const parser = createBinanceParser({ market });
      const handler: LiveConnectionHandler = {
        frame: (text, tsRecv) => {
          if (!closed) parser.parse(text, tsRecv, frameHandler);
        },
        live: (event) => {
          if (event.phase !== 'reconnect' || closed) return;
          // Diffs were lost in the outage: resync the books of this connection.
          for (const info of shard) if (info.kind === 'depth') books.get(info.symbol)?.reset('reconnected after an interruption');
        },
        interrupted: (event) => {
          for (const stream of event.streams) {
            const info = byName.get(stream);
            if (info !== undefined) gap(info, event.lastFrameAt, `connection lost: ${event.reason}`, info.recoverable);
          }
        },
        stalled: (event) => {
          const info = byName.get(event.stream);
          if (info !== undefined) gap(info, event.lastFrameAt, `stream silent for ${Math.round(event.silentMs)} ms: resubscribing`, info.recoverable);
        },
        subscriptionFailed: (failed, reason) => {
          ctx.logger.error(reason);
          for (const stream of failed) {
            const info = byName.get(stream);
            if (info !== undefined) gap(info, undefined, reason, false);
          }
        },
      };
      plans.push({
        name: `${venue}${route === '' ? '' : `/${route}`}#${plans.length}`,
        protocol: binanceProtocol({ market, wsUrl, route }),
        streams: shard.map((info) => info.name),
        handler,
      });
    }
  }

  return {
    venue,
    connections: plans,
    close: () => {
      if (closed) return;
      closed = true;
      abort.abort(new Error('binance-live unsubscribed'));
      for (const cancel of cancels) cancel();
      cancels.clear();
      drops.summarize();
    },
  };
}

/** Replays `binance-live` from a recording through {@link createBinanceLiveCore} (see replayFile.ts). */
export const binanceLiveReplayer: LiveReplayer = {
  use: 'binance-live',
  core: (params, ctx, env, emit, startedAt) => createBinanceLiveCore(binanceLiveParams.parse(params), ctx, env, emit, startedAt),
};

function statusEvent(venue: string, state: StatusState, detail: string, at: number): ControlEvent {
  return { type: 'status', venue, symbol: '*', tsEvent: at, tsRecv: at, state, detail };
}

function streamLabel(info: StreamInfo): string {
  switch (info.kind) {
    case 'trades':
      return 'trade';
    case 'kline':
      return `candle:${info.interval ?? ''}`;
    case 'depth':
      return 'book-depth';
    case 'bookTicker':
      return 'book-top';
    case 'liquidation':
      return 'liquidation';
    case 'markPrice':
      return 'mark-price';
  }
}

export const binanceLiveSource = recordableSource(
  defineSource({
    kind: 'binance-live',
    summary: 'Binance spot or USD-M futures over WebSocket: trades, klines, books, liquidations, funding; reconnects, resyncs and backfills',
    params: binanceLiveParams,
    output: 'any',
    create: (params, ctx) => binanceLive(params, ctx),
  }),
  { create: (params, ctx, tap) => binanceLive(params, ctx, { tap }) },
);
