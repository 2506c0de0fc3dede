export type { BookApplyResult, BookTopLevels, CoinbaseBookState, ResyncDecision, ResyncPolicyOptions } from './book.js';
export { checkResyncPolicy, CoinbaseBook, decideResync, ResyncPolicy } from './book.js';
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
