/**
 * Binance's WebSocket control protocol (protocols.md §1.2–1.3, §2.1) for the connection layer:
 * combined-stream connections (`/stream`, every frame `{"stream":..,"data":..}`), SUBSCRIBE and
 * UNSUBSCRIBE requests with integer ids, replies `{"result":..,"id":..}` or
 * `{"error":{"code":..,"msg":..},"id":..}`, and the `serverShutdown` notice. USD-M futures
 * split streams over two routes since 2026: book streams on `/public`, everything else on
 * `/market`; a stream on the wrong route silently delivers nothing, so each route gets its own
 * connections.
 */
import { quote } from '../../errors.js';
import type { ConnectionProtocol } from '../live/connection.js';
import type { BinanceMarket } from './payloads.js';

export const BINANCE_WS_URLS: Readonly<Record<BinanceMarket, string>> = {
  spot: 'wss://stream.binance.com:9443',
  usdm: 'wss://fstream.binance.com',
};

export const BINANCE_REST_URLS: Readonly<Record<BinanceMarket, string>> = {
  spot: 'https://api.binance.com',
  usdm: 'https://fapi.binance.com',
};

/** USD-M routes; spot has none (`''`). */
export type BinanceRoute = '' | 'public' | 'market';

/** The route a USD-M stream must use (protocols.md §2.1); `''` on spot. */
export function binanceRoute(market: BinanceMarket, stream: string): BinanceRoute {
  if (market === 'spot') return '';
  return /@depth|@bookTicker|^!bookTicker|@rpiDepth/.test(stream) ? 'public' : 'market';
}

/**
 * How long a stream may stay silent on a healthy connection, ms (reliability.md §5 rule 4):
 * diff depth speaks every 100 ms or 1 s, klines every 1 or 2 s, mark price every 1 or 3 s.
 * Trades, book tickers and liquidations can be silent for minutes on a quiet symbol: no deadline.
 */
export function binanceStallDeadlineMs(stream: string): number | undefined {
  if (/@depth@[0-9]+ms$/.test(stream)) return 2_000;
  if (/@depth$/.test(stream)) return 5_000;
  if (/@kline_/.test(stream)) return 5_000;
  if (/@markPrice@1s$/.test(stream)) return 3_000;
  if (/@markPrice$/.test(stream)) return 9_000;
  return undefined;
}

const STREAM_PREFIX = '{"stream":"';
const SHUTDOWN_COMBINED = '{"stream":"!serverShutdown"';
const SHUTDOWN_RAW = '{"e":"serverShutdown"';

export interface BinanceProtocolOptions {
  readonly market: BinanceMarket;
  /** WebSocket root, e.g. `wss://stream.binance.com:9443` or `ws://127.0.0.1:PORT`. */
  readonly wsUrl: string;
  readonly route: BinanceRoute;
  /** Streams per SUBSCRIBE message (default 200). */
  readonly maxStreamsPerMessage?: number;
  /** Control messages per second (default: the venue's limit, 5 on spot and 10 on futures). */
  readonly controlPerSecond?: number;
  /** Overrides of {@link binanceStallDeadlineMs} by stream name; null removes a deadline. */
  readonly stallDeadlines?: Readonly<Record<string, number | null>>;
}

export function binanceProtocol(options: BinanceProtocolOptions): ConnectionProtocol {
  const root = options.wsUrl.replace(/\/+$/, '');
  const url = options.route === '' ? `${root}/stream` : `${root}/${options.route}/stream`;
  const overrides = options.stallDeadlines ?? {};
  return {
    venue: options.market === 'spot' ? 'binance' : 'binance-usdm',
    url,
    maxStreamsPerMessage: options.maxStreamsPerMessage ?? 200,
    controlPerSecond: options.controlPerSecond ?? (options.market === 'spot' ? 5 : 10),
    subscribeFrame: (streams, id) => JSON.stringify({ method: 'SUBSCRIBE', params: streams, id }),
    unsubscribeFrame: (streams, id) => JSON.stringify({ method: 'UNSUBSCRIBE', params: streams, id }),
    streamOf(frame) {
      if (!frame.startsWith(STREAM_PREFIX)) return undefined;
      const end = frame.indexOf('"', STREAM_PREFIX.length);
      return end < 0 ? undefined : frame.slice(STREAM_PREFIX.length, end);
    },
    reply: binanceReply,
    isShutdownNotice: (frame) => frame.startsWith(SHUTDOWN_COMBINED) || frame.startsWith(SHUTDOWN_RAW),
    stallDeadlineMs(stream) {
      const override = overrides[stream];
      if (override === null) return undefined;
      return override ?? binanceStallDeadlineMs(stream);
    },
  };
}

/** The id and error text of a control reply, or undefined for any other frame. */
export function binanceReply(frame: string): { readonly id: number; readonly error?: string } | undefined {
  if (!(frame.startsWith('{"result"') || frame.startsWith('{"id"') || frame.startsWith('{"error"'))) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const reply = value as { id?: unknown; error?: { code?: unknown; msg?: unknown } | null };
  if (typeof reply.id !== 'number') return undefined;
  if (reply.error === undefined) return { id: reply.id };
  const error = reply.error;
  const text = typeof error === 'object' && error !== null ? `code ${String(error.code)}: ${String(error.msg)}` : quote(error);
  return { id: reply.id, error: text };
}

/** Stream names of a Binance source, lower-case symbol first (protocols.md §1.4, §2.2). */
export const binanceStream = {
  aggTrade: (raw: string) => `${raw.toLowerCase()}@aggTrade`,
  trade: (raw: string) => `${raw.toLowerCase()}@trade`,
  kline: (raw: string, interval: string) => `${raw.toLowerCase()}@kline_${interval}`,
  bookTicker: (raw: string) => `${raw.toLowerCase()}@bookTicker`,
  depth: (raw: string, speed: '100ms' | '250ms' | '500ms' | '1000ms') =>
    speed === '1000ms' ? `${raw.toLowerCase()}@depth` : `${raw.toLowerCase()}@depth@${speed}`,
  forceOrder: (raw: string) => `${raw.toLowerCase()}@forceOrder`,
  markPrice: (raw: string) => `${raw.toLowerCase()}@markPrice@1s`,
};
