/**
 * The alphaflow recording format: an NDJSON log (optionally gzipped) of every raw inbound frame
 * and REST answer with its receive time, which replays bit-exactly through the same parsers as
 * live. The full specification, and why it looks like this, is in docs/recording-format.md.
 *
 * ```
 * {"k":"meta","format":"alphaflow-recording","version":1,"t":1617566590378}
 * {"t":1617566590378,"v":"binance","c":"1","e":1,"k":"open","u":"wss://stream.binance.com:9443/stream?streams=btcusdt@aggTrade"}
 * {"t":1617566591326,"v":"binance","c":"1","e":1,"k":"recv","d":{"stream":"btcusdt@aggTrade","data":{...}}}
 * ```
 *
 * A frame that is single-line JSON is inserted verbatim under `d`, last on the line; the reader
 * scans the fixed-order fields before it by hand and slices the frame out, so replay hands the
 * parser the exact original text and JSON-decodes each frame once, as live does.
 */
import { SourceDataError, quote } from '../../errors.js';
import { createCryptofeedReader } from './cryptofeedReader.js';
import { readLines } from './readLines.js';

export const RECORDING_FORMAT = 'alphaflow-recording';
/** The version this code writes; it reads this version and older ones. */
export const RECORDING_VERSION = 1;

/**
 * Kinds of entry: frames in and out, connection lifecycle, REST answers, the header, and the two
 * lines a live source writes so that replay can rebuild it: `start` (the source and its params)
 * and `live` (a connection's subscriptions are all acknowledged, or a renewal took over).
 */
export type RecordingKind = 'recv' | 'send' | 'open' | 'close' | 'rest' | 'meta' | 'start' | 'live';

interface EntryBase {
  /** Epoch ms from the recorder's scheduler: when the frame arrived (or left, opened, closed). */
  readonly time: number;
  /** The feed, which selects the parser: `binance`, `binance-usdm`, ... */
  readonly feed: string;
  /** Connection id, unique within the recording (for REST: the requester). */
  readonly conn: string;
  /** Connection epoch: 1 for the first socket of `conn`, +1 at every reconnect. */
  readonly epoch: number;
}

/** A WebSocket frame received (`recv`) or a control message sent (`send`), as text. */
export interface RecordingFrame extends EntryBase {
  readonly kind: 'recv' | 'send';
  /** The stream, when the frame does not name it (a raw `/ws/<stream>` connection). */
  readonly stream?: string;
  /** The frame text, exactly as it arrived. */
  readonly frame: string;
}

/** A socket opened on `url`. */
export interface RecordingOpen extends EntryBase {
  readonly kind: 'open';
  readonly url: string;
}

/** A socket closed. */
export interface RecordingClose extends EntryBase {
  readonly kind: 'close';
  /** WebSocket close code (1006 when the connection dropped without a close frame). */
  readonly code: number;
  readonly reason: string;
}

/** A REST answer (a book snapshot, a backfill page) with its request URL and HTTP status. */
export interface RecordingRest extends EntryBase {
  readonly kind: 'rest';
  readonly url: string;
  readonly status: number;
  /**
   * The headers replay needs to answer the same way (`date`, `retry-after`, `x-mbx-*`, ...),
   * names in lower case. Optional: older lines have none.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** The response body, exactly as it arrived. */
  readonly body: string;
}

/**
 * A live source started (`conn` is the source: its node id): the registry kind it was created
 * with and its parsed params, as JSON text. Replay rebuilds the source from them.
 */
export interface RecordingStart extends EntryBase {
  readonly kind: 'start';
  /** The registry kind, as in a config's `use:` (`binance-live`). */
  readonly use: string;
  /** The source's params, JSON text. */
  readonly params: string;
}

/**
 * A connection's socket of `epoch` went live: every subscription was acknowledged (`start`,
 * `reconnect`) or, for `renewal`, it took over from the socket before it (frames it held until
 * then are delivered at this point). Frames of other epochs are no longer delivered from here on.
 */
export interface RecordingLive extends EntryBase {
  readonly kind: 'live';
  /** `start`, `reconnect` or `renewal`; other values are kept as they are. */
  readonly phase: string;
}

/** The header line (also accepted later in the file, so recordings can be concatenated). */
export interface RecordingMeta {
  readonly kind: 'meta';
  /** When the recording started. */
  readonly time: number;
  readonly version: number;
  /** Free-form details: the recorder's pipeline, host, alphaflow version... */
  readonly info?: Readonly<Record<string, unknown>>;
}

export type RecordingEntry = RecordingFrame | RecordingOpen | RecordingClose | RecordingRest | RecordingStart | RecordingLive | RecordingMeta;

/** A line that could not be read: skipped, and reported by the consumer with `file:line`. */
export interface InvalidLine {
  readonly kind: 'invalid';
  readonly line: number;
  readonly reason: string;
  /** The line (for a log sample). */
  readonly text: string;
}

/** An entry read back, with its 1-based line number. */
export type ReadEntry = (RecordingEntry & { readonly line: number }) | InvalidLine;

/** The header entry for a recording started at `time`. */
export function recordingHeader(time: number, info?: Readonly<Record<string, unknown>>): RecordingMeta {
  return info === undefined ? { kind: 'meta', time, version: RECORDING_VERSION } : { kind: 'meta', time, version: RECORDING_VERSION, info };
}

export interface FormatOptions {
  /**
   * The caller already knows the frame or body is valid JSON (the live parser decoded it), so the
   * check that decides between verbatim `d` and string `s` can skip its `JSON.parse`.
   */
  readonly knownJson?: boolean;
}

/**
 * One line of a recording, without its line break. A frame or body that is single-line JSON is
 * inserted verbatim (`"d":...`), anything else as a JSON string (`"s":"..."`); either replays to
 * the exact original text.
 */
export function formatRecordingLine(entry: RecordingEntry, options: FormatOptions = {}): string {
  checkTime(entry.time);
  if (entry.kind === 'meta') {
    const info = entry.info === undefined ? '' : `,"info":${JSON.stringify(entry.info)}`;
    return `{"k":"meta","format":"${RECORDING_FORMAT}","version":${entry.version},"t":${entry.time}${info}}`;
  }
  if (!(Number.isSafeInteger(entry.epoch) && entry.epoch >= 0)) throw new RangeError(`Recording epoch ${quote(entry.epoch)} must be a non-negative integer`);
  const head = `{"t":${entry.time},"v":${JSON.stringify(entry.feed)},"c":${JSON.stringify(entry.conn)},"e":${entry.epoch},"k":"${entry.kind}"`;
  switch (entry.kind) {
    case 'recv':
    case 'send': {
      const stream = entry.stream === undefined ? '' : `,"u":${JSON.stringify(entry.stream)}`;
      return `${head}${stream}${payload(entry.frame, options)}}`;
    }
    case 'open':
      return `${head},"u":${JSON.stringify(entry.url)}}`;
    case 'close':
      return `${head},"code":${entry.code},"reason":${JSON.stringify(entry.reason)}}`;
    case 'rest': {
      const headers = entry.headers === undefined ? '' : `,"h":${JSON.stringify(entry.headers)}`;
      return `${head},"u":${JSON.stringify(entry.url)},"status":${entry.status}${headers}${payload(entry.body, options)}}`;
    }
    case 'start':
      return `${head},"use":${JSON.stringify(entry.use)}${payload(entry.params, options)}}`;
    case 'live':
      return `${head},"phase":${JSON.stringify(entry.phase)}}`;
  }
}

function checkTime(time: number): void {
  if (!(Number.isSafeInteger(time) && time >= 0)) throw new RangeError(`Recording time ${quote(time)} must be a non-negative integer (epoch ms)`);
}

function payload(text: string, options: FormatOptions): string {
  return isSingleLineJson(text, options.knownJson === true) ? `,"d":${text}` : `,"s":${JSON.stringify(text)}`;
}

function isSingleLineJson(text: string, knownJson: boolean): boolean {
  if (text.includes('\n') || text.includes('\r')) return false;
  if (knownJson) return true;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const KINDS: ReadonlySet<string> = new Set<RecordingKind>(['recv', 'send', 'open', 'close', 'rest', 'meta', 'start', 'live']);

/**
 * Reads one line of an alphaflow recording: an entry, an {@link InvalidLine} saying what is
 * wrong, or `undefined` for a blank line. Never throws.
 */
export function parseRecordingLine(text: string, line: number): ReadEntry | undefined {
  if (text.startsWith('{"t":')) {
    const fast = scanFrameLine(text, line);
    if (fast !== undefined) return fast;
  }
  if (text.trim() === '') return undefined;
  return parseGeneral(text, line);
}

/** Scans a `recv`/`send` line written in the canonical field order; undefined means "use the general path". */
function scanFrameLine(text: string, line: number): ReadEntry | undefined {
  const end = text.length - 1;
  if (text.charCodeAt(end) !== 125 /* } */) return undefined;
  let i = 5;
  let time = 0;
  const timeStart = i;
  for (let code = text.charCodeAt(i); code >= 48 && code <= 57; code = text.charCodeAt(++i)) time = time * 10 + (code - 48);
  if (i === timeStart || i - timeStart > 15 || !text.startsWith(',"v":"', i)) return undefined;
  i += 6;
  let close = text.indexOf('"', i);
  if (close < 0) return undefined;
  const feed = text.slice(i, close);
  if (!text.startsWith(',"c":"', close + 1)) return undefined;
  i = close + 7;
  close = text.indexOf('"', i);
  if (close < 0) return undefined;
  const conn = text.slice(i, close);
  if (!text.startsWith(',"e":', close + 1)) return undefined;
  i = close + 6;
  let epoch = 0;
  const epochStart = i;
  for (let code = text.charCodeAt(i); code >= 48 && code <= 57; code = text.charCodeAt(++i)) epoch = epoch * 10 + (code - 48);
  if (i === epochStart || i - epochStart > 15) return undefined;
  let kind: 'recv' | 'send';
  if (text.startsWith(',"k":"recv"', i)) kind = 'recv';
  else if (text.startsWith(',"k":"send"', i)) kind = 'send';
  else return undefined;
  i += 11;
  let stream: string | undefined;
  if (text.startsWith(',"u":"', i)) {
    i += 6;
    close = text.indexOf('"', i);
    if (close < 0) return undefined;
    stream = text.slice(i, close);
    if (stream.includes('\\')) return undefined;
    i = close + 1;
  }
  // Escapes in the short fields are legal but unusual: the general path decodes them.
  if (feed.includes('\\') || conn.includes('\\')) return undefined;
  let frame: string;
  if (text.startsWith(',"d":', i)) {
    frame = text.slice(i + 5, end);
  } else if (text.startsWith(',"s":', i)) {
    const decoded = jsonString(text.slice(i + 5, end));
    if (decoded === undefined) return invalid(line, 'field "s" is not a JSON string', text);
    frame = decoded;
  } else {
    return undefined;
  }
  return stream === undefined ? { kind, time, feed, conn, epoch, frame, line } : { kind, time, feed, conn, epoch, stream, frame, line };
}

function jsonString(text: string): string | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

type Fields = Record<string, unknown>;

/**
 * Any line: the fields before a verbatim `"d":` are decoded on their own and the payload, which
 * the format puts last, is sliced out (bit-exact). When those fields do not decode on their own,
 * the whole line is decoded and `d` re-encoded (same JSON value, possibly other bytes).
 */
function parseGeneral(text: string, line: number): ReadEntry {
  let fields: Fields | undefined;
  let raw: string | undefined;
  const trimmed = text.trimEnd();
  const at = trimmed.indexOf(',"d":');
  if (at > 0 && trimmed.endsWith('}')) {
    const head = decodeObject(`${trimmed.slice(0, at)}}`);
    if (head !== undefined) {
      fields = head;
      raw = trimmed.slice(at + 5, -1);
    }
  }
  if (fields === undefined) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return invalid(line, trimmed.endsWith('}') ? `not JSON: ${why}` : `truncated or not JSON: ${why}`, text);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid(line, `not a JSON object: ${quote(value)}`, text);
    fields = value as Fields;
    if (fields.d !== undefined) raw = JSON.stringify(fields.d);
  }
  if (raw === undefined && typeof fields.s === 'string') raw = fields.s;
  return toEntry(fields, raw, line, text);
}

function decodeObject(text: string): Fields | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : undefined;
  } catch {
    return undefined;
  }
}

function toEntry(f: Fields, raw: string | undefined, line: number, text: string): ReadEntry {
  const kind = f.k;
  if (typeof kind !== 'string' || !KINDS.has(kind)) return invalid(line, kind === undefined ? 'field "k" is missing' : `unknown kind: ${quote(kind)}`, text);
  const time = f.t;
  if (!isCount(time)) return invalid(line, `field "t" is not an epoch-ms time: ${quote(time)}`, text);
  if (kind === 'meta') {
    if (f.format !== RECORDING_FORMAT) return invalid(line, `header format is not "${RECORDING_FORMAT}": ${quote(f.format)}`, text);
    if (!isCount(f.version) || f.version === 0) return invalid(line, `header field "version" is not a positive integer: ${quote(f.version)}`, text);
    const info = f.info;
    return typeof info === 'object' && info !== null && !Array.isArray(info)
      ? { kind, time, version: f.version, info: info as Fields, line }
      : { kind, time, version: f.version, line };
  }
  const { v: feed, c: conn, e: epoch, u: url } = f;
  if (typeof feed !== 'string' || feed === '') return invalid(line, `field "v" is not a feed name: ${quote(feed)}`, text);
  if (typeof conn !== 'string') return invalid(line, `field "c" is not a connection id: ${quote(conn)}`, text);
  if (!isCount(epoch)) return invalid(line, `field "e" is not a connection epoch: ${quote(epoch)}`, text);
  if (url !== undefined && typeof url !== 'string') return invalid(line, `field "u" is not a string: ${quote(url)}`, text);
  const base = { time, feed, conn, epoch, line };
  switch (kind) {
    case 'recv':
    case 'send':
      if (raw === undefined) return invalid(line, `${kind} line has no frame ("d" or "s")`, text);
      return url === undefined ? { kind, ...base, frame: raw } : { kind, ...base, stream: url, frame: raw };
    case 'open':
      if (url === undefined) return invalid(line, 'open line has no URL ("u")', text);
      return { kind, ...base, url };
    case 'close': {
      const code = f.code ?? 1005;
      const reason = f.reason ?? '';
      if (!isCount(code)) return invalid(line, `field "code" is not a close code: ${quote(code)}`, text);
      if (typeof reason !== 'string') return invalid(line, `field "reason" is not a string: ${quote(reason)}`, text);
      return { kind, ...base, code, reason };
    }
    case 'start': {
      const use = f.use;
      if (typeof use !== 'string' || use === '') return invalid(line, `field "use" is not a source kind: ${quote(use)}`, text);
      if (raw === undefined) return invalid(line, 'start line has no params ("d" or "s")', text);
      return { kind, ...base, use, params: raw };
    }
    case 'live': {
      const phase = f.phase;
      if (typeof phase !== 'string' || phase === '') return invalid(line, `field "phase" is not a connection phase: ${quote(phase)}`, text);
      return { kind, ...base, phase };
    }
    default: {
      const status = f.status;
      if (url === undefined) return invalid(line, 'rest line has no URL ("u")', text);
      if (!isCount(status)) return invalid(line, `field "status" is not an HTTP status: ${quote(status)}`, text);
      if (raw === undefined) return invalid(line, 'rest line has no body ("d" or "s")', text);
      const headers = f.h;
      if (headers === undefined) return { kind: 'rest', ...base, url, status, body: raw };
      if (!isStringRecord(headers)) return invalid(line, `field "h" is not an object of header strings: ${quote(headers)}`, text);
      return { kind: 'rest', ...base, url, status, headers, body: raw };
    }
  }
}

function isStringRecord(value: unknown): value is Readonly<Record<string, string>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((item) => typeof item === 'string');
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function invalid(line: number, reason: string, text: string): InvalidLine {
  return { kind: 'invalid', line, reason, text };
}

/** Recording formats replay reads: alphaflow's own, and cryptofeed captures converted to JSON lines. */
export type RecordingFormat = 'alphaflow' | 'cryptofeed';

export interface ReadRecordingOptions {
  /** Omit to detect from the first non-blank line. */
  readonly format?: RecordingFormat | undefined;
  /** Read size (default 1 MiB). */
  readonly chunkBytes?: number;
}

/**
 * Reads a recording (plain or gzip) as batches of entries in file order, each with its line
 * number. A line that cannot be read becomes an {@link InvalidLine} and reading goes on; only a
 * file that cannot be opened, a format that cannot be told, or a header of a newer version fails.
 */
export async function* readRecording(path: string, options: ReadRecordingOptions = {}): AsyncGenerator<readonly ReadEntry[], void, undefined> {
  let format = options.format;
  let readLine: ((text: string, line: number) => ReadEntry | undefined) | undefined;
  for await (const batch of readLines(path, options.chunkBytes === undefined ? {} : { chunkBytes: options.chunkBytes })) {
    const entries: ReadEntry[] = [];
    const { lines, firstLine } = batch;
    for (let i = 0; i < lines.length; i++) {
      const text = lines[i] as string;
      const line = firstLine + i;
      if (readLine === undefined) {
        if (text.trim() === '') continue;
        format ??= detectFormat(text, `${path}:${line}`);
        readLine = format === 'alphaflow' ? parseRecordingLine : createCryptofeedReader();
      }
      const entry = readLine(text, line);
      if (entry === undefined) continue;
      if (entry.kind === 'meta' && entry.version > RECORDING_VERSION) {
        throw new SourceDataError(
          `${path}:${line}`,
          `recording version ${entry.version} was written by a newer alphaflow; this one reads version ${RECORDING_VERSION} and older`,
        );
      }
      entries.push(entry);
    }
    yield entries;
  }
}

/** Tells the format from the first non-blank line, or throws naming the file and line. */
export function detectFormat(text: string, origin: string): RecordingFormat {
  if (text.startsWith('{"k":"meta"') || text.startsWith('{"t":')) return 'alphaflow';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (typeof value === 'object' && value !== null) {
    if ('local_ts' in value && 'kind' in value) return 'cryptofeed';
    if ('k' in value && ('t' in value || 'format' in value)) return 'alphaflow';
  }
  throw new SourceDataError(
    origin,
    `cannot tell the recording format from the first line (${quote(text)}): expected an alphaflow header {"k":"meta",...} or a cryptofeed line {"local_ts":...}; set "format" if the first line is damaged`,
  );
}
