/**
 * Replays a recording: every recorded frame goes through the parser of its feed, with the
 * recorded receive time as `tsRecv`, so replay emits the records live emitted.
 *
 *   file:    open recv recv recv(bad) rest recv ...
 *   records: ---- a    b    --------  ---- c   ...   (bad frame: dropped, counted, warned with file:line)
 *
 * Without `speed` records come as fast as the file reads; with `speed` they are paced on
 * `ctx.scheduler` by their recorded receive times (`speed: 60` plays an hour in a minute).
 * REST answers are read but not used yet (the order-book builder will take them).
 *
 * ```yaml
 * - id: tape
 *   use: replay-file
 *   params: { path: recordings/day.ndjson.gz, types: [trade], symbols: [BTC-USDT] }
 * ```
 *
 * @see docs/recording-format.md
 */
import { resolve } from 'node:path';
import { defer, type Observable } from 'rxjs';
import { z } from 'zod';
import type { NodeContext } from '../../context.js';
import { defineSource } from '../../definitions.js';
import { quote } from '../../errors.js';
import { METRIC } from '../../metrics.js';
import { canonicalSymbol, tryCanonicalSymbol } from '../../model/index.js';
import { binanceRawStream } from '../binance/binanceUrls.js';
import { createBinanceParser, type BinanceFrameHandler, type BinanceParser, type BinanceRecord } from '../binance/parse.js';
import { createDropReporter } from '../dropReporter.js';
import { emitRecords } from '../emitRecords.js';
import { readRecording, type RecordingFormat } from './recording.js';

/** Record types a recording can replay. */
export const REPLAY_TYPES = ['trade', 'candle', 'book-top', 'book-depth', 'liquidation', 'mark-price'] as const;
export type ReplayType = (typeof REPLAY_TYPES)[number];

export interface ReplayFileOptions {
  /** The recording, relative to `ctx.baseDir` (or absolute); `.gz` or plain. */
  readonly path: string;
  /** `alphaflow` or `cryptofeed`; omit to detect from the first line. */
  readonly format?: RecordingFormat | undefined;
  /** Omit for as fast as possible; otherwise a multiple of real time, paced on `ctx.scheduler`. */
  readonly speed?: number | undefined;
  /** Keep only these record types. */
  readonly types?: readonly ReplayType[] | undefined;
  /** Keep only these symbols (canonical, e.g. `BTC-USDT`). */
  readonly symbols?: readonly string[] | undefined;
}

/** The parser of each feed a recording may hold. */
const PARSED_FEEDS: Readonly<Record<string, 'spot' | 'usdm'>> = { binance: 'spot', 'binance-usdm': 'usdm' };

/** A cold Observable of the records in a recording; see the module doc. */
export function replayFile(options: ReplayFileOptions, ctx: NodeContext): Observable<BinanceRecord> {
  const { speed, format } = options;
  if (speed !== undefined && !(speed > 0 && Number.isFinite(speed))) {
    throw new RangeError(`Replay speed ${quote(speed)} must be a positive number (or left out for as fast as possible)`);
  }
  const file = resolve(ctx.baseDir, options.path);
  const types: ReadonlySet<string> | undefined = options.types === undefined ? undefined : new Set(options.types);
  const symbols: ReadonlySet<string> | undefined = options.symbols === undefined ? undefined : new Set(options.symbols.map((symbol) => canonicalSymbol(symbol)));
  const source = ctx.node === '' ? 'replay-file' : ctx.node;
  const received = ctx.metrics.counter(METRIC.received, 'Records a source delivered downstream, by source').bind({ source });

  return defer(() => {
    // Everything below is per subscription.
    const drops = createDropReporter(ctx, source);
    const parsers = new Map<string, BinanceParser | null>();
    const rawStreams = new Map<string, string>();
    let batch: BinanceRecord[] = [];
    let line = 0;
    let records = 0;

    const handler: BinanceFrameHandler = {
      record: (record) => {
        if ((types === undefined || types.has(record.type)) && (symbols === undefined || symbols.has(record.symbol))) batch.push(record);
      },
      // Replies and shutdown notices steer a live connection; a replay has none to steer.
      control: () => undefined,
      drop: (reason, frame) => {
        drops.drop(`${file}:${line}`, reason, frame);
      },
    };

    const parserOf = (feed: string): BinanceParser | null => {
      let parser = parsers.get(feed);
      if (parser === undefined) {
        const market = PARSED_FEEDS[feed];
        parser = market === undefined ? null : createBinanceParser({ market });
        parsers.set(feed, parser);
      }
      return parser;
    };

    async function* batches(): AsyncGenerator<readonly BinanceRecord[], void, undefined> {
      ctx.logger.debug({ path: file, format: format ?? 'detect' }, 'replay started');
      for await (const entries of readRecording(file, { format })) {
        batch = [];
        for (const entry of entries) {
          switch (entry.kind) {
            case 'recv': {
              const parser = parserOf(entry.feed);
              line = entry.line;
              if (parser === null) drops.drop(`${file}:${line}`, `unsupported feed ${quote(entry.feed)}`, entry.frame);
              else parser.parse(entry.frame, entry.time, handler, entry.stream ?? rawStreams.get(entry.conn));
              break;
            }
            case 'open': {
              const stream = binanceRawStream(entry.url);
              if (stream === undefined) rawStreams.delete(entry.conn);
              else rawStreams.set(entry.conn, stream);
              break;
            }
            case 'rest':
              ctx.logger.debug({ origin: `${file}:${entry.line}`, url: entry.url, status: entry.status }, 'REST answer not replayed yet');
              break;
            case 'invalid':
              drops.drop(`${file}:${entry.line}`, `bad line: ${entry.reason}`, entry.text);
              break;
            default:
              // send, close and meta lines carry nothing to emit.
              break;
          }
        }
        records += batch.length;
        received.inc(batch.length);
        yield batch;
      }
    }

    return emitRecords(batches, {
      speed,
      scheduler: ctx.scheduler,
      timeOf: (record) => record.tsRecv,
      finalize: () => {
        drops.summarize();
        ctx.logger.info({ path: file, records, dropped: drops.count }, 'replay ended');
      },
    });
  });
}

const symbolParam = z
  .string()
  .refine((value) => tryCanonicalSymbol(value) !== undefined, {
    error: (issue) => `Symbol ${JSON.stringify(issue.input)} is not recognised: write it as BASE-QUOTE, e.g. "BTC-USDT"`,
  })
  .transform((value) => canonicalSymbol(value));

export const replayFileParams = z.strictObject({
  path: z.string().min(1),
  format: z.enum(['alphaflow', 'cryptofeed']).optional(),
  speed: z.number().positive().optional(),
  types: z.array(z.enum(REPLAY_TYPES)).min(1).optional(),
  symbols: z.array(symbolParam).min(1).optional(),
});

export const replayFileSource = defineSource({
  kind: 'replay-file',
  summary: 'Replays a recording (alphaflow or cryptofeed) through the venue parsers, fast or paced by receive time',
  params: replayFileParams,
  output: 'any',
  describe: (params) => (params.types?.length === 1 && params.types[0] !== undefined ? { type: params.types[0] } : {}),
  create: (params, ctx) => replayFile(params, ctx),
});
