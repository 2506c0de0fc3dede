/**
 * `npm run bench`: runs each benchmark in fresh processes (alternating sides so drift on a shared
 * machine hits both), then prints medians, min-max and same-run ratios against the baseline.
 * Absolute numbers move by about 15 % between runs on these machines; same-run ratios hold to
 * about 5 % (PERFORMANCE.md), so goals are checked on ratios first.
 *
 *   npm run bench                 B0, B1, B3 and the kline replay, 3 processes per side
 *   npm run bench -- --quick      1 process per side, 200k events (a smoke run)
 *   npm run bench -- --only B1    one benchmark (B1, B3 or B6)
 *
 * Every measurement is also written as a JSON line to bench/results/latest.ndjson.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KLINES } from './b6-klines.js';
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

process.stdout.write(`alphaflow benchmarks: node ${process.version}, ${processes} fresh process(es) per benchmark, each a warm-up then 5 rounds of every side\n`);
if (only === undefined || only === 'B1') b1();
if (only === undefined || only === 'B3') b3();
if (only === undefined || only === 'B6') b6();
const dir = fileURLToPath(new URL('results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}latest.ndjson`, all.map((m) => JSON.stringify(m)).join('\n') + '\n');
process.stdout.write(`\nraw measurements: bench/results/latest.ndjson\n`);
