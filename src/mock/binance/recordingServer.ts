/**
 * A local Binance-compatible server that replays a recording (docs/recording-format.md) instead
 * of simulating a market: what `alphaflow mock-exchange --recording <file>` serves.
 *
 * ```ts
 * const mock = await startRecordingMock({ path: 'day.ndjson.gz', speed: 'max' });
 * const ws = new WebSocket(`${mock.spotWsUrl}/ws`);
 * ws.send('{"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":1}'); // {"result":null,"id":1}, then the frames
 * await fetch(`${mock.spotRestUrl}/api/v3/depth?symbol=BTCUSDT&limit=1000`); // the recorded answer
 * await mock.close();
 * ```
 *
 * Spot serves the recording's `binance` entries; USD-M is served only when it has `binance-usdm`
 * entries. Each WebSocket connection gets its own replay of the venue's recorded data frames
 * (`recv` frames naming their stream, or raw frames of a `/ws/<stream>` connection, wrapped in
 * the combined `{"stream":..,"data":..}` form), filtered by its subscriptions, in recorded order,
 * paced by the recorded receive times divided by `speed`, from its first subscription on. Replies
 * and acks in the recording are skipped: the server answers control messages itself. At the end
 * of the recording connections stay open and idle. REST `GET`s get the first unanswered recorded
 * answer for the same path and query, else a 404.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { SourceDataError, quote } from '../../errors.js';
import { readRecording } from '../../sources/replay/recording.js';

/** Recorded time is divided by a number (1: as recorded); `'max'` (or 0): as fast as clients read. */
export type ReplaySpeed = number | 'max';

export interface RecordingMockOptions {
  /** The recording, plain or gzipped. */
  readonly path: string;
  /** Default 1. */
  readonly speed?: ReplaySpeed;
  /** Default 0: any free port. */
  readonly spotPort?: number;
  /** Default 0: any free port. */
  readonly usdmPort?: number;
  /** Where the end of the recording and skipped lines are reported; silent when omitted. */
  readonly logger?: Logger;
}

export interface RecordingMock {
  /** `ws://127.0.0.1:<port>`: append `/ws` or `/stream`. */
  readonly spotWsUrl: string;
  /** `http://127.0.0.1:<port>` (the same server as the WebSocket). */
  readonly spotRestUrl: string;
  /** Only when the recording has `binance-usdm` entries; append `/public/stream`, `/market/stream`, `/ws` or `/stream`. */
  readonly usdmWsUrl?: string;
  readonly usdmRestUrl?: string;
  /** Data frames sent so far, every connection and market together. */
  framesSent(): number;
  /** Terminates every connection, stops every timer and closes the servers. */
  close(): Promise<void>;
}

type Feed = 'binance' | 'binance-usdm';
type Market = 'spot' | 'usdm';

interface DataFrame {
  readonly time: number;
  readonly stream: string;
  /** The frame in combined form, ready to send. */
  readonly text: string;
}

interface RestAnswer {
  /** Path and query, as a client requests them. */
  readonly target: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  answered: boolean;
}

interface FeedData {
  readonly frames: DataFrame[];
  readonly rest: RestAnswer[];
}

/** Frames sent per pump turn before waiting for the socket to take them (backpressure). */
const BATCH_FRAMES = 256;
/** Frames looked at per pump turn, sent or skipped, so a long unsubscribed stretch does not block the loop. */
const BATCH_SCAN = 10_000;
const WS_PATHS: Readonly<Record<Market, ReadonlySet<string>>> = {
  spot: new Set(['/ws', '/stream']),
  usdm: new Set(['/ws', '/stream', '/public/ws', '/public/stream', '/market/ws', '/market/stream']),
};
/** Headers that describe the recorded transfer, not the answer: node sets its own. */
const TRANSFER_HEADERS: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'content-encoding', 'connection', 'keep-alive']);

/** Serves the recording at `path` on loopback until `close()`. */
export async function startRecordingMock(options: RecordingMockOptions): Promise<RecordingMock> {
  const speed = checkSpeed(options.speed ?? 1);
  const feeds = await loadRecording(options.path, options.logger);
  const usdmData = feeds.get('binance-usdm');
  if (feeds.size === 0) {
    throw new SourceDataError(options.path, 'the recording has no "binance" or "binance-usdm" entries: nothing to serve');
  }
  let sent = 0;
  const shared: Shared = { speed, logger: options.logger, countFrame: () => sent++ };
  const spot = new MarketServer('spot', feeds.get('binance') ?? { frames: [], rest: [] }, shared);
  const usdm = usdmData === undefined ? undefined : new MarketServer('usdm', usdmData, shared);
  const servers = usdm === undefined ? [spot] : [spot, usdm];
  let spotPort: number;
  let usdmPort: number | undefined;
  try {
    spotPort = await spot.listen(options.spotPort ?? 0);
    usdmPort = await usdm?.listen(options.usdmPort ?? 0);
  } catch (err) {
    await Promise.all(servers.map((server) => server.close()));
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    spotWsUrl: `ws://127.0.0.1:${spotPort}`,
    spotRestUrl: `http://127.0.0.1:${spotPort}`,
    ...(usdmPort === undefined ? {} : { usdmWsUrl: `ws://127.0.0.1:${usdmPort}`, usdmRestUrl: `http://127.0.0.1:${usdmPort}` }),
    framesSent: () => sent,
    close() {
      closing ??= Promise.all(servers.map((server) => server.close())).then(() => undefined);
      return closing;
    },
  };
}

/** `'max'` or 0 become `Infinity` (no pacing); anything but a finite number >= 0 throws, naming it. */
function checkSpeed(speed: ReplaySpeed): number {
  if (speed === 'max' || speed === 0) return Number.POSITIVE_INFINITY;
  if (typeof speed !== 'number' || !Number.isFinite(speed) || speed < 0) {
    throw new RangeError(`Replay speed ${quote(speed)} must be a positive number, 0 or "max" (as fast as clients read)`);
  }
  return speed;
}

function isFeed(feed: string): feed is Feed {
  return feed === 'binance' || feed === 'binance-usdm';
}

/** Reads the whole recording: the data frames and REST answers of each Binance feed it has. */
async function loadRecording(path: string, logger: Logger | undefined): Promise<Map<Feed, FeedData>> {
  const feeds = new Map<Feed, FeedData>();
  // The stream of each connection opened on `/ws/<stream>`, whose frames do not name it.
  const rawStreams = new Map<string, string>();
  let invalid = 0;
  for await (const batch of readRecording(path)) {
    for (const entry of batch) {
      if (entry.kind === 'invalid') {
        if (invalid++ === 0) logger?.warn({ file: `${path}:${entry.line}`, reason: entry.reason }, 'recording line skipped');
        continue;
      }
      if (entry.kind === 'meta' || !isFeed(entry.feed)) continue;
      let data = feeds.get(entry.feed);
      if (data === undefined) {
        data = { frames: [], rest: [] };
        feeds.set(entry.feed, data);
      }
      if (entry.kind === 'open') {
        const stream = rawStreamOf(entry.url);
        if (stream === undefined) rawStreams.delete(entry.conn);
        else rawStreams.set(entry.conn, stream);
      } else if (entry.kind === 'recv') {
        const frame = dataFrame(entry.frame, entry.stream ?? rawStreams.get(entry.conn));
        if (frame !== undefined) data.frames.push({ time: entry.time, ...frame });
      } else if (entry.kind === 'rest') {
        const target = requestTarget(entry.url);
        if (target !== undefined) data.rest.push({ target, status: entry.status, headers: entry.headers ?? {}, body: entry.body, answered: false });
      }
    }
  }
  if (invalid > 1) logger?.warn({ file: path, lines: invalid }, 'recording lines skipped');
  return feeds;
}

function rawStreamOf(url: string): string | undefined {
  const match = /\/ws\/([^/?]+)$/.exec(safeUrl(url)?.pathname ?? '');
  return match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
}

function requestTarget(url: string): string | undefined {
  const parsed = safeUrl(url);
  return parsed === undefined ? undefined : `${parsed.pathname}${parsed.search}`;
}

function safeUrl(url: string): URL | undefined {
  try {
    return new URL(url, 'http://mock');
  } catch {
    return undefined;
  }
}

const COMBINED = '{"stream":"';
const REPLY = /^\s*\{\s*"(?:result|error|id)"/;

/** A recorded frame as a combined-form data frame, or undefined for a reply, an ack or non-JSON text. */
function dataFrame(text: string, rawStream: string | undefined): { stream: string; text: string } | undefined {
  if (text.startsWith(COMBINED)) {
    const end = text.indexOf('"', COMBINED.length);
    return end < 0 ? undefined : { stream: text.slice(COMBINED.length, end), text };
  }
  if (rawStream === undefined || REPLY.test(text)) return undefined;
  try {
    JSON.parse(text);
  } catch {
    return undefined;
  }
  return { stream: rawStream, text: `{"stream":${JSON.stringify(rawStream)},"data":${text}}` };
}

interface Shared {
  /** Infinity: no pacing. */
  readonly speed: number;
  readonly logger: Logger | undefined;
  countFrame(): void;
}

/** One market: an HTTP server answering REST and upgrading WebSocket connections. */
class MarketServer {
  readonly #market: Market;
  readonly #data: FeedData;
  readonly #shared: Shared;
  readonly #server: Server;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #clients = new Set<ReplayClient>();
  #endLogged = false;

  constructor(market: Market, data: FeedData, shared: Shared) {
    this.#market = market;
    this.#data = data;
    this.#shared = shared;
    this.#server = createServer((req, res) => { this.#onRequest(req, res); });
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => { this.#onUpgrade(req, socket, head); });
  }

  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve((this.#server.address() as AddressInfo).port);
      });
    });
  }

  async close(): Promise<void> {
    for (const client of this.#clients) client.stop();
    this.#clients.clear();
    this.#wss.close();
    this.#server.closeAllConnections();
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => this.#server.close(() => { resolve(); }));
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = safeUrl(req.url ?? '/') ?? new URL('http://mock/');
    const target = `${url.pathname}${url.search}`;
    const json = { 'content-type': 'application/json;charset=UTF-8' };
    if (req.method !== 'GET') {
      res.writeHead(405, json).end(JSON.stringify({ code: -1000, msg: `Method ${quote(req.method)} is not allowed on ${quote(url.pathname)}: the recording mock answers GET only` }));
      return;
    }
    const answer = this.#data.rest.find((candidate) => !candidate.answered && candidate.target === target);
    if (answer === undefined) {
      const msg = `No recorded ${this.#market} answer for GET ${quote(target)} (path ${quote(url.pathname)}): each recorded answer is served once, for the same path and query`;
      res.writeHead(404, json).end(JSON.stringify({ code: -1121, msg }));
      return;
    }
    answer.answered = true;
    const headers: Record<string, string> = { ...json };
    for (const [name, value] of Object.entries(answer.headers)) if (!TRANSFER_HEADERS.has(name)) headers[name] = value;
    res.writeHead(answer.status, headers).end(answer.body);
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = safeUrl(req.url ?? '/');
    if (url === undefined || !WS_PATHS[this.#market].has(url.pathname)) {
      const body = JSON.stringify({
        code: -1121,
        msg: `No WebSocket endpoint at ${quote(url?.pathname ?? req.url)} on the recording mock (${this.#market}). Available: ${[...WS_PATHS[this.#market]].join(', ')}`,
      });
      socket.on('error', () => socket.destroy());
      socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const client = new ReplayClient(ws, this.#data.frames, this.#shared, () => { this.#onEnd(); });
      this.#clients.add(client);
      ws.on('close', () => {
        client.stop();
        this.#clients.delete(client);
      });
      const streams = url.pathname.endsWith('/stream') ? (url.searchParams.get('streams') ?? '') : '';
      if (streams !== '') client.subscribe(streams.split('/'));
    });
  }

  #onEnd(): void {
    if (this.#endLogged) return;
    this.#endLogged = true;
    this.#shared.logger?.info({ market: this.#market, frames: this.#data.frames.length }, 'recording ended: connections stay open and idle');
  }
}

/** One WebSocket connection: its subscriptions and its own cursor into the recorded frames. */
class ReplayClient {
  readonly #ws: WebSocket;
  readonly #frames: readonly DataFrame[];
  readonly #shared: Shared;
  readonly #onEnd: () => void;
  /** In subscription order, as LIST_SUBSCRIPTIONS returns them. */
  readonly #subscriptions = new Set<string>();
  #cursor = 0;
  #startedAt: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #stopped = false;

  constructor(ws: WebSocket, frames: readonly DataFrame[], shared: Shared, onEnd: () => void) {
    this.#ws = ws;
    this.#frames = frames;
    this.#shared = shared;
    this.#onEnd = onEnd;
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => { this.#onControl(data, isBinary); });
    ws.on('error', () => { ws.terminate(); });
  }

  subscribe(streams: readonly string[]): void {
    for (const stream of streams) this.#subscriptions.add(stream);
    if (this.#startedAt !== undefined || this.#subscriptions.size === 0) return;
    this.#startedAt = performance.now();
    this.#pump();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    this.#ws.terminate();
  }

  /** Sends the frames that are due, then waits for the next one's time or for the socket to drain. */
  #pump(): void {
    this.#timer = undefined;
    this.#immediate = undefined;
    if (this.#stopped || this.#ws.readyState !== WebSocket.OPEN || this.#startedAt === undefined) return;
    const { speed } = this.#shared;
    const base = this.#frames[0]?.time ?? 0;
    let sent = 0;
    for (let scanned = 0; this.#cursor < this.#frames.length; scanned++) {
      if (scanned === BATCH_SCAN) {
        this.#immediate = setImmediate(() => { this.#pump(); });
        return;
      }
      const frame = this.#frames[this.#cursor] as DataFrame;
      if (!this.#subscriptions.has(frame.stream)) {
        this.#cursor++;
        continue;
      }
      if (speed !== Number.POSITIVE_INFINITY) {
        const wait = this.#startedAt + (frame.time - base) / speed - performance.now();
        if (wait > 0) {
          this.#timer = setTimeout(() => { this.#pump(); }, wait);
          return;
        }
      }
      this.#cursor++;
      this.#shared.countFrame();
      if (++sent === BATCH_FRAMES) {
        // Go on once the socket has taken this batch: the slowest reader sets the pace.
        this.#ws.send(frame.text, () => { this.#pump(); });
        return;
      }
      this.#ws.send(frame.text);
    }
    this.#onEnd();
  }

  #onControl(data: WebSocket.RawData, isBinary: boolean): void {
    const send = (text: string): void => {
      if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(text);
    };
    const error = (code: number, msg: string, id: unknown): void => { send(`{"error":${JSON.stringify({ code, msg })},"id":${JSON.stringify(id)}}`); };
    if (isBinary) {
      error(3, 'Invalid JSON: control messages must be text frames', null);
      return;
    }
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch (err) {
      error(3, `Invalid JSON: ${err instanceof Error ? err.message : String(err)}`, null);
      return;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      error(2, `Invalid request: expected a JSON object, got ${quote(message)}`, null);
      return;
    }
    const { method, params, id = null } = message as { method?: unknown; params?: unknown; id?: unknown };
    if (!(id === null || Number.isSafeInteger(id) || typeof id === 'string')) {
      error(2, `Invalid request: request id ${quote(id)} must be an integer, a string or null`, null);
      return;
    }
    const reply = (result: unknown): void => { send(`{"result":${JSON.stringify(result)},"id":${JSON.stringify(id)}}`); };
    if (method === 'LIST_SUBSCRIPTIONS') {
      reply([...this.#subscriptions]);
      return;
    }
    if (method !== 'SUBSCRIBE' && method !== 'UNSUBSCRIBE') {
      error(2, `Invalid request: unknown method ${quote(method)}; the recording mock answers SUBSCRIBE, UNSUBSCRIBE and LIST_SUBSCRIPTIONS`, id);
      return;
    }
    if (!Array.isArray(params) || !params.every((param): param is string => typeof param === 'string' && param !== '')) {
      error(2, `Invalid request: "params" of ${method} must be an array of stream names, got ${quote(params)}`, id);
      return;
    }
    if (method === 'UNSUBSCRIBE') {
      for (const stream of params) this.#subscriptions.delete(stream);
      reply(null);
      return;
    }
    // The ack goes out before the first frame, as on Binance.
    reply(null);
    this.subscribe(params);
  }
}
