import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { pino } from 'pino';
import { lastValueFrom, type Observable, toArray, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createContext, type NodeContext } from '../../../src/context.js';
import { Metrics, METRIC } from '../../../src/metrics.js';
import type { Candle, Flow, Gap } from '../../../src/model/index.js';
import { CandleSchema, GapSchema } from '../../../src/model/index.js';
import { KlinesCsvParser } from '../../../src/sources/replay/klinesCsvParser.js';
import { binanceKlinesCsv, binanceKlinesCsvParams, binanceKlinesCsvSource, type BinanceKlinesCsvOptions } from '../../../src/sources/replay/klinesCsv.js';
import { HOUR, MINUTE, T0 } from '../../support/builders.js';
import { testDefinitionContract } from '../../support/contracts.js';
import { hasSharedData, sharedData } from '../../support/data.js';

const dir = mkdtempSync(join(tmpdir(), 'alphaflow-klines-'));
const HEADER_12 = 'open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore';
const HEADER_6 = 'timestamp,open,high,low,close,volume';

/** Writes `text` (gzipped when asked) into the temp folder; returns the name relative to it. */
function write(name: string, text: string, gzip = false): string {
  writeFileSync(join(dir, name), gzip ? gzipSync(text) : text);
  return name;
}

/** A 12-column row as data.binance.vision writes it, 1m bars; `unit` 1000 writes µs. */
function row12(openTime: number, [open, high, low, close, volume]: readonly string[], unit = 1, closeTime = openTime + MINUTE - 1): string {
  return [openTime * unit, open, high, low, close, volume, closeTime * unit + (unit - 1), '100.5', '7', '0.25', '25.1', '0'].join(',');
}

interface Captured {
  readonly ctx: NodeContext;
  readonly logs: Record<string, unknown>[];
}

function capture(overrides: Partial<NodeContext> = {}): Captured {
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  return { ctx: createContext({ logger, metrics: new Metrics(), baseDir: dir, ...overrides }), logs };
}

async function replay(options: BinanceKlinesCsvOptions, ctx: NodeContext = capture().ctx): Promise<Flow<Candle>[]> {
  return lastValueFrom(binanceKlinesCsv(options, ctx).pipe(toArray()));
}

function warnings(logs: readonly Record<string, unknown>[]): [unknown, unknown][] {
  return logs.filter((entry) => entry.level === 40 && entry.origin !== undefined).map((entry) => [entry.origin, entry.reason]);
}

/** Expected candle, written out by hand from the row values. */
function expectedCandle(openTime: number, ohlcv: readonly [number, number, number, number, number], extra: Partial<Candle> = {}): Candle {
  const [open, high, low, close, volume] = ohlcv;
  return {
    type: 'candle',
    venue: 'binance',
    symbol: 'BTC-USDT',
    tsEvent: openTime + MINUTE,
    tsRecv: openTime + MINUTE,
    interval: '1m',
    openTime,
    closeTime: openTime + MINUTE - 1,
    open,
    high,
    low,
    close,
    volume,
    closed: true,
    ...extra,
  };
}

const FULL = { quoteVolume: 100.5, trades: 7, takerBuyVolume: 0.25 };
const ROWS = [
  ['100.00000000', '101.50000000', '99.00000000', '101.00000000', '12.50000000'],
  ['101.00000000', '102.00000000', '100.50000000', '100.75000000', '3.00000000'],
  ['100.75000000', '100.75000000', '98.00000000', '99.10000000', '0.00000000'],
] as const;
const EXPECTED_12 = [
  expectedCandle(T0, [100, 101.5, 99, 101, 12.5], FULL),
  expectedCandle(T0 + MINUTE, [101, 102, 100.5, 100.75, 3], FULL),
  expectedCandle(T0 + 2 * MINUTE, [100.75, 100.75, 98, 99.1, 0], FULL),
];
const ms12 = write('BTCUSDT-1m-2025-01-01.csv', [HEADER_12, ...ROWS.map((values, i) => row12(T0 + i * MINUTE, values))].join('\n') + '\n');

describe('binanceKlinesCsv', () => {
  it('reads the 12-column layout with a header as closed candles stamped at their close', async () => {
    const out = await replay({ path: ms12 });
    expect(out, 'tsEvent = tsRecv = closeTime + 1; quote volume, trades and taker-buy volume come from the file').toStrictEqual(EXPECTED_12);
    for (const record of out) expect(CandleSchema.safeParse(record).success, 'emitted candles satisfy the schema').toBe(true);
  });

  it('reads data.binance.vision microsecond files without a header', async () => {
    const path = write('BTCUSDT-1m-2025-01-02.csv', ROWS.map((values, i) => row12(T0 + i * MINUTE, values, 1000)).join('\r\n'));
    const out = await replay({ path });
    expect(out, 'µs times are told by magnitude and give the same candles').toStrictEqual(EXPECTED_12);
  });

  it('gunzips a gzip file', async () => {
    const path = write('BTCUSDT-1m-2025-01-03.csv.gz', [HEADER_12, ...ROWS.map((values, i) => row12(T0 + i * MINUTE, values))].join('\n'), true);
    expect(await replay({ path }), 'gzip is told by its magic bytes, not the name').toStrictEqual(EXPECTED_12);
  });

  it('reads the 6-column layout with UTC date-times or epoch open times, with or without a header', async () => {
    const expected = [expectedCandle(T0, [94098.9, 94098.91, 94049.47, 94049.47, 7.50148]), expectedCandle(T0 + MINUTE, [94049.46, 94049.46, 93980.35, 93980.36, 4.83642])];
    const dated = write('BTCUSDT-1m-six.csv', `${HEADER_6}\n2025-01-01 00:00:00,94098.9,94098.91,94049.47,94049.47,7.50148\n2025-01-01 00:01:00,94049.46,94049.46,93980.35,93980.36,4.83642\n`);
    const epoch = write('BTCUSDT-1m-six-epoch.csv', `${T0},94098.9,94098.91,94049.47,94049.47,7.50148\n${(T0 + MINUTE) * 1000},94049.46,94049.46,93980.35,93980.36,4.83642\n`);
    expect(await replay({ path: dated }), '2025-01-01 00:00:00 is read as UTC; no quote volume or trades in this layout').toStrictEqual(expected);
    expect(await replay({ path: epoch }), 'epoch ms and µs in the first column').toStrictEqual(expected);
  });

  it('reads every number exactly as Number does, whatever its digits', () => {
    // Plain decimals of 1 to 18 digits with 0 to 17 places: the in-place fast path and the Number fallback.
    const decimal = fc
      .tuple(fc.bigInt({ min: 1n, max: 10n ** 18n - 1n }), fc.integer({ min: 0, max: 17 }))
      .map(([digits, places]) => {
        const text = digits.toString().padStart(places + 1, '0');
        return places === 0 ? text : `${text.slice(0, -places)}.${text.slice(-places)}`;
      });
    fc.assert(
      fc.property(fc.array(fc.tuple(decimal, decimal), { minLength: 1, maxLength: 20 }), (pairs) => {
        const lines = pairs.map(([price, volume], i) => `${T0 + i * MINUTE},${price},${price},${price},${price},${volume}`);
        const drops = {
          drop: (origin: string, reason: string) => {
            throw new Error(`${origin}: ${reason}`);
          },
        };
        const parser = new KlinesCsvParser({ file: 'prop.csv', venue: 'binance', symbol: 'BTC-USDT', interval: '1m', drops });
        const out = parser.push(lines, 1) as Candle[];
        expect(out.map((bar) => [bar.open, bar.volume]), 'Number is the oracle').toStrictEqual(pairs.map(([price, volume]) => [Number(price), Number(volume)]));
      }),
      { numRuns: 300 },
    );
  });

  it('infers symbol and interval from a Binance file name', async () => {
    const path = write('ETHBTC-5m-2025-01-01.csv', `${T0},1,1,1,1,1,${T0 + 5 * MINUTE - 1},1,1,1,1,0\n`);
    const [bar] = await replay({ path });
    expect(bar, 'ETHBTC -> ETH-BTC, 5m from the name').toMatchObject({ symbol: 'ETH-BTC', interval: '5m', closeTime: T0 + 5 * MINUTE - 1 });
    expect(binanceKlinesCsvSource.describe?.(binanceKlinesCsvParams.parse({ path })), 'the interval is known statically').toStrictEqual({ interval: '5m' });
  });

  it('infers the interval from close_time (12 columns) or from the first two rows (6 columns)', async () => {
    const twelve = write('export-a.csv', `${T0},1,1,1,1,1,${T0 + 15 * MINUTE - 1},1,1,1,1,0\n`);
    const six = write('export-b.csv', `${HEADER_6}\n${T0},1,1,1,1,1\n${T0 + 4 * HOUR},1,1,1,1,1\n${T0 + 8 * HOUR},1,1,1,1,1\n`);
    const [a] = await replay({ path: twelve, symbol: 'BTC-USDT' });
    expect(a, 'close_time - open_time + 1 = 15 min').toMatchObject({ interval: '15m', closeTime: T0 + 15 * MINUTE - 1 });
    const b = await replay({ path: six, symbol: 'BTCUSDT' });
    expect(b.map((bar) => [bar.type, (bar as Candle).interval, bar.tsEvent]), 'rows 4 h apart; symbol BTCUSDT normalised').toStrictEqual([
      ['candle', '4h', T0 + 4 * HOUR],
      ['candle', '4h', T0 + 8 * HOUR],
      ['candle', '4h', T0 + 12 * HOUR],
    ]);
    expect(b[0]?.symbol, 'BTCUSDT is normalised to the canonical form').toBe('BTC-USDT');
    expect(binanceKlinesCsvSource.describe?.(binanceKlinesCsvParams.parse({ path: six, symbol: 'BTC-USDT' })), 'not known before reading').toStrictEqual({});
  });

  it('fails clearly when a 6-column file has one row and no interval to go by', async () => {
    const path = write('single.csv', `${T0},1,1,1,1,1\n`);
    await expect(replay({ path, symbol: 'BTC-USDT' }), 'fatal: no row could be given an interval').rejects.toThrow('single.csv:1: cannot infer the candle interval from a single row: set params.interval');
  });

  it('says to set the symbol when the file name does not carry one', () => {
    const result = binanceKlinesCsvParams.safeParse({ path: 'data/klines.csv' });
    expect(result.success, 'an unusable config is rejected before anything opens').toBe(false);
    expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message]), 'reported at params.symbol').toStrictEqual([
      ['symbol', 'Cannot tell the symbol from the file name "data/klines.csv": set "symbol" (e.g. "BTC-USDT"), or use a Binance file name such as BTCUSDT-1m-2025-01.csv'],
    ]);
    expect(() => binanceKlinesCsv({ path: 'data/klines.csv' }, createContext()), 'the library function says the same').toThrow('set "symbol"');
  });

  it('validates params at the boundary', () => {
    const problems = (params: unknown): string[] => binanceKlinesCsvParams.safeParse(params).error?.issues.map((issue) => issue.path.join('.')) ?? [];
    expect(problems({ path: ms12, interval: '7x' }), 'bad interval').toStrictEqual(['interval']);
    expect(problems({ path: ms12, symbol: 'NOTASYMBOL' }), 'unknown symbol').toStrictEqual(['symbol']);
    expect(problems({ path: ms12, speed: 0 }), 'speed must be positive').toStrictEqual(['speed']);
    expect(problems({ path: ms12, from: 'yesterday' }), 'from must be a time').toStrictEqual(['from']);
    expect(problems({ path: ms12, from: '2025-02-30' }), 'no 30 February').toStrictEqual(['from']);
    expect(problems({ path: ms12, from: '2025-01-02', to: '2025-01-01' }), 'to after from').toStrictEqual(['to']);
    const parsed = binanceKlinesCsvParams.parse({ path: ms12, from: '2025-01-01 00:01', to: T0 + 2 * MINUTE });
    expect([parsed.venue, parsed.from, parsed.to], 'defaults; a date-time without a zone is UTC').toStrictEqual(['binance', T0 + MINUTE, T0 + 2 * MINUTE]);
  });

  it('keeps only candles opening in [from, to), given as ISO or epoch ms', async () => {
    const iso = await replay({ path: ms12, from: '2025-01-01T00:01:00Z', to: '2025-01-01T00:02:00Z' });
    expect(iso, 'from is inclusive, to exclusive').toStrictEqual([EXPECTED_12[1]]);
    const epoch = await replay({ path: ms12, from: T0 + MINUTE });
    expect(epoch, 'epoch ms bound, no upper bound').toStrictEqual(EXPECTED_12.slice(1));
  });

  it('emits a gap event before the candle that follows missing rows, clipped to from', async () => {
    const path = write('BTCUSDT-1m-gappy.csv', [0, 1, 4, 5].map((i) => row12(T0 + i * MINUTE, ROWS[0])).join('\n'));
    const gap: Gap = {
      type: 'gap',
      venue: 'binance',
      symbol: 'BTC-USDT',
      tsEvent: T0 + 5 * MINUTE,
      tsRecv: T0 + 5 * MINUTE,
      stream: 'candle:1m',
      from: T0 + 2 * MINUTE,
      to: T0 + 3 * MINUTE,
      recoverable: false,
      reason: '2 candles missing in BTCUSDT-1m-gappy.csv: no valid rows for 2025-01-01T00:02:00.000Z to 2025-01-01T00:03:00.000Z',
    };
    const out = await replay({ path });
    expect(out.map((record) => [record.type, record.tsEvent]), 'the gap comes just before the 00:04 candle, at its time').toStrictEqual([
      ['candle', T0 + MINUTE],
      ['candle', T0 + 2 * MINUTE],
      ['gap', T0 + 5 * MINUTE],
      ['candle', T0 + 5 * MINUTE],
      ['candle', T0 + 6 * MINUTE],
    ]);
    expect(out[2], 'missing open times 00:02 and 00:03, lost for good').toStrictEqual(gap);
    expect(GapSchema.safeParse(out[2]).success, 'the gap satisfies the schema').toBe(true);
    const clipped = await replay({ path, from: T0 + 3 * MINUTE });
    expect(clipped[0], 'rows before from count for order, the gap starts at from').toMatchObject({ type: 'gap', from: T0 + 3 * MINUTE, to: T0 + 3 * MINUTE });
  });

  it('skips every malformed line with its file:line and reason, counts it, and still emits the rest', async () => {
    const good = ROWS[0];
    const m = (i: number): number => T0 + i * MINUTE;
    const lines = [
      HEADER_12, // 1
      row12(m(0), good), // 2 ok
      row12(m(1), good).split(',').slice(0, 11).join(','), // 3
      row12(m(1), ['100', 'abc', '99', '100', '1']), // 4
      row12(m(1), ['100', '101', '99', 'Infinity', '1']), // 5
      row12(m(1), ['100', '101', '0', '100', '1']), // 6
      row12(m(1), ['100', '99', '101', '100', '1']), // 7
      row12(m(1), ['102', '101', '99', '100', '1']), // 8
      row12(m(1), ['100', '101', '99', '98', '1']), // 9
      row12(m(1), ['100', '101', '99', '100', '-1']), // 10
      row12(m(1), good).replace(String(m(1)), 'yesterday'), // 11
      row12(m(1) + 30_000, good), // 12
      row12(m(1), good, 1, m(2) - 2), // 13
      row12(m(1), good).replace(',7,', ',1.5,'), // 14
      row12(m(1), ['100', '101', '99', '100', '']), // 15
      row12(m(1), good), // 16 ok
      row12(m(1), good), // 17
      row12(m(0), good), // 18
      '', // 19: blank, not a record
      row12(m(2), good), // 20 ok
    ];
    const path = write('BTCUSDT-1m-broken.csv', lines.join('\n'));
    const { ctx, logs } = capture();
    const out = await replay({ path }, ctx);
    expect(out.map((record) => record.tsEvent), 'the three good rows arrive').toStrictEqual([m(1), m(2), m(3)]);
    expect(warnings(logs), 'one warning per bad line, with file:line and the reason naming the column and value').toStrictEqual([
      ['BTCUSDT-1m-broken.csv:3', 'wrong column count: expected 12, got 11'],
      ['BTCUSDT-1m-broken.csv:4', 'non-numeric value: high "abc"'],
      ['BTCUSDT-1m-broken.csv:5', 'non-finite value: close "Infinity"'],
      ['BTCUSDT-1m-broken.csv:6', 'non-positive price: low "0"'],
      ['BTCUSDT-1m-broken.csv:7', 'high below low: high 99 < low 101'],
      ['BTCUSDT-1m-broken.csv:8', "price outside the bar's range: open 102 is outside [low 99, high 101]"],
      ['BTCUSDT-1m-broken.csv:9', "price outside the bar's range: close 98 is outside [low 99, high 101]"],
      ['BTCUSDT-1m-broken.csv:10', 'negative volume: volume "-1"'],
      ['BTCUSDT-1m-broken.csv:11', 'bad timestamp: open_time "yesterday" is not epoch ms, epoch µs or YYYY-MM-DD HH:MM:SS (UTC)'],
      ['BTCUSDT-1m-broken.csv:12', 'open time not aligned: 2025-01-01T00:01:30.000Z is not on a 1m boundary'],
      ['BTCUSDT-1m-broken.csv:13', `bad close_time: "${m(2) - 2}" is not open_time + 1m - 1 (${m(2) - 1})`],
      ['BTCUSDT-1m-broken.csv:14', 'bad trade count: count "1.5" is not a non-negative integer'],
      ['BTCUSDT-1m-broken.csv:15', 'non-numeric value: volume ""'],
      ['BTCUSDT-1m-broken.csv:17', 'duplicate row: open time 2025-01-01T00:01:00.000Z repeats the previous row'],
      ['BTCUSDT-1m-broken.csv:18', "out of order: open time 2025-01-01T00:00:00.000Z is before the previous row's 2025-01-01T00:01:00.000Z"],
    ]);
    const dropped = ctx.metrics.counter(METRIC.dropped, '');
    expect(dropped.total(), 'every skipped line is counted').toBe(15);
    const byReason = Object.fromEntries(dropped.samples().map((sample): [string, number] => [sample.labels.reason ?? '', sample.value]));
    expect(byReason, 'counted by reason, labelled with the source').toStrictEqual({
      'wrong column count': 1,
      'non-numeric value': 2,
      'non-finite value': 1,
      'non-positive price': 1,
      'high below low': 1,
      "price outside the bar's range": 2,
      'negative volume': 1,
      'bad timestamp': 1,
      'open time not aligned': 1,
      'bad close_time': 1,
      'bad trade count': 1,
      'duplicate row': 1,
      'out of order': 1,
    });
    expect(dropped.get({ source: 'binance-klines-csv', reason: 'out of order' }), 'the label set is source + reason').toBe(1);
    expect(ctx.metrics.counter(METRIC.received, '').get({ source: 'binance-klines-csv' }), 'delivered records are counted').toBe(3);
    expect(logs.at(-1), 'a summary when the replay ends').toMatchObject({ msg: 'kline replay ended', candles: 3, gaps: 0, dropped: 15 });
  });

  it('skips malformed 6-column lines too', async () => {
    const path = write('BTCUSDT-1m-broken6.csv', `${HEADER_6}\n2025-01-01 00:00:00,1,1,1,1,1\n2025-02-30 00:01:00,1,1,1,1,1\n2025-01-01 00:01,1,1,1,1,1\n2025-01-01 00:01:00,1,1,1,1\n2025-01-01 00:01:00,1,1,1,1,1\n`);
    const { ctx, logs } = capture();
    const out = await replay({ path }, ctx);
    expect(out.map((record) => record.tsEvent), 'the two good rows arrive').toStrictEqual([T0 + MINUTE, T0 + 2 * MINUTE]);
    expect(warnings(logs), 'no 30 February, no date-time without seconds, no short row').toStrictEqual([
      ['BTCUSDT-1m-broken6.csv:3', 'bad timestamp: timestamp "2025-02-30 00:01:00" is not epoch ms, epoch µs or YYYY-MM-DD HH:MM:SS (UTC)'],
      ['BTCUSDT-1m-broken6.csv:4', 'bad timestamp: timestamp "2025-01-01 00:01" is not epoch ms, epoch µs or YYYY-MM-DD HH:MM:SS (UTC)'],
      ['BTCUSDT-1m-broken6.csv:5', 'wrong column count: expected 6, got 5'],
    ]);
  });

  it('fails on a header that is not a kline layout, naming the file and what it expects', async () => {
    const path = write('BTCUSDT-1m-odd.csv', 'time,close,open,high,low,volume\n1,1,1,1,1,1\n');
    await expect(replay({ path }), 'columns in another order would be misread: fatal').rejects.toThrow('BTCUSDT-1m-odd.csv:1: header "time,close,open,high,low,volume" is not a Binance kline layout');
  });

  it('paces the replay on the scheduler by event time: at speed 60 a 1m bar every 1000 ms', async () => {
    const path = write('BTCUSDT-1m-paced.csv', [0, 1, 2, 4].map((i) => row12(T0 + i * MINUTE, ROWS[0])).join('\n'));
    const scheduler = new VirtualTimeScheduler();
    const seen = await runVirtual(binanceKlinesCsv({ path, speed: 60 }, capture({ scheduler }).ctx), scheduler);
    expect(seen, 'bar n closes at n+1 minutes = (n+1) s at 60x; first record at scheduler time 0; the gap shares its candle time').toStrictEqual([
      ['candle', 0],
      ['candle', 1000],
      ['candle', 2000],
      ['gap', 4000],
      ['candle', 4000],
    ]);
  });

  const ok = hasSharedData('binance-klines/BTCUSDT-1h-2022-01-01_2026-04-29.csv.gz', 'binance-klines/ETHUSDT-1h-2022-01-01_2026-04-29.csv.gz');
  describe.skipIf(!ok)('on the real Binance 1h files', () => {
    for (const name of ['BTCUSDT', 'ETHUSDT']) {
      it(`reports the 2023-03-24 spot outage in ${name} as exactly one gap`, async () => {
        const { ctx, logs } = capture({ baseDir: sharedData('binance-klines') });
        const out = await replay({ path: `${name}-1h-2022-01-01_2026-04-29.csv.gz` }, ctx);
        const gaps = out.filter((record) => record.type === 'gap');
        // The file has 37,919 rows (data/README.md). 13:00 is absent, and the 12:00 row is a
        // stub Binance wrote when trading halted: zero volume and close_time 12:39:41, not
        // 12:59:59.999. Its close_time is not open_time + 1h - 1, so it is dropped like any
        // malformed row, and the gap covers both hours.
        expect(gaps, 'one gap event').toHaveLength(1);
        expect(gaps[0], 'from the dropped 12:00 stub to the missing 13:00').toMatchObject({ stream: 'candle:1h', from: Date.UTC(2023, 2, 24, 12), to: Date.UTC(2023, 2, 24, 13), recoverable: false });
        expect(warnings(logs).map(([origin, reason]) => [origin, String(reason).split(':')[0]]), 'the stub row at line 10742').toStrictEqual([
          [`${name}-1h-2022-01-01_2026-04-29.csv.gz:10742`, 'bad close_time'],
        ]);
        expect(out.length - gaps.length, '37,919 rows less the stub').toBe(37_918);
        const next = out[out.indexOf(gaps[0]!) + 1];
        expect(next, 'the gap precedes the 14:00 candle').toMatchObject({ type: 'candle', openTime: Date.UTC(2023, 2, 24, 14) });
      });
    }
  });
});

/** Runs a file source on a virtual scheduler, interleaving real file I/O; returns [type, scheduler time]. */
async function runVirtual(records$: Observable<Flow<Candle>>, scheduler: VirtualTimeScheduler): Promise<[string, number][]> {
  const seen: [string, number][] = [];
  let done = false;
  const isDone = (): boolean => done;
  records$.subscribe({
    next: (record) => seen.push([record.type, scheduler.now()]),
    complete: () => (done = true),
  });
  for (let spins = 0; !isDone() && spins < 10_000; spins++) {
    scheduler.flush();
    if (!isDone()) await new Promise((resolve) => setImmediate(resolve));
  }
  expect(done, 'the replay completes').toBe(true);
  return seen;
}

testDefinitionContract(binanceKlinesCsvSource, { params: { path: ms12 }, ctx: { baseDir: dir } });
testDefinitionContract(binanceKlinesCsvSource, { params: { path: ms12, speed: 60 }, ctx: { baseDir: dir }, virtualTime: true });
