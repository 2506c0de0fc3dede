/**
 * Runs `binance-live` against the mock Binance exchange on loopback and collects its output.
 * Every run registers its own cleanup, which unsubscribes, closes the mock and waits until the
 * sockets and timers it opened are gone; `afterEachLiveRun` runs them and checks that no promise
 * rejection went unhandled (reliability.md §6, global guards).
 */
import { pino } from 'pino';
import type { Subscription } from 'rxjs';
import { expect } from 'vitest';
import { createContext } from '../../src/context.js';
import { METRIC, Metrics } from '../../src/metrics.js';
import { startMockBinance, type MockBinanceOptions } from '../../src/mock/binance/index.js';
import type { BookDepth, Candle, Flow, Gap, Status, Trade } from '../../src/model/index.js';
import { binanceLive, binanceLiveParams } from '../../src/sources/binance/binanceLive.js';
import type { BinanceRecord } from '../../src/sources/binance/parse.js';
import { activeHandles, waitFor } from './waitFor.js';

export type Mock = Awaited<ReturnType<typeof startMockBinance>>;

export interface LiveRun {
  readonly mock: Mock;
  readonly out: Flow<BinanceRecord>[];
  readonly subscription: Subscription;
  readonly metrics: Metrics;
  trades(symbol?: string): Trade[];
  candles(): Candle[];
  books(): BookDepth[];
  gaps(): Gap[];
  statuses(): Status[];
  /** Records dropped by the source, by reason label. */
  drops(): number;
}

const cleanups: (() => Promise<void>)[] = [];
const unhandled: unknown[] = [];
let listening = false;

/** Starts the mock (test timing, seed 11, BTC-USDT and ETH-USDT unless overridden) and the source. */
export async function startLiveRun(params: Record<string, unknown>, mockOptions: MockBinanceOptions = {}): Promise<LiveRun> {
  if (!listening) {
    process.on('unhandledRejection', (reason) => unhandled.push(reason));
    listening = true;
  }
  const baseline = activeHandles();
  const mock = await startMockBinance({ symbols: ['BTC-USDT', 'ETH-USDT'], seed: 11, timing: 'test', ...mockOptions });
  const usdm = params.market === 'usdm';
  const parsed = binanceLiveParams.parse({
    symbols: ['BTC-USDT'],
    wsUrl: usdm ? mock.usdmWsUrl : mock.spotWsUrl,
    restUrl: usdm ? mock.usdmRestUrl : mock.spotRestUrl,
    timing: { profile: 'fast' },
    ...params,
  });
  const metrics = new Metrics();
  const ctx = createContext({ logger: pino({ level: 'silent' }), metrics });
  const out: Flow<BinanceRecord>[] = [];
  const subscription = binanceLive(parsed, ctx).subscribe({
    next: (record) => out.push(record),
    error: (error: unknown) => unhandled.push(error),
  });
  cleanups.push(async () => {
    subscription.unsubscribe();
    await mock.close();
    await waitFor(() => activeHandles().length <= baseline.length, 5_000);
  });
  const of =
    <T extends Flow<BinanceRecord>>(type: string) =>
    (): T[] =>
      out.filter((record) => record.type === type) as T[];
  return {
    mock,
    out,
    subscription,
    metrics,
    trades: (symbol = 'BTC-USDT') => of<Trade>('trade')().filter((trade) => trade.symbol === symbol),
    candles: of<Candle>('candle'),
    books: of<BookDepth>('book-depth'),
    gaps: of<Gap>('gap'),
    statuses: of<Status>('status'),
    drops: () => metrics.snapshot().filter((sample) => sample.name === METRIC.dropped).reduce((sum, sample) => sum + sample.value, 0),
  };
}

/** Call from `afterEach`: tears every run down, checks no leaked handle and no unhandled rejection. */
export async function afterEachLiveRun(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  expect(unhandled.splice(0)).toEqual([]);
}

/** Ids contiguous and each once, equal to the simulator's trades (lost = 0, dup = 0). */
export function expectTradesComplete(run: LiveRun, symbol = 'BTC-USDT', market: 'spot' | 'usdm' = 'spot'): void {
  const trades = run.trades(symbol);
  expect(trades.length).toBeGreaterThan(0);
  const ids = trades.map((trade) => trade.id);
  const first = ids[0] as number;
  expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => first + i));
  const truth = run.mock.sim[market].simulator(symbol).tradesFromId(first, ids.length);
  expect(trades.map((trade) => [trade.id, trade.price, trade.qty, trade.side])).toEqual(truth.map((trade) => [trade.id, trade.price, trade.qty, trade.side]));
}
