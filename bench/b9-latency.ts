/**
 * B9, WebSocket latency (PERFORMANCE.md §5): at a fixed 10k msg/s, the time from the sender's
 * `send` of an aggTrade frame to the moment the trade has left the pipeline's last operator.
 *
 *   tsx bench/b9-latency.ts [seconds per run, default 5] [msg/s, default 10000] [rounds, default 2]
 *
 * The sender is bench/mockServer.ts `synthetic` in a process of its own (the project's mock
 * exchange has no send timestamp): Binance combined-stream aggTrade frames, paced on a 1 ms timer
 * (each tick sends the frames due by then, so about 10 at a time at 10k/s), each stamped just
 * before its `send` with the monotonic clock in an extra `x_t` field that the parser skips (the
 * fast path still takes such frames: checked at start). `process.hrtime` is CLOCK_MONOTONIC, so
 * the two processes read the same clock. The sender also reports every frame's send time when
 * its session ends.
 *
 * Sides, one connection each, run one after the other:
 * - `engine`: the `binance-live` source -> `buildCandles` 1m -> `features` (B8's chain); a trade's
 *   time is taken once the chain has handled it (everything downstream runs inside `next`), and
 *   its latency is that time minus the send time the sender reported for its id;
 * - `raw` (the baseline): a `ws` client doing `JSON.parse`, reading the fields and `x_t`; its
 *   latency is the time after the parse minus `x_t` (checked against the sender's report).
 *
 * A run ends when every frame has arrived or a few seconds after the last was due; frames that
 * never came are drops, as are the source's drops, gaps and unexpected statuses. Percentiles are
 * of all frames of one run. One process: a 1 s warm-up of each side, then `rounds` rounds with the
 * order alternating. One JSON line per timed run.
 */
import { WebSocket } from 'ws';
import type { Trade } from '../src/model/index.js';
import { binanceLive } from '../src/sources/binance/binanceLive.js';
import { createBinanceParser, type BinanceRecord } from '../src/sources/binance/parse.js';
import { afterChain, droppedBy, engineChain, incidentCount, liveContext, liveParams, noIncidents, type Incidents } from './b8-intake.js';
import { FIRST_ID, monotonicNs, spawnMockServer, TradeFrames, type MockServerProcess } from './mockServer.js';

/** Time allowed after the last frame was due for the stragglers to arrive. */
const GRACE_MS = 3_000;

interface LatencyRun {
  /** Per frame (index = id - FIRST_ID): receive-side time in ns, 0 when it never came. */
  readonly doneNs: Float64Array;
  /** Raw side: the `x_t` each frame carried. */
  readonly stampNs: Float64Array | undefined;
  readonly incidents: Incidents;
}

/** The sender's root URL for one session: the source appends `/stream`, the raw client too. */
function sessionUrl(wsUrl: string, session: string, count: number, rate: number): string {
  return `${wsUrl}/${session}/${count}/${rate}/0`;
}

function engineRun(root: string, count: number, deadlineMs: number): Promise<LatencyRun> {
  const ctx = liveContext('b9');
  const incidents = noIncidents();
  const doneNs = new Float64Array(count);
  return new Promise<LatencyRun>((resolve, reject) => {
    let received = 0;
    const finish = (): void => {
      clearTimeout(timer);
      subscription.unsubscribe();
      incidents.drops = droppedBy(ctx);
      resolve({ doneNs, stampNs: undefined, incidents });
    };
    const onTrade = (trade: Trade): void => {
      const at = monotonicNs();
      const index = trade.id - FIRST_ID;
      if (index < 0 || index >= count || doneNs[index] !== 0) {
        incidents.idBreaks++;
        return;
      }
      doneNs[index] = at;
      if (++received === count) setImmediate(finish);
    };
    const timer = setTimeout(finish, deadlineMs);
    const subscription = engineChain(binanceLive(liveParams(root), ctx).pipe(afterChain(incidents, onTrade))).subscribe({
      error: (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    });
  });
}

function rawRun(root: string, count: number, deadlineMs: number): Promise<LatencyRun> {
  const incidents = noIncidents();
  const doneNs = new Float64Array(count);
  const stampNs = new Float64Array(count);
  return new Promise<LatencyRun>((resolve, reject) => {
    const ws = new WebSocket(`${root}/stream?streams=btcusdt@aggTrade`);
    let received = 0;
    let checksum = 0;
    const finish = (): void => {
      clearTimeout(timer);
      ws.terminate();
      if (received > 0 && !(checksum > 0)) incidents.unexpected++;
      resolve({ doneNs, stampNs, incidents });
    };
    const timer = setTimeout(finish, deadlineMs);
    ws.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    ws.on('message', (data: Buffer) => {
      const trade = (JSON.parse(data.toString()) as { data: { a: number; p: string; q: string; T: number; x_t: number } }).data;
      checksum += Number(trade.p) + Number(trade.q) + trade.T;
      const at = monotonicNs();
      const index = trade.a - FIRST_ID;
      if (index < 0 || index >= count || doneNs[index] !== 0) {
        incidents.idBreaks++;
        return;
      }
      doneNs[index] = at;
      stampNs[index] = trade.x_t;
      if (++received === count) finish();
    });
  });
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

/** Latencies in µs of the frames that arrived, and the count of those that did not. */
function latencies(run: LatencyRun, sendNs: Float64Array): { sorted: Float64Array; missing: number; stampMismatches: number } {
  const out: number[] = [];
  let missing = 0;
  let stampMismatches = 0;
  for (let i = 0; i < sendNs.length; i++) {
    const done = run.doneNs[i] as number;
    if (done === 0) {
      missing++;
      continue;
    }
    if (run.stampNs !== undefined && run.stampNs[i] !== sendNs[i]) stampMismatches++;
    out.push((done - (sendNs[i] as number)) / 1e3);
  }
  return { sorted: Float64Array.from(out).sort(), missing, stampMismatches };
}

/** Checks that a frame of the sender, `x_t` and all, takes the parser's fast path. */
function checkFastPath(): void {
  const parser = createBinanceParser({ market: 'spot' });
  const records: BinanceRecord[] = [];
  const frame = new TradeFrames(1, 0).frame(0, monotonicNs());
  parser.parse(frame, Date.now(), { record: (record) => records.push(record), control: () => undefined, drop: (reason) => { throw new Error(`the parser drops the sender's frame: ${reason}`); } });
  if (records.length !== 1 || parser.fastPathFrames !== 1) throw new Error(`the parser did not take the fast path for the sender's frame ${frame}`);
}

type Side = 'engine' | 'raw';

interface TimedRun {
  readonly messages: number;
  readonly received: number;
  /** Frames that never arrived. */
  readonly missing: number;
  readonly incidents: Incidents;
  /** Latency percentiles, µs. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

async function timedRun(server: MockServerProcess, side: Side, session: string, seconds: number, rate: number): Promise<TimedRun> {
  const count = Math.round(seconds * rate);
  const wsUrl = server.info.wsUrl;
  if (wsUrl === undefined) throw new Error('the synthetic server printed no wsUrl');
  const root = sessionUrl(wsUrl, session, count, rate);
  const deadlineMs = seconds * 1000 + GRACE_MS;
  const run = side === 'engine' ? await engineRun(root, count, deadlineMs) : await rawRun(root, count, deadlineMs);
  const report = await server.report(session);
  const buffer = Buffer.from(report.sendNs, 'base64');
  const sendNs = new Float64Array(buffer.buffer, buffer.byteOffset, buffer.byteLength / 8);
  const { sorted, missing, stampMismatches } = latencies(run, sendNs);
  run.incidents.unexpected += stampMismatches;
  return {
    messages: count,
    received: sorted.length,
    missing,
    incidents: run.incidents,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5);
  const rate = Number(process.argv[3] ?? 10_000);
  const rounds = Number(process.argv[4] ?? 2);
  if (!(seconds > 0 && rate > 0 && Number.isInteger(rounds) && rounds > 0)) throw new RangeError(`usage: tsx bench/b9-latency.ts [seconds] [msg/s] [rounds], got ${JSON.stringify(process.argv.slice(2))}`);
  checkFastPath();
  const server = await spawnMockServer(['synthetic']);
  let sessions = 0;
  const session = (): string => `b9-${process.pid}-${sessions++}`;
  const order: readonly Side[] = ['engine', 'raw'];
  for (const side of order) await timedRun(server, side, session(), 1, rate);
  for (let rep = 0; rep < rounds; rep++) {
    for (const side of rep % 2 === 0 ? order : [...order].reverse()) {
      const { incidents, ...result } = await timedRun(server, side, session(), seconds, rate);
      // `drops` is the source's drop counter; `lost` counts everything that went wrong.
      const lost = result.missing + incidentCount(incidents);
      process.stdout.write(`${JSON.stringify({ bench: 'B9', side, rep, rate, seconds, ...result, ...incidents, lost })}\n`);
      if (lost > 0) throw new Error(`B9 ${side}: ${lost} frames lost or out of order (missing ${result.missing}, ${JSON.stringify(incidents)})`);
    }
  }
  await server.close();
}

if (process.argv[1]?.endsWith('b9-latency.ts') === true) await main();
