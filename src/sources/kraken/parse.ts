/**
 * The Kraken Spot WebSocket v2 frame parser (protocols.md §4), live and in replay. It never throws
 * on a bad frame: what it finds goes to a handler, in frame order, and every frame or data item it
 * cannot use is dropped with a reason that names the field and quotes the value.
 *
 * ```ts
 * const parser = createKrakenParser();
 * parser.parse(text, ctx.scheduler.now(), {
 *   record: (record) => subscriber.next(record),
 *   control: (message) => connection.onControl(message),
 *   drop: (reason, frame) => drops.drop('kraken', reason, frame),
 * });
 * ```
 *
 * What each channel becomes (venue `kraken`, symbols canonical: `BTC/USD` -> `BTC-USD`):
 *
 * | channel | record | tsEvent | notes |
 * |---|---|---|---|
 * | ticker | `book-top` | item `timestamp` when sent, else the receive time | `bid`, `bid_qty`, `ask`, `ask_qty`; bid must be below ask |
 * | trade | `trade` | item `timestamp` (RFC 3339) | `id` = `trade_id`, `side` = `side` (the taker's) |
 * | ohlc | `candle` | frame `timestamp` when sent, else the receive time | `interval` = minutes as `1m` ... `15d`; `openTime` = `interval_begin`; see "Closed candles" |
 * | book | `book-depth` | item `timestamp` when sent (updates), else the receive time | preceded by a `book` control message carrying the checksum; see "Book messages" |
 *
 * Control messages: subscribe and unsubscribe acks (`ack`, with `success` and the error text),
 * `heartbeat`, `status`, `pong`, `error` (a failure reply without a method), and `instrument`
 * (one per pair of an instrument snapshot or update: the price and quantity precision the book
 * checksum needs).
 *
 * **Exact numbers.** Kraken v2 sends prices and quantities as JSON numbers written with the pair's
 * full precision (`"qty":0.00100000`), and the book checksum is computed from that text. Node 20's
 * `JSON.parse` keeps only the double (`0.001`) and has no access to the source text, so frames are
 * read by {@link readJson}, a small JSON reader that keeps each number's text next to its value
 * ({@link JsonNumber}). Book levels carry both to the book keeper.
 *
 * **Book messages.** Each book data item gives, in this order, a `book` control message (symbol,
 * snapshot flag, levels with their exact text, `checksum`, update id) and then the `book-depth`
 * record, so a connection layer can apply the message to its `KrakenBook`, verify the checksum and
 * decide whether to forward the record that follows. Kraken has no update ids: the parser numbers
 * the book items of each symbol 1, 2, 3, ... (`firstUpdateId` = `lastUpdateId` = the number,
 * `prevUpdateId` = the one before). The number is taken as soon as the item's symbol is known, so an
 * item dropped for a bad field leaves a hole in the numbers that a consumer can see. Numbers are per
 * parser: create a parser per connection.
 *
 * **Closed candles.** Kraken streams updates of the forming bar, driven by trades, with no closed
 * flag. For each symbol and interval the parser remembers the last bar it emitted; a bar is closed
 * when either
 *   1. a bar with a later `interval_begin` arrives for that symbol and interval (in the same frame or
 *      a later one): the remembered bar is emitted once more, with `closed: true`, before the new one;
 *   2. the frame's `timestamp` (venue time) is at or after the bar's end: the bar is emitted with
 *      `closed: true` directly (a snapshot's old bars, for example).
 * Other bars are emitted with `closed: false`, once per update. A closed bar is emitted closed
 * exactly once; a later item for it, or for an older bar, is dropped with a reason (a snapshot
 * after a resubscribe repeats the current bar: it is dropped if that bar is already closed). A bar
 * whose symbol goes quiet stays forming until the next bar or a later frame time arrives: the
 * parser has no clock of its own.
 */
import { quote } from '../../errors.js';
import type { BookDepth, BookTop, Candle, Level, Trade } from '../../model/index.js';
import { formatInterval, tryCanonicalSymbol } from '../../model/index.js';
import type { KrakenLevel } from './checksum.js';
import { KRAKEN_OHLC_INTERVALS } from './messages.js';

/** The records a Kraken frame can become. */
export type KrakenRecord = Trade | Candle | BookTop | BookDepth;

/** A book data item: what a `KrakenBook` applies and verifies. Delivered just before its `book-depth` record. */
export interface KrakenBookMessage {
  readonly kind: 'book';
  /** Canonical symbol (`BTC-USD`). */
  readonly symbol: string;
  /** Kraken's symbol (`BTC/USD`). */
  readonly rawSymbol: string;
  readonly snapshot: boolean;
  /** Levels in the order sent, with the exact text of each price and quantity. */
  readonly bids: readonly KrakenLevel[];
  readonly asks: readonly KrakenLevel[];
  /** CRC-32 of the top 10 levels after this message is applied (unsigned). */
  readonly checksum: number;
  /** The parser's number for this book item (see the module doc): the record's `lastUpdateId`. */
  readonly updateId: number;
  readonly tsEvent: number;
}

/** A frame that is not market data but matters to the connection. */
export type KrakenControl =
  /** A subscribe or unsubscribe succeeded (Kraken acks once per symbol). */
  | {
      readonly kind: 'ack';
      readonly method: 'subscribe' | 'unsubscribe';
      readonly success: true;
      readonly channel: string;
      /** Canonical symbol, when the ack names one Kraken-style symbol alphaflow recognises. */
      readonly symbol: string | undefined;
      /** The symbol as Kraken wrote it, when the ack names one. */
      readonly rawSymbol: string | undefined;
      readonly reqId: number | undefined;
      /** The ack's `result` object (`depth`, `interval`, `snapshot`, ...), numbers as numbers. */
      readonly result: Readonly<Record<string, unknown>>;
      readonly warnings: readonly string[];
    }
  /** A subscribe or unsubscribe failed; `error` is Kraken's text. */
  | {
      readonly kind: 'ack';
      readonly method: 'subscribe' | 'unsubscribe';
      readonly success: false;
      readonly error: string;
      readonly symbol: string | undefined;
      readonly rawSymbol: string | undefined;
      readonly reqId: number | undefined;
    }
  /** A failure reply that names no method (a request Kraken could not read). */
  | { readonly kind: 'error'; readonly error: string; readonly reqId: number | undefined }
  /** Kraken sends one about once a second when nothing else is sent. */
  | { readonly kind: 'heartbeat' }
  /** Sent on connect and when the trading engine's state changes. */
  | {
      readonly kind: 'status';
      /** `online`, `maintenance`, `cancel_only`, `post_only`, ... */
      readonly system: string;
      readonly version: string | undefined;
      readonly apiVersion: string | undefined;
      /** The connection id, as text (it may not fit a double). */
      readonly connectionId: string | undefined;
    }
  /** The answer to a ping. */
  | { readonly kind: 'pong'; readonly reqId: number | undefined; readonly error: string | undefined }
  /** A pair's precision, from the `instrument` channel. */
  | { readonly kind: 'instrument'; readonly symbol: string; readonly rawSymbol: string; readonly pricePrecision: number; readonly qtyPrecision: number }
  | KrakenBookMessage;

/** Where a parser delivers what it found in a frame, in frame order. */
export interface KrakenFrameHandler {
  record(record: KrakenRecord): void;
  control(message: KrakenControl): void;
  /** The frame, or one data item of it, was dropped; `reason` names the field and the value. */
  drop(reason: string, frame: string): void;
}

export interface KrakenParserOptions {
  /**
   * How far after its receive time an event time may lie (default one day). A virtual-time test
   * whose clock starts at 0 receives real frames "years early": set the clock, or this to Infinity.
   */
  readonly maxAheadMs?: number;
}

export interface KrakenParser {
  readonly venue: 'kraken';
  /** Parses one frame received at `tsRecv` (epoch ms), delivering records, control messages and drops to `out`. */
  parse(frame: string, tsRecv: number, out: KrakenFrameHandler): void;
}

/** 2013-01-01T00:00:00Z. Kraken opened in September 2013: an earlier event time is corrupt. */
export const KRAKEN_EARLIEST_EVENT_TIME = 1_356_998_400_000;

/** How far after its receive time an event time may lie by default: one day. */
export const KRAKEN_DEFAULT_MAX_AHEAD_MS = 86_400_000;

/** Creates a parser. It holds book update numbers and forming candles per symbol: create one per connection or replay. */
export function createKrakenParser(options: KrakenParserOptions = {}): KrakenParser {
  const maxAheadMs = options.maxAheadMs ?? KRAKEN_DEFAULT_MAX_AHEAD_MS;
  if (!(maxAheadMs >= 0)) throw new RangeError(`maxAheadMs ${quote(maxAheadMs)} must be a non-negative number of milliseconds`);
  return new FrameParser(maxAheadMs);
}

// ---------------------------------------------------------------------------------------------
// Lossless JSON

/** A JSON number with the text it was written as: `0.00100000` keeps its zeros. */
export class JsonNumber {
  readonly text: string;
  readonly value: number;

  constructor(text: string) {
    this.text = text;
    this.value = Number(text);
  }

  /** Serialises as the number, so quoting a payload shows it. */
  toJSON(): number {
    return this.value;
  }
}

/** A JSON value as {@link readJson} returns it: numbers are {@link JsonNumber}s, objects have no prototype. */
export type JsonValue = null | boolean | string | JsonNumber | readonly JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: JsonValue | undefined;
}

/** Nesting deeper than this is refused rather than risking the stack: no Kraken frame comes close. */
const MAX_NESTING = 64;

/**
 * Reads one JSON text (RFC 8259) the way `JSON.parse` does, except that numbers keep their text.
 * Throws a SyntaxError with the position for anything `JSON.parse` would reject, and for nesting
 * deeper than 64. Duplicate keys: the last one wins, as in `JSON.parse`.
 */
export function readJson(text: string): JsonValue {
  return new JsonReader(text).read();
}

class JsonReader {
  readonly #text: string;
  #pos = 0;

  constructor(text: string) {
    this.#text = text;
  }

  read(): JsonValue {
    const value = this.#value(0);
    this.#skipSpace();
    if (this.#pos < this.#text.length) this.#fail('unexpected text after the JSON value');
    return value;
  }

  #fail(what: string): never {
    throw new SyntaxError(`${what} at position ${this.#pos}`);
  }

  #skipSpace(): void {
    const text = this.#text;
    let pos = this.#pos;
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
      pos++;
    }
    this.#pos = pos;
  }

  #value(depth: number): JsonValue {
    this.#skipSpace();
    const text = this.#text;
    if (this.#pos >= text.length) this.#fail('unexpected end of JSON');
    const c = text.charCodeAt(this.#pos);
    if (c === 123) return this.#object(depth + 1);
    if (c === 91) return this.#array(depth + 1);
    if (c === 34) return this.#string();
    if (c === 45 || (c >= 48 && c <= 57)) return this.#number();
    if (text.startsWith('true', this.#pos)) return this.#literal(4, true);
    if (text.startsWith('false', this.#pos)) return this.#literal(5, false);
    if (text.startsWith('null', this.#pos)) return this.#literal(4, null);
    return this.#fail(`unexpected character ${quote(text.charAt(this.#pos))}`);
  }

  #literal<T>(length: number, value: T): T {
    this.#pos += length;
    return value;
  }

  #object(depth: number): JsonObject {
    if (depth > MAX_NESTING) this.#fail(`nesting deeper than ${MAX_NESTING}`);
    const text = this.#text;
    this.#pos++;
    const object = Object.create(null) as Record<string, JsonValue>;
    this.#skipSpace();
    if (text.charCodeAt(this.#pos) === 125) {
      this.#pos++;
      return object;
    }
    for (;;) {
      this.#skipSpace();
      if (text.charCodeAt(this.#pos) !== 34) this.#fail('expected a property name');
      const key = this.#string();
      this.#skipSpace();
      if (text.charCodeAt(this.#pos) !== 58) this.#fail('expected ":"');
      this.#pos++;
      object[key] = this.#value(depth);
      this.#skipSpace();
      const c = text.charCodeAt(this.#pos);
      this.#pos++;
      if (c === 44) continue;
      if (c === 125) return object;
      this.#pos--;
      this.#fail(this.#pos >= text.length ? 'unexpected end of JSON' : 'expected "," or "}"');
    }
  }

  #array(depth: number): JsonValue[] {
    if (depth > MAX_NESTING) this.#fail(`nesting deeper than ${MAX_NESTING}`);
    const text = this.#text;
    this.#pos++;
    const array: JsonValue[] = [];
    this.#skipSpace();
    if (text.charCodeAt(this.#pos) === 93) {
      this.#pos++;
      return array;
    }
    for (;;) {
      array.push(this.#value(depth));
      this.#skipSpace();
      const c = text.charCodeAt(this.#pos);
      this.#pos++;
      if (c === 44) continue;
      if (c === 93) return array;
      this.#pos--;
      this.#fail(this.#pos >= text.length ? 'unexpected end of JSON' : 'expected "," or "]"');
    }
  }

  #string(): string {
    const text = this.#text;
    const start = this.#pos + 1;
    let pos = start;
    // Fast path: no escapes.
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 34) {
        this.#pos = pos + 1;
        return text.slice(start, pos);
      }
      if (c === 92) break;
      if (c < 32) {
        this.#pos = pos;
        this.#fail('control character in a string');
      }
      pos++;
    }
    let out = text.slice(start, pos);
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 34) {
        this.#pos = pos + 1;
        return out;
      }
      if (c < 32) {
        this.#pos = pos;
        this.#fail('control character in a string');
      }
      if (c !== 92) {
        out += text.charAt(pos);
        pos++;
        continue;
      }
      const escape = text.charAt(pos + 1);
      pos += 2;
      switch (escape) {
        case '"':
        case '\\':
        case '/':
          out += escape;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = text.slice(pos, pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
            this.#pos = pos;
            this.#fail('bad \\u escape');
          }
          out += String.fromCharCode(parseInt(hex, 16));
          pos += 4;
          break;
        }
        default:
          this.#pos = pos - 2;
          this.#fail(`bad escape ${quote(`\\${escape}`)}`);
      }
    }
    this.#pos = pos;
    return this.#fail('unterminated string');
  }

  #number(): JsonNumber {
    const text = this.#text;
    const start = this.#pos;
    let pos = start;
    if (text.charCodeAt(pos) === 45) pos++;
    const first = text.charCodeAt(pos);
    if (first === 48) {
      pos++;
    } else if (first >= 49 && first <= 57) {
      while (isDigit(text.charCodeAt(pos))) pos++;
    } else {
      this.#pos = pos;
      this.#fail('expected a digit');
    }
    if (text.charCodeAt(pos) === 46) {
      pos++;
      if (!isDigit(text.charCodeAt(pos))) {
        this.#pos = pos;
        this.#fail('expected a digit after "."');
      }
      while (isDigit(text.charCodeAt(pos))) pos++;
    }
    const e = text.charCodeAt(pos);
    if (e === 101 || e === 69) {
      pos++;
      const sign = text.charCodeAt(pos);
      if (sign === 43 || sign === 45) pos++;
      if (!isDigit(text.charCodeAt(pos))) {
        this.#pos = pos;
        this.#fail('expected a digit in the exponent');
      }
      while (isDigit(text.charCodeAt(pos))) pos++;
    }
    this.#pos = pos;
    return new JsonNumber(text.slice(start, pos));
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof JsonNumber);
}

/** A JSON value with numbers as plain numbers and plain objects: for `result` objects handed on. */
function toPlain(value: JsonValue): unknown {
  if (value instanceof JsonNumber) return value.value;
  if (Array.isArray(value)) return value.map(toPlain);
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) if (inner !== undefined) out[key] = toPlain(inner);
    return out;
  }
  return value;
}

/** Quotes a field value for a drop reason; a number shows as written (`"0.50"`). */
function show(value: JsonValue | undefined): string {
  return value instanceof JsonNumber ? quote(value.text) : quote(value);
}

// ---------------------------------------------------------------------------------------------
// Field checks

/** A JSON number's value, or NaN for anything else (Kraken v2 never sends numbers as strings). */
function num(value: JsonValue | undefined): number {
  return value instanceof JsonNumber ? value.value : NaN;
}

function isPositive(value: number): boolean {
  return value > 0 && value < Infinity;
}

function isNonNegative(value: number): boolean {
  return value >= 0 && value < Infinity;
}

/** A safe non-negative integer written without a fraction or exponent. */
function integerOf(value: JsonValue | undefined): number | undefined {
  if (!(value instanceof JsonNumber) || !/^(0|[1-9][0-9]*)$/.test(value.text)) return undefined;
  return Number.isSafeInteger(value.value) ? value.value : undefined;
}

const RFC3339 = /^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?([Zz]|[+-][0-9]{2}:[0-9]{2})$/;

/** Epoch ms of an RFC 3339 time (`2026-01-01T00:00:01.925603Z`, fraction cut to ms), or NaN. */
export function rfc3339Ms(text: string): number {
  const match = RFC3339.exec(text);
  if (match === null) return NaN;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  const hour = Number(match[4]);
  const minute = Number(match[5]);
  const second = Number(match[6]);
  const ms = match[7] === undefined ? 0 : Number(match[7].padEnd(3, '0').slice(0, 3));
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return NaN;
  const date = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  if (new Date(date).getUTCDate() !== day) return NaN;
  const zone = match[8] ?? 'Z';
  if (zone === 'Z' || zone === 'z') return date;
  const offsetHours = Number(zone.slice(1, 3));
  const offsetMinutes = Number(zone.slice(4, 6));
  if (offsetHours > 23 || offsetMinutes > 59) return NaN;
  const offset = (offsetHours * 60 + offsetMinutes) * 60_000;
  return zone.startsWith('-') ? date + offset : date - offset;
}

const KRAKEN_PAIR = /^[A-Za-z0-9]+\/[A-Za-z0-9]+$/;

/** The canonical symbol of a Kraken v2 symbol (`BTC/USD`), or undefined. */
function canonicalFromKraken(raw: JsonValue | undefined): string | undefined {
  return typeof raw === 'string' && KRAKEN_PAIR.test(raw) ? tryCanonicalSymbol(raw) : undefined;
}

/** Minutes -> the interval label (`5` -> `5m`, `10080` -> `7d`). */
const INTERVAL_LABELS: ReadonlyMap<number, string> = new Map(KRAKEN_OHLC_INTERVALS.map((minutes) => [minutes, formatInterval(minutes * 60_000)]));

interface OhlcState {
  /** `interval_begin` of the last bar emitted. */
  begin: number;
  /** Whether that bar was emitted closed. */
  closed: boolean;
  /** The last record emitted for it. */
  last: Candle;
}

/** A checked ohlc data item, before the closing rules decide its `closed` flag. */
interface OhlcItem {
  readonly key: string;
  readonly begin: number;
  readonly candle: Omit<Candle, 'closed'>;
}

// ---------------------------------------------------------------------------------------------
// The parser

class FrameParser implements KrakenParser {
  readonly venue = 'kraken' as const;
  readonly #maxAheadMs: number;
  /** Book items numbered per symbol. */
  readonly #bookIds = new Map<string, number>();
  /** The last bar per `symbol|minutes`. */
  readonly #bars = new Map<string, OhlcState>();
  // Per frame: set by parse, read by the handlers below.
  #frame = '';
  #tsRecv = 0;
  #limit = 0;
  #out: KrakenFrameHandler = NO_HANDLER;

  constructor(maxAheadMs: number) {
    this.#maxAheadMs = maxAheadMs;
  }

  parse(frame: string, tsRecv: number, out: KrakenFrameHandler): void {
    let value: JsonValue;
    try {
      value = readJson(frame);
    } catch (err) {
      out.drop(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`, frame);
      return;
    }
    this.#frame = frame;
    this.#tsRecv = tsRecv;
    this.#limit = tsRecv + this.#maxAheadMs;
    this.#out = out;
    try {
      if (!isObject(value)) this.#drop(`not a JSON object: ${show(value)}`);
      else if (value.method !== undefined) this.#reply(value);
      else this.#channel(value);
    } finally {
      this.#out = NO_HANDLER;
      this.#frame = '';
    }
  }

  /** Drops the frame (or the item being read); returns false so that a check can return it. */
  #drop(reason: string): false {
    this.#out.drop(reason, this.#frame);
    return false;
  }

  /** True for an epoch-ms time from 2013 to the receive time plus the allowed lead. */
  #time(ms: number): boolean {
    return Number.isSafeInteger(ms) && ms >= KRAKEN_EARLIEST_EVENT_TIME && ms <= this.#limit;
  }

  /** Why `value` is not a usable RFC 3339 event time, or undefined when it is one. */
  #timeProblem(value: JsonValue | undefined): string | undefined {
    if (typeof value !== 'string') return 'is not an RFC 3339 time';
    const ms = rfc3339Ms(value);
    if (Number.isNaN(ms)) return 'is not an RFC 3339 time';
    if (ms > this.#limit) return `is more than ${formatMs(this.#maxAheadMs)} after the receive time ${this.#tsRecv}`;
    if (!this.#time(ms)) return 'is before 2013';
    return undefined;
  }

  #channel(frame: JsonObject): void {
    const channel = frame.channel;
    if (channel === undefined) {
      if (frame.success === false || frame.error !== undefined) {
        this.#error(frame);
        return;
      }
      this.#drop('frame has neither a "channel" nor a "method" field');
      return;
    }
    switch (channel) {
      case 'heartbeat':
        this.#out.control({ kind: 'heartbeat' });
        return;
      case 'status':
        this.#status(frame);
        return;
      case 'instrument':
        this.#instrument(frame);
        return;
      case 'ticker':
      case 'trade':
      case 'ohlc':
      case 'book':
        this.#data(channel, frame);
        return;
      default:
        this.#drop(`unknown channel: ${show(channel)}`);
    }
  }

  #data(channel: 'ticker' | 'trade' | 'ohlc' | 'book', frame: JsonObject): void {
    const type = frame.type;
    if (type !== 'snapshot' && type !== 'update') {
      this.#drop(problem(channel, 'type', 'is not "snapshot" or "update"', type));
      return;
    }
    const data = frame.data;
    if (!Array.isArray(data)) {
      this.#drop(problem(channel, 'data', 'is not a list', data));
      return;
    }
    const items = data as readonly JsonValue[];
    if (channel === 'ohlc') {
      this.#ohlc(frame, items);
      return;
    }
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (!isObject(item)) {
        this.#drop(problem(channel, `data[${i}]`, 'is not an object', item));
        continue;
      }
      if (channel === 'ticker') this.#ticker(item, i);
      else if (channel === 'trade') this.#trade(item, i);
      else this.#book(item, i, type === 'snapshot');
    }
  }

  #ticker(p: JsonObject, i: number): boolean {
    const at = `data[${i}].`;
    const bidPrice = num(p.bid);
    const bidQty = num(p.bid_qty);
    const askPrice = num(p.ask);
    const askQty = num(p.ask_qty);
    if (!isPositive(bidPrice)) return this.#drop(problem('ticker', `${at}bid`, 'is not a positive number', p.bid));
    if (!isNonNegative(bidQty)) return this.#drop(problem('ticker', `${at}bid_qty`, 'is not a non-negative number', p.bid_qty));
    if (!isPositive(askPrice)) return this.#drop(problem('ticker', `${at}ask`, 'is not a positive number', p.ask));
    if (!isNonNegative(askQty)) return this.#drop(problem('ticker', `${at}ask_qty`, 'is not a non-negative number', p.ask_qty));
    if (!(bidPrice < askPrice)) return this.#drop(`ticker ${at}bid ${show(p.bid)} is not below ask ${show(p.ask)}: crossed book`);
    let tsEvent = this.#tsRecv;
    if (p.timestamp !== undefined) {
      const bad = this.#timeProblem(p.timestamp);
      if (bad !== undefined) return this.#drop(problem('ticker', `${at}timestamp`, bad, p.timestamp));
      tsEvent = rfc3339Ms(p.timestamp as string);
    }
    const symbol = canonicalFromKraken(p.symbol);
    if (symbol === undefined) return this.#drop(symbolProblem('ticker', `${at}symbol`, p.symbol));
    this.#out.record({ type: 'book-top', venue: 'kraken', symbol, tsEvent, tsRecv: this.#tsRecv, bidPrice, bidQty, askPrice, askQty });
    return true;
  }

  #trade(p: JsonObject, i: number): boolean {
    const at = `data[${i}].`;
    const side = p.side;
    const price = num(p.price);
    const qty = num(p.qty);
    const id = integerOf(p.trade_id);
    if (side !== 'buy' && side !== 'sell') return this.#drop(problem('trade', `${at}side`, 'is not "buy" or "sell"', side));
    if (!isPositive(price)) return this.#drop(problem('trade', `${at}price`, 'is not a positive number', p.price));
    if (!isPositive(qty)) return this.#drop(problem('trade', `${at}qty`, 'is not a positive number', p.qty));
    if (id === undefined) return this.#drop(problem('trade', `${at}trade_id`, 'is not a non-negative integer', p.trade_id));
    const bad = this.#timeProblem(p.timestamp);
    if (bad !== undefined) return this.#drop(problem('trade', `${at}timestamp`, bad, p.timestamp));
    const symbol = canonicalFromKraken(p.symbol);
    if (symbol === undefined) return this.#drop(symbolProblem('trade', `${at}symbol`, p.symbol));
    this.#out.record({
      type: 'trade',
      venue: 'kraken',
      symbol,
      tsEvent: rfc3339Ms(p.timestamp as string),
      tsRecv: this.#tsRecv,
      id,
      price,
      qty,
      side,
    });
    return true;
  }

  #book(p: JsonObject, i: number, snapshot: boolean): boolean {
    const at = `data[${i}].`;
    const rawSymbol = p.symbol;
    const symbol = canonicalFromKraken(rawSymbol);
    if (symbol === undefined) return this.#drop(symbolProblem('book', `${at}symbol`, rawSymbol));
    // Numbered before the other checks: a dropped item leaves a hole in the numbers.
    const updateId = (this.#bookIds.get(symbol) ?? 0) + 1;
    this.#bookIds.set(symbol, updateId);
    const bids = this.#levels(p.bids, `${at}bids`);
    if (typeof bids === 'string') return this.#drop(bids);
    const asks = this.#levels(p.asks, `${at}asks`);
    if (typeof asks === 'string') return this.#drop(asks);
    const checksum = integerOf(p.checksum);
    if (checksum === undefined || checksum > 0xffff_ffff) {
      return this.#drop(problem('book', `${at}checksum`, 'is not an unsigned 32-bit integer', p.checksum));
    }
    let tsEvent = this.#tsRecv;
    if (p.timestamp !== undefined) {
      const bad = this.#timeProblem(p.timestamp);
      if (bad !== undefined) return this.#drop(problem('book', `${at}timestamp`, bad, p.timestamp));
      tsEvent = rfc3339Ms(p.timestamp as string);
    }
    if (snapshot) {
      const crossed = crossedSnapshot(bids, asks);
      if (crossed !== undefined) return this.#drop(`book ${at}snapshot is crossed: best bid ${quote(crossed[0])} is not below best ask ${quote(crossed[1])}`);
    }
    this.#out.control({ kind: 'book', symbol, rawSymbol: rawSymbol as string, snapshot, bids, asks, checksum, updateId, tsEvent });
    this.#out.record({
      type: 'book-depth',
      venue: 'kraken',
      symbol,
      tsEvent,
      tsRecv: this.#tsRecv,
      firstUpdateId: updateId,
      lastUpdateId: updateId,
      prevUpdateId: updateId - 1,
      bids: bids.map(toLevel),
      asks: asks.map(toLevel),
      snapshot,
    });
    return true;
  }

  /** The levels of one side, or a drop reason. A missing side is empty (an update may touch one side). */
  #levels(value: JsonValue | undefined, field: string): KrakenLevel[] | string {
    if (value === undefined) return [];
    if (!Array.isArray(value)) return problem('book', field, 'is not a list of levels', value);
    const list = value as readonly JsonValue[];
    const out: KrakenLevel[] = [];
    for (let j = 0; j < list.length; j++) {
      const level = list[j];
      if (!isObject(level)) return problem('book', `${field}[${j}]`, 'is not a {price, qty} object', level);
      const { price, qty } = level;
      if (!(price instanceof JsonNumber) || !isPositive(price.value)) return problem('book', `${field}[${j}].price`, 'is not a positive number', price);
      if (!(qty instanceof JsonNumber) || !isNonNegative(qty.value)) return problem('book', `${field}[${j}].qty`, 'is not a non-negative number', qty);
      out.push({ price: price.value, qty: qty.value, priceText: price.text, qtyText: qty.text });
    }
    return out;
  }

  #ohlc(frame: JsonObject, data: readonly JsonValue[]): boolean {
    let tsEvent = this.#tsRecv;
    let frameTime: number | undefined;
    if (frame.timestamp !== undefined) {
      const bad = this.#timeProblem(frame.timestamp);
      if (bad !== undefined) return this.#drop(problem('ohlc', 'timestamp', bad, frame.timestamp));
      frameTime = rfc3339Ms(frame.timestamp as string);
      tsEvent = frameTime;
    }
    const items: OhlcItem[] = [];
    const latest = new Map<string, number>();
    for (let i = 0; i < data.length; i++) {
      const item = this.#ohlcItem(data[i], i, tsEvent);
      if (item === undefined) continue;
      items.push(item);
      if (!(item.begin <= (latest.get(item.key) ?? -Infinity))) latest.set(item.key, item.begin);
    }
    for (const item of items) {
      const state = this.#bars.get(item.key);
      const { symbol, interval, openTime } = item.candle;
      if (state !== undefined) {
        if (item.begin < state.begin) {
          this.#drop(`ohlc bar ${quote(new Date(openTime).toISOString())} of ${symbol} ${interval} is older than the current bar ${quote(new Date(state.begin).toISOString())}`);
          continue;
        }
        if (item.begin === state.begin && state.closed) {
          this.#drop(`ohlc bar ${quote(new Date(openTime).toISOString())} of ${symbol} ${interval} is already closed`);
          continue;
        }
        if (item.begin > state.begin && !state.closed) {
          // Rule 1: a later bar closes the previous one.
          this.#out.record({ ...state.last, tsEvent, tsRecv: this.#tsRecv, closed: true });
        }
      }
      const closed = item.begin < (latest.get(item.key) ?? item.begin) || (frameTime !== undefined && frameTime > item.candle.closeTime);
      const candle: Candle = { ...item.candle, closed };
      this.#bars.set(item.key, { begin: item.begin, closed, last: candle });
      this.#out.record(candle);
    }
    return true;
  }

  /** A checked ohlc item, or undefined after dropping it. */
  #ohlcItem(p: JsonValue | undefined, i: number, tsEvent: number): OhlcItem | undefined {
    if (!isObject(p)) {
      this.#drop(problem('ohlc', `data[${i}]`, 'is not an object', p));
      return undefined;
    }
    const at = `data[${i}].`;
    const open = num(p.open);
    const high = num(p.high);
    const low = num(p.low);
    const close = num(p.close);
    const volume = num(p.volume);
    for (const field of ['open', 'high', 'low', 'close'] as const) {
      if (!isPositive(num(p[field]))) {
        this.#drop(problem('ohlc', at + field, 'is not a positive number', p[field]));
        return undefined;
      }
    }
    if (!isNonNegative(volume)) {
      this.#drop(problem('ohlc', `${at}volume`, 'is not a non-negative number', p.volume));
      return undefined;
    }
    const trades = p.trades === undefined ? undefined : integerOf(p.trades);
    if (p.trades !== undefined && trades === undefined) {
      this.#drop(problem('ohlc', `${at}trades`, 'is not a non-negative integer', p.trades));
      return undefined;
    }
    const minutes = integerOf(p.interval);
    const interval = minutes === undefined ? undefined : INTERVAL_LABELS.get(minutes);
    if (minutes === undefined || interval === undefined) {
      this.#drop(problem('ohlc', `${at}interval`, `is not one of ${KRAKEN_OHLC_INTERVALS.join(', ')} minutes`, p.interval));
      return undefined;
    }
    const bad = this.#timeProblem(p.interval_begin);
    if (bad !== undefined) {
      this.#drop(problem('ohlc', `${at}interval_begin`, bad, p.interval_begin));
      return undefined;
    }
    if (!(low <= open && low <= close && high >= open && high >= close)) {
      this.#drop(`ohlc ${at}low and high do not bound open and close: ${quote({ open: p.open, high: p.high, low: p.low, close: p.close })}`);
      return undefined;
    }
    const symbol = canonicalFromKraken(p.symbol);
    if (symbol === undefined) {
      this.#drop(symbolProblem('ohlc', `${at}symbol`, p.symbol));
      return undefined;
    }
    const begin = rfc3339Ms(p.interval_begin as string);
    const candle: { -readonly [K in keyof Omit<Candle, 'closed'>]: Omit<Candle, 'closed'>[K] } = {
      type: 'candle',
      venue: 'kraken',
      symbol,
      tsEvent,
      tsRecv: this.#tsRecv,
      interval,
      openTime: begin,
      closeTime: begin + minutes * 60_000 - 1,
      open,
      high,
      low,
      close,
      volume,
    };
    if (trades !== undefined) candle.trades = trades;
    return { key: `${symbol}|${minutes}`, begin, candle };
  }

  #instrument(frame: JsonObject): boolean {
    const data = frame.data;
    if (!isObject(data)) return this.#drop(problem('instrument', 'data', 'is not an object', data));
    const pairs = data.pairs;
    if (pairs === undefined) return true;
    if (!Array.isArray(pairs)) return this.#drop(problem('instrument', 'data.pairs', 'is not a list', pairs));
    const list = pairs as readonly JsonValue[];
    for (let i = 0; i < list.length; i++) {
      const pair = list[i];
      const at = `data.pairs[${i}]`;
      if (!isObject(pair)) {
        this.#drop(problem('instrument', at, 'is not an object', pair));
        continue;
      }
      const pricePrecision = integerOf(pair.price_precision);
      const qtyPrecision = integerOf(pair.qty_precision);
      if (pricePrecision === undefined) {
        this.#drop(problem('instrument', `${at}.price_precision`, 'is not a non-negative integer', pair.price_precision));
        continue;
      }
      if (qtyPrecision === undefined) {
        this.#drop(problem('instrument', `${at}.qty_precision`, 'is not a non-negative integer', pair.qty_precision));
        continue;
      }
      const symbol = canonicalFromKraken(pair.symbol);
      if (symbol === undefined) {
        this.#drop(symbolProblem('instrument', `${at}.symbol`, pair.symbol));
        continue;
      }
      this.#out.control({ kind: 'instrument', symbol, rawSymbol: pair.symbol as string, pricePrecision, qtyPrecision });
    }
    return true;
  }

  #status(frame: JsonObject): boolean {
    const data = frame.data;
    const item = Array.isArray(data) ? (data as readonly JsonValue[])[0] : undefined;
    if (!isObject(item)) return this.#drop(problem('status', 'data[0]', 'is not an object', Array.isArray(data) ? item : data));
    const system = item.system;
    if (typeof system !== 'string' || system === '') return this.#drop(problem('status', 'data[0].system', 'is not a system state', system));
    const id = item.connection_id;
    this.#out.control({
      kind: 'status',
      system,
      version: typeof item.version === 'string' ? item.version : undefined,
      apiVersion: typeof item.api_version === 'string' ? item.api_version : undefined,
      connectionId: id instanceof JsonNumber ? id.text : typeof id === 'string' ? id : undefined,
    });
    return true;
  }

  /** A frame with a `method`: an ack or a pong. */
  #reply(frame: JsonObject): boolean {
    const method = frame.method;
    const reqId = frame.req_id === undefined ? undefined : integerOf(frame.req_id);
    if (frame.req_id !== undefined && reqId === undefined) {
      return this.#drop(problem(typeof method === 'string' ? method : 'reply', 'req_id', 'is not a non-negative integer', frame.req_id));
    }
    if (method === 'pong') {
      const error = frame.error;
      this.#out.control({ kind: 'pong', reqId, error: typeof error === 'string' ? error : undefined });
      return true;
    }
    if (method !== 'subscribe' && method !== 'unsubscribe') return this.#drop(`unknown method: ${show(method)}`);
    const success = frame.success;
    if (typeof success !== 'boolean') return this.#drop(problem(method, 'success', 'is not true or false', success));
    if (!success) {
      const error = frame.error;
      if (typeof error !== 'string') return this.#drop(problem(method, 'error', 'is not a string', error));
      const rawSymbol = typeof frame.symbol === 'string' ? frame.symbol : undefined;
      this.#out.control({ kind: 'ack', method, success: false, error, symbol: canonicalFromKraken(rawSymbol), rawSymbol, reqId });
      return true;
    }
    const result = frame.result;
    if (!isObject(result)) return this.#drop(problem(method, 'result', 'is not an object', result));
    const channel = result.channel;
    if (typeof channel !== 'string' || channel === '') return this.#drop(problem(method, 'result.channel', 'is not a channel name', channel));
    const warnings = result.warnings;
    if (warnings !== undefined && !(Array.isArray(warnings) && warnings.every((w) => typeof w === 'string'))) {
      return this.#drop(problem(method, 'result.warnings', 'is not a list of strings', warnings));
    }
    const rawSymbol = typeof result.symbol === 'string' ? result.symbol : undefined;
    this.#out.control({
      kind: 'ack',
      method,
      success: true,
      channel,
      symbol: canonicalFromKraken(rawSymbol),
      rawSymbol,
      reqId,
      result: toPlain(result) as Record<string, unknown>,
      warnings: warnings ?? [],
    });
    return true;
  }

  /** A failure reply without a method. */
  #error(frame: JsonObject): boolean {
    const error = frame.error;
    if (typeof error !== 'string') return this.#drop(problem('error reply', 'error', 'is not a string', error));
    const reqId = frame.req_id === undefined ? undefined : integerOf(frame.req_id);
    if (frame.req_id !== undefined && reqId === undefined) return this.#drop(problem('error reply', 'req_id', 'is not a non-negative integer', frame.req_id));
    this.#out.control({ kind: 'error', error, reqId });
    return true;
  }
}

const NO_HANDLER: KrakenFrameHandler = {
  record: () => undefined,
  control: () => undefined,
  drop: () => undefined,
};

/** `trade field "data[0].price" is not a positive number: "-1"`; a missing field says so. */
function problem(what: string, field: string, rule: string, value: JsonValue | undefined): string {
  return value === undefined ? `${what} field "${field}" is missing` : `${what} field "${field}" ${rule}: ${show(value)}`;
}

function symbolProblem(what: string, field: string, raw: JsonValue | undefined): string {
  return typeof raw === 'string' ? `${what} field "${field}" is not a recognised BASE/QUOTE symbol: ${quote(raw)}` : problem(what, field, 'is not a symbol', raw);
}

/** The best bid and ask texts when a snapshot's best bid is not below its best ask. */
function crossedSnapshot(bids: readonly KrakenLevel[], asks: readonly KrakenLevel[]): [string, string] | undefined {
  let bestBid: KrakenLevel | undefined;
  let bestAsk: KrakenLevel | undefined;
  for (const level of bids) if (level.qty > 0 && (bestBid === undefined || level.price > bestBid.price)) bestBid = level;
  for (const level of asks) if (level.qty > 0 && (bestAsk === undefined || level.price < bestAsk.price)) bestAsk = level;
  if (bestBid === undefined || bestAsk === undefined || bestBid.price < bestAsk.price) return undefined;
  return [bestBid.priceText ?? String(bestBid.price), bestAsk.priceText ?? String(bestAsk.price)];
}

function toLevel(level: KrakenLevel): Level {
  return [level.price, level.qty];
}

function formatMs(ms: number): string {
  if (ms === Infinity) return 'forever';
  if (ms % 86_400_000 === 0) return ms === 86_400_000 ? '1 day' : `${ms / 86_400_000} days`;
  return `${ms} ms`;
}
