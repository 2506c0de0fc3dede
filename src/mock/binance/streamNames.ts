/**
 * The stream names the mock serves, per market (protocols.md §1.4, §2.1, §2.2), parsed into what
 * the exchange needs: the kind, the symbol, the kline interval, the push cadence and, on USD-M,
 * the route tier (`public` for book data, `market` for the rest).
 *
 * A name of a known shape with an unknown symbol parses fine: Binance acknowledges such a
 * SUBSCRIBE and then sends nothing, and so does the mock. A name of no known shape is an error.
 */
import { tryIntervalMs } from '../../model/index.js';
import { quote } from '../../errors.js';

export type MockMarket = 'spot' | 'usdm';

export type StreamKind =
  | 'trade'
  | 'aggTrade'
  | 'kline'
  | 'bookTicker'
  | 'allBookTicker'
  | 'diffDepth'
  | 'partialDepth'
  | 'markPrice'
  | 'allMarkPrice'
  | 'forceOrder'
  | 'allForceOrder';

/** USD-M route tiers: book data is served on `/public`, everything else on `/market`. */
export type RouteTier = 'public' | 'market';

export interface StreamSpec {
  readonly name: string;
  readonly kind: StreamKind;
  /** Lower-case Binance symbol as written in the name (`btcusdt`); empty for `!...` streams. */
  readonly symbol: string;
  /** Kline interval (`1m`) and its length. */
  readonly interval: string;
  readonly intervalMs: number;
  /** How often the stream pushes, ms (0 for streams pushed on every event). */
  readonly cadenceMs: number;
  /** Levels of a partial depth stream (5, 10 or 20). */
  readonly levels: number;
  readonly tier: RouteTier;
}

/** Kline intervals Binance lists (protocols.md §1.4); USD-M has no `1s`. */
const SPOT_INTERVALS = ['1s', '1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '8h', '12h', '1d', '3d', '1w', '1M'] as const;
const USDM_INTERVALS = SPOT_INTERVALS.filter((interval) => interval !== '1s');

/** The kline intervals of a market, as Binance names them. */
export function klineIntervals(market: MockMarket): readonly string[] {
  return market === 'spot' ? SPOT_INTERVALS : USDM_INTERVALS;
}

const SYMBOL_STREAM = /^([A-Za-z0-9]+)@(.+)$/;
const PARTIAL = /^depth(5|10|20)(?:@(100ms|250ms|500ms|1000ms))?$/;
const DIFF = /^depth(?:@(100ms|250ms|500ms|1000ms))?$/;

/** Parses a stream name, or returns why it is not one (for an error reply). */
export function parseStreamName(market: MockMarket, name: string): StreamSpec | string {
  if (typeof name !== 'string' || name === '') return `stream name ${quote(name)} is empty`;
  const usdm = market === 'usdm';
  if (name.startsWith('!')) {
    if (usdm) {
      if (name === '!bookTicker') return spec(name, 'allBookTicker', '', 0, 'public');
      if (name === '!markPrice@arr') return spec(name, 'allMarkPrice', '', 3_000, 'market');
      if (name === '!markPrice@arr@1s') return spec(name, 'allMarkPrice', '', 1_000, 'market');
      if (name === '!forceOrder@arr') return spec(name, 'allForceOrder', '', 1_000, 'market');
    }
    return `unknown stream ${quote(name)} on ${market}`;
  }
  const match = SYMBOL_STREAM.exec(name);
  if (match === null) return `unknown stream ${quote(name)}: expected <symbol>@<stream>`;
  const symbol = match[1] ?? '';
  const rest = match[2] ?? '';
  if (rest === 'trade') return spec(name, 'trade', symbol, 0, 'market');
  if (rest === 'aggTrade') return spec(name, 'aggTrade', symbol, 0, 'market');
  if (rest === 'bookTicker') return spec(name, 'bookTicker', symbol, 0, 'public');
  if (rest.startsWith('kline_')) {
    const interval = rest.slice('kline_'.length);
    if (!klineIntervals(market).includes(interval)) return `unknown kline interval ${quote(interval)} in stream ${quote(name)}`;
    const ms = tryIntervalMs(interval);
    if (ms === undefined) return `kline interval ${quote(interval)} in stream ${quote(name)} is not supported by the mock (1s to 1d only)`;
    const cadence = usdm ? 250 : interval === '1s' ? 1_000 : 2_000;
    return { ...spec(name, 'kline', symbol, cadence, 'market'), interval, intervalMs: ms };
  }
  const diff = DIFF.exec(rest);
  if (diff !== null) {
    const cadence = depthCadence(market, diff[1]);
    if (typeof cadence === 'string') return `${cadence} in stream ${quote(name)}`;
    return spec(name, 'diffDepth', symbol, cadence, 'public');
  }
  const partial = PARTIAL.exec(rest);
  if (partial !== null) {
    const cadence = depthCadence(market, partial[2]);
    if (typeof cadence === 'string') return `${cadence} in stream ${quote(name)}`;
    return { ...spec(name, 'partialDepth', symbol, cadence, 'public'), levels: Number(partial[1]) };
  }
  if (usdm) {
    if (rest === 'markPrice') return spec(name, 'markPrice', symbol, 3_000, 'market');
    if (rest === 'markPrice@1s') return spec(name, 'markPrice', symbol, 1_000, 'market');
    if (rest === 'forceOrder') return spec(name, 'forceOrder', symbol, 1_000, 'market');
  }
  return `unknown stream ${quote(name)} on ${market}`;
}

/** Spot depth pushes every 1000 ms or 100 ms; USD-M every 250 ms, 500 ms or 100 ms. */
function depthCadence(market: MockMarket, suffix: string | undefined): number | string {
  if (market === 'spot') {
    if (suffix === undefined || suffix === '1000ms') return 1_000;
    if (suffix === '100ms') return 100;
    return `update speed ${quote(suffix)} is not offered on spot (100ms or 1000ms)`;
  }
  if (suffix === undefined) return 250;
  if (suffix === '100ms') return 100;
  if (suffix === '500ms') return 500;
  return `update speed ${quote(suffix)} is not offered on USD-M (100ms or 500ms)`;
}

function spec(name: string, kind: StreamKind, symbol: string, cadenceMs: number, tier: RouteTier): StreamSpec {
  return { name, kind, symbol, interval: '', intervalMs: 0, cadenceMs, levels: 0, tier };
}
