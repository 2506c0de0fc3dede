/**
 * Real Binance captures (cryptofeed, ../shared/data/ws-messages/cryptofeed) replayed through the
 * parsers. Expected figures are computed here from the raw files with plain JSON.parse, not by the
 * code under test.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../../src/context.js';
import { METRIC, Metrics } from '../../../src/metrics.js';
import type { Candle, Trade } from '../../../src/model/index.js';
import { buildCandles } from '../../../src/operators/candles/buildCandles.js';
import type { BinanceRecord } from '../../../src/sources/binance/parse.js';
import { replayFile } from '../../../src/sources/replay/replayFile.js';
import { trade } from '../../support/builders.js';
import { hasSharedData, sharedData } from '../../support/data.js';

const DIR = 'ws-messages/cryptofeed';
const SPOT_2021_04 = `${DIR}/binance-spot_BTCUSDT-ETHUSDT-DOTUSDT_2021-04-04.jsonl.gz`;
const SPOT_2021_10 = `${DIR}/binance-spot_NKNUSDT-BLZETH-LRCBTC-RUNEEUR_2021-10-12.jsonl.gz`;
const COINM_2021_07 = `${DIR}/binance-coinm-futures_multi_2021-07-22.jsonl.gz`;

const ok = hasSharedData(SPOT_2021_04, SPOT_2021_10, COINM_2021_07);

interface RawLine {
  readonly kind: string;
  readonly url: string;
  readonly data: { readonly stream: string; readonly data: Record<string, unknown> } | null;
}

function rawLines(file: string): RawLine[] {
  return gunzipSync(readFileSync(sharedData(file)))
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as RawLine);
}

/** Record type counts by the payload's event type, the plain way. */
function expectedCounts(file: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of rawLines(file)) {
    if (line.kind !== 'ws_recv' || line.data === null) continue;
    const e = line.data.data.e;
    const type = e === 'aggTrade' || e === 'trade' ? 'trade' : e === 'depthUpdate' ? 'book-depth' : e === 'kline' ? 'candle' : e === undefined && 'u' in line.data.data ? 'book-top' : `unexpected ${String(e)}`;
    counts[type] = (counts[type] ?? 0) + 1;
  }
  return counts;
}

async function replay(file: string, types?: ('trade' | 'candle')[]) {
  const logs: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as { level: number; msg: string }) });
  const ctx = createContext({ logger, metrics: new Metrics(), baseDir: sharedData('.') });
  const records = await lastValueFrom(replayFile({ path: file, ...(types === undefined ? {} : { types }) }, ctx).pipe(toArray()));
  return { records, logs, dropped: ctx.metrics.counter(METRIC.dropped, '') };
}

function countTypes(records: readonly BinanceRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const record of records) counts[record.type] = (counts[record.type] ?? 0) + 1;
  return counts;
}

describe.skipIf(!ok)('replayFile on real cryptofeed captures', () => {
  it.each([SPOT_2021_04, SPOT_2021_10])('does replay every frame of %s into a record, none dropped', async (file) => {
    const { records, dropped, logs } = await replay(file);
    const expected = expectedCounts(file);
    expect(Object.keys(expected).some((type) => type.startsWith('unexpected')), 'the capture holds only the four payloads we parse').toBe(false);
    expect(countTypes(records)).toStrictEqual(expected);
    expect(dropped.total(), 'every real frame is valid').toBe(0);
    const restLines = rawLines(file).filter((line) => line.kind === 'http_get').length;
    expect(logs.filter((log) => log.msg === 'REST answer not replayed yet'), 'REST snapshots are read, not dropped').toHaveLength(restLines);
  });

  it('does carry every aggTrade id, price, quantity and time through unchanged', async () => {
    const { records } = await replay(SPOT_2021_04, ['trade']);
    const raw = rawLines(SPOT_2021_04)
      .filter((line) => line.kind === 'ws_recv' && line.data?.data.e === 'aggTrade')
      .map((line) => {
        const d = line.data?.data ?? {};
        return [d.a, Number(d.p), Number(d.q), d.T, d.m === true ? 'sell' : 'buy'];
      });
    expect(records.map((record) => (record.type === 'trade' ? [record.id, record.price, record.qty, record.tsEvent, record.side] : []))).toStrictEqual(raw);
  });

  it('does drop every COIN-M frame with the feed named, never silently', async () => {
    const { records, dropped } = await replay(COINM_2021_07);
    const frames = rawLines(COINM_2021_07).filter((line) => line.kind === 'ws_recv').length;
    expect(records, 'COIN-M is not parsed').toHaveLength(0);
    expect(frames, 'the capture has frames to drop').toBeGreaterThan(4_000);
    expect(dropped.get({ source: 'replay-file', reason: 'unsupported feed "binance-coinm"' })).toBe(frames);
    expect(dropped.total()).toBe(frames);
  });
});

/** Exact 8-decimal units of a Binance dec-string. */
function units(text: string): bigint {
  const [int = '0', frac = ''] = text.split('.');
  return BigInt(int + frac.padEnd(8, '0').slice(0, 8));
}

interface RawKline {
  readonly symbol: string;
  readonly openTime: number;
  readonly f: number;
  readonly L: number;
  readonly n: number;
  readonly o: string;
  readonly h: string;
  readonly l: string;
  readonly c: string;
  readonly v: string;
  readonly x: boolean;
}

async function candleOf(trades: readonly Trade[]): Promise<Candle> {
  const last = trades.at(-1);
  if (last === undefined) throw new Error('no trades');
  // A trade in a later bar closes the one under test.
  const closer = trade({ venue: last.venue, symbol: last.symbol, tsEvent: last.tsEvent + 120_000, price: last.price });
  const out = await lastValueFrom(from([...trades, closer]).pipe(buildCandles('1m', { fillEmpty: false }), toArray()));
  if (out.length !== 1 || out[0]?.type !== 'candle') throw new Error(`expected one candle, got ${JSON.stringify(out)}`);
  return out[0];
}

describe.skipIf(!ok)('buildCandles on captured aggTrades against the captured kline_1m frames', () => {
  /**
   * No capture spans a whole minute with its closing kline (20:03:11 to 20:04:42, and 31 s on
   * 2021-10-12). So each kline update is checked against what the capture holds:
   *
   * - when the bar's first trade was captured, the candle built from the bar's aggTrades up to the
   *   update's last trade id must equal the update (OHLC, volume to the last decimal, trade count);
   * - otherwise against the previous checked update of the same bar: the aggTrades between the two
   *   last trade ids must account exactly for the change in volume, trade count, close, high, low.
   *
   * Binance cuts some kline updates through an aggregate trade (DOTUSDT kline L=63392595 while
   * aggTrade 54605678 holds raw trades 63392595..63392597, all at one time): aggTrades cannot be
   * split, so such updates are skipped and the next update on an aggTrade boundary is checked.
   */
  it.each([
    // Counts from an independent Python scan of the raw files (f/l/L ids only).
    [SPOT_2021_04, { split: 10, fullBars: 51, segments: 54, closedFullMinutes: 0 }],
    [SPOT_2021_10, { split: 0, fullBars: 1, segments: 0, closedFullMinutes: 0 }],
  ])('does rebuild each kline update of %s from the aggTrades', async (file, findings) => {
    const lines = rawLines(file).filter((line) => line.kind === 'ws_recv' && line.data !== null);
    const ids = new Map<string, { f: number; l: number }>();
    const klines: RawKline[] = [];
    for (const line of lines) {
      const d = line.data?.data ?? {};
      if (d.e === 'aggTrade') ids.set(`${String(d.s)}:${String(d.a)}`, { f: d.f as number, l: d.l as number });
      if (d.e === 'kline') {
        const k = d.k as Record<string, unknown>;
        klines.push({ symbol: d.s as string, openTime: k.t as number, f: k.f as number, L: k.L as number, n: k.n as number, o: k.o as string, h: k.h as string, l: k.l as string, c: k.c as string, v: k.v as string, x: k.x as boolean });
      }
    }
    const { records } = await replay(file, ['trade']);
    const trades = records.filter((record): record is Trade => record.type === 'trade');
    const rawIds = (t: Trade) => ids.get(`${t.symbol.replace('-', '')}:${t.id}`) ?? { f: -1, l: -1 };
    const seen = { split: 0, fullBars: 0, segments: 0, closedFullMinutes: 0 };
    const anchors = new Map<string, RawKline>();
    for (const kline of klines) {
      const symbolTrades = trades.filter((t) => t.symbol.replace('-', '') === kline.symbol);
      if (!symbolTrades.some((t) => rawIds(t).l === kline.L)) {
        seen.split++;
        continue;
      }
      const barTrades = symbolTrades.filter((t) => t.tsEvent >= kline.openTime && t.tsEvent < kline.openTime + 60_000);
      const before = anchors.get(kline.symbol);
      anchors.set(kline.symbol, kline);
      if (barTrades.some((t) => rawIds(t).f === kline.f)) {
        const upTo = barTrades.filter((t) => rawIds(t).l <= kline.L);
        const candle = await candleOf(upTo);
        expect([candle.open, candle.high, candle.low, candle.close], `${kline.symbol} bar ${kline.openTime} OHLC`).toStrictEqual([Number(kline.o), Number(kline.h), Number(kline.l), Number(kline.c)]);
        expect(BigInt(Math.round(candle.volume * 1e8)), 'volume to the last decimal').toBe(units(kline.v));
        expect(upTo.reduce((n, t) => n + rawIds(t).l - rawIds(t).f + 1, 0), 'trade count from the f/l ids').toBe(kline.n);
        seen.fullBars++;
        if (kline.x) seen.closedFullMinutes++;
        continue;
      }
      if (before?.openTime !== kline.openTime) continue;
      const segment = barTrades.filter((t) => rawIds(t).f > before.L && rawIds(t).l <= kline.L);
      expect(segment.reduce((n, t) => n + rawIds(t).l - rawIds(t).f + 1, 0), `${kline.symbol}: every raw trade between updates was captured`).toBe(kline.L - before.L);
      expect(kline.n - before.n, 'trade count from the f/l ids').toBe(kline.L - before.L);
      expect(kline.o, 'the open of a bar does not change').toBe(before.o);
      seen.segments++;
      if (segment.length === 0) {
        expect(kline.v, 'no trades, no volume change').toBe(before.v);
        continue;
      }
      const candle = await candleOf(segment);
      expect(candle.openTime, 'the trades fall in the kline bar').toBe(kline.openTime);
      expect(BigInt(Math.round(candle.volume * 1e8)), `${kline.symbol} volume between updates, to the last decimal`).toBe(units(kline.v) - units(before.v));
      expect(candle.close, 'close').toBe(Number(kline.c));
      expect(Math.max(Number(before.h), candle.high), 'high').toBe(Number(kline.h));
      expect(Math.min(Number(before.l), candle.low), 'low').toBe(Number(kline.l));
    }
    expect(seen).toStrictEqual(findings);
  });
});
