export type { BinanceLiveParams } from './binance/binanceLive.js';
export { binanceLive, binanceLiveParams, binanceLiveSource } from './binance/binanceLive.js';
export { BinanceBookSync } from './binance/bookSync.js';
export { OrderBook } from './binance/orderBook.js';
export { BinanceRestClient, BinanceRestError } from './binance/rest.js';
export { fetchAggTradesFrom, fetchKlinesRange, KlineMerger, startWithHistory, TradeMerger } from './binance/backfill.js';
export type { BinanceFeed } from './binance/binanceUrls.js';
export { binanceFeedOfUrl, binanceRawStream } from './binance/binanceUrls.js';
export type {
  BinanceControl,
  BinanceFrameHandler,
  BinanceMarket,
  BinanceParser,
  BinanceParserOptions,
  BinanceRecord,
  BinanceRequestId,
} from './binance/parse.js';
export { createBinanceParser } from './binance/parse.js';
export { canonicalFromBinance } from './binance/payloads.js';
export type { DropReporter } from './dropReporter.js';
export { createDropReporter } from './dropReporter.js';
export type { EmitRecordsOptions } from './emitRecords.js';
export { emitRecords } from './emitRecords.js';
export type { BinanceKlinesCsvOptions } from './replay/klinesCsv.js';
export { binanceKlinesCsv, binanceKlinesCsvParams, binanceKlinesCsvSource } from './replay/klinesCsv.js';
export type { LineBatch } from './replay/readLines.js';
export { readLines } from './replay/readLines.js';
export type { FormatOptions, InvalidLine, ReadEntry, ReadRecordingOptions, RecordingEntry, RecordingFormat } from './replay/recording.js';
export {
  detectFormat,
  formatRecordingLine,
  parseRecordingLine,
  readRecording,
  RECORDING_FORMAT,
  RECORDING_VERSION,
  recordingHeader,
} from './replay/recording.js';
export type { ReplayFileOptions, ReplayType } from './replay/replayFile.js';
export { REPLAY_TYPES, replayFile, replayFileParams, replayFileSource } from './replay/replayFile.js';
export { builtinSources } from './registry.js';
export type { SimulatorRun, SimulatorRunOptions } from './simulator/createSimulatorRun.js';
export { createSimulatorRun } from './simulator/createSimulatorRun.js';
export type { HistoryRange, MarketSimulatorOptions, MarketSimulatorParams, SimulatedJump } from './simulator/marketSimulator.js';
export { DEFAULT_MAX_HISTORY, MarketSimulator, marketSimulatorParams } from './simulator/marketSimulator.js';
export { SeededRandom } from './simulator/seededRandom.js';
export type { SimulatorCandlesInput, SimulatorCandlesParams } from './simulator/simulatorCandles.js';
export { simulatorCandles, simulatorCandlesParams, simulatorCandlesSource } from './simulator/simulatorCandles.js';
export type { SimulatorTradesInput, SimulatorTradesParams } from './simulator/simulatorTrades.js';
export { simulatorTrades, simulatorTradesParams, simulatorTradesSource } from './simulator/simulatorTrades.js';
export type { ConnectionHandler, ConnectionProtocol, ConnectionStatus } from './live/connection.js';
export { ManagedConnection } from './live/connection.js';
export type { ConnectionTiming } from './live/timing.js';
export { FAST_TIMING, PRODUCTION_TIMING } from './live/timing.js';
export { krakenLive, krakenLiveParams, krakenLiveSource } from './kraken/krakenLive.js';
export { coinbaseLive, coinbaseLiveParams, coinbaseLiveSource } from './coinbase/coinbaseLive.js';
