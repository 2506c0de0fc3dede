/**
 * `kraken-live`: Kraken Spot WebSocket v2 market data (protocols.md §4) over one
 * {@link ManagedConnection}, with every order-book message verified against Kraken's CRC-32.
 *
 * Streams (see krakenProtocol.ts for names and why each request carries one stream) are parsed by
 * the same parser as replay, a fresh parser per socket epoch: its forming candles and book numbers
 * belong to the socket that delivered them. Then, per symbol:
 *
 * - **books** (`book-depth`): each message is applied to a {@link KrakenBook} and its checksum
 *   compared before the record is forwarded. On a mismatch the source emits a `gap`
 *   (`book-depth`, recoverable), withholds that symbol's book and resubscribes only that symbol's
 *   book (unsubscribe + subscribe) for a fresh snapshot, which is forwarded once it verifies. A
 *   {@link KrakenResyncLimiter} bounds the resyncs per symbol (`maxResyncs` per `resyncWindowMs`);
 *   past it the source emits a `status` `degraded` naming the symbol and, until the window allows a
 *   resync again, withholds the book (`checksum: strict`) or forwards the updates unverified with
 *   a logged warning (`checksum: warn`). `checksum: off` forwards every book message as sent.
 *   The other symbols' books are not touched;
 * - **trades**: subscribed with Kraken's snapshot of the last 50 trades, deduplicated by
 *   `trade_id` per symbol. The first snapshot only sets the starting id (history before the
 *   subscription is not emitted); after a reconnect or renewal the snapshot refills a short
 *   outage. A hole in the ids that remains is a `gap` with `recoverable: false`;
 * - **candles** (`ohlc`): closed bars pass through once each, in order (a bar repeated by a later
 *   snapshot is dropped by open time); forming bars only with `formingCandles`;
 * - **tickers** (`book-top`) pass through.
 *
 * Control events in the stream: `status` on every connection state change (symbol `*`) and for a
 * book resynced or degraded (symbol of the book), `gap` for every interruption and stall per
 * affected stream, every checksum mismatch and every hole in trade ids. After a reconnect every
 * book waits for the new socket's snapshot and resumes from it.
 *
 * The logic after the socket is {@link createKrakenLiveCore}, fed by a {@link LiveEnvironment}:
 * live, by a {@link ManagedConnection}; in replay (`replay-file` with `mode: live-source`, through
 * {@link krakenLiveReplayer}), by the frames of a recording, handed to the parser verbatim (its
 * checksums and decimal text are the venue's). A resync's unsubscribe and subscribe go out only
 * live: in replay its effect, the fresh snapshot, is in the recorded frames. With `options.tap`
 * (`alphaflow record`), the start, every wire event and every connection going live go to the
 * recorder (src/sources/live/recorder.ts).
 *
 * ```yaml
 * - id: kraken
 *   use: kraken-live
 *   params: { symbols: [BTC-USD, ETH-USD], book: true, bookDepth: 25, ohlc: [1m] }
 * ```
 */
import { Observable, type Subscriber, type Subscription } from 'rxjs';
import { z } from 'zod';
import type { NodeContext } from '../../context.js';
import { defineSource } from '../../definitions.js';
import { quote } from '../../errors.js';
import type { Candle, Flow, Gap, StatusState, Trade } from '../../model/index.js';
import { formatInterval } from '../../model/index.js';
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
  type LiveSourceStart,
  type TapEvent,
} from '../live/recorder.js';
import { resolveTiming, timingParam } from '../live/timing.js';
import { KrakenBook, KrakenResyncLimiter } from './book.js';
import type { ChecksumResult } from './book.js';
import { isKrakenSnapshot, KRAKEN_BOOK_STALL_MS, KRAKEN_WS_URL, krakenProtocol, krakenStream } from './krakenProtocol.js';
import { KRAKEN_BOOK_DEPTHS, krakenOhlcInterval, krakenSymbol, type KrakenOhlcInterval } from './messages.js';
import { createKrakenParser, type KrakenBookMessage, type KrakenControl, type KrakenFrameHandler, type KrakenRecord } from './parse.js';

const VENUE = 'kraken';

const symbolParam = z.string().transform((value, ctx) => {
  try {
    return krakenSymbol(value).replace('/', '-');
  } catch {
    ctx.addIssue({ code: 'custom', message: `Symbol ${quote(value)} is not valid: write it as BASE-QUOTE, e.g. "BTC-USD"` });
    return z.NEVER;
  }
});

const ohlcParam = z.union([z.string(), z.number()]).transform((value, ctx): KrakenOhlcInterval => {
  try {
    return krakenOhlcInterval(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
    return z.NEVER;
  }
});

export const krakenLiveParams = z
  .strictObject({
    symbols: z.array(symbolParam).min(1, { error: 'symbols must list at least one symbol, e.g. ["BTC-USD"]' }).describe('canonical symbols, e.g. ["BTC-USD", "ETH-USD"]'),
    trades: z.boolean().default(true).describe('trades, deduplicated by trade_id; a short outage is refilled from the resubscribe snapshot'),
    ticker: z.boolean().default(false).describe('best bid and ask (book-top)'),
    tickerTrigger: z.enum(['trades', 'bbo']).default('trades').describe('ticker updates on each trade, or on each change of the best bid or offer'),
    book: z.boolean().default(false).describe('L2 book, every message verified against Kraken\'s CRC-32'),
    bookDepth: z
      .literal([...KRAKEN_BOOK_DEPTHS], { error: (issue) => `bookDepth ${quote(issue.input)} is not one of ${KRAKEN_BOOK_DEPTHS.join(', ')}` })
      .default(10),
    checksum: z
      .enum(['strict', 'warn', 'off'], { error: (issue) => `checksum ${quote(issue.input)} is not one of "strict", "warn", "off"` })
      .default('strict')
      .describe('after too many resyncs: strict withholds the book, warn passes it unverified; off never verifies'),
    maxResyncs: z.number().int().positive().default(5).describe('book resyncs per symbol within resyncWindowMs before the book is degraded'),
    resyncWindowMs: z.number().positive().default(600_000),
    bookStallMs: z.number().positive().nullable().default(KRAKEN_BOOK_STALL_MS).describe('a book silent this long is resubscribed; null for illiquid pairs'),
    ohlc: z.array(ohlcParam).default([]).describe('candle intervals: 1m, 5m, 15m, 30m, 1h, 4h, 1d, 7d, 15d'),
    formingCandles: z.boolean().default(false).describe('also emit forming (not yet closed) candles'),
    wsUrl: z
      .url({ protocol: /^wss?$/, error: (issue) => `wsUrl ${quote(issue.input)} is not a ws:// or wss:// URL: e.g. "wss://ws.kraken.com/v2"` })
      .default(KRAKEN_WS_URL)
      .describe('WebSocket URL (default production); point it at the mock to test offline'),
    timing: timingParam,
  })
  .superRefine((params, ctx) => {
    params.symbols.forEach((symbol, i) => {
      if (params.symbols.indexOf(symbol) !== i) ctx.addIssue({ code: 'custom', path: ['symbols', i], message: `Symbol ${quote(symbol)} is listed twice` });
    });
    params.ohlc.forEach((minutes, i) => {
      if (params.ohlc.indexOf(minutes) !== i) ctx.addIssue({ code: 'custom', path: ['ohlc', i], message: `ohlc interval ${quote(formatInterval(minutes * 60_000))} is listed twice` });
    });
    if (!params.trades && !params.ticker && !params.book && params.ohlc.length === 0) {
      ctx.addIssue({ code: 'custom', path: [], message: 'no stream selected: set trades, ticker, book or ohlc' });
    }
  });

export type KrakenLiveParams = z.output<typeof krakenLiveParams>;

/**
 * Sees every frame sent and received, every socket opened and closed and every connection going
 * live; and the start, when it has `start` (a recorder's `LiveTap` is one).
 */
export interface KrakenLiveTap {
  start?(event: LiveSourceStart): void;
  wire(connection: string, venue: string, event: TapEvent): void;
}

export interface KrakenLiveOptions {
  readonly tap?: KrakenLiveTap;
}

interface StreamInfo {
  readonly name: string;
  /** Canonical symbol. */
  readonly symbol: string;
  readonly kind: 'trade' | 'ticker' | 'book' | 'ohlc';
  /** The `stream` of gap events: `trade`, `book-top`, `book-depth`, `candle:1m`. */
  readonly label: string;
  /** Whether an outage is made good after the reconnect (books: snapshot; trades: up to 50 from the snapshot). */
  readonly recoverable: boolean;
}

/** One symbol's verified book. */
interface BookState {
  readonly info: StreamInfo;
  readonly book: KrakenBook;
  /** awaiting: withheld until a snapshot verifies; live: verified; degraded: too many resyncs. */
  phase: 'awaiting' | 'live' | 'degraded';
  /** Waiting for the snapshot of a resync or a degraded book: a `live` status follows when it verifies. */
  recovering: boolean;
  /** While degraded: when the limiter allows the next resync (scheduler ms). */
  retryAt: number;
  /** While degraded in warn mode: mismatching updates passed unverified. */
  passed: number;
}

/** The live source as an Observable, for use in code. */
export function krakenLive(params: KrakenLiveParams, ctx: NodeContext, options: KrakenLiveOptions = {}): Observable<Flow<KrakenRecord>> {
  return new Observable<Flow<KrakenRecord>>((subscriber) => runKrakenLive(params, ctx, options, subscriber));
}

/** Live: the core fed by one {@link ManagedConnection}; everything tapped when recording. */
function runKrakenLive(params: KrakenLiveParams, ctx: NodeContext, options: KrakenLiveOptions, subscriber: Subscriber<Flow<KrakenRecord>>): () => void {
  const now = (): number => ctx.scheduler.now();
  const tap = options.tap;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let stopped = false;
  const startedAt = now();
  tap?.start?.({ use: 'kraken-live', venue: VENUE, ts: startedAt, params });
  const env: LiveEnvironment = {
    now,
    later: (ms, run) => {
      // eslint-disable-next-line no-restricted-globals -- like the socket, in real time (the core sets no timers today)
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
    answered: () => {
      // Kraken market data has no REST.
    },
  };
  /** Set once the connection exists (the core's plan comes first). */
  const link: { connection?: ManagedConnection } = {};
  const core = createKrakenLiveCore(
    params,
    ctx,
    env,
    (record) => {
      if (!stopped) subscriber.next(record);
    },
    startedAt,
    {
      resubscribe: (stream) => {
        const live = link.connection;
        if (live === undefined) return;
        live.unsubscribe([stream]);
        // The connection flushes changes in a microtask queued by (or before) the unsubscribe: this one
        // runs after it, so the two requests leave in order rather than cancelling out.
        queueMicrotask(() => {
          if (!stopped) live.subscribe([stream]);
        });
      },
    },
  );
  const [plan] = core.connections as readonly [LiveConnectionPlan];
  const handler: ConnectionHandler =
    tap === undefined
      ? plan.handler
      : {
          ...plan.handler,
          live: (event) => {
            // Before the core acts on it: replay applies it at the same point among the frames.
            if (!stopped) tap.wire(plan.name, VENUE, { kind: 'live', epoch: event.epoch, phase: event.phase, ts: now() });
            plan.handler.live(event);
          },
          wire: (event) => {
            if (!stopped) tap.wire(plan.name, VENUE, event);
          },
        };
  const managed = new ManagedConnection({
    protocol: plan.protocol,
    handler,
    timing: resolveTiming(params.timing),
    // The often cited Cloudflare limit of about 150 connections per 10 minutes per IP (protocols.md §4.7, unconfirmed).
    budget: attemptBudgetFor(ctx.metrics, VENUE, 150, 600_000),
    name: plan.name,
    wallClock: now,
  });
  link.connection = managed;
  const statusSubscription: Subscription = managed.status$.subscribe({
    next: (state) => {
      if (!stopped && (state.state !== 'connecting' || state.epoch > 0)) subscriber.next(statusEvent(state.state, state.detail, now()));
    },
    error: (error: unknown) => {
      subscriber.error(error);
    },
  });
  managed.subscribe(plan.streams);
  managed.start();

  return () => {
    stopped = true;
    core.close();
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    managed.stop();
    statusSubscription.unsubscribe();
  };
}

/** What the core asks of the connection: live, a resync resubscribes a book; in replay, nothing. */
export interface KrakenCoreControl {
  resubscribe(stream: string): void;
}

/**
 * The logic of `kraken-live` after the socket, shared by live and replay: parsing (a fresh parser
 * per socket epoch), checksum verification and per-symbol resync, trade dedupe, candle dedupe,
 * gaps. It opens nothing itself: its one connection is driven by whoever holds the plan, time
 * comes from `env`, and resubscribes go to `control` (none in replay). `startedAt` is unused:
 * nothing here derives from the start time.
 */
export function createKrakenLiveCore(
  params: KrakenLiveParams,
  ctx: NodeContext,
  env: LiveEnvironment,
  emitRecord: (record: Flow<KrakenRecord>) => void,
  _startedAt: number,
  control: KrakenCoreControl = { resubscribe: () => undefined },
): LiveCore {
  const source = ctx.node === '' ? 'kraken-live' : ctx.node;
  const now = (): number => env.now();
  const drops = createDropReporter(ctx, source);
  const mismatches = ctx.metrics.counter('alphaflow_checksum_mismatches_total', 'Book checksum mismatches, by source and symbol');
  const resyncs = ctx.metrics.counter('alphaflow_book_resyncs_total', 'Books resubscribed after a checksum mismatch, by source and symbol');
  const deduplicated = ctx.metrics.counter('alphaflow_deduplicated_total', 'Records received again after a resubscribe and dropped by id, by source and kind');
  const limiter = new KrakenResyncLimiter({ maxResyncs: params.maxResyncs, windowMs: params.resyncWindowMs, now });
  let closed = false;

  const emit = (record: Flow<KrakenRecord>): void => {
    if (!closed) emitRecord(record);
  };
  const status = (state: StatusState, detail: string, symbol = '*'): void => {
    emit(statusEvent(state, detail, now(), symbol));
  };
  const gap = (info: StreamInfo, reason: string, recoverable: boolean, range: { readonly from?: number | undefined; readonly to?: number }): void => {
    const at = now();
    const event: Gap = {
      type: 'gap',
      venue: VENUE,
      symbol: info.symbol,
      tsEvent: at,
      tsRecv: at,
      stream: info.label,
      ...(range.from === undefined ? {} : { from: range.from }),
      to: range.to ?? at,
      recoverable,
      reason,
    };
    emit(event);
  };

  // Streams and per-symbol state.
  const streams: StreamInfo[] = [];
  const books = new Map<string, BookState>();
  for (const symbol of params.symbols) {
    if (params.trades) streams.push({ name: krakenStream.trade(symbol), symbol, kind: 'trade', label: 'trade', recoverable: true });
    if (params.ticker) streams.push({ name: krakenStream.ticker(symbol), symbol, kind: 'ticker', label: 'book-top', recoverable: false });
    if (params.book) {
      const info: StreamInfo = { name: krakenStream.book(symbol), symbol, kind: 'book', label: 'book-depth', recoverable: true };
      streams.push(info);
      if (params.checksum !== 'off') {
        books.set(symbol, { info, book: new KrakenBook({ symbol, depth: params.bookDepth }), phase: 'awaiting', recovering: false, retryAt: 0, passed: 0 });
      }
    }
    for (const minutes of params.ohlc) {
      const interval = formatInterval(minutes * 60_000);
      // Kraken resends only the current bar on resubscribe: a bar that closed during an outage is lost.
      streams.push({ name: krakenStream.ohlc(symbol, minutes), symbol, kind: 'ohlc', label: `candle:${interval}`, recoverable: false });
    }
  }
  const byName = new Map(streams.map((info) => [info.name, info]));

  // ---------------------------------------------------------------------------------------------
  // Books

  /** The book waits for the snapshot a new subscription brings (reconnect, stall resubscribe). */
  const awaitSnapshot = (state: BookState): void => {
    state.recovering ||= state.phase === 'degraded';
    state.phase = 'awaiting';
    state.book.reset();
  };

  /** Whether the `book-depth` record of `message` may be forwarded. */
  const onBook = (message: KrakenBookMessage): boolean => {
    if (params.checksum === 'off') return true;
    const state = books.get(message.symbol);
    if (state === undefined) {
      drops.drop(VENUE, `book message for a symbol not subscribed: ${quote(message.symbol)}`);
      return false;
    }
    if (state.phase === 'awaiting' && !message.snapshot) {
      drops.drop(VENUE, `book update withheld until a fresh snapshot: ${message.symbol}`);
      return false;
    }
    const result = state.book.apply(message);
    if (result.ok && (message.snapshot || state.phase === 'live')) {
      if (state.recovering) status('live', `order book of ${message.symbol} resynced from a fresh snapshot`, message.symbol);
      state.phase = 'live';
      state.recovering = false;
      return true;
    }
    if (state.phase === 'degraded') {
      if (!result.ok) mismatches.inc({ source, symbol: message.symbol });
      return whileDegraded(state, result);
    }
    // A mismatch on a verified book, or on the snapshot it was waiting for.
    return mismatch(state, result);
  };

  const mismatchText = (symbol: string, result: ChecksumResult): string =>
    result.ok ? '' : `checksum mismatch on ${symbol}: Kraken sent ${quote(result.expected)}, the local book gives ${quote(result.actual)}`;

  const mismatch = (state: BookState, result: ChecksumResult): boolean => {
    const symbol = state.info.symbol;
    mismatches.inc({ source, symbol });
    const decision = limiter.request(symbol);
    if (decision.action === 'resync') {
      gap(state.info, `${mismatchText(symbol, result)}; resubscribing its book (resync ${decision.attempt} of at most ${limiter.maxResyncs} in ${limiter.windowMs} ms)`, true, {});
      startResync(state);
      return false;
    }
    gap(state.info, `${mismatchText(symbol, result)}; no resync: ${limiter.maxResyncs} already within ${limiter.windowMs} ms`, true, {});
    degrade(state, decision.retryAt);
    return whileDegraded(state, result);
  };

  const startResync = (state: BookState): void => {
    resyncs.inc({ source, symbol: state.info.symbol });
    state.phase = 'awaiting';
    state.recovering = true;
    state.book.reset();
    control.resubscribe(state.info.name);
  };

  const degrade = (state: BookState, retryAt: number): void => {
    state.phase = 'degraded';
    state.retryAt = retryAt;
    state.passed = 0;
    const mode = params.checksum === 'strict' ? 'its updates are withheld until then (checksum: strict)' : 'its updates pass unverified until then (checksum: warn)';
    status(
      'degraded',
      `order book of ${state.info.symbol}: checksum mismatches keep coming (${limiter.maxResyncs} resyncs within ${limiter.windowMs} ms); the next resync waits until ${new Date(retryAt).toISOString()}, ${mode}`,
      state.info.symbol,
    );
  };

  /** A message for a degraded book: resync once the limiter allows it, else withhold (strict) or pass with a warning (warn). */
  const whileDegraded = (state: BookState, result: ChecksumResult): boolean => {
    const symbol = state.info.symbol;
    if (now() >= state.retryAt) {
      const decision = limiter.request(symbol);
      if (decision.action === 'resync') {
        // In warn mode the book was flowing: say that it stops until the snapshot.
        if (params.checksum === 'warn') gap(state.info, `resyncing the degraded book of ${symbol}: withheld until a fresh snapshot`, true, {});
        startResync(state);
        return false;
      }
      state.retryAt = decision.retryAt;
    }
    if (params.checksum === 'strict') {
      drops.drop(VENUE, `book update withheld (checksum degraded, strict): ${symbol}`);
      return false;
    }
    if (!result.ok) {
      state.passed++;
      // 1st, 10th, 100th, ...: every episode is logged, a flood of mismatches is not.
      if (Number.isInteger(Math.log10(state.passed))) {
        ctx.logger.warn({ symbol, passed: state.passed }, `kraken ${symbol}: ${mismatchText(symbol, result)}; passed unverified (checksum: warn), ${state.passed} so far while degraded`);
      }
    }
    return true;
  };

  // ---------------------------------------------------------------------------------------------
  // Trades and candles

  /** Per symbol, the last trade id emitted (or seen in the first snapshot). */
  const tradeIds = new Map<string, number>();
  /** Per `symbol interval`, the open time of the last closed candle emitted. */
  const closedCandles = new Map<string, number>();

  const onTrade = (trade: Trade): void => {
    const last = tradeIds.get(trade.symbol);
    if (last !== undefined && trade.id <= last) {
      drops.drop(VENUE, `duplicate trade: id ${trade.id} of ${trade.symbol}, last emitted ${last}`);
      return;
    }
    if (last !== undefined && trade.id > last + 1) {
      const info = byName.get(krakenStream.trade(trade.symbol));
      if (info !== undefined) gap(info, `trade ids ${last + 1}..${trade.id - 1} of ${trade.symbol} are missing: Kraken resends only the last 50`, false, { from: last + 1, to: trade.id - 1 });
    }
    tradeIds.set(trade.symbol, trade.id);
    emit(trade);
  };

  /** A trade snapshot (the last 50): sets the starting id on the first subscription, refills an outage after that. */
  const onTradeSnapshot = (trades: readonly Trade[]): void => {
    const bySymbol = new Map<string, Trade[]>();
    for (const trade of trades) bySymbol.set(trade.symbol, [...(bySymbol.get(trade.symbol) ?? []), trade]);
    for (const [symbol, list] of bySymbol) {
      list.sort((a, b) => a.id - b.id);
      const last = tradeIds.get(symbol);
      if (last === undefined) {
        // History from before the subscription: not emitted, but trades continue from it.
        tradeIds.set(symbol, (list.at(-1) as Trade).id);
        continue;
      }
      for (const trade of list) {
        if (trade.id <= last) deduplicated.inc({ source, kind: 'trade' });
        else onTrade(trade);
      }
    }
  };

  const onCandle = (candle: Candle): void => {
    if (!candle.closed) {
      if (params.formingCandles) emit(candle);
      return;
    }
    const key = `${candle.symbol} ${candle.interval}`;
    const last = closedCandles.get(key);
    if (last !== undefined && candle.openTime <= last) {
      deduplicated.inc({ source, kind: 'candle' });
      return;
    }
    closedCandles.set(key, candle.openTime);
    emit(candle);
  };

  // ---------------------------------------------------------------------------------------------
  // Frames

  /** Kraken's trading-engine state, from `status` frames. */
  let system = 'online';
  const onSystemStatus = (state: string): void => {
    if (state === system) return;
    const was = system;
    system = state;
    if (state === 'online') status('live', `Kraken system status is "online" again (was ${quote(was)})`);
    else status('degraded', `Kraken system status is ${quote(state)}: market data may pause`);
  };

  const onControl = (message: KrakenControl): void => {
    switch (message.kind) {
      case 'book':
        bookVerdict = onBook(message);
        return;
      case 'status':
        onSystemStatus(message.system);
        return;
      case 'error':
        ctx.logger.error({ reqId: message.reqId }, `kraken rejected a request${message.reqId === undefined ? '' : ` (req_id ${message.reqId})`}: ${message.error}`);
        return;
      case 'ack':
        // Acks with our req_id are settled by the connection; this one answers nothing we track.
        if (!message.success) ctx.logger.error({ reqId: message.reqId }, `kraken ${message.method} failed${message.symbol === undefined ? '' : ` for ${message.symbol}`}: ${message.error}`);
        return;
      case 'heartbeat':
      case 'pong':
      case 'instrument':
        return;
    }
  };

  /** The verdict on the book message just parsed, for the `book-depth` record that follows it. */
  let bookVerdict: boolean | undefined;
  /** Trades of the snapshot frame being parsed, handled together once it is read. */
  let tradeBatch: Trade[] | undefined;

  const frameHandler: KrakenFrameHandler = {
    record: (record) => {
      switch (record.type) {
        case 'trade':
          if (tradeBatch === undefined) onTrade(record);
          else tradeBatch.push(record);
          return;
        case 'candle':
          onCandle(record);
          return;
        case 'book-depth': {
          const forward = bookVerdict;
          bookVerdict = undefined;
          // Withheld records were counted when their book message was judged.
          if (forward === true) emit(record);
          return;
        }
        case 'book-top':
          emit(record);
          return;
      }
    },
    control: onControl,
    drop: (reason, frame) => {
      drops.drop(VENUE, reason, frame);
    },
  };

  // ---------------------------------------------------------------------------------------------
  // The connection

  const name = `${VENUE}#0`;
  let parser = createKrakenParser();
  let parserEpoch = 0;
  const handler: LiveConnectionHandler = {
    frame: (text, tsRecv, epoch) => {
      if (closed) return;
      if (epoch !== parserEpoch) {
        parser = createKrakenParser();
        parserEpoch = epoch;
      }
      const batch: Trade[] | undefined = text.startsWith('{"channel":"trade"') && isKrakenSnapshot(text) ? [] : undefined;
      tradeBatch = batch;
      try {
        parser.parse(text, tsRecv, frameHandler);
      } finally {
        tradeBatch = undefined;
        bookVerdict = undefined;
      }
      if (batch !== undefined) onTradeSnapshot(batch);
    },
    live: () => {
      // Nothing to do: every subscription of the new socket brings its snapshot, and the books
      // (set waiting by `interrupted`) resume from it.
    },
    interrupted: (event) => {
      for (const stream of event.streams) {
        const info = byName.get(stream);
        if (info === undefined) continue;
        const refill = info.kind === 'trade' ? ' (the resubscribe snapshot refills up to 50 trades; a longer hole is reported as its own gap)' : '';
        gap(info, `connection lost: ${event.reason}${refill}`, info.recoverable, { from: event.lastFrameAt });
        if (info.kind === 'book') {
          const state = books.get(info.symbol);
          if (state !== undefined) awaitSnapshot(state);
        }
      }
    },
    stalled: (event) => {
      const info = byName.get(event.stream);
      if (info === undefined) return;
      gap(info, `stream silent for ${Math.round(event.silentMs)} ms: resubscribing`, info.recoverable, { from: event.lastFrameAt });
      const state = info.kind === 'book' ? books.get(info.symbol) : undefined;
      if (state !== undefined) awaitSnapshot(state);
    },
    subscriptionFailed: (failed, reason) => {
      ctx.logger.error({ streams: failed }, reason);
      for (const stream of failed) {
        const info = byName.get(stream);
        if (info !== undefined) gap(info, reason, false, {});
      }
    },
  };

  return {
    venue: VENUE,
    connections: [
      {
        name,
        protocol: krakenProtocol({ wsUrl: params.wsUrl, bookDepth: params.bookDepth, tickerTrigger: params.tickerTrigger, bookStallMs: params.bookStallMs }),
        streams: streams.map((info) => info.name),
        handler,
      },
    ],
    close: () => {
      if (closed) return;
      closed = true;
      drops.summarize();
    },
  };
}

/** Replays `kraken-live` from a recording through {@link createKrakenLiveCore} (see replayFile.ts). */
export const krakenLiveReplayer: LiveReplayer = {
  use: 'kraken-live',
  core: (params, ctx, env, emit, startedAt) => createKrakenLiveCore(krakenLiveParams.parse(params), ctx, env, emit, startedAt),
};

function statusEvent(state: StatusState, detail: string, at: number, symbol = '*'): Flow<KrakenRecord> {
  return { type: 'status', venue: VENUE, symbol, tsEvent: at, tsRecv: at, state, detail };
}

export const krakenLiveSource = recordableSource(
  defineSource({
    kind: 'kraken-live',
    summary: 'Kraken spot over WebSocket v2: trades, tickers, candles and CRC32-verified books resynced per symbol; reconnects and resubscribes',
    params: krakenLiveParams,
    output: 'any',
    create: (params, ctx) => krakenLive(params, ctx),
  }),
  { create: (params, ctx, tap) => krakenLive(params, ctx, { tap }) },
);
