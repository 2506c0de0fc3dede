/**
 * reliability.md §6 `ChaosProxy` and the network-level variants of §7.1:
 * `binance-live` (fast timing profile) talks to the mock exchange (test timing) through the
 * proxy, which resets connections mid-frame, black-holes them or resets them repeatedly. Every
 * test checks trades against the simulator (lost = 0, dup = 0) and the shared guards: no
 * unhandled rejection, no socket or timer left, no connection left open on the mock.
 *
 * `startLiveRun` connects the source to the mock directly and needs the mock's port before the
 * proxy can exist, so this file mirrors it with the proxy in between.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createContext } from '../../src/context.js';
import { METRIC, Metrics } from '../../src/metrics.js';
import { startMockBinance } from '../../src/mock/binance/index.js';
import type { Flow, Gap, Status, Trade } from '../../src/model/index.js';
import { binanceLive, binanceLiveParams } from '../../src/sources/binance/binanceLive.js';
import type { BinanceRecord } from '../../src/sources/binance/parse.js';
import { startChaosProxy, type ChaosProxy } from '../support/chaosProxy.js';
import { expectTradesComplete, type LiveRun } from '../support/liveRun.js';
import { activeHandles, waitFor } from '../support/waitFor.js';

const cleanups: (() => Promise<void>)[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
process.on('unhandledRejection', onUnhandled);

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  expect(unhandled.splice(0)).toEqual([]);
});

interface ProxiedRun extends LiveRun {
  readonly proxy: ChaosProxy;
}

/** As `startLiveRun({})`, with `wsUrl` pointing at a chaos proxy in front of the mock's spot WS. */
async function startProxiedRun(): Promise<ProxiedRun> {
  const baseline = activeHandles();
  const mock = await startMockBinance({ symbols: ['BTC-USDT', 'ETH-USDT'], seed: 11, timing: 'test' });
  const target = new URL(mock.spotWsUrl);
  const proxy = await startChaosProxy({ host: target.hostname, port: Number(target.port) });
  const parsed = binanceLiveParams.parse({ symbols: ['BTC-USDT'], wsUrl: proxy.url(), restUrl: mock.spotRestUrl, timing: { profile: 'fast' } });
  const metrics = new Metrics();
  const ctx = createContext({ logger: pino({ level: 'silent' }), metrics });
  const out: Flow<BinanceRecord>[] = [];
  const subscription = binanceLive(parsed, ctx).subscribe({
    next: (record) => out.push(record),
    error: (error: unknown) => unhandled.push(error),
  });
  cleanups.push(async () => {
    subscription.unsubscribe();
    // The source closed its sockets: nothing may stay open on the mock behind the proxy.
    await waitFor(() => mock.stats.snapshot().markets.spot.connectionsOpen === 0, 5_000);
    await proxy.close();
    await mock.close();
    await waitFor(() => activeHandles().length <= baseline.length, 5_000);
  });
  const of =
    <T extends Flow<BinanceRecord>>(type: string) =>
    (): T[] =>
      out.filter((record) => record.type === type) as T[];
  return {
    mock,
    proxy,
    out,
    subscription,
    metrics,
    trades: (symbol = 'BTC-USDT') => of<Trade>('trade')().filter((trade) => trade.symbol === symbol),
    candles: of('candle'),
    books: of('book-depth'),
    gaps: of<Gap>('gap'),
    statuses: of<Status>('status'),
    drops: () => metrics.snapshot().filter((sample) => sample.name === METRIC.dropped).reduce((sum, sample) => sum + sample.value, 0),
  };
}

/** Sockets that went live with their subscriptions. */
const lives = (run: LiveRun): number => run.statuses().filter((status) => status.state === 'live' && /streams subscribed$/.test(status.detail)).length;

/** Waits for `more` trades beyond the current count (the source is delivering again). */
async function moreTrades(run: LiveRun, more: number): Promise<void> {
  const count = run.trades().length;
  await waitFor(() => run.trades().length > count + more, 15_000);
}

describe('ChaosProxy relay (reliability.md §6)', () => {
  /** A plain `ws` server behind the proxy, to check the relay itself. */
  async function echoBehindProxy(): Promise<{ proxy: ChaosProxy; server: WebSocketServer }> {
    const baseline = activeHandles();
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    server.on('connection', (socket) => {
      socket.on('message', (data, isBinary) => {
        socket.send(data, { binary: isBinary });
      });
    });
    const proxy = await startChaosProxy({ host: '127.0.0.1', port: address.port });
    cleanups.push(async () => {
      await proxy.close();
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      await waitFor(() => activeHandles().length <= baseline.length, 5_000);
    });
    return { proxy, server };
  }

  async function open(url: string): Promise<{ ws: WebSocket; received: string[]; closed: Promise<number> }> {
    const ws = new WebSocket(url);
    const received: string[] = [];
    ws.on('message', (data: Buffer) => {
      received.push(data.toString());
    });
    ws.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => {
      ws.once('close', (code) => {
        resolve(code);
      });
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => {
        resolve();
      });
      ws.once('error', reject);
    });
    return { ws, received, closed };
  }

  it('relays both ways in order, with added latency too', async () => {
    const { proxy } = await echoBehindProxy();
    const client = await open(proxy.url('/'));
    proxy.latency(20);
    const sent = Array.from({ length: 50 }, (_, i) => `message ${i} ${'x'.repeat(i * 100)}`);
    for (const message of sent) client.ws.send(message);
    await waitFor(() => client.received.length === sent.length);
    expect(client.received).toEqual(sent);
    expect(proxy.stats()).toEqual({ accepted: 1, open: 1, resets: 0 });
    client.ws.close();
    await client.closed;
    await waitFor(() => proxy.stats().open === 0);
  });

  it('black hole holds bytes both ways on an open socket, and releases them in order', async () => {
    const { proxy } = await echoBehindProxy();
    const client = await open(proxy.url('/'));
    client.ws.send('before');
    await waitFor(() => client.received.length === 1);
    proxy.blackHole(true);
    client.ws.send('during');
    // Nothing comes back while held; the socket stays open (half-open link), so wait on the
    // echo of a control message instead of a clock: a ping is held as well.
    let pongs = 0;
    client.ws.on('pong', () => (pongs += 1));
    client.ws.ping();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(client.received).toEqual(['before']);
    expect(pongs).toBe(0);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    proxy.blackHole(false);
    await waitFor(() => client.received.length === 2 && pongs === 1);
    expect(client.received).toEqual(['before', 'during']);
    client.ws.close();
    await client.closed;
  });

  it('resetMidFrame forwards part of a frame and resets: the client gets a truncated frame, then 1006', async () => {
    const { proxy } = await echoBehindProxy();
    const client = await open(proxy.url('/'));
    const cut = proxy.resetMidFrame();
    client.ws.send('y'.repeat(10_000));
    const info = await cut;
    expect(info.forwarded).toBeGreaterThan(info.frameStart);
    expect(info.forwarded).toBeLessThan(info.frameStart + info.frameLength);
    expect(info.forwarded).toBeLessThan(info.chunkLength);
    expect(await client.closed).toBe(1006);
    expect(client.received).toEqual([]);
    expect(proxy.stats().resets).toBe(1);
  });
});

describe('binance-live through the chaos proxy (reliability.md §7.1)', () => {
  it('R-01 (RST mid-frame): the source reconnects through the proxy with a connection-lost gap; trades complete', async () => {
    const run = await startProxiedRun();
    await waitFor(() => run.trades().length > 20 && lives(run) >= 1);
    const before = { lives: lives(run), accepted: run.proxy.stats().accepted };
    const cut = await run.proxy.resetMidFrame();
    expect(cut.forwarded).toBeGreaterThan(cut.frameStart);
    expect(cut.forwarded).toBeLessThan(cut.frameStart + cut.frameLength);
    await waitFor(() => run.gaps().some((gap) => gap.reason.startsWith('connection lost')), 10_000);
    await waitFor(() => lives(run) > before.lives, 10_000);
    await moreTrades(run, 10);
    // The new connection went through the proxy too (the only way to the mock).
    expect(run.proxy.stats().accepted).toBeGreaterThan(before.accepted);
    expect(run.mock.stats.snapshot().markets.spot.connectionsTotal).toBe(run.proxy.stats().accepted);
    expectTradesComplete(run);
  });

  it('R-02 (black hole both ways): detected by the pong timeout, recovers once the link is back; trades complete', async () => {
    const run = await startProxiedRun();
    await waitFor(() => run.trades().length > 20 && lives(run) >= 1);
    run.proxy.blackHole(true);
    const before = lives(run);
    await waitFor(() => run.gaps().some((gap) => gap.reason.includes('no pong')), 10_000);
    const gap = run.gaps().find((entry) => entry.reason.includes('no pong'));
    expect(gap?.reason.startsWith('connection lost')).toBe(true);
    // While the link is dead no new connection can go live.
    expect(lives(run)).toBe(before);
    run.proxy.blackHole(false);
    await waitFor(() => lives(run) > before, 10_000);
    await moreTrades(run, 10);
    expectTradesComplete(run);
  });

  it('resetAll three times in a row: recovers after each; trades complete', async () => {
    const run = await startProxiedRun();
    await waitFor(() => run.trades().length > 20 && lives(run) >= 1);
    const lost = (): number => run.gaps().filter((gap) => gap.reason.startsWith('connection lost')).length;
    for (let round = 1; round <= 3; round += 1) {
      const before = { lives: lives(run), lost: lost() };
      run.proxy.resetAll();
      await waitFor(() => lost() > before.lost, 10_000);
      await waitFor(() => lives(run) > before.lives, 10_000);
      await moreTrades(run, 5);
    }
    expect(run.proxy.stats().resets).toBeGreaterThanOrEqual(3);
    expectTradesComplete(run);
  });
});
