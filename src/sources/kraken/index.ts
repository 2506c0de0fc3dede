export type { ChecksumResult, KrakenBookInput, KrakenBookOptions, KrakenResyncLimiterOptions, KrakenTop, ResyncDecision } from './book.js';
export { KrakenBook, KrakenResyncLimiter } from './book.js';
export type { KrakenLevel, KrakenPrecision } from './checksum.js';
export { CHECKSUM_LEVELS, checksumToken, decimalText, krakenChecksum, krakenChecksumInput, krakenCrc32 } from './checksum.js';
export type { KrakenLiveOptions, KrakenLiveParams, KrakenLiveTap } from './krakenLive.js';
export { krakenLive, krakenLiveParams, krakenLiveSource } from './krakenLive.js';
export type { KrakenProtocolOptions, KrakenStreamChannel, KrakenStreamInfo } from './krakenProtocol.js';
export {
  isKrakenSnapshot,
  KRAKEN_BOOK_STALL_MS,
  KRAKEN_WS_URL,
  krakenProtocol,
  krakenReply,
  krakenStream,
  krakenStreamOf,
  parseKrakenStream,
} from './krakenProtocol.js';
export type {
  KrakenBookDepth,
  KrakenChannel,
  KrakenOhlcInterval,
  KrakenPingRequest,
  KrakenSubscribeRequest,
  KrakenSubscription,
  KrakenSubscriptionParams,
  KrakenTickerTrigger,
} from './messages.js';
export {
  KRAKEN_BOOK_DEPTHS,
  KRAKEN_CHANNELS,
  KRAKEN_OHLC_INTERVALS,
  krakenOhlcInterval,
  krakenPing,
  krakenSubscribe,
  krakenSymbol,
  krakenUnsubscribe,
} from './messages.js';
export type { JsonObject, JsonValue, KrakenBookMessage, KrakenControl, KrakenFrameHandler, KrakenParser, KrakenParserOptions, KrakenRecord } from './parse.js';
export { createKrakenParser, JsonNumber, KRAKEN_DEFAULT_MAX_AHEAD_MS, KRAKEN_EARLIEST_EVENT_TIME, readJson, rfc3339Ms } from './parse.js';
