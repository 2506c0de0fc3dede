/**
 * The normalized records that flow through alphaflow. Every record carries:
 *
 * - `type`: what it is (the discriminant);
 * - `venue`: where it came from (`binance`, `binance-usdm`, `coinbase`, `kraken`, `sim`, ...);
 * - `symbol`: the canonical symbol (`BTC-USDT`, see `symbols.ts`), so pipelines can join venues;
 * - `tsEvent`: venue time, epoch ms: when it happened;
 * - `tsRecv`: epoch ms from the injected scheduler when alphaflow received it (a replay keeps the
 *   recorded receive time, so replayed records equal the live ones).
 *
 * The zod schemas are the specification: venue parsers are property-tested against them, and
 * tests validate what operators emit. Types are derived from the schemas and are readonly.
 */
import { z } from 'zod';

const price = z.number().positive();
const quantity = z.number().nonnegative();
const epochMs = z.number().int().nonnegative();

const base = {
  venue: z.string().min(1),
  symbol: z.string().min(1),
  tsEvent: epochMs,
  tsRecv: epochMs,
};

/** Taker side of a trade: `buy` means the aggressor bought (an up-tick). */
export const SideSchema = z.enum(['buy', 'sell']);
export type Side = z.infer<typeof SideSchema>;

export const TradeSchema = z
  .object({
    type: z.literal('trade'),
    ...base,
    /** Venue trade id (Binance: the aggregate trade id for aggTrade, the trade id for trade). */
    id: z.number().int().nonnegative(),
    price,
    qty: z.number().positive(),
    side: SideSchema,
  })
  .readonly();
export type Trade = z.infer<typeof TradeSchema>;

export const CandleSchema = z
  .object({
    type: z.literal('candle'),
    ...base,
    interval: z.string(),
    /** Start of the bucket, epoch ms, UTC aligned. */
    openTime: epochMs,
    /** Last millisecond of the bucket: `openTime + intervalMs - 1` (Binance's convention). */
    closeTime: epochMs,
    open: price,
    high: price,
    low: price,
    close: price,
    /** Base-asset volume. */
    volume: quantity,
    /** Quote-asset volume, when the source knows it. */
    quoteVolume: quantity.optional(),
    /**
     * Number of trades, when the source knows it: the venue's count for venue klines; the number
     * of trade records for candles built from trades (aggregate trades when built from aggTrade).
     */
    trades: z.number().int().nonnegative().optional(),
    /** Base volume bought by takers, when the source knows it. */
    takerBuyVolume: quantity.optional(),
    /** False while the bar is forming; true once its interval has ended by event time or the venue says so. */
    closed: z.boolean(),
  })
  .readonly();
export type Candle = z.infer<typeof CandleSchema>;

export const BookTopSchema = z
  .object({
    type: z.literal('book-top'),
    ...base,
    bidPrice: price,
    bidQty: quantity,
    askPrice: price,
    askQty: quantity,
    /** Venue update id, when it has one. */
    updateId: z.number().int().nonnegative().optional(),
  })
  .readonly();
export type BookTop = z.infer<typeof BookTopSchema>;

/** One price level: `[price, quantity]`; quantity 0 removes the level. */
export const LevelSchema = z.tuple([price, quantity]).readonly();
export type Level = z.infer<typeof LevelSchema>;

export const BookDepthSchema = z
  .object({
    type: z.literal('book-depth'),
    ...base,
    /** First and last venue update id covered by this update (Binance `U`/`u`). */
    firstUpdateId: z.number().int().nonnegative(),
    lastUpdateId: z.number().int().nonnegative(),
    /** Last update id of the previous event on this stream (Binance futures `pu`). */
    prevUpdateId: z.number().int().optional(),
    /** Levels with absolute quantities; bids and asks in venue order. */
    bids: z.array(LevelSchema).readonly(),
    asks: z.array(LevelSchema).readonly(),
    /** True for a full snapshot (replaces the book), false for a diff. */
    snapshot: z.boolean(),
  })
  .readonly();
export type BookDepth = z.infer<typeof BookDepthSchema>;

export const LiquidationSchema = z
  .object({
    type: z.literal('liquidation'),
    ...base,
    /** Side of the liquidation order: `sell` means a long position was liquidated. */
    side: SideSchema,
    price,
    avgPrice: z.number().nonnegative(),
    qty: z.number().positive(),
    filledQty: quantity,
    status: z.string(),
  })
  .readonly();
export type Liquidation = z.infer<typeof LiquidationSchema>;

export const MarkPriceSchema = z
  .object({
    type: z.literal('mark-price'),
    ...base,
    markPrice: price,
    indexPrice: price.optional(),
    /** Current (predicted) funding rate per funding interval; absent on delivery contracts. */
    fundingRate: z.number().optional(),
    /** Next funding time, epoch ms; absent on delivery contracts. */
    nextFundingTime: epochMs.optional(),
  })
  .readonly();
export type MarkPrice = z.infer<typeof MarkPriceSchema>;

export const NewsItemSchema = z
  .object({
    type: z.literal('news'),
    ...base,
    /** Stable id from the feed (guid, id or url). */
    id: z.string().min(1),
    title: z.string(),
    body: z.string().optional(),
    url: z.string().optional(),
    /** Publisher, e.g. "CoinDesk". */
    source: z.string(),
    /** Assets the item is tagged with (`BTC`, `ETH`); `symbol` is the first of them or `*`. */
    assets: z.array(z.string()).readonly(),
  })
  .readonly();
export type NewsItem = z.infer<typeof NewsItemSchema>;

export const GreeksSchema = z
  .object({ delta: z.number(), gamma: z.number(), vega: z.number(), theta: z.number(), rho: z.number() })
  .readonly();
export type Greeks = z.infer<typeof GreeksSchema>;

export const OptionTickerSchema = z
  .object({
    type: z.literal('option-ticker'),
    ...base,
    /** Venue instrument name, e.g. `BTC-27DEC24-50000-C`. `symbol` is the underlying pair. */
    instrument: z.string(),
    underlying: z.string(),
    strike: price,
    /** Expiry, epoch ms. */
    expiry: epochMs,
    optionType: z.enum(['call', 'put']),
    markPrice: z.number().nonnegative(),
    underlyingPrice: price,
    markIv: z.number().nonnegative().optional(),
    bidPrice: z.number().nonnegative().optional(),
    askPrice: z.number().nonnegative().optional(),
    bidIv: z.number().nonnegative().optional(),
    askIv: z.number().nonnegative().optional(),
    openInterest: quantity.optional(),
    greeks: GreeksSchema.optional(),
  })
  .readonly();
export type OptionTicker = z.infer<typeof OptionTickerSchema>;

/** Named indicator values for one candle; `null` while an indicator warms up. */
export const FeatureValuesSchema = z.record(z.string(), z.number().nullable()).readonly();
export type FeatureValues = z.infer<typeof FeatureValuesSchema>;

export const FeaturesSchema = z
  .object({
    type: z.literal('features'),
    ...base,
    interval: z.string(),
    openTime: epochMs,
    closeTime: epochMs,
    /** Mirrors the candle: false for provisional values on a forming bar. */
    closed: z.boolean(),
    candle: CandleSchema,
    values: FeatureValuesSchema,
  })
  .readonly();
export type Features = z.infer<typeof FeaturesSchema>;

/** What a voter wants: `neutral` is an abstention. */
export const DirectionSchema = z.enum(['long', 'short', 'neutral']);
export type Direction = z.infer<typeof DirectionSchema>;

export const VoteSchema = z
  .object({
    type: z.literal('vote'),
    ...base,
    /** Name of the voter (the pipeline node id, or the voter kind when used as a library). */
    voter: z.string().min(1),
    direction: DirectionSchema,
    /** How sure the voter is, in [0, 1]; 0 for an abstention. */
    confidence: z.number().min(0).max(1),
    /** Human-readable reasons, e.g. "ema20 above ema50 by 0.42%". */
    reasons: z.array(z.string()).readonly(),
    interval: z.string(),
    openTime: epochMs,
    closeTime: epochMs,
    /** The features the vote was made on. */
    features: FeaturesSchema,
  })
  .readonly();
export type Vote = z.infer<typeof VoteSchema>;

/** A vote as it appears in a consensus or signal breakdown. */
export const VoteSummarySchema = z
  .object({
    voter: z.string(),
    direction: DirectionSchema,
    confidence: z.number().min(0).max(1),
    weight: z.number().nonnegative(),
    reasons: z.array(z.string()).readonly(),
  })
  .readonly();
export type VoteSummary = z.infer<typeof VoteSummarySchema>;

export const ConsensusSchema = z
  .object({
    type: z.literal('consensus'),
    ...base,
    interval: z.string(),
    openTime: epochMs,
    closeTime: epochMs,
    /** The agreed direction, or `neutral` when quorum or agreement was not reached. */
    direction: DirectionSchema,
    /** Weighted mean confidence of the agreeing voters, in [0, 1]; 0 when neutral. */
    confidence: z.number().min(0).max(1),
    /** Weight of the voters for the leading direction over the weight of all voters, in [0, 1]. */
    agreement: z.number().min(0).max(1),
    /** Number of voters for the leading direction. */
    agreeing: z.number().int().nonnegative(),
    /** Voters that had to agree. */
    quorum: z.number().int().positive(),
    /** Why the consensus is what it is, e.g. "3 of 3 voters long (quorum 3)". */
    reason: z.string(),
    votes: z.array(VoteSummarySchema).readonly(),
    features: FeaturesSchema,
  })
  .readonly();
export type Consensus = z.infer<typeof ConsensusSchema>;

export const SignalSchema = z
  .object({
    type: z.literal('signal'),
    ...base,
    /** Deterministic id: venue, symbol, interval, bar open time and direction. */
    id: z.string(),
    interval: z.string(),
    openTime: epochMs,
    closeTime: epochMs,
    direction: z.enum(['long', 'short']),
    confidence: z.number().min(0).max(1),
    /** Planned entry price (the close of the bar that produced the signal). */
    entry: price,
    stopLoss: price,
    takeProfit: price,
    /** Reward over risk per unit: |takeProfit - entry| / |entry - stopLoss|. */
    riskReward: z.number().positive(),
    /** Position size in base units. */
    size: z.number().positive(),
    /** size * entry, in quote units. */
    notional: z.number().positive(),
    /** Quote amount lost if the stop is hit: size * |entry - stopLoss|. */
    riskAmount: z.number().positive(),
    /** The ATR the stop distance was derived from. */
    atr: z.number().positive(),
    consensus: z
      .object({
        agreement: z.number().min(0).max(1),
        agreeing: z.number().int().nonnegative(),
        quorum: z.number().int().positive(),
        reason: z.string(),
      })
      .readonly(),
    votes: z.array(VoteSummarySchema).readonly(),
  })
  .readonly();
export type Signal = z.infer<typeof SignalSchema>;

export const SeveritySchema = z.enum(['info', 'warning', 'critical']);
export type Severity = z.infer<typeof SeveritySchema>;

export const AlertSchema = z
  .object({
    type: z.literal('alert'),
    ...base,
    id: z.string(),
    severity: SeveritySchema,
    /** The rule or node that raised it. */
    rule: z.string(),
    message: z.string(),
  })
  .readonly();
export type Alert = z.infer<typeof AlertSchema>;

/**
 * Data is missing between two points of a stream. `recoverable` tells whether the source will
 * backfill it (klines by start time, aggTrades by id) or whether it is lost for good.
 */
export const GapSchema = z
  .object({
    type: z.literal('gap'),
    ...base,
    /** Which stream, e.g. `trade`, `candle:1m`, `book-depth`. */
    stream: z.string(),
    /** First missing instant or id, when known. */
    from: z.number().optional(),
    /** Last missing instant or id, when known. */
    to: z.number().optional(),
    recoverable: z.boolean(),
    reason: z.string(),
  })
  .readonly();
export type Gap = z.infer<typeof GapSchema>;

export const StatusStateSchema = z.enum(['connecting', 'live', 'degraded', 'reconnecting', 'closed']);
export type StatusState = z.infer<typeof StatusStateSchema>;

/** The state of a source's connection or feed changed. */
export const StatusSchema = z
  .object({
    type: z.literal('status'),
    ...base,
    state: StatusStateSchema,
    detail: z.string(),
  })
  .readonly();
export type Status = z.infer<typeof StatusSchema>;

export const ControlEventSchema = z.discriminatedUnion('type', [GapSchema, StatusSchema]);
export type ControlEvent = Gap | Status;

export const MarketEventSchema = z.discriminatedUnion('type', [
  TradeSchema,
  CandleSchema,
  BookTopSchema,
  BookDepthSchema,
  LiquidationSchema,
  MarkPriceSchema,
  NewsItemSchema,
  OptionTickerSchema,
]);
export type MarketEvent = Trade | Candle | BookTop | BookDepth | Liquidation | MarkPrice | NewsItem | OptionTicker;

export const AnyEventSchema = z.discriminatedUnion('type', [
  TradeSchema,
  CandleSchema,
  BookTopSchema,
  BookDepthSchema,
  LiquidationSchema,
  MarkPriceSchema,
  NewsItemSchema,
  OptionTickerSchema,
  FeaturesSchema,
  VoteSchema,
  ConsensusSchema,
  SignalSchema,
  AlertSchema,
  GapSchema,
  StatusSchema,
]);
/** Every record type alphaflow emits. */
export type AnyEvent = MarketEvent | Features | Vote | Consensus | Signal | Alert | ControlEvent;
export type EventType = AnyEvent['type'];

/**
 * A stream of `T` interleaved with control events: sources put gaps and status changes in the
 * data stream, and operators pass them through in order.
 */
export type Flow<T> = T | ControlEvent;

/** True for gap and status records. */
export function isControl(event: AnyEvent): event is ControlEvent {
  return event.type === 'gap' || event.type === 'status';
}

/** What a sink did with one record. */
export const DeliverySchema = z
  .object({
    type: z.literal('delivery'),
    /** Sink node id (or sink kind when used as a library). */
    sink: z.string(),
    status: z.enum(['delivered', 'failed', 'dropped']),
    /** Type and id (or symbol) of the record delivered. */
    eventType: z.string(),
    eventId: z.string().optional(),
    /** Why it failed or was dropped. */
    detail: z.string().optional(),
  })
  .readonly();
export type Delivery = z.infer<typeof DeliverySchema>;

/** The data record types: what a stream between two nodes carries (besides control events). */
export const DATA_TYPES = [
  'trade',
  'candle',
  'book-top',
  'book-depth',
  'liquidation',
  'mark-price',
  'news',
  'option-ticker',
  'features',
  'vote',
  'consensus',
  'signal',
  'alert',
] as const satisfies readonly AnyEvent['type'][];

/** Every record type, for params that filter by type. */
export const EventTypeSchema = z.enum([...DATA_TYPES, 'gap', 'status']);
