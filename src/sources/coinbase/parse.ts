/**
 * The Coinbase Advanced Trade WebSocket frame parser (protocols.md §3.2), live and in replay. One
 * `JSON.parse`, hand-written checks of meaning, then records. Results go to a handler, as in the
 * Binance parser: one frame can hold several records (a batch of trades, one book event per
 * product) and control messages, and a drop carries its reason.
 *
 * ```ts
 * const parser = createCoinbaseParser();              // one per connection
 * socket.on('message', (data) => parser.parse(data.toString(), ctx.scheduler.now(), {
 *   record: (record) => subscriber.next(record),
 *   control: (message) => connection.onControl(message), // sequence-gap -> gap event + level2 resync
 *   drop: (reason, frame) => drops.drop('coinbase', reason, frame),
 * }));
 * ```
 *
 * Every server message has the envelope
 * `{"channel":"l2_data","client_id":"","timestamp":"2026-01-01T00:00:00.714964855Z","sequence_num":12,"events":[...]}`.
 * What each channel becomes (`tsEvent` is when it happened, by the venue's clock):
 *
 * | message `channel` | output | tsEvent | notes |
 * |---|---|---|---|
 * | `ticker` | `book-top` per ticker | envelope `timestamp` | `best_bid`/`best_bid_quantity`, `best_ask`/`best_ask_quantity`; bid must be below ask |
 * | `market_trades` | `trade` per trade, by ascending id | trade `time` | `id` = `trade_id` (a non-negative integer, as a string or a number); `side` see below |
 * | `l2_data` | `book-depth` per event | envelope `timestamp` | `snapshot` = event `type === 'snapshot'`; `bid` updates are bids, `offer` updates asks, in venue order; quantities absolute, `"0"` removes |
 * | `heartbeats` | control `heartbeat` | envelope `timestamp` | `heartbeat_counter` as an integer or an integer string (production and docs differ) |
 * | `subscriptions` | control `subscriptions` | | the channels and products now subscribed |
 * | `{"type":"error",...}` | control `error` | | no envelope, no sequence number |
 *
 * **Sequence numbers.** `sequence_num` numbers the messages of a connection (protocols.md §3.2:
 * the evidence says per connection, unconfirmed; `sequenceScope: 'channel'` tracks it per message
 * channel instead). The parser keeps the last one it saw: a message more than one after it means
 * messages were lost, and yields a `sequence-gap` control before the message's own output (the
 * message itself is good and is parsed); a message at or before it is a duplicate (a replayed or
 * doubled frame) and is dropped. The first message of a parser's life sets the start, unless
 * `firstSequence` says which number it must carry (0 on a live connection, so that losing the
 * first messages is a gap too). Create one parser per connection.
 *
 * **Book update ids.** A `book-depth` record carries the message's `sequence_num` as
 * `firstUpdateId` and `lastUpdateId`, and the sequence number of the message before it on the
 * connection (any channel) as `prevUpdateId` (absent on a parser's first message). So a record is
 * contiguous with what came before exactly when `prevUpdateId + 1 === firstUpdateId`; a book that
 * sees anything else must resynchronise (see `CoinbaseBook`).
 *
 * **Trade side.** Coinbase documents the Exchange feed's `match.side` (and REST trades) as the
 * side of the *maker* order: `sell` means a resting sell was lifted, a taker buy (protocols.md
 * §3.1). For Advanced Trade `market_trades` the docs do not say (§3.2, §9: unconfirmed). The
 * default, `tradeSide: 'maker'`, reads it the documented Coinbase way and flips it to the taker
 * side alphaflow's `Trade.side` means (`SELL` -> `buy`); `tradeSide: 'taker'` keeps it as sent.
 *
 * **Times** are RFC 3339 with up to nine fractional digits; they are read to epoch ms by hand,
 * truncating (never rounding) below the millisecond, so an event at `...:59.9996Z` stays in its
 * second. Event times must be from 2015 on and at most `maxAheadMs` after the receive time. The
 * `event_time` of an l2 update must be a valid time too (snapshot levels are not bounded: Coinbase
 * may date them at the epoch).
 *
 * A drop reason names the channel, the field and the value: `market_trades field
 * "events[].trades[].price" is not a positive decimal: "-1" at events[0].trades[2]`. Its text up
 * to the first colon is stable, so drop counters are labelled by kind, not by value.
 */
import { quote } from '../../errors.js';
import type { BookDepth, BookTop, Level, Side, Trade } from '../../model/index.js';
import { tryCanonicalSymbol } from '../../model/index.js';

/** The records a Coinbase frame can become. */
export type CoinbaseRecord = Trade | BookTop | BookDepth;

/** A frame that is not market data but matters to the connection. */
export type CoinbaseControl =
  /** Messages were lost between `expected` (the first missing number) and `got`: emit a gap, resync level2. */
  | {
      readonly kind: 'sequence-gap';
      readonly expected: number;
      readonly got: number;
      /** The channel of the message that revealed the gap (the lost ones may be of any channel). */
      readonly channel: string;
      /** The `timestamp` of that message, epoch ms. */
      readonly tsEvent: number;
    }
  /** A `heartbeats` event: the connection is alive. */
  | { readonly kind: 'heartbeat'; readonly counter: number; readonly tsEvent: number; readonly currentTime: string }
  /** A subscribe or unsubscribe was applied: what the connection is subscribed to now. */
  | { readonly kind: 'subscriptions'; readonly subscriptions: Readonly<Record<string, readonly string[]>> }
  /** The server rejected something (a bad subscribe, an unknown product, ...). */
  | { readonly kind: 'error'; readonly message: string };

/** Where a parser delivers what it found in a frame, in order. */
export interface CoinbaseFrameHandler {
  record(record: CoinbaseRecord): void;
  control(message: CoinbaseControl): void;
  /** The frame, or one event or item of it, was dropped; `reason` names the field and the value. */
  drop(reason: string, frame: string): void;
}

/** How `market_trades` `side` is read: see the module doc. */
export type CoinbaseTradeSide = 'maker' | 'taker';

/** What one `sequence_num` counter covers. */
export type CoinbaseSequenceScope = 'connection' | 'channel';

export interface CoinbaseParserOptions {
  /** How far after its receive time an event time may lie (default one day). */
  readonly maxAheadMs?: number;
  /** Whose side `market_trades` `side` is (default `maker`, flipped to the taker side). */
  readonly tradeSide?: CoinbaseTradeSide;
  /** Whether `sequence_num` counts per connection (default) or per message channel. */
  readonly sequenceScope?: CoinbaseSequenceScope;
  /**
   * The number the first message must carry (Coinbase starts a connection at 0), so that losing
   * the very first messages is a gap too. Default: none, the first message sets the start (a
   * replay that begins mid-stream).
   */
  readonly firstSequence?: number;
}

export interface CoinbaseParser {
  /** Parses one frame received at `tsRecv` (epoch ms), delivering records, controls and drops to `out`. Never throws on a bad frame. */
  parse(frame: string, tsRecv: number, out: CoinbaseFrameHandler): void;
  /** The last `sequence_num` accepted (per connection, or for `channel` in the per-channel scope), or undefined before any. */
  lastSequence(channel?: string): number | undefined;
}

export const COINBASE_VENUE = 'coinbase';

/** 2015-01-01T00:00:00Z. Coinbase's exchange opened in January 2015: an earlier event time is corrupt. */
export const COINBASE_EARLIEST_EVENT_TIME = 1_420_070_400_000;

/** How far after its receive time an event time may lie by default: one day. */
export const COINBASE_DEFAULT_MAX_AHEAD_MS = 86_400_000;

/** Creates a parser. It holds the sequence state of one connection: create one per connection or replay. */
export function createCoinbaseParser(options: CoinbaseParserOptions = {}): CoinbaseParser {
  const maxAheadMs = options.maxAheadMs ?? COINBASE_DEFAULT_MAX_AHEAD_MS;
  if (!(maxAheadMs >= 0)) throw new RangeError(`maxAheadMs ${quote(maxAheadMs)} must be a non-negative number of milliseconds`);
  const tradeSide: string = options.tradeSide ?? 'maker';
  if (tradeSide !== 'maker' && tradeSide !== 'taker') throw new RangeError(`tradeSide ${quote(tradeSide)} must be "maker" or "taker"`);
  const scope: string = options.sequenceScope ?? 'connection';
  if (scope !== 'connection' && scope !== 'channel') throw new RangeError(`sequenceScope ${quote(scope)} must be "connection" or "channel"`);
  const first = options.firstSequence;
  if (first !== undefined && !isId(first)) throw new RangeError(`firstSequence ${quote(first)} must be an integer >= 0`);
  return new FrameParser(maxAheadMs, tradeSide, scope, first);
}

type JsonObject = Record<string, unknown>;

/** Key of the sequence counter in the per-connection scope. */
const CONNECTION = '';

/** The envelope of the message being parsed. */
interface Envelope {
  readonly channel: string;
  readonly sequence: number;
  /** The number of the message before this one on the connection (or channel), or undefined on the first. */
  readonly previous: number | undefined;
  readonly tsEvent: number;
}

class FrameParser implements CoinbaseParser {
  readonly #maxAheadMs: number;
  readonly #flipSide: boolean;
  readonly #perChannel: boolean;
  readonly #sequences = new Map<string, number>();
  #tsRecv = 0;
  #limit = 0;
  #frame = '';
  #out: CoinbaseFrameHandler = NO_HANDLER;

  /** The sequence number before the first expected one, or undefined. */
  readonly #beforeFirst: number | undefined;

  constructor(maxAheadMs: number, tradeSide: CoinbaseTradeSide, scope: CoinbaseSequenceScope, firstSequence: number | undefined) {
    this.#maxAheadMs = maxAheadMs;
    this.#flipSide = tradeSide === 'maker';
    this.#perChannel = scope === 'channel';
    this.#beforeFirst = firstSequence === undefined ? undefined : firstSequence - 1;
  }

  lastSequence(channel?: string): number | undefined {
    return this.#sequences.get(this.#perChannel ? (channel ?? CONNECTION) : CONNECTION);
  }

  parse(frame: string, tsRecv: number, out: CoinbaseFrameHandler): void {
    let value: unknown;
    try {
      value = JSON.parse(frame);
    } catch (err) {
      out.drop(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`, frame);
      return;
    }
    this.#frame = frame;
    this.#out = out;
    this.#tsRecv = tsRecv;
    this.#limit = tsRecv + this.#maxAheadMs;
    try {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) this.#drop(`not a JSON object: ${quote(value)}`);
      else this.#message(value as JsonObject);
    } finally {
      this.#out = NO_HANDLER;
      this.#frame = '';
    }
  }

  /** Drops the frame (or the part being parsed) for `reason`; false, so a parse step can `return this.#drop(...)`. */
  #drop(reason: string): false {
    this.#out.drop(reason, this.#frame);
    return false;
  }


  #message(m: JsonObject): boolean {
    if (m.type === 'error') {
      const message = m.message;
      if (typeof message !== 'string') return this.#drop(problem('error', 'message', 'is not a string', message, 'the message'));
      this.#out.control({ kind: 'error', message });
      return true;
    }
    const envelope = this.#envelope(m);
    if (envelope === undefined) return false;
    const events = m.events;
    if (!Array.isArray(events)) return this.#drop(problem(envelope.channel, 'events', 'is not a list', events, 'the message'));
    switch (envelope.channel) {
      case 'l2_data':
        return this.#each(events, envelope, (event, at) => this.#book(event, at, envelope));
      case 'market_trades':
        return this.#each(events, envelope, (event, at) => this.#trades(event, at));
      case 'ticker':
        return this.#each(events, envelope, (event, at) => this.#tickers(event, at, envelope));
      case 'heartbeats':
        return this.#each(events, envelope, (event, at) => this.#heartbeat(event, at, envelope));
      case 'subscriptions':
        return this.#each(events, envelope, (event, at) => this.#subscriptions(event, at));
      default:
        return this.#drop(`unsupported channel: ${quote(envelope.channel)}`);
    }
  }

  /** Checks the envelope and the sequence number; undefined (after a drop) when the message is unusable or a duplicate. */
  #envelope(m: JsonObject): Envelope | undefined {
    const { channel, sequence_num: sequence, timestamp } = m;
    if (typeof channel !== 'string' || channel === '') {
      this.#drop(problem('envelope', 'channel', 'is not a channel name', channel, 'the message'));
      return undefined;
    }
    if (!isId(sequence)) {
      this.#drop(problem(channel, 'sequence_num', 'is not a non-negative integer', sequence, 'the message'));
      return undefined;
    }
    const tsEvent = this.#time(channel, 'timestamp', timestamp, 'the message');
    if (tsEvent === false) return undefined;
    const key = this.#perChannel ? channel : CONNECTION;
    const last = this.#sequences.get(key);
    if (last !== undefined && sequence <= last) {
      this.#drop(`duplicate sequence_num: ${sequence} is not after the last ${last} (channel ${quote(channel)})`);
      return undefined;
    }
    // With a promised first number, the first message is checked against the one before it.
    const previous = last ?? this.#beforeFirst;
    if (previous !== undefined && sequence <= previous) {
      this.#drop(`early sequence_num: ${sequence} is before the first expected ${previous + 1} (channel ${quote(channel)})`);
      return undefined;
    }
    this.#sequences.set(key, sequence);
    if (previous !== undefined && sequence > previous + 1) {
      this.#out.control({ kind: 'sequence-gap', expected: previous + 1, got: sequence, channel, tsEvent });
    }
    return { channel, sequence, previous: last, tsEvent };
  }

  /** Parses each event of a message; false when any was dropped. */
  #each(events: readonly unknown[], envelope: Envelope, parse: (event: JsonObject, at: string) => boolean): boolean {
    let ok = true;
    for (let i = 0; i < events.length; i++) {
      const event: unknown = events[i];
      const at = `events[${i}]`;
      if (typeof event !== 'object' || event === null || Array.isArray(event)) ok = this.#drop(problem(envelope.channel, 'events[]', 'is not an object', event, at));
      else if (!parse(event as JsonObject, at)) ok = false;
    }
    return ok;
  }

  #book(event: JsonObject, at: string, envelope: Envelope): boolean {
    const { type, product_id: productId, updates } = event;
    if (type !== 'snapshot' && type !== 'update') return this.#drop(problem('l2_data', 'events[].type', 'is not "snapshot" or "update"', type, at));
    const symbol = this.#symbol('l2_data', 'events[].product_id', productId, at);
    if (symbol === false) return false;
    if (!Array.isArray(updates)) return this.#drop(problem('l2_data', 'events[].updates', 'is not a list', updates, at));
    const snapshot = type === 'snapshot';
    const bids: Level[] = [];
    const asks: Level[] = [];
    for (let i = 0; i < updates.length; i++) {
      const u: unknown = updates[i];
      const where = `${at}.updates[${i}]`;
      if (typeof u !== 'object' || u === null || Array.isArray(u)) return this.#drop(problem('l2_data', 'events[].updates[]', 'is not an object', u, where));
      const { side, price_level: rawPrice, new_quantity: rawQty, event_time: eventTime } = u as JsonObject;
      if (side !== 'bid' && side !== 'offer') return this.#drop(problem('l2_data', 'events[].updates[].side', 'is not "bid" or "offer"', side, where));
      const price = decimal(rawPrice);
      if (!isPrice(price)) return this.#drop(problem('l2_data', 'events[].updates[].price_level', 'is not a positive decimal', rawPrice, where));
      const qty = decimal(rawQty);
      if (!isQuantity(qty)) return this.#drop(problem('l2_data', 'events[].updates[].new_quantity', 'is not a non-negative decimal', rawQty, where));
      if (snapshot) {
        if (typeof eventTime !== 'string' || Number.isNaN(parseRfc3339(eventTime))) {
          return this.#drop(problem('l2_data', 'events[].updates[].event_time', 'is not an RFC 3339 time', eventTime, where));
        }
      } else if (this.#time('l2_data', 'events[].updates[].event_time', eventTime, where) === false) {
        return false;
      }
      (side === 'bid' ? bids : asks).push([price, qty]);
    }
    if (snapshot) {
      const bestBid = best(bids, 1);
      const bestAsk = best(asks, -1);
      if (bestBid !== undefined && bestAsk !== undefined && !(bestBid < bestAsk)) {
        return this.#drop(`crossed book: the snapshot's best bid ${quote(bestBid)} is not below its best ask ${quote(bestAsk)} at ${at}`);
      }
    }
    const record: { -readonly [K in keyof BookDepth]: BookDepth[K] } = {
      type: 'book-depth',
      venue: COINBASE_VENUE,
      symbol,
      tsEvent: envelope.tsEvent,
      tsRecv: this.#tsRecv,
      firstUpdateId: envelope.sequence,
      lastUpdateId: envelope.sequence,
      bids,
      asks,
      snapshot,
    };
    if (envelope.previous !== undefined) record.prevUpdateId = envelope.previous;
    this.#out.record(record);
    return true;
  }

  #trades(event: JsonObject, at: string): boolean {
    const { type, trades } = event;
    if (type !== 'snapshot' && type !== 'update') return this.#drop(problem('market_trades', 'events[].type', 'is not "snapshot" or "update"', type, at));
    if (!Array.isArray(trades)) return this.#drop(problem('market_trades', 'events[].trades', 'is not a list', trades, at));
    const records: Trade[] = [];
    for (let i = 0; i < trades.length; i++) {
      const t: unknown = trades[i];
      const where = `${at}.trades[${i}]`;
      if (typeof t !== 'object' || t === null || Array.isArray(t)) {
        this.#drop(problem('market_trades', 'events[].trades[]', 'is not an object', t, where));
        continue;
      }
      const record = this.#trade(t as JsonObject, where);
      if (record !== false) records.push(record);
    }
    // Batches are not promised in trade order (Coinbase appears to send the newest first).
    records.sort((a, b) => a.id - b.id);
    for (const record of records) this.#out.record(record);
    return records.length === trades.length;
  }

  #trade(t: JsonObject, where: string): Trade | false {
    const { trade_id: rawId, price: rawPrice, size: rawSize, side: rawSide } = t;
    const id = nonNegativeInteger(rawId);
    if (id === undefined) return this.#drop(problem('market_trades', 'events[].trades[].trade_id', 'is not a non-negative integer', rawId, where));
    const price = decimal(rawPrice);
    if (!isPrice(price)) return this.#drop(problem('market_trades', 'events[].trades[].price', 'is not a positive decimal', rawPrice, where));
    const qty = decimal(rawSize);
    if (!(qty > 0 && qty < Infinity)) return this.#drop(problem('market_trades', 'events[].trades[].size', 'is not a positive decimal', rawSize, where));
    if (rawSide !== 'BUY' && rawSide !== 'SELL') return this.#drop(problem('market_trades', 'events[].trades[].side', 'is not "BUY" or "SELL"', rawSide, where));
    const tsEvent = this.#time('market_trades', 'events[].trades[].time', t.time, where);
    if (tsEvent === false) return false;
    const symbol = this.#symbol('market_trades', 'events[].trades[].product_id', t.product_id, where);
    if (symbol === false) return false;
    const buy = rawSide === 'BUY';
    const side: Side = buy !== this.#flipSide ? 'buy' : 'sell';
    return { type: 'trade', venue: COINBASE_VENUE, symbol, tsEvent, tsRecv: this.#tsRecv, id, price, qty, side };
  }

  #tickers(event: JsonObject, at: string, envelope: Envelope): boolean {
    const { type, tickers } = event;
    if (type !== 'snapshot' && type !== 'update') return this.#drop(problem('ticker', 'events[].type', 'is not "snapshot" or "update"', type, at));
    if (!Array.isArray(tickers)) return this.#drop(problem('ticker', 'events[].tickers', 'is not a list', tickers, at));
    let ok = true;
    for (let i = 0; i < tickers.length; i++) {
      const t: unknown = tickers[i];
      const where = `${at}.tickers[${i}]`;
      if (typeof t !== 'object' || t === null || Array.isArray(t)) ok = this.#drop(problem('ticker', 'events[].tickers[]', 'is not an object', t, where));
      else if (!this.#ticker(t as JsonObject, where, envelope)) ok = false;
    }
    return ok;
  }

  #ticker(t: JsonObject, where: string, envelope: Envelope): boolean {
    const { best_bid: rawBid, best_bid_quantity: rawBidQty, best_ask: rawAsk, best_ask_quantity: rawAskQty } = t;
    const bidPrice = decimal(rawBid);
    if (!isPrice(bidPrice)) return this.#drop(problem('ticker', 'events[].tickers[].best_bid', 'is not a positive decimal', rawBid, where));
    const bidQty = decimal(rawBidQty);
    if (!isQuantity(bidQty)) return this.#drop(problem('ticker', 'events[].tickers[].best_bid_quantity', 'is not a non-negative decimal', rawBidQty, where));
    const askPrice = decimal(rawAsk);
    if (!isPrice(askPrice)) return this.#drop(problem('ticker', 'events[].tickers[].best_ask', 'is not a positive decimal', rawAsk, where));
    const askQty = decimal(rawAskQty);
    if (!isQuantity(askQty)) return this.#drop(problem('ticker', 'events[].tickers[].best_ask_quantity', 'is not a non-negative decimal', rawAskQty, where));
    if (!(bidPrice < askPrice)) return this.#drop(`crossed book: best_bid ${quote(rawBid)} is not below best_ask ${quote(rawAsk)} at ${where}`);
    const symbol = this.#symbol('ticker', 'events[].tickers[].product_id', t.product_id, where);
    if (symbol === false) return false;
    this.#out.record({ type: 'book-top', venue: COINBASE_VENUE, symbol, tsEvent: envelope.tsEvent, tsRecv: this.#tsRecv, bidPrice, bidQty, askPrice, askQty });
    return true;
  }

  #heartbeat(event: JsonObject, at: string, envelope: Envelope): boolean {
    const { heartbeat_counter: rawCounter, current_time: currentTime } = event;
    const counter = nonNegativeInteger(rawCounter);
    if (counter === undefined) return this.#drop(problem('heartbeats', 'events[].heartbeat_counter', 'is not a non-negative integer', rawCounter, at));
    if (typeof currentTime !== 'string') return this.#drop(problem('heartbeats', 'events[].current_time', 'is not a string', currentTime, at));
    this.#out.control({ kind: 'heartbeat', counter, tsEvent: envelope.tsEvent, currentTime });
    return true;
  }

  #subscriptions(event: JsonObject, at: string): boolean {
    const raw = event.subscriptions;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return this.#drop(problem('subscriptions', 'events[].subscriptions', 'is not an object', raw, at));
    }
    const subscriptions: Record<string, readonly string[]> = {};
    for (const [channel, products] of Object.entries(raw as JsonObject)) {
      if (!Array.isArray(products) || !products.every((p): p is string => typeof p === 'string')) {
        return this.#drop(problem('subscriptions', `events[].subscriptions.${channel}`, 'is not a list of strings', products, at));
      }
      subscriptions[channel] = products;
    }
    this.#out.control({ kind: 'subscriptions', subscriptions });
    return true;
  }

  /** Epoch ms of an RFC 3339 event time within the sane range, or false after a drop naming `field`. */
  #time(channel: string, field: string, value: unknown, where: string): number | false {
    const ms = typeof value === 'string' ? parseRfc3339(value) : NaN;
    if (Number.isNaN(ms)) return this.#drop(problem(channel, field, 'is not an RFC 3339 time', value, where));
    if (ms < COINBASE_EARLIEST_EVENT_TIME) return this.#drop(problem(channel, field, 'is before 2015', value, where));
    if (ms > this.#limit) {
      return this.#drop(problem(channel, field, `is more than ${this.#maxAheadMs} ms after the receive time ${this.#tsRecv}`, value, where));
    }
    return ms;
  }

  /** The canonical symbol of a Coinbase `product_id` (`BTC-USD`), or false after a drop. */
  #symbol(channel: string, field: string, value: unknown, where: string): string | false {
    const symbol = typeof value === 'string' && PRODUCT_ID.test(value) ? tryCanonicalSymbol(value) : undefined;
    if (symbol === undefined) return this.#drop(problem(channel, field, 'is not a BASE-QUOTE product id', value, where));
    return symbol;
  }
}

const NO_HANDLER: CoinbaseFrameHandler = {
  record: () => undefined,
  control: () => undefined,
  drop: () => undefined,
};

/** A spot product id: `BTC-USD`, `ETH-USDC`. Futures (`BIT-31JAN25-CDE`) have no canonical symbol yet. */
const PRODUCT_ID = /^[A-Z0-9]+-[A-Z0-9]+$/;

/** `market_trades field "events[].trades[].price" is not a positive decimal: "-1" at events[0].trades[2]`. */
function problem(channel: string, field: string, rule: string, value: unknown, where: string): string {
  if (value === undefined) return `${channel} field "${field}" is missing: at ${where}`;
  return `${channel} field "${field}" ${rule}: ${quote(value)} at ${where}`;
}

/** The best price of `levels` (`sign` 1: highest, -1: lowest) among those with a quantity, or undefined. */
function best(levels: readonly Level[], sign: 1 | -1): number | undefined {
  let result: number | undefined;
  for (const [price, qty] of levels) {
    if (qty > 0 && (result === undefined || sign * (price - result) > 0)) result = price;
  }
  return result;
}

/** An unsigned dec-string as Coinbase writes it: `43000.12`, `0.5`. No sign, exponent or blanks. */
const UNSIGNED_DECIMAL = /^[0-9]+(\.[0-9]+)?$/;

/** The number in an unsigned dec-string, or NaN for anything else (`""`, `"1e3"`, a JSON number). */
function decimal(value: unknown): number {
  return typeof value === 'string' && UNSIGNED_DECIMAL.test(value) ? Number(value) : NaN;
}

function isPrice(value: number): boolean {
  return value > 0 && value < Infinity;
}

function isQuantity(value: number): boolean {
  return value >= 0 && value < Infinity;
}

function isId(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

const DIGITS = /^[0-9]+$/;

/** A non-negative safe integer given as a JSON integer or a string of digits, or undefined. */
function nonNegativeInteger(value: unknown): number | undefined {
  if (isId(value)) return value;
  if (typeof value !== 'string' || !DIGITS.test(value)) return undefined;
  const id = Number(value);
  return Number.isSafeInteger(id) ? id : undefined;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function daysInMonth(year: number, month: number): number {
  if (month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) return 29;
  return DAYS_IN_MONTH[month - 1] ?? 0;
}

/**
 * Epoch ms of an RFC 3339 date-time (`2026-01-01T00:00:00.714964855Z`, `...+02:00`), or NaN.
 * Digits below the millisecond are cut, not rounded. Years before 1970 are rejected. A leap
 * second (`:60`) is read as the first millisecond of the next minute.
 */
export function parseRfc3339(text: string): number {
  const m = RFC3339.exec(text);
  if (m === null) return NaN;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  if (hour > 23 || minute > 59 || second > 60) return NaN;
  const fraction = m[7] ?? '';
  const millis = fraction === '' ? 0 : Number(`${fraction}00`.slice(0, 3));
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const offsetHours = Number(m[10]);
    const offsetMins = Number(m[11]);
    if (offsetHours > 23 || offsetMins > 59) return NaN;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
}
