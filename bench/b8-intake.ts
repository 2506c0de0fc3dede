/**
 * B8, WebSocket intake ceiling (PERFORMANCE.md §5): how many aggTrade frames a second the engine
 * takes from a loopback server that sends as fast as it is read, against a hand-written client.
 *
 *   tsx bench/b8-intake.ts [messages per run, default 500000] [--mock <spot WebSocket URL>]
 *
 * The server is the project's mock exchange (`startMockBinance`) in `firehose` mode with the
 * BTCUSDT aggTrade stream prerendered, in a process of its own (bench/mockServer.ts; started here
 * unless `--mock` names one already running, as `npm run bench` does to share one prerender
 * between processes). Every connection is sent the same prerendered frames from the first one:
 * the mock's clock only moves once a connection has been sent all of them, and each run here
 * closes its connection after `messages` frames, long before that ({@link b8PrerenderFrames}
 * leaves a margin for what the server sends ahead of the reader; a run that sees a later first id
 * than the others fails).
 * The symbol's `tradeRate` is raised to 100k trades/s so the frames' event times stay within
 * seconds of the wall clock: the parser drops events more than a day after their receive time.
 *
 * Sides, all reading the same combined stream (`/stream`, `{"stream":..,"data":..}` frames):
 * - `engine`: the `binance-live` source (spot, aggTrade, no REST backfill) -> `buildCandles` 1m
 *   -> `features` (PERFORMANCE.md's bundle: RSI14, MACD 12/26/9, SMA20, SMA50, BB 20/2, ATR14)
 *   -> a counting sink;
 * - `raw` (the baseline): a `ws` client doing `JSON.parse` of each frame and reading `p`, `q`,
 *   `T` and the id, as PERFORMANCE.md's hand-written client does;
 * - `wire`: a `ws` client that only counts frames: the ceiling of server and transport. When
 *   `raw` comes close to it, the server, not the client, set the pace of `raw`;
 * - `b0`: no socket, PERFORMANCE.md's decode floor in the same process: `JSON.parse` and `p`, `q`,
 *   `T` of 100k in-memory aggTrade frames (bench/frames.ts, seed 42), looped to `messages`. It
 *   says how fast this machine is during the run: the goal of 500k msg/s is for a machine whose
 *   B0 is about 0.9-1M/s.
 *
 * A run is timed from the first trade to the `messages`-th; the rate is (messages - 1) / time.
 * Every side checks that the ids are contiguous from the first frame; the engine also counts the
 * source's drops, gaps and status changes other than connecting and live. Any of them fails the
 * run. One process: a warm-up of each side, then REPS rounds with the order alternating. One
 * JSON line per timed run.
 */
import { parseArgs } from 'node:util';
import type { OperatorFunction } from 'rxjs';
import { Observable } from 'rxjs';
import { WebSocket } from 'ws';
import { createContext, createLogger, type NodeContext } from '../src/context.js';
import { METRIC, Metrics } from '../src/metrics.js';
import type { Flow, Trade } from '../src/model/index.js';
import { buildCandles } from '../src/operators/candles/buildCandles.js';
import { atr } from '../src/operators/indicators/atr.js';
import { bollinger } from '../src/operators/indicators/bollinger.js';
import { features } from '../src/operators/indicators/features.js';
import { macd } from '../src/operators/indicators/macd.js';
import { rsi } from '../src/operators/indicators/rsi.js';
import { sma } from '../src/operators/indicators/sma.js';
import { binanceLive, binanceLiveParams, type BinanceLiveParams } from '../src/sources/binance/binanceLive.js';
import type { BinanceRecord } from '../src/sources/binance/parse.js';
import { aggTradeFrames } from './frames.js';
import { spawnMockServer } from './mockServer.js';

/** PERFORMANCE.md's indicator bundle, computed on every closed candle. */
export const INDICATORS = [rsi(14), macd(), sma(20), sma(50), bollinger(), atr(14)];
const REPS = 3;
/** A run that has not finished after this long has stalled. */
const RUN_TIMEOUT_MS = 120_000;

/** The mock options of B8: one symbol at 100k trades/s, `frames` aggTrade frames prerendered. */
export function b8MockOptions(frames: number): object {
  return { mode: 'firehose', symbols: [{ symbol: 'BTC-USDT', tradeRate: 100_000 }], warmupMs: 1_000, spot: { prerender: { streams: ['btcusdt@aggTrade'], frames } } };
}

/** Frames to prerender so runs of `messages` frames never reach the end (the server runs ahead of the reader). */
export function b8PrerenderFrames(messages: number): number {
  return messages + Math.max(200_000, Math.ceil(messages * 0.2));
}

/** What a live run saw besides the data: anything non-zero fails it. */
export interface Incidents {
  /** Records the source dropped (its drop counter). */
  drops: number;
  /** Gap events. */
  gaps: number;
  /** Status events other than connecting and live. */
  statuses: number;
  /** Trades whose id did not follow the previous one. */
  idBreaks: number;
  /** Records that were neither trades nor control events. */
  unexpected: number;
}

export function noIncidents(): Incidents {
  return { drops: 0, gaps: 0, statuses: 0, idBreaks: 0, unexpected: 0 };
}

export function incidentCount(incidents: Incidents): number {
  return incidents.drops + incidents.gaps + incidents.statuses + incidents.idBreaks + incidents.unexpected;
}

/** A context for the live source: its own counters, warnings (drops) on stderr. */
export function liveContext(pipeline: string): NodeContext {
  return createContext({ pipeline, node: 'binance', metrics: new Metrics(), logger: createLogger({ level: 'warn', pretty: false }) });
}

export function droppedBy(ctx: NodeContext): number {
  return ctx.metrics.counter(METRIC.dropped, 'Records a source dropped, by source and reason').total();
}

/** The source's params for a bench: spot BTC-USDT aggTrades from `wsUrl`, no REST backfill. */
export function liveParams(wsUrl: string, restUrl?: string): BinanceLiveParams {
  return binanceLiveParams.parse({ market: 'spot', symbols: ['BTC-USDT'], trades: 'aggTrade', backfill: false, wsUrl, ...(restUrl === undefined ? {} : { restUrl }) });
}

/**
 * Passes the source's trades and control events on, then calls `after(trade)` once the rest of
 * the chain has handled the trade (everything downstream runs synchronously inside `next`): so
 * `after` sees the trade leave the pipeline's last operator. Counts control events and anything
 * unexpected into `incidents`.
 */
export function afterChain(incidents: Incidents, after: (trade: Trade) => void): OperatorFunction<Flow<BinanceRecord>, Flow<Trade>> {
  return (source$) =>
    new Observable<Flow<Trade>>((subscriber) =>
      source$.subscribe({
        next: (record) => {
          if (record.type === 'trade') {
            subscriber.next(record);
            after(record);
          } else if (record.type === 'gap') {
            incidents.gaps++;
            subscriber.next(record);
          } else if (record.type === 'status') {
            if (record.state !== 'connecting' && record.state !== 'live') incidents.statuses++;
            subscriber.next(record);
          } else {
            incidents.unexpected++;
          }
        },
        error: (error: unknown) => {
          subscriber.error(error);
        },
        complete: () => {
          subscriber.complete();
        },
      }),
    );
}

/** The engine chain after the source: 1m candles, then the indicator bundle on each closed one. */
export function engineChain(source$: Observable<Flow<Trade>>): Observable<unknown> {
  return source$.pipe(buildCandles('1m'), features(INDICATORS));
}

export interface IntakeResult {
  readonly seconds: number;
  /** The id of the first trade: the same in every run while the mock plays its prerendered frames. */
  readonly firstId: number;
  readonly incidents: Incidents;
}

function timeout(side: string, seen: () => number, messages: number, reject: (error: Error) => void): NodeJS.Timeout {
  return setTimeout(() => {
    reject(new Error(`B8 ${side}: only ${seen()} of ${messages} frames after ${RUN_TIMEOUT_MS / 1000} s`));
  }, RUN_TIMEOUT_MS);
}

/** The engine side: source -> candles -> indicators -> counting sink, stopped after `messages` trades. */
export function runEngine(wsUrl: string, restUrl: string, messages: number): Promise<IntakeResult> {
  const ctx = liveContext('b8');
  const incidents = noIncidents();
  return new Promise<IntakeResult>((resolve, reject) => {
    let count = 0;
    let firstId = 0;
    let start = 0n;
    const timer = timeout('engine', () => count, messages, reject);
    const onTrade = (trade: Trade): void => {
      if (count === 0) {
        start = process.hrtime.bigint();
        firstId = trade.id;
      } else if (trade.id !== firstId + count) {
        incidents.idBreaks++;
      }
      count++;
      if (count === messages) {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        clearTimeout(timer);
        setImmediate(() => {
          subscription.unsubscribe();
          incidents.drops = droppedBy(ctx);
          resolve({ seconds, firstId, incidents });
        });
      }
    };
    const subscription = engineChain(binanceLive(liveParams(wsUrl, restUrl), ctx).pipe(afterChain(incidents, onTrade))).subscribe({
      error: (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    });
  });
}

/** A hand-written `ws` client; `decode` false only counts frames. */
export function runClient(wsUrl: string, messages: number, decode: boolean): Promise<IntakeResult> {
  const incidents = noIncidents();
  return new Promise<IntakeResult>((resolve, reject) => {
    const ws = new WebSocket(`${wsUrl}/stream?streams=btcusdt@aggTrade`);
    let count = 0;
    let firstId = 0;
    let start = 0n;
    let checksum = 0;
    const timer = timeout(decode ? 'raw' : 'wire', () => count, messages, reject);
    ws.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    ws.on('message', (data: Buffer) => {
      if (count === messages) return;
      if (decode) {
        const trade = (JSON.parse(data.toString()) as { data: { a: number; p: string; q: string; T: number } }).data;
        checksum += Number(trade.p) + Number(trade.q) + trade.T;
        if (count === 0) firstId = trade.a;
        else if (trade.a !== firstId + count) incidents.idBreaks++;
      } else if (count === 0) {
        // Only the first frame is read: the id of the stream's start.
        firstId = (JSON.parse(data.toString()) as { data: { a: number } }).data.a;
      }
      if (count === 0) start = process.hrtime.bigint();
      count++;
      if (count === messages) {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        clearTimeout(timer);
        ws.terminate();
        if (decode && !(checksum > 0)) incidents.unexpected++;
        resolve({ seconds, firstId, incidents });
      }
    });
  });
}

/** The decode floor over in-memory frames, looped: no socket, no server. */
function runFloor(frames: readonly string[], messages: number): Promise<IntakeResult> {
  const start = process.hrtime.bigint();
  let checksum = 0;
  for (let i = 0; i < messages; i++) {
    const trade = (JSON.parse(frames[i % frames.length] as string) as { data: { p: string; q: string; T: number } }).data;
    checksum += Number(trade.p) + Number(trade.q) + trade.T;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const incidents = noIncidents();
  if (!(checksum > 0)) incidents.unexpected++;
  return Promise.resolve({ seconds, firstId: -1, incidents });
}

type Side = 'engine' | 'raw' | 'wire' | 'b0';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { mock: { type: 'string' } }, allowPositionals: true, strict: true });
  const messages = Number(positionals[0] ?? 500_000);
  if (!(Number.isSafeInteger(messages) && messages >= 1000)) throw new RangeError(`usage: tsx bench/b8-intake.ts [messages >= 1000] [--mock <url>], got ${JSON.stringify(positionals)}`);
  const own = values.mock === undefined ? await spawnMockServer(['binance', JSON.stringify(b8MockOptions(b8PrerenderFrames(messages)))]) : undefined;
  const wsUrl = values.mock ?? own?.info.spotWsUrl;
  if (wsUrl === undefined) throw new Error('the mock server printed no spotWsUrl');
  const restUrl = wsUrl.replace(/^ws/, 'http');
  const floorFrames = aggTradeFrames(100_000).frames;
  const sides: Record<Side, (n: number) => Promise<IntakeResult>> = {
    engine: (n) => runEngine(wsUrl, restUrl, n),
    raw: (n) => runClient(wsUrl, n, true),
    wire: (n) => runClient(wsUrl, n, false),
    b0: (n) => runFloor(floorFrames, n),
  };
  const order: readonly Side[] = ['engine', 'raw', 'wire', 'b0'];
  const warmUp = Math.max(1000, Math.floor(messages / 4));
  let startId: number | undefined;
  for (const side of order) startId ??= (await sides[side](warmUp)).firstId;
  for (let rep = 0; rep < REPS; rep++) {
    for (const side of rep % 2 === 0 ? order : [...order].reverse()) {
      const result = await sides[side](messages);
      const problems = incidentCount(result.incidents);
      process.stdout.write(
        `${JSON.stringify({ bench: 'B8', side, rep, messages, seconds: result.seconds, messagesPerSecond: (messages - 1) / result.seconds, firstId: result.firstId, ...result.incidents, rssMB: process.memoryUsage.rss() / 2 ** 20 })}\n`,
      );
      if (problems > 0) throw new Error(`B8 ${side}: ${problems} incidents (${JSON.stringify(result.incidents)})`);
      // A later start means the mock's clock moved: this run was (partly) simulated live, not prerendered.
      if (side !== 'b0' && result.firstId !== startId) throw new Error(`B8 ${side}: the stream started at id ${result.firstId}, not ${String(startId)}: the mock ran out of prerendered frames`);
    }
  }
  await own?.close();
}

if (process.argv[1]?.endsWith('b8-intake.ts') === true) await main();
