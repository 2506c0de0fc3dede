import { resolve } from 'node:path';
import { defer, type Observable, tap } from 'rxjs';
import { z } from 'zod';
import type { NodeContext } from '../../context.js';
import { defineSource } from '../../definitions.js';
import { METRIC } from '../../metrics.js';
import type { Candle, Flow } from '../../model/index.js';
import { canonicalSymbol, intervalMs, tryCanonicalSymbol } from '../../model/index.js';
import { intervalParam } from '../../operators/candles/buildCandles.js';
import { createDropReporter } from '../dropReporter.js';
import { emitRecords } from '../emitRecords.js';
import { readLines } from './readLines.js';
import { klinesCsvFileName } from './klinesCsvFileName.js';
import { KlinesCsvParser } from './klinesCsvParser.js';

export interface BinanceKlinesCsvOptions {
  /** The CSV (plain or gzipped), relative to `ctx.baseDir`. */
  readonly path: string;
  /** Canonical symbol (`BTC-USDT`); default: read from a Binance file name such as `BTCUSDT-1m-2025-01.csv`. */
  readonly symbol?: string | undefined;
  /** Candle interval; default: from the file name, else from the data (close_time, or the first two rows). */
  readonly interval?: string | undefined;
  /** Venue of the candles (default `binance`). */
  readonly venue?: string | undefined;
  /** Leave out for as fast as possible; else a multiple of real time, paced on `ctx.scheduler` by event time. */
  readonly speed?: number | undefined;
  /** Only candles opening at or after this instant: epoch ms or ISO 8601 (UTC when no zone is given). */
  readonly from?: number | string | undefined;
  /** Only candles opening before this instant: epoch ms or ISO 8601 (UTC when no zone is given). */
  readonly to?: number | string | undefined;
}

/**
 * Replays a Binance kline CSV as closed candles: the data.binance.vision 12-column layout (epoch ms
 * or µs, with or without a header) or a 6-column `timestamp,open,high,low,close,volume` export
 * (`YYYY-MM-DD HH:MM:SS` UTC or epoch open times), plain or gzipped.
 *
 * Each candle is emitted closed, stamped at the moment its bar ended (`tsEvent = tsRecv = closeTime + 1`).
 * A bad line is dropped, counted in `alphaflow_dropped_total` by reason and logged as a warning
 * with its `file:line`; it never stops the replay. Missing rows become a `gap` event (stream
 * `candle:<interval>`, not recoverable) just before the candle that follows them: gaps are data.
 *
 *   file:     12:00  13:00(missing)  14:00  15:00
 *   output:   --a-----------------(gb)----c--|     (g = gap 13:00..13:00, then b = the 14:00 bar)
 *
 * Without `speed` the file is read as fast as possible; with `speed: 60` one minute of candles
 * takes one second of `ctx.scheduler` time.
 *
 * ```yaml
 * - id: klines
 *   kind: binance-klines-csv
 *   params: { path: data/BTCUSDT-1m-2025-01.csv.gz, from: 2025-01-02, to: 2025-01-03 }
 * ```
 */
export function binanceKlinesCsv(options: BinanceKlinesCsvOptions, ctx: NodeContext): Observable<Flow<Candle>> {
  const named = klinesCsvFileName(options.path);
  const symbol = options.symbol === undefined ? named.symbol : canonicalSymbol(options.symbol);
  if (symbol === undefined) throw new RangeError(missingSymbol(options.path));
  const interval = options.interval ?? named.interval;
  if (interval !== undefined) intervalMs(interval);
  const speed = options.speed;
  if (speed !== undefined && !(speed > 0 && Number.isFinite(speed))) {
    throw new RangeError(`Replay speed "${speed}" must be a positive number (or left out for as fast as possible)`);
  }
  const from = bound('from', options.from);
  const to = bound('to', options.to);
  if (from !== undefined && to !== undefined && !(from < to)) {
    throw new RangeError(`Bound "from" (${new Date(from).toISOString()}) must be before "to" (${new Date(to).toISOString()})`);
  }
  const venue = options.venue ?? 'binance';
  const file = resolve(ctx.baseDir, options.path);
  const source = ctx.node === '' ? 'binance-klines-csv' : ctx.node;

  return defer(() => {
    // Everything below belongs to this subscription.
    const drops = createDropReporter(ctx, source);
    const received = ctx.metrics.counter(METRIC.received, 'Records a source delivered downstream, by source').bind({ source });
    const parser = new KlinesCsvParser({ file: options.path, venue, symbol, interval, from, to, drops });
    ctx.logger.debug({ file: options.path, symbol, interval, speed, from, to }, 'kline replay started');
    async function* batches(): AsyncGenerator<readonly Flow<Candle>[], void, undefined> {
      for await (const batch of readLines(file)) {
        const records = parser.push(batch.lines, batch.firstLine);
        if (records.length > 0) yield records;
        // Rows are in time order: past `to` there is nothing left to read.
        if (parser.done) return;
      }
      parser.end();
    }
    return emitRecords(batches, {
      speed,
      scheduler: ctx.scheduler,
      timeOf: (record) => record.tsEvent,
      finalize: () => {
        drops.summarize();
        ctx.logger.info(
          { file: options.path, symbol, interval: parser.interval, candles: parser.candles, gaps: parser.gaps, dropped: drops.count },
          'kline replay ended',
        );
      },
    }).pipe(
      tap(() => {
        received.inc();
      }),
    );
  });
}

function missingSymbol(path: string): string {
  return `Cannot tell the symbol from the file name ${JSON.stringify(path)}: set "symbol" (e.g. "BTC-USDT"), or use a Binance file name such as BTCUSDT-1m-2025-01.csv`;
}

function bound(name: string, value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseTimeBound(value);
  if (ms === undefined) throw new RangeError(boundMessage(name, value));
  return ms;
}

function boundMessage(name: string | undefined, value: unknown): string {
  return `${name === undefined ? 'Bound' : `Bound "${name}"`} ${JSON.stringify(value)} is not a time: use epoch ms or ISO 8601 such as "2025-01-01" or "2025-01-01T03:00:00Z"`;
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** Epoch ms of a bound given as epoch ms or ISO 8601 (read as UTC when it has no zone); undefined when it is neither. */
function parseTimeBound(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return parseTimeBound(Number(text));
  const match = ISO_TIME.exec(text);
  if (match === null) return undefined;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = [1, 2, 3, 4, 5, 6].map((i) => Number(match[i] ?? 0));
  const monthDays = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > monthDays || hour > 23 || minute > 59 || second > 59) return undefined;
  // Date-only forms are UTC in ECMAScript; date-times without a zone would be local time: make them UTC.
  const normalized = text.replace(' ', 'T');
  const ms = Date.parse(match[4] !== undefined && match[7] === undefined ? `${normalized}Z` : normalized);
  return Number.isNaN(ms) || ms < 0 ? undefined : ms;
}

const symbolParam = z.string().refine((value) => tryCanonicalSymbol(value) !== undefined, {
  error: (issue) => `Symbol ${JSON.stringify(issue.input)} is not recognised: write it as BASE-QUOTE, e.g. "BTC-USDT"`,
});

const timeBoundParam = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const ms = parseTimeBound(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: boundMessage(undefined, value), input: value });
    return z.NEVER;
  }
  return ms;
});

export const binanceKlinesCsvParams = z
  .strictObject({
    path: z.string().min(1),
    symbol: symbolParam.transform((value) => canonicalSymbol(value)).optional(),
    interval: intervalParam.optional(),
    venue: z.string().min(1).default('binance'),
    speed: z.number().positive().optional(),
    from: timeBoundParam.optional(),
    to: timeBoundParam.optional(),
  })
  .superRefine((params, ctx) => {
    if (params.symbol === undefined && klinesCsvFileName(params.path).symbol === undefined) {
      ctx.addIssue({ code: 'custom', path: ['symbol'], message: missingSymbol(params.path) });
    }
    if (params.from !== undefined && params.to !== undefined && !(params.from < params.to)) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `"to" must be after "from"` });
    }
  });

export const binanceKlinesCsvSource = defineSource({
  kind: 'binance-klines-csv',
  summary: 'Replay a Binance kline CSV (12-column data.binance.vision or 6-column OHLCV, gzip ok) as closed candles, with gap events',
  params: binanceKlinesCsvParams,
  output: 'candle',
  describe: (params) => {
    const interval = params.interval ?? klinesCsvFileName(params.path).interval;
    return interval === undefined ? {} : { interval };
  },
  create: (params, ctx) => binanceKlinesCsv(params, ctx),
});
