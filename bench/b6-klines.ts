/**
 * Candle replay (B6-style, on real data): the 50,000-row BTCUSDT 1m kline CSV in ../shared/data
 * through the full chain, as candles per second.
 *
 *   tsx bench/b6-klines.ts
 *
 * `engine` is the pipeline config (binance-klines-csv -> features -> three voters -> consensus ->
 * risk -> discard). `plain` is a hand loop: gunzip, split lines and fields, Number and Date.parse,
 * then the same indicator, voter, consensus and risk functions. Both must give the same signals.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { lastValueFrom, toArray } from 'rxjs';
import type { Signal } from '../src/model/index.js';
import { DEFAULT_INDICATORS } from '../src/operators/indicators/features.js';
import { compilePipeline } from '../src/pipelines/compile.js';
import { createPlainChain } from './plainChain.js';

export const KLINES = fileURLToPath(new URL('../../shared/data/binance-klines/BTCUSDT-1m-2025-01-01_2025-02-04.csv.gz', import.meta.url));
const RISK = { equity: 10_000, riskPerTrade: 0.01, maxLeverage: 3, tickSize: 0.01, qtyStep: 0.00001 };
const MINUTE = 60_000;

export interface KlinesResult {
  readonly seconds: number;
  readonly candles: number;
  readonly signals: number;
  readonly hash: string;
}

function hashSignals(signals: readonly Signal[]): string {
  return createHash('sha256').update(JSON.stringify(signals)).digest('hex').slice(0, 16);
}

export async function runEngine(): Promise<KlinesResult> {
  const config = {
    name: 'b6',
    nodes: [
      { id: 'klines', use: 'binance-klines-csv', params: { path: KLINES, symbol: 'BTC-USDT', interval: '1m' } },
      { id: 'features', use: 'features', from: 'klines' },
      { id: 'trend', use: 'trend-voter', from: 'features' },
      { id: 'momentum', use: 'momentum-voter', from: 'features' },
      { id: 'mean-reversion', use: 'mean-reversion-voter', from: 'features' },
      { id: 'consensus', use: 'consensus', from: ['trend', 'momentum', 'mean-reversion'] },
      { id: 'risk', use: 'risk-plan', from: 'consensus', params: RISK },
      { id: 'out', use: 'discard', from: 'risk' },
    ],
  };
  const pipeline = compilePipeline(config, { logger: pino({ level: 'silent' }) });
  const start = process.hrtime.bigint();
  const signals = await lastValueFrom(pipeline.signals$.pipe(toArray()));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const candles = pipeline.metrics.counter('alphaflow_received_total', '').total();
  return { seconds, candles, signals: signals.length, hash: hashSignals(signals) };
}

export function runPlain(): KlinesResult {
  const start = process.hrtime.bigint();
  const decide = createPlainChain(DEFAULT_INDICATORS, RISK);
  const lines = gunzipSync(readFileSync(KLINES)).toString('utf8').split('\n');
  const signals: Signal[] = [];
  let candles = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '') continue;
    const [time = '', o = '', h = '', l = '', c = '', v = ''] = line.split(',');
    const openTime = Date.parse(`${time.replace(' ', 'T')}Z`);
    const open = Number(o);
    const high = Number(h);
    const low = Number(l);
    const close = Number(c);
    const volume = Number(v);
    if (!(open > 0 && high >= low && low > 0 && close > 0 && volume >= 0) || Number.isNaN(openTime)) continue;
    candles++;
    const closeTime = openTime + MINUTE - 1;
    const signal = decide({ type: 'candle', venue: 'binance', symbol: 'BTC-USDT', tsEvent: closeTime + 1, tsRecv: closeTime + 1, interval: '1m', openTime, closeTime, open, high, low, close, volume, closed: true });
    if (signal !== undefined) signals.push(signal);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { seconds, candles, signals: signals.length, hash: hashSignals(signals) };
}

const REPS = 5;

/** One process: a warm-up of each side, then REPS rounds of both sides in alternating order (see b1-replay.ts). */
async function main(): Promise<void> {
  const sides = { engine: runEngine, plain: (): Promise<KlinesResult> => Promise.resolve(runPlain()) };
  const order = ['engine', 'plain'] as const;
  for (const side of order) await sides[side]();
  for (let rep = 0; rep < REPS; rep++) {
    for (const side of rep % 2 === 0 ? order : [...order].reverse()) {
      const result = await sides[side]();
      process.stdout.write(`${JSON.stringify({ bench: 'B6', side, rep, ...result, candlesPerSecond: result.candles / result.seconds })}\n`);
    }
  }
}
if (process.argv[1]?.endsWith('b6-klines.ts') === true) await main();
