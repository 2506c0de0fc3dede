/**
 * Subscribe and unsubscribe messages for the Coinbase Advanced Trade market-data WebSocket
 * (protocols.md §3.2): one message per channel, as Coinbase requires.
 *
 * ```ts
 * coinbaseSubscribe(['level2', 'market_trades'], ['BTC-USD']);
 * // [{ type: 'subscribe', channel: 'level2', product_ids: ['BTC-USD'] },
 * //  { type: 'subscribe', channel: 'market_trades', product_ids: ['BTC-USD'] },
 * //  { type: 'subscribe', channel: 'heartbeats' }]
 * ```
 *
 * A subscribe always includes `heartbeats`: Coinbase closes channels that carry no update for
 * 60 to 90 seconds, and heartbeats every second keep an illiquid product's connection open
 * (reliability.md R-06, Coinbase variant). `heartbeats` takes no product ids.
 */
import { z } from 'zod';
import { quote } from '../../errors.js';
import { tryCanonicalSymbol } from '../../model/index.js';

/** The channels alphaflow subscribes to, by their subscribe name (`level2` answers on `l2_data`). */
export const COINBASE_CHANNELS = ['heartbeats', 'level2', 'market_trades', 'ticker'] as const;
export type CoinbaseChannel = (typeof COINBASE_CHANNELS)[number];

/** The message `channel` each subscribe channel answers on. */
export const COINBASE_MESSAGE_CHANNEL: Readonly<Record<CoinbaseChannel, string>> = {
  heartbeats: 'heartbeats',
  level2: 'l2_data',
  market_trades: 'market_trades',
  ticker: 'ticker',
};

/** A subscribe or unsubscribe message as sent: JSON-serialise it as it is. */
export interface CoinbaseRequest {
  readonly type: 'subscribe' | 'unsubscribe';
  readonly channel: CoinbaseChannel;
  /** Absent for `heartbeats`; empty in an unsubscribe means the whole channel. */
  readonly product_ids?: readonly string[];
}

/**
 * A client request as Coinbase reads it (loose: `jwt` and `timestamp` may be present). `channel`
 * is any string here, so a server can answer an unknown channel with an error naming it.
 */
export const CoinbaseRequestSchema = z.looseObject({
  type: z.enum(['subscribe', 'unsubscribe']),
  channel: z.string().min(1),
  product_ids: z.array(z.string()).optional(),
  jwt: z.string().optional(),
});
export type CoinbaseRequestInput = z.infer<typeof CoinbaseRequestSchema>;

/** True for a channel name alphaflow subscribes to. */
export function isCoinbaseChannel(name: string): name is CoinbaseChannel {
  return (COINBASE_CHANNELS as readonly string[]).includes(name);
}

/**
 * The Coinbase product id of a symbol: canonical `BASE-QUOTE`, which is Coinbase's own spelling
 * (`btc/usd`, `BTCUSD` -> `BTC-USD`). Throws a RangeError naming the value when it is not a pair.
 */
export function coinbaseProductId(symbol: string): string {
  const product = tryCanonicalSymbol(symbol);
  if (product === undefined) throw new RangeError(`Coinbase product ${quote(symbol)} is not recognised: write it as BASE-QUOTE, e.g. "BTC-USD"`);
  return product;
}

/**
 * Subscribe messages for `channels` on `symbols`, one per channel in the order given, duplicates
 * removed, then `heartbeats` unless it was listed. Throws one RangeError listing every problem: an
 * unknown channel, an unrecognised symbol, or no symbols for a channel that needs them.
 */
export function coinbaseSubscribe(channels: readonly string[], symbols: readonly string[]): CoinbaseRequest[] {
  const checked = checkRequest('subscribe', channels, symbols);
  const requests = checked.channels.map((channel) => request('subscribe', channel, checked.products));
  if (!checked.channels.includes('heartbeats')) requests.push({ type: 'subscribe', channel: 'heartbeats' });
  return requests;
}

/**
 * Unsubscribe messages for `channels` on `symbols`, one per channel; no symbols unsubscribes the
 * whole channel (`product_ids: []`). Heartbeats are left alone unless listed.
 */
export function coinbaseUnsubscribe(channels: readonly string[], symbols: readonly string[] = []): CoinbaseRequest[] {
  const checked = checkRequest('unsubscribe', channels, symbols);
  return checked.channels.map((channel) => request('unsubscribe', channel, checked.products));
}

/**
 * The messages that make Coinbase send a fresh level2 snapshot for `symbols` after a sequence gap
 * or an invalid book (protocols.md §3.2): unsubscribe, then subscribe, only those products.
 */
export function coinbaseResubscribeBook(symbols: readonly string[]): CoinbaseRequest[] {
  const checked = checkRequest('resubscribe', ['level2'], symbols);
  return [request('unsubscribe', 'level2', checked.products), request('subscribe', 'level2', checked.products)];
}

function request(type: CoinbaseRequest['type'], channel: CoinbaseChannel, products: readonly string[]): CoinbaseRequest {
  return channel === 'heartbeats' ? { type, channel } : { type, channel, product_ids: products };
}

function checkRequest(
  action: 'subscribe' | 'unsubscribe' | 'resubscribe',
  channels: readonly string[],
  symbols: readonly string[],
): { channels: CoinbaseChannel[]; products: string[] } {
  const problems: string[] = [];
  const valid: CoinbaseChannel[] = [];
  for (const channel of channels) {
    if (!isCoinbaseChannel(channel)) problems.push(`channel ${quote(channel)} is not one of ${COINBASE_CHANNELS.join(', ')}`);
    else if (!valid.includes(channel)) valid.push(channel);
  }
  if (channels.length === 0) problems.push('no channels given');
  const products: string[] = [];
  for (const symbol of symbols) {
    const product = tryCanonicalSymbol(symbol);
    if (product === undefined) problems.push(`product ${quote(symbol)} is not recognised: write it as BASE-QUOTE, e.g. "BTC-USD"`);
    else if (!products.includes(product)) products.push(product);
  }
  if (action !== 'unsubscribe' && symbols.length === 0 && valid.some((channel) => channel !== 'heartbeats')) {
    problems.push(`no products given for ${valid.filter((channel) => channel !== 'heartbeats').join(', ')}`);
  }
  if (problems.length > 0) throw new RangeError(`Cannot ${action} on Coinbase: ${problems.join('; ')}`);
  return { channels: valid, products };
}
