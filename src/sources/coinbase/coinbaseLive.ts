/**
 * `coinbase-live`: Coinbase Advanced Trade market data over WebSocket (protocols.md §3.2), kept
 * complete or said to be incomplete.
 *
 * One {@link ManagedConnection} carries every stream (Coinbase counts control messages per IP, so
 * one connection paces them all): `heartbeats`, always (R-06 Coinbase variant: channels without
 * updates are closed after 60–90 s, and a missing heartbeat is how a stalled connection shows),
 * and per product the selected channels, one stream each (`level2:BTC-USD`, see
 * coinbaseProtocol.ts). Frames go through one {@link createCoinbaseParser} per socket: Coinbase
 * numbers the messages of a connection from 0 (`sequence_num`, subscription acks included), so a
 * new socket starts a new parser, and every book resyncs from the snapshots its subscriptions
 * bring.
 *
 * - **Sequence numbers.** A repeated number is a duplicate: dropped and counted. A jump means
 *   messages were lost, and any of them may have been any product's `l2_data`: every book on the
 *   connection gets a `gap` (stream `book-depth`, recoverable, `from`/`to` the lost numbers), its
 *   output is withheld, and its product alone is resubscribed on `level2` (unsubscribe, subscribe)
 *   for a fresh snapshot. Trades, tickers and other connections are left alone. Resyncs per product
 *   are bounded by a {@link ResyncPolicy}; past it the product is reported `degraded` (a `status`
 *   naming it) and retried when the policy allows.
 * - **Books** ({@link CoinbaseBook}) emit the snapshot and every applied update. An emitted
 *   update's `prevUpdateId` is the `lastUpdateId` of the record emitted before it for the same
 *   product, so consumers can check continuity per stream. A book that turns invalid (crossed,
 *   or an `l2_data` message dropped as malformed) is resynced the same way.
 * - **Trades** are deduplicated by `trade_id` per product (a resubscription replays the last
 *   trades); a hole in the ids is a `gap` that cannot be recovered (Coinbase has no trade
 *   backfill here).
 * - **Tickers** pass through as `book-top`.
 *
 * Control events in the stream: `status` on every connection state change (symbol `*`) and per
 * product when its book degrades or resyncs; `gap` for sequence jumps, trade-id holes,
 * interruptions, a connection gone silent (no heartbeat and no data) and failed subscriptions.
 *
 * The logic after the socket is {@link createCoinbaseLiveCore}, fed by a {@link LiveEnvironment}:
 * live, by a {@link ManagedConnection}; in replay (`replay-file` with `mode: live-source`, through
 * {@link coinbaseLiveReplayer}), by the frames of a recording. Replay has no requests waiting for
 * replies, so the recorded `subscriptions` acks reach the parser as frames, which is what
 * `onAck` does live. A resync's unsubscribe and subscribe go out only live: in replay its effect,
 * the fresh snapshot, is in the recorded frames. With `options.tap` (`alphaflow record`), the
 * start, every wire event and every connection going live go to the recorder.
 */
import { Observable, type Subscriber, type Subscription } from 'rxjs';
import { z } from 'zod';
import type { NodeContext } from '../../context.js';
import { defineSource } from '../../definitions.js';
import { quote } from '../../errors.js';
import type { BookDepth, Flow, Gap, StatusState, Trade } from '../../model/index.js';
import { canonicalSymbol, tryCanonicalSymbol } from '../../model/index.js';
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
import { CoinbaseBook, ResyncPolicy } from './book.js';
import { COINBASE_HEARTBEATS, COINBASE_WS_URL, coinbaseProtocol, coinbaseStream, type CoinbaseDataChannel } from './coinbaseProtocol.js';
import { COINBASE_VENUE, createCoinbaseParser, type CoinbaseControl, type CoinbaseFrameHandler, type CoinbaseParser, type CoinbaseRecord } from './parse.js';

/** The channels a user selects, and the Coinbase channel each is. */
export const COINBASE_LIVE_CHANNELS = ['trades', 'ticker', 'level2'] as const;
export type CoinbaseLiveChannel = (typeof COINBASE_LIVE_CHANNELS)[number];

const CHANNEL: Readonly<Record<CoinbaseLiveChannel, CoinbaseDataChannel>> = { trades: 'market_trades', ticker: 'ticker', level2: 'level2' };

const symbolParam = z
  .string()
  .refine((value) => tryCanonicalSymbol(value) !== undefined, {
    error: (issue) => `Symbol ${quote(issue.input)} is not recognised: write it as BASE-QUOTE, e.g. "BTC-USD"`,
  })
  .transform((value) => canonicalSymbol(value));

const positiveInteger = (name: string): z.ZodNumber =>
  z.number({ error: (issue) => `${name} ${quote(issue.input)} must be a number` }).refine((value) => Number.isSafeInteger(value) && value >= 1, {
    error: (issue) => `${name} ${quote(issue.input)} must be an integer >= 1`,
  });

export const coinbaseLiveParams = z
  .strictObject({
    symbols: z.array(symbolParam).min(1, { error: 'symbols must list at least one product, e.g. ["BTC-USD"]' }).describe('canonical symbols = Coinbase product ids, e.g. ["BTC-USD", "ETH-USD"]'),
    channels: z
      .array(z.enum(COINBASE_LIVE_CHANNELS, { error: (issue) => `channel ${quote(issue.input)} is not one of ${COINBASE_LIVE_CHANNELS.join(', ')}` }))
      .min(1, { error: `channels must list at least one of ${COINBASE_LIVE_CHANNELS.join(', ')}` })
      .default(['trades'])
      .describe('trades (market_trades), ticker (best bid/ask) and level2 (a local book checked by sequence numbers); heartbeats are always subscribed'),
    wsUrl: z
      .url({ protocol: /^wss?$/, error: (issue) => `wsUrl ${quote(issue.input)} is not a ws:// or wss:// URL: e.g. "ws://127.0.0.1:9443"` })
      .default(COINBASE_WS_URL)
      .describe('WebSocket endpoint (default production); point it at the Coinbase mock to test offline'),
    tradeSide: z.enum(['maker', 'taker']).default('maker').describe('whose side market_trades `side` is (see the Coinbase parser)'),
    maxResyncs: positiveInteger('maxResyncs').default(5).describe('level2 resyncs per product allowed in resyncWindowMs before it is reported degraded'),
    resyncWindowMs: positiveInteger('resyncWindowMs').default(60_000).describe('the window of maxResyncs, ms'),
    timing: timingParam,
  })
  .superRefine((params, ctx) => {
    params.symbols.forEach((symbol, i) => {
      if (params.symbols.indexOf(symbol) < i) ctx.addIssue({ code: 'custom', path: ['symbols', i], message: `symbol ${quote(symbol)} is listed twice` });
    });
    params.channels.forEach((channel, i) => {
      if (params.channels.indexOf(channel) < i) ctx.addIssue({ code: 'custom', path: ['channels', i], message: `channel ${quote(channel)} is listed twice` });
    });
    const renew = params.timing.renewAfterMs;
    if (renew !== undefined && renew > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['timing', 'renewAfterMs'],
        message: `renewAfterMs ${quote(renew)} is not supported on Coinbase: its replies carry no request id, so two sockets cannot subscribe at once (and Coinbase has no connection age limit); leave it out or set 0`,
      });
    }
  });

export type CoinbaseLiveParams = z.output<typeof coinbaseLiveParams>;

/**
 * Sees every frame sent and received, every socket opened and closed and every connection going
 * live; and the start, when it has `start` (a recorder's `LiveTap` is one).
 */
export interface CoinbaseLiveTap {
  start?(event: LiveSourceStart): void;
  wire(connection: string, venue: string, event: TapEvent): void;
}

export interface CoinbaseLiveOptions {
  readonly tap?: CoinbaseLiveTap;
}

/** What the core asks of the connection: live, resubscribes and the current epoch; in replay, nothing. */
export interface CoinbaseCoreControl {
  resubscribe(stream: string): void;
  /** The epoch of the connection's current socket (0 before the first). */
  epoch(): number;
}

/** One data stream of one product. */
interface StreamInfo {
  readonly name: string;
  readonly symbol: string;
  readonly channel: CoinbaseDataChannel;
  /** The `stream` of its gap events. */
  readonly label: 'book-depth' | 'trade' | 'book-top';
  /** Refilled after an outage (books from a snapshot, trades from the subscription's recent trades). */
  readonly recoverable: boolean;
}

/** What happens to a stream's data after an outage, for gap reasons. */
const AFTER_OUTAGE: Readonly<Record<CoinbaseDataChannel, string>> = {
  level2: 'the book resyncs from a fresh snapshot',
  market_trades: "the new subscription's recent trades refill it; ids still missing are reported as their own gap",
  ticker: 'tickers are not refilled',
};

interface ProductState {
  readonly symbol: string;
  /** The local book, when level2 is subscribed. */
  readonly book: CoinbaseBook | undefined;
  /** The book was invalidated after having been valid: its next snapshot is a resync. */
  resyncing: boolean;
  /** A resync's unsubscribe is out and its subscribe follows in a microtask. */
  resyncQueued: boolean;
  /** A resync the policy refused is retried by this timer. */
  retryQueued: boolean;
  /** Id of the last trade emitted. */
  lastTradeId: number | undefined;
}

/** The live source as an Observable, for use in code. */
export function coinbaseLive(params: CoinbaseLiveParams, ctx: NodeContext, options: CoinbaseLiveOptions = {}): Observable<Flow<CoinbaseRecord>> {
  return new Observable<Flow<CoinbaseRecord>>((subscriber) => runCoinbaseLive(params, ctx, options, subscriber));
}

/** Live: the core fed by one {@link ManagedConnection}; everything tapped when recording. */
function runCoinbaseLive(params: CoinbaseLiveParams, ctx: NodeContext, options: CoinbaseLiveOptions, subscriber: Subscriber<Flow<CoinbaseRecord>>): () => void {
  const venue = COINBASE_VENUE;
  const now = (): number => ctx.scheduler.now();
  const tap = options.tap;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let stopped = false;
  const startedAt = now();
  tap?.start?.({ use: 'coinbase-live', venue, ts: startedAt, params });
  const env: LiveEnvironment = {
    now,
    later: (ms, run) => {
      // eslint-disable-next-line no-restricted-globals -- retries of network resyncs run in real time, like the sockets
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
      // Coinbase market data has no REST here.
    },
  };
  /** Set once the connection exists (the core's plan comes first). */
  const link: { connection?: ManagedConnection } = {};
  const core = createCoinbaseLiveCore(
    params,
    ctx,
    env,
    (record) => {
      if (!stopped) subscriber.next(record);
    },
    startedAt,
    {
      resubscribe: (stream) => {
        const connection = link.connection;
        if (connection === undefined) return;
        connection.unsubscribe([stream]);
        // Calls in one tick are bundled into one change: the subscribe goes out after the unsubscribe.
        queueMicrotask(() => {
          if (!stopped) connection.subscribe([stream]);
        });
      },
      epoch: () => link.connection?.epoch ?? 0,
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
            if (!stopped) tap.wire(plan.name, venue, { kind: 'live', epoch: event.epoch, phase: event.phase, ts: now() });
            plan.handler.live(event);
          },
          wire: (event) => {
            if (!stopped) tap.wire(plan.name, venue, event);
          },
        };
  const connection = new ManagedConnection({
    protocol: plan.protocol,
    handler,
    // Acks are matched by order on one socket at a time: no planned renewal (see coinbaseProtocol.ts).
    timing: { ...resolveTiming(params.timing), renewAfterMs: 0 },
    // Connections per second per IP (protocols.md §3.2: 8/s in the stricter version of the docs).
    budget: attemptBudgetFor(ctx.metrics, venue, 8, 1_000),
    name: plan.name,
    wallClock: now,
  });
  link.connection = connection;
  const statusSubscription: Subscription = connection.status$.subscribe({
    next: (state) => {
      if (!stopped && (state.state !== 'connecting' || state.epoch > 0)) subscriber.next(statusEvent(state.state, state.detail, now()));
    },
    error: (error: unknown) => {
      subscriber.error(error);
    },
  });
  connection.subscribe(plan.streams);
  connection.start();

  return () => {
    stopped = true;
    core.close();
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    connection.stop();
    statusSubscription.unsubscribe();
  };
}

/**
 * The logic of `coinbase-live` after the socket, shared by live and replay: parsing (a fresh
 * parser per socket epoch), sequence checks, books and their resyncs, trade dedupe, gaps. It opens
 * nothing itself: its one connection is driven by whoever holds the plan, time and timers come
 * from `env`, and resubscribes go to `control` (none in replay). Nothing here derives from the
 * start time.
 */
export function createCoinbaseLiveCore(
  params: CoinbaseLiveParams,
  ctx: NodeContext,
  env: LiveEnvironment,
  emitRecord: (record: Flow<CoinbaseRecord>) => void,
  _startedAt: number,
  control: CoinbaseCoreControl = { resubscribe: () => undefined, epoch: () => 0 },
): LiveCore {
  const venue = COINBASE_VENUE;
  const name = `${venue}#0`;
  const now = (): number => env.now();
  const drops = createDropReporter(ctx, ctx.node === '' ? venue : ctx.node);
  const policy = new ResyncPolicy({ maxResyncs: params.maxResyncs, windowMs: params.resyncWindowMs }, now);
  const cancels = new Set<() => void>();
  let closed = false;
  /** Book updates not applied while their book waited for a snapshot (reported by the gap that caused it). */
  let withheld = 0;

  const emit = (record: Flow<CoinbaseRecord>): void => {
    if (!closed) emitRecord(record);
  };
  const later = (ms: number, run: () => void): void => {
    const cancel = env.later(ms, () => {
      cancels.delete(cancel);
      if (!closed) run();
    });
    cancels.add(cancel);
  };
  const status = (state: StatusState, detail: string, symbol = '*'): void => {
    emit(statusEvent(state, detail, now(), symbol));
  };
  const gap = (info: StreamInfo, range: { readonly from?: number; readonly to?: number }, reason: string, recoverable: boolean, tsEvent = now()): void => {
    const event: Gap = { type: 'gap', venue, symbol: info.symbol, tsEvent, tsRecv: now(), stream: info.label, ...range, recoverable, reason };
    emit(event);
  };

  // Products and their streams.
  const products = new Map<string, ProductState>();
  const streams: StreamInfo[] = [];
  for (const symbol of params.symbols) {
    const level2 = params.channels.includes('level2');
    products.set(symbol, { symbol, book: level2 ? new CoinbaseBook(symbol) : undefined, resyncing: false, resyncQueued: false, retryQueued: false, lastTradeId: undefined });
    for (const selected of params.channels) {
      const channel = CHANNEL[selected];
      const label = channel === 'level2' ? 'book-depth' : channel === 'market_trades' ? 'trade' : 'book-top';
      streams.push({ name: coinbaseStream(channel, symbol), symbol, channel, label, recoverable: channel !== 'ticker' });
    }
  }
  const byName = new Map(streams.map((info) => [info.name, info]));
  const streamOf = (channel: CoinbaseDataChannel, symbol: string): StreamInfo | undefined => byName.get(coinbaseStream(channel, symbol));
  const books = [...products.values()].filter((product) => product.book !== undefined);

  /** Resubscribes `level2` of one product for a fresh snapshot, within the resync policy. */
  const resync = (product: ProductState): void => {
    const book = product.book;
    if (closed || book === undefined || book.state === 'valid' || product.resyncQueued) return;
    const decision = policy.request(product.symbol);
    if (decision.action === 'degraded') {
      status('degraded', `order book of ${product.symbol} stays invalid (${book.invalidReason ?? 'no snapshot'}): ${decision.reason}`, product.symbol);
      if (!product.retryQueued) {
        product.retryQueued = true;
        later(Math.max(0, decision.retryAt - now()), () => {
          product.retryQueued = false;
          resync(product);
        });
      }
      return;
    }
    product.resyncQueued = true;
    const stream = coinbaseStream('level2', product.symbol);
    ctx.logger.info({ symbol: product.symbol, attempt: decision.attempt }, `${venue}: resubscribing ${stream} for a fresh snapshot (${book.invalidReason ?? 'no snapshot'})`);
    control.resubscribe(stream);
    queueMicrotask(() => {
      product.resyncQueued = false;
    });
  };

  /** Marks a book invalid until its next snapshot. */
  const invalidate = (product: ProductState, reason: string): void => {
    const book = product.book;
    if (book === undefined) return;
    if (book.state === 'valid') product.resyncing = true;
    book.invalidate(reason);
  };

  // Per-socket parsing state.
  let parser: CoinbaseParser = createCoinbaseParser({ firstSequence: 0, tradeSide: params.tradeSide });
  let parserEpoch = 0;
  /** Books invalidated by the frame being parsed: resynced after it, unless it healed them. */
  const invalidated = new Set<ProductState>();
  /** Data records since the last heartbeat: tells a silent connection from a silent heartbeat channel. */
  let dataSinceHeartbeat = 0;

  const startEpoch = (epoch: number): void => {
    const previous = parserEpoch;
    parser = createCoinbaseParser({ firstSequence: 0, tradeSide: params.tradeSide });
    parserEpoch = epoch;
    dataSinceHeartbeat = 0;
    if (previous === 0) return;
    // The new socket numbers from 0 and its subscriptions bring fresh snapshots.
    for (const product of books) invalidate(product, `socket ${epoch} replaced socket ${previous}: waiting for its level2 snapshot`);
  };

  /** `lastSequence` before the frame being parsed: a drop after the envelope was accepted lost content. */
  let sequenceBefore: number | undefined;

  const feed = (text: string, tsRecv: number, epoch: number): void => {
    if (closed) return;
    if (epoch !== parserEpoch) startEpoch(epoch);
    sequenceBefore = parser.lastSequence();
    parser.parse(text, tsRecv, frameHandler);
    for (const product of invalidated) resync(product);
    invalidated.clear();
  };

  const onSequenceGap = (gapControl: Extract<CoinbaseControl, { kind: 'sequence-gap' }>): void => {
    const { expected, got, channel, tsEvent } = gapControl;
    const lost = got - expected;
    const what = `sequence_num jumped from ${expected - 1} to ${got} (on a ${quote(channel)} message): ${lost} message${lost === 1 ? '' : 's'} of the connection lost`;
    for (const product of books) {
      const info = streamOf('level2', product.symbol);
      if (info !== undefined) gap(info, { from: expected, to: got - 1 }, `${what}, any of them may have been this book's; resubscribing level2 for a fresh snapshot`, true, tsEvent);
      invalidate(product, what);
      invalidated.add(product);
    }
    for (const info of streams) {
      if (info.channel === 'ticker') gap(info, { from: expected, to: got - 1 }, `${what}; ${AFTER_OUTAGE.ticker}`, false, tsEvent);
    }
  };

  /** An `l2_data` message was accepted by sequence but dropped as malformed: its books missed an update. */
  const onBookFrameDropped = (reason: string, frame: string): void => {
    const sequence = parser.lastSequence();
    const named = books.filter((product) => frame.includes(`"product_id":"${product.symbol}"`));
    for (const product of named.length > 0 ? named : books) {
      const info = streamOf('level2', product.symbol);
      const what = `l2_data message ${sequence ?? '?'} dropped (${reason})`;
      if (info !== undefined) gap(info, sequence === undefined ? {} : { from: sequence, to: sequence }, `${what}; resubscribing level2 for a fresh snapshot`, true);
      invalidate(product, what);
      invalidated.add(product);
    }
  };

  const onDepth = (record: BookDepth): void => {
    const product = products.get(record.symbol);
    const book = product?.book;
    if (product === undefined || book === undefined) {
      drops.drop(venue, `book update for product ${quote(record.symbol)}, which has no level2 subscription`, record);
      return;
    }
    const valid = book.state === 'valid';
    const previous = book.lastUpdateId;
    const result = book.apply(record);
    if (result.status === 'applied') {
      if (record.snapshot) {
        emit(withoutPrev(record));
        if (product.resyncing) {
          product.resyncing = false;
          status('live', `order book of ${record.symbol} resynced from a snapshot at sequence_num ${record.lastUpdateId}`, record.symbol);
        }
      } else {
        emit({ ...record, prevUpdateId: previous });
      }
      return;
    }
    if (result.status === 'ignored') {
      if (valid) drops.drop(venue, `book update ignored: ${result.reason}`, record);
      else withheld++;
      return;
    }
    const info = streamOf('level2', record.symbol);
    if (info !== undefined) gap(info, { from: record.firstUpdateId, to: record.lastUpdateId }, `order book invalidated: ${result.reason}; resubscribing level2 for a fresh snapshot`, true, record.tsEvent);
    product.resyncing = true;
    invalidated.add(product);
  };

  const onTrade = (trade: Trade): void => {
    const product = products.get(trade.symbol);
    const info = streamOf('market_trades', trade.symbol);
    if (product === undefined || info === undefined) {
      drops.drop(venue, `trade of product ${quote(trade.symbol)}, which has no trades subscription`, trade);
      return;
    }
    const last = product.lastTradeId;
    if (last !== undefined && trade.id <= last) {
      drops.drop(venue, `duplicate trade id: ${trade.id} of ${trade.symbol} is not after the last emitted ${last}`, trade);
      return;
    }
    if (last !== undefined && trade.id > last + 1) {
      gap(info, { from: last + 1, to: trade.id - 1 }, `trade ids ${last + 1}..${trade.id - 1} of ${trade.symbol} missing (Coinbase trades cannot be backfilled here)`, false, trade.tsEvent);
    }
    product.lastTradeId = trade.id;
    emit(trade);
  };

  const frameHandler: CoinbaseFrameHandler = {
    record: (record) => {
      dataSinceHeartbeat++;
      switch (record.type) {
        case 'book-depth':
          onDepth(record);
          return;
        case 'trade':
          onTrade(record);
          return;
        case 'book-top':
          if (streamOf('ticker', record.symbol) === undefined) drops.drop(venue, `ticker of product ${quote(record.symbol)}, which has no ticker subscription`, record);
          else emit(record);
          return;
      }
    },
    control: (message) => {
      switch (message.kind) {
        case 'sequence-gap':
          onSequenceGap(message);
          return;
        case 'heartbeat':
          dataSinceHeartbeat = 0;
          return;
        case 'subscriptions':
          ctx.logger.debug({ subscriptions: message.subscriptions }, `${venue}: subscriptions`);
          return;
        case 'error':
          // Errors answering our requests are matched by the protocol; this one answers none.
          ctx.logger.error({ message: message.message }, `${venue} sent an error not tied to a request: ${quote(message.message)}`);
          return;
      }
    },
    drop: (reason, frame) => {
      drops.drop(venue, reason, frame);
      // The envelope was accepted (the number counted) but content was not: a book may have missed it.
      if (parser.lastSequence() !== sequenceBefore && frame.includes('"channel":"l2_data"')) onBookFrameDropped(reason, frame);
    },
  };

  const gapsForStreams = (names: readonly string[], from: number | undefined, reason: (info: StreamInfo) => string, recoverable: (info: StreamInfo) => boolean): void => {
    for (const stream of names) {
      const info = byName.get(stream);
      if (info !== undefined) gap(info, from === undefined ? {} : { from, to: now() }, reason(info), recoverable(info));
    }
  };

  const handler: LiveConnectionHandler = {
    frame: (text, tsRecv, epoch) => {
      feed(text, tsRecv, epoch);
    },
    live: (event) => {
      ctx.logger.debug({ epoch: event.epoch, phase: event.phase }, `${venue}: live`);
    },
    interrupted: (event) => {
      gapsForStreams(event.streams, event.lastFrameAt, (info) => `connection lost: ${event.reason}; ${AFTER_OUTAGE[info.channel]}`, (info) => info.recoverable);
    },
    stalled: (event) => {
      if (event.stream !== COINBASE_HEARTBEATS) {
        gapsForStreams([event.stream], event.lastFrameAt, (info) => `stream silent for ${Math.round(event.silentMs)} ms: resubscribing; ${AFTER_OUTAGE[info.channel]}`, (info) => info.recoverable);
        return;
      }
      if (dataSinceHeartbeat > 0) {
        ctx.logger.warn({ silentMs: Math.round(event.silentMs) }, `${venue}: heartbeats silent for ${Math.round(event.silentMs)} ms while data flows: resubscribing heartbeats`);
        return;
      }
      const silent = `connection silent for ${Math.round(event.silentMs)} ms (no heartbeat, no data): updates of this window may be late or lost`;
      gapsForStreams(
        streams.map((info) => info.name),
        event.lastFrameAt,
        (info) => `${silent}; ${AFTER_OUTAGE[info.channel]}`,
        (info) => info.recoverable,
      );
    },
    subscriptionFailed: (failed, reason) => {
      ctx.logger.error({ streams: failed }, reason);
      gapsForStreams(failed, undefined, () => `subscription failed: ${reason}`, () => false);
    },
  };

  return {
    venue,
    connections: [
      {
        name,
        protocol: coinbaseProtocol({
          wsUrl: params.wsUrl,
          // One socket at a time (no renewal): the current epoch is the epoch of the frame at hand.
          epoch: () => control.epoch(),
          onAck: (frame) => {
            feed(frame, now(), control.epoch());
          },
        }),
        streams: [COINBASE_HEARTBEATS, ...streams.map((info) => info.name)],
        handler,
      },
    ],
    close: () => {
      if (closed) return;
      closed = true;
      for (const cancel of cancels) cancel();
      cancels.clear();
      if (withheld > 0) ctx.logger.info({ withheld }, `${venue}: book updates withheld while their books waited for a snapshot (each reported by a gap)`);
      drops.summarize();
    },
  };
}

/** Replays `coinbase-live` from a recording through {@link createCoinbaseLiveCore} (see replayFile.ts). */
export const coinbaseLiveReplayer: LiveReplayer = {
  use: 'coinbase-live',
  core: (params, ctx, env, emit, startedAt) => createCoinbaseLiveCore(coinbaseLiveParams.parse(params), ctx, env, emit, startedAt),
};

function statusEvent(state: StatusState, detail: string, at: number, symbol = '*'): Flow<CoinbaseRecord> {
  return { type: 'status', venue: COINBASE_VENUE, symbol, tsEvent: at, tsRecv: at, state, detail };
}

/** A snapshot record as emitted: it follows nothing, so no `prevUpdateId`. */
function withoutPrev(record: BookDepth): BookDepth {
  const { type, venue, symbol, tsEvent, tsRecv, firstUpdateId, lastUpdateId, bids, asks, snapshot } = record;
  return { type, venue, symbol, tsEvent, tsRecv, firstUpdateId, lastUpdateId, bids, asks, snapshot };
}

export const coinbaseLiveSource = recordableSource(
  defineSource({
    kind: 'coinbase-live',
    summary: 'Coinbase Advanced Trade over WebSocket: trades, tickers and level2 books checked by sequence numbers; reconnects and resyncs',
    params: coinbaseLiveParams,
    output: 'any',
    create: (params, ctx) => coinbaseLive(params, ctx),
  }),
  { create: (params, ctx, tap) => coinbaseLive(params, ctx, { tap }) },
);
