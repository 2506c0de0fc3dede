/**
 * The Binance payloads alphaflow reads, spot and USD-M futures, as zod schemas (protocols.md §1.3,
 * §1.4, §2.2). These schemas are the specification: the hot-path parser (`parse.ts`) checks the
 * same rules by hand, without zod, and a property test holds the two to accepting exactly the same
 * frames.
 *
 * Objects are loose: Binance adds fields (`nq`, `st`, `ps`, ...) and a parser must ignore them. A
 * schema lists the fields alphaflow relies on, each with the JSON type and the meaning it must
 * have:
 *
 * - a price is a dec-string (`"43000.01000000"`: digits, optionally a point and more digits) of a
 *   finite number > 0; a quantity is a dec-string >= 0 (a trade's > 0);
 * - ids are JSON integers >= 0 (safe integers: larger ones cannot be told apart in a double);
 * - event times are integer epoch ms, not before {@link EARLIEST_EVENT_TIME}; the parser also
 *   rejects a time more than `maxAheadMs` (one day by default) after the receive time, which a
 *   static schema cannot express;
 * - a symbol is letters and digits that {@link canonicalFromBinance} recognises (`BTCUSDT`);
 *   dated contracts (`BTCUSDT_240927`) have no canonical symbol yet and are rejected;
 * - a book ticker's bid is below its ask, a kline's low and high bound its open and close.
 *
 * How a frame is dispatched to a schema is described on {@link BINANCE_EVENTS}.
 */
import { z } from 'zod';
import { tryCanonicalSymbol } from '../../model/index.js';

/** 2017-01-01T00:00:00Z. Binance opened in July 2017: an earlier event time is corrupt. */
export const EARLIEST_EVENT_TIME = 1_483_228_800_000;

/** How far after its receive time an event time may lie by default: one day. */
export const DEFAULT_MAX_AHEAD_MS = 86_400_000;

/** A non-negative dec-string as Binance writes it: `0.00150000`, `43000`. No sign, exponent or blanks. */
export const UNSIGNED_DECIMAL = /^[0-9]+(\.[0-9]+)?$/;

/** A dec-string that may be negative (funding rates): `-0.00010000`. */
export const SIGNED_DECIMAL = /^-?[0-9]+(\.[0-9]+)?$/;

const BINANCE_SYMBOL = /^[A-Za-z0-9]+$/;

/**
 * The canonical symbol of a Binance symbol (`BTCUSDT` -> `BTC-USDT`, `btcusdt` from a stream name
 * too), or `undefined` when it is not letters and digits ending in a known quote asset.
 */
export function canonicalFromBinance(raw: string): string | undefined {
  return BINANCE_SYMBOL.test(raw) ? tryCanonicalSymbol(raw) : undefined;
}

/** A dec-string price: finite and > 0. */
export const PriceString = z.string().regex(UNSIGNED_DECIMAL).transform(Number).pipe(z.number().positive());
/** A dec-string quantity: finite and >= 0. */
export const QuantityString = z.string().regex(UNSIGNED_DECIMAL).transform(Number).pipe(z.number().nonnegative());
/** A dec-string quantity that must be > 0 (a trade's). */
export const PositiveQuantityString = z.string().regex(UNSIGNED_DECIMAL).transform(Number).pipe(z.number().positive());
/** A dec-string that may be negative (a funding rate). */
export const SignedDecimalString = z.string().regex(SIGNED_DECIMAL).transform(Number).pipe(z.number());
/**
 * Integer epoch ms, not before 2017. The parser also bounds every `EventTime` field by the receive
 * time plus `maxAheadMs` (see the module doc).
 */
export const EventTime = z.number().int().min(EARLIEST_EVENT_TIME);
/** A time that lies ahead by design (the next funding time): not before 2017, no upper bound. */
export const FundingTime = z.number().int().min(EARLIEST_EVENT_TIME);
/** A trade id, aggregate trade id or book update id. */
export const Id = z.number().int().nonnegative();
/** A Binance symbol that maps to a canonical one. */
export const SymbolString = z.string().refine((raw) => canonicalFromBinance(raw) !== undefined, 'unrecognised symbol');
/** One book level `[price, quantity]`; quantity 0 removes the level. Extra elements are ignored. */
export const LevelPayload = z.tuple([PriceString, QuantityString], z.unknown());

/** `<symbol>@trade`. On USD-M, `X` tells market trades from insurance-fund and ADL ones, which are not kept. */
export const TradePayload = z.looseObject({
  e: z.literal('trade'),
  E: EventTime,
  s: SymbolString,
  /** Trade id. */
  t: Id,
  p: PriceString,
  q: PositiveQuantityString,
  /** Trade time. */
  T: EventTime,
  /** Buyer is the maker: the taker sold. */
  m: z.boolean(),
  X: z.literal('MARKET').optional(),
});

/** `<symbol>@aggTrade`: one per taker order and price. `f`/`l` (first and last trade id) are not needed. */
export const AggTradePayload = z.looseObject({
  e: z.literal('aggTrade'),
  E: EventTime,
  s: SymbolString,
  /** Aggregate trade id. */
  a: Id,
  p: PriceString,
  q: PositiveQuantityString,
  T: EventTime,
  m: z.boolean(),
});

/** The `k` object of a kline: the bar as of the event, re-sent until `x` (closed) is true. */
export const KlineBarPayload = z
  .looseObject({
    /** Open time. */
    t: EventTime,
    /** Close time: open time + interval - 1. */
    T: z.number().int(),
    i: z.string().min(1),
    o: PriceString,
    h: PriceString,
    l: PriceString,
    c: PriceString,
    /** Base volume. */
    v: QuantityString,
    /** Quote volume. */
    q: QuantityString,
    /** Taker-buy base volume. */
    V: QuantityString,
    /** Number of trades. */
    n: z.number().int().nonnegative(),
    x: z.boolean(),
  })
  .refine((k) => k.T > k.t, 'close time is not after open time')
  .refine((k) => k.l <= k.o && k.l <= k.c && k.h >= k.o && k.h >= k.c, 'low and high do not bound open and close');

/** `<symbol>@kline_<interval>` (spot and USD-M). */
export const KlinePayload = z.looseObject({
  e: z.literal('kline'),
  E: EventTime,
  s: SymbolString,
  k: KlineBarPayload,
});

const bookTickerFields = {
  /** Book update id. */
  u: Id,
  s: SymbolString,
  b: PriceString,
  B: QuantityString,
  a: PriceString,
  A: QuantityString,
};

/** Spot `<symbol>@bookTicker`: no event type and no event time. */
export const SpotBookTickerPayload = z
  .looseObject({ e: z.never().optional(), ...bookTickerFields })
  .refine((t) => t.b < t.a, 'bid is not below ask');

/** USD-M `<symbol>@bookTicker`: with event and transaction times. */
export const UsdmBookTickerPayload = z
  .looseObject({ e: z.literal('bookTicker'), E: EventTime, T: EventTime, ...bookTickerFields })
  .refine((t) => t.b < t.a, 'bid is not below ask');

const depthFields = {
  e: z.literal('depthUpdate'),
  E: EventTime,
  s: SymbolString,
  /** First update id in the event. */
  U: Id,
  /** Last update id in the event. */
  u: Id,
  b: z.array(LevelPayload),
  a: z.array(LevelPayload),
};

/** Spot `<symbol>@depth[@100ms]`: a diff; quantities are absolute. */
export const SpotDepthPayload = z.looseObject(depthFields).refine((d) => d.U <= d.u, 'first update id is after the last');

/**
 * USD-M `<symbol>@depth[@500ms|@100ms]` (a diff) and `<symbol>@depth<5|10|20>` (the same shape
 * carrying the full top N levels: a snapshot, told apart by the stream name).
 */
export const UsdmDepthPayload = z
  .looseObject({
    ...depthFields,
    /** Transaction time. */
    T: EventTime,
    /** `u` of the previous event on this stream. */
    pu: z.number().int(),
  })
  .refine((d) => d.U <= d.u, 'first update id is after the last');

/** Spot `<symbol>@depth<5|10|20>[@100ms]`: a top-N snapshot with no event type, time or symbol (the stream names it). */
export const SpotPartialDepthPayload = z.looseObject({
  e: z.never().optional(),
  lastUpdateId: Id,
  bids: z.array(LevelPayload),
  asks: z.array(LevelPayload),
});

/** USD-M `<symbol>@forceOrder` / `!forceOrder@arr`: the latest liquidation of a symbol in a 1 s window. */
export const ForceOrderPayload = z.looseObject({
  e: z.literal('forceOrder'),
  E: EventTime,
  o: z.looseObject({
    s: SymbolString,
    /** Side of the liquidation order: SELL liquidates a long. */
    S: z.enum(['BUY', 'SELL']),
    /** Original quantity. */
    q: PositiveQuantityString,
    p: PriceString,
    /** Average fill price (0 before any fill). */
    ap: QuantityString,
    /** Order status. */
    X: z.string().min(1),
    /** Accumulated filled quantity. */
    z: QuantityString,
    /** Trade time. */
    T: EventTime,
  }),
});

/** USD-M `<symbol>@markPrice[@1s]` and the elements of `!markPrice@arr[@1s]`. */
export const MarkPriceUpdatePayload = z.looseObject({
  e: z.literal('markPriceUpdate'),
  E: EventTime,
  s: SymbolString,
  p: PriceString,
  /** Index price; an empty string counts as absent. */
  i: z.union([z.literal(''), PriceString]).optional(),
  /** Funding rate; `""` on delivery contracts (absent). */
  r: z.union([z.literal(''), SignedDecimalString]).optional(),
  /** Next funding time; 0 on delivery contracts (absent). */
  T: z.union([z.literal(0), FundingTime]).optional(),
});

/** `{"e":"serverShutdown","E":...}`: the server will close this connection; reconnect now. */
export const ServerShutdownPayload = z.looseObject({
  e: z.literal('serverShutdown'),
  E: EventTime,
});

/** The combined-stream envelope `{"stream":"btcusdt@aggTrade","data":{...}}` (`data` is an array for `!markPrice@arr`). */
export const EnvelopePayload = z.looseObject({
  stream: z.string(),
  data: z.union([z.looseObject({}), z.array(z.unknown())]),
});

/** A request id: a (signed 64-bit) integer, a string or null. */
export const ReplyId = z.union([z.number().int(), z.string(), z.null()]);

/** Answer to SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY. */
export const ReplyPayload = z.looseObject({ result: z.json(), id: ReplyId });

/** A rejected control message: `{"error":{"code":2,"msg":"Invalid request"},"id":1}`. */
export const ErrorReplyPayload = z.looseObject({
  error: z.looseObject({ code: z.number().int(), msg: z.string() }),
  id: ReplyId,
});

/** Markets alphaflow parses: Binance spot and USD-M futures. */
export type BinanceMarket = 'spot' | 'usdm';

/**
 * The payload schema for each event type (`e`) per market. A frame is dispatched like this:
 *
 * 1. It must be a JSON object or array.
 * 2. An object with a `stream` key is an envelope ({@link EnvelopePayload}); its `data` is the
 *    payload and `stream` names the stream. Otherwise the frame is the payload, and the stream is
 *    whatever the connection knows (a raw `/ws/<stream>` connection).
 * 3. Without an envelope, an object with an `id` key and a `result` or `error` key is a control
 *    reply ({@link ReplyPayload}, {@link ErrorReplyPayload}; `error` wins).
 * 4. An array payload is a list of payloads (`!markPrice@arr`), each dispatched on its own.
 * 5. An object payload with `e` uses this table, or {@link ServerShutdownPayload}; an `e` not in
 *    the table is an unsupported event.
 * 6. A spot payload without `e` is a partial depth snapshot when it has `lastUpdateId`
 *    ({@link SpotPartialDepthPayload}, symbol from the stream name), a book ticker when it has `u`
 *    ({@link SpotBookTickerPayload}), and unsupported otherwise. A USD-M payload without `e` is
 *    unsupported.
 */
export const BINANCE_EVENTS = {
  spot: {
    trade: TradePayload,
    aggTrade: AggTradePayload,
    kline: KlinePayload,
    depthUpdate: SpotDepthPayload,
  },
  usdm: {
    trade: TradePayload,
    aggTrade: AggTradePayload,
    kline: KlinePayload,
    depthUpdate: UsdmDepthPayload,
    bookTicker: UsdmBookTickerPayload,
    forceOrder: ForceOrderPayload,
    markPriceUpdate: MarkPriceUpdatePayload,
  },
} as const satisfies Record<BinanceMarket, Record<string, z.ZodType>>;

/** A USD-M stream that carries top-N snapshots in the diff shape: `btcusdt@depth5`, `btcusdt@depth20@100ms`. */
export const PARTIAL_DEPTH_STREAM = /@depth(5|10|20)(@|$)/;
