/**
 * Reference data for the indicator tests, read in place from ../shared/data: BTCUSDT 1h candles
 * with TA-Lib's outputs, the quantedge-ta (talipp) reference files, and the long 1h kline files.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { Candle } from '../../../src/model/index.js';
import { HOUR } from '../../support/builders.js';
import { sharedData } from '../../support/data.js';

export const TALIB_CSV = 'ta-reference/talib-generated/BTCUSDT-1h-2025-01.talib.csv';
export const TALIB_COLUMNS = 'ta-reference/talib-generated/BTCUSDT-1h-2025-01.talib.columns.json';
export const QUANTEDGE_ICHIMOKU = 'ta-reference/quantedge-ta/ichimoku-9-26-52-26.csv';
export const QUANTEDGE_VWAP = 'ta-reference/quantedge-ta/vwap-day-hlc3.csv';
export const BTC_1H_LONG = 'binance-klines/BTCUSDT-1h-2022-01-01_2026-04-29.csv.gz';
export const ETH_1H_LONG = 'binance-klines/ETHUSDT-1h-2022-01-01_2026-04-29.csv.gz';

export interface Table {
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

function parseCsv(text: string): Table {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const [head = '', ...body] = lines;
  return { header: head.split(','), rows: body.map((line) => line.split(',')) };
}

export function readCsv(relative: string): Table {
  const bytes = readFileSync(sharedData(relative));
  return parseCsv((relative.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8'));
}

/** Column `name` as numbers; empty cells are null. */
export function column(table: Table, name: string): (number | null)[] {
  const index = table.header.indexOf(name);
  if (index < 0) throw new Error(`No column "${name}" in ${table.header.join(',')}`);
  return table.rows.map((row) => {
    const cell = row[index] ?? '';
    return cell === '' ? null : Number(cell);
  });
}

function numberAt(row: readonly string[], index: number): number {
  return Number(row[index] ?? Number.NaN);
}

/** A closed 1h candle as a kline source would emit it. */
export function hourCandle(openTime: number, open: number, high: number, low: number, close: number, volume: number, symbol = 'BTC-USDT'): Candle {
  return Object.freeze({
    type: 'candle',
    venue: 'binance',
    symbol,
    tsEvent: openTime + HOUR,
    tsRecv: openTime + HOUR,
    interval: '1h',
    openTime,
    closeTime: openTime + HOUR - 1,
    open,
    high,
    low,
    close,
    volume,
    closed: true,
  });
}

/** Candles from a table with `open_time,open,high,low,close,volume` first; `timeScale` divides open_time (1000 for µs). */
export function candlesOf(table: Table, symbol = 'BTC-USDT', timeScale = 1): Candle[] {
  return table.rows.map((row) =>
    hourCandle(numberAt(row, 0) / timeScale, numberAt(row, 1), numberAt(row, 2), numberAt(row, 3), numberAt(row, 4), numberAt(row, 5), symbol),
  );
}

interface ColumnInfo {
  readonly column: string;
  readonly first_valid_index: number;
}

/** TA-Lib's first valid index of each output column, from the .columns.json beside the CSV. */
export function talibFirstValid(): ReadonlyMap<string, number> {
  const parsed = JSON.parse(readFileSync(sharedData(TALIB_COLUMNS), 'utf8')) as { columns: readonly ColumnInfo[] };
  return new Map(parsed.columns.map((info) => [info.column, info.first_valid_index]));
}
