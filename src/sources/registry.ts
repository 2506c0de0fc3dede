import type { SourceDefinition } from '../definitions.js';
import { binanceLiveSource } from './binance/binanceLive.js';
import { coinbaseLiveSource } from './coinbase/coinbaseLive.js';
import { krakenLiveSource } from './kraken/krakenLive.js';
import { binanceKlinesCsvSource } from './replay/klinesCsv.js';
import { replayFileSource } from './replay/replayFile.js';
import { simulatorCandlesSource } from './simulator/simulatorCandles.js';
import { simulatorTradesSource } from './simulator/simulatorTrades.js';

/** Every built-in source, alphabetically by kind. Adding one: a file and a line here. */
export const builtinSources: readonly SourceDefinition[] = [binanceKlinesCsvSource, binanceLiveSource, coinbaseLiveSource, krakenLiveSource, replayFileSource, simulatorCandlesSource, simulatorTradesSource];
