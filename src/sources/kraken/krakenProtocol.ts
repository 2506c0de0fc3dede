/**
 * Kraken's Spot WebSocket v2 control protocol (protocols.md §4) for the connection layer
 * ({@link ConnectionProtocol}).
 *
 * Streams are named `<channel>:<KRAKEN SYMBOL>`, with the interval in minutes for candles:
 * `book:BTC/USD`, `trade:BTC/USD`, `ticker:BTC/USD`, `ohlc:5:BTC/USD` ({@link krakenStream}).
 *
 * **One stream per request.** A Kraken subscribe names one channel (with its depth, interval or
 * trigger) and many symbols, and is acknowledged once per symbol, every ack carrying the same
 * `req_id`. The connection layer slices its active set into requests of `maxStreamsPerMessage`
 * streams in subscription order, mixing channels after a reconnect, and settles a request on the
 * first reply with its id. So this protocol sets `maxStreamsPerMessage` to 1: every request is one
 * channel and one symbol, every ack settles exactly the request it answers, and a rejected symbol
 * fails only its own stream. The price is one control message per stream, paced at
 * `controlPerSecond`; bundling a channel's symbols would need the connection layer to group by
 * channel and to count one ack per stream.
 *
 * Liveness: Kraken sends `{"channel":"heartbeat"}` about once a second on a subscribed connection
 * that has nothing else to send, so a healthy socket is never quiet and the connection layer's own
 * ping only goes out on a dead link. Per stream, only books get a stall deadline: trades, tickers
 * and candles are driven by trades and may be silent for minutes on a quiet pair.
 */
import { InvariantError, quote } from '../../errors.js';
import type { ConnectionProtocol } from '../live/connection.js';
import type { KrakenBookDepth, KrakenOhlcInterval, KrakenSubscription, KrakenTickerTrigger } from './messages.js';
import { KRAKEN_OHLC_INTERVALS, krakenSubscribe, krakenSymbol, krakenUnsubscribe } from './messages.js';

/** Kraken's public Spot WebSocket v2 endpoint. */
export const KRAKEN_WS_URL = 'wss://ws.kraken.com/v2';

/** The channels a `kraken-live` stream can be on. */
export type KrakenStreamChannel = 'book' | 'trade' | 'ticker' | 'ohlc';

/** A stream name taken apart. */
export interface KrakenStreamInfo {
  readonly channel: KrakenStreamChannel;
  /** Kraken's symbol, `BTC/USD`. */
  readonly symbol: string;
  /** Candle interval in minutes (`ohlc` only). */
  readonly interval?: KrakenOhlcInterval;
}

/** Stream names; symbols may be canonical (`BTC-USD`) or Kraken's (`BTC/USD`). */
export const krakenStream = {
  book: (symbol: string): string => `book:${krakenSymbol(symbol)}`,
  trade: (symbol: string): string => `trade:${krakenSymbol(symbol)}`,
  ticker: (symbol: string): string => `ticker:${krakenSymbol(symbol)}`,
  ohlc: (symbol: string, interval: KrakenOhlcInterval): string => `ohlc:${interval}:${krakenSymbol(symbol)}`,
};

/** The parts of a stream name, or a RangeError naming it. */
export function parseKrakenStream(stream: string): KrakenStreamInfo {
  const parts = stream.split(':');
  const [channel, second, third] = parts;
  if ((channel === 'book' || channel === 'trade' || channel === 'ticker') && parts.length === 2 && second !== undefined) {
    return { channel, symbol: krakenSymbol(second) };
  }
  if (channel === 'ohlc' && parts.length === 3 && third !== undefined) {
    const interval = KRAKEN_OHLC_INTERVALS.find((minutes) => String(minutes) === second);
    if (interval !== undefined) return { channel, symbol: krakenSymbol(third), interval };
  }
  throw new RangeError(`Kraken stream ${quote(stream)} is not "book:", "trade:" or "ticker:" plus a symbol, or "ohlc:<minutes>:" plus a symbol, e.g. "book:BTC/USD"`);
}

export interface KrakenProtocolOptions {
  /** The full WebSocket URL, e.g. `wss://ws.kraken.com/v2` or a mock's `ws://127.0.0.1:PORT/v2`. */
  readonly wsUrl: string;
  /** Depth of every book subscription (default 10). */
  readonly bookDepth?: KrakenBookDepth;
  /** What triggers ticker updates (default `trades`). */
  readonly tickerTrigger?: KrakenTickerTrigger;
  /**
   * Control messages per second on one connection (default 10). Kraken publishes no number for v2
   * ("Exceeded msg rate" is dynamic, protocols.md §4.7); 10 keeps a resubscription of 50 streams
   * under six seconds.
   */
  readonly controlPerSecond?: number;
  /** How long a book may stay silent before it is resubscribed, ms (default 30 s); null: never. */
  readonly bookStallMs?: number | null;
}

/** The default stall deadline of a book stream: a listed pair's book changes far more often. */
export const KRAKEN_BOOK_STALL_MS = 30_000;

const CHANNEL_PREFIX = '{"channel":"';
const SYMBOL_KEY = '"symbol":"';
const INTERVAL_KEY = '"interval":';

export function krakenProtocol(options: KrakenProtocolOptions): ConnectionProtocol {
  const bookDepth = options.bookDepth ?? 10;
  const tickerTrigger = options.tickerTrigger ?? 'trades';
  const bookStallMs = options.bookStallMs === undefined ? KRAKEN_BOOK_STALL_MS : options.bookStallMs;
  /** The one subscription `streams` make up; every stream must be on the same channel with the same options. */
  const subscription = (streams: readonly string[]): KrakenSubscription => {
    const infos = streams.map(parseKrakenStream);
    const first = infos[0];
    if (first === undefined) throw new InvariantError('A Kraken request was built for no stream');
    if (infos.some((info) => info.channel !== first.channel || info.interval !== first.interval)) {
      throw new InvariantError(`Kraken streams ${quote(streams)} are on different channels: one request takes one channel (maxStreamsPerMessage is 1)`);
    }
    const symbols = infos.map((info) => info.symbol);
    switch (first.channel) {
      case 'book':
        return { channel: 'book', symbols, depth: bookDepth };
      // The last 50 trades come with every (re)subscription: they refill a short outage.
      case 'trade':
        return { channel: 'trade', symbols, snapshot: true };
      case 'ticker':
        return { channel: 'ticker', symbols, eventTrigger: tickerTrigger };
      case 'ohlc':
        return { channel: 'ohlc', symbols, interval: first.interval ?? 1 };
    }
  };
  return {
    venue: 'kraken',
    url: options.wsUrl,
    maxStreamsPerMessage: 1,
    controlPerSecond: options.controlPerSecond ?? 10,
    subscribeFrame: (streams, id) => JSON.stringify(krakenSubscribe(subscription(streams), id)),
    unsubscribeFrame: (streams, id) => JSON.stringify(krakenUnsubscribe(subscription(streams), id)),
    streamOf: krakenStreamOf,
    reply: krakenReply,
    // Kraken announces maintenance in a `status` frame, not a per-connection shutdown: the parser
    // reports it and the connection recovers whatever the server then does.
    isShutdownNotice: () => false,
    stallDeadlineMs: (stream) => (stream.startsWith('book:') && bookStallMs !== null ? bookStallMs : undefined),
  };
}

/**
 * The stream of a data frame by string inspection (no JSON parse): the channel and the first
 * item's symbol (and interval for candles). Undefined for heartbeats, status frames, replies and
 * frames without items.
 */
export function krakenStreamOf(frame: string): string | undefined {
  if (!frame.startsWith(CHANNEL_PREFIX)) return undefined;
  const channelEnd = frame.indexOf('"', CHANNEL_PREFIX.length);
  const channel = frame.slice(CHANNEL_PREFIX.length, channelEnd);
  if (channel !== 'book' && channel !== 'trade' && channel !== 'ticker' && channel !== 'ohlc') return undefined;
  const symbolAt = frame.indexOf(SYMBOL_KEY, channelEnd);
  if (symbolAt < 0) return undefined;
  const symbolStart = symbolAt + SYMBOL_KEY.length;
  const symbolEnd = frame.indexOf('"', symbolStart);
  if (symbolEnd < 0) return undefined;
  const symbol = frame.slice(symbolStart, symbolEnd);
  if (channel !== 'ohlc') return `${channel}:${symbol}`;
  const intervalAt = frame.indexOf(INTERVAL_KEY, symbolEnd);
  if (intervalAt < 0) return undefined;
  const digits = /^[0-9]+/.exec(frame.slice(intervalAt + INTERVAL_KEY.length, intervalAt + INTERVAL_KEY.length + 8));
  return digits === null ? undefined : `ohlc:${digits[0]}:${symbol}`;
}

/**
 * The request id and error of a subscribe or unsubscribe ack, or of a failure reply without a
 * method that names a `req_id`; undefined for any other frame (pongs go on to the parser).
 */
export function krakenReply(frame: string): { readonly id: number; readonly error?: string } | undefined {
  if (frame.startsWith(CHANNEL_PREFIX) || !frame.includes('"req_id"')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const reply = value as { method?: unknown; success?: unknown; error?: unknown; symbol?: unknown; req_id?: unknown };
  const id = reply.req_id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) return undefined;
  const isAck = reply.method === 'subscribe' || reply.method === 'unsubscribe';
  if (!isAck && !(reply.method === undefined && reply.success === false)) return undefined;
  if (reply.success !== false) return { id };
  const text = typeof reply.error === 'string' ? reply.error : `no error text (${quote(reply.error)})`;
  return { id, error: typeof reply.symbol === 'string' ? `${text} (symbol ${quote(reply.symbol)})` : text };
}

/** True when a data frame is a snapshot (`"type":"snapshot"`): no item of a Kraken frame has a `type` key. */
export function isKrakenSnapshot(frame: string): boolean {
  return frame.includes('"type":"snapshot"');
}
