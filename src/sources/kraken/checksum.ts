/**
 * The Kraken book checksum (protocols.md §4.6, Kraken's "Book checksum (WebSocket v2)" guide):
 *
 * 1. take the top 10 levels of each side: asks by price ascending, bids by price descending;
 * 2. write each price and quantity as a decimal with the pair's precision (or exactly as sent:
 *    Kraken v2 puts full precision on the wire, `0.00100000`);
 * 3. remove the `.` and then the leading zeros (`"0.00100000"` -> `"100000"`);
 * 4. concatenate `price + qty` of each ask, then of each bid;
 * 5. CRC-32 (IEEE 802.3, the zlib polynomial) of those ASCII bytes, as an unsigned 32-bit integer.
 *
 * Step 2 is where checksums go wrong: a JSON number loses its trailing zeros in `JSON.parse`
 * (`2.00000000` becomes `2`). A {@link KrakenLevel} therefore carries the text the number was sent
 * as, when the parser saw it, and the rendering here works on decimal text, never on binary
 * floating point: a level without text is rendered from the shortest text of its number
 * (`String(0.001)`), which is the decimal Kraken sent for any value of up to 15 significant digits.
 */
import { crc32 } from 'node:zlib';
import { quote } from '../../errors.js';

/** How many levels of each side the checksum covers, whatever the subscribed depth. */
export const CHECKSUM_LEVELS = 10;

/** The most decimals a precision may ask for. */
const MAX_DECIMALS = 30;

/** A decimal's digits may be shifted by an exponent this large at most (`1e-400` is not a price). */
const MAX_EXPONENT = 400;

const DECIMAL = /^([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/;

/** One book level: the numbers, and the text they were sent as when it is known. */
export interface KrakenLevel {
  readonly price: number;
  readonly qty: number;
  /** The price exactly as written in the frame (`50000.0`), when known. */
  readonly priceText?: string;
  /** The quantity exactly as written in the frame (`0.00100000`), when known. */
  readonly qtyText?: string;
}

/**
 * Decimals to render prices and quantities with (the instrument's `price_precision` and
 * `qty_precision`). A missing one means "as sent": the level's text, or its number's shortest text.
 */
export interface KrakenPrecision {
  readonly price?: number | undefined;
  readonly qty?: number | undefined;
}

/**
 * `value` as a plain decimal (no exponent, no leading zeros before the point), with exactly
 * `decimals` digits after the point when given, rounding half up when the value has more.
 * Without `decimals`, text keeps its own decimals (`"1.50"` stays `"1.50"`). Throws a RangeError
 * naming the value when it is not a finite non-negative decimal.
 *
 * `decimalText("2", 8)` is `"2.00000000"`, `decimalText(1e-7, 8)` is `"0.00000010"`.
 */
export function decimalText(value: number | string, decimals?: number): string {
  if (decimals !== undefined) checkDecimals(decimals);
  const text = typeof value === 'number' ? numberText(value) : value;
  const match = DECIMAL.exec(text);
  if (match === null) throw new RangeError(`Decimal ${quote(value)} is not a non-negative decimal number`);
  const whole = match[1] ?? '';
  const fraction = match[2] ?? '';
  const exponent = match[3] === undefined ? 0 : Number(match[3]);
  if (!(Math.abs(exponent) <= MAX_EXPONENT)) throw new RangeError(`Decimal ${quote(value)} has an exponent beyond ${MAX_EXPONENT}`);
  const digits = whole + fraction;
  const point = whole.length + exponent;
  let integer: string;
  let decimalsPart: string;
  if (point <= 0) {
    integer = '0';
    decimalsPart = '0'.repeat(-point) + digits;
  } else if (point >= digits.length) {
    integer = digits + '0'.repeat(point - digits.length);
    decimalsPart = '';
  } else {
    integer = digits.slice(0, point);
    decimalsPart = digits.slice(point);
  }
  if (decimals !== undefined) {
    if (decimalsPart.length <= decimals) {
      decimalsPart = decimalsPart.padEnd(decimals, '0');
    } else {
      const roundUp = decimalsPart.charCodeAt(decimals) >= 53;
      const kept = integer + decimalsPart.slice(0, decimals);
      const rounded = roundUp ? incrementDigits(kept) : kept;
      integer = rounded.slice(0, rounded.length - decimals);
      decimalsPart = rounded.slice(rounded.length - decimals);
    }
  }
  integer = integer.replace(/^0+(?=[0-9])/, '');
  return decimalsPart === '' ? integer : `${integer}.${decimalsPart}`;
}

/** One value's part of the checksum string: its decimal text without the point and leading zeros. */
export function checksumToken(value: number | string, decimals?: number): string {
  return decimalText(value, decimals).replace('.', '').replace(/^0+/, '');
}

/**
 * The string the checksum is the CRC-32 of: `price + qty` of the first 10 asks, then of the first
 * 10 bids. Levels must be in book order: asks from the lowest price, bids from the highest.
 */
export function krakenChecksumInput(asks: readonly KrakenLevel[], bids: readonly KrakenLevel[], precision: KrakenPrecision = {}): string {
  return sideInput(asks, precision) + sideInput(bids, precision);
}

/** The checksum of a book given in book order (see {@link krakenChecksumInput}): an unsigned 32-bit integer. */
export function krakenChecksum(asks: readonly KrakenLevel[], bids: readonly KrakenLevel[], precision: KrakenPrecision = {}): number {
  return krakenCrc32(krakenChecksumInput(asks, bids, precision));
}

/** CRC-32 (IEEE 802.3, zlib's) of an ASCII string, unsigned. Needs Node 20.15 or later (`zlib.crc32`). */
export function krakenCrc32(text: string): number {
  return crc32(text) >>> 0;
}

function sideInput(levels: readonly KrakenLevel[], precision: KrakenPrecision): string {
  let out = '';
  const count = Math.min(levels.length, CHECKSUM_LEVELS);
  for (let i = 0; i < count; i++) {
    const level = levels[i] as KrakenLevel;
    out += checksumToken(level.priceText ?? level.price, precision.price);
    out += checksumToken(level.qtyText ?? level.qty, precision.qty);
  }
  return out;
}

function numberText(value: number): string {
  if (!(value >= 0 && value < Infinity)) throw new RangeError(`Decimal ${quote(value)} is not a finite non-negative number`);
  return String(value);
}

function checkDecimals(decimals: number): void {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > MAX_DECIMALS) {
    throw new RangeError(`Precision ${quote(decimals)} must be an integer from 0 to ${MAX_DECIMALS}`);
  }
}

/** Adds one to a string of decimal digits: `"0999"` -> `"1000"`, `"99"` -> `"100"`. */
function incrementDigits(digits: string): string {
  let i = digits.length - 1;
  while (i >= 0 && digits[i] === '9') i--;
  if (i < 0) return `1${'0'.repeat(digits.length)}`;
  return digits.slice(0, i) + String(Number(digits[i]) + 1) + '0'.repeat(digits.length - 1 - i);
}
