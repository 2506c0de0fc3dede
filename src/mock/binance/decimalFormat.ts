/**
 * Numbers as Binance writes them: dec-strings with a fixed number of places (`"43000.01000000"`,
 * spot pads to 8; USD-M uses the instrument's precision, `"43000.10"`).
 *
 * The digits come from `String(value)`, the shortest text that reads back as the same double, so
 * a value that is the double nearest a decimal (a price on the tick grid, a volume rounded to 8
 * places) is written as exactly that decimal, and a parser gets the same double back. Exponent
 * forms (`1e-7`) are expanded, since Binance never sends them and our parser rejects them.
 */

/** Writes `value` as a plain decimal with at least `minDecimals` places (zeros appended, never rounded). */
export function formatDecimal(value: number, minDecimals: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`Cannot format ${String(value)} as a Binance decimal`);
  let text = String(value);
  if (text.includes('e')) text = expandExponent(text);
  const point = text.indexOf('.');
  const places = point < 0 ? 0 : text.length - point - 1;
  if (places >= minDecimals) return text;
  return (point < 0 ? `${text}.` : text) + '0'.repeat(minDecimals - places);
}

/** `"1.5e-7"` -> `"0.00000015"`, `"-2e+21"` -> `"-2000000000000000000000"`. */
function expandExponent(text: string): string {
  const negative = text.startsWith('-');
  const body = negative ? text.slice(1) : text;
  const [mantissa = '', exponentText = '0'] = body.split('e');
  const exponent = Number(exponentText);
  const point = mantissa.indexOf('.');
  const digits = point < 0 ? mantissa : mantissa.slice(0, point) + mantissa.slice(point + 1);
  const intLength = (point < 0 ? mantissa.length : point) + exponent;
  let out: string;
  if (intLength <= 0) out = `0.${'0'.repeat(-intLength)}${digits}`;
  else if (intLength >= digits.length) out = digits + '0'.repeat(intLength - digits.length);
  else out = `${digits.slice(0, intLength)}.${digits.slice(intLength)}`;
  return negative ? `-${out}` : out;
}

/** Decimal places of a grid step such as 0.01 (2) or 0.00001 (5); throws beyond 12 places. */
export function decimalsOfStep(step: number): number {
  for (let d = 0; d <= 12; d++) {
    const scaled = step * 10 ** d;
    const units = Math.round(scaled);
    if (units >= 1 && Math.abs(scaled - units) < 1e-9 * scaled) return d;
  }
  throw new RangeError(`Step "${step}" has more than 12 decimal places`);
}

/**
 * A non-negative safe integer as decimal text. `String()` of a double (a 13-digit time, an id
 * past 2^30) is several times slower than of a small integer, so large values are written as two
 * small halves.
 */
export function intText(value: number): string {
  if (value < 1_073_741_824) return String(value);
  const high = Math.floor(value / 1e8);
  const low = String(value - high * 1e8);
  return String(high) + '00000000'.slice(low.length) + low;
}

/** Slots of a {@link UnitsFormatter}'s cache (a power of two). */
const CACHE_SLOTS = 4_096;

/**
 * Writes integer amounts of a grid unit (`price * 10^decimals`) as dec-strings, exactly and
 * without floating point, with a small direct-mapped cache: prices and quantities on a grid
 * repeat, and formatting is otherwise the costliest step of building a frame.
 */
export class UnitsFormatter {
  /** Places of one unit (2 for cents), and the least places written (spot pads to 8). */
  readonly decimals: number;
  readonly minDecimals: number;
  /** `10^decimals`: a value times this is its number of units. */
  readonly scale: number;
  readonly #keys = new Float64Array(CACHE_SLOTS).fill(-1);
  readonly #texts: string[] = new Array<string>(CACHE_SLOTS).fill('');

  constructor(decimals: number, minDecimals: number) {
    this.decimals = decimals;
    this.minDecimals = Math.max(decimals, minDecimals);
    this.scale = 10 ** decimals;
  }

  /** `units` (a non-negative safe integer) as a dec-string: 9400001 with 2 decimals -> "94000.01". */
  units(units: number): string {
    const slot = units & (CACHE_SLOTS - 1);
    if (this.#keys[slot] === units) return this.#texts[slot] ?? '';
    const text = formatUnits(units, this.decimals, this.minDecimals);
    this.#keys[slot] = units;
    this.#texts[slot] = text;
    return text;
  }

  /** A value on the grid (a price or a whole number of lots) as a dec-string. */
  value(value: number): string {
    const units = Math.round(value * this.scale);
    return Number.isSafeInteger(units) && units >= 0 ? this.units(units) : formatDecimal(value, this.minDecimals);
  }
}

/** `units / 10^decimals` written with `minDecimals` places (>= decimals): (12345, 5, 8) -> "0.12345000". */
export function formatUnits(units: number, decimals: number, minDecimals: number): string {
  let digits = String(units);
  if (decimals === 0) return minDecimals > 0 ? `${digits}.${'0'.repeat(minDecimals)}` : digits;
  if (digits.length <= decimals) digits = '0'.repeat(decimals - digits.length + 1) + digits;
  const point = digits.length - decimals;
  const pad = minDecimals - decimals;
  return `${digits.slice(0, point)}.${digits.slice(point)}${pad > 0 ? '0'.repeat(pad) : ''}`;
}
