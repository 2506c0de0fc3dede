/**
 * The Binance frame parser used on the hot path, live and in replay: one `JSON.parse`, then
 * hand-written checks of exactly the rules in `payloads.ts` (no zod per frame; a property test
 * holds the two to the same verdicts), then one record object. A valid aggTrade frame allocates
 * nothing but its record.
 *
 * Results go to a handler rather than a return value, because one frame can hold several records
 * (`!markPrice@arr`) or a control message, and so that a drop carries its reason without a
 * wrapper object:
 *
 * ```ts
 * const parser = createBinanceParser({ market: 'spot' });
 * parser.parse(text, ctx.scheduler.now(), {
 *   record: (record) => subscriber.next(record),
 *   control: (message) => connection.onControl(message),
 *   drop: (reason, frame) => drops.drop(`binance ${url}`, reason, frame),
 * });
 * ```
 *
 * What each payload becomes (`tsEvent` is when it happened, by the venue's clock):
 *
 * | payload | record | tsEvent | notes |
 * |---|---|---|---|
 * | trade, aggTrade | `trade` | `T` (trade time) | `id` = `t` or `a`; `side` = `m ? 'sell' : 'buy'` (buyer is maker: the taker sold); USD-M trades with `X` other than MARKET are dropped |
 * | kline | `candle` | `E` | `interval` = `k.i`, `closed` = `k.x`, `quoteVolume` = `k.q`, `trades` = `k.n`, `takerBuyVolume` = `k.V` |
 * | bookTicker | `book-top` | USD-M `T`; spot has no time: the receive time | `updateId` = `u` |
 * | depthUpdate | `book-depth` diff | spot `E`, USD-M `T` | `firstUpdateId` = `U`, `lastUpdateId` = `u`, USD-M `prevUpdateId` = `pu`; USD-M `@depth<N>` streams are snapshots |
 * | spot partial depth | `book-depth` snapshot | the receive time | ids = `lastUpdateId`; symbol from the stream name |
 * | forceOrder | `liquidation` | `o.T` | `side` = `o.S`, `qty` = `o.q`, `filledQty` = `o.z`, `avgPrice` = `o.ap`, `status` = `o.X` |
 * | markPriceUpdate | `mark-price` | `E` | `indexPrice` = `i`, `fundingRate` = `r`, `nextFundingTime` = `T` (absent when `""`/0) |
 *
 * Venue is `binance` for spot and `binance-usdm` for USD-M futures.
 *
 * Fast path: trade and aggTrade frames, nearly all of the traffic, are first offered to a scanner
 * that reads the frame text in place ({@link TradeFrameScanner}, whose header gives the grammar).
 * The values it finds go through the same checks and conversions as below, and it builds the same
 * record with its fields in the same order. Whatever the scanner or a check does not accept
 * (a drop, an escape, a blank, an exponent, a duplicate key, ...) goes through `JSON.parse`, so
 * drops and their reasons always come from that path. `verifyFastPath` runs both paths on every
 * frame and throws an {@link InvariantError} when they disagree.
 */
import { InvariantError, quote } from '../../errors.js';
import type { BookDepth, BookTop, Candle, Level, Liquidation, MarkPrice, Trade } from '../../model/index.js';
import type { BinanceMarket } from './payloads.js';
import { canonicalFromBinance, DEFAULT_MAX_AHEAD_MS, EARLIEST_EVENT_TIME, PARTIAL_DEPTH_STREAM } from './payloads.js';
import { TradeFrameScanner } from './tradeFrameScanner.js';

export type { BinanceMarket } from './payloads.js';

/** The records a Binance frame can become. */
export type BinanceRecord = Trade | Candle | BookTop | BookDepth | Liquidation | MarkPrice;

/** Request ids of control messages: an integer, a string or null. */
export type BinanceRequestId = number | string | null;

/** A frame that is not market data but matters to the connection. */
export type BinanceControl =
  /** The answer to a SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS or property request. */
  | { readonly kind: 'reply'; readonly id: BinanceRequestId; readonly result: unknown }
  /** A control request was rejected (bad stream name, invalid JSON, ...). */
  | { readonly kind: 'error-reply'; readonly id: BinanceRequestId; readonly code: number; readonly msg: string }
  /** The server will close this connection soon: open a new one now. */
  | { readonly kind: 'server-shutdown'; readonly tsEvent: number };

/** Where a parser delivers what it found in a frame, in payload order. */
export interface BinanceFrameHandler {
  record(record: BinanceRecord): void;
  control(message: BinanceControl): void;
  /** The frame (or one element of an array payload) was dropped; `reason` names the field and the value. */
  drop(reason: string, frame: string): void;
}

export interface BinanceParserOptions {
  readonly market: BinanceMarket;
  /**
   * How far after its receive time an event time may lie (default one day). A virtual-time test
   * whose clock starts at 0 receives real frames "years early": set the clock, or this to Infinity.
   */
  readonly maxAheadMs?: number;
  /**
   * Reads trade and aggTrade frames without `JSON.parse` when their text allows it (default
   * true). The records are the same either way; false is for comparisons and for ruling the fast
   * path out when debugging.
   */
  readonly fastPath?: boolean;
  /**
   * Runs the fast path and the `JSON.parse` path on every frame and throws an `InvariantError`
   * when the fast path's record differs from the other's in any value or field order, or when it
   * accepted a frame that the other drops (default false). It delivers what the `JSON.parse` path
   * found. For tests, and for checking the fast path on a payload shape Binance has just changed.
   */
  readonly verifyFastPath?: boolean;
}

export interface BinanceParser {
  readonly market: BinanceMarket;
  /** `binance` or `binance-usdm`. */
  readonly venue: string;
  /**
   * Parses one frame received at `tsRecv` (epoch ms), delivering records, control messages and
   * drops to `out`. `stream` names the stream of a raw (non-combined) connection, when known; the
   * envelope's `stream` wins.
   */
  parse(frame: string, tsRecv: number, out: BinanceFrameHandler, stream?: string): void;
  /** How many frames the fast path has decoded; all others went through `JSON.parse`. */
  readonly fastPathFrames: number;
}

/** Creates a parser. It holds only a symbol cache: create one per connection or replay. */
export function createBinanceParser(options: BinanceParserOptions): BinanceParser {
  return createBinanceParserWithScanner(options, new TradeFrameScanner());
}

/**
 * {@link createBinanceParser} with the fast path's scanner given. A test seam only: tests pass a
 * deliberately broken scanner to check that `verifyFastPath` catches it.
 *
 * @internal
 */
export function createBinanceParserWithScanner(options: BinanceParserOptions, scanner: TradeFrameScanner): BinanceParser {
  const maxAheadMs = options.maxAheadMs ?? DEFAULT_MAX_AHEAD_MS;
  if (!(maxAheadMs >= 0)) throw new RangeError(`maxAheadMs ${quote(maxAheadMs)} must be a non-negative number of milliseconds`);
  const mode = options.verifyFastPath === true ? 'verify' : options.fastPath === false ? 'off' : 'on';
  return new FrameParser(options.market, maxAheadMs, scanner, mode);
}

/** What a frame delivered, in order: used to compare the two paths. */
export type FrameOutcome =
  | { readonly kind: 'record'; readonly record: BinanceRecord }
  | { readonly kind: 'control'; readonly message: BinanceControl }
  | { readonly kind: 'drop'; readonly reason: string };

/**
 * How the fast path's outcomes differ from the `JSON.parse` path's for the same frame, or
 * undefined when they are the same: the same kinds in the same order, records with the same keys
 * in the same order and the same values (`Object.is`, so 0 and -0 differ), drops with the same
 * reason.
 */
export function fastPathMismatch(fast: readonly FrameOutcome[], slow: readonly FrameOutcome[]): string | undefined {
  if (fast.length !== slow.length) return `the fast path delivered ${fast.length} outcomes, JSON.parse ${slow.length}: ${quote(fast)} vs ${quote(slow)}`;
  for (let i = 0; i < fast.length; i++) {
    const a = fast[i] as FrameOutcome;
    const b = slow[i] as FrameOutcome;
    const path = sameValue(a, b, '');
    if (path !== undefined) return `outcome ${i} differs at ${path === '' ? 'the top' : path}: fast ${quote(a)}, JSON.parse ${quote(b)}`;
  }
  return undefined;
}

/** The path (`.record.price`) of the first difference between two JSON-like values, or undefined. */
function sameValue(a: unknown, b: unknown, path: string): string | undefined {
  if (Object.is(a, b)) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return path;
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  if (aKeys.length !== bKeys.length) return `${path} (keys ${quote(aKeys)} vs ${quote(bKeys)})`;
  for (let i = 0; i < aKeys.length; i++) {
    const key = aKeys[i] as string;
    if (key !== bKeys[i]) return `${path} (keys ${quote(aKeys)} vs ${quote(bKeys)})`;
    const inner = sameValue((a as JsonObject)[key], (b as JsonObject)[key], `${path}.${key}`);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

/** Collects what a frame delivers, for the validation mode. */
class OutcomeCollector implements BinanceFrameHandler {
  readonly outcomes: FrameOutcome[] = [];

  record(record: BinanceRecord): void {
    this.outcomes.push({ kind: 'record', record });
  }

  control(message: BinanceControl): void {
    this.outcomes.push({ kind: 'control', message });
  }

  drop(reason: string): void {
    this.outcomes.push({ kind: 'drop', reason });
  }
}

type JsonObject = Record<string, unknown>;

/** A symbol cache larger than any venue's symbol list; cleared when a corrupt feed overflows it. */
const SYMBOL_CACHE_LIMIT = 10_000;

class FrameParser implements BinanceParser {
  readonly market: BinanceMarket;
  readonly venue: string;
  readonly #usdm: boolean;
  readonly #maxAheadMs: number;
  readonly #symbols = new Map<string, string | null>();
  /** The last symbol looked up and its canonical form. Empty, the cache answers "unrecognised". */
  #lastRaw = '';
  #lastSymbol: string | undefined = undefined;
  readonly #scanner: TradeFrameScanner;
  readonly #mode: 'on' | 'off' | 'verify';
  #fastPathFrames = 0;
  /** Latest time allowed for the frame being parsed. */
  #limit = 0;
  #tsRecv = 0;
  #frame = '';
  #stream: string | undefined;
  #out: BinanceFrameHandler = NO_HANDLER;

  constructor(market: BinanceMarket, maxAheadMs: number, scanner: TradeFrameScanner, mode: 'on' | 'off' | 'verify') {
    this.market = market;
    this.venue = market === 'spot' ? 'binance' : 'binance-usdm';
    this.#usdm = market === 'usdm';
    this.#maxAheadMs = maxAheadMs;
    this.#scanner = scanner;
    this.#mode = mode;
  }

  get fastPathFrames(): number {
    return this.#fastPathFrames;
  }

  parse(frame: string, tsRecv: number, out: BinanceFrameHandler, stream?: string): void {
    this.#tsRecv = tsRecv;
    this.#limit = tsRecv + this.#maxAheadMs;
    if (this.#mode === 'on') {
      if (!this.#fastTrade(frame, out)) this.#parseJson(frame, out, stream);
    } else if (this.#mode === 'off') {
      this.#parseJson(frame, out, stream);
    } else {
      this.#verify(frame, out, stream);
    }
  }

  /** Both paths; throws when the fast path accepted the frame and disagrees. Delivers the `JSON.parse` path's outcomes. */
  #verify(frame: string, out: BinanceFrameHandler, stream: string | undefined): void {
    const fast = new OutcomeCollector();
    const slow = new OutcomeCollector();
    const handled = this.#fastTrade(frame, fast);
    this.#parseJson(frame, slow, stream);
    if (handled) {
      const mismatch = fastPathMismatch(fast.outcomes, slow.outcomes);
      // The whole frame, not `quote`'s first 117 characters (that cut a trade frame before its
      // price): a frame the scanner accepted is at most 1024 ASCII characters.
      if (mismatch !== undefined) throw new InvariantError(`The Binance fast path disagrees with JSON.parse on frame ${JSON.stringify(frame)}: ${mismatch}`);
    }
    for (const outcome of slow.outcomes) {
      if (outcome.kind === 'record') out.record(outcome.record);
      else if (outcome.kind === 'control') out.control(outcome.message);
      else out.drop(outcome.reason, frame);
    }
  }

  /**
   * The fast path: a trade or aggTrade frame the scanner accepts, whose values pass the checks of
   * {@link #trade}, becomes the record {@link #trade} would build. False (nothing delivered) for
   * anything else, including every frame {@link #trade} would drop.
   */
  #fastTrade(frame: string, out: BinanceFrameHandler): boolean {
    const scan = this.#scanner;
    if (!scan.scan(frame)) return false;
    const id = scan.id;
    const tsEvent = scan.tradeTime;
    const price = decimalIn(frame, scan.priceStart, scan.priceEnd);
    const qty = decimalIn(frame, scan.qtyStart, scan.qtyEnd);
    if (!isId(id) || !(price > 0 && price < Infinity) || !(qty > 0 && qty < Infinity)) return false;
    if (!this.#time(scan.eventTime) || !this.#time(tsEvent)) return false;
    if (!scan.aggregate && scan.status === 'other') return false;
    const symbol = this.#symbolIn(frame, scan.symbolStart, scan.symbolEnd);
    if (symbol === undefined) return false;
    // Counted before delivery: a handler that throws has still been given the record.
    this.#fastPathFrames++;
    out.record({
      type: 'trade',
      venue: this.venue,
      symbol,
      tsEvent,
      tsRecv: this.#tsRecv,
      id,
      price,
      qty,
      side: scan.buyerIsMaker ? 'sell' : 'buy',
    });
    return true;
  }

  /** The `JSON.parse` path: every frame the fast path does not take. */
  #parseJson(frame: string, out: BinanceFrameHandler, stream: string | undefined): void {
    let value: unknown;
    try {
      value = JSON.parse(frame);
    } catch (err) {
      out.drop(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`, frame);
      return;
    }
    this.#frame = frame;
    this.#out = out;
    this.#stream = stream;
    try {
      if (typeof value !== 'object' || value === null) {
        this.#drop(`not a JSON object: ${quote(value)}`);
      } else if (Array.isArray(value)) {
        this.#array(value);
      } else {
        this.#object(value as JsonObject);
      }
    } finally {
      this.#out = NO_HANDLER;
      this.#frame = '';
    }
  }

  #drop(reason: string): boolean {
    this.#out.drop(reason, this.#frame);
    return false;
  }

  #object(frame: JsonObject): boolean {
    const stream = frame.stream;
    if (stream !== undefined) {
      if (typeof stream !== 'string') return this.#drop(`bad envelope: "stream" is not a string: ${quote(stream)}`);
      const data = frame.data;
      if (typeof data !== 'object' || data === null) return this.#drop(`bad envelope: "data" is not an object or array: ${quote(data)}`);
      this.#stream = stream;
      if (Array.isArray(data)) return this.#array(data);
      return this.#payload(data as JsonObject);
    }
    if ('id' in frame && ('result' in frame || 'error' in frame)) return this.#reply(frame);
    return this.#payload(frame);
  }

  #array(items: readonly unknown[]): boolean {
    let ok = true;
    for (const item of items) {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) ok = this.#drop(`not a JSON object: ${quote(item)}`);
      else if (!this.#payload(item as JsonObject)) ok = false;
    }
    return ok;
  }

  #payload(p: JsonObject): boolean {
    const e = p.e;
    switch (e) {
      case 'aggTrade':
        return this.#trade(p, 'aggTrade', p.a, 'a');
      case 'trade':
        return this.#trade(p, 'trade', p.t, 't');
      case 'depthUpdate':
        return this.#depth(p);
      case 'kline':
        return this.#kline(p);
      case 'serverShutdown':
        return this.#shutdown(p);
      case undefined:
        if (!this.#usdm) {
          if ('lastUpdateId' in p) return this.#partialDepth(p);
          if ('u' in p) return this.#bookTicker(p, 'bookTicker');
        }
        return this.#drop(`unsupported payload without an event type: ${quote(Object.keys(p))}`);
      default:
        if (this.#usdm) {
          if (e === 'bookTicker') return this.#bookTicker(p, 'bookTicker');
          if (e === 'markPriceUpdate') return this.#markPrice(p);
          if (e === 'forceOrder') return this.#forceOrder(p);
        }
        return this.#drop(`unsupported event ${quote(e)}`);
    }
  }

  #trade(p: JsonObject, event: string, id: unknown, idField: string): boolean {
    const tsEvent = p.T;
    const price = decimal(p.p);
    const qty = decimal(p.q);
    const m = p.m;
    if (!isId(id)) return this.#drop(problem(event, idField, 'is not a non-negative integer', id));
    if (!(price > 0 && price < Infinity)) return this.#drop(problem(event, 'p', 'is not a positive decimal', p.p));
    if (!(qty > 0 && qty < Infinity)) return this.#drop(problem(event, 'q', 'is not a positive decimal', p.q));
    if (typeof m !== 'boolean') return this.#drop(problem(event, 'm', 'is not a boolean', m));
    if (!this.#time(p.E) || !this.#time(tsEvent)) return this.#timeProblem(event, p, ['E', 'T']);
    const x = p.X;
    if (x !== undefined && x !== 'MARKET' && event === 'trade') return this.#drop(`not a market trade: ${quote(x)}`);
    const symbol = this.#symbol(p.s);
    if (symbol === undefined) return this.#symbolProblem(event, 's', p.s);
    this.#out.record({
      type: 'trade',
      venue: this.venue,
      symbol,
      tsEvent: tsEvent,
      tsRecv: this.#tsRecv,
      id,
      price,
      qty,
      side: m ? 'sell' : 'buy',
    });
    return true;
  }

  #kline(p: JsonObject): boolean {
    const k = p.k;
    if (typeof k !== 'object' || k === null || Array.isArray(k)) return this.#drop(problem('kline', 'k', 'is not an object', k));
    const bar = k as JsonObject;
    const open = decimal(bar.o);
    const high = decimal(bar.h);
    const low = decimal(bar.l);
    const close = decimal(bar.c);
    const volume = decimal(bar.v);
    const quoteVolume = decimal(bar.q);
    const takerBuyVolume = decimal(bar.V);
    const { t: openTime, T: closeTime, i: interval, n: trades, x: closed } = bar;
    const pricesOk = open > 0 && open < Infinity && high > 0 && high < Infinity && low > 0 && low < Infinity && close > 0 && close < Infinity;
    const volumesOk = volume >= 0 && volume < Infinity && quoteVolume >= 0 && quoteVolume < Infinity && takerBuyVolume >= 0 && takerBuyVolume < Infinity;
    if (!pricesOk || !volumesOk) return this.#drop(decimalsProblem('kline', bar, 'k.', ['o', 'h', 'l', 'c'], ['v', 'q', 'V']));
    if (!isId(trades)) return this.#drop(problem('kline', 'k.n', 'is not a non-negative integer', trades));
    if (typeof closed !== 'boolean') return this.#drop(problem('kline', 'k.x', 'is not a boolean', closed));
    if (typeof interval !== 'string' || interval === '') return this.#drop(problem('kline', 'k.i', 'is not an interval', interval));
    if (!this.#time(p.E)) return this.#timeProblem('kline', p, ['E']);
    if (!this.#time(openTime)) return this.#timeProblem('kline', bar, ['t'], 'k.');
    if (!isInteger(closeTime) || closeTime <= openTime) {
      return this.#drop(problem('kline', 'k.T', 'is not an integer after the open time', closeTime));
    }
    if (!(low <= open && low <= close && high >= open && high >= close)) {
      return this.#drop(`kline low and high do not bound open and close: ${quote({ o: bar.o, h: bar.h, l: bar.l, c: bar.c })}`);
    }
    const symbol = this.#symbol(p.s);
    if (symbol === undefined) return this.#symbolProblem('kline', 's', p.s);
    this.#out.record({
      type: 'candle',
      venue: this.venue,
      symbol,
      tsEvent: p.E,
      tsRecv: this.#tsRecv,
      interval,
      openTime,
      closeTime,
      open,
      high,
      low,
      close,
      volume,
      quoteVolume,
      trades,
      takerBuyVolume,
      closed,
    });
    return true;
  }

  #bookTicker(p: JsonObject, event: string): boolean {
    const bidPrice = decimal(p.b);
    const bidQty = decimal(p.B);
    const askPrice = decimal(p.a);
    const askQty = decimal(p.A);
    const updateId = p.u;
    if (!isId(updateId)) return this.#drop(problem(event, 'u', 'is not a non-negative integer', updateId));
    if (!(bidPrice > 0 && bidPrice < Infinity)) return this.#drop(problem(event, 'b', 'is not a positive decimal', p.b));
    if (!(bidQty >= 0 && bidQty < Infinity)) return this.#drop(problem(event, 'B', 'is not a non-negative decimal', p.B));
    if (!(askPrice > 0 && askPrice < Infinity)) return this.#drop(problem(event, 'a', 'is not a positive decimal', p.a));
    if (!(askQty >= 0 && askQty < Infinity)) return this.#drop(problem(event, 'A', 'is not a non-negative decimal', p.A));
    if (!(bidPrice < askPrice)) return this.#drop(`crossed book: bid ${quote(p.b)} is not below ask ${quote(p.a)}`);
    let tsEvent = this.#tsRecv;
    if (this.#usdm) {
      if (!this.#time(p.E) || !this.#time(p.T)) return this.#timeProblem(event, p, ['E', 'T']);
      tsEvent = p.T;
    }
    const symbol = this.#symbol(p.s);
    if (symbol === undefined) return this.#symbolProblem(event, 's', p.s);
    this.#out.record({
      type: 'book-top',
      venue: this.venue,
      symbol,
      tsEvent,
      tsRecv: this.#tsRecv,
      bidPrice,
      bidQty,
      askPrice,
      askQty,
      updateId,
    });
    return true;
  }

  #depth(p: JsonObject): boolean {
    const { U: first, u: last, pu: prev } = p;
    if (!isId(first)) return this.#drop(problem('depthUpdate', 'U', 'is not a non-negative integer', first));
    if (!isId(last)) return this.#drop(problem('depthUpdate', 'u', 'is not a non-negative integer', last));
    if (first > last) return this.#drop(`depthUpdate first update id ${quote(first)} is after the last ${quote(last)}`);
    const bids = levels(p.b);
    if (bids === undefined) return this.#drop(levelsProblem('depthUpdate', 'b', p.b));
    const asks = levels(p.a);
    if (asks === undefined) return this.#drop(levelsProblem('depthUpdate', 'a', p.a));
    if (!this.#time(p.E)) return this.#timeProblem('depthUpdate', p, ['E']);
    const symbol = this.#symbol(p.s);
    if (symbol === undefined) return this.#symbolProblem('depthUpdate', 's', p.s);
    if (!this.#usdm) {
      this.#out.record({
        type: 'book-depth',
        venue: this.venue,
        symbol,
        tsEvent: p.E,
        tsRecv: this.#tsRecv,
        firstUpdateId: first,
        lastUpdateId: last,
        bids,
        asks,
        snapshot: false,
      });
      return true;
    }
    if (!this.#time(p.T)) return this.#timeProblem('depthUpdate', p, ['T']);
    if (!isInteger(prev)) return this.#drop(problem('depthUpdate', 'pu', 'is not an integer', prev));
    const record: BookDepth = {
      type: 'book-depth',
      venue: this.venue,
      symbol,
      tsEvent: p.T,
      tsRecv: this.#tsRecv,
      firstUpdateId: first,
      lastUpdateId: last,
      prevUpdateId: prev,
      bids,
      asks,
      snapshot: this.#stream !== undefined && PARTIAL_DEPTH_STREAM.test(this.#stream),
    };
    this.#out.record(record);
    return true;
  }

  #partialDepth(p: JsonObject): boolean {
    const id = p.lastUpdateId;
    if (!isId(id)) return this.#drop(problem('partial depth', 'lastUpdateId', 'is not a non-negative integer', id));
    const bids = levels(p.bids);
    if (bids === undefined) return this.#drop(levelsProblem('partial depth', 'bids', p.bids));
    const asks = levels(p.asks);
    if (asks === undefined) return this.#drop(levelsProblem('partial depth', 'asks', p.asks));
    const stream = this.#stream;
    if (stream === undefined) return this.#drop('partial depth without a stream name: its symbol is unknown');
    const at = stream.indexOf('@');
    const raw = (at < 0 ? stream : stream.slice(0, at)).toUpperCase();
    const symbol = this.#symbol(raw);
    if (symbol === undefined) return this.#drop(`unrecognised symbol in stream name: ${quote(stream)}`);
    this.#out.record({
      type: 'book-depth',
      venue: this.venue,
      symbol,
      tsEvent: this.#tsRecv,
      tsRecv: this.#tsRecv,
      firstUpdateId: id,
      lastUpdateId: id,
      bids,
      asks,
      snapshot: true,
    });
    return true;
  }

  #forceOrder(p: JsonObject): boolean {
    const o = p.o;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return this.#drop(problem('forceOrder', 'o', 'is not an object', o));
    const order = o as JsonObject;
    const side = order.S;
    const qty = decimal(order.q);
    const price = decimal(order.p);
    const avgPrice = decimal(order.ap);
    const filledQty = decimal(order.z);
    const status = order.X;
    if (side !== 'BUY' && side !== 'SELL') return this.#drop(problem('forceOrder', 'o.S', 'is not BUY or SELL', side));
    if (!(qty > 0 && qty < Infinity)) return this.#drop(problem('forceOrder', 'o.q', 'is not a positive decimal', order.q));
    if (!(price > 0 && price < Infinity)) return this.#drop(problem('forceOrder', 'o.p', 'is not a positive decimal', order.p));
    if (!(avgPrice >= 0 && avgPrice < Infinity)) return this.#drop(problem('forceOrder', 'o.ap', 'is not a non-negative decimal', order.ap));
    if (!(filledQty >= 0 && filledQty < Infinity)) return this.#drop(problem('forceOrder', 'o.z', 'is not a non-negative decimal', order.z));
    if (typeof status !== 'string' || status === '') return this.#drop(problem('forceOrder', 'o.X', 'is not an order status', status));
    if (!this.#time(p.E)) return this.#timeProblem('forceOrder', p, ['E']);
    if (!this.#time(order.T)) return this.#timeProblem('forceOrder', order, ['T'], 'o.');
    const symbol = this.#symbol(order.s);
    if (symbol === undefined) return this.#symbolProblem('forceOrder', 'o.s', order.s);
    this.#out.record({
      type: 'liquidation',
      venue: this.venue,
      symbol,
      tsEvent: order.T,
      tsRecv: this.#tsRecv,
      side: side === 'SELL' ? 'sell' : 'buy',
      price,
      avgPrice,
      qty,
      filledQty,
      status,
    });
    return true;
  }

  #markPrice(p: JsonObject): boolean {
    const markPrice = decimal(p.p);
    if (!(markPrice > 0 && markPrice < Infinity)) return this.#drop(problem('markPriceUpdate', 'p', 'is not a positive decimal', p.p));
    const i = p.i;
    const indexPrice = i === undefined || i === '' ? undefined : decimal(i);
    if (indexPrice !== undefined && !(indexPrice > 0 && indexPrice < Infinity)) {
      return this.#drop(problem('markPriceUpdate', 'i', 'is not a positive decimal', i));
    }
    const r = p.r;
    const fundingRate = r === undefined || r === '' ? undefined : signedDecimal(r);
    if (fundingRate !== undefined && !(Math.abs(fundingRate) < Infinity)) return this.#drop(problem('markPriceUpdate', 'r', 'is not a decimal', r));
    const t = p.T;
    if (t !== undefined && t !== 0 && !(isInteger(t) && t >= EARLIEST_EVENT_TIME)) {
      return this.#drop(problem('markPriceUpdate', 'T', 'is not a funding time', t));
    }
    if (!this.#time(p.E)) return this.#timeProblem('markPriceUpdate', p, ['E']);
    const symbol = this.#symbol(p.s);
    if (symbol === undefined) return this.#symbolProblem('markPriceUpdate', 's', p.s);
    const record: { -readonly [K in keyof MarkPrice]: MarkPrice[K] } = {
      type: 'mark-price',
      venue: this.venue,
      symbol,
      tsEvent: p.E,
      tsRecv: this.#tsRecv,
      markPrice,
    };
    if (indexPrice !== undefined) record.indexPrice = indexPrice;
    if (fundingRate !== undefined) record.fundingRate = fundingRate;
    if (isInteger(t) && t !== 0) record.nextFundingTime = t;
    this.#out.record(record);
    return true;
  }

  #shutdown(p: JsonObject): boolean {
    if (!this.#time(p.E)) return this.#timeProblem('serverShutdown', p, ['E']);
    this.#out.control({ kind: 'server-shutdown', tsEvent: p.E });
    return true;
  }

  #reply(frame: JsonObject): boolean {
    const id = frame.id;
    if (!isRequestId(id)) return this.#drop(problem('reply', 'id', 'is not an integer, string or null', id));
    if ('error' in frame) {
      const error = frame.error;
      if (typeof error !== 'object' || error === null || Array.isArray(error)) return this.#drop(problem('error reply', 'error', 'is not an object', error));
      const { code, msg } = error as JsonObject;
      if (!isInteger(code)) return this.#drop(problem('error reply', 'error.code', 'is not an integer', code));
      if (typeof msg !== 'string') return this.#drop(problem('error reply', 'error.msg', 'is not a string', msg));
      this.#out.control({ kind: 'error-reply', id, code, msg });
      return true;
    }
    this.#out.control({ kind: 'reply', id, result: frame.result });
    return true;
  }

  /** True for an integer epoch-ms time from 2017 to the receive time plus the allowed lead. */
  #time(value: unknown): value is number {
    return isInteger(value) && value >= EARLIEST_EVENT_TIME && value <= this.#limit;
  }

  /** Drops for the first of `fields` that is not a valid time. */
  #timeProblem(event: string, p: JsonObject, fields: readonly string[], prefix = ''): boolean {
    for (const field of fields) {
      const value = p[field];
      if (this.#time(value)) continue;
      if (isInteger(value) && value > this.#limit) {
        return this.#drop(
          `${event} field "${prefix}${field}" is more than ${formatMs(this.#maxAheadMs)} after the receive time ${this.#tsRecv}: ${quote(value)}`,
        );
      }
      return this.#drop(problem(event, `${prefix}${field}`, 'is not an epoch-ms time from 2017 on', value));
    }
    return this.#drop(`${event} has an invalid time`);
  }

  /** The canonical symbol of a raw Binance symbol, cached; undefined when not recognised. */
  #symbol(raw: unknown): string | undefined {
    // Initially '' -> undefined: an empty symbol is unrecognised. (With '' -> '' a new parser's
    // first frame could carry `"s":""` and yield a record with an empty symbol.)
    if (raw === this.#lastRaw) return this.#lastSymbol;
    if (typeof raw !== 'string') return undefined;
    let symbol = this.#symbols.get(raw);
    if (symbol === undefined) {
      symbol = canonicalFromBinance(raw) ?? null;
      if (this.#symbols.size >= SYMBOL_CACHE_LIMIT) this.#symbols.clear();
      this.#symbols.set(raw, symbol);
    }
    if (symbol === null) return undefined;
    this.#lastRaw = raw;
    this.#lastSymbol = symbol;
    return symbol;
  }

  /** {@link #symbol} of the characters `start` to `end` of `text`; no allocation when it is the last symbol seen. */
  #symbolIn(text: string, start: number, end: number): string | undefined {
    const last = this.#lastRaw;
    const length = end - start;
    if (length === last.length) {
      let i = 0;
      while (i < length && text.charCodeAt(start + i) === last.charCodeAt(i)) i++;
      if (i === length) return this.#lastSymbol;
    }
    return this.#symbol(text.slice(start, end));
  }

  #symbolProblem(event: string, field: string, raw: unknown): boolean {
    return this.#drop(typeof raw === 'string' ? `unrecognised symbol: ${quote(raw)}` : problem(event, field, 'is not a symbol', raw));
  }
}

const NO_HANDLER: BinanceFrameHandler = {
  record: () => undefined,
  control: () => undefined,
  drop: () => undefined,
};

/** `aggTrade field "p" is not a positive decimal: "abc"`; a missing field says so. */
function problem(event: string, field: string, rule: string, value: unknown): string {
  return value === undefined ? `${event} field "${field}" is missing` : `${event} field "${field}" ${rule}: ${quote(value)}`;
}

/** Names the first of `prices` (> 0) or `quantities` (>= 0) that is not such a decimal. */
function decimalsProblem(event: string, p: JsonObject, prefix: string, prices: readonly string[], quantities: readonly string[]): string {
  for (const field of prices) {
    const value = decimal(p[field]);
    if (!(value > 0 && value < Infinity)) return problem(event, prefix + field, 'is not a positive decimal', p[field]);
  }
  for (const field of quantities) {
    const value = decimal(p[field]);
    if (!(value >= 0 && value < Infinity)) return problem(event, prefix + field, 'is not a non-negative decimal', p[field]);
  }
  return `${event} has an invalid decimal`;
}

function levelsProblem(event: string, field: string, value: unknown): string {
  if (!Array.isArray(value)) return problem(event, field, 'is not a list of levels', value);
  const index = value.findIndex((level) => !isLevel(level));
  return `${event} field "${field}" has a bad level at index ${index}: ${quote(value[index])}`;
}

function isRequestId(value: unknown): value is BinanceRequestId {
  return value === null || typeof value === 'string' || isInteger(value);
}

/** A safe integer (zod's `int()`): larger integers cannot be told apart in a double. */
function isInteger(value: unknown): value is number {
  return Number.isSafeInteger(value);
}

function isId(value: unknown): value is number {
  return isInteger(value) && value >= 0;
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22] as const;

/**
 * The number in an unsigned dec-string (`/^[0-9]+(\.[0-9]+)?$/`), or NaN for anything else,
 * including what `Number()` would accept but Binance never sends (`""`, `" 1"`, `"1e3"`, `"0x10"`).
 *
 * The loop that checks the characters also accumulates the digits. With at most 2^53 - 1 as the
 * digit string's integer value and at most 22 decimals, `mantissa / 10^decimals` divides two exact
 * doubles once, so it is the correctly rounded value, bit for bit what `Number()` returns
 * (Clinger's fast path), at well under half the cost. Longer strings fall back to `Number()`.
 */
function decimal(value: unknown): number {
  if (typeof value !== 'string') return NaN;
  return decimalIn(value, 0, value.length);
}

/**
 * {@link decimal} of the characters `start` to `end` of `text`, without copying them unless the
 * `Number()` fallback needs them. The fast path reads the prices of a frame in place with it.
 */
function decimalIn(text: string, start: number, end: number): number {
  if (end <= start) return NaN;
  let mantissa = 0;
  let point = -1;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code >= 48 && code <= 57) {
      mantissa = mantissa * 10 + (code - 48);
      continue;
    }
    // A point needs a digit before it (every earlier character was one) and at least one after.
    if (code === 46 && point < 0 && i > start && i < end - 1) {
      point = i;
      continue;
    }
    return NaN;
  }
  const decimals = point < 0 ? 0 : end - 1 - point;
  if (mantissa <= Number.MAX_SAFE_INTEGER && decimals < POW10.length) return mantissa / (POW10[decimals] as number);
  return start === 0 && end === text.length ? +text : +text.slice(start, end);
}

/** Like {@link decimal}, with an optional leading minus. */
function signedDecimal(value: unknown): number {
  if (typeof value === 'string' && value.charCodeAt(0) === 45) return -decimal(value.slice(1));
  return decimal(value);
}

function isLevel(level: unknown): boolean {
  if (!Array.isArray(level) || level.length < 2) return false;
  const price = decimal(level[0]);
  const qty = decimal(level[1]);
  return price > 0 && price < Infinity && qty >= 0 && qty < Infinity;
}

/** Levels as `[price, qty]` numbers, or undefined when any level is bad. */
function levels(value: unknown): Level[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: Level[] = new Array<Level>(value.length);
  for (let i = 0; i < value.length; i++) {
    const level: unknown = value[i];
    if (!Array.isArray(level) || level.length < 2) return undefined;
    const price = decimal(level[0]);
    const qty = decimal(level[1]);
    if (!(price > 0 && price < Infinity && qty >= 0 && qty < Infinity)) return undefined;
    out[i] = [price, qty];
  }
  return out;
}

function formatMs(ms: number): string {
  if (ms === Infinity) return 'forever';
  if (ms % 86_400_000 === 0) return ms === 86_400_000 ? '1 day' : `${ms / 86_400_000} days`;
  return `${ms} ms`;
}
