/**
 * Coinbase Advanced Trade's market-data WebSocket control protocol (protocols.md §3.2) for the
 * connection layer ({@link ConnectionProtocol}).
 *
 * **Streams.** A stream is one channel of one product, `level2:BTC-USD`, `market_trades:BTC-USD`,
 * `ticker:BTC-USD`, or the product-less `heartbeats`. Coinbase takes one channel per subscribe
 * message, so each request carries exactly one stream (`maxStreamsPerMessage` 1): the level2
 * resync of one product is then the unsubscribe and subscribe of its one stream, and nothing else
 * moves. Only `heartbeats` has a stall deadline (they come every second, whatever the market
 * does); the data channels of an illiquid product may be quiet for minutes.
 *
 * **Replies.** Coinbase's requests carry no id and its replies name none. A request is answered
 * by a `subscriptions` message (the connection's whole subscription set after it) or by
 * `{"type":"error","message":...}`. Replies come in request order, so the protocol keeps the
 * requests it built, oldest first, and matches each reply to one of them:
 *
 * - a `subscriptions` message acknowledges the oldest request whose effect it shows (the stream
 *   is in the set for a subscribe, absent for an unsubscribe), or the oldest request when none
 *   does (a later request already undid it);
 * - an `error` message rejects the oldest request;
 * - a request built again for the same stream and direction, with no opposite request in
 *   between, is the connection's resend after an ack timeout: it replaces the earlier one, so a
 *   request the server never answered cannot shift every later match by one;
 * - a reply with no request waiting is not a reply: it goes to the handler like any frame.
 *
 * Matching by order needs one socket at a time: the request list belongs to the socket of the
 * connection's current epoch (`epoch`) and starts empty on each new one. Planned renewal (two
 * sockets subscribing at once) must therefore stay off for Coinbase; it has no connection age
 * limit and no shutdown notice, so nothing is lost.
 *
 * **Acks are numbered.** A `subscriptions` message carries a `sequence_num` like any data
 * message. The connection keeps replies from its handler, so the protocol hands each one it
 * consumed to `onAck`, at once and in order: the source feeds it to the connection's parser, or
 * every ack would look like a lost message.
 *
 * ```ts
 * let connection: ManagedConnection | undefined;
 * const protocol = coinbaseProtocol({ wsUrl: COINBASE_WS_URL, epoch: () => connection?.epoch ?? 0, onAck: (frame) => feed(frame) });
 * connection = new ManagedConnection({ protocol, ... });
 * connection.subscribe([COINBASE_HEARTBEATS, coinbaseStream('level2', 'BTC-USD')]);
 * ```
 */
import { InvariantError, quote } from '../../errors.js';
import type { ConnectionProtocol } from '../live/connection.js';
import { COINBASE_MESSAGE_CHANNEL, coinbaseSubscribe, coinbaseUnsubscribe, isCoinbaseChannel, type CoinbaseChannel } from './messages.js';

/** The production market-data endpoint. */
export const COINBASE_WS_URL = 'wss://advanced-trade-ws.coinbase.com';

/** The stream of the `heartbeats` channel (it takes no product). */
export const COINBASE_HEARTBEATS = 'heartbeats';

/** The channels that carry a product's data. */
export type CoinbaseDataChannel = Exclude<CoinbaseChannel, 'heartbeats'>;

/**
 * How long `heartbeats` may stay silent, ms: they come every second, so three missed ones mean the
 * connection (or the channel) is stalled (reliability.md §5 rule 4).
 */
export const COINBASE_HEARTBEAT_DEADLINE_MS = 3_000;

/** Unauthenticated messages per second Coinbase allows (per IP; protocols.md §3.2). */
export const COINBASE_CONTROL_PER_SECOND = 8;

/** The stream name of a product's channel: `level2:BTC-USD`. */
export function coinbaseStream(channel: CoinbaseDataChannel, product: string): string {
  return `${channel}:${product}`;
}

/** A parsed stream name. */
export type CoinbaseStreamKey =
  | { readonly channel: 'heartbeats'; readonly product: undefined }
  | { readonly channel: CoinbaseDataChannel; readonly product: string };

/** The channel and product of a stream name, or undefined when it is not one of ours. */
export function parseCoinbaseStream(stream: string): CoinbaseStreamKey | undefined {
  if (stream === COINBASE_HEARTBEATS) return { channel: 'heartbeats', product: undefined };
  const colon = stream.indexOf(':');
  if (colon < 0) return undefined;
  const channel = stream.slice(0, colon);
  const product = stream.slice(colon + 1);
  if (!isCoinbaseChannel(channel) || channel === 'heartbeats' || product === '') return undefined;
  return { channel, product };
}

/** The stall deadline of a stream, ms, before the timing's scale; undefined: none. */
export function coinbaseStallDeadlineMs(stream: string): number | undefined {
  return stream === COINBASE_HEARTBEATS ? COINBASE_HEARTBEAT_DEADLINE_MS : undefined;
}

export interface CoinbaseProtocolOptions {
  /** WebSocket URL, e.g. {@link COINBASE_WS_URL} or `ws://127.0.0.1:PORT` (the mock). */
  readonly wsUrl: string;
  /** The epoch of the connection's current socket (`() => connection.epoch`): requests are matched per socket. */
  readonly epoch: () => number;
  /** Each `subscriptions` ack the connection consumes, at once, for the socket's parser. */
  readonly onAck?: (frame: string) => void;
  /** Control messages per second (default {@link COINBASE_CONTROL_PER_SECOND}). */
  readonly controlPerSecond?: number;
}

export function coinbaseProtocol(options: CoinbaseProtocolOptions): ConnectionProtocol {
  return new CoinbaseProtocol(options);
}

/** A request sent on the current socket and not answered yet. */
interface PendingRequest {
  readonly id: number;
  readonly stream: string;
  readonly key: CoinbaseStreamKey;
  readonly subscribe: boolean;
}

/** Message channel (`l2_data`) -> subscribe channel (`level2`). */
const SUBSCRIBE_CHANNEL: ReadonlyMap<string, CoinbaseChannel> = new Map(
  (Object.entries(COINBASE_MESSAGE_CHANNEL) as [CoinbaseChannel, string][]).map(([channel, message]) => [message, channel]),
);

const CHANNEL_KEY = '"channel":"';
const PRODUCT_KEY = '"product_id":"';

class CoinbaseProtocol implements ConnectionProtocol {
  readonly venue = 'coinbase';
  readonly url: string;
  readonly maxStreamsPerMessage = 1;
  readonly controlPerSecond: number;
  readonly #epoch: () => number;
  readonly #onAck: ((frame: string) => void) | undefined;
  /** Requests of the socket of epoch `#session`, oldest first. */
  #pending: PendingRequest[] = [];
  #session = -1;

  constructor(options: CoinbaseProtocolOptions) {
    this.url = options.wsUrl;
    this.controlPerSecond = options.controlPerSecond ?? COINBASE_CONTROL_PER_SECOND;
    this.#epoch = options.epoch;
    this.#onAck = options.onAck;
  }

  subscribeFrame(streams: readonly string[], id: number): string {
    return this.#frame(streams, id, true);
  }

  unsubscribeFrame(streams: readonly string[], id: number): string {
    return this.#frame(streams, id, false);
  }

  streamOf(frame: string): string | undefined {
    const message = channelOf(frame);
    if (message === undefined) return undefined;
    const channel = SUBSCRIBE_CHANNEL.get(message);
    if (channel === undefined) return undefined;
    if (channel === 'heartbeats') return COINBASE_HEARTBEATS;
    // The first product named: one per message in practice (each event names its own).
    const at = frame.indexOf(PRODUCT_KEY);
    if (at < 0) return channel;
    const start = at + PRODUCT_KEY.length;
    const end = frame.indexOf('"', start);
    return end < 0 ? channel : `${channel}:${frame.slice(start, end)}`;
  }

  reply(frame: string): { readonly id: number; readonly error?: string } | undefined {
    const channel = channelOf(frame);
    const kind = channel === 'subscriptions' ? 'ack' : channel === undefined && frame.includes('"type":"error"') ? 'error' : undefined;
    if (kind === undefined) return undefined;
    const pending = this.#current();
    if (pending.length === 0) return undefined;
    const message = parseObject(frame);
    if (message === undefined) return undefined;
    if (kind === 'error') {
      const request = pending.shift() as PendingRequest;
      const text = typeof message.message === 'string' ? message.message : `error message without text: ${quote(frame)}`;
      return { id: request.id, error: text };
    }
    const state = subscriptionsOf(message);
    if (state === undefined) return undefined;
    const shown = pending.findIndex((request) => shows(state, request));
    const [request] = pending.splice(shown < 0 ? 0 : shown, 1);
    if (request === undefined) return undefined;
    this.#onAck?.(frame);
    return { id: request.id };
  }

  isShutdownNotice(): boolean {
    return false;
  }

  stallDeadlineMs(stream: string): number | undefined {
    return coinbaseStallDeadlineMs(stream);
  }

  /** The request list of the current socket, emptied when the socket changed. */
  #current(): PendingRequest[] {
    const epoch = this.#epoch();
    if (epoch !== this.#session) {
      this.#session = epoch;
      this.#pending = [];
    }
    return this.#pending;
  }

  #frame(streams: readonly string[], id: number, subscribe: boolean): string {
    const [stream] = streams;
    if (streams.length !== 1 || stream === undefined) {
      throw new InvariantError(`Coinbase takes one stream per request (maxStreamsPerMessage 1), got ${quote(streams)}`);
    }
    const key = parseCoinbaseStream(stream);
    if (key === undefined) throw new InvariantError(`Stream ${quote(stream)} is not a Coinbase stream: use "heartbeats" or "<channel>:<product>", e.g. "level2:BTC-USD"`);
    const pending = this.#current();
    // A resend after an ack timeout replaces the request it repeats (see the module doc).
    for (let i = pending.length - 1; i >= 0; i--) {
      const earlier = pending[i] as PendingRequest;
      if (earlier.stream !== stream) continue;
      if (earlier.subscribe === subscribe) pending.splice(i, 1);
      break;
    }
    pending.push({ id, stream, key, subscribe });
    const products = key.product === undefined ? [] : [key.product];
    const [request] = subscribe ? coinbaseSubscribe([key.channel], products) : coinbaseUnsubscribe([key.channel], products);
    return JSON.stringify(request);
  }
}

/** The message `channel` of a frame, found cheaply (it leads the envelope), or undefined. */
function channelOf(frame: string): string | undefined {
  const at = frame.indexOf(CHANNEL_KEY);
  if (at < 0) return undefined;
  const start = at + CHANNEL_KEY.length;
  const end = frame.indexOf('"', start);
  return end < 0 ? undefined : frame.slice(start, end);
}

function parseObject(frame: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** The subscription set a `subscriptions` message reports (its last event), or undefined when malformed. */
function subscriptionsOf(message: Record<string, unknown>): ReadonlyMap<string, readonly unknown[]> | undefined {
  const events = message.events;
  if (!Array.isArray(events)) return undefined;
  const last: unknown = events[events.length - 1];
  if (typeof last !== 'object' || last === null) return undefined;
  const subscriptions = (last as Record<string, unknown>).subscriptions;
  if (typeof subscriptions !== 'object' || subscriptions === null || Array.isArray(subscriptions)) return undefined;
  const state = new Map<string, readonly unknown[]>();
  for (const [channel, products] of Object.entries(subscriptions as Record<string, unknown>)) {
    if (Array.isArray(products)) state.set(channel, products);
  }
  return state;
}

/** True when `state` shows the effect of `request`: the stream subscribed, or no longer. */
function shows(state: ReadonlyMap<string, readonly unknown[]>, request: PendingRequest): boolean {
  const products = state.get(request.key.channel);
  const present = request.key.product === undefined ? products !== undefined : products?.includes(request.key.product) === true;
  return present === request.subscribe;
}
