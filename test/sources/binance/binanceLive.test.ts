/**
 * `binance-live` end to end against the mock Binance exchange on loopback (real `ws` and HTTP
 * servers, seeded simulator as ground truth), with faults of reliability.md §7 injected. Fast
 * timing profile; assertions on completeness against the simulator, never on elapsed time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { BookDepth } from '../../../src/model/index.js';
import { binanceLiveParams } from '../../../src/sources/binance/binanceLive.js';
import { afterEachLiveRun, expectTradesComplete, startLiveRun as start } from '../../support/liveRun.js';
import { waitFor } from '../../support/waitFor.js';

afterEach(afterEachLiveRun);

describe('binance-live against the mock exchange', () => {
  it('streams aggTrades, closed klines and a synced book, all equal to the simulator', async () => {
    const run = await start({ klines: ['1s'], depth: true });
    await waitFor(() => run.candles().length >= 3 && run.trades().length > 50 && run.books().some((book) => book.snapshot));
    expectTradesComplete(run);
    const candles = run.candles();
    expect(candles.every((candle) => candle.closed)).toBe(true);
    const opens = candles.map((candle) => candle.openTime);
    for (let i = 1; i < opens.length; i++) expect(opens[i]).toBe((opens[i - 1] as number) + 1000);
    const truth = run.mock.sim.spot.simulator('BTC-USDT').klines('1s', opens[0], opens.at(-1));
    expect(candles.map((c) => [c.openTime, c.open, c.high, c.low, c.close])).toEqual(truth.filter((c) => c.closed).map((c) => [c.openTime, c.open, c.high, c.low, c.close]));
    expect(run.statuses().some((status) => status.state === 'live')).toBe(true);
    expect(run.gaps().map((g) => `${g.stream}: ${g.reason}`)).toEqual([]);
  });

  it('R-01 / D-07: a dropped connection is recovered with lost = 0 and dup = 0 for trades and klines, and the book resyncs', async () => {
    const run = await start({ klines: ['1s'], depth: true });
    await waitFor(() => run.trades().length > 30 && run.books().some((book) => book.snapshot));
    for (let cut = 0; cut < 3; cut++) {
      const before = run.trades().length;
      const lives = run.statuses().filter((status) => status.state === 'live').length;
      run.mock.faults.terminate();
      await waitFor(() => run.statuses().filter((status) => status.state === 'live').length > lives && run.trades().length > before + 30, 15_000);
    }
    await waitFor(() => run.books().filter((book) => book.snapshot).length >= 2, 10_000);
    expectTradesComplete(run);
    const opens = run.candles().map((candle) => candle.openTime);
    for (let i = 1; i < opens.length; i++) expect(opens[i]).toBe((opens[i - 1] as number) + 1000);
    const gaps = run.gaps();
    expect(gaps.length).toBeGreaterThanOrEqual(3);
    expect(gaps.filter((gap) => gap.stream === 'trade').every((gap) => gap.recoverable)).toBe(true);
    expect(gaps.some((gap) => gap.reason.startsWith('connection lost'))).toBe(true);
  });

  it('D-03: a depth sequence gap invalidates the book, says so, and resyncs from a snapshot', async () => {
    const run = await start({ depth: true, trades: 'none' });
    await waitFor(() => run.books().some((book) => book.snapshot) && run.books().length > 10);
    run.mock.faults.skipDepthUpdates(3);
    await waitFor(() => run.gaps().some((gap) => gap.stream === 'book-depth'), 10_000);
    await waitFor(() => run.books().filter((book) => book.snapshot).length >= 2, 10_000);
    const gap = run.gaps().find((entry) => entry.stream === 'book-depth');
    expect(gap?.reason).toContain('order book invalidated');
    // After the last snapshot, diffs are contiguous.
    const books = run.books();
    const lastSnapshot = books.map((book) => book.snapshot).lastIndexOf(true);
    let last = (books[lastSnapshot] as BookDepth).lastUpdateId;
    for (const diff of books.slice(lastSnapshot + 1)) {
      expect(diff.firstUpdateId).toBeLessThanOrEqual(last + 1);
      last = diff.lastUpdateId;
    }
  });

  it('D-05: duplicated frames never reach the output twice', async () => {
    const run = await start({});
    await waitFor(() => run.trades().length > 20);
    run.mock.faults.duplicate(50);
    const before = run.trades().length;
    await waitFor(() => run.trades().length > before + 80, 15_000);
    expectTradesComplete(run);
  });

  it('D-03 for trades: skipped aggTrade ids are backfilled from REST before later trades are released', async () => {
    const run = await start({});
    await waitFor(() => run.trades().length > 20);
    run.mock.faults.skipAggTrades(10);
    const before = run.trades().length;
    await waitFor(() => run.trades().length > before + 60, 15_000);
    expectTradesComplete(run);
    expect(run.gaps().map((g) => `${g.stream}: ${g.reason}`)).toEqual([]);
  });

  it('R-06: renewals on serverShutdown and on maximum age lose and duplicate nothing', async () => {
    const run = await start({ timing: { profile: 'fast', renewAfterMs: 700 } });
    await waitFor(() => run.statuses().filter((status) => status.detail.includes('renewed')).length >= 4 && run.trades().length > 100, 20_000);
    expectTradesComplete(run);
    expect(run.gaps().map((g) => `${g.stream}: ${g.reason}`)).toEqual([]);
    expect(run.mock.stats.snapshot().markets.spot.connectionsOpen).toBeLessThanOrEqual(2);
  });

  it('D-07 hand-over: starts with REST history and continues live, every 1s bar exactly once and equal to the simulator', async () => {
    const run = await start({ trades: 'none', klines: ['1s'], historyDays: 60 / 86_400 }, { warmupMs: 120_000 });
    await waitFor(() => run.candles().length >= 70, 20_000);
    const candles = run.candles();
    const opens = candles.map((candle) => candle.openTime);
    for (let i = 1; i < opens.length; i++) expect(opens[i]).toBe((opens[i - 1] as number) + 1000);
    // The first bar is about a minute old: it came from REST; the later ones from the stream.
    expect(Date.now() - (opens[0] as number)).toBeGreaterThan(50_000);
    const truth = run.mock.sim.spot.simulator('BTC-USDT').klines('1s', opens[0], opens.at(-1));
    expect(candles.map((c) => [c.openTime, c.open, c.high, c.low, c.close, c.volume])).toEqual(
      truth.map((c) => [c.openTime, c.open, c.high, c.low, c.close, c.volume]),
    );
    expect(run.gaps()).toEqual([]);
  });

  it('rejects a bad config with every problem named', () => {
    const result = binanceLiveParams.safeParse({ symbols: ['NOPE'], liquidations: true, depthSpeed: '250ms', wsUrl: 'not a url' });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toMatchInlineSnapshot(`
      [
        "symbols.0: Symbol "NOPE" is not recognised: write it as BASE-QUOTE, e.g. "BTC-USDT"",
        "wsUrl: wsUrl "not a url" is not a URL: e.g. "ws://127.0.0.1:9443"",
        "liquidations: liquidations (forceOrder) exist on USD-M futures only: set market: usdm",
        "depthSpeed: depthSpeed "250ms" is a futures speed; spot has 100ms and 1000ms",
      ]
    `);
  });
});
