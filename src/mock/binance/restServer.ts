/**
 * The REST front-end of one mock market (protocols.md §1.6, §2.4): market data only.
 *
 * Spot: `/api/v3/ping`, `/time`, `/exchangeInfo`, `/depth`, `/klines`, `/aggTrades`. USD-M:
 * `/fapi/v1/ping`, `/time`, `/exchangeInfo`, `/depth`, `/klines`, `/aggTrades`, `/fundingRate`,
 * `/premiumIndex`. Answers read the same state the streams are built from.
 *
 * Every response carries `X-MBX-USED-WEIGHT-1M`: the weight used in the current minute of the
 * mock's clock, with Binance's weights per endpoint and limit. Past the limit (6000 spot, 2400
 * USD-M) the answer is 429 with code -1003 and `Retry-After` until the minute ends. Parameters
 * are checked as Binance checks them, with its `{code, msg}` errors: -1100 illegal characters,
 * -1101 duplicate parameter, -1102 mandatory parameter missing, -1104 unknown parameters, -1120
 * invalid interval, -1121 invalid symbol, -1023 start after end, -1127 range too long, -1128 bad
 * combination, -1130 invalid value.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { quote } from '../../errors.js';
import type { MockClock } from './mockClock.js';
import type { MockCounters } from './mockCounters.js';
import type { SimExchange } from './simExchange.js';
import type { MockMarket } from './streamNames.js';
import { klineIntervals } from './streamNames.js';
import { klineRow } from './payloads.js';
import { formatDecimal } from './decimalFormat.js';
import { tryIntervalMs } from '../../model/index.js';
import type { SymbolSim } from './symbolSim.js';

/** A REST answer the injector forces. */
export interface RestFault {
  readonly status: number;
  readonly retryAfterSec: number | undefined;
}

export interface RestFaultSource {
  takeRestFault(market: MockMarket, path: string): RestFault | undefined;
  restDelayMs(market: MockMarket, path: string): number;
}

export interface RestFrontEndOptions {
  readonly market: MockMarket;
  readonly exchange: SimExchange;
  readonly clock: MockClock;
  readonly counters: MockCounters;
  readonly faults: RestFaultSource;
  /** REQUEST_WEIGHT per minute. */
  readonly weightLimit: number;
  /** Brings the exchange up to the present before an answer (real-time mode). */
  readonly sync: () => void;
}

/** A Binance error: HTTP status and `{code, msg}`. */
class RestError extends Error {
  override readonly name = 'RestError';
  readonly status: number;
  readonly code: number;

  constructor(status: number, code: number, msg: string) {
    super(msg);
    this.status = status;
    this.code = code;
  }
}

type Params = ReadonlyMap<string, string>;

interface Endpoint {
  readonly params: readonly string[];
  weight(params: Params): number;
  answer(params: Params): unknown;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const INTEGER = /^-?[0-9]{1,20}$/;
const FUTURES_DEPTH_LIMITS = [5, 10, 20, 50, 100, 500, 1000] as const;

export class RestFrontEnd {
  readonly #o: RestFrontEndOptions;
  readonly #endpoints: ReadonlyMap<string, Endpoint>;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #waiting = new Set<ServerResponse>();
  #minute = -1;
  #used = 0;

  constructor(options: RestFrontEndOptions) {
    this.#o = options;
    this.#endpoints = options.market === 'spot' ? this.#spotEndpoints() : this.#usdmEndpoints();
  }

  /** Paths served, for error messages and docs. */
  get paths(): readonly string[] {
    return [...this.#endpoints.keys()];
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://mock');
    const delay = this.#o.faults.restDelayMs(this.#o.market, url.pathname);
    if (delay <= 0) {
      this.#respond(req, res, url);
      return;
    }
    this.#waiting.add(res);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#waiting.delete(res);
      this.#respond(req, res, url);
    }, delay);
    this.#timers.add(timer);
  }

  /** Cancels delayed answers (their sockets are closed with the server). */
  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const res of this.#waiting) res.destroy();
    this.#waiting.clear();
  }

  #respond(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const path = url.pathname;
    const market = this.#o.market;
    const forced = this.#o.faults.takeRestFault(market, path);
    if (forced !== undefined) {
      const msg =
        forced.status === 429
          ? 'Too many requests; please use the websocket for live updates to avoid bans.'
          : forced.status === 418
            ? 'Way too many requests; IP banned by the mock.'
            : 'Internal error; unable to process your request. Please try again.';
      const code = forced.status === 429 || forced.status === 418 ? -1003 : -1001;
      this.#send(res, path, forced.status, JSON.stringify({ code, msg }), forced.retryAfterSec);
      return;
    }
    const endpoint = this.#endpoints.get(path);
    if (endpoint === undefined) {
      this.#send(res, path, 404, JSON.stringify({ code: -1000, msg: `No endpoint at ${quote(path)} on the mock ${market} server. Available: ${this.paths.join(', ')}` }), undefined);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.#send(res, path, 405, JSON.stringify({ code: -1000, msg: `Method ${quote(req.method)} is not allowed on ${path}: use GET` }), undefined);
      return;
    }
    try {
      const params = readParams(url, endpoint.params);
      const used = this.#spend(endpoint.weight(params));
      if (used > this.#o.weightLimit) {
        throw new RestError(429, -1003, `Too many requests; current limit is ${this.#o.weightLimit} request weight per 1 MINUTE. Please use the websocket for live updates to avoid polling the API.`);
      }
      this.#o.sync();
      this.#send(res, path, 200, JSON.stringify(endpoint.answer(params)), undefined);
    } catch (err) {
      if (!(err instanceof RestError)) throw err;
      // A 429 lasts until the weight minute ends.
      const retry = err.status === 429 ? Math.ceil((MINUTE_MS - (this.#o.clock.now() % MINUTE_MS)) / 1_000) : undefined;
      this.#send(res, path, err.status, JSON.stringify({ code: err.code, msg: err.message }), retry);
    }
  }

  #spend(weight: number): number {
    const minute = Math.floor(this.#o.clock.now() / MINUTE_MS);
    if (minute !== this.#minute) {
      this.#minute = minute;
      this.#used = 0;
    }
    this.#used += weight;
    return this.#used;
  }

  #send(res: ServerResponse, path: string, status: number, body: string, retryAfterSec: number | undefined): void {
    this.#o.counters.rest(path, status);
    const minute = Math.floor(this.#o.clock.now() / MINUTE_MS);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json;charset=UTF-8',
      'Content-Length': String(Buffer.byteLength(body)),
      'X-MBX-USED-WEIGHT-1M': String(minute === this.#minute ? this.#used : 0),
    };
    if (retryAfterSec !== undefined) headers['Retry-After'] = String(retryAfterSec);
    res.writeHead(status, headers);
    res.end(body);
  }

  #symbol(params: Params): SymbolSim {
    const raw = required(params, 'symbol');
    const sim = /^[A-Z0-9]+$/.test(raw) ? this.#o.exchange.symbol(raw) : undefined;
    if (sim === undefined) throw new RestError(400, -1121, 'Invalid symbol.');
    return sim;
  }

  #now(): number {
    return this.#o.exchange.now();
  }

  #common(prefix: string): [string, Endpoint][] {
    return [
      [`${prefix}/ping`, { params: [], weight: () => 1, answer: () => ({}) }],
      [`${prefix}/time`, { params: [], weight: () => 1, answer: () => ({ serverTime: this.#now() }) }],
    ];
  }

  #spotEndpoints(): Map<string, Endpoint> {
    return new Map<string, Endpoint>([
      ...this.#common('/api/v3'),
      ['/api/v3/exchangeInfo', { params: ['symbol', 'symbols', 'permissions', 'showPermissionSets', 'symbolStatus'], weight: () => 20, answer: (p) => this.#exchangeInfo(p) }],
      [
        '/api/v3/depth',
        {
          params: ['symbol', 'limit'],
          weight: (p) => {
            const limit = Math.min(5_000, optionalInt(p, 'limit') ?? 100);
            return limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1_000 ? 50 : 250;
          },
          answer: (p) => {
            const sim = this.#symbol(p);
            const limit = optionalInt(p, 'limit') ?? 100;
            if (limit < 1) throw invalidValue('limit');
            const book = sim.depthSnapshot(Math.min(5_000, limit));
            return { lastUpdateId: book.lastUpdateId, bids: book.bids, asks: book.asks };
          },
        },
      ],
      ['/api/v3/klines', { params: ['symbol', 'interval', 'startTime', 'endTime', 'timeZone', 'limit'], weight: () => 2, answer: (p) => this.#klines(p, 1_000) }],
      ['/api/v3/aggTrades', { params: ['symbol', 'fromId', 'startTime', 'endTime', 'limit'], weight: () => 4, answer: (p) => this.#aggTrades(p) }],
    ]);
  }

  #usdmEndpoints(): Map<string, Endpoint> {
    return new Map<string, Endpoint>([
      ...this.#common('/fapi/v1'),
      ['/fapi/v1/exchangeInfo', { params: [], weight: () => 1, answer: (p) => this.#exchangeInfo(p) }],
      [
        '/fapi/v1/depth',
        {
          params: ['symbol', 'limit'],
          weight: (p) => {
            const limit = futuresDepthLimit(optionalInt(p, 'limit') ?? 500);
            return limit <= 50 ? 2 : limit === 100 ? 5 : limit === 500 ? 10 : 20;
          },
          answer: (p) => {
            const sim = this.#symbol(p);
            const limit = futuresDepthLimit(optionalInt(p, 'limit') ?? 500);
            const book = sim.depthSnapshot(limit);
            return { lastUpdateId: book.lastUpdateId, E: this.#now(), T: book.time, bids: book.bids, asks: book.asks };
          },
        },
      ],
      [
        '/fapi/v1/klines',
        {
          params: ['symbol', 'interval', 'startTime', 'endTime', 'limit'],
          weight: (p) => {
            const limit = optionalInt(p, 'limit') ?? 500;
            return limit < 100 ? 1 : limit < 500 ? 2 : limit <= 1_000 ? 5 : 10;
          },
          answer: (p) => this.#klines(p, 1_500),
        },
      ],
      ['/fapi/v1/aggTrades', { params: ['symbol', 'fromId', 'startTime', 'endTime', 'limit'], weight: () => 20, answer: (p) => this.#aggTrades(p) }],
      ['/fapi/v1/fundingRate', { params: ['symbol', 'startTime', 'endTime', 'limit'], weight: () => 1, answer: (p) => this.#fundingRate(p) }],
      ['/fapi/v1/premiumIndex', { params: ['symbol'], weight: (p) => (p.has('symbol') ? 1 : 10), answer: (p) => this.#premiumIndex(p) }],
    ]);
  }

  #klines(p: Params, maxLimit: number): unknown {
    const sim = this.#symbol(p);
    const interval = required(p, 'interval');
    const ms = klineIntervals(this.#o.market).includes(interval) ? tryIntervalMs(interval) : undefined;
    if (ms === undefined) throw new RestError(400, -1120, 'Invalid interval.');
    const timeZone = p.get('timeZone');
    if (timeZone !== undefined && !/^[+-]?0{1,2}(:00)?$/.test(timeZone)) {
      throw new RestError(400, -1130, `Data sent for parameter 'timeZone' is not valid: the mock serves UTC only, got ${quote(timeZone)}.`);
    }
    const limit = optionalInt(p, 'limit') ?? 500;
    if (limit < 1 || limit > maxLimit) throw invalidValue('limit');
    const start = optionalInt(p, 'startTime');
    const end = optionalInt(p, 'endTime');
    if (start !== undefined && end !== undefined && start > end) throw new RestError(400, -1023, 'Start time is greater than end time.');
    return sim.klineBars(ms, this.#now(), limit, start, end).map((bar) => klineRow(sim.format, bar));
  }

  #aggTrades(p: Params): unknown {
    const sim = this.#symbol(p);
    const limit = optionalInt(p, 'limit') ?? 500;
    if (limit < 1 || limit > 1_000) throw invalidValue('limit');
    const fromId = optionalInt(p, 'fromId');
    let start = optionalInt(p, 'startTime');
    let end = optionalInt(p, 'endTime');
    if (fromId !== undefined) {
      if (start !== undefined || end !== undefined) throw new RestError(400, -1128, 'Combination of optional parameters invalid: send fromId, or startTime/endTime, not both.');
      if (fromId < 0) throw invalidValue('fromId');
      return sim.aggTradesFromId(fromId, limit);
    }
    if (start === undefined && end === undefined) return sim.aggTradesLatest(limit);
    if (start !== undefined && end !== undefined) {
      if (start > end) throw new RestError(400, -1023, 'Start time is greater than end time.');
      if (end - start > HOUR_MS) throw new RestError(400, -1127, 'More than 1 hours between startTime and endTime.');
    }
    start ??= (end ?? 0) - HOUR_MS;
    end ??= start + HOUR_MS;
    return sim.aggTradesBetween(start, end, limit);
  }

  #fundingRate(p: Params): unknown {
    const symbol = p.get('symbol');
    const sims = symbol === undefined ? this.#allSymbols() : [this.#symbol(p)];
    const limit = optionalInt(p, 'limit') ?? 100;
    if (limit < 1 || limit > 1_000) throw invalidValue('limit');
    const start = optionalInt(p, 'startTime');
    const end = optionalInt(p, 'endTime');
    if (start !== undefined && end !== undefined && start > end) throw new RestError(400, -1023, 'Start time is greater than end time.');
    const records = sims
      .flatMap((sim) => sim.fundingHistory())
      .filter((r) => (start === undefined || r.fundingTime >= start) && (end === undefined || r.fundingTime <= end))
      .sort((a, b) => a.fundingTime - b.fundingTime);
    return start === undefined ? records.slice(-limit) : records.slice(0, limit);
  }

  #premiumIndex(p: Params): unknown {
    const entry = (sim: SymbolSim): unknown => {
      const mark = sim.mark();
      return {
        symbol: sim.binance,
        markPrice: formatDecimal(mark?.markPrice ?? 0, 8),
        indexPrice: formatDecimal(mark?.indexPrice ?? 0, 8),
        estimatedSettlePrice: formatDecimal(mark?.settlePrice ?? 0, 8),
        lastFundingRate: formatDecimal(mark?.fundingRate ?? 0, 8),
        interestRate: '0.00010000',
        nextFundingTime: mark?.nextFundingTime ?? 0,
        time: mark?.time ?? this.#now(),
      };
    };
    return p.has('symbol') ? entry(this.#symbol(p)) : this.#allSymbols().map(entry);
  }

  #allSymbols(): SymbolSim[] {
    return this.#o.exchange.symbols.map((name) => this.#o.exchange.symbol(name)).filter((sim): sim is SymbolSim => sim !== undefined);
  }

  #exchangeInfo(p: Params): unknown {
    let sims = this.#allSymbols();
    if (p.has('symbol')) sims = [this.#symbol(p)];
    const listed = p.get('symbols');
    if (listed !== undefined) {
      let names: unknown;
      try {
        names = JSON.parse(listed);
      } catch {
        names = undefined;
      }
      if (!Array.isArray(names) || !names.every((n): n is string => typeof n === 'string')) throw new RestError(400, -1100, `Illegal characters found in parameter 'symbols': ${quote(listed)}.`);
      sims = names.map((name) => this.#symbol(new Map([['symbol', name]])));
    }
    const usdm = this.#o.market === 'usdm';
    const symbols = sims.map((sim) => {
      const [base = '', quoteAsset = ''] = sim.canonical.split('-');
      const filters = [
        { filterType: 'PRICE_FILTER', minPrice: formatDecimal(sim.tickSize, sim.format.prices.minDecimals), maxPrice: formatDecimal(1_000_000, sim.format.prices.minDecimals), tickSize: formatDecimal(sim.tickSize, sim.format.prices.minDecimals) },
        { filterType: 'LOT_SIZE', minQty: formatDecimal(sim.lotSize, sim.format.quantities.minDecimals), maxQty: formatDecimal(9_000, sim.format.quantities.minDecimals), stepSize: formatDecimal(sim.lotSize, sim.format.quantities.minDecimals) },
      ];
      return usdm
        ? { symbol: sim.binance, pair: sim.binance, contractType: 'PERPETUAL', status: 'TRADING', baseAsset: base, quoteAsset, marginAsset: quoteAsset, pricePrecision: sim.format.prices.minDecimals, quantityPrecision: sim.format.quantities.minDecimals, filters }
        : { symbol: sim.binance, status: 'TRADING', baseAsset: base, baseAssetPrecision: 8, quoteAsset, quotePrecision: 8, quoteAssetPrecision: 8, filters };
    });
    const rateLimits = [
      { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: this.#o.weightLimit },
      { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61_000 },
    ];
    return usdm
      ? { timezone: 'UTC', serverTime: this.#now(), futuresType: 'U_MARGINED', rateLimits, exchangeFilters: [], assets: [], symbols }
      : { timezone: 'UTC', serverTime: this.#now(), rateLimits, exchangeFilters: [], symbols };
  }
}

/** Query parameters, checked for unknown names and duplicates. */
function readParams(url: URL, allowed: readonly string[]): Params {
  const params = new Map<string, string>();
  let unknown = 0;
  for (const [key, value] of url.searchParams) {
    if (params.has(key)) throw new RestError(400, -1101, `Duplicate values for parameter ${quote(key)}.`);
    if (!allowed.includes(key)) unknown++;
    params.set(key, value);
  }
  if (unknown > 0) {
    throw new RestError(400, -1104, `Not all sent parameters were read; read '${params.size - unknown}' parameter(s) but was sent '${params.size}'. Accepted here: ${allowed.join(', ') || 'none'}.`);
  }
  return params;
}

function required(params: Params, name: string): string {
  const value = params.get(name);
  if (value === undefined || value === '') throw new RestError(400, -1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
  return value;
}

function optionalInt(params: Params, name: string): number | undefined {
  const value = params.get(name);
  if (value === undefined) return undefined;
  if (!INTEGER.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new RestError(400, -1100, `Illegal characters found in parameter '${name}'; legal range is '^[0-9]{1,20}$'. Got ${quote(value)}.`);
  }
  return Number(value);
}

function invalidValue(name: string): RestError {
  return new RestError(400, -1130, `Data sent for parameter '${name}' is not valid.`);
}

/** USD-M depth serves 5, 10, 20, 50, 100, 500 or 1000 levels: the smallest of those >= the request. */
function futuresDepthLimit(limit: number): number {
  if (limit < 1) throw invalidValue('limit');
  return FUTURES_DEPTH_LIMITS.find((allowed) => allowed >= limit) ?? 1_000;
}
