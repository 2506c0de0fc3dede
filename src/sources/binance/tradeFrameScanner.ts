/**
 * Reads Binance `aggTrade` and `trade` frames in place, without `JSON.parse`: the fast path of
 * `parse.ts`. It only does syntax. It finds where each field's value lies in the frame and
 * converts the integers. `parse.ts` then applies the same rules and helpers to these values as
 * its `JSON.parse` path does, and builds the same record.
 *
 * The contract is about the frames it accepts. For those, `JSON.parse(frame)` would succeed and
 * give an object whose fields alphaflow reads have exactly the values reported here. Any other
 * frame is declined: `scan` returns false and the caller takes the `JSON.parse` path. Declining is
 * always allowed; it only costs time. The scanner never drops a frame and never says why.
 *
 * Accepted grammar (no whitespace anywhere, nothing after the last `}`):
 *
 * ```text
 * frame    = payload | '{"stream":' string ',"data":' payload '}'
 * payload  = '{' member (',' member)* '}'
 * member   = string ':' value
 * value    = string | number | 'true' | 'false' | 'null'     (no objects or arrays)
 * string   = '"' char* '"'       char = printable ASCII, 0x20-0x7E, except '"' and '\'
 * number   = a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
 * ```
 *
 * A string therefore has no escapes, control characters or non-ASCII characters, so its text is
 * its value. A payload must also satisfy these rules:
 *
 * - `e` is `"aggTrade"` or `"trade"`; `E` and `T` are integer literals; `s`, `p` and `q` are
 *   strings; `m` is `true` or `false`. All of these are present.
 * - The id (`a` for aggTrade, `t` for trade) is an integer literal. The other one is an ordinary
 *   field: old spot trades carry `a` as the seller's order id.
 * - An integer literal is at most 16 digits with no leading zero, sign, fraction or exponent, and
 *   its value is at most 2^53 - 1. `JSON.parse` gives exactly that number. `1.0` and `1e3` are
 *   valid JSON for integers, but they are declined.
 * - No key appears twice. `JSON.parse` keeps the last value of a duplicated key; the scanner
 *   declines instead of copying that rule.
 * - No key is named `stream` or `id`. Without an envelope, those keys would make the `JSON.parse`
 *   path read the frame as an envelope or a control reply.
 * - A payload has at most 16 fields that alphaflow does not read.
 *
 * The scanner copies the frame into its own byte buffer with one `Buffer.write` and reads bytes:
 * on Node 20 that is several times faster than `charCodeAt` per character, and the number of
 * bytes written tells whether the frame is all ASCII. Frames longer than 1024 characters are
 * declined (a trade frame has about 200).
 *
 * Field order is free. Binance documents an order for each payload, but the orders differ between
 * markets (spot `aggTrade` sends `s` before `a`, COIN-M sends `a` before `s`; USD-M `trade` sends
 * `T` right after `E`). `JSON.parse` does not depend on order except for duplicates, and
 * duplicates are declined. Fields alphaflow does not read (`f`, `l`, `M`, `nq`, `st`, `ps`,
 * `b`, and any Binance adds later) are checked for syntax and skipped, as `JSON.parse` would do.
 * Their values must still be flat scalars.
 */

import { Buffer } from 'node:buffer';

const QUOTE = 34;
const COMMA = 44;
const MINUS = 45;
const COLON = 58;
const OPEN = 123;
const BACKSLASH = 92;
const CLOSE = 125;
/** Written just after the frame: it fails every test below, so no loop reads past the frame. */
const END_MARK = 0;

/** Longest frame read. Its UTF-8 form (3 bytes at most per UTF-16 unit) and the end mark fit in the buffer. */
const MAX_FRAME = 1024;
const CAPACITY = 4096;

/** Field names longer than one character that one payload may carry (`nq`, `st`, `ps`); more are declined. */
const MAX_LONG_KEYS = 16;

/**
 * Single-character field names seen in a payload: one bit per character code, in three words
 * for codes 32-63, 64-95 and 96-127 (`1 << (code & 31)` in word `code >> 5`).
 */
const bit = (name: string): number => 1 << (name.charCodeAt(0) & 31);
/** The required fields: `E` and `T` in the word of codes 64-95, `e`, `s`, `p`, `q` and `m` in 96-127. */
const REQUIRED_UPPER = bit('E') | bit('T');
const REQUIRED_LOWER = bit('e') | bit('s') | bit('p') | bit('q') | bit('m');

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (char) => char.charCodeAt(0));
const ENVELOPE_HEAD = ascii('{"stream":"');
const ENVELOPE_DATA = ascii('","data":{');
const AGG_TRADE = ascii('"aggTrade"');
const TRADE = ascii('"trade"');
const MARKET = ascii('"MARKET"');
const TRUE = ascii('true');
const FALSE = ascii('false');
const NULL = ascii('null');
const STREAM = ascii('stream');
const ID = ascii('id');

/** `X` of a trade: absent, `"MARKET"`, or any other value. */
export type TradeStatus = 'absent' | 'market' | 'other';

/**
 * One scanner per parser. `scan` writes the fields of the frame it accepts into the public
 * fields below, so reading a frame allocates nothing. Positions are character indexes into the
 * frame (the frame is ASCII, so they are byte indexes too).
 */
export class TradeFrameScanner {
  /** True for `aggTrade`, false for `trade`. */
  aggregate = false;
  /** `E`. */
  eventTime = 0;
  /** `T`. */
  tradeTime = 0;
  /** The id field of the event (`a` or `t`). */
  id = 0;
  /** `s`, `p` and `q`: the index of the value's first character and of its closing quote. */
  symbolStart = 0;
  symbolEnd = 0;
  priceStart = 0;
  priceEnd = 0;
  qtyStart = 0;
  qtyEnd = 0;
  /** `m`: the buyer is the maker. */
  buyerIsMaker = false;
  /** `X`, which only trades are checked for. */
  status: TradeStatus = 'absent';

  readonly #buffer = Buffer.alloc(CAPACITY);
  /** The same memory as a plain Uint8Array, so that element reads stay on one fast path. */
  readonly #bytes = new Uint8Array(this.#buffer.buffer, this.#buffer.byteOffset, CAPACITY);
  /** Value of the last integer literal read by {@link #integerEnd}. */
  #integer = 0;
  /** Single-character field names seen in the payload being read (see {@link REQUIRED_UPPER}). */
  readonly #seen = new Int32Array(4);
  /** Start and end of each longer field name, to find duplicates among them. */
  readonly #longKeys = new Int32Array(2 * MAX_LONG_KEYS);

  /** True when `frame` is in the grammar above; the public fields then describe it. */
  scan(frame: string): boolean {
    const length = frame.length;
    // Non-ASCII text takes more UTF-8 bytes than UTF-16 units.
    if (length > MAX_FRAME || this.#buffer.write(frame, 0, 'utf8') !== length) return false;
    const b = this.#bytes;
    b[length] = END_MARK;
    let i: number;
    let enveloped = false;
    if (matches(b, 0, ENVELOPE_HEAD)) {
      const close = stringEnd(b, ENVELOPE_HEAD.length);
      if (close < 0 || !matches(b, close, ENVELOPE_DATA)) return false;
      enveloped = true;
      i = close + ENVELOPE_DATA.length;
    } else if (b[0] === OPEN) {
      i = 1;
    } else {
      return false;
    }
    const seen = this.#seen;
    seen[1] = seen[2] = seen[3] = 0;
    let longKeys = 0;
    let aggregateId = -1;
    let tradeId = -1;
    this.status = 'absent';
    for (;;) {
      // The field name: one character (`"E":`) in nearly all cases, so that case is read inline.
      if (b[i] !== QUOTE) return false;
      let key = b[i + 1] as number;
      let at: number;
      if (b[i + 2] === QUOTE && b[i + 3] === COLON && key >= 32 && key <= 126 && key !== QUOTE && key !== BACKSLASH) {
        const word = key >> 5;
        const mask = 1 << (key & 31);
        if (((seen[word] as number) & mask) !== 0) return false;
        seen[word] = (seen[word] as number) | mask;
        at = i + 4;
      } else {
        const keyEnd = stringEnd(b, i + 1);
        if (keyEnd < 0 || b[keyEnd + 1] !== COLON || longKeys === MAX_LONG_KEYS || !this.#newLongKey(b, i + 1, keyEnd, longKeys)) return false;
        longKeys++;
        key = 0;
        at = keyEnd + 2;
      }
      let end: number;
      switch (key) {
        case 101: // e
          if (matches(b, at, AGG_TRADE)) {
            this.aggregate = true;
            end = at + AGG_TRADE.length;
          } else if (matches(b, at, TRADE)) {
            this.aggregate = false;
            end = at + TRADE.length;
          } else {
            return false;
          }
          break;
        case 69: // E
          end = this.#integerEnd(b, at);
          this.eventTime = this.#integer;
          break;
        case 84: // T
          end = this.#integerEnd(b, at);
          this.tradeTime = this.#integer;
          break;
        case 115: // s
          end = stringValueEnd(b, at);
          this.symbolStart = at + 1;
          this.symbolEnd = end - 1;
          break;
        case 112: // p
          end = stringValueEnd(b, at);
          this.priceStart = at + 1;
          this.priceEnd = end - 1;
          break;
        case 113: // q
          end = stringValueEnd(b, at);
          this.qtyStart = at + 1;
          this.qtyEnd = end - 1;
          break;
        case 109: // m
          if (matches(b, at, TRUE)) {
            this.buyerIsMaker = true;
            end = at + TRUE.length;
          } else if (matches(b, at, FALSE)) {
            this.buyerIsMaker = false;
            end = at + FALSE.length;
          } else {
            return false;
          }
          break;
        case 97: // a: the id of an aggTrade, any value in a trade
          end = this.#integerEnd(b, at);
          if (end < 0) end = valueEnd(b, at);
          else aggregateId = this.#integer;
          break;
        case 116: // t: the id of a trade, any value in an aggTrade
          end = this.#integerEnd(b, at);
          if (end < 0) end = valueEnd(b, at);
          else tradeId = this.#integer;
          break;
        case 88: // X
          end = valueEnd(b, at);
          this.status = end === at + MARKET.length && matches(b, at, MARKET) ? 'market' : 'other';
          break;
        default:
          end = valueEnd(b, at);
      }
      if (end < 0) return false;
      const next = b[end];
      i = end + 1;
      if (next === COMMA) continue;
      if (next !== CLOSE) return false;
      break;
    }
    if (enveloped) {
      if (b[i] !== CLOSE) return false;
      i++;
    }
    if (i !== length || ((seen[2]) & REQUIRED_UPPER) !== REQUIRED_UPPER || ((seen[3]) & REQUIRED_LOWER) !== REQUIRED_LOWER) return false;
    const id = this.aggregate ? aggregateId : tradeId;
    this.id = id;
    return id >= 0;
  }

  /**
   * The end of an integer literal that is a whole value (followed by `,` or `}`) and at most
   * 2^53 - 1, or -1. Its value goes to {@link #integer}.
   */
  #integerEnd(b: Uint8Array, start: number): number {
    let c = b[start] as number;
    let i = start + 1;
    let value = c - 48;
    if (c === 48) {
      c = b[i] as number;
    } else if (c >= 49 && c <= 57) {
      // 16 digits at most: every step is then exact until the value passes 2^53, and once past
      // it the value stays above 2^53 - 1, so the check below is exact.
      const last = start + 16;
      for (;;) {
        c = b[i] as number;
        if (c < 48 || c > 57) break;
        if (i === last) return -1;
        value = value * 10 + (c - 48);
        i++;
      }
      if (value > Number.MAX_SAFE_INTEGER) return -1;
    } else {
      return -1;
    }
    if (c !== COMMA && c !== CLOSE) return -1;
    this.#integer = value;
    return i;
  }

  /**
   * Records a field name that is not one character long. False when the name appeared before, or
   * when it changes how the `JSON.parse` path reads the frame (`stream`, `id`).
   */
  #newLongKey(b: Uint8Array, start: number, end: number, count: number): boolean {
    const length = end - start;
    if ((length === STREAM.length && matches(b, start, STREAM)) || (length === ID.length && matches(b, start, ID))) return false;
    const keys = this.#longKeys;
    for (let k = 0; k < 2 * count; k += 2) {
      const otherStart = keys[k] as number;
      if ((keys[k + 1] as number) - otherStart !== length) continue;
      let j = 0;
      while (j < length && b[start + j] === b[otherStart + j]) j++;
      if (j === length) return false;
    }
    keys[2 * count] = start;
    keys[2 * count + 1] = end;
    return true;
  }
}

/** True when the bytes at `at` are `pattern`. Stops at the end mark, which no pattern holds. */
function matches(b: Uint8Array, at: number, pattern: Uint8Array): boolean {
  for (let k = 0; k < pattern.length; k++) if (b[at + k] !== pattern[k]) return false;
  return true;
}

/** The index of the quote that closes a string whose first character is at `i`, or -1. */
function stringEnd(b: Uint8Array, i: number): number {
  for (;;) {
    const c = b[i] as number;
    if (c === QUOTE) return i;
    if (c < 32 || c > 126 || c === BACKSLASH) return -1;
    i++;
  }
}

/** The end (just past the closing quote) of a string value starting at `i`, or -1. */
function stringValueEnd(b: Uint8Array, i: number): number {
  if (b[i] !== QUOTE) return -1;
  const close = stringEnd(b, i + 1);
  return close < 0 ? -1 : close + 1;
}

/** The end of any scalar value starting at `i`, or -1 (objects, arrays, blanks, bad syntax). */
function valueEnd(b: Uint8Array, i: number): number {
  const c = b[i] as number;
  if (c === QUOTE) return stringValueEnd(b, i);
  if (c === MINUS || (c >= 48 && c <= 57)) return numberEnd(b, i);
  if (matches(b, i, TRUE)) return i + TRUE.length;
  if (matches(b, i, FALSE)) return i + FALSE.length;
  if (matches(b, i, NULL)) return i + NULL.length;
  return -1;
}

/** The end of a JSON number starting at `i`, or -1. */
function numberEnd(b: Uint8Array, i: number): number {
  let c = b[i] as number;
  if (c === MINUS) c = b[++i] as number;
  if (c === 48) {
    c = b[++i] as number;
  } else if (c >= 49 && c <= 57) {
    do c = b[++i] as number;
    while (c >= 48 && c <= 57);
  } else {
    return -1;
  }
  if (c === 46) {
    c = b[++i] as number;
    if (c < 48 || c > 57) return -1;
    do c = b[++i] as number;
    while (c >= 48 && c <= 57);
  }
  if (c === 101 || c === 69) {
    c = b[++i] as number;
    if (c === 43 || c === MINUS) c = b[++i] as number;
    if (c < 48 || c > 57) return -1;
    do c = b[++i] as number;
    while (c >= 48 && c <= 57);
  }
  return i;
}
