/**
 * The servers the live benchmarks (B8, B9, B10) read from, each in a process of its own, so the
 * sending never shares a thread with the side being timed:
 *
 *   tsx bench/mockServer.ts binance '<MockBinanceOptions as JSON>'
 *   tsx bench/mockServer.ts synthetic
 *
 * Once listening it prints its URLs as one JSON line on stdout (`binance`: the four URLs of
 * `startMockBinance`; `synthetic`: `{ "wsUrl": ... }`), and it closes when stdin ends or on
 * SIGTERM/SIGINT. Anything else it prints on stdout is one JSON line too.
 *
 * `binance` is the project's mock exchange (src/mock/binance), used by B8 in `firehose` mode with
 * prerendered frames.
 *
 * `synthetic` is a small server of its own, for what the mock cannot do: it sends Binance
 * combined-stream aggTrade frames made on the fly, paced at a fixed rate with the send time in
 * each frame (B9), or as fast as the client reads for as long as wanted (B10). Every connection
 * is one session, set by its path:
 *
 *   ws://127.0.0.1:<port>/<session>/<count>/<rate>/<gapMs>/stream[?streams=btcusdt@aggTrade]
 *
 * `count` frames are sent, with aggregate ids from {@link FIRST_ID} up. `rate` > 0 paces them at
 * `rate` frames a second (sent on a 1 ms timer: each tick sends the frames due by then), each
 * stamped just before it is sent with the sender's monotonic clock (`process.hrtime`, which is
 * CLOCK_MONOTONIC, the same clock in every process of the machine) as an integer of nanoseconds
 * in an extra field `x_t` that the parser does not read; after the last frame the session prints
 * `{"report": session, "firstId", "count", "sendNs": base64 of a Float64Array}` on stdout.
 * `rate` 0 sends as fast as the socket drains (frames are written while `bufferedAmount` is under
 * 1 MiB, then the sender waits for the write callback). `gapMs` 0 gives each trade the wall-clock
 * time of its sending; `gapMs` > 0 gives trade i the time `start + i * gapMs`, `start` chosen so
 * the last trade is no later than now (a history being replayed: candles close every
 * 60 000 / gapMs trades). Sending starts when the client subscribes: on connection when the URL
 * carries `streams=`, else on its SUBSCRIBE request, which is answered as Binance does. Prices
 * and quantities come from a seeded generator (mulberry32, seed 42): a random walk in cent ticks
 * and log-uniform quantities.
 *
 * {@link spawnMockServer} starts this file as a child process and reads what it prints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { startMockBinance, type MockBinanceOptions } from '../src/mock/binance/index.js';

/** The aggregate id of a synthetic session's first trade. */
export const FIRST_ID = 1_000_000_000;
/** Above this many bytes queued on the socket, an unpaced session waits for the socket. */
const HIGH_WATER_BYTES = 1024 * 1024;
/** An unpaced session yields to the event loop after this many frames (closes and pings get through). */
const YIELD_FRAMES = 8192;
/** Sessions with more frames than this keep no send times (B10 runs tens of millions). */
const MAX_REPORTED = 2_000_000;
/** Earliest trade time a synthetic session may use: the parser drops events before 2017. */
const EARLIEST = Date.UTC(2017, 6, 1);

/** What a paced session reports once its last frame is sent. */
export interface SendReport {
  readonly report: string;
  readonly firstId: number;
  readonly count: number;
  /** Base64 of a Float64Array: the send time of each frame, ns of the monotonic clock. */
  readonly sendNs: string;
}

/** A seeded generator (mulberry32), uniform in [0, 1). */
function seeded(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface SessionSpec {
  readonly session: string;
  readonly count: number;
  readonly rate: number;
  readonly gapMs: number;
  readonly subscribed: boolean;
}

function sessionOf(request: IncomingMessage): SessionSpec | string {
  const url = new URL(request.url ?? '/', 'ws://localhost');
  const match = /^\/([A-Za-z0-9_-]+)\/([0-9]+)\/([0-9.]+)\/([0-9.]+)\/stream$/.exec(url.pathname);
  if (match === null) return `bad path ${JSON.stringify(url.pathname)}: expected /<session>/<count>/<rate>/<gapMs>/stream`;
  const [, session, count, rate, gapMs] = match as unknown as [string, string, string, string, string];
  return { session, count: Number(count), rate: Number(rate), gapMs: Number(gapMs), subscribed: url.searchParams.has('streams') };
}

/** One connection's frames: made on demand, so a session of any length costs no memory. */
export class TradeFrames {
  readonly #random = seeded(42);
  readonly #gapMs: number;
  readonly #start: number;
  #cents = 4_300_000;
  #tradeId = 3_000_000_000;

  constructor(count: number, gapMs: number) {
    this.#gapMs = gapMs;
    this.#start = gapMs > 0 ? Math.max(EARLIEST, Date.now() - Math.ceil(count * gapMs) - 1000) : 0;
  }

  /** Frame `i`; `sentNs` (paced sessions) becomes the `x_t` field. */
  frame(i: number, sentNs: number | undefined): string {
    const random = this.#random;
    this.#cents = Math.max(100, this.#cents + Math.round((random() - 0.5) * 8));
    const qty = 10 ** (-5 + 5 * random());
    const first = this.#tradeId + 1;
    this.#tradeId += 1 + Math.floor(random() * 3);
    const time = this.#gapMs > 0 ? this.#start + Math.floor(i * this.#gapMs) : Date.now();
    const stamp = sentNs === undefined ? '' : `,"x_t":${sentNs}`;
    return `{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":${time},"s":"BTCUSDT","a":${FIRST_ID + i},"p":"${(this.#cents / 100).toFixed(8)}","q":"${qty.toFixed(8)}","f":${first},"l":${this.#tradeId},"T":${time},"m":${random() < 0.5},"M":true${stamp}}}`;
  }
}

/** The monotonic clock in ns (CLOCK_MONOTONIC: comparable between processes of one machine). */
export function monotonicNs(): number {
  return Number(process.hrtime.bigint());
}

/**
 * Sends one session's frames on `ws`. `socket` is its TCP socket: an unpaced session corks it
 * around each batch, so a batch leaves in a few large writes instead of a write per frame (a
 * paced one does not, so each frame leaves when it is stamped).
 */
function runSession(ws: WebSocket, socket: Duplex, spec: SessionSpec, print: (line: object) => void): void {
  const frames = new TradeFrames(spec.count, spec.gapMs);
  let sent = 0;
  let stopped = false;
  ws.on('close', () => {
    stopped = true;
  });
  if (spec.rate > 0) {
    const sendNs = spec.count <= MAX_REPORTED ? new Float64Array(spec.count) : undefined;
    const start = process.hrtime.bigint();
    const tick = (): void => {
      if (stopped) return;
      const elapsedNs = Number(process.hrtime.bigint() - start);
      const due = Math.min(spec.count, Math.floor((elapsedNs * spec.rate) / 1e9) + 1);
      while (sent < due) {
        const now = monotonicNs();
        if (!Number.isSafeInteger(now)) throw new RangeError(`the monotonic clock (${now} ns) does not fit a double exactly`);
        if (sendNs !== undefined) sendNs[sent] = now;
        ws.send(frames.frame(sent, now));
        sent++;
      }
      if (sent < spec.count) {
        setTimeout(tick, 1);
      } else if (sendNs !== undefined) {
        const report: SendReport = { report: spec.session, firstId: FIRST_ID, count: spec.count, sendNs: Buffer.from(sendNs.buffer, sendNs.byteOffset, sendNs.byteLength).toString('base64') };
        print(report);
      }
    };
    tick();
    return;
  }
  const resume = (): void => {
    setImmediate(pump);
  };
  const pump = (): void => {
    socket.cork();
    try {
      for (let batch = 0; !stopped && sent < spec.count; batch++) {
        const frame = frames.frame(sent, undefined);
        sent++;
        if (ws.bufferedAmount >= HIGH_WATER_BYTES) {
          ws.send(frame, resume);
          return;
        }
        ws.send(frame);
        if (batch >= YIELD_FRAMES) {
          setImmediate(pump);
          return;
        }
      }
    } finally {
      socket.uncork();
    }
  };
  pump();
}

/** The synthetic server: resolves with its root URL once listening. */
async function startSynthetic(print: (line: object) => void): Promise<{ wsUrl: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (request, socket, head) => {
    const spec = sessionOf(request);
    if (typeof spec === 'string') {
      socket.end(`HTTP/1.1 400 Bad Request\r\n\r\n${spec}`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      ws.on('error', () => {
        // The client went away: 'close' follows.
      });
      let started = false;
      const start = (): void => {
        if (started) return;
        started = true;
        runSession(ws, socket, spec, print);
      };
      ws.on('message', (data, isBinary) => {
        let request: { method?: unknown; id?: unknown };
        try {
          request = JSON.parse(isBinary || !Buffer.isBuffer(data) ? '' : data.toString('utf8')) as { method?: unknown; id?: unknown };
        } catch {
          ws.send('{"error":{"code":3,"msg":"Invalid JSON"},"id":null}');
          return;
        }
        ws.send(JSON.stringify({ result: null, id: request.id ?? null }));
        if (request.method === 'SUBSCRIBE') start();
      });
      if (spec.subscribed) start();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    wsUrl: `ws://127.0.0.1:${port}`,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}

async function main(): Promise<void> {
  const [mode, options] = process.argv.slice(2);
  const print = (line: object): void => {
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };
  let close: () => Promise<void>;
  if (mode === 'binance') {
    const mock = await startMockBinance(JSON.parse(options ?? '{}') as MockBinanceOptions);
    print({ spotWsUrl: mock.spotWsUrl, spotRestUrl: mock.spotRestUrl, usdmWsUrl: mock.usdmWsUrl, usdmRestUrl: mock.usdmRestUrl });
    close = () => mock.close();
  } else if (mode === 'synthetic') {
    const synthetic = await startSynthetic(print);
    print({ wsUrl: synthetic.wsUrl });
    close = () => synthetic.close();
  } else {
    throw new RangeError(`usage: tsx bench/mockServer.ts binance '<options JSON>' | synthetic (got ${JSON.stringify(mode)})`);
  }
  let closing = false;
  const stop = (): void => {
    if (closing) return;
    closing = true;
    void close().then(() => process.exit(0));
  };
  process.stdin.on('end', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** A server process started by {@link spawnMockServer}. */
export interface MockServerProcess {
  /** The first line it printed: its URLs. */
  readonly info: Record<string, string>;
  /** Resolves with the report of a paced session once it has printed it. */
  report(session: string): Promise<SendReport>;
  /** Ends its stdin and waits for it to exit. */
  close(): Promise<void>;
}

/**
 * Starts `tsx bench/mockServer.ts <args>` and resolves once it has printed its URLs. Its stderr
 * goes to ours; it exits when we close it or when our process ends (its stdin closes).
 */
export function spawnMockServer(args: readonly string[]): Promise<MockServerProcess> {
  const path = fileURLToPath(import.meta.url);
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const reports = new Map<string, SendReport>();
  const waiting = new Map<string, (report: SendReport) => void>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve(); }));
  return new Promise<MockServerProcess>((resolve, reject) => {
    let info: Record<string, string> | undefined;
    child.once('exit', (code, signal) => {
      if (info === undefined) reject(new Error(`bench/mockServer.ts ${args[0] ?? ''} exited before listening (code ${String(code)}, signal ${String(signal)})`));
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      const message = JSON.parse(line) as Record<string, unknown>;
      if (info === undefined) {
        info = message as Record<string, string>;
        resolve({
          info,
          report: (session) => {
            const known = reports.get(session);
            if (known !== undefined) return Promise.resolve(known);
            return new Promise<SendReport>((done) => waiting.set(session, done));
          },
          close: async () => {
            child.stdin?.end();
            await exited;
          },
        });
        return;
      }
      if (typeof message.report === 'string') {
        const report = message as unknown as SendReport;
        reports.set(report.report, report);
        waiting.get(report.report)?.(report);
        waiting.delete(report.report);
      }
    });
  });
}

if (process.argv[1]?.endsWith('mockServer.ts') === true) await main();
