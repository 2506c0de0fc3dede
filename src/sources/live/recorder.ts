/**
 * The recorder: what `alphaflow record` uses to write every raw frame and REST answer of the live
 * sources of a pipeline, with its receive time, to a recording (docs/recording-format.md), and the
 * contract a live source follows to be recorded and replayed.
 *
 * ```ts
 * const recorder = await Recorder.open({ path: 'day.ndjson.gz', clock: () => scheduler.now(), logger });
 * const registry = recordingRegistry(builtinRegistry(), recorder); // live sources now feed it
 * // ... run the pipeline with `registry`, then on shutdown:
 * const stats = await recorder.close();                            // flushed, gzip finished, file closed
 * ```
 *
 * **Writes never block the source.** An entry is queued in memory and the queue is formatted and
 * written once per event-loop turn (`setImmediate`), gzipped when the path ends in `.gz`. The
 * queue plus what the file stream still holds is bounded (`maxBufferedBytes`). When a slow disk
 * fills it, entries are dropped until it has drained to half, each one counted
 * (`alphaflow_dropped_total{source="recorder"}`), the first one logged as an error, and a `meta`
 * line saying how many entries were lost between which times is written into the recording when
 * writing resumes, so the file itself tells a replay it is incomplete. A write error (disk full)
 * is logged once; the entries after it are counted as failed and `close()` reports it.
 *
 * **Plugging a live source in** (as binance-live, kraken-live and coinbase-live do):
 *
 * 1. Accept a `tap?: LiveTap` option. When the source is subscribed, call `tap.start` once with its
 *    registry kind, venue, the start time (`ctx.scheduler.now()`, read once and used for anything
 *    the source derives from its start time) and its parsed params (never secrets).
 * 2. Give every {@link ManagedConnection} a handler whose `wire` calls `tap.wire(name, venue, event)`
 *    and whose `live` calls `tap.wire(name, venue, { kind: 'live', epoch, phase, ts })` before doing
 *    its own work; send every REST answer to `tap.rest(requester, venue, answer)`. Stop calling the
 *    tap once the subscription is torn down.
 * 3. Wrap the registry definition with {@link recordableSource}: `alphaflow record` then swaps in
 *    the tapped version through {@link recordingRegistry}; the kind's name is never special-cased.
 * 4. For replay through the same post-parse logic, split the source into a core fed by a
 *    {@link LiveEnvironment} (see binanceLive.ts) and export a {@link LiveReplayer}; add it to the
 *    replayers of replayFile.ts.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Logger } from 'pino';
import { defer, finalize, tap as peek, type Observable } from 'rxjs';
import type { z } from 'zod';
import type { NodeContext } from '../../context.js';
import type { Definition, Registry, SourceDefinition } from '../../definitions.js';
import { quote } from '../../errors.js';
import { METRIC, type BoundCounter, type Metrics } from '../../metrics.js';
import { isControl, type ControlEvent, type MarketEvent } from '../../model/index.js';
import { formatRecordingLine, recordingHeader, type RecordingEntry } from '../replay/recording.js';
import type { ConnectionHandler, ConnectionPhase, ConnectionProtocol, WireEvent } from './connection.js';

/** A connection went live (its subscriptions acknowledged) or, in a renewal, took over. */
export interface LiveMarkerEvent {
  readonly kind: 'live';
  readonly epoch: number;
  readonly phase: ConnectionPhase;
  readonly ts: number;
}

/** What a live source reports about one of its connections. */
export type TapEvent = WireEvent | LiveMarkerEvent;

/** One REST answer as a recorder needs it (a `BinanceRestResponse` is one). */
export interface LiveRestAnswer {
  /** The request URL, without user info or secret parameters. */
  readonly url: string;
  readonly status: number;
  /** Headers replay needs (`date`, `retry-after`, rate-limit headers), names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Receive time, epoch ms from the pipeline scheduler. */
  readonly tsRecv: number;
}

/** A live source was subscribed. */
export interface LiveSourceStart {
  /** Its registry kind (`binance-live`): replay rebuilds it with the replayer of that kind. */
  readonly use: string;
  readonly venue: string;
  /** When it started (the one `now()` it derives its start-relative values from). */
  readonly ts: number;
  /** Its parsed params (no secrets: they are written to the file). */
  readonly params: unknown;
}

/** What a live source hands a recorder besides its data: its start, every wire event and REST answer. */
export interface LiveTap {
  start(event: LiveSourceStart): void;
  wire(connection: string, venue: string, event: TapEvent): void;
  rest(requester: string, venue: string, answer: LiveRestAnswer): void;
}

export interface RecorderOptions {
  /** The recording; gzipped when it ends in `.gz`. Parent folders are created. */
  readonly path: string;
  /** Epoch ms for the header line (the pipeline scheduler's `now`). */
  readonly clock: () => number;
  readonly logger: Logger;
  /** Free-form details for the header (`pipeline`, `config`, ...). */
  readonly info?: Readonly<Record<string, unknown>>;
  /** Bytes queued in memory and in the file stream at most (default 64 MiB); beyond it entries are dropped and counted. */
  readonly maxBufferedBytes?: number;
  /** Counts dropped entries as `alphaflow_dropped_total{source="recorder"}` too. */
  readonly metrics?: Metrics;
  /** Replace an existing file (default false: refuse, so a recording is never overwritten by mistake). */
  readonly overwrite?: boolean;
}

export interface RecorderStats {
  readonly path: string;
  readonly gzip: boolean;
  /** Lines written, the header and loss notes included. */
  readonly lines: number;
  /** Bytes written before compression. */
  readonly bytes: number;
  /** Entries dropped because the buffer was full. */
  readonly dropped: number;
  /** Entries not written because the file had failed (what its buffer held at the error may be lost too). */
  readonly failed: number;
  /** Entries that arrived after `close()` (a source that kept tapping after it was torn down). */
  readonly late: number;
  /** The write error, when the file failed. */
  readonly error: string | undefined;
}

/** The recording file cannot be created or opened. */
export class RecordingFileError extends Error {
  override readonly name = 'RecordingFileError';
  readonly path: string;

  constructor(path: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.path = path;
  }
}

const DEFAULT_MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
/** Bytes of a line besides its frame or body: the fixed fields. */
const LINE_OVERHEAD = 128;

/** Writes one recording; see the module doc. Create with {@link Recorder.open}. */
export class Recorder {
  readonly path: string;
  readonly gzip: boolean;
  readonly #head: Writable;
  readonly #done: Promise<void>;
  readonly #logger: Logger;
  readonly #maxBytes: number;
  readonly #dropped: BoundCounter | undefined;
  #queue: RecordingEntry[] = [];
  #queueBytes = 0;
  #flushTimer: NodeJS.Immediate | undefined;
  /** While dropping: since when, and how many. */
  #overflow: { from: number; to: number; count: number } | undefined;
  #error: Error | undefined;
  #closing: Promise<RecorderStats> | undefined;
  #lines = 0;
  #bytes = 0;
  #droppedCount = 0;
  #failed = 0;
  #late = 0;

  private constructor(path: string, file: WriteStream, options: RecorderOptions) {
    this.path = path;
    this.gzip = path.endsWith('.gz');
    this.#logger = options.logger;
    this.#maxBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.#dropped = options.metrics?.counter(METRIC.dropped, 'Records a source dropped, by source and reason').bind({ source: 'recorder', reason: 'recorder buffer full' });
    if (this.gzip) {
      const gzip = createGzip();
      this.#head = gzip;
      this.#done = pipeline(gzip, file);
    } else {
      this.#head = file;
      this.#done = finished(file);
    }
    this.#done.catch((err: unknown) => {
      this.#fail(err);
    });
    this.#enqueue(recordingHeader(options.clock(), options.info), LINE_OVERHEAD);
  }

  /** Creates (never overwrites, unless told to) and opens the file; rejects with a {@link RecordingFileError} naming it. */
  static async open(options: RecorderOptions): Promise<Recorder> {
    const path = resolve(options.path);
    const max = options.maxBufferedBytes;
    if (max !== undefined && !(Number.isSafeInteger(max) && max > 0)) throw new RangeError(`Recorder maxBufferedBytes ${quote(max)} must be a positive integer`);
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      throw new RecordingFileError(path, `Cannot create the folder of the recording ${quote(path)}: ${(err as Error).message}`, { cause: err });
    }
    const file = createWriteStream(path, { flags: options.overwrite === true ? 'w' : 'wx' });
    try {
      await new Promise<void>((resolveOpen, rejectOpen) => {
        file.once('open', () => {
          file.off('error', rejectOpen);
          resolveOpen();
        });
        file.once('error', rejectOpen);
      });
    } catch (err) {
      file.destroy();
      const code = (err as { code?: unknown }).code;
      const why =
        code === 'EEXIST'
          ? 'it already exists (choose another file or delete it; a recording is never overwritten)'
          : code === 'EACCES'
            ? 'permission denied'
            : (err as Error).message;
      throw new RecordingFileError(path, `Cannot record to ${quote(path)}: ${why}`, { cause: err });
    }
    return new Recorder(path, file, options);
  }

  /** A tap for the source `source` (its node id): connection ids become `<source>:<connection>`. */
  tap(source: string): LiveTap {
    return {
      start: (event) => {
        this.write({ kind: 'start', time: event.ts, feed: event.venue, conn: source, epoch: 0, use: event.use, params: jsonOf(event.params) });
      },
      wire: (connection, venue, event) => {
        this.write(wireEntry(`${source}:${connection}`, venue, event));
      },
      rest: (requester, venue, answer) => {
        this.write({
          kind: 'rest',
          time: answer.tsRecv,
          feed: venue,
          conn: `${source}:${requester}`,
          epoch: 0,
          url: answer.url,
          status: answer.status,
          headers: answer.headers,
          body: answer.body,
        });
      },
    };
  }

  /** Queues one entry; never blocks and never throws. */
  write(entry: RecordingEntry): void {
    if (this.#closing !== undefined) {
      this.#late++;
      if (this.#late === 1) this.#logger.warn({ path: this.path, entry: entry.kind }, 'recorder: an entry arrived after the recording was closed; it is not in the file (counted as late)');
      return;
    }
    if (this.#error !== undefined) {
      this.#failed++;
      return;
    }
    const size = sizeOf(entry);
    const buffered = this.#queueBytes + this.#head.writableLength + size;
    if (this.#overflow !== undefined) {
      if (buffered > this.#maxBytes / 2) {
        this.#drop(entry);
        return;
      }
      this.#endOverflow();
    } else if (buffered > this.#maxBytes) {
      this.#overflow = { from: entry.time, to: entry.time, count: 0 };
      this.#logger.error(
        { path: this.path, maxBufferedBytes: this.#maxBytes },
        `recorder: the disk is not keeping up and ${this.#maxBytes} bytes are waiting to be written: dropping entries until half of it is written; the recording will say what is missing`,
      );
      this.#drop(entry);
      return;
    }
    this.#enqueue(entry, size);
  }

  get stats(): RecorderStats {
    return {
      path: this.path,
      gzip: this.gzip,
      lines: this.#lines,
      bytes: this.#bytes,
      dropped: this.#droppedCount,
      failed: this.#failed,
      late: this.#late,
      error: this.#error?.message,
    };
  }

  /**
   * Writes what is queued, finishes the gzip stream and closes the file. Resolves with the final
   * counts (a write error is in `error`, never a rejection). Entries after this are counted as late.
   */
  close(): Promise<RecorderStats> {
    this.#closing ??= (async () => {
      if (this.#flushTimer !== undefined) clearImmediate(this.#flushTimer);
      this.#flushTimer = undefined;
      if (this.#overflow !== undefined) this.#endOverflow();
      this.#flush();
      if (this.#error === undefined) this.#head.end();
      try {
        await this.#done;
      } catch (err) {
        this.#fail(err);
      }
      const stats = this.stats;
      const lost = stats.dropped + stats.failed;
      if (stats.error !== undefined) {
        this.#logger.error({ recording: stats }, `recording ${this.path} is incomplete: writing failed (${stats.error}); ${lost} entries after that, and what was still buffered then, are not in it`);
      } else if (lost > 0) this.#logger.error({ recording: stats }, `recording ${this.path} is incomplete: ${lost} entries are not in it`);
      else this.#logger.info({ recording: stats }, `recording ${this.path} closed`);
      return stats;
    })();
    return this.#closing;
  }

  #enqueue(entry: RecordingEntry, size: number): void {
    this.#queue.push(entry);
    this.#queueBytes += size;
    this.#flushTimer ??= setImmediate(() => {
      this.#flushTimer = undefined;
      this.#flush();
    });
  }

  #drop(entry: RecordingEntry): void {
    const overflow = this.#overflow;
    if (overflow !== undefined) {
      overflow.count++;
      overflow.to = entry.time;
    }
    this.#droppedCount++;
    this.#dropped?.inc();
  }

  /** Writing resumes: a `meta` line records the loss, so replay knows the file is incomplete there. */
  #endOverflow(): void {
    const overflow = this.#overflow;
    if (overflow === undefined) return;
    this.#overflow = undefined;
    this.#logger.warn({ path: this.path, lost: overflow.count, from: overflow.from, to: overflow.to }, `recorder: writing again after dropping ${overflow.count} entries`);
    this.#enqueue(recordingHeader(overflow.to, { lost: overflow.count, from: overflow.from, to: overflow.to, reason: 'recorder buffer full' }), LINE_OVERHEAD);
  }

  #flush(): void {
    const entries = this.#queue;
    if (entries.length === 0) return;
    this.#queue = [];
    this.#queueBytes = 0;
    if (this.#error !== undefined) {
      this.#failed += entries.length;
      return;
    }
    let chunk = '';
    for (const entry of entries) {
      try {
        chunk += `${formatRecordingLine(entry)}\n`;
        this.#lines++;
      } catch (err) {
        // A broken invariant of the caller (a fractional time): say which entry, keep the rest.
        this.#failed++;
        this.#logger.error({ err, entry: entry.kind, time: entry.time }, 'recorder: an entry could not be formatted and is not in the file');
      }
    }
    if (chunk === '') return;
    this.#bytes += Buffer.byteLength(chunk);
    this.#head.write(chunk);
  }

  #fail(err: unknown): void {
    if (this.#error !== undefined) return;
    this.#error = err instanceof Error ? err : new Error(String(err));
    this.#logger.error({ err: this.#error, path: this.path }, `recorder: writing ${this.path} failed: entries from now on are lost (counted)`);
  }
}

/** JSON text of params; `null` for what JSON cannot hold (a function, undefined). */
function jsonOf(value: unknown): string {
  const text = JSON.stringify(value) as string | undefined;
  return text ?? 'null';
}

function wireEntry(conn: string, feed: string, event: TapEvent): RecordingEntry {
  const base = { time: event.ts, feed, conn, epoch: event.epoch };
  switch (event.kind) {
    case 'recv':
    case 'send':
      return { kind: event.kind, ...base, frame: event.data };
    case 'open':
      return { kind: 'open', ...base, url: event.url };
    case 'close':
      return { kind: 'close', ...base, code: event.code, reason: event.reason };
    case 'live':
      return { kind: 'live', ...base, phase: event.phase };
  }
}

function sizeOf(entry: RecordingEntry): number {
  switch (entry.kind) {
    case 'recv':
    case 'send':
      return entry.frame.length + LINE_OVERHEAD;
    case 'rest':
      return entry.body.length + entry.url.length + LINE_OVERHEAD * 2;
    case 'start':
      return entry.params.length + LINE_OVERHEAD;
    default:
      return LINE_OVERHEAD;
  }
}

/** A market record or a control event: what live sources emit. */
export type LiveRecord = MarketEvent | ControlEvent;

/**
 * The hash that says a replay reproduced live: SHA-256 over the market records in emission order,
 * each as `JSON.stringify(record) + "\n"`. Control events (`gap`, `status`) are left out: their
 * timing and wording depend on sockets and timers that a replay does not have.
 */
export class MarketDigest {
  readonly #hash = createHash('sha256');
  #count = 0;

  add(record: LiveRecord): void {
    if (isControl(record)) return;
    this.#hash.update(`${JSON.stringify(record)}\n`);
    this.#count++;
  }

  /** Market records added. */
  get count(): number {
    return this.#count;
  }

  /** The hash so far, hex; adding more continues it. */
  hex(): string {
    return this.#hash.copy().digest('hex');
  }
}

/** A source definition that can also run with a recorder tap. */
export interface RecordableSource<S extends z.ZodType = z.ZodType, Out extends LiveRecord = LiveRecord> extends SourceDefinition<S, Out> {
  /**
   * The same source, whose subscriptions hand every wire event and REST answer to `tapFor(ctx)`
   * and log the {@link MarketDigest} of their market records when they end.
   */
  recording(tapFor: (ctx: NodeContext) => LiveTap): SourceDefinition<S, Out>;
}

/** How a recordable source is created with a tap. */
export interface TappedSource<S extends z.ZodType, Out extends LiveRecord> {
  create(params: z.output<S>, ctx: NodeContext, tap: LiveTap): Observable<Out>;
}

/** Makes `definition` recordable: `tapped.create` is its `create` with a tap. */
export function recordableSource<S extends z.ZodType, Out extends LiveRecord>(definition: SourceDefinition<S, Out>, tapped: TappedSource<S, Out>): RecordableSource<S, Out> {
  return {
    ...definition,
    recording(tapFor) {
      const recording: SourceDefinition<S, Out> = {
        ...definition,
        create(params, ctx) {
          return defer(() => {
            const digest = new MarketDigest();
            return tapped.create(params, ctx, tapFor(ctx)).pipe(
              peek((record) => {
                digest.add(record);
              }),
              finalize(() => {
                ctx.logger.info({ marketRecords: digest.count, marketSha256: digest.hex() }, 'recorded source stopped');
              }),
            );
          });
        },
      };
      return recording;
    },
  };
}

/** True for definitions made with {@link recordableSource}. */
export function isRecordable(definition: Definition): definition is RecordableSource {
  return definition.role === 'source' && typeof (definition as Partial<RecordableSource>).recording === 'function';
}

/** `registry` with every recordable source recording into `recorder`, under its node id. */
export function recordingRegistry(registry: Registry, recorder: Pick<Recorder, 'tap'>): Registry {
  const out = new Map<string, Definition>();
  for (const [kind, definition] of registry) {
    out.set(kind, isRecordable(definition) ? definition.recording((ctx) => recorder.tap(ctx.node === '' ? kind : ctx.node)) : definition);
  }
  return out;
}

/**
 * What a live source's core needs from around it. Live: the scheduler's clock, real timers, the
 * global `fetch`, and answers go to the tap. Replay: the recording's clock, timers that fire as
 * the replay passes their time, and `fetch` answered from the recorded `rest` lines.
 */
export interface LiveEnvironment {
  /** Epoch ms. */
  now(): number;
  /** Runs `run` after `ms`; returns a function that cancels it. */
  later(ms: number, run: () => void): () => void;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform [0, 1) for REST retry jitter. */
  readonly random?: () => number;
  /** Every REST answer the core received, in order. */
  answered(requester: string, answer: LiveRestAnswer): void;
}

/** What a core does on the frames and events of its connections. */
export type LiveConnectionHandler = Omit<ConnectionHandler, 'wire'>;

/** One connection a core wants, with the handler of what arrives on it. */
export interface LiveConnectionPlan {
  /** Unique within the source, e.g. `binance#0`; the recording's connection id after `<source>:`. */
  readonly name: string;
  readonly protocol: ConnectionProtocol;
  readonly streams: readonly string[];
  readonly handler: LiveConnectionHandler;
}

/** A live source without its sockets: the logic after them, which live and replay share. */
export interface LiveCore {
  readonly venue: string;
  readonly connections: readonly LiveConnectionPlan[];
  /** Aborts REST calls and timers; emits nothing afterwards. */
  close(): void;
}

/** Rebuilds the core of a recorded live source for replay (see replayFile.ts). */
export interface LiveReplayer {
  /** The registry kind it replays, as recorded in `start` lines. */
  readonly use: string;
  /** Parses the recorded params (throwing on bad ones) and builds the core. */
  core(params: unknown, ctx: NodeContext, env: LiveEnvironment, emit: (record: LiveRecord) => void, startedAt: number): LiveCore;
}
