/**
 * `npm run bench`: runs each benchmark in fresh processes (alternating sides so drift on a shared
 * machine hits both), then prints medians, min-max and same-run ratios against the baseline.
 * Absolute numbers move by about 15 % between runs on these machines; same-run ratios hold to
 * about 5 % (PERFORMANCE.md), so goals are checked on ratios first.
 *
 *   npm run bench                 B0, B1, B3, the kline replay, then the live-data benchmarks
 *                                 B8, B9, B10 and the order book; 3 processes per side
 *   npm run bench -- --quick      1 process per side, 200k events, short live runs (a smoke run)
 *   npm run bench -- --only B1    one benchmark (B1, B3, B6, B8, B9, B10 or BOOK)
 *
 * The live benchmarks read from a loopback server in a process of its own (bench/mockServer.ts):
 * B8 the mock exchange in firehose mode (one prerender shared by the B8 processes), B9 and B10 a
 * synthetic sender. A drop, gap or lost frame in any of them fails the run.
 *
 * Every measurement is also written as a JSON line to bench/results/latest.ndjson.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KLINES } from './b6-klines.js';
import { b8MockOptions, b8PrerenderFrames } from './b8-intake.js';
import { spawnMockServer } from './mockServer.js';
import { formatRate, median } from './stats.js';

interface Measurement {
  readonly bench: string;
  readonly side: string;
  readonly [key: string]: unknown;
}

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, only: { type: 'string' } }, strict: true });
const quick = values.quick === true;
const processes = quick ? 1 : 3;
const events = quick ? 200_000 : 1_000_000;
const only = values.only?.toUpperCase();
const all: Measurement[] = [];

function run(script: string, args: readonly string[]): Measurement[] {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const out = execFileSync(process.execPath, ['--import', 'tsx', path, ...args], { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
  const measurements = out
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Measurement);
  all.push(...measurements);
  return measurements;
}

function numbers(measurements: readonly Measurement[], field: string): number[] {
  return measurements.map((m) => m[field] as number);
}

function spread(list: readonly number[], format: (n: number) => string): string {
  return `${format(median(list))} (${format(Math.min(...list))}-${format(Math.max(...list))})`;
}

function sameResults(measurements: readonly Measurement[], label: string): void {
  const hashes = new Set(measurements.map((m) => m.hash));
  if (hashes.size !== 1) throw new Error(`${label}: the sides disagree on the signals (hashes ${[...hashes].join(', ')})`);
}

function header(title: string): void {
  process.stdout.write(`\n${title}\n`);
}

/** Per-round ratios of `field` between two sides measured in the same process and round. */
function pairedRatios(measurements: readonly Measurement[], numerator: string, denominator: string, field: string): number[] {
  const byRound = new Map<string, Map<string, number>>();
  measurements.forEach((m) => {
    const key = `${String(m.process)}:${String(m.rep)}`;
    const round = byRound.get(key) ?? new Map<string, number>();
    round.set(m.side, m[field] as number);
    byRound.set(key, round);
  });
  const ratios: number[] = [];
  for (const round of byRound.values()) {
    const a = round.get(numerator);
    const b = round.get(denominator);
    if (a !== undefined && b !== undefined) ratios.push(a / b);
  }
  return ratios;
}

function runProcesses(script: string, bench: string, args: readonly string[]): Measurement[] {
  const measurements: Measurement[] = [];
  for (let p = 0; p < processes; p++) measurements.push(...run(script, args).map((m) => ({ ...m, process: p })));
  return measurements.filter((m) => m.bench === bench);
}

function bySide(measurements: readonly Measurement[], side: string, field: string): number[] {
  return numbers(
    measurements.filter((m) => m.side === side),
    field,
  );
}

const fixed2 = (n: number): string => n.toFixed(2);

function b1(): void {
  header(`B1 replay end to end: ${formatRate(events)} recorded aggTrade frames, parse -> 1m candles -> indicators -> 3 voters -> consensus -> risk -> null sink`);
  const measurements = runProcesses('b1-replay.ts', 'B1', [String(events)]);
  sameResults(
    measurements.filter((m) => m.side !== 'b0'),
    'B1',
  );
  const rate = (side: string): number[] => bySide(measurements, side, 'eventsPerSecond');
  const ratio = pairedRatios(measurements, 'engine', 'plain', 'eventsPerSecond');
  const floor = pairedRatios(measurements, 'engine', 'b0', 'eventsPerSecond');
  process.stdout.write(`  B0 decode floor (JSON.parse + p, q, T):  ${spread(rate('b0'), formatRate)} events/s\n`);
  const jsonRatio = pairedRatios(measurements, 'engine', 'plain-json', 'eventsPerSecond');
  process.stdout.write(`  plain loop, JSON.parse decoding:         ${spread(rate('plain-json'), formatRate)} events/s\n`);
  process.stdout.write(`  plain loop, alphaflow's decoder:         ${spread(rate('plain'), formatRate)} events/s\n`);
  process.stdout.write(`  engine:                                  ${spread(rate('engine'), formatRate)} events/s\n`);
  process.stdout.write(`  signals: ${String(measurements.find((m) => m.side === 'engine')?.signals)} (same on both sides)\n`);
  process.stdout.write(`  engine/B0 (paired): ${spread(floor, fixed2)}   goal: >= 750k events/s on a machine whose B0 is about 0.9M/s\n`);
  process.stdout.write(`  engine/plain-json (paired): ${spread(jsonRatio, fixed2)}   (the engine's decoder skips JSON.parse for trade frames)\n`);
  process.stdout.write(`ratio engine/plain: ${fixed2(median(ratio))}   (same decoder on both sides, paired per round, range ${spread(ratio, fixed2)}; goal >= 0.90, stretch 0.95)\n`);
}

function b3(): void {
  header('B3 stage overhead: small events through k = 0, 1, 2, 4, 8, 16 pass-through stages');
  const measurements = runProcesses('b3-stages.ts', 'B3', quick ? ['1000000'] : []);
  const pick = (variant: string, field: 'slope' | 'intercept'): number[] => measurements.map((m) => (m[variant] as Record<string, number>)[field] as number);
  const ns = (n: number): string => `${n.toFixed(1)} ns`;
  process.stdout.write(`  engine operator (flowOperator): ${spread(pick('engine', 'slope'), ns)}/event/stage, entry ${ns(median(pick('engine', 'intercept')))}   goal <= 15 ns/stage\n`);
  process.stdout.write(`  rxjs map(x => x):               ${spread(pick('rxMap', 'slope'), ns)}/event/stage, entry ${ns(median(pick('rxMap', 'intercept')))}\n`);
  process.stdout.write(`  plain function call:            ${spread(pick('plain', 'slope'), ns)}/event/stage\n`);
  process.stdout.write(`ratio engine/rxjs-map per stage: ${fixed2(median(pick('engine', 'slope')) / median(pick('rxMap', 'slope')))}\n`);
}

function b6(): void {
  if (!existsSync(KLINES)) {
    process.stdout.write(`\nKline replay: skipped, ${KLINES} is missing (../shared beside the checkout)\n`);
    return;
  }
  header('Kline replay: the real 50,000-row BTCUSDT 1m CSV through the full chain');
  const measurements = runProcesses('b6-klines.ts', 'B6', []);
  sameResults(measurements, 'B6');
  const rate = (side: string): number[] => bySide(measurements, side, 'candlesPerSecond');
  const ratio = pairedRatios(measurements, 'engine', 'plain', 'candlesPerSecond');
  process.stdout.write(`  plain loop: ${spread(rate('plain'), formatRate)} candles/s\n`);
  process.stdout.write(`  engine:     ${spread(rate('engine'), formatRate)} candles/s, ${String(measurements[0]?.signals)} signals\n`);
  process.stdout.write(`ratio engine/plain (candles): ${fixed2(median(ratio))}   (paired per round, range ${spread(ratio, fixed2)})\n`);
}

/** Per-round differences `numerator - denominator` of `field`, paired as in {@link pairedRatios}. */
function pairedDifferences(measurements: readonly Measurement[], numerator: string, denominator: string, field: string): number[] {
  const round = (m: Measurement): string => `${String(m.process)}:${String(m.rep)}`;
  const base = new Map(measurements.filter((m) => m.side === denominator).map((m) => [round(m), m[field] as number]));
  return measurements.flatMap((m) => {
    const other = m.side === numerator ? base.get(round(m)) : undefined;
    return other === undefined ? [] : [(m[field] as number) - other];
  });
}

function sum(measurements: readonly Measurement[], field: string): number {
  return measurements.reduce((total, m) => total + (m[field] as number), 0);
}

async function b8(): Promise<void> {
  const messages = quick ? 200_000 : 500_000;
  header(`B8 WebSocket intake: ${formatRate(messages)} aggTrade frames per run from the mock exchange (firehose, prerendered, own process) -> binance-live -> 1m candles -> indicators; per process a warm-up and 3 rounds`);
  const mock = await spawnMockServer(['binance', JSON.stringify(b8MockOptions(b8PrerenderFrames(messages)))]);
  let measurements: Measurement[];
  try {
    const url = mock.info.spotWsUrl;
    if (url === undefined) throw new Error('the mock printed no spotWsUrl');
    measurements = runProcesses('b8-intake.ts', 'B8', [String(messages), '--mock', url]);
  } finally {
    await mock.close();
  }
  const rate = (side: string): number[] => bySide(measurements, side, 'messagesPerSecond');
  const ratio = pairedRatios(measurements, 'engine', 'raw', 'messagesPerSecond');
  const ceiling = pairedRatios(measurements, 'raw', 'wire', 'messagesPerSecond');
  const drops = ['drops', 'gaps', 'statuses', 'idBreaks', 'unexpected'].reduce((total, field) => total + sum(measurements, field), 0);
  process.stdout.write(`  wire (ws, counting only):        ${spread(rate('wire'), formatRate)} msg/s   the ceiling of server + transport\n`);
  process.stdout.write(`  raw (ws + JSON.parse):           ${spread(rate('raw'), formatRate)} msg/s   raw/wire (paired) ${spread(ceiling, fixed2)}\n`);
  process.stdout.write(`  source (binance-live + chain):   ${spread(rate('engine'), formatRate)} msg/s   goal >= 500k msg/s\n`);
  const floor = pairedRatios(measurements, 'engine', 'b0', 'messagesPerSecond');
  process.stdout.write(`  B0 decode floor, same process:   ${spread(rate('b0'), formatRate)} msg/s   source/B0 (paired) ${spread(floor, fixed2)}; the 500k goal is for a B0 of about 0.9-1M/s\n`);
  process.stdout.write(`  drops, gaps, id breaks, bad statuses: ${drops}\n`);
  process.stdout.write(`ratio source/raw: ${fixed2(median(ratio))}   (paired per round, range ${spread(ratio, fixed2)}; goal >= 0.85)\n`);
}

function b9(): void {
  const seconds = quick ? 2 : 5;
  const rounds = quick ? 1 : 2;
  header(`B9 WebSocket latency at 10k msg/s: send (x_t, sender process) -> the trade has left the chain; per process a 1 s warm-up and ${rounds} round(s) of ${seconds} s`);
  const measurements = runProcesses('b9-latency.ts', 'B9', [String(seconds), '10000', String(rounds)]);
  const us = (n: number): string => (n >= 1000 ? `${(n / 1000).toFixed(2)} ms` : `${n.toFixed(0)} us`);
  for (const side of ['raw', 'engine']) {
    const field = (name: string): string => spread(bySide(measurements, side, name), us);
    process.stdout.write(`  ${side === 'raw' ? 'raw (ws + JSON.parse):' : 'source + chain:       '} p50 ${field('p50')}  p90 ${field('p90')}  p99 ${field('p99')}  p99.9 ${field('p999')}  max ${field('max')}\n`);
  }
  const lost = sum(measurements, 'lost');
  const p50Delta = pairedDifferences(measurements, 'engine', 'raw', 'p50');
  process.stdout.write(`  engine p50 - raw p50 (paired): ${spread(p50Delta, us)}   goal <= 25 us; frames lost: ${lost} of ${sum(measurements, 'messages')}\n`);
  const median3 = (name: string): string => us(median(bySide(measurements, 'engine', name)));
  process.stdout.write(`latency source+chain at 10k msg/s: p50 ${median3('p50')}, p99 ${median3('p99')}, p99.9 ${median3('p999')}, drops ${lost}   (medians of runs; goals 100 us / 1 ms / 5 ms / 0)\n`);
}

function b10(): void {
  const seconds = quick ? 10 : 60;
  header(`B10 soak: binance-live -> 1m candles -> indicators for ${seconds} s in one process, fed as fast as it reads by a sender in its own process`);
  const [m] = run('b10-memory.ts', [String(seconds)]).filter((line) => line.bench === 'B10');
  if (m === undefined) throw new Error('B10 printed no result');
  const mb = (field: string): string => `${(m[field] as number).toFixed(1)} MB`;
  process.stdout.write(`  ${formatRate(m.trades as number)} trades at ${formatRate(m.tradesPerSecond as number)}/s, ${String(m.features)} closed candles; drops ${String(m.drops)}, gaps ${String(m.gaps)}, id breaks ${String(m.idBreaks)}\n`);
  const aboveStart = `${((m.rssMaxMB as number) - (m.rssStartMB as number)).toFixed(1)} MB`;
  process.stdout.write(`  RSS: ${mb('rssStartMB')} before subscribing (node + tsx + modules), max ${mb('rssMaxMB')} (${aboveStart} above that), end ${mb('rssEndMB')}   goal: max <= 150 MB\n`);
  process.stdout.write(`  heap: max ${mb('heapMaxMB')}; live heap after full GCs ${mb('liveHeapFirstMB')} -> ${mb('liveHeapLastMB')} over the last three quarters\n`);
  process.stdout.write(`heap slope: ${(m.heapSlopeMBPer10M as number).toFixed(2)} MB per 10M trades (${String(m.checkpoints)} GC checkpoints; goal <= 1); RSS max ${mb('rssMaxMB')}\n`);
}

function book(): void {
  const diffs = quick ? 10_000 : 20_000;
  header(`Order book: ${formatRate(diffs)} generated depth diffs (about 10 level updates each) on a 1,000-level book, best bid/ask read after each`);
  const measurements = runProcesses('orderBook.ts', 'orderbook', [String(diffs)])
    .filter((m) => m.medianLevelUpdatesPerSecond === undefined)
    .map((m) => ({ ...m, rep: m.round }));
  const rate = (side: string): number[] => bySide(measurements, side, 'levelUpdatesPerSecond');
  process.stdout.write(`  OrderBook.apply:            ${spread(rate('book'), formatRate)} level updates/s\n`);
  process.stdout.write(`  BinanceBookSync + book:     ${spread(rate('sync'), formatRate)} level updates/s\n`);
  process.stdout.write(`  plain Map per side:         ${spread(rate('map'), formatRate)} level updates/s (baseline)\n`);
  process.stdout.write(`  plain sorted array:         ${spread(rate('array'), formatRate)} level updates/s\n`);
  const bookRatio = pairedRatios(measurements, 'book', 'map', 'levelUpdatesPerSecond');
  const syncRatio = pairedRatios(measurements, 'sync', 'map', 'levelUpdatesPerSecond');
  process.stdout.write(`ratio book/map: ${fixed2(median(bookRatio))}, sync/map: ${fixed2(median(syncRatio))}   (paired per round; goal: book and sync >= 1M level updates/s)\n`);
}

const ONLY = ['B1', 'B3', 'B6', 'B8', 'B9', 'B10', 'BOOK'];
if (only !== undefined && !ONLY.includes(only)) throw new RangeError(`--only ${only}: use one of ${ONLY.join(', ')}`);
process.stdout.write(`alphaflow benchmarks: node ${process.version}, ${processes} fresh process(es) per benchmark, each a warm-up then 5 rounds of every side\n`);
if (only === undefined || only === 'B1') b1();
if (only === undefined || only === 'B3') b3();
if (only === undefined || only === 'B6') b6();
if (only === undefined || only === 'B8') await b8();
if (only === undefined || only === 'B9') b9();
if (only === undefined || only === 'B10') b10();
if (only === undefined || only === 'BOOK') book();
const dir = fileURLToPath(new URL('results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}latest.ndjson`, all.map((m) => JSON.stringify(m)).join('\n') + '\n');
process.stdout.write(`\nraw measurements: bench/results/latest.ndjson\n`);
