/**
 * REST history stitched to live streams, without duplicates or holes (reliability.md §5 rule 7,
 * matrix rows D-05 and D-07): paged fetchers over {@link BinanceRestClient}, two pure mergers, and
 * {@link startWithHistory}, which hands klines over from history to live.
 *
 * **Paging.** {@link fetchKlinesRange} pages by `startTime` (pages of 1000 bars on spot, 1500 on
 * USD-M futures), the next page starting one interval after the last bar received; it stops at an
 * empty page, at a bar at or past the end of the range, or at a forming bar (nothing follows it).
 * A bar before the page's start (a server that returns the bar containing `startTime`) is one
 * already received and is skipped. {@link fetchAggTradesFrom} pages by `fromId` the same way, in
 * pages of 1000.
 *
 * **Mergers.** {@link KlineMerger} and {@link TradeMerger} are pure state machines: feed them live
 * records and REST answers in any interleaving, and they return what may be emitted, in order.
 * Each keeps a watermark, the next key to emit (a bar's open time, a trade id), and buffers what
 * arrives beyond it. Whatever is at the watermark is emitted as soon as it is final; a key below
 * the watermark is a duplicate, dropped and counted. `missing()` says which range REST must
 * fill: from the watermark to the last unresolved key before the newest key seen (ccxt's
 * `gapFillTrades`: live is buffered, REST fills `[lastDelivered + 1, firstLive)`, the result is
 * deduplicated and contiguous). A REST answer is authoritative for the range it covered: a key
 * in it that neither REST nor live has is settled there and then (see empty intervals below; a
 * trade id REST does not have is lost and becomes a `gap` record, never a silent hole).
 *
 * Klines are keyed by open time and upserted: a closed bar wins over a forming one, a later forming
 * update replaces an earlier one, a forming update for a bar already closed is ignored. A second
 * closed bar for the same bucket is a duplicate when it is equal (open, high, low, close, volume
 * and the optional counts); when it differs, a REST bar replaces the live one (REST is the
 * venue's stored record) and a conflict is counted. Only closed bars are emitted (forming ones too
 * with `emitForming`, for the bucket at the watermark only), strictly by open time.
 *
 * **Empty intervals.** A bucket without trades is served by Binance as a flat zero-volume bar, or
 * not at all (ccxt#8068; reliability.md §10). Both are handled and neither makes a fake hole: a
 * bucket inside a range REST covered that has no bar is an empty interval, counted, and either
 * skipped (`emptyIntervals: 'skip'`, the default: nothing is invented) or emitted as a flat bar at
 * the previous close with zero volume (`'flat'`, what `build-candles` makes). A live forming update
 * with zero volume for such a bucket agrees with it; one with volume does not, and the bucket
 * becomes a `gap` record (the bar existed but its final version cannot be had).
 *
 * **History to live hand-over ({@link startWithHistory}).** The live stream is subscribed first
 * and buffered in a {@link KlineMerger}; REST is read from `bucketStart(now - lookbackMs)` to the
 * current bucket. The rule at the boundary: every bucket before the first bar the live stream
 * delivers comes from REST; live owns that bucket and the later ones, except that a closed REST
 * bar may still settle a live bucket whose closing update was missed. In steps:
 *
 * 1. REST closed bars are final. REST's last bar is usually the current, forming one: it is held
 *    like a live forming update, and the range REST covered ends just before it.
 * 2. When live's first bar opens after the last bucket REST settled, the buckets in between are
 *    missing: REST is asked again for `[watermark, firstLive - interval]` (bars that closed while
 *    the first pages were read), as often as needed.
 * 3. When a later live bar arrives while an earlier bucket is unsettled (a reconnect lost its
 *    closing update, or whole bars), the same fill runs for that range, so later gaps heal too.
 * 4. Output: closed bars in open-time order, each exactly once; control events from the live
 *    stream pass through as they come. A range REST keeps answering with a forming bar is asked
 *    again after `stallDelayMs`, and after `maxStalls` tries it becomes a `gap` record.
 */
import { Observable } from 'rxjs';
import { InvariantError, SourceDataError, quote } from '../../errors.js';
import type { Candle, Flow, Gap, Trade } from '../../model/index.js';
import { bucketStart, canonicalSymbol, intervalMs, isControl } from '../../model/index.js';
import type { BinanceCallOptions, BinanceRestClient } from './rest.js';
import { BINANCE_REST_MARKETS } from './rest.js';

/** What {@link fetchKlinesRange} needs of a client. */
export type KlinesClient = Pick<BinanceRestClient, 'market' | 'klines'>;
/** What {@link fetchAggTradesFrom} needs of a client. */
export type AggTradesClient = Pick<BinanceRestClient, 'market' | 'aggTrades'>;
/** What {@link startWithHistory} needs of a client: klines, its clock and its sleep. */
export type HistoryClient = Pick<BinanceRestClient, 'market' | 'klines' | 'now' | 'sleep'>;

export interface PagingOptions extends BinanceCallOptions {
  /** Page size (default the most the market allows: klines 1000 spot / 1500 USD-M, aggTrades 1000). */
  readonly pageLimit?: number;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function integer(name: string, value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${name} ${quote(value)} must be an integer`);
  return value;
}

function pageLimit(name: string, value: number | undefined, max: number): number {
  const limit = value ?? max;
  if (!(Number.isSafeInteger(limit) && limit >= 1 && limit <= max)) throw new RangeError(`${name} pageLimit ${quote(limit)} must be an integer from 1 to ${max}`);
  return limit;
}

/**
 * The bars of `interval` opening in `[fromOpenTime, toOpenTime]` (epoch ms, both inclusive),
 * oldest first, each once, paged by `startTime`. The last one may be forming (`closed: false`).
 * Buckets Binance has no bar for (no trades) are simply absent.
 */
export async function fetchKlinesRange(
  client: KlinesClient,
  symbol: string,
  interval: string,
  fromOpenTime: number,
  toOpenTime: number,
  options: PagingOptions = {},
): Promise<Candle[]> {
  const ms = intervalMs(interval);
  const limit = pageLimit(`klines ${symbol} ${interval}`, options.pageLimit, BINANCE_REST_MARKETS[client.market].klinesMaxLimit);
  integer('fromOpenTime', fromOpenTime);
  integer('toOpenTime', toOpenTime);
  const out: Candle[] = [];
  let start = bucketStart(fromOpenTime + ms - 1, ms);
  while (start <= toOpenTime) {
    const page = await client.klines(symbol, interval, { startTime: start, endTime: toOpenTime, limit, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    let last: Candle | undefined;
    for (const bar of page) {
      if (bar.openTime < start || bar.openTime > toOpenTime) continue;
      out.push(bar);
      last = bar;
    }
    if (last === undefined || !last.closed || last.openTime >= toOpenTime) break;
    start = last.openTime + ms;
  }
  return out;
}

/**
 * Aggregate trades with ids in `[fromId, untilId)` (`untilId` exclusive: the first id not wanted,
 * typically the first live one), oldest first, each once, paged by `fromId`. Without `untilId`,
 * up to the latest. Ids Binance no longer has (or never had) are absent: compare to tell.
 */
export async function fetchAggTradesFrom(
  client: AggTradesClient,
  symbol: string,
  fromId: number,
  untilId?: number,
  options: PagingOptions = {},
): Promise<Trade[]> {
  const max = pageLimit(`aggTrades ${symbol}`, options.pageLimit, BINANCE_REST_MARKETS[client.market].aggTradesMaxLimit);
  if (!(Number.isSafeInteger(fromId) && fromId >= 0)) throw new RangeError(`fromId ${quote(fromId)} must be an integer >= 0`);
  if (untilId !== undefined) integer('untilId', untilId);
  const out: Trade[] = [];
  let next = fromId;
  while (untilId === undefined || next < untilId) {
    const limit = untilId === undefined ? max : Math.min(max, untilId - next);
    const page = await client.aggTrades(symbol, { fromId: next, limit, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    const last = page.at(-1);
    if (last === undefined) break;
    if (last.id < next) throw new SourceDataError(`${client.market} aggTrades ${symbol}`, `page from id ${next} ended at id ${last.id}: it did not advance`);
    for (const trade of page) {
      if (trade.id >= next && (untilId === undefined || trade.id < untilId)) out.push(trade);
    }
    next = last.id + 1;
    if (untilId === undefined && page.length < limit) break;
  }
  return out;
}

/** What to do with a bucket REST covered without a bar. */
export type EmptyIntervalPolicy = 'skip' | 'flat';

export interface KlineMergerOptions {
  readonly venue: string;
  /** Canonical symbol. */
  readonly symbol: string;
  readonly interval: string;
  /** Open time of the first bar wanted; without it, the first bar or REST range fed decides. */
  readonly from?: number;
  /** Default `skip`. */
  readonly emptyIntervals?: EmptyIntervalPolicy;
  /** Also emit forming updates of the bucket at the watermark (default false). */
  readonly emitForming?: boolean;
  /** Most buckets held beyond the watermark (default 100 000); more is a stuck backfill and throws. */
  readonly maxBuffered?: number;
}

export interface KlineMergerStats {
  /** Closed bars emitted, flat fills included. */
  readonly emitted: number;
  /** Closed bars dropped: their bucket was already emitted, or an equal closed bar was held. */
  readonly duplicates: number;
  /** Closed bars that differed from the closed bar held for their bucket, or REST-covered buckets where only live saw trades. */
  readonly conflicts: number;
  /** Forming updates ignored because their bucket had closed. */
  readonly lateForming: number;
  /** Buckets REST covered without a bar (skipped, or emitted flat). */
  readonly emptyIntervals: number;
  /** Buckets given up and reported as gaps. */
  readonly abandoned: number;
  /** Buckets held beyond the watermark now. */
  readonly buffered: number;
}

/** A range of bar open times, both inclusive. */
export interface OpenTimeRange {
  readonly from: number;
  readonly to: number;
}

interface Bucket {
  closed: Candle | undefined;
  forming: Candle | undefined;
  formingSent: boolean;
}

const DEFAULT_MAX_BUFFERED = 100_000;

function sameOptional(a: number | undefined, b: number | undefined): boolean {
  return a === undefined || b === undefined || a === b;
}

/** Equal bars: the same prices and volume, and the same optional counts where both have them. */
function sameBar(a: Candle, b: Candle): boolean {
  return (
    a.open === b.open &&
    a.high === b.high &&
    a.low === b.low &&
    a.close === b.close &&
    a.volume === b.volume &&
    sameOptional(a.quoteVolume, b.quoteVolume) &&
    sameOptional(a.trades, b.trades) &&
    sameOptional(a.takerBuyVolume, b.takerBuyVolume)
  );
}

/** Merges live klines and REST history by open time; see the module doc. */
export class KlineMerger {
  readonly venue: string;
  readonly symbol: string;
  readonly interval: string;
  readonly intervalMs: number;
  readonly #policy: EmptyIntervalPolicy;
  readonly #emitForming: boolean;
  readonly #maxBuffered: number;
  readonly #buckets = new Map<number, Bucket>();
  #next: number | undefined;
  /** Newest open time seen (live or REST). */
  #latest: number | undefined;
  /** REST is authoritative for buckets up to here (from the watermark). */
  #coveredTo = Number.NEGATIVE_INFINITY;
  #lastClose: number | undefined;
  #lastRecv = 0;
  #emitted = 0;
  #duplicates = 0;
  #conflicts = 0;
  #lateForming = 0;
  #empty = 0;
  #abandoned = 0;

  constructor(options: KlineMergerOptions) {
    this.venue = options.venue;
    this.symbol = options.symbol;
    this.interval = options.interval;
    this.intervalMs = intervalMs(options.interval);
    this.#policy = options.emptyIntervals ?? 'skip';
    this.#emitForming = options.emitForming ?? false;
    this.#maxBuffered = options.maxBuffered ?? DEFAULT_MAX_BUFFERED;
    if (!(Number.isSafeInteger(this.#maxBuffered) && this.#maxBuffered > 0)) throw new RangeError(`maxBuffered ${quote(options.maxBuffered)} must be a positive integer`);
    if (options.from !== undefined) this.#next = bucketStart(integer('from', options.from) + this.intervalMs - 1, this.intervalMs);
  }

  /** Open time of the next bar to emit (the watermark), once known. */
  get next(): number | undefined {
    return this.#next;
  }

  get stats(): KlineMergerStats {
    return {
      emitted: this.#emitted,
      duplicates: this.#duplicates,
      conflicts: this.#conflicts,
      lateForming: this.#lateForming,
      emptyIntervals: this.#empty,
      abandoned: this.#abandoned,
      buffered: this.#buckets.size,
    };
  }

  /** A live bar (forming or closed). Returns what may be emitted now, in order. */
  live(candle: Candle): Flow<Candle>[] {
    this.#check(candle, 'live');
    this.#next ??= candle.openTime;
    this.#put(candle, false);
    const out: Flow<Candle>[] = [];
    this.#drainInto(out);
    this.#headInto(out);
    return out;
  }

  /**
   * Bars REST returned, and the range it covered: REST is authoritative for every bucket of
   * `covered` up to its first forming bar, when the range starts at or before the watermark.
   * Returns what may be emitted now, in order.
   */
  history(candles: readonly Candle[], covered: OpenTimeRange): Flow<Candle>[] {
    integer('covered.from', covered.from);
    integer('covered.to', covered.to);
    for (const candle of candles) this.#check(candle, 'REST');
    this.#next ??= bucketStart(covered.from + this.intervalMs - 1, this.intervalMs);
    const covering = covered.from <= this.#next;
    const sorted = [...candles].sort((a, b) => a.openTime - b.openTime);
    let to = covered.to;
    for (const candle of sorted) {
      if (!candle.closed && candle.openTime - this.intervalMs < to) to = candle.openTime - this.intervalMs;
    }
    // Bar by bar, so a long history is emitted as it is settled instead of being held whole:
    // once a bar is in, REST has said everything about the buckets up to it (and not yet about
    // later ones, where a held live bar may still be replaced by REST's).
    const out: Flow<Candle>[] = [];
    for (const candle of sorted) {
      this.#put(candle, true);
      if (covering && candle.closed) this.#cover(Math.min(candle.openTime, to));
      this.#drainInto(out, candle.openTime);
    }
    if (covering) this.#cover(to);
    this.#drainInto(out);
    this.#headInto(out);
    return out;
  }

  /**
   * The range REST must fill: from the watermark to the last unsettled bucket before the newest
   * bucket seen; undefined when nothing is missing (the watermark is the newest bucket, or none).
   */
  missing(): OpenTimeRange | undefined {
    const next = this.#next;
    const latest = this.#latest;
    if (next === undefined || latest === undefined || latest <= next) return undefined;
    let to = latest - this.intervalMs;
    while (to > next && this.#buckets.get(to)?.closed !== undefined) to -= this.intervalMs;
    return { from: next, to };
  }

  /**
   * Gives up on the buckets up to `to` that are still unsettled: each run of them becomes a `gap`
   * record (not recoverable) with `reason`; closed bars among them are emitted in order.
   */
  abandon(to: number, reason: string): Flow<Candle>[] {
    const out: Flow<Candle>[] = [];
    const ms = this.intervalMs;
    let next = this.#next;
    if (next === undefined) return out;
    while (next <= to) {
      const closed = this.#buckets.get(next)?.closed;
      if (closed !== undefined) {
        this.#emit(closed, out);
        next += ms;
        continue;
      }
      const runStart = next;
      while (next <= to && this.#buckets.get(next)?.closed === undefined) {
        this.#buckets.delete(next);
        next += ms;
      }
      this.#abandoned += (next - runStart) / ms;
      out.push(this.#gap(runStart, next - ms, reason));
    }
    this.#next = next;
    this.#drainInto(out);
    this.#headInto(out);
    return out;
  }

  #check(candle: Candle, source: string): void {
    if (candle.venue !== this.venue || candle.symbol !== this.symbol || candle.interval !== this.interval) {
      throw new InvariantError(
        `KlineMerger for ${this.venue} ${this.symbol} ${this.interval} got a ${source} bar of ${quote(candle.venue)} ${quote(candle.symbol)} ${quote(candle.interval)}`,
      );
    }
    if (candle.openTime % this.intervalMs !== 0 || candle.closeTime !== candle.openTime + this.intervalMs - 1) {
      throw new InvariantError(`KlineMerger ${this.symbol} ${this.interval} got a ${source} bar with open time ${quote(candle.openTime)} and close time ${quote(candle.closeTime)}, not one aligned bucket`);
    }
    if (candle.tsRecv > this.#lastRecv) this.#lastRecv = candle.tsRecv;
  }

  #put(candle: Candle, fromRest: boolean): void {
    const openTime = candle.openTime;
    if (this.#latest === undefined || openTime > this.#latest) this.#latest = openTime;
    if (this.#next !== undefined && openTime < this.#next) {
      if (candle.closed) this.#duplicates++;
      else this.#lateForming++;
      return;
    }
    let bucket = this.#buckets.get(openTime);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxBuffered) {
        throw new InvariantError(
          `KlineMerger ${this.symbol} ${this.interval} holds ${this.#buckets.size} buckets waiting for ${iso(this.#next ?? openTime)}: is the backfill stuck? (maxBuffered ${this.#maxBuffered})`,
        );
      }
      bucket = { closed: undefined, forming: undefined, formingSent: false };
      this.#buckets.set(openTime, bucket);
    }
    if (!candle.closed) {
      if (bucket.closed !== undefined) {
        this.#lateForming++;
      } else {
        bucket.forming = candle;
        bucket.formingSent = false;
      }
      return;
    }
    if (bucket.closed === undefined) {
      bucket.closed = candle;
      bucket.forming = undefined;
    } else if (sameBar(bucket.closed, candle)) {
      this.#duplicates++;
    } else {
      this.#conflicts++;
      if (fromRest) bucket.closed = candle;
    }
  }

  #cover(to: number): void {
    if (to > this.#coveredTo) this.#coveredTo = to;
  }

  /** Emits the settled buckets from the watermark on, up to `limit`. */
  #drainInto(out: Flow<Candle>[], limit = Number.POSITIVE_INFINITY): void {
    const ms = this.intervalMs;
    let next = this.#next;
    if (next === undefined) return;
    while (next <= limit) {
      const bucket = this.#buckets.get(next);
      if (bucket?.closed !== undefined) {
        this.#emit(bucket.closed, out);
      } else if (next <= this.#coveredTo) {
        this.#buckets.delete(next);
        const forming = bucket?.forming;
        if (forming !== undefined && forming.volume > 0) {
          this.#conflicts++;
          this.#abandoned++;
          out.push(this.#gap(next, next, `REST history has no bar for ${iso(next)}, but the live stream saw volume ${forming.volume} in it`));
        } else {
          this.#empty++;
          if (this.#policy === 'flat' && this.#lastClose !== undefined) this.#emit(this.#flat(next, this.#lastClose), out);
        }
      } else {
        break;
      }
      next += ms;
      this.#next = next;
    }
  }

  /** With `emitForming`, the latest forming update of the bucket at the watermark, once. */
  #headInto(out: Flow<Candle>[]): void {
    if (!this.#emitForming || this.#next === undefined) return;
    const head = this.#buckets.get(this.#next);
    if (head?.forming !== undefined && !head.formingSent) {
      head.formingSent = true;
      out.push(head.forming);
    }
  }

  #emit(candle: Candle, out: Flow<Candle>[]): void {
    this.#buckets.delete(candle.openTime);
    this.#lastClose = candle.close;
    this.#emitted++;
    out.push(candle);
  }

  #flat(openTime: number, price: number): Candle {
    const end = openTime + this.intervalMs;
    return {
      type: 'candle',
      venue: this.venue,
      symbol: this.symbol,
      tsEvent: end,
      tsRecv: this.#lastRecv,
      interval: this.interval,
      openTime,
      closeTime: end - 1,
      open: price,
      high: price,
      low: price,
      close: price,
      volume: 0,
      quoteVolume: 0,
      trades: 0,
      takerBuyVolume: 0,
      closed: true,
    };
  }

  #gap(from: number, to: number, reason: string): Gap {
    return {
      type: 'gap',
      venue: this.venue,
      symbol: this.symbol,
      tsEvent: to + this.intervalMs,
      tsRecv: this.#lastRecv,
      stream: `candle:${this.interval}`,
      from,
      to,
      recoverable: false,
      reason: `${this.symbol} ${this.interval} bars ${iso(from)} to ${iso(to)} given up: ${reason}`,
    };
  }
}

export interface TradeMergerOptions {
  readonly venue: string;
  /** Canonical symbol. */
  readonly symbol: string;
  /** First trade id wanted; without it, the first trade or REST range fed decides. */
  readonly fromId?: number;
  /** Most trades held beyond the watermark (default 1 000 000); more is a stuck backfill and throws. */
  readonly maxBuffered?: number;
}

export interface TradeMergerStats {
  readonly emitted: number;
  /** Trades dropped because their id was already emitted or held. */
  readonly duplicates: number;
  /** Ids REST covered without a trade: reported as gaps. */
  readonly lost: number;
  /** Trades held beyond the watermark now. */
  readonly buffered: number;
}

/** A range of trade ids: `fromId` inclusive, `untilId` exclusive. */
export interface TradeIdRange {
  readonly fromId: number;
  readonly untilId: number;
}

/** Merges live aggregate trades and REST history by id; see the module doc. */
export class TradeMerger {
  readonly venue: string;
  readonly symbol: string;
  readonly #maxBuffered: number;
  readonly #buffer = new Map<number, Trade>();
  #next: number | undefined;
  /** Smallest buffered id, or undefined when unknown (recomputed when needed). */
  #minBuffered: number | undefined;
  #lastRecv = 0;
  #lastTime = 0;
  #emitted = 0;
  #duplicates = 0;
  #lost = 0;

  constructor(options: TradeMergerOptions) {
    this.venue = options.venue;
    this.symbol = options.symbol;
    this.#maxBuffered = options.maxBuffered ?? 1_000_000;
    if (!(Number.isSafeInteger(this.#maxBuffered) && this.#maxBuffered > 0)) throw new RangeError(`maxBuffered ${quote(options.maxBuffered)} must be a positive integer`);
    if (options.fromId !== undefined) {
      if (!(Number.isSafeInteger(options.fromId) && options.fromId >= 0)) throw new RangeError(`fromId ${quote(options.fromId)} must be an integer >= 0`);
      this.#next = options.fromId;
    }
  }

  /** The next id to emit (the watermark), once known. */
  get next(): number | undefined {
    return this.#next;
  }

  get stats(): TradeMergerStats {
    return { emitted: this.#emitted, duplicates: this.#duplicates, lost: this.#lost, buffered: this.#buffer.size };
  }

  /** A live trade. Returns what may be emitted now, in id order. */
  live(trade: Trade): Flow<Trade>[] {
    this.#check(trade, 'live');
    this.#next ??= trade.id;
    this.#put(trade);
    const out: Flow<Trade>[] = [];
    this.#drainInto(out, Number.NEGATIVE_INFINITY);
    return out;
  }

  /**
   * Trades REST returned for `covered` (ids `[fromId, untilId)`): REST is authoritative there when
   * the range starts at or before the watermark, so an id in it that neither side has is lost and
   * reported as a `gap` record. Returns what may be emitted now, in id order.
   */
  history(trades: readonly Trade[], covered: TradeIdRange): Flow<Trade>[] {
    integer('covered.fromId', covered.fromId);
    integer('covered.untilId', covered.untilId);
    for (const trade of trades) this.#check(trade, 'REST');
    this.#next ??= covered.fromId;
    const covering = covered.fromId <= this.#next;
    const out: Flow<Trade>[] = [];
    // Trade by trade, so a long history is emitted as it is settled instead of being held whole.
    for (const trade of [...trades].sort((a, b) => a.id - b.id)) {
      this.#put(trade);
      this.#drainInto(out, covering ? Math.min(trade.id, covered.untilId) : Number.NEGATIVE_INFINITY);
    }
    this.#drainInto(out, covering ? covered.untilId : Number.NEGATIVE_INFINITY);
    return out;
  }

  /** The ids REST must fill, `[watermark, first buffered id)`, or undefined when nothing is missing. */
  missing(): TradeIdRange | undefined {
    const next = this.#next;
    const first = this.#firstBuffered();
    if (next === undefined || first === undefined || first <= next) return undefined;
    return { fromId: next, untilId: first };
  }

  #check(trade: Trade, source: string): void {
    if (trade.venue !== this.venue || trade.symbol !== this.symbol) {
      throw new InvariantError(`TradeMerger for ${this.venue} ${this.symbol} got a ${source} trade of ${quote(trade.venue)} ${quote(trade.symbol)}`);
    }
    if (trade.tsRecv > this.#lastRecv) this.#lastRecv = trade.tsRecv;
  }

  #put(trade: Trade): void {
    const id = trade.id;
    if ((this.#next !== undefined && id < this.#next) || this.#buffer.has(id)) {
      this.#duplicates++;
      return;
    }
    if (this.#buffer.size >= this.#maxBuffered) {
      throw new InvariantError(`TradeMerger ${this.symbol} holds ${this.#buffer.size} trades waiting for id ${quote(this.#next)}: is the backfill stuck? (maxBuffered ${this.#maxBuffered})`);
    }
    this.#buffer.set(id, trade);
    if (this.#minBuffered !== undefined && id < this.#minBuffered) this.#minBuffered = id;
    if (this.#buffer.size === 1) this.#minBuffered = id;
  }

  #firstBuffered(): number | undefined {
    if (this.#buffer.size === 0) return undefined;
    if (this.#minBuffered === undefined) {
      let min = Number.POSITIVE_INFINITY;
      for (const id of this.#buffer.keys()) if (id < min) min = id;
      this.#minBuffered = min;
    }
    return this.#minBuffered;
  }

  /** Emits from the watermark; ids below `lostUntil` that nobody has are reported lost. */
  #drainInto(out: Flow<Trade>[], lostUntil: number): void {
    let next = this.#next;
    if (next === undefined) return;
    for (;;) {
      const trade = this.#buffer.get(next);
      if (trade !== undefined) {
        this.#buffer.delete(next);
        if (this.#minBuffered === next) this.#minBuffered = undefined;
        this.#emitted++;
        this.#lastTime = trade.tsEvent;
        out.push(trade);
        next++;
      } else if (next < lostUntil) {
        const end = Math.min(lostUntil, this.#firstBuffered() ?? lostUntil);
        if (end <= next) throw new InvariantError(`TradeMerger ${this.symbol}: the first buffered id ${end} is not after the watermark ${next}`);
        this.#lost += end - next;
        out.push(this.#gap(next, end - 1));
        next = end;
      } else {
        break;
      }
      this.#next = next;
    }
  }

  #gap(from: number, to: number): Gap {
    const count = to - from + 1;
    return {
      type: 'gap',
      venue: this.venue,
      symbol: this.symbol,
      tsEvent: this.#lastTime,
      tsRecv: this.#lastRecv,
      stream: 'trade',
      from,
      to,
      recoverable: false,
      reason: `${count === 1 ? `aggregate trade id ${from} is` : `aggregate trade ids ${from} to ${to} are`} in neither the live stream nor REST history: lost`,
    };
  }
}

export interface StartWithHistoryOptions {
  readonly client: HistoryClient;
  /** `BTC-USDT` or `BTCUSDT`. */
  readonly symbol: string;
  readonly interval: string;
  /** How far back history starts from the client's clock: 3 days is `3 * 86_400_000`. */
  readonly lookbackMs: number;
  /** Default `skip`; see the module doc. */
  readonly emptyIntervals?: EmptyIntervalPolicy;
  /** Also emit the forming updates of the bar after the last closed one (default false). */
  readonly emitForming?: boolean;
  /** Tries of a range REST answers without progress, before it becomes a gap (default 3). */
  readonly maxStalls?: number;
  /** Wait between those tries, ms (default 1000). */
  readonly stallDelayMs?: number;
  /** Called once when the subscription ends (complete, error or unsubscribe) with the merge counters. */
  readonly onStats?: (stats: KlineMergerStats) => void;
}

/**
 * REST klines from `lookbackMs` ago, then the live bars of `live$`, as one stream of closed bars in
 * open-time order with an exact hand-over (the rule is in the module doc). Control events of
 * `live$` pass through. Completes when `live$` completes and nothing is left to fill; REST errors
 * (after the client's retries) error the stream. Unsubscribing aborts any request or wait.
 */
export function startWithHistory(live$: Observable<Flow<Candle>>, options: StartWithHistoryOptions): Observable<Flow<Candle>> {
  const { client, interval } = options;
  const ms = intervalMs(interval);
  const symbol = canonicalSymbol(options.symbol);
  const maxStalls = options.maxStalls ?? 3;
  const stallDelayMs = options.stallDelayMs ?? 1_000;
  if (!(Number.isSafeInteger(options.lookbackMs) && options.lookbackMs >= 0)) throw new RangeError(`lookbackMs ${quote(options.lookbackMs)} must be an integer >= 0`);
  if (!(Number.isSafeInteger(maxStalls) && maxStalls >= 1)) throw new RangeError(`maxStalls ${quote(maxStalls)} must be a positive integer`);
  if (!(stallDelayMs >= 0)) throw new RangeError(`stallDelayMs ${quote(stallDelayMs)} must be >= 0`);
  const venue = BINANCE_REST_MARKETS[client.market].venue;

  return new Observable<Flow<Candle>>((subscriber) => {
    const now = client.now();
    const from = bucketStart(now - options.lookbackMs, ms);
    const merger = new KlineMerger({
      venue,
      symbol,
      interval,
      from,
      ...(options.emptyIntervals === undefined ? {} : { emptyIntervals: options.emptyIntervals }),
      ...(options.emitForming === undefined ? {} : { emitForming: options.emitForming }),
    });
    const abort = new AbortController();
    const signal = abort.signal;
    let fetching = false;
    let liveDone = false;
    const emit = (items: readonly Flow<Candle>[]): void => {
      for (const item of items) subscriber.next(item);
    };

    const fill = async (initial: boolean): Promise<void> => {
      if (initial) {
        const bars = await fetchKlinesRange(client, symbol, interval, from, bucketStart(client.now(), ms), { signal });
        emit(merger.history(bars, { from, to: bars.at(-1)?.openTime ?? from - ms }));
      }
      let stalls = 0;
      for (let range = merger.missing(); range !== undefined && !signal.aborted; range = merger.missing()) {
        const bars = await fetchKlinesRange(client, symbol, interval, range.from, range.to, { signal });
        emit(merger.history(bars, range));
        if ((merger.next ?? range.from) > range.from) {
          stalls = 0;
        } else if (++stalls >= maxStalls) {
          emit(merger.abandon(range.to, `REST answered ${stalls} times without settling ${iso(range.from)}`));
          stalls = 0;
        } else {
          await client.sleep(stallDelayMs, signal);
        }
      }
    };
    const start = (initial: boolean): void => {
      fetching = true;
      fill(initial).then(
        () => {
          fetching = false;
          // A live bar may have opened a new range after the loop's last look.
          if (merger.missing() !== undefined) start(false);
          else if (liveDone) subscriber.complete();
        },
        (err: unknown) => {
          if (!signal.aborted) subscriber.error(err);
        },
      );
    };

    fetching = true;
    const liveSubscription = live$.subscribe({
      next: (item) => {
        if (isControl(item)) {
          subscriber.next(item);
          return;
        }
        emit(merger.live(item));
        if (!fetching && merger.missing() !== undefined) start(false);
      },
      error: (err: unknown) => {
        subscriber.error(err);
      },
      complete: () => {
        liveDone = true;
        if (!fetching) subscriber.complete();
      },
    });
    start(true);

    return () => {
      abort.abort(new Error(`startWithHistory ${symbol} ${interval} unsubscribed`));
      liveSubscription.unsubscribe();
      options.onStats?.(merger.stats);
    };
  });
}
