/**
 * What a Binance kline file name tells about its content. data.binance.vision names its files
 * `<SYMBOL>-<interval>-<date>.csv` (`BTCUSDT-1m-2025-01-01.csv`, `BTCUSDT-1h-2025-01.zip`), and
 * common exports write `<SYMBOL>_<interval>.csv`: the symbol and interval can be read back from them.
 */
import { basename } from 'node:path';
import { tryCanonicalSymbol } from '../../model/index.js';

/** The kline intervals Binance publishes that alphaflow supports (3d, 1w and 1M are longer than 1d). */
const BINANCE_INTERVALS: ReadonlySet<string> = new Set(['1s', '1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '8h', '12h', '1d']);

export interface KlinesCsvFileName {
  /** Canonical symbol (`BTC-USDT`), when the name starts with a recognised upper-case Binance symbol. */
  readonly symbol?: string;
  /** Binance interval (`1m`, `1h`), when the name's second part is one. */
  readonly interval?: string;
}

/**
 * Reads the symbol and interval from a Binance-style file name; either is absent when the name
 * does not carry it. `data/BTCUSDT-1h-2022-01-01_2026-04-29.csv.gz` -> `{ symbol: 'BTC-USDT', interval: '1h' }`.
 */
export function klinesCsvFileName(path: string): KlinesCsvFileName {
  const parts = basename(path).split(/[-_.]/);
  const first = parts[0] ?? '';
  const second = parts[1] ?? '';
  // Binance spells symbols in upper case; a lower-case word (`klines`, `data`) is not one.
  const symbol = /^[A-Z0-9]{5,}$/.test(first) ? tryCanonicalSymbol(first) : undefined;
  const interval = BINANCE_INTERVALS.has(second) ? second : undefined;
  return { ...(symbol === undefined ? {} : { symbol }), ...(interval === undefined ? {} : { interval }) };
}
