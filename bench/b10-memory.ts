/**
 * B10, soak and memory (PERFORMANCE.md §5): the live source and chain run for a sustained time,
 * reading as fast as a loopback sender writes, while the process's memory is sampled.
 *
 *   tsx bench/b10-memory.ts [seconds, default 60]
 *
 * The sender is bench/mockServer.ts `synthetic` in a process of its own, unpaced: Binance
 * combined-stream aggTrade frames, as fast as the socket drains, event times 10 ms apart (a
 * history replayed: a 1m candle closes every 6,000 trades, so the indicators keep working). The
 * chain is B8's: `binance-live` (spot, aggTrade, no REST backfill) -> `buildCandles` 1m ->
 * `features` (PERFORMANCE.md's bundle) -> a counting sink.
 *
 * Sampled every 100 ms: RSS and V8 heap used. Every 2 s: a full GC (`gc`, exposed at start),
 * then the heap used: the live heap. The heap slope is the least-squares slope of the live heap
 * over trades processed, from the checkpoints after the first quarter of the run (the warm-up),
 * in MB per 10M trades (PERFORMANCE.md's goal: <= 1 MB per 10M events). RSS is reported before
 * the source is subscribed, at its maximum and at the end (goal: <= 150 MB). Drops, gaps, id
 * breaks and unexpected statuses fail the run. One JSON line.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import type { Trade } from '../src/model/index.js';
import { binanceLive } from '../src/sources/binance/binanceLive.js';
import { afterChain, droppedBy, engineChain, incidentCount, liveContext, liveParams, noIncidents } from './b8-intake.js';
import { FIRST_ID, spawnMockServer } from './mockServer.js';
import { linearFit } from './stats.js';

const SAMPLE_MS = 100;
const CHECKPOINT_MS = 2_000;
/** Event time between trades, ms: a closed 1m candle every 6,000 trades. */
const GAP_MS = 10;
/** Frames the sender is asked for: more than any run here reads. */
const SESSION_FRAMES = 1_000_000_000;
const MB = 2 ** 20;

function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  if (typeof gc !== 'function') throw new Error('cannot expose gc');
  return gc as () => void;
}

interface Checkpoint {
  readonly seconds: number;
  readonly trades: number;
  readonly heapMB: number;
  readonly rssMB: number;
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 60);
  if (!(seconds >= 4)) throw new RangeError(`usage: tsx bench/b10-memory.ts [seconds >= 4], got ${JSON.stringify(process.argv[2])}`);
  const gc = exposeGc();
  const server = await spawnMockServer(['synthetic']);
  const wsUrl = server.info.wsUrl;
  if (wsUrl === undefined) throw new Error('the synthetic server printed no wsUrl');
  const root = `${wsUrl}/b10-${process.pid}/${SESSION_FRAMES}/0/${GAP_MS}`;
  const ctx = liveContext('b10');
  const incidents = noIncidents();

  gc();
  const rssStartMB = process.memoryUsage.rss() / MB;
  let trades = 0;
  let outputs = 0;
  let firstTradeAt = 0n;
  const onTrade = (trade: Trade): void => {
    if (trades === 0) firstTradeAt = process.hrtime.bigint();
    if (trade.id !== FIRST_ID + trades) incidents.idBreaks++;
    trades++;
  };
  let rssMaxMB = rssStartMB;
  let heapMaxMB = 0;
  const checkpoints: Checkpoint[] = [];
  const started = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e9;
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    rssMaxMB = Math.max(rssMaxMB, usage.rss / MB);
    heapMaxMB = Math.max(heapMaxMB, usage.heapUsed / MB);
  }, SAMPLE_MS);
  const checkpointer = setInterval(() => {
    gc();
    const usage = process.memoryUsage();
    checkpoints.push({ seconds: elapsed(), trades, heapMB: usage.heapUsed / MB, rssMB: usage.rss / MB });
  }, CHECKPOINT_MS);

  const subscription = engineChain(binanceLive(liveParams(root), ctx).pipe(afterChain(incidents, onTrade))).subscribe({
    next: () => {
      outputs++;
    },
    error: (error: unknown) => {
      process.stderr.write(`B10: the chain failed: ${String(error)}\n`);
      process.exitCode = 1;
    },
  });
  await new Promise<void>((resolve) => setTimeout(resolve, seconds * 1000));
  const tradeSeconds = Number(process.hrtime.bigint() - firstTradeAt) / 1e9;
  const tradesSeen = trades;
  subscription.unsubscribe();
  clearInterval(sampler);
  clearInterval(checkpointer);
  incidents.drops = droppedBy(ctx);
  const rssEndMB = process.memoryUsage.rss() / MB;

  const steady = checkpoints.filter((point) => point.seconds >= seconds / 4);
  const fit = linearFit(
    steady.map((point) => point.trades),
    steady.map((point) => point.heapMB),
  );
  const first = steady[0];
  const last = steady[steady.length - 1];
  const problems = incidentCount(incidents) + (tradesSeen === 0 ? 1 : 0);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'B10',
      side: 'engine',
      seconds,
      trades: tradesSeen,
      tradesPerSecond: tradesSeen / tradeSeconds,
      features: outputs,
      rssStartMB,
      rssMaxMB,
      rssEndMB,
      heapMaxMB,
      liveHeapFirstMB: first?.heapMB,
      liveHeapLastMB: last?.heapMB,
      heapSlopeMBPer10M: fit.slope * 1e7,
      checkpoints: steady.length,
      ...incidents,
      trace: checkpoints.map((point) => [Math.round(point.seconds), point.trades, Number(point.heapMB.toFixed(2)), Number(point.rssMB.toFixed(1))]),
    })}\n`,
  );
  await server.close();
  if (problems > 0) throw new Error(`B10: ${problems} incidents (${JSON.stringify(incidents)}, ${tradesSeen} trades)`);
}

if (process.argv[1]?.endsWith('b10-memory.ts') === true) await main();
