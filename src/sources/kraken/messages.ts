/**
 * Requests to Kraken's Spot WebSocket v2 (protocols.md §4.1–§4.7): subscribe, unsubscribe and ping,
 * as plain JSON-serialisable objects with Kraken's field names in Kraken's order. Send one with
 * `socket.send(JSON.stringify(request))`.
 *
 * Parameters are checked here, at the boundary, and a bad one throws a RangeError that quotes it:
 * a subscription Kraken would reject is a configuration mistake, better reported before anything
 * is sent than as an error ack later.
 *
 * ```ts
 * krakenSubscribe({ channel: 'book', symbols: ['BTC-USD'], depth: 25 }, 7);
 * // {"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":25},"req_id":7}
 * ```
 */
import { quote } from '../../errors.js';
import { tryCanonicalSymbol } from '../../model/index.js';

/** Book depths Kraken accepts (protocols.md §4.4). */
export const KRAKEN_BOOK_DEPTHS = [10, 25, 100, 500, 1000] as const;
export type KrakenBookDepth = (typeof KRAKEN_BOOK_DEPTHS)[number];

/** Candle intervals Kraken accepts, in minutes (protocols.md §4.5). */
export const KRAKEN_OHLC_INTERVALS = [1, 5, 15, 30, 60, 240, 1440, 10080, 21600] as const;
export type KrakenOhlcInterval = (typeof KRAKEN_OHLC_INTERVALS)[number];

/** What triggers a ticker update: a trade (Kraken's default) or a change of the best bid or offer. */
export type KrakenTickerTrigger = 'trades' | 'bbo';

/** The channels these builders know. */
export const KRAKEN_CHANNELS = ['book', 'heartbeat', 'instrument', 'ohlc', 'ticker', 'trade'] as const;
export type KrakenChannel = (typeof KRAKEN_CHANNELS)[number];

/**
 * One subscription. Symbols are canonical (`BTC-USD`) or Kraken's (`BTC/USD`, `XBT/USD`); requests
 * carry Kraken's v2 spelling (`BTC/USD`). `snapshot` left out means Kraken's default (true, except
 * for trades).
 *
 * Heartbeats need no subscription: Kraken sends them on any connection with a subscription
 * (protocols.md §4.7; its docs say they cannot be requested). The `heartbeat` form exists for the
 * connection layer's symmetry and for the mock, which acknowledges it.
 */
export type KrakenSubscription =
  | { readonly channel: 'ticker'; readonly symbols: readonly string[]; readonly eventTrigger?: KrakenTickerTrigger; readonly snapshot?: boolean }
  | { readonly channel: 'trade'; readonly symbols: readonly string[]; readonly snapshot?: boolean }
  | { readonly channel: 'book'; readonly symbols: readonly string[]; readonly depth?: KrakenBookDepth; readonly snapshot?: boolean }
  | { readonly channel: 'ohlc'; readonly symbols: readonly string[]; readonly interval: KrakenOhlcInterval; readonly snapshot?: boolean }
  | { readonly channel: 'instrument'; readonly snapshot?: boolean }
  | { readonly channel: 'heartbeat' };

/** The `params` of a subscribe or unsubscribe request, as Kraken names them. */
export interface KrakenSubscriptionParams {
  readonly channel: KrakenChannel;
  readonly symbol?: readonly string[];
  readonly event_trigger?: KrakenTickerTrigger;
  readonly depth?: KrakenBookDepth;
  readonly interval?: KrakenOhlcInterval;
  readonly snapshot?: boolean;
}

export interface KrakenSubscribeRequest {
  readonly method: 'subscribe' | 'unsubscribe';
  readonly params: KrakenSubscriptionParams;
  readonly req_id?: number;
}

export interface KrakenPingRequest {
  readonly method: 'ping';
  readonly req_id?: number;
}

const KRAKEN_SYMBOL = /^[A-Za-z0-9]+[-/][A-Za-z0-9]+$/;

/**
 * Kraken's v2 spelling of a symbol: `BTC-USD`, `btc/usd` and `XBT/USD` all give `BTC/USD`. Throws a
 * RangeError naming the value when it is not `BASE-QUOTE` or `BASE/QUOTE`.
 */
export function krakenSymbol(symbol: string): string {
  const canonical = KRAKEN_SYMBOL.test(symbol.trim()) ? tryCanonicalSymbol(symbol) : undefined;
  if (canonical === undefined) throw new RangeError(`Kraken symbol ${quote(symbol)} is not valid: write it as BASE-QUOTE or BASE/QUOTE, e.g. "BTC-USD"`);
  return canonical.replace('-', '/');
}

/**
 * The Kraken interval in minutes for an interval given in minutes (`5`) or in alphaflow's notation
 * (`'5m'`, `'1h'`, `'1d'`, `'7d'`, `'15d'`). Throws a RangeError listing the valid ones otherwise.
 */
export function krakenOhlcInterval(interval: number | string): KrakenOhlcInterval {
  let minutes: number = NaN;
  if (typeof interval === 'number') {
    minutes = interval;
  } else {
    const match = /^([1-9][0-9]*)([mhd])$/.exec(interval);
    if (match !== null) minutes = Number(match[1]) * (match[2] === 'm' ? 1 : match[2] === 'h' ? 60 : 1440);
  }
  const found = KRAKEN_OHLC_INTERVALS.find((valid) => valid === minutes);
  if (found === undefined) {
    throw new RangeError(`Kraken ohlc interval ${quote(interval)} is not one of ${KRAKEN_OHLC_INTERVALS.join(', ')} minutes (1m, 5m, 15m, 30m, 1h, 4h, 1d, 7d, 15d)`);
  }
  return found;
}

/** A subscribe request for one channel; `reqId` comes back in every ack. */
export function krakenSubscribe(subscription: KrakenSubscription, reqId?: number): KrakenSubscribeRequest {
  return request('subscribe', subscriptionParams(subscription, true), reqId);
}

/** The unsubscribe request matching a subscription (Kraken needs the same depth or interval back). */
export function krakenUnsubscribe(subscription: KrakenSubscription, reqId?: number): KrakenSubscribeRequest {
  return request('unsubscribe', subscriptionParams(subscription, false), reqId);
}

/** An application-level ping; Kraken answers `{"method":"pong","req_id":...}`. */
export function krakenPing(reqId?: number): KrakenPingRequest {
  return reqId === undefined ? { method: 'ping' } : { method: 'ping', req_id: checkReqId(reqId) };
}

function request(method: 'subscribe' | 'unsubscribe', params: KrakenSubscriptionParams, reqId: number | undefined): KrakenSubscribeRequest {
  return reqId === undefined ? { method, params } : { method, params, req_id: checkReqId(reqId) };
}

function checkReqId(reqId: number): number {
  if (!Number.isSafeInteger(reqId) || reqId < 0) throw new RangeError(`Kraken req_id ${quote(reqId)} must be a non-negative integer`);
  return reqId;
}

/** The params of a subscription; `subscribing` false leaves out what an unsubscribe does not take. */
function subscriptionParams(subscription: KrakenSubscription, subscribing: boolean): KrakenSubscriptionParams {
  // Subscriptions can come from configs at run time: every field is checked, whatever its type says.
  const channel: unknown = (subscription as { channel?: unknown }).channel;
  switch (subscription.channel) {
    case 'heartbeat':
      return { channel: 'heartbeat' };
    case 'instrument':
      return withSnapshot({ channel: 'instrument' }, subscription.snapshot, subscribing);
    case 'ticker': {
      const params: { -readonly [K in keyof KrakenSubscriptionParams]: KrakenSubscriptionParams[K] } = { channel: 'ticker', symbol: symbolList(subscription.symbols) };
      const trigger: unknown = subscription.eventTrigger;
      if (trigger !== undefined) {
        if (trigger !== 'trades' && trigger !== 'bbo') throw new RangeError(`Kraken ticker eventTrigger ${quote(trigger)} is not "trades" or "bbo"`);
        if (subscribing) params.event_trigger = trigger;
      }
      return withSnapshot(params, subscription.snapshot, subscribing);
    }
    case 'trade':
      return withSnapshot({ channel: 'trade', symbol: symbolList(subscription.symbols) }, subscription.snapshot, subscribing);
    case 'book': {
      const depth: unknown = subscription.depth;
      const symbol = symbolList(subscription.symbols);
      if (depth === undefined) return withSnapshot({ channel: 'book', symbol }, subscription.snapshot, subscribing);
      const valid = KRAKEN_BOOK_DEPTHS.find((d) => d === depth);
      if (valid === undefined) throw new RangeError(`Kraken book depth ${quote(depth)} is not one of ${KRAKEN_BOOK_DEPTHS.join(', ')}`);
      return withSnapshot({ channel: 'book', symbol, depth: valid }, subscription.snapshot, subscribing);
    }
    case 'ohlc': {
      const interval: unknown = subscription.interval;
      const symbol = symbolList(subscription.symbols);
      const valid = KRAKEN_OHLC_INTERVALS.find((i) => i === interval);
      if (valid === undefined) throw new RangeError(`Kraken ohlc interval ${quote(interval)} is not one of ${KRAKEN_OHLC_INTERVALS.join(', ')} minutes`);
      return withSnapshot({ channel: 'ohlc', symbol, interval: valid }, subscription.snapshot, subscribing);
    }
    default:
      throw new RangeError(`Kraken channel ${quote(channel)} is not one of ${KRAKEN_CHANNELS.join(', ')}`);
  }
}

function withSnapshot(params: KrakenSubscriptionParams, snapshot: unknown, subscribing: boolean): KrakenSubscriptionParams {
  if (snapshot === undefined) return params;
  if (typeof snapshot !== 'boolean') throw new RangeError(`Kraken ${params.channel} snapshot ${quote(snapshot)} is not true or false`);
  return subscribing ? { ...params, snapshot } : params;
}

function symbolList(symbols: unknown): string[] {
  if (!Array.isArray(symbols) || symbols.length === 0) throw new RangeError(`Kraken symbols ${quote(symbols)} must be a non-empty list of symbols`);
  const out: string[] = [];
  for (const raw of symbols as unknown[]) {
    if (typeof raw !== 'string') throw new RangeError(`Kraken symbol ${quote(raw)} is not a string`);
    const symbol = krakenSymbol(raw);
    if (out.includes(symbol)) throw new RangeError(`Kraken symbol ${quote(raw)} is listed twice (as ${quote(symbol)})`);
    out.push(symbol);
  }
  return out;
}
