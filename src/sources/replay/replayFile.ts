/**
 * Replays a recording, in one of two modes.
 *
 * `mode: records` (the default): every recorded frame goes through the parser of its feed, with
 * the recorded receive time as `tsRecv`. Fast and simple, but only the parser runs: frames of
 * every socket (a renewal's overlap included) reach the output, REST answers are not used, and
 * nothing is deduplicated or backfilled.
 *
 *   file:    open recv recv recv(bad) rest recv ...
 *   records: ---- a    b    --------  ---- c   ...   (bad frame: dropped, counted, warned with file:line)
 *
 * `mode: live-source` rebuilds one recorded live source (written by `alphaflow record`) from its
 * `start` line, kind and params, and feeds its core (the code after the sockets, shared with live)
 * the way its connections fed it: frames of the socket that was delivering, a renewal's held
 * frames at its takeover, connections going live, and REST calls answered from the recorded
 * `rest` lines (matched by path and query, first come first served), each exactly when the replay
 * reaches that line. Timers of the core (snapshot retries, REST backoff) run on the recording's
 * clock. So dedupe, trade and kline backfill and the order-book sync run as they did live, and
 * the market records are the ones live emitted: the same {@link MarketDigest}, which the replay
 * logs when it ends (`marketSha256`), as the recording run logged for the source. Control events
 * (`gap`, `status`) are re-derived from the recorded connection history and may differ in timing
 * and wording; a stall or a rejected subscription, which leaves no line, has none.
 *
 * Without `speed` records come as fast as the file reads; with `speed` they are paced on
 * `ctx.scheduler` by their recorded receive times (`speed: 60` plays an hour in a minute).
 *
 * ```yaml
 * - id: tape
 *   use: replay-file
 *   params: { path: recordings/day.ndjson.gz, types: [trade], symbols: [BTC-USDT] }
 * - id: spot                      # was `use: binance-live` when recorded
 *   use: replay-file
 *   params: { path: recordings/day.ndjson.gz, mode: live-source }
 * ```
 *
 * @see docs/recording-format.md
 */
import { resolve } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { defer, type Observable } from 'rxjs';
import { z } from 'zod';
import type { NodeContext } from '../../context.js';
import { defineSource } from '../../definitions.js';
import { SourceDataError, quote } from '../../errors.js';
import { METRIC } from '../../metrics.js';
import { canonicalSymbol, isControl, tryCanonicalSymbol } from '../../model/index.js';
import { binanceLiveReplayer } from '../binance/binanceLive.js';
import { binanceRawStream } from '../binance/binanceUrls.js';
import { createBinanceParser, type BinanceFrameHandler, type BinanceParser, type BinanceRecord } from '../binance/parse.js';
import { coinbaseLiveReplayer } from '../coinbase/coinbaseLive.js';
import { createDropReporter, type DropReporter } from '../dropReporter.js';
import { emitRecords } from '../emitRecords.js';
import { krakenLiveReplayer } from '../kraken/krakenLive.js';
import type { ConnectionPhase } from '../live/connection.js';
import { MarketDigest, type LiveConnectionPlan, type LiveCore, type LiveEnvironment, type LiveRecord, type LiveReplayer } from '../live/recorder.js';
import { readRecording, type ReadEntry, type RecordingFormat, type RecordingRest } from './recording.js';

/** Record types a recording can replay. */
export const REPLAY_TYPES = ['trade', 'candle', 'book-top', 'book-depth', 'liquidation', 'mark-price'] as const;
export type ReplayType = (typeof REPLAY_TYPES)[number];

export interface ReplayFileOptions {
  /** The recording, relative to `ctx.baseDir` (or absolute); `.gz` or plain. */
  readonly path: string;
  /** `alphaflow` or `cryptofeed`; omit to detect from the first line. */
  readonly format?: RecordingFormat | undefined;
  /** Omit for as fast as possible; otherwise a multiple of real time, paced on `ctx.scheduler`. */
  readonly speed?: number | undefined;
  /** Keep only these record types. */
  readonly types?: readonly ReplayType[] | undefined;
  /** Keep only these symbols (canonical, e.g. `BTC-USDT`). */
  readonly symbols?: readonly string[] | undefined;
}

/** The parser of each feed a recording may hold. */
const PARSED_FEEDS: Readonly<Record<string, 'spot' | 'usdm'>> = { binance: 'spot', 'binance-usdm': 'usdm' };

/** A cold Observable of the records in a recording; see the module doc. */
export function replayFile(options: ReplayFileOptions, ctx: NodeContext): Observable<BinanceRecord> {
  const { speed, format } = options;
  if (speed !== undefined && !(speed > 0 && Number.isFinite(speed))) {
    throw new RangeError(`Replay speed ${quote(speed)} must be a positive number (or left out for as fast as possible)`);
  }
  const file = resolve(ctx.baseDir, options.path);
  const types: ReadonlySet<string> | undefined = options.types === undefined ? undefined : new Set(options.types);
  const symbols: ReadonlySet<string> | undefined = options.symbols === undefined ? undefined : new Set(options.symbols.map((symbol) => canonicalSymbol(symbol)));
  const source = ctx.node === '' ? 'replay-file' : ctx.node;
  const received = ctx.metrics.counter(METRIC.received, 'Records a source delivered downstream, by source').bind({ source });

  return defer(() => {
    // Everything below is per subscription.
    const drops = createDropReporter(ctx, source);
    const parsers = new Map<string, BinanceParser | null>();
    const rawStreams = new Map<string, string>();
    let batch: BinanceRecord[] = [];
    let line = 0;
    let records = 0;

    const handler: BinanceFrameHandler = {
      record: (record) => {
        if ((types === undefined || types.has(record.type)) && (symbols === undefined || symbols.has(record.symbol))) batch.push(record);
      },
      // Replies and shutdown notices steer a live connection; a replay has none to steer.
      control: () => undefined,
      drop: (reason, frame) => {
        drops.drop(`${file}:${line}`, reason, frame);
      },
    };

    const parserOf = (feed: string): BinanceParser | null => {
      let parser = parsers.get(feed);
      if (parser === undefined) {
        const market = PARSED_FEEDS[feed];
        parser = market === undefined ? null : createBinanceParser({ market });
        parsers.set(feed, parser);
      }
      return parser;
    };

    async function* batches(): AsyncGenerator<readonly BinanceRecord[], void, undefined> {
      ctx.logger.debug({ path: file, format: format ?? 'detect' }, 'replay started');
      for await (const entries of readRecording(file, { format })) {
        batch = [];
        for (const entry of entries) {
          switch (entry.kind) {
            case 'recv': {
              const parser = parserOf(entry.feed);
              line = entry.line;
              if (parser === null) drops.drop(`${file}:${line}`, `unsupported feed ${quote(entry.feed)}`, entry.frame);
              else parser.parse(entry.frame, entry.time, handler, entry.stream ?? rawStreams.get(entry.conn));
              break;
            }
            case 'open': {
              const stream = binanceRawStream(entry.url);
              if (stream === undefined) rawStreams.delete(entry.conn);
              else rawStreams.set(entry.conn, stream);
              break;
            }
            case 'rest':
              ctx.logger.debug({ origin: `${file}:${entry.line}`, url: entry.url, status: entry.status }, 'REST answer not replayed yet');
              break;
            case 'invalid':
              drops.drop(`${file}:${entry.line}`, `bad line: ${entry.reason}`, entry.text);
              break;
            default:
              // send, close, meta, start and live lines carry nothing to emit.
              break;
          }
        }
        records += batch.length;
        received.inc(batch.length);
        yield batch;
      }
    }

    return emitRecords(batches, {
      speed,
      scheduler: ctx.scheduler,
      timeOf: (record) => record.tsRecv,
      finalize: () => {
        drops.summarize();
        ctx.logger.info({ path: file, records, dropped: drops.count }, 'replay ended');
      },
    });
  });
}

/** Replayers of recorded live sources, by registry kind. A new live source adds its replayer here. */
const LIVE_REPLAYERS: ReadonlyMap<string, LiveReplayer> = new Map([binanceLiveReplayer, krakenLiveReplayer, coinbaseLiveReplayer].map((replayer) => [replayer.use, replayer]));

export interface ReplayLiveSourceOptions {
  /** The recording, relative to `ctx.baseDir` (or absolute); `.gz` or plain. */
  readonly path: string;
  /** The recorded source: its node id in the recording run (default: this node's id). */
  readonly source?: string | undefined;
  /** Omit for as fast as possible; otherwise a multiple of real time, paced on `ctx.scheduler`. */
  readonly speed?: number | undefined;
  /** Keep only these market record types (control events always pass). */
  readonly types?: readonly ReplayType[] | undefined;
  /** Keep only market records of these symbols (control events always pass). */
  readonly symbols?: readonly string[] | undefined;
  /** Replayers by kind (default: every built-in live source). */
  readonly replayers?: ReadonlyMap<string, LiveReplayer>;
}

/**
 * A cold Observable of what the recorded live source `source` emitted: its core, rebuilt from the
 * recording's `start` line, fed the recorded connection history and REST answers (module doc).
 * Unpaced, the market records equal live's; paced (`speed`), a REST call can time out while the
 * replay waits, and then be asked again.
 */
export function replayLiveSource(options: ReplayLiveSourceOptions, ctx: NodeContext): Observable<LiveRecord> {
  const { speed } = options;
  if (speed !== undefined && !(speed > 0 && Number.isFinite(speed))) {
    throw new RangeError(`Replay speed ${quote(speed)} must be a positive number (or left out for as fast as possible)`);
  }
  const file = resolve(ctx.baseDir, options.path);
  const source = options.source ?? ctx.node;
  if (source === '') throw new RangeError(`Replaying ${quote(file)} as a live source needs "source": the node id the source had when it was recorded`);
  const types: ReadonlySet<string> | undefined = options.types === undefined ? undefined : new Set(options.types);
  const symbols: ReadonlySet<string> | undefined = options.symbols === undefined ? undefined : new Set(options.symbols.map((symbol) => canonicalSymbol(symbol)));
  const replayers = options.replayers ?? LIVE_REPLAYERS;
  const node = ctx.node === '' ? 'replay-file' : ctx.node;
  const received = ctx.metrics.counter(METRIC.received, 'Records a source delivered downstream, by source').bind({ source: node });

  return defer(() => {
    // Everything below is per subscription.
    const drops = createDropReporter(ctx, node);
    const digest = new MarketDigest();
    let batch: LiveRecord[] = [];
    let records = 0;
    const emit = (record: LiveRecord): void => {
      if (!isControl(record)) {
        if ((types !== undefined && !types.has(record.type)) || (symbols !== undefined && !symbols.has(record.symbol))) return;
        digest.add(record);
      }
      batch.push(record);
    };
    const replay = new LiveSourceReplay({ file, source, ctx, drops, replayers, emit });
    const take = (): readonly LiveRecord[] => {
      const out = batch;
      batch = [];
      records += out.length;
      received.inc(out.length);
      return out;
    };

    async function* batches(): AsyncGenerator<readonly LiveRecord[], void, undefined> {
      ctx.logger.debug({ path: file, source }, 'live-source replay started');
      try {
        for await (const entries of readRecording(file, { format: 'alphaflow' })) {
          for (const entry of entries) {
            const step = replay.step(entry);
            if (step !== undefined) await step;
          }
          yield take();
        }
        await replay.end();
        yield take();
      } finally {
        replay.close();
      }
    }

    return emitRecords(batches, {
      speed,
      scheduler: ctx.scheduler,
      timeOf: (record) => record.tsRecv,
      finalize: () => {
        replay.close();
        drops.summarize();
        ctx.logger.info(
          { path: file, source, records, marketRecords: digest.count, marketSha256: digest.hex(), dropped: drops.count, ...replay.stats },
          'replay ended',
        );
      },
    });
  });
}

/** A timer of the core, on the recording's clock. */
interface ReplayTimer {
  readonly due: number;
  readonly seq: number;
  readonly run: () => void;
}

/** What replay knows of one recorded connection: which socket delivers, which one is taking over. */
interface ConnectionReplay {
  readonly plan: LiveConnectionPlan;
  /** The epoch whose frames are delivered. */
  current: number | undefined;
  /** A renewal's socket: its frames are held until its `live` line says it took over. */
  candidate: number | undefined;
  held: { readonly text: string; readonly time: number }[];
  /** Epochs that went live: losing one of them is an interruption, as live reports it. */
  readonly wentLive: Set<number>;
  lastFrameAt: number | undefined;
  interruptedAt: number | undefined;
}

interface PendingRequest {
  readonly key: string;
  readonly resolve: (response: Response) => void;
  readonly reject: (reason: unknown) => void;
}

interface LiveSourceReplayOptions {
  readonly file: string;
  readonly source: string;
  readonly ctx: NodeContext;
  readonly drops: DropReporter;
  readonly replayers: ReadonlyMap<string, LiveReplayer>;
  readonly emit: (record: LiveRecord) => void;
}

const PHASES: ReadonlySet<string> = new Set(['start', 'reconnect', 'renewal']);

/**
 * Drives a live source's core from the lines of a recording, one at a time, in file order. Most
 * lines are handled synchronously; a `rest` line returns a promise that settles once the answer
 * has been handed to the request waiting for it and its caller has run.
 */
class LiveSourceReplay {
  readonly #file: string;
  readonly #source: string;
  readonly #prefix: string;
  readonly #ctx: NodeContext;
  readonly #drops: DropReporter;
  readonly #replayers: ReadonlyMap<string, LiveReplayer>;
  readonly #emit: (record: LiveRecord) => void;
  readonly #connections = new Map<string, ConnectionReplay>();
  /** Sources that have a `start` line, for the error when `source` is not among them. */
  readonly #sources = new Set<string>();
  #core: LiveCore | undefined;
  /** The recording's clock: the time of the line being replayed. */
  #clock = 0;
  #timers: ReplayTimer[] = [];
  #seq = 0;
  #requests: PendingRequest[] = [];
  #answered: (() => void) | undefined;
  #closed = false;
  /** A second run of the source began: the replay ends with the first. */
  #finished = false;
  #staleFrames = 0;
  #unmatchedAnswers = 0;

  constructor(options: LiveSourceReplayOptions) {
    this.#file = options.file;
    this.#source = options.source;
    this.#prefix = `${options.source}:`;
    this.#ctx = options.ctx;
    this.#drops = options.drops;
    this.#replayers = options.replayers;
    this.#emit = options.emit;
  }

  get stats(): { readonly staleFrames: number; readonly unmatchedAnswers: number; readonly unansweredRequests: number } {
    return { staleFrames: this.#staleFrames, unmatchedAnswers: this.#unmatchedAnswers, unansweredRequests: this.#requests.length };
  }

  step(entry: ReadEntry): Promise<void> | undefined {
    if (this.#closed || this.#finished) return undefined;
    const origin = `${this.#file}:${entry.line}`;
    switch (entry.kind) {
      case 'invalid':
        this.#drops.drop(origin, `bad line: ${entry.reason}`, entry.text);
        return undefined;
      case 'meta': {
        const lost = entry.info?.lost;
        if (typeof lost === 'number') {
          this.#ctx.logger.warn({ origin, info: entry.info }, `the recording lost ${lost} entries here (the recorder could not keep up): the replay differs from live from this point`);
        }
        return undefined;
      }
      case 'start':
        this.#sources.add(entry.conn);
        if (entry.conn !== this.#source) return undefined;
        if (this.#core !== undefined) {
          this.#finished = true;
          this.#ctx.logger.warn({ origin }, `a second run of source ${quote(this.#source)} starts here: the replay ends with the first`);
          return undefined;
        }
        this.#start(entry.use, entry.params, entry.time, origin);
        return undefined;
      default:
        break;
    }
    if (!entry.conn.startsWith(this.#prefix)) return undefined;
    if (this.#core === undefined) {
      this.#drops.drop(origin, `line of source ${quote(this.#source)} before its start line`, entry.kind);
      return undefined;
    }
    this.#advance(entry.time);
    if (entry.kind === 'rest') return this.#answer(entry, origin);
    const name = entry.conn.slice(this.#prefix.length);
    const connection = this.#connections.get(name);
    if (connection === undefined) {
      this.#drops.drop(origin, `connection ${quote(name)} is not one the recorded params give (${[...this.#connections.keys()].join(', ')})`, entry.kind);
      return undefined;
    }
    switch (entry.kind) {
      case 'open':
        if (connection.current === undefined) connection.current = entry.epoch;
        else if (entry.epoch !== connection.current) {
          connection.candidate = entry.epoch;
          connection.held = [];
        }
        break;
      case 'recv':
        this.#recv(connection, entry.epoch, entry.frame, entry.time);
        break;
      case 'close':
        this.#close(connection, entry.epoch, entry.code, entry.reason);
        break;
      case 'live':
        if (PHASES.has(entry.phase)) this.#live(connection, entry.epoch, entry.phase as ConnectionPhase);
        else this.#drops.drop(origin, `unknown connection phase ${quote(entry.phase)}`, entry.phase);
        break;
      default:
        // Sent control frames steer the venue, not the core.
        break;
    }
    return undefined;
  }

  /** After the last line: the continuations of the last answers run; a source never started fails. */
  async end(): Promise<void> {
    if (this.#closed) return;
    if (this.#core === undefined) {
      const held = [...this.#sources];
      throw new SourceDataError(
        this.#file,
        held.length > 0
          ? `the recording has no live source ${quote(this.#source)}: it holds ${held.map((name) => quote(name)).join(', ')} (set "source")`
          : `the recording has no start line of any live source (was it written by "alphaflow record"?), so source ${quote(this.#source)} cannot be replayed`,
      );
    }
    await nextTurn();
  }

  /** Stops the core: pending requests are aborted and nothing more is emitted. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#core?.close();
    this.#timers = [];
    const waiter = this.#answered;
    this.#answered = undefined;
    waiter?.();
  }

  #start(use: string, text: string, time: number, origin: string): void {
    const replayer = this.#replayers.get(use);
    if (replayer === undefined) {
      throw new SourceDataError(origin, `source ${quote(this.#source)} was recorded as ${quote(use)}, which cannot be replayed as a live source; these can: ${[...this.#replayers.keys()].join(', ')}`);
    }
    let params: unknown;
    try {
      params = JSON.parse(text);
    } catch (err) {
      throw new SourceDataError(origin, `the recorded params of source ${quote(this.#source)} are not JSON: ${quote(text)}`, { cause: err });
    }
    this.#clock = time;
    const env: LiveEnvironment = {
      now: () => this.#clock,
      later: (ms, run) => this.#schedule(ms, run),
      sleep: (ms, signal) => this.#sleep(ms, signal),
      fetch: (input, init) => this.#fetch(input, init),
      // Retry jitter would move retries later than the recorded answers: retry at once.
      random: () => 0,
      answered: () => {
        const waiter = this.#answered;
        this.#answered = undefined;
        waiter?.();
      },
    };
    try {
      const core = replayer.core(params, this.#ctx, env, this.#emit, time);
      this.#core = core;
      for (const plan of core.connections) {
        this.#connections.set(plan.name, { plan, current: undefined, candidate: undefined, held: [], wentLive: new Set(), lastFrameAt: undefined, interruptedAt: undefined });
      }
    } catch (err) {
      const why = err instanceof z.ZodError ? z.prettifyError(err) : err instanceof Error ? err.message : String(err);
      throw new SourceDataError(origin, `the recorded params of source ${quote(this.#source)} are not valid ${use} params: ${why}`, { cause: err });
    }
  }

  #recv(connection: ConnectionReplay, epoch: number, text: string, time: number): void {
    // What ManagedConnection delivers: no replies or shutdown notices, only the current socket's frames.
    const { protocol, handler } = connection.plan;
    if (protocol.reply(text) !== undefined || protocol.isShutdownNotice(text)) return;
    if (epoch === connection.candidate) {
      connection.held.push({ text, time });
      return;
    }
    if (epoch !== connection.current) {
      this.#staleFrames++;
      return;
    }
    connection.lastFrameAt = time;
    handler.frame(text, time, epoch);
  }

  #close(connection: ConnectionReplay, epoch: number, code: number, reason: string): void {
    if (epoch === connection.candidate) {
      connection.candidate = undefined;
      connection.held = [];
      return;
    }
    if (epoch !== connection.current) return;
    connection.current = undefined;
    // The renewal's socket takes over: its `live` line follows.
    if (connection.candidate !== undefined || !connection.wentLive.has(epoch)) return;
    connection.interruptedAt ??= connection.lastFrameAt ?? this.#clock;
    const detail = `closed with code ${code}${reason === '' ? '' : ` (${reason})`}`;
    this.#status('reconnecting', `${connection.plan.name}: ${detail} (replayed)`);
    connection.plan.handler.interrupted({ epoch, reason: detail, lastFrameAt: connection.lastFrameAt, streams: connection.plan.streams });
  }

  #live(connection: ConnectionReplay, epoch: number, phase: ConnectionPhase): void {
    connection.wentLive.add(epoch);
    const { handler, name } = connection.plan;
    if (phase === 'renewal') {
      connection.current = epoch;
      connection.candidate = undefined;
      const held = connection.held;
      connection.held = [];
      this.#status('live', `${name}: renewed (replayed)`);
      handler.live({ epoch, phase });
      for (const frame of held) {
        connection.lastFrameAt = frame.time;
        handler.frame(frame.text, frame.time, epoch);
      }
      return;
    }
    const interruptedAt = connection.interruptedAt;
    connection.interruptedAt = undefined;
    this.#status('live', `${name}: ${connection.plan.streams.length} streams subscribed (replayed)`);
    handler.live(interruptedAt === undefined ? { epoch, phase } : { epoch, phase, interruptedAt });
  }

  #status(state: 'live' | 'reconnecting', detail: string): void {
    const venue = this.#core?.venue ?? '';
    this.#emit({ type: 'status', venue, symbol: '*', tsEvent: this.#clock, tsRecv: this.#clock, state, detail });
  }

  /** Fires the timers due by `time` (the line about to be replayed), then sets the clock to it. */
  #advance(time: number): void {
    this.#fireDue(time);
    this.#clock = time;
  }

  /** Fires every timer due by `time`, earliest first; true when one fired. */
  #fireDue(time: number): boolean {
    let fired = false;
    while (this.#timers.length > 0 && !this.#closed) {
      let next: ReplayTimer | undefined;
      for (const timer of this.#timers) {
        if (timer.due <= time && (next === undefined || timer.due < next.due || (timer.due === next.due && timer.seq < next.seq))) next = timer;
      }
      if (next === undefined) break;
      this.#timers.splice(this.#timers.indexOf(next), 1);
      this.#clock = Math.max(this.#clock, next.due);
      fired = true;
      next.run();
    }
    return fired;
  }

  #schedule(ms: number, run: () => void): () => void {
    const timer: ReplayTimer = { due: this.#clock + Math.max(0, ms), seq: this.#seq++, run };
    this.#timers.push(timer);
    return () => {
      const index = this.#timers.indexOf(timer);
      if (index >= 0) this.#timers.splice(index, 1);
    };
  }

  #sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolveSleep, rejectSleep) => {
      if (signal?.aborted === true) {
        rejectSleep(abortReason(signal));
        return;
      }
      const onAbort = (): void => {
        cancel();
        rejectSleep(abortReason(signal));
      };
      const cancel = this.#schedule(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolveSleep();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The core's `fetch`: waits for the recorded answer to the same path and query. */
  #fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const url = new URL(input instanceof Request ? input.url : input);
    const key = `${url.pathname}${url.search}`;
    const signal = init?.signal ?? undefined;
    return new Promise<Response>((resolveFetch, rejectFetch) => {
      if (signal?.aborted === true) {
        rejectFetch(abortReason(signal));
        return;
      }
      const onAbort = (): void => {
        const index = this.#requests.indexOf(request);
        if (index >= 0) this.#requests.splice(index, 1);
        rejectFetch(abortReason(signal));
      };
      const request: PendingRequest = {
        key,
        resolve: (response) => {
          signal?.removeEventListener('abort', onAbort);
          resolveFetch(response);
        },
        reject: (reason) => {
          signal?.removeEventListener('abort', onAbort);
          rejectFetch(reason instanceof Error ? reason : new Error(String(reason)));
        },
      };
      this.#requests.push(request);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * A recorded REST answer: handed to the request that asked for it (it may still be on its way:
   * earlier lines' continuations and due timers run first), then its caller runs before the next
   * line, as it did live. An answer nothing asked for is dropped and counted.
   */
  async #answer(entry: RecordingRest, origin: string): Promise<void> {
    let key: string;
    try {
      const url = new URL(entry.url);
      key = `${url.pathname}${url.search}`;
    } catch {
      this.#drops.drop(origin, `bad line: REST URL ${quote(entry.url)} is not a URL`, entry.url);
      return;
    }
    for (;;) {
      await nextTurn();
      if (this.#closed) return;
      const index = this.#requests.findIndex((request) => request.key === key);
      if (index >= 0) {
        const [request] = this.#requests.splice(index, 1) as [PendingRequest];
        let response: Response;
        try {
          response = toResponse(entry);
        } catch (err) {
          request.reject(new SourceDataError(origin, `recorded REST answer cannot be replayed: ${(err as Error).message}`, { cause: err }));
          await nextTurn();
          return;
        }
        const answered = new Promise<void>((resolveAnswer) => {
          this.#answered = resolveAnswer;
        });
        request.resolve(response);
        await answered;
        await nextTurn();
        return;
      }
      if (!this.#fireDue(entry.time)) break;
    }
    this.#unmatchedAnswers++;
    this.#drops.drop(origin, `recorded REST answer that the replay never asked for: ${key}`, entry.url);
  }
}

function toResponse(entry: RecordingRest): Response {
  const bodyless = entry.status === 204 || entry.status === 205 || entry.status === 304;
  return new Response(bodyless ? null : entry.body, { status: entry.status, headers: entry.headers ?? {} });
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error(`aborted: ${String(reason)}`);
}

const symbolParam = z
  .string()
  .refine((value) => tryCanonicalSymbol(value) !== undefined, {
    error: (issue) => `Symbol ${JSON.stringify(issue.input)} is not recognised: write it as BASE-QUOTE, e.g. "BTC-USDT"`,
  })
  .transform((value) => canonicalSymbol(value));

export const replayFileParams = z
  .strictObject({
    path: z.string().min(1),
    format: z.enum(['alphaflow', 'cryptofeed']).optional(),
    mode: z
      .enum(['records', 'live-source'])
      .default('records')
      .describe('`records`: frames through the parsers only; `live-source`: rebuild a source recorded by `alphaflow record` (dedupe, backfill, book sync from the recorded REST answers): the same market records as live'),
    source: z.string().min(1).optional().describe('live-source: the node id the source had when recorded (default: this node\'s id)'),
    speed: z.number().positive().optional(),
    types: z.array(z.enum(REPLAY_TYPES)).min(1).optional(),
    symbols: z.array(symbolParam).min(1).optional(),
  })
  .superRefine((params, ctx) => {
    if (params.mode === 'live-source' && params.format === 'cryptofeed') {
      ctx.addIssue({ code: 'custom', path: ['format'], message: 'mode "live-source" replays recordings written by "alphaflow record" (format "alphaflow"), not cryptofeed captures' });
    }
    if (params.mode === 'records' && params.source !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['source'], message: 'source names the recorded live source to rebuild: set mode: live-source, or leave source out' });
    }
  });

export const replayFileSource = defineSource({
  kind: 'replay-file',
  summary: 'Replays a recording (alphaflow or cryptofeed) through the venue parsers, or rebuilds a recorded live source exactly; fast or paced by receive time',
  params: replayFileParams,
  output: 'any',
  describe: (params) => (params.types?.length === 1 && params.types[0] !== undefined ? { type: params.types[0] } : {}),
  create: (params, ctx): Observable<LiveRecord> =>
    params.mode === 'live-source'
      ? replayLiveSource({ path: params.path, source: params.source, speed: params.speed, types: params.types, symbols: params.symbols }, ctx)
      : replayFile(params, ctx),
});
