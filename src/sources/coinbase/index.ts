export type { BookApplyResult, BookTopLevels, CoinbaseBookState, ResyncDecision, ResyncPolicyOptions } from './book.js';
export { checkResyncPolicy, CoinbaseBook, decideResync, ResyncPolicy } from './book.js';
export type { CoinbaseLiveChannel, CoinbaseLiveOptions, CoinbaseLiveParams } from './coinbaseLive.js';
export { COINBASE_LIVE_CHANNELS, coinbaseLive, coinbaseLiveParams, coinbaseLiveSource } from './coinbaseLive.js';
export type { CoinbaseDataChannel, CoinbaseProtocolOptions, CoinbaseStreamKey } from './coinbaseProtocol.js';
export {
  COINBASE_CONTROL_PER_SECOND,
  COINBASE_HEARTBEAT_DEADLINE_MS,
  COINBASE_HEARTBEATS,
  COINBASE_WS_URL,
  coinbaseProtocol,
  coinbaseStallDeadlineMs,
  coinbaseStream,
  parseCoinbaseStream,
} from './coinbaseProtocol.js';
export type { CoinbaseChannel, CoinbaseRequest, CoinbaseRequestInput } from './messages.js';
export {
  COINBASE_CHANNELS,
  COINBASE_MESSAGE_CHANNEL,
  coinbaseProductId,
  CoinbaseRequestSchema,
  coinbaseResubscribeBook,
  coinbaseSubscribe,
  coinbaseUnsubscribe,
  isCoinbaseChannel,
} from './messages.js';
export type {
  CoinbaseControl,
  CoinbaseFrameHandler,
  CoinbaseParser,
  CoinbaseParserOptions,
  CoinbaseRecord,
  CoinbaseSequenceScope,
  CoinbaseTradeSide,
} from './parse.js';
export { COINBASE_DEFAULT_MAX_AHEAD_MS, COINBASE_EARLIEST_EVENT_TIME, COINBASE_VENUE, createCoinbaseParser, parseRfc3339 } from './parse.js';
