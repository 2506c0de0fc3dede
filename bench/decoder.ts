/**
 * The Binance frame decoder alone, on PERFORMANCE.md's generated aggTrade frames:
 *
 *   tsx bench/decoder.ts [frames]
 *
 * - `json`: bare `JSON.parse` of each frame, nothing read (the floor of any `JSON.parse` decoder);
 * - `b0`: `JSON.parse` and `+p`, `+q`, `T` read, as B0 in b1-replay.ts;
 * - `old`: `createBinanceParser` with `fastPath: false`, i.e. `JSON.parse` and the hand checks;
 * - `new`: `createBinanceParser` as shipped, with the fast path.
 *
 * Every side builds a checksum of what it decoded, and the two parsers must agree on it. One
 * process: a warm-up of each side, then ROUNDS rounds in which each side runs once, the order
 * alternating, so that all sides see the same machine state. One JSON line per timed run, then
 * one line of medians. Compare sides within one run only: these machines drift by 15 % between
 * runs.
 */
import type { BinanceFrameHandler, BinanceRecord } from '../src/sources/binance/parse.js';
import { createBinanceParser } from '../src/sources/binance/parse.js';
import { aggTradeFrames, type RecordedFrames } from './frames.js';
import { median } from './stats.js';

const ROUNDS = 5;

interface Run {
  readonly seconds: number;
  readonly checksum: number;
}

function time(body: () => number): Run {
  const start = process.hrtime.bigint();
  const checksum = body();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, checksum };
}

function runJson({ frames }: RecordedFrames): Run {
  return time(() => {
    let checksum = 0;
    for (const frame of frames) if (JSON.parse(frame) !== null) checksum++;
    return checksum;
  });
}

function runB0({ frames }: RecordedFrames): Run {
  return time(() => {
    let checksum = 0;
    for (const frame of frames) {
      const data = (JSON.parse(frame) as { data: { p: string; q: string; T: number } }).data;
      checksum += Number(data.p) + Number(data.q) + data.T;
    }
    return checksum;
  });
}

function runParser({ frames, tsRecv }: RecordedFrames, fastPath: boolean): Run {
  return time(() => {
    const parser = createBinanceParser({ market: 'spot', fastPath });
    let checksum = 0;
    const handler: BinanceFrameHandler = {
      record: (record: BinanceRecord) => {
        if (record.type === 'trade') checksum += record.price + record.qty + record.tsEvent + record.id;
      },
      control: () => undefined,
      drop: () => {
        checksum = NaN;
      },
    };
    for (let i = 0; i < frames.length; i++) parser.parse(frames[i] as string, tsRecv[i] as number, handler);
    return checksum;
  });
}

function main(): void {
  const count = Number(process.argv[2] ?? 1_000_000);
  const input = aggTradeFrames(count);
  const sides = {
    json: () => runJson(input),
    b0: () => runB0(input),
    old: () => runParser(input, false),
    new: () => runParser(input, true),
  };
  const order = ['json', 'b0', 'old', 'new'] as const;
  const rates: Record<(typeof order)[number], number[]> = { json: [], b0: [], old: [], new: [] };
  for (const side of order) sides[side]();
  for (let round = 0; round < ROUNDS; round++) {
    const checksums: Partial<Record<(typeof order)[number], number>> = {};
    for (const side of round % 2 === 0 ? order : [...order].reverse()) {
      const run = sides[side]();
      checksums[side] = run.checksum;
      rates[side].push(count / run.seconds);
      process.stdout.write(`${JSON.stringify({ bench: 'decoder', side, round, frames: count, seconds: run.seconds, framesPerSecond: count / run.seconds })}\n`);
    }
    if (checksums.old !== checksums.new) throw new Error(`the parsers disagree: old ${String(checksums.old)}, new ${String(checksums.new)}`);
  }
  const medians = Object.fromEntries(order.map((side) => [side, Math.round(median(rates[side]))]));
  const ratios = Object.fromEntries(order.map((side) => [`newOver_${side}`, Number((median(rates.new) / median(rates[side])).toFixed(2))]));
  process.stdout.write(`${JSON.stringify({ bench: 'decoder', frames: count, rounds: ROUNDS, medianFramesPerSecond: medians, ...ratios })}\n`);
}

if (process.argv[1]?.endsWith('decoder.ts') === true) main();
