/**
 * A Binance REST client for the public market-data endpoints alphaflow needs (protocols.md §1.6,
 * §2.4, §8): order-book snapshots, klines, aggregate trades and server time, on spot
 * (`api.binance.com/api/v3`) and USD-M futures (`fapi.binance.com/fapi/v1`). No endpoint here is
 * signed and no API key is sent.
 *
 * What it promises (reliability.md §5 rules 2, 3 and 7, matrix row R-09):
 *
 * - **Weight budget.** Each request's weight is known before it is sent
 *   ({@link binanceRestWeight}). The used weight of the current minute is tracked from
 *   `X-MBX-USED-WEIGHT-1M` (plus what is in flight); a request that would exceed the per-minute
 *   budget waits for the next minute (and {@link WINDOW_SLACK_MS}, for clock skew).
 * - **Per-host circuit.** HTTP 429 and 418 open the host's circuit until `Retry-After` (seconds)
 *   has elapsed: no request to that host is sent meanwhile. Requests made during the ban wait and
 *   go out afterwards, none is dropped; the request that got the 429 or 418 is sent again. A 418
 *   (the IP is banned) is also reported to `onBan`, an alert-worthy condition. Without a
 *   `Retry-After`, a 429 waits a minute and a 418 two (the shortest ban); any wait is at least a
 *   second, so a misbehaving server cannot make a busy loop. Rate limiting never
 *   counts against `maxRetries`: a caller that cannot wait passes an `AbortSignal`.
 * - **Transient failures.** 5xx answers, network errors and timeouts are retried up to
 *   `maxRetries` times with full-jitter backoff, `random(0, min(cap, base * 2^(n-1)))` (a
 *   `Retry-After` on a 5xx wins when it is longer). Then the call fails with a
 *   {@link BinanceRestError}.
 * - **Other 4xx** fail at once with a {@link BinanceRestError} carrying Binance's `{code, msg}`.
 * - **Validation.** Every row is checked for type and meaning (dec-strings, positive prices, OHLC
 *   bounds, close time = open time + interval - 1, aligned and increasing open times, increasing
 *   ids). A bad row goes to the `drops` reporter with a reason naming the field and the value;
 *   without a reporter the call fails with a {@link SourceDataError}. A bad snapshot always fails
 *   (a book missing a level is wrong). An answer that is not JSON, or not the expected shape, fails.
 * - **Forming bars.** A kline whose close time is not before the server's time is still forming
 *   and comes back with `closed: false`. Server time is the `Date` header of the answer (a lower
 *   bound: it is truncated to the second), or the local clock plus the offset measured by
 *   {@link BinanceRestClient.serverTime} when there is no `Date` header.
 * - **Recording.** `onResponse` sees every answer (status, a subset of headers, the body text and
 *   the receive time), retries and bans included, so a recorder can replay them.
 *
 * Every error names the endpoint, the symbol and the HTTP status. URLs in errors and in
 * `onResponse` have any user info and `signature`/`apiKey` parameters removed.
 *
 * Time is injected: `clock` (epoch ms) and `sleep`. Both default to RxJS's `asyncScheduler`, like
 * `ctx.scheduler`; tests pass a virtual clock so a 2 s `Retry-After` takes no time. The weight and
 * ban state lives in a {@link BinanceRestLimiter}; clients that share an IP should share one
 * (create it in the composition root), by default each client has its own.
 *
 * ```ts
 * const client = new BinanceRestClient({ market: 'spot', onBan: (ban) => alert(ban) });
 * const candles = await client.klines('BTC-USDT', '1m', { startTime, limit: 1000 });
 * const book = await client.depthSnapshot('BTCUSDT', 1000);
 * ```
 */
import { asyncScheduler } from 'rxjs';
import { SourceDataError, quote } from '../../errors.js';
import type { BookDepth, Candle, Level, Trade } from '../../model/index.js';
import { intervalMs, tryCanonicalSymbol } from '../../model/index.js';
import type { DropReporter } from '../dropReporter.js';
import type { BinanceMarket } from './payloads.js';
import { EARLIEST_EVENT_TIME, UNSIGNED_DECIMAL } from './payloads.js';

/** The REST endpoints this client calls. */
export type BinanceRestEndpoint = 'depth' | 'klines' | 'aggTrades' | 'time';

/** Fixed facts about one market's REST API. */
export interface BinanceRestMarket {
  /** Venue name on the records: `binance` or `binance-usdm`. */
  readonly venue: string;
  /** Production base URL. */
  readonly baseUrl: string;
  readonly paths: Readonly<Record<BinanceRestEndpoint, string>>;
  /** Documented `REQUEST_WEIGHT` limit per minute and IP (the default budget). */
  readonly weightPerMinute: number;
  /** Most klines one request may ask for. */
  readonly klinesMaxLimit: number;
  /** Most aggregate trades one request may ask for. */
  readonly aggTradesMaxLimit: number;
  /** Kline intervals the endpoint accepts that alphaflow models (1s to 1d; 3d, 1w and 1M are not modelled). */
  readonly intervals: readonly string[];
  /** The depth limits accepted, as a description for errors, and the check. */
  readonly depthLimits: string;
  readonly depthLimitValid: (limit: number) => boolean;
  readonly defaultDepthLimit: number;
}

const MINUTE_INTERVALS = ['1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '8h', '12h', '1d'] as const;
const USDM_DEPTH_LIMITS: readonly number[] = [5, 10, 20, 50, 100, 500, 1000];

/** protocols.md §1.6, §2.4 and §8; aggTrades weights and limits from Binance's REST docs (spot 4, USD-M 20; max 1000). */
export const BINANCE_REST_MARKETS: Readonly<Record<BinanceMarket, BinanceRestMarket>> = {
  spot: {
    venue: 'binance',
    baseUrl: 'https://api.binance.com',
    paths: { depth: '/api/v3/depth', klines: '/api/v3/klines', aggTrades: '/api/v3/aggTrades', time: '/api/v3/time' },
    weightPerMinute: 6000,
    klinesMaxLimit: 1000,
    aggTradesMaxLimit: 1000,
    intervals: ['1s', ...MINUTE_INTERVALS],
    depthLimits: 'an integer from 1 to 5000',
    depthLimitValid: (limit) => Number.isInteger(limit) && limit >= 1 && limit <= 5000,
    defaultDepthLimit: 100,
  },
  usdm: {
    venue: 'binance-usdm',
    baseUrl: 'https://fapi.binance.com',
    paths: { depth: '/fapi/v1/depth', klines: '/fapi/v1/klines', aggTrades: '/fapi/v1/aggTrades', time: '/fapi/v1/time' },
    weightPerMinute: 2400,
    klinesMaxLimit: 1500,
    aggTradesMaxLimit: 1000,
    intervals: MINUTE_INTERVALS,
    depthLimits: USDM_DEPTH_LIMITS.join(', '),
    depthLimitValid: (limit) => USDM_DEPTH_LIMITS.includes(limit),
    defaultDepthLimit: 500,
  },
};

/** Default `limit` of klines and aggTrades when none is sent (both markets). */
const DEFAULT_LIMIT = 500;

/**
 * The request weight of one call (protocols.md §1.6, §2.4, §8). `limit` is the `limit` parameter
 * sent, or undefined for the endpoint's default.
 */
export function binanceRestWeight(market: BinanceMarket, endpoint: BinanceRestEndpoint, limit?: number): number {
  if (endpoint === 'time') return 1;
  if (market === 'spot') {
    if (endpoint === 'klines') return 2;
    if (endpoint === 'aggTrades') return 4;
    const n = limit ?? 100;
    return n <= 100 ? 5 : n <= 500 ? 25 : n <= 1000 ? 50 : 250;
  }
  if (endpoint === 'aggTrades') return 20;
  if (endpoint === 'klines') {
    const n = limit ?? DEFAULT_LIMIT;
    return n < 100 ? 1 : n < 500 ? 2 : n <= 1000 ? 5 : 10;
  }
  const n = limit ?? 500;
  return n <= 50 ? 2 : n <= 100 ? 5 : n <= 500 ? 10 : 20;
}

/** Waiting for the next weight window goes this much past the minute, for clock skew with the server. */
export const WINDOW_SLACK_MS = 1_000;
const MINUTE_MS = 60_000;
/** Without a `Retry-After`, a 429 waits this long (a full weight window). */
const DEFAULT_RATE_LIMIT_MS = 60_000;
/** Without a `Retry-After`, a 418 waits this long (Binance's shortest ban). */
const DEFAULT_BAN_MS = 120_000;
/** A 429 or 418 holds the circuit open at least this long, so a `Retry-After: 0` cannot make a busy loop. */
const MIN_BAN_MS = 1_000;
/** Binance refuses aggTrades ranges of an hour or more. */
const AGG_TRADES_MAX_RANGE_MS = 3_600_000;

/** The weight and ban state of one host. */
export interface BinanceHostState {
  /** Start of the minute the used weight belongs to (local clock), 0 before any request. */
  readonly windowStart: number;
  /** Weight known to be used in that minute: the last `X-MBX-USED-WEIGHT-1M` plus what was sent since. */
  readonly usedWeight: number;
  /** Weight of requests sent and not yet answered. */
  readonly inFlightWeight: number;
  /** The circuit is open (429/418) until this instant; 0 when it never was. */
  readonly bannedUntil: number;
}

interface MutableHostState {
  windowStart: number;
  usedWeight: number;
  inFlightWeight: number;
  bannedUntil: number;
}

/**
 * The weight and ban state of each host, shared by the clients that use the same IP. It holds no
 * clock: callers pass the time. Create one per process (in the composition root) and give it to
 * every client; it is plain state, never module-level.
 */
export class BinanceRestLimiter {
  readonly #hosts = new Map<string, MutableHostState>();

  /**
   * Reserves `weight` on `host` at `now` when the circuit is closed and the budget allows it, and
   * returns 0; otherwise reserves nothing and returns how long to wait (ms) before asking again.
   */
  reserve(host: string, weight: number, budget: number, now: number): number {
    const state = this.#state(host);
    if (state.bannedUntil > now) return state.bannedUntil - now;
    const minute = now - (now % MINUTE_MS);
    if (minute !== state.windowStart) {
      state.windowStart = minute;
      state.usedWeight = state.inFlightWeight;
    }
    if (state.usedWeight + weight > budget) return minute + MINUTE_MS + WINDOW_SLACK_MS - now;
    state.usedWeight += weight;
    state.inFlightWeight += weight;
    return 0;
  }

  /**
   * A request reserved with {@link reserve} ended at `now`; `usedWeight` is the
   * `X-MBX-USED-WEIGHT-1M` it reported, if any. The header counts the IP's whole use, other
   * processes included; requests still in flight may not be in it yet, so they are added.
   */
  settle(host: string, weight: number, usedWeight: number | undefined, now: number): void {
    const state = this.#state(host);
    state.inFlightWeight = Math.max(0, state.inFlightWeight - weight);
    if (usedWeight === undefined) return;
    const minute = now - (now % MINUTE_MS);
    const known = usedWeight + state.inFlightWeight;
    if (minute !== state.windowStart) {
      state.windowStart = minute;
      state.usedWeight = known;
    } else if (known > state.usedWeight) {
      state.usedWeight = known;
    }
  }

  /** Opens the circuit of `host` until `until` (never shortens an open one). */
  open(host: string, until: number): void {
    const state = this.#state(host);
    if (until > state.bannedUntil) state.bannedUntil = until;
  }

  /** A copy of the state of `host`. */
  state(host: string): BinanceHostState {
    return { ...this.#state(host) };
  }

  #state(host: string): MutableHostState {
    let state = this.#hosts.get(host);
    if (state === undefined) {
      state = { windowStart: 0, usedWeight: 0, inFlightWeight: 0, bannedUntil: 0 };
      this.#hosts.set(host, state);
    }
    return state;
  }
}

/** One answer, as `onResponse` sees it. */
export interface BinanceRestResponse {
  /** The request URL (without user info or secret parameters). */
  readonly url: string;
  readonly status: number;
  /** `date`, `content-type`, `retry-after` and every `x-mbx-*` header, names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Local receive time, epoch ms from the injected clock. */
  readonly tsRecv: number;
}

/** A 429 or 418: the host's circuit is open until `until`. */
export interface BinanceRestBan {
  readonly host: string;
  readonly status: 418 | 429;
  /** The request that got it (safe URL). */
  readonly url: string;
  readonly endpoint: string;
  readonly symbol: string | undefined;
  /** How long the circuit stays open, from `Retry-After` (or the default when absent). */
  readonly retryAfterMs: number;
  readonly until: number;
  /** Binance's `{code, msg}`, when the body had one. */
  readonly code: number | undefined;
  readonly msg: string | undefined;
}

/** Counters of one client, for metrics and tests. */
export interface BinanceRestStats {
  /** Requests sent (retries included). */
  readonly requests: number;
  /** Requests sent again after a 5xx, a network error or a timeout. */
  readonly retries: number;
  /** 429 answers. */
  readonly rateLimited: number;
  /** 418 answers. */
  readonly bans: number;
  /** Times a request waited for an open circuit or the weight budget. */
  readonly waits: number;
  /** Total time spent in those waits, ms. */
  readonly waitedMs: number;
  /** Requests waiting now for an open circuit or the weight budget (queued, not dropped). */
  readonly waiting: number;
  /** Rows dropped by validation (reported to `drops`). */
  readonly droppedRows: number;
}

export interface BinanceRestClientOptions {
  readonly market: BinanceMarket;
  /** Base URL (default production: `https://api.binance.com` or `https://fapi.binance.com`). */
  readonly baseUrl?: string;
  /** The fetch implementation (default the global `fetch`). */
  readonly fetch?: typeof fetch;
  /** Epoch ms now (default `asyncScheduler.now()`). */
  readonly clock?: () => number;
  /** Waits `ms`; rejects with the signal's reason when aborted (default on `asyncScheduler`). */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform [0, 1) for the backoff jitter (default `Math.random`). */
  readonly random?: () => number;
  /** Shared weight and ban state (default: one of its own). */
  readonly limiter?: BinanceRestLimiter;
  /** Weight this client may use per minute (default the market's documented limit: 6000 spot, 2400 USD-M). */
  readonly weightBudget?: number;
  /** Retries after a 5xx, network error or timeout (default 5). */
  readonly maxRetries?: number;
  /** Backoff base and cap, ms (defaults 500 and 30 000). */
  readonly backoffBaseMs?: number;
  readonly backoffCapMs?: number;
  /** Per-attempt timeout, ms (default 10 000). */
  readonly timeoutMs?: number;
  /** Where bad rows go; without it a bad row fails the call. */
  readonly drops?: Pick<DropReporter, 'drop'>;
  /** Sees every answer (for a recorder). */
  readonly onResponse?: (response: BinanceRestResponse) => void;
  /** A 418: the IP is banned. Alert-worthy. */
  readonly onBan?: (ban: BinanceRestBan) => void;
  /** A 429: rate limited. */
  readonly onRateLimit?: (ban: BinanceRestBan) => void;
}

/** Per-call options. */
export interface BinanceCallOptions {
  /** Aborts the call, including any wait for a ban or the weight budget. */
  readonly signal?: AbortSignal;
}

export interface KlinesQuery extends BinanceCallOptions {
  /** Bars opening at or after this instant (epoch ms). */
  readonly startTime?: number;
  /** Bars opening at or before this instant (epoch ms). */
  readonly endTime?: number;
  /** At most this many bars (default 500; max 1000 spot, 1500 USD-M). */
  readonly limit?: number;
}

/** Aggregate trades from an id on, or in a time range (under an hour when both ends are given). */
export type AggTradesQuery = BinanceCallOptions & { readonly limit?: number } & (
    | { readonly fromId: number; readonly startTime?: never; readonly endTime?: never }
    | { readonly fromId?: never; readonly startTime?: number; readonly endTime?: number }
  );

/** A call failed at the HTTP level: a 4xx other than 429/418, or retries ran out. */
export class BinanceRestError extends Error {
  override readonly name = 'BinanceRestError';
  /** `GET /api/v3/klines`. */
  readonly endpoint: string;
  /** Binance symbol, when the call had one. */
  readonly symbol: string | undefined;
  /** HTTP status; undefined when no answer came (network error, timeout). */
  readonly status: number | undefined;
  /** Binance's error code (`-1121`), when the body had one. */
  readonly code: number | undefined;
  /** The request URL, without user info or secret parameters. */
  readonly url: string;
  /** Attempts made. */
  readonly attempts: number;

  constructor(
    fields: { endpoint: string; symbol: string | undefined; status: number | undefined; code: number | undefined; url: string; attempts: number },
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.endpoint = fields.endpoint;
    this.symbol = fields.symbol;
    this.status = fields.status;
    this.code = fields.code;
    this.url = fields.url;
    this.attempts = fields.attempts;
  }
}

/** The URL with user info removed and secret-looking parameters redacted. */
export function safeUrl(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  for (const name of [...copy.searchParams.keys()]) {
    if (/signature|apikey|secret|token/i.test(name)) copy.searchParams.set(name, '[redacted]');
  }
  return copy.href;
}

/** Sleeps on RxJS's asyncScheduler; aborting cancels the timer and rejects. */
function schedulerSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      timer.unsubscribe();
      reject(signal?.reason as Error);
    };
    const timer = asyncScheduler.schedule(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What a successful request returns to the endpoint parsers. */
interface Answer {
  readonly json: unknown;
  readonly tsRecv: number;
  /** Server time from the `Date` header, if it had one. */
  readonly serverDate: number | undefined;
  /** `binance GET /api/v3/klines symbol "BTCUSDT" (HTTP 200)`: the origin of data errors. */
  readonly origin: string;
}

interface Request {
  readonly endpoint: BinanceRestEndpoint;
  readonly symbol: string | undefined;
  readonly params: Readonly<Record<string, string | number | undefined>>;
  readonly weight: number;
  readonly signal: AbortSignal | undefined;
}

function positiveInteger(name: string, value: number): number {
  if (!(Number.isSafeInteger(value) && value > 0)) throw new RangeError(`${name} ${quote(value)} must be a positive integer`);
  return value;
}

function nonNegativeInteger(name: string, value: number): number {
  if (!(Number.isSafeInteger(value) && value >= 0)) throw new RangeError(`${name} ${quote(value)} must be an integer >= 0`);
  return value;
}

/** Binance's error body `{"code":-1121,"msg":"Invalid symbol."}`, when the text is one. */
function binanceError(body: string): { code: number | undefined; msg: string | undefined } {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      const record = parsed as Record<string, unknown>;
      const code = typeof record.code === 'number' ? record.code : undefined;
      const msg = typeof record.msg === 'string' ? record.msg : undefined;
      return { code, msg };
    }
  } catch {
    // Not JSON: the status alone tells what happened.
  }
  return { code: undefined, msg: undefined };
}

/** `Retry-After` in ms: delta-seconds, or an HTTP date relative to `now`; undefined when absent or invalid. */
function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^[0-9]+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function headerSubset(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    const lower = name.toLowerCase();
    if (lower === 'date' || lower === 'content-type' || lower === 'retry-after' || lower.startsWith('x-mbx-')) out[lower] = value;
  });
  return out;
}

/** A dec-string as a number, or undefined when `value` is not one (or is not finite). */
function decimal(value: unknown): number | undefined {
  if (typeof value !== 'string' || !UNSIGNED_DECIMAL.test(value)) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function isEpochMs(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= EARLIEST_EVENT_TIME;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The fields of one kline row, or the reason it is bad. */
interface KlineRow {
  readonly openTime: number;
  readonly closeTime: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
  readonly quoteVolume: number;
  readonly trades: number;
  readonly takerBuyVolume: number;
}

const KLINE_PRICES = [
  [1, 'open'],
  [2, 'high'],
  [3, 'low'],
  [4, 'close'],
] as const;
const KLINE_VOLUMES = [
  [5, 'volume'],
  [7, 'quoteVolume'],
  [9, 'takerBuyBaseVolume'],
] as const;

function klineRow(row: unknown, ms: number, interval: string): KlineRow | string {
  if (!Array.isArray(row)) return `is not an array: ${quote(row)}`;
  const fields = row as readonly unknown[];
  if (fields.length < 11) return `has ${fields.length} fields, expected 12: ${quote(row)}`;
  const openTime = fields[0];
  if (!isEpochMs(openTime)) return `openTime ${quote(openTime)} is not an epoch ms integer after 2017`;
  if (openTime % ms !== 0) return `openTime ${openTime} (${iso(openTime)}) is not on a ${interval} boundary`;
  const closeTime = fields[6];
  if (closeTime !== openTime + ms - 1) return `closeTime ${quote(closeTime)} is not openTime + ${interval} - 1 (${openTime + ms - 1})`;
  const prices: number[] = [];
  for (const [i, name] of KLINE_PRICES) {
    const value = decimal(fields[i]);
    if (value === undefined || value <= 0) return `${name} ${quote(fields[i])} is not a positive dec-string`;
    prices.push(value);
  }
  const volumes: number[] = [];
  for (const [i, name] of KLINE_VOLUMES) {
    const value = decimal(fields[i]);
    if (value === undefined) return `${name} ${quote(fields[i])} is not a non-negative dec-string`;
    volumes.push(value);
  }
  const trades = fields[8];
  if (typeof trades !== 'number' || !Number.isSafeInteger(trades) || trades < 0) return `trades ${quote(trades)} is not a non-negative integer`;
  const [open, high, low, close] = prices as [number, number, number, number];
  if (!(low <= open && low <= close && high >= open && high >= close)) {
    return `low ${quote(fields[3])} and high ${quote(fields[2])} do not bound open ${quote(fields[1])} and close ${quote(fields[4])}`;
  }
  const [volume, quoteVolume, takerBuyVolume] = volumes as [number, number, number];
  return { openTime, closeTime, open, high, low, close, volume, quoteVolume, trades, takerBuyVolume };
}

interface AggTradeRow {
  readonly id: number;
  readonly price: number;
  readonly qty: number;
  readonly time: number;
  readonly buyerIsMaker: boolean;
}

function aggTradeRow(row: unknown): AggTradeRow | string {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return `is not an object: ${quote(row)}`;
  const r = row as Record<string, unknown>;
  const id = r.a;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) return `a (aggregate trade id) ${quote(id)} is not a non-negative integer`;
  const price = decimal(r.p);
  if (price === undefined || price <= 0) return `p (price) ${quote(r.p)} is not a positive dec-string`;
  const qty = decimal(r.q);
  if (qty === undefined || qty <= 0) return `q (quantity) ${quote(r.q)} is not a positive dec-string`;
  if (!isEpochMs(r.T)) return `T (trade time) ${quote(r.T)} is not an epoch ms integer after 2017`;
  if (typeof r.m !== 'boolean') return `m (buyer is maker) ${quote(r.m)} is not a boolean`;
  return { id, price, qty, time: r.T, buyerIsMaker: r.m };
}

/** The levels of one side of a snapshot, or the reason they are bad. */
function levels(side: 'bids' | 'asks', raw: unknown): Level[] | string {
  if (!Array.isArray(raw)) return `${side} ${quote(raw)} is not an array`;
  const out: Level[] = [];
  const list = raw as readonly unknown[];
  for (let i = 0; i < list.length; i++) {
    const level = list[i];
    if (!Array.isArray(level) || level.length < 2) return `${side}[${i}] ${quote(level)} is not a [price, quantity] pair`;
    const pair = level as readonly unknown[];
    const price = decimal(pair[0]);
    if (price === undefined || price <= 0) return `${side}[${i}] price ${quote(pair[0])} is not a positive dec-string`;
    const qty = decimal(pair[1]);
    if (qty === undefined) return `${side}[${i}] quantity ${quote(pair[1])} is not a non-negative dec-string`;
    const previous = out[i - 1];
    if (previous !== undefined && (side === 'bids' ? price >= previous[0] : price <= previous[0])) {
      return `${side}[${i}] price ${quote(pair[0])} is not ${side === 'bids' ? 'below' : 'above'} the previous level's ${previous[0]}`;
    }
    out.push([price, qty]);
  }
  return out;
}

export class BinanceRestClient {
  readonly market: BinanceMarket;
  /** Facts about the market: paths, limits, intervals. */
  readonly spec: BinanceRestMarket;
  /** `binance` or `binance-usdm`. */
  readonly venue: string;
  readonly baseUrl: string;
  /** The injected clock (epoch ms). */
  readonly now: () => number;
  /** The injected sleep. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #host: string;
  readonly #fetch: typeof fetch;
  readonly #random: () => number;
  readonly #limiter: BinanceRestLimiter;
  readonly #budget: number;
  readonly #maxRetries: number;
  readonly #backoffBase: number;
  readonly #backoffCap: number;
  readonly #timeoutMs: number;
  readonly #drops: Pick<DropReporter, 'drop'> | undefined;
  readonly #onResponse: ((response: BinanceRestResponse) => void) | undefined;
  readonly #onBan: ((ban: BinanceRestBan) => void) | undefined;
  readonly #onRateLimit: ((ban: BinanceRestBan) => void) | undefined;
  /** Server time minus local time, from the last {@link serverTime}. */
  #offset: number | undefined;
  #requests = 0;
  #retries = 0;
  #rateLimited = 0;
  #bans = 0;
  #waits = 0;
  #waitedMs = 0;
  #waiting = 0;
  #droppedRows = 0;

  constructor(options: BinanceRestClientOptions) {
    const spec = BINANCE_REST_MARKETS[options.market] as BinanceRestMarket | undefined;
    if (spec === undefined) throw new RangeError(`market ${quote(options.market)} is not a Binance REST market: use "spot" or "usdm"`);
    this.market = options.market;
    this.spec = spec;
    this.venue = spec.venue;
    const base = options.baseUrl ?? spec.baseUrl;
    let parsed: URL;
    try {
      parsed = new URL(base);
    } catch (err) {
      throw new RangeError(`baseUrl ${quote(base)} is not a URL`, { cause: err });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new RangeError(`baseUrl ${quote(safeUrl(parsed))} must be http or https`);
    this.baseUrl = parsed.href.replace(/\/+$/, '');
    this.#host = parsed.host;
    this.#fetch = options.fetch ?? fetch;
    this.now = options.clock ?? (() => asyncScheduler.now());
    this.sleep = options.sleep ?? schedulerSleep;
    this.#random = options.random ?? Math.random;
    this.#limiter = options.limiter ?? new BinanceRestLimiter();
    this.#budget = positiveInteger('weightBudget', options.weightBudget ?? spec.weightPerMinute);
    this.#maxRetries = nonNegativeInteger('maxRetries', options.maxRetries ?? 5);
    this.#backoffBase = positiveInteger('backoffBaseMs', options.backoffBaseMs ?? 500);
    this.#backoffCap = positiveInteger('backoffCapMs', options.backoffCapMs ?? 30_000);
    if (this.#backoffCap < this.#backoffBase) {
      throw new RangeError(`backoffCapMs ${quote(this.#backoffCap)} must not be below backoffBaseMs ${quote(this.#backoffBase)}`);
    }
    this.#timeoutMs = positiveInteger('timeoutMs', options.timeoutMs ?? 10_000);
    this.#drops = options.drops;
    this.#onResponse = options.onResponse;
    this.#onBan = options.onBan;
    this.#onRateLimit = options.onRateLimit;
  }

  /** The host's weight and ban state. */
  get hostState(): BinanceHostState {
    return this.#limiter.state(this.#host);
  }

  get stats(): BinanceRestStats {
    return {
      requests: this.#requests,
      retries: this.#retries,
      rateLimited: this.#rateLimited,
      bans: this.#bans,
      waits: this.#waits,
      waitedMs: this.#waitedMs,
      waiting: this.#waiting,
      droppedRows: this.#droppedRows,
    };
  }

  /** Server time minus local time (ms) measured by the last {@link serverTime}, if any. */
  get serverTimeOffset(): number | undefined {
    return this.#offset;
  }

  /**
   * The server's time (`GET /api/v3/time`, `/fapi/v1/time`). Also measures the offset to the
   * local clock (midpoint of the round trip), used to tell forming klines when an answer has no
   * `Date` header.
   */
  async serverTime(options: BinanceCallOptions = {}): Promise<number> {
    const sent = this.now();
    const answer = await this.#call({ endpoint: 'time', symbol: undefined, params: {}, weight: binanceRestWeight(this.market, 'time'), signal: options.signal });
    const json = answer.json;
    const serverTime = typeof json === 'object' && json !== null ? (json as Record<string, unknown>).serverTime : undefined;
    if (!isEpochMs(serverTime)) throw new SourceDataError(answer.origin, `serverTime ${quote(serverTime)} is not an epoch ms integer after 2017`);
    this.#offset = Math.round(serverTime - (sent + answer.tsRecv) / 2);
    return serverTime;
  }

  /**
   * An order-book snapshot (`limit` levels a side; spot 1 to 5000, default 100; USD-M 5, 10, 20,
   * 50, 100, 500 or 1000, default 500) as a `book-depth` record with `snapshot: true` and
   * `firstUpdateId = lastUpdateId = lastUpdateId`. `tsEvent` is the USD-M transaction time `T`;
   * spot snapshots have no time, so the receive time.
   */
  async depthSnapshot(symbol: string, limit: number = this.spec.defaultDepthLimit, options: BinanceCallOptions = {}): Promise<BookDepth> {
    const { canonical, binance } = this.#symbol(symbol);
    if (!this.spec.depthLimitValid(limit)) throw new RangeError(`depth limit ${quote(limit)} for ${binance} must be ${this.spec.depthLimits} on ${this.venue}`);
    const answer = await this.#call({
      endpoint: 'depth',
      symbol: binance,
      params: { symbol: binance, limit },
      weight: binanceRestWeight(this.market, 'depth', limit),
      signal: options.signal,
    });
    const json = answer.json;
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new SourceDataError(answer.origin, `expected a depth object, got ${quote(json)}`);
    const body = json as Record<string, unknown>;
    const lastUpdateId = body.lastUpdateId;
    if (typeof lastUpdateId !== 'number' || !Number.isSafeInteger(lastUpdateId) || lastUpdateId < 0) {
      throw new SourceDataError(answer.origin, `lastUpdateId ${quote(lastUpdateId)} is not a non-negative integer`);
    }
    const bids = levels('bids', body.bids);
    if (typeof bids === 'string') throw new SourceDataError(answer.origin, bids);
    const asks = levels('asks', body.asks);
    if (typeof asks === 'string') throw new SourceDataError(answer.origin, asks);
    const bestBid = bids[0];
    const bestAsk = asks[0];
    if (bestBid !== undefined && bestAsk !== undefined && bestBid[0] >= bestAsk[0]) {
      throw new SourceDataError(answer.origin, `best bid ${bestBid[0]} is not below best ask ${bestAsk[0]}`);
    }
    let tsEvent = answer.tsRecv;
    if (this.market === 'usdm') {
      const time = body.T ?? body.E;
      if (!isEpochMs(time)) throw new SourceDataError(answer.origin, `T (transaction time) ${quote(body.T)} is not an epoch ms integer after 2017`);
      tsEvent = time;
    }
    return {
      type: 'book-depth',
      venue: this.venue,
      symbol: canonical,
      tsEvent,
      tsRecv: answer.tsRecv,
      firstUpdateId: lastUpdateId,
      lastUpdateId,
      bids,
      asks,
      snapshot: true,
    };
  }

  /**
   * Klines of `interval` (`1s` spot only, `1m` to `1d`), oldest first. Every row is validated; a bar
   * whose close time is not before the server time is forming (`closed: false`), the others are
   * closed. A closed bar's `tsEvent` is its end (`closeTime + 1`); a forming bar's is the server time.
   */
  async klines(symbol: string, interval: string, query: KlinesQuery = {}): Promise<Candle[]> {
    const { canonical, binance } = this.#symbol(symbol);
    if (!this.spec.intervals.includes(interval)) {
      throw new RangeError(`interval ${quote(interval)} for ${binance} is not a ${this.venue} kline interval: use one of ${this.spec.intervals.join(', ')}`);
    }
    const ms = intervalMs(interval);
    const { startTime, endTime, limit } = query;
    if (startTime !== undefined) nonNegativeInteger(`klines startTime for ${binance}`, startTime);
    if (endTime !== undefined) nonNegativeInteger(`klines endTime for ${binance}`, endTime);
    if (startTime !== undefined && endTime !== undefined && endTime < startTime) {
      throw new RangeError(`klines endTime ${quote(endTime)} for ${binance} is before startTime ${quote(startTime)}`);
    }
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 1 && limit <= this.spec.klinesMaxLimit)) {
      throw new RangeError(`klines limit ${quote(limit)} for ${binance} must be an integer from 1 to ${this.spec.klinesMaxLimit} on ${this.venue}`);
    }
    const answer = await this.#call({
      endpoint: 'klines',
      symbol: binance,
      params: { symbol: binance, interval, startTime, endTime, limit },
      weight: binanceRestWeight(this.market, 'klines', limit),
      signal: query.signal,
    });
    const rows = answer.json;
    if (!Array.isArray(rows)) throw new SourceDataError(answer.origin, `expected an array of kline rows, got ${quote(rows)}`);
    const serverNow = answer.serverDate ?? answer.tsRecv + (this.#offset ?? 0);
    const candles: Candle[] = [];
    let last = -1;
    (rows as readonly unknown[]).forEach((raw, i) => {
      const row = klineRow(raw, ms, interval);
      if (typeof row === 'string') {
        this.#bad(answer.origin, `kline row ${i}: ${row}`, raw);
        return;
      }
      if (row.openTime <= last) {
        const how = row.openTime === last ? 'repeats' : 'is before';
        this.#bad(answer.origin, `kline row ${i}: openTime ${row.openTime} (${iso(row.openTime)}) ${how} the previous row's ${last} (${iso(last)})`, raw);
        return;
      }
      if ((startTime !== undefined && row.closeTime < startTime) || (endTime !== undefined && row.openTime > endTime)) {
        this.#bad(answer.origin, `kline row ${i}: openTime ${row.openTime} (${iso(row.openTime)}) is outside the requested range ${quote({ startTime, endTime })}`, raw);
        return;
      }
      last = row.openTime;
      const closed = row.closeTime < serverNow;
      candles.push({
        type: 'candle',
        venue: this.venue,
        symbol: canonical,
        tsEvent: closed ? row.closeTime + 1 : Math.max(row.openTime, serverNow),
        tsRecv: answer.tsRecv,
        interval,
        openTime: row.openTime,
        closeTime: row.closeTime,
        open: row.open,
        high: row.high,
        low: row.low,
        close: row.close,
        volume: row.volume,
        quoteVolume: row.quoteVolume,
        trades: row.trades,
        takerBuyVolume: row.takerBuyVolume,
        closed,
      });
    });
    return candles;
  }

  /**
   * Aggregate trades, oldest first: from `fromId` on, or in `[startTime, endTime]` (less than an
   * hour apart when both are given), at most `limit` (default 500, max 1000). `id` is the aggregate
   * trade id `a`; `side` is `sell` when the buyer was the maker (`m`), else `buy`.
   */
  async aggTrades(symbol: string, query: AggTradesQuery): Promise<Trade[]> {
    const { canonical, binance } = this.#symbol(symbol);
    const { fromId, startTime, endTime, limit } = query;
    if (fromId !== undefined) nonNegativeInteger(`aggTrades fromId for ${binance}`, fromId);
    if (startTime !== undefined) nonNegativeInteger(`aggTrades startTime for ${binance}`, startTime);
    if (endTime !== undefined) nonNegativeInteger(`aggTrades endTime for ${binance}`, endTime);
    if (startTime !== undefined && endTime !== undefined && !(endTime >= startTime && endTime - startTime < AGG_TRADES_MAX_RANGE_MS)) {
      throw new RangeError(`aggTrades range ${quote({ startTime, endTime })} for ${binance} must have endTime >= startTime and span less than an hour`);
    }
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 1 && limit <= this.spec.aggTradesMaxLimit)) {
      throw new RangeError(`aggTrades limit ${quote(limit)} for ${binance} must be an integer from 1 to ${this.spec.aggTradesMaxLimit}`);
    }
    const answer = await this.#call({
      endpoint: 'aggTrades',
      symbol: binance,
      params: { symbol: binance, fromId, startTime, endTime, limit },
      weight: binanceRestWeight(this.market, 'aggTrades', limit),
      signal: query.signal,
    });
    const rows = answer.json;
    if (!Array.isArray(rows)) throw new SourceDataError(answer.origin, `expected an array of aggregate trades, got ${quote(rows)}`);
    const trades: Trade[] = [];
    let last = -1;
    (rows as readonly unknown[]).forEach((raw, i) => {
      const row = aggTradeRow(raw);
      if (typeof row === 'string') {
        this.#bad(answer.origin, `aggTrade row ${i}: ${row}`, raw);
        return;
      }
      if (row.id <= last) {
        this.#bad(answer.origin, `aggTrade row ${i}: id ${row.id} ${row.id === last ? 'repeats' : 'is below'} the previous row's ${last}`, raw);
        return;
      }
      if (fromId !== undefined && row.id < fromId) {
        this.#bad(answer.origin, `aggTrade row ${i}: id ${row.id} is below the requested fromId ${fromId}`, raw);
        return;
      }
      last = row.id;
      trades.push({
        type: 'trade',
        venue: this.venue,
        symbol: canonical,
        tsEvent: row.time,
        tsRecv: answer.tsRecv,
        id: row.id,
        price: row.price,
        qty: row.qty,
        side: row.buyerIsMaker ? 'sell' : 'buy',
      });
    });
    return trades;
  }

  #symbol(symbol: string): { canonical: string; binance: string } {
    const canonical = tryCanonicalSymbol(symbol);
    if (canonical === undefined) throw new RangeError(`Symbol ${quote(symbol)} is not recognised: write it as BASE-QUOTE ("BTC-USDT") or as Binance does ("BTCUSDT")`);
    return { canonical, binance: canonical.replace('-', '') };
  }

  #bad(origin: string, reason: string, sample: unknown): void {
    if (this.#drops === undefined) throw new SourceDataError(origin, reason);
    this.#droppedRows++;
    this.#drops.drop(origin, reason, sample);
  }

  /** Sends one request until it succeeds, waiting for bans and the budget, retrying transient failures. */
  async #call(request: Request): Promise<Answer> {
    const url = new URL(this.baseUrl + this.spec.paths[request.endpoint]);
    for (const [name, value] of Object.entries(request.params)) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const shownUrl = safeUrl(url);
    const endpoint = `GET ${this.spec.paths[request.endpoint]}`;
    const what = `${this.venue} ${endpoint}${request.symbol === undefined ? '' : ` symbol ${quote(request.symbol)}`}`;
    if (request.weight > this.#budget) {
      throw new RangeError(`${what} has weight ${request.weight}, more than the weight budget ${quote(this.#budget)} per minute`);
    }
    const fail = (status: number | undefined, code: number | undefined, attempts: number, message: string, cause?: unknown): BinanceRestError =>
      new BinanceRestError({ endpoint, symbol: request.symbol, status, code, url: shownUrl, attempts }, message, cause === undefined ? {} : { cause });

    let failures = 0;
    let attempts = 0;
    for (;;) {
      await this.#acquire(request.weight, request.signal);
      attempts++;
      this.#requests++;
      let response: Response;
      let body: string;
      try {
        ({ response, body } = await this.#fetchText(url, request.signal));
      } catch (err) {
        this.#limiter.settle(this.#host, request.weight, undefined, this.now());
        if (request.signal?.aborted === true) throw request.signal.reason;
        failures++;
        const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        if (failures > this.#maxRetries) {
          throw fail(undefined, undefined, attempts, `${what} failed with no HTTP status (network error or timeout) after ${attempts} attempts: ${detail} (${shownUrl})`, err);
        }
        this.#retries++;
        await this.sleep(this.#backoff(failures), request.signal);
        continue;
      }
      const tsRecv = this.now();
      const usedHeader = response.headers.get('x-mbx-used-weight-1m');
      const used = usedHeader !== null && /^[0-9]+$/.test(usedHeader.trim()) ? Number(usedHeader.trim()) : undefined;
      this.#limiter.settle(this.#host, request.weight, used, tsRecv);
      const status = response.status;
      this.#onResponse?.({ url: shownUrl, status, headers: headerSubset(response.headers), body, tsRecv });
      const dateHeader = response.headers.get('date');
      const serverDate = dateHeader === null ? undefined : Date.parse(dateHeader);
      const serverTime = serverDate === undefined || Number.isNaN(serverDate) ? undefined : serverDate;

      if (status >= 200 && status < 300) {
        const origin = `${what} (HTTP ${status})`;
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch (err) {
          throw new SourceDataError(origin, `body is not JSON: ${quote(body)}`, { cause: err });
        }
        return { json, tsRecv, serverDate: serverTime, origin };
      }

      const { code, msg } = binanceError(body);
      const binanceSays = code === undefined && msg === undefined ? `body ${quote(body)}` : `Binance code ${quote(code)} ${quote(msg)}`;
      if (status === 429 || status === 418) {
        const hinted = retryAfterMs(response.headers.get('retry-after'), serverTime ?? tsRecv) ?? (status === 418 ? DEFAULT_BAN_MS : DEFAULT_RATE_LIMIT_MS);
        const retryAfter = Math.max(MIN_BAN_MS, hinted);
        const until = tsRecv + retryAfter;
        this.#limiter.open(this.#host, until);
        const ban: BinanceRestBan = { host: this.#host, status, url: shownUrl, endpoint, symbol: request.symbol, retryAfterMs: retryAfter, until, code, msg };
        if (status === 418) {
          this.#bans++;
          this.#onBan?.(ban);
        } else {
          this.#rateLimited++;
          this.#onRateLimit?.(ban);
        }
        continue;
      }
      if (status >= 500) {
        failures++;
        if (failures > this.#maxRetries) {
          throw fail(status, code, attempts, `${what} failed with HTTP ${status} after ${attempts} attempts: ${binanceSays} (${shownUrl})`);
        }
        this.#retries++;
        const hinted = retryAfterMs(response.headers.get('retry-after'), serverTime ?? tsRecv) ?? 0;
        await this.sleep(Math.max(hinted, this.#backoff(failures)), request.signal);
        continue;
      }
      throw fail(status, code, attempts, `${what} failed with HTTP ${status}: ${binanceSays} (${shownUrl})`);
    }
  }

  /**
   * One attempt: the answer and its body, aborted by the caller's signal or after `timeoutMs`. The
   * timer is cancelled as soon as the body is read, so nothing outlives the attempt.
   */
  async #fetchText(url: URL, signal: AbortSignal | undefined): Promise<{ response: Response; body: string }> {
    const controller = new AbortController();
    const timer = asyncScheduler.schedule(() => {
      controller.abort(new Error(`no answer within timeoutMs ${this.#timeoutMs}`));
    }, this.#timeoutMs);
    const onAbort = (): void => {
      controller.abort(signal?.reason);
    };
    if (signal?.aborted === true) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const response = await this.#fetch(url, { signal: controller.signal, headers: { accept: 'application/json' } });
      const body = await response.text();
      return { response, body };
    } finally {
      timer.unsubscribe();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Waits until the circuit is closed and the budget has room, then reserves the weight. */
  async #acquire(weight: number, signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      if (signal?.aborted === true) throw signal.reason;
      const wait = this.#limiter.reserve(this.#host, weight, this.#budget, this.now());
      if (wait <= 0) return;
      this.#waits++;
      this.#waitedMs += wait;
      this.#waiting++;
      try {
        await this.sleep(wait, signal);
      } finally {
        this.#waiting--;
      }
    }
  }

  /** Full jitter: uniform in [0, min(cap, base * 2^(failures - 1))). */
  #backoff(failures: number): number {
    const ceiling = Math.min(this.#backoffCap, this.#backoffBase * 2 ** (failures - 1));
    return Math.floor(this.#random() * ceiling);
  }
}
