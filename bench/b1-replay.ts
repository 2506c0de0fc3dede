/**
 * B1, replay end to end (PERFORMANCE.md): 1M recorded Binance aggTrade frames in memory through
 * parse -> 1m candles -> indicators -> three voters -> consensus -> risk -> a null sink.
 *
 *   tsx bench/b1-replay.ts [events]
 *
 * `engine` compiles the chain as a pipeline config (the only bench-specific part is the source,
 * which hands the in-memory frames and their recorded receive times to the Binance parser that
 * live and file replay use). `plain` is the hand-written loop a competent engineer would write
 * instead: the same decoder, an inline candle, and the same indicator, voter, consensus and risk
 * functions called directly, so `engine/plain` is the cost of the engine alone. `plain-json` is
 * that loop decoding with JSON.parse and the same field checks instead, as PERFORMANCE.md's
 * plain loop does. Both must produce the same signals (the hash is
 * printed and compared by bench/run.ts). B0, the decode floor, runs beside them. One JSON line
 * per timed run.
 */
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { lastValueFrom, Observable, toArray } from 'rxjs';
import { z } from 'zod';
import { createRegistry, defineSource } from '../src/definitions.js';
import type { Candle, Signal, Trade } from '../src/model/index.js';
import { canonicalSymbol } from '../src/model/index.js';
import { adx } from '../src/operators/indicators/adx.js';
import { atr } from '../src/operators/indicators/atr.js';
import { bollinger } from '../src/operators/indicators/bollinger.js';
import { macd } from '../src/operators/indicators/macd.js';
import { rsi } from '../src/operators/indicators/rsi.js';
import { sma } from '../src/operators/indicators/sma.js';
import { stochastic } from '../src/operators/indicators/stochastic.js';
import { builtinOperators } from '../src/operators/registry.js';
import { compilePipeline } from '../src/pipelines/compile.js';
import { builtinSinks } from '../src/sinks/registry.js';
import { createBinanceParser, type BinanceFrameHandler } from '../src/sources/binance/parse.js';
import { createDropReporter } from '../src/sources/dropReporter.js';
import { aggTradeFrames, type RecordedFrames } from './frames.js';
import { createPlainChain } from './plainChain.js';

/** PERFORMANCE.md's bundle (RSI14, MACD 12/26/9, SMA20, SMA50, BB 20/2, ATR14) plus what the voters read. */
const INDICATORS = [rsi(14), macd(), sma(20), sma(50), bollinger(), atr(14), stochastic(), adx(14)];
const RISK = { equity: 10_000, riskPerTrade: 0.01, maxLeverage: 3, tickSize: 0.01, qtyStep: 0.00001 };
const MINUTE = 60_000;

export interface B1Result {
  readonly seconds: number;
  readonly signals: number;
  readonly hash: string;
}

function hashSignals(signals: readonly Signal[]): string {
  return createHash('sha256').update(JSON.stringify(signals)).digest('hex').slice(0, 16);
}

function engineConfig() {
  return {
    name: 'b1',
    nodes: [
      { id: 'frames', use: 'bench-frames' },
      { id: 'candles', use: 'build-candles', from: 'frames', params: { interval: '1m' } },
      { id: 'features', use: 'features', from: 'candles', params: { indicators: INDICATORS } },
      { id: 'trend', use: 'trend-voter', from: 'features' },
      { id: 'momentum', use: 'momentum-voter', from: 'features' },
      { id: 'mean-reversion', use: 'mean-reversion-voter', from: 'features' },
      { id: 'consensus', use: 'consensus', from: ['trend', 'momentum', 'mean-reversion'] },
      { id: 'risk', use: 'risk-plan', from: 'consensus', params: RISK },
      { id: 'out', use: 'discard', from: 'risk' },
    ],
  };
}

/** The engine: the chain compiled from a config, fed by the shared Binance parser. */
export async function runEngine(input: RecordedFrames): Promise<B1Result> {
  const framesSource = defineSource({
    kind: 'bench-frames',
    summary: 'Recorded frames held in memory',
    params: z.strictObject({}),
    output: 'trade',
    create: (_params, ctx) =>
      new Observable<Trade>((subscriber) => {
        const parser = createBinanceParser({ market: 'spot' });
        const drops = createDropReporter(ctx, ctx.node);
        const handler: BinanceFrameHandler = {
          record: (record) => {
            subscriber.next(record as Trade);
          },
          control: () => undefined,
          drop: (reason, frame) => {
            drops.drop('memory', reason, frame);
          },
        };
        const { frames, tsRecv } = input;
        for (let i = 0; i < frames.length && !subscriber.closed; i++) parser.parse(frames[i] as string, tsRecv[i] as number, handler);
        subscriber.complete();
      }),
  });
  const registry = createRegistry([framesSource, ...builtinOperators, ...builtinSinks]);
  const pipeline = compilePipeline(engineConfig(), { logger: pino({ level: 'silent' }) }, { registry });
  const start = process.hrtime.bigint();
  const signals = await lastValueFrom(pipeline.signals$.pipe(toArray()));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { seconds, signals: signals.length, hash: hashSignals(signals) };
}

interface AggTradeData {
  e?: unknown;
  s?: unknown;
  a?: unknown;
  p?: unknown;
  q?: unknown;
  T?: unknown;
  m?: unknown;
}

/**
 * The hand-written loop after decoding: an inline candle, then the shared plain decision chain.
 * `onTrade` takes one decoded trade; `finish` returns the signals.
 */
function plainLoop(): { onTrade: (price: number, qty: number, time: number, recv: number, symbol: string, buyerIsMaker: boolean) => void; signals: Signal[] } {
  const decide = createPlainChain(INDICATORS, RISK);
  const signals: Signal[] = [];
  let openTime = -1;
  let open = 0;
  let high = 0;
  let low = 0;
  let close = 0;
  let volume = 0;
  let quoteVolume = 0;
  let takerBuy = 0;
  let count = 0;
  let symbol = '';

  const closeBar = (at: number, tsRecv: number, barOpen: number, o: number, h: number, l: number, c: number, v: number, qv: number, n: number, tb: number): void => {
    const bar: Candle = {
      type: 'candle',
      venue: 'binance',
      symbol,
      tsEvent: at,
      tsRecv,
      interval: '1m',
      openTime: barOpen,
      closeTime: barOpen + MINUTE - 1,
      open: o,
      high: h,
      low: l,
      close: c,
      volume: v,
      quoteVolume: qv,
      trades: n,
      takerBuyVolume: tb,
      closed: true,
    };
    const signal = decide(bar);
    if (signal !== undefined) signals.push(signal);
  };

  const onTrade = (price: number, qty: number, time: number, recv: number, tradeSymbol: string, buyerIsMaker: boolean): void => {
    symbol = tradeSymbol;
    const bucket = time - (time % MINUTE);
    if (bucket !== openTime) {
      if (openTime >= 0) {
        closeBar(time, recv, openTime, open, high, low, close, volume, quoteVolume, count, takerBuy);
        for (let t = openTime + MINUTE; t < bucket; t += MINUTE) closeBar(time, recv, t, close, close, close, close, 0, 0, 0, 0);
      }
      openTime = bucket;
      open = high = low = price;
      volume = quoteVolume = takerBuy = 0;
      count = 0;
    }
    if (price > high) high = price;
    if (price < low) low = price;
    close = price;
    volume += qty;
    quoteVolume += price * qty;
    if (!buyerIsMaker) takerBuy += qty;
    count++;
  };
  return { onTrade, signals };
}

/** The hand-written loop with its own decoding: JSON.parse and the same field checks. */
export function runPlain(input: RecordedFrames): B1Result {
  const start = process.hrtime.bigint();
  const { onTrade, signals } = plainLoop();
  const symbols = new Map<string, string>();
  const { frames, tsRecv } = input;
  for (let i = 0; i < frames.length; i++) {
    let message: { data?: AggTradeData };
    try {
      message = JSON.parse(frames[i] as string) as { data?: AggTradeData };
    } catch {
      continue;
    }
    const data = message.data;
    if (data === undefined || data.e !== 'aggTrade' || typeof data.s !== 'string' || typeof data.p !== 'string' || typeof data.q !== 'string') continue;
    const price = Number(data.p);
    const qty = Number(data.q);
    const time = data.T;
    if (!(price > 0 && price < Infinity && qty > 0 && qty < Infinity) || typeof time !== 'number' || !Number.isInteger(time) || typeof data.a !== 'number') continue;
    let canonical = symbols.get(data.s);
    if (canonical === undefined) {
      canonical = canonicalSymbol(data.s);
      symbols.set(data.s, canonical);
    }
    onTrade(price, qty, time, tsRecv[i] as number, canonical, data.m === true);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { seconds, signals: signals.length, hash: hashSignals(signals) };
}

/**
 * The same loop decoding with alphaflow's Binance parser, as the engine does: the ratio of the
 * engine to this side is the cost of the engine alone, with no decoder difference in it.
 */
export function runPlainSameDecoder(input: RecordedFrames): B1Result {
  const start = process.hrtime.bigint();
  const { onTrade, signals } = plainLoop();
  const parser = createBinanceParser({ market: 'spot' });
  const handler: BinanceFrameHandler = {
    record: (record) => {
      const trade = record as Trade;
      onTrade(trade.price, trade.qty, trade.tsEvent, trade.tsRecv, trade.symbol, trade.side === 'sell');
    },
    control: () => undefined,
    drop: () => undefined,
  };
  const { frames, tsRecv } = input;
  for (let i = 0; i < frames.length; i++) parser.parse(frames[i] as string, tsRecv[i] as number, handler);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { seconds, signals: signals.length, hash: hashSignals(signals) };
}

/** B0, the decode floor: JSON.parse of each frame and reading p, q and T, nothing else. */
export function runFloor(input: RecordedFrames): B1Result {
  const start = process.hrtime.bigint();
  let checksum = 0;
  for (const frame of input.frames) {
    const data = (JSON.parse(frame) as { data: { p: string; q: string; T: number } }).data;
    checksum += Number(data.p) + Number(data.q) + data.T;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { seconds, signals: 0, hash: checksum.toString(36) };
}

const REPS = 5;

/**
 * One process: a warm-up of each side, then REPS rounds in which every side runs once, the order
 * alternating between rounds, so all sides see the same machine state (these VMs drift between a
 * fast and a slow state for seconds at a time; a paired ratio is robust to it, a median is not).
 */
async function main(): Promise<void> {
  const events = Number(process.argv[2] ?? 1_000_000);
  const input = aggTradeFrames(events);
  const sides = {
    engine: (): Promise<B1Result> => runEngine(input),
    plain: (): Promise<B1Result> => Promise.resolve(runPlainSameDecoder(input)),
    'plain-json': (): Promise<B1Result> => Promise.resolve(runPlain(input)),
    b0: (): Promise<B1Result> => Promise.resolve(runFloor(input)),
  };
  const order = ['engine', 'plain', 'plain-json', 'b0'] as const;
  for (const side of order) await sides[side]();
  for (let rep = 0; rep < REPS; rep++) {
    for (const side of rep % 2 === 0 ? order : [...order].reverse()) {
      const result = await sides[side]();
      process.stdout.write(`${JSON.stringify({ bench: 'B1', side, rep, events, bytes: input.bytes, ...result, eventsPerSecond: events / result.seconds })}\n`);
    }
  }
}
if (process.argv[1]?.endsWith('b1-replay.ts') === true) await main();
