/**
 * reliability.md §7 on loopback: `binance-live` against the mock exchange with each fault
 * injected, fast timing profile. Every test checks completeness against the simulator's history
 * (lost = 0, dup = 0 on recoverable streams) or the behaviour the matrix asks for, and the shared
 * guards: no unhandled rejection, no socket or timer left after the run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { afterEachLiveRun, expectTradesComplete, startLiveRun } from '../support/liveRun.js';
import { waitFor } from '../support/waitFor.js';

afterEach(afterEachLiveRun);

/** Sockets that went live with their subscriptions (not book resyncs, which are `live` statuses too). */
const lives = (run: Awaited<ReturnType<typeof startLiveRun>>): number => run.statuses().filter((status) => status.state === 'live' && /streams subscribed$/.test(status.detail)).length;

describe('binance-live under faults (reliability.md §7)', () => {
  it('R-02: a half-open server (silent, not answering pings) is detected and replaced; trades stay complete', async () => {
    const run = await startLiveRun({});
    await waitFor(() => run.trades().length > 20);
    const before = lives(run);
    run.mock.faults.setAutoPong(false);
    run.mock.faults.silence();
    await waitFor(() => run.gaps().some((gap) => gap.reason.includes('no pong')), 10_000);
    await waitFor(() => lives(run) > before, 10_000);
    const count = run.trades().length;
    await waitFor(() => run.trades().length > count + 30, 15_000);
    expectTradesComplete(run);
  });

  it('R-03: a stalled depth stream is resubscribed alone; trades on the same connection have no gap', async () => {
    const run = await startLiveRun({ depth: true });
    await waitFor(() => run.books().some((book) => book.snapshot) && run.trades().length > 20);
    run.mock.faults.stallStream('btcusdt@depth@100ms');
    await waitFor(() => run.gaps().some((gap) => gap.stream === 'book-depth' && gap.reason.includes('silent')), 10_000);
    run.mock.faults.resumeStream('btcusdt@depth@100ms');
    const books = run.books().length;
    await waitFor(() => run.books().length > books + 5, 10_000);
    // Resubscribed on the same socket: no reconnect, and the trades never stopped.
    expect(run.mock.stats.snapshot().markets.spot.connectionsTotal).toBe(1);
    expect(run.mock.stats.snapshot().connections[0]?.streams).toContain('btcusdt@depth@100ms');
    expect(run.gaps().filter((gap) => gap.stream === 'trade')).toEqual([]);
    expectTradesComplete(run);
  });

  it('R-04: a quiet trade stream (no deadline) causes no resubscribe and no reconnect', async () => {
    const run = await startLiveRun({ trades: 'aggTrade', timing: { profile: 'fast', renewAfterMs: 0 } }, { spot: { maxAgeMs: 60_000 } });
    await waitFor(() => run.trades().length > 5);
    run.mock.faults.stallStream('btcusdt@aggTrade');
    const before = run.mock.stats.snapshot().connections.reduce((sum, connection) => sum + connection.controlMessages, 0);
    // Ten times the fast profile's stream idle time (500 ms), pings answered.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const stats = run.mock.stats.snapshot();
    expect(stats.markets.spot.connectionsTotal).toBe(1);
    // Only pings of a quiet connection, no SUBSCRIBE: control messages are JSON frames.
    expect(stats.connections.reduce((sum, connection) => sum + connection.controlMessages, 0)).toBe(before);
    expect(run.gaps()).toEqual([]);
  });

  it('R-05: a rejected subscription is reported with the stream name and not retried; the other streams are fine', async () => {
    const run = await startLiveRun({ klines: ['1s'] });
    run.mock.faults.rejectSubscribe(1, { code: 2, msg: 'Invalid request: unknown stream' });
    await waitFor(() => run.gaps().some((gap) => gap.reason.includes('rejected')), 10_000);
    const gap = run.gaps().find((entry) => entry.reason.includes('rejected'));
    expect(gap?.reason).toContain('btcusdt@aggTrade');
    expect(gap?.recoverable).toBe(false);
    expect(run.statuses().some((status) => status.state === 'degraded')).toBe(true);
  });

  it('R-07: upgrades refused with 429 and Retry-After are retried no sooner, and the source recovers', async () => {
    const run = await startLiveRun({}, {});
    await waitFor(() => run.trades().length > 10);
    run.mock.faults.rejectUpgrades({ count: 2, status: 429, retryAfterSec: 1 });
    const cut = performance.now();
    run.mock.faults.terminate();
    await waitFor(() => run.statuses().some((status) => status.detail.includes('HTTP 429 on upgrade')), 10_000);
    const count = run.trades().length;
    await waitFor(() => run.trades().length > count + 20, 15_000);
    // Two refusals with Retry-After: 1 s each before the third attempt could succeed.
    expect(performance.now() - cut).toBeGreaterThanOrEqual(2_000);
    expectTradesComplete(run);
  });

  it('R-08: resubscribing 40 streams after a drop never trips the 5/s control limit', async () => {
    const symbols = ['BTC-USDT', 'ETH-USDT', 'BNB-USDT', 'SOL-USDT', 'XRP-USDT', 'ADA-USDT', 'DOGE-USDT', 'LTC-USDT', 'DOT-USDT', 'TRX-USDT'];
    const run = await startLiveRun({ symbols, klines: ['1s'], bookTicker: true, trades: 'aggTrade', depth: true }, { symbols });
    const openWithAll = (): boolean => run.mock.stats.snapshot().connections.filter((connection) => connection.open && connection.streams.length === 40).length === 1;
    await waitFor(openWithAll, 15_000);
    for (let i = 0; i < 3; i++) {
      const before = lives(run);
      run.mock.faults.terminate();
      await waitFor(() => lives(run) > before && openWithAll(), 15_000);
    }
    const stats = run.mock.stats.snapshot();
    expect(stats.closes1008).toBe(0);
    expect(Math.max(...stats.connections.map((connection) => connection.peakControlRate))).toBeLessThanOrEqual(5);
    expect(stats.connections.at(-1)?.streams.length).toBe(40);
  }, 60_000);

  it('R-09: REST 429 on the depth snapshot delays the sync without dropping it; the WebSocket is unaffected', async () => {
    const run = await startLiveRun({ depth: true });
    run.mock.faults.restStatus({ path: '/api/v3/depth', status: 429, count: 1, retryAfterSec: 1 });
    await waitFor(() => run.books().some((book) => book.snapshot), 15_000);
    expect(run.mock.stats.snapshot().markets.spot.connectionsTotal).toBe(1);
    expectTradesComplete(run);
  });

  it('D-01: malformed frames are dropped and counted; the connection and the data carry on', async () => {
    const run = await startLiveRun({});
    await waitFor(() => run.trades().length > 10);
    for (const kind of ['truncated', 'garbage', 'binary'] as const) run.mock.faults.malformed(kind, { count: 2 });
    const count = run.trades().length;
    await waitFor(() => run.drops() >= 6 && run.trades().length > count + 30, 15_000);
    expect(run.drops()).toBe(6);
    // No interruption (planned renewals may happen meanwhile: they are not reconnects).
    expect(run.gaps().map((gap) => gap.reason)).toEqual([]);
    expect(run.statuses().filter((status) => status.state === 'reconnecting')).toEqual([]);
    expectTradesComplete(run);
  });

  it('D-01: invalid UTF-8 (ws closes 1007) is recovered by a reconnect; a 19-digit id is dropped with its reason, never rounded', async () => {
    const run = await startLiveRun({});
    await waitFor(() => run.trades().length > 10);
    run.mock.faults.malformed('bigint-id', { count: 1 });
    await waitFor(() => run.drops() >= 1, 10_000);
    run.mock.faults.malformed('invalid-utf8', { count: 1 });
    await waitFor(() => run.gaps().some((gap) => gap.reason.startsWith('connection lost')), 10_000);
    const count = run.trades().length;
    await waitFor(() => run.trades().length > count + 30, 15_000);
    expectTradesComplete(run);
    expect(run.trades().every((trade) => Number.isSafeInteger(trade.id))).toBe(true);
  });

  it('shards streams across connections under the per-connection cap, each resubscribed on its own after a drop', async () => {
    const run = await startLiveRun({ symbols: ['BTC-USDT', 'ETH-USDT'], klines: ['1s'], maxStreamsPerConnection: 2 });
    const open = (): { streams: readonly string[] }[] => run.mock.stats.snapshot().connections.filter((connection) => connection.open);
    await waitFor(() => open().length === 2 && open().every((connection) => connection.streams.length === 2), 10_000);
    expect(open().flatMap((connection) => connection.streams).sort()).toEqual(['btcusdt@aggTrade', 'btcusdt@kline_1s', 'ethusdt@aggTrade', 'ethusdt@kline_1s']);
    run.mock.faults.terminate({ connection: run.mock.stats.snapshot().connections[0]?.id ?? 0 });
    await waitFor(() => run.gaps().some((gap) => gap.reason.startsWith('connection lost')), 10_000);
    await waitFor(() => open().length === 2 && open().every((connection) => connection.streams.length === 2), 10_000);
    const count = run.trades().length;
    await waitFor(() => run.trades().length > count + 30, 15_000);
    expectTradesComplete(run, 'BTC-USDT');
    expectTradesComplete(run, 'ETH-USDT');
  });

  it('D-06: reordered trade frames come out in id order, each once', async () => {
    const run = await startLiveRun({});
    await waitFor(() => run.trades().length > 10);
    run.mock.faults.reorder(5);
    const count = run.trades().length;
    await waitFor(() => run.trades().length > count + 60, 15_000);
    expectTradesComplete(run);
  });

  it('D-06: reordered kline frames still give closed bars strictly in order, none missing, none forming marked final', async () => {
    const run = await startLiveRun({ trades: 'none', klines: ['1s'] });
    await waitFor(() => run.candles().length > 2);
    run.mock.faults.reorder(4, { stream: 'btcusdt@kline_1s' });
    const count = run.candles().length;
    await waitFor(() => run.candles().length > count + 6, 20_000);
    const candles = run.candles();
    const opens = candles.map((candle) => candle.openTime);
    for (let i = 1; i < opens.length; i++) expect(opens[i]).toBe((opens[i - 1] as number) + 1000);
    expect(candles.every((candle) => candle.closed)).toBe(true);
    const truth = run.mock.sim.spot.simulator('BTC-USDT').klines('1s', opens[0], opens.at(-1));
    expect(candles.map((c) => [c.openTime, c.close, c.volume])).toEqual(truth.map((c) => [c.openTime, c.close, c.volume]));
  });

  it('R-11: unsubscribing during reconnect backoff leaves no connection and no reconnect', async () => {
    const run = await startLiveRun({});
    await waitFor(() => run.trades().length > 5);
    run.mock.faults.rejectUpgrades({ count: 100, status: 503, retryAfterSec: 1 });
    run.mock.faults.terminate();
    await waitFor(() => run.gaps().length > 0, 10_000);
    run.subscription.unsubscribe();
    const total = run.mock.stats.snapshot().markets.spot.connectionsTotal;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const stats = run.mock.stats.snapshot();
    expect(stats.connectionsOpen).toBe(0);
    expect(stats.markets.spot.connectionsTotal).toBe(total);
  });
});
