/**
 * Lines of a Binance kline CSV to closed candles and gap events: the pure parser behind
 * {@link binanceKlinesCsv}. It holds no I/O and no clock; bad lines go to a drop reporter.
 *
 * Two layouts, told apart by the header or, without one, by the column count:
 *
 * - 12 columns, the data.binance.vision and REST `/api/v3/klines` layout:
 *   `open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore`.
 *   Times are epoch ms, or epoch µs (data.binance.vision spot files since 2025, which also have no
 *   header); the unit is told per row by magnitude.
 * - 6 columns: `timestamp,open,high,low,close,volume` with the open time as `YYYY-MM-DD HH:MM:SS`
 *   (UTC), or as epoch ms or µs.
 *
 * Kline files are plain numbers with no quoting, so no general CSV parser is used: on these files
 * cutting at commas is several times faster, and no field can contain a comma. The hot path does
 * not even split: it finds the commas with `indexOf` and reads numbers in place (exact decimal
 * fast path, `Number` otherwise). No regular expression runs per line.
 */
import { SourceDataError } from '../../errors.js';
import type { Candle, Flow, Gap } from '../../model/index.js';
import { formatInterval, tryIntervalMs } from '../../model/index.js';
import type { DropReporter } from '../dropReporter.js';

export interface KlinesCsvParserOptions {
  /** How lines are named in warnings: `<file>:<line>`. */
  readonly file: string;
  readonly venue: string;
  /** Canonical symbol. */
  readonly symbol: string;
  /** Candle interval; when absent it is inferred from the data (close_time, or the first two rows). */
  readonly interval?: string | undefined;
  /** Only candles opening at or after this instant (epoch ms). */
  readonly from?: number | undefined;
  /** Only candles opening before this instant (epoch ms); reading stops at the first row past it. */
  readonly to?: number | undefined;
  readonly drops: Pick<DropReporter, 'drop'>;
}

/** Epoch values at or above this are microseconds: 1e14 ms is the year 5138, 1e14 µs is 1973. */
const MICROS_THRESHOLD = 1e14;

const KLINES_12 = 12;
const OHLCV_6 = 6;

const NAMES_12 = [
  'open_time',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'close_time',
  'quote_volume',
  'count',
  'taker_buy_volume',
  'taker_buy_quote_volume',
  'ignore',
] as const;
const NAMES_6 = ['timestamp', 'open', 'high', 'low', 'close', 'volume'] as const;

const EXPECTED_LAYOUTS = `expected "${NAMES_12.join(',')}" (12 columns) or "${NAMES_6.join(',')}" (6 columns)`;

/** A row whose open time is known, waiting for the interval to be inferred from the next one. */
interface PendingRow {
  readonly text: string;
  readonly line: number;
  readonly openTime: number;
}

export class KlinesCsvParser {
  readonly #file: string;
  readonly #venue: string;
  readonly #symbol: string;
  readonly #from: number;
  readonly #to: number;
  readonly #drops: Pick<DropReporter, 'drop'>;
  #interval: string | undefined;
  #intervalMs = 0;
  /** 0 until the layout is known, then 12 or 6. */
  #columns = 0;
  #sawLine = false;
  /** Open time of the last row taken (or skipped before `from`); -1 before the first. */
  #last = -1;
  readonly #pending: PendingRow[] = [];
  /** Where each field of the current line ends (its comma, or the end of the line); at most 12 are kept. */
  readonly #ends: number[] = new Array<number>(KLINES_12).fill(0);
  /** True once a row at or past `to` was seen: the caller can stop reading. */
  done = false;
  /** Candles emitted so far. */
  candles = 0;
  /** Gap events emitted so far. */
  gaps = 0;

  constructor(options: KlinesCsvParserOptions) {
    this.#file = options.file;
    this.#venue = options.venue;
    this.#symbol = options.symbol;
    this.#from = options.from ?? -Infinity;
    this.#to = options.to ?? Infinity;
    this.#drops = options.drops;
    if (options.interval !== undefined) this.#setInterval(options.interval);
  }

  /** The candle interval, once known. */
  get interval(): string | undefined {
    return this.#interval;
  }

  /** Parses a batch of lines (`firstLine` is the 1-based number of the first); returns what to emit, in order. */
  push(lines: readonly string[], firstLine: number): Flow<Candle>[] {
    const out: Flow<Candle>[] = [];
    for (let i = 0; i < lines.length && !this.done; i++) this.#line(lines[i] as string, firstLine + i, out);
    return out;
  }

  /** The end of the file: fails when the interval could not be inferred. */
  end(): void {
    const row = this.#pending[0];
    if (row !== undefined) {
      throw new SourceDataError(`${this.#file}:${row.line}`, 'cannot infer the candle interval from a single row: set params.interval (e.g. "1m")');
    }
  }

  #setInterval(interval: string): void {
    const ms = tryIntervalMs(interval);
    if (ms === undefined) throw new RangeError(`Interval "${interval}" is not valid: use <n>s, <n>m, <n>h or <n>d between 1s and 1d (e.g. 1m, 15m, 4h)`);
    this.#interval = interval;
    this.#intervalMs = ms;
  }

  #line(raw: string, line: number, out: Flow<Candle>[]): void {
    // Blank lines (a trailing newline, a spacer) hold no record.
    if (raw.length === 0) return;
    let text = raw;
    if (!this.#sawLine) {
      this.#sawLine = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (!isDigit(text.charCodeAt(0))) {
        this.#header(text, line);
        return;
      }
    }
    const count = this.#cut(text);
    if (this.#columns === 0) {
      if (count !== KLINES_12 && count !== OHLCV_6) {
        this.#drop(line, `wrong column count: expected 12 or 6, got ${count}`, text);
        return;
      }
      this.#columns = count;
    } else if (count !== this.#columns) {
      this.#drop(line, `wrong column count: expected ${this.#columns}, got ${count}`, text);
      return;
    }

    const end = this.#ends[0] as number;
    let openRaw: number;
    let scale = 1;
    if (this.#columns === OHLCV_6 && text.charCodeAt(4) === 45 /* - */) {
      openRaw = parseUtcDateTime(text, end);
    } else {
      openRaw = decimalAt(text, 0, end);
      if (openRaw >= MICROS_THRESHOLD) scale = 1000;
    }
    const openTime = openRaw / scale;
    if (!(Number.isInteger(openTime) && openTime >= 0)) {
      const first = text.slice(0, end);
      this.#drop(line, `bad timestamp: ${this.#names()[0] ?? ''} ${JSON.stringify(first)} is not epoch ms, epoch µs or YYYY-MM-DD HH:MM:SS (UTC)`, text);
      return;
    }

    if (this.#intervalMs === 0 && !this.#infer(text, line, openRaw, scale, openTime, out)) return;
    this.#row(text, line, openRaw, scale, openTime, out);
  }

  /** Finds the field ends of `text` and returns its number of fields. */
  #cut(text: string): number {
    const ends = this.#ends;
    let count = 0;
    for (let at = text.indexOf(','); at >= 0; at = text.indexOf(',', at + 1)) {
      if (count < KLINES_12) ends[count] = at;
      count++;
    }
    if (count < KLINES_12) ends[count] = text.length;
    return count + 1;
  }

  /** The number in field `i` of the current line; NaN for an empty or non-numeric field. */
  #num(text: string, i: number): number {
    const ends = this.#ends;
    return decimalAt(text, (ends[i - 1] as number) + 1, ends[i] as number);
  }

  /** Checks the header and takes the layout from it; a header that is not a kline layout is fatal. */
  #header(text: string, line: number): void {
    const names = text.split(',').map((name) => name.trim().replace(/^"|"$/g, '').toLowerCase());
    const known =
      (names.length === KLINES_12 || names.length === OHLCV_6) &&
      /time|date/.test(names[0] ?? '') &&
      ['open', 'high', 'low', 'close', 'volume'].every((name, i) => (names[i + 1] ?? '').startsWith(name));
    if (!known) {
      throw new SourceDataError(`${this.#file}:${line}`, `header ${JSON.stringify(text.slice(0, 200))} is not a Binance kline layout: ${EXPECTED_LAYOUTS}`);
    }
    this.#columns = names.length;
  }

  /**
   * Infers the interval: from close_time in the 12-column layout, else from the spacing of the
   * first two rows. Returns true when the row can be processed now.
   */
  #infer(text: string, line: number, openRaw: number, scale: number, openTime: number, out: Flow<Candle>[]): boolean {
    if (this.#columns === KLINES_12) {
      const closeRaw = this.#num(text, 6);
      const interval = intervalOf((closeRaw + 1 - openRaw) / scale);
      if (interval === undefined) {
        const fields = text.split(',');
        this.#drop(line, `bad close_time: ${JSON.stringify(fields[6])} gives no valid interval after open_time ${JSON.stringify(fields[0])}`, text);
        return false;
      }
      this.#setInterval(interval);
      return true;
    }
    this.#pending.push({ text, line, openTime });
    if (this.#pending.length < 2) return false;
    const [a, b] = this.#pending as [PendingRow, PendingRow];
    const interval = intervalOf(b.openTime - a.openTime);
    if (interval === undefined) {
      throw new SourceDataError(
        `${this.#file}:${b.line}`,
        `cannot infer the candle interval from the first two rows (open times ${iso(a.openTime)} and ${iso(b.openTime)}): set params.interval (e.g. "1m")`,
      );
    }
    this.#setInterval(interval);
    this.#pending.length = 0;
    // Both rows again, now that the interval is known.
    this.#line(a.text, a.line, out);
    if (!this.done) this.#line(b.text, b.line, out);
    return false;
  }

  #row(text: string, line: number, openRaw: number, scale: number, openTime: number, out: Flow<Candle>[]): void {
    if (openTime < this.#from) {
      if (openTime > this.#last) this.#last = openTime;
      return;
    }
    if (openTime >= this.#to) {
      this.done = true;
      return;
    }
    const open = this.#num(text, 1);
    const high = this.#num(text, 2);
    const low = this.#num(text, 3);
    const close = this.#num(text, 4);
    const volume = this.#num(text, 5);
    const ms = this.#intervalMs;
    // The fast check; `#why` explains a failure (NaN fails every comparison).
    let valid = low > 0 && high < Infinity && low <= open && open <= high && low <= close && close <= high && volume >= 0 && volume < Infinity;
    let quoteVolume = 0;
    let trades = 0;
    let takerBuyVolume = 0;
    if (this.#columns === KLINES_12) {
      quoteVolume = this.#num(text, 7);
      trades = this.#num(text, 8);
      takerBuyVolume = this.#num(text, 9);
      valid =
        valid &&
        quoteVolume >= 0 &&
        quoteVolume < Infinity &&
        Number.isSafeInteger(trades) &&
        trades >= 0 &&
        takerBuyVolume >= 0 &&
        takerBuyVolume < Infinity &&
        this.#num(text, 6) === openRaw + ms * scale - 1;
    }
    if (!valid) {
      this.#drop(line, this.#why(text.split(','), openRaw, scale), text);
      return;
    }
    if (openTime % ms !== 0) {
      this.#drop(line, `open time not aligned: ${iso(openTime)} is not on a ${this.#interval ?? ''} boundary`, text);
      return;
    }
    const last = this.#last;
    if (openTime <= last) {
      this.#drop(
        line,
        openTime === last ? `duplicate row: open time ${iso(openTime)} repeats the previous row` : `out of order: open time ${iso(openTime)} is before the previous row's ${iso(last)}`,
        text,
      );
      return;
    }
    if (last >= 0 && openTime > last + ms) this.#gap(last + ms, openTime - ms, openTime + ms, out);
    this.#last = openTime;
    const tsEvent = openTime + ms;
    const candle: Candle =
      this.#columns === KLINES_12
        ? {
            type: 'candle',
            venue: this.#venue,
            symbol: this.#symbol,
            tsEvent,
            tsRecv: tsEvent,
            interval: this.#interval ?? '',
            openTime,
            closeTime: tsEvent - 1,
            open,
            high,
            low,
            close,
            volume,
            quoteVolume,
            trades,
            takerBuyVolume,
            closed: true,
          }
        : {
            type: 'candle',
            venue: this.#venue,
            symbol: this.#symbol,
            tsEvent,
            tsRecv: tsEvent,
            interval: this.#interval ?? '',
            openTime,
            closeTime: tsEvent - 1,
            open,
            high,
            low,
            close,
            volume,
            closed: true,
          };
    out.push(candle);
    this.candles++;
  }

  /** Rows are missing between two rows taken: a gap event from the first to the last missing open time. */
  #gap(firstMissing: number, lastMissing: number, at: number, out: Flow<Candle>[]): void {
    const ms = this.#intervalMs;
    // Rows skipped before `from` count for the order, but the missing range starts at `from`.
    const from = Math.max(firstMissing, Math.ceil(this.#from / ms) * ms);
    if (from > lastMissing) return;
    const missing = (lastMissing - from) / ms + 1;
    const gap: Gap = {
      type: 'gap',
      venue: this.#venue,
      symbol: this.#symbol,
      tsEvent: at,
      tsRecv: at,
      stream: `candle:${this.#interval ?? ''}`,
      from,
      to: lastMissing,
      recoverable: false,
      reason:
        missing === 1
          ? `1 candle missing in ${this.#file}: no valid row for ${iso(from)}`
          : `${missing} candles missing in ${this.#file}: no valid rows for ${iso(from)} to ${iso(lastMissing)}`,
    };
    out.push(gap);
    this.gaps++;
  }

  /** Why a row failed the fast check: the first problem, naming the column and its value. */
  #why(fields: readonly string[], openRaw: number, scale: number): string {
    const names = this.#names();
    const numeric = this.#columns === KLINES_12 ? [1, 2, 3, 4, 5, 6, 7, 8, 9] : [1, 2, 3, 4, 5];
    for (const i of numeric) {
      const text = fields[i] as string;
      const value = numberOf(text);
      if (Number.isNaN(value)) return `non-numeric value: ${names[i] ?? ''} ${JSON.stringify(text)}`;
      if (!Number.isFinite(value)) return `non-finite value: ${names[i] ?? ''} ${JSON.stringify(text)}`;
      if (i <= 4 && value <= 0) return `non-positive price: ${names[i] ?? ''} ${JSON.stringify(text)}`;
      if ((i === 5 || i === 7 || i === 9) && value < 0) return `negative volume: ${names[i] ?? ''} ${JSON.stringify(text)}`;
      if (i === 8 && !(Number.isSafeInteger(value) && value >= 0)) return `bad trade count: count ${JSON.stringify(text)} is not a non-negative integer`;
    }
    const [open, high, low, close] = [1, 2, 3, 4].map((i) => numberOf(fields[i] as string)) as [number, number, number, number];
    if (high < low) return `high below low: high ${high} < low ${low}`;
    if (open < low || open > high) return `price outside the bar's range: open ${open} is outside [low ${low}, high ${high}]`;
    if (close < low || close > high) return `price outside the bar's range: close ${close} is outside [low ${low}, high ${high}]`;
    if (this.#columns !== KLINES_12) return 'invalid row';
    const expected = openRaw + this.#intervalMs * scale - 1;
    return `bad close_time: ${JSON.stringify(fields[6])} is not open_time + ${this.#interval ?? ''} - 1 (${expected})`;
  }

  #names(): readonly string[] {
    return this.#columns === KLINES_12 ? NAMES_12 : NAMES_6;
  }

  #drop(line: number, reason: string, text: string): void {
    this.#drops.drop(`${this.#file}:${line}`, reason, text);
  }
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** The number in a field; NaN for an empty field (where `Number('')` would give 0). */
function numberOf(text: string): number {
  return text.length === 0 ? NaN : Number(text);
}

/** Exact powers of ten (every 10^k up to 10^22 is a double). */
const POW10 = Array.from({ length: 17 }, (_, k) => 10 ** k);

/**
 * The number in `text[start, end)`, read in place. Plain decimals (`94098.91000000`) with at most
 * 2^53 as their digits take the exact fast path: the digits as an integer divided by a power of
 * ten, one correctly rounded division, so the result is the double nearest the decimal, as
 * `Number` gives (Clinger's fast path). Anything else (sign, exponent, more digits, junk) goes to
 * `Number`; an empty field is NaN.
 */
function decimalAt(text: string, start: number, end: number): number {
  const length = end - start;
  if (length > 0 && length <= 17) {
    let mantissa = 0;
    let point = -1;
    let i = start;
    for (; i < end; i++) {
      const code = text.charCodeAt(i);
      if (code >= 48 && code <= 57) mantissa = mantissa * 10 + (code - 48);
      else if (code === 46 && point < 0) point = i;
      else break;
    }
    // Once past 2^53 the sum is inexact, but it never falls back under MAX_SAFE_INTEGER.
    if (i === end && mantissa <= Number.MAX_SAFE_INTEGER && length > (point < 0 ? 0 : 1)) {
      return point < 0 ? mantissa : mantissa / (POW10[end - point - 1] as number);
    }
  }
  return length > 0 ? Number(text.slice(start, end)) : NaN;
}

/** The interval of `ms` milliseconds, when it is a valid one (whole seconds, 1s to 1d). */
function intervalOf(ms: number): string | undefined {
  if (!(Number.isSafeInteger(ms) && ms > 0 && ms % 1000 === 0)) return undefined;
  const interval = formatInterval(ms);
  return tryIntervalMs(interval) === ms ? interval : undefined;
}

function iso(time: number): string {
  return new Date(time).toISOString();
}

/** `digits` decimal digits of `text` from `start`, or -1 when one is not a digit. */
function digitsAt(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const code = text.charCodeAt(i);
    if (!isDigit(code)) return -1;
    value = value * 10 + code - 48;
  }
  return value;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/**
 * Epoch ms of `text[0, length)` as `YYYY-MM-DD HH:MM:SS` (or with `T`, and an optional trailing
 * `Z`) read as UTC; NaN when it is not one. Character arithmetic, no regex and no Date: this runs
 * on every row.
 */
function parseUtcDateTime(text: string, length: number): number {
  if (!(length === 19 || (length === 20 && text.charCodeAt(19) === 90) /* Z */)) return NaN;
  const separator = text.charCodeAt(10);
  if (
    text.charCodeAt(4) !== 45 ||
    text.charCodeAt(7) !== 45 ||
    (separator !== 32 && separator !== 84) /* space or T */ ||
    text.charCodeAt(13) !== 58 ||
    text.charCodeAt(16) !== 58
  ) {
    return NaN;
  }
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  if (year < 1970 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return NaN;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const monthDays = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  if (day > monthDays) return NaN;
  return ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60_000 + second * 1000;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
