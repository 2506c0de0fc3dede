/**
 * The connection layer against a real `ws` server on loopback speaking Binance's control
 * protocol (SUBSCRIBE/UNSUBSCRIBE with acks, combined frames, serverShutdown), with the faults
 * of reliability.md §7.1 injected by hand. Real timers with the fast profile: assertions are on
 * behaviour and counts, never on elapsed time.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { asyncScheduler } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { binanceProtocol } from '../../../src/sources/binance/liveProtocol.js';
import { ManagedConnection, type ConnectionHandler, type ConnectionStatus } from '../../../src/sources/live/connection.js';
import { AttemptBudget } from '../../../src/sources/live/rateLimit.js';
import { FAST_TIMING, type ConnectionTiming } from '../../../src/sources/live/timing.js';
import { activeHandles, waitFor } from '../../support/waitFor.js';

interface Fixture {
  readonly url: string;
  readonly server: Server;
  readonly wss: WebSocketServer;
  /** Per connection (in order), the streams it holds. */
  readonly subscriptions: Set<string>[];
  readonly sockets: WebSocket[];
  readonly control: { message: string; at: number; conn: number }[];
  /** Streams that stop sending. */
  readonly stalled: Set<string>;
  /** When true, SUBSCRIBE gets no reply. */
  ignoreSubscribe: boolean;
  /** Streams rejected with an error reply. */
  readonly rejected: Set<string>;
  /** Next upgrades answered with this HTTP status. */
  rejectUpgrades: { count: number; status: number; retryAfter?: string };
  /** Messages sent per stream, in order, with the connection index. */
  readonly sent: { stream: string; n: number; conn: number }[];
  close(): Promise<void>;
}

const fixtures: Fixture[] = [];
const connections: ManagedConnection[] = [];
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));
let baseline: string[] = [];

beforeEach(() => {
  baseline = activeHandles();
});

afterEach(async () => {
  for (const connection of connections.splice(0)) connection.stop();
  for (const fixture of fixtures.splice(0)) await fixture.close();
  // Every socket and timer of the connection and the fixture is released.
  await waitFor(() => activeHandles().length <= baseline.length, 5_000);
  expect(unhandled.splice(0)).toEqual([]);
});

async function startFixture(options: { autoPong?: boolean; tickMs?: number } = {}): Promise<Fixture> {
  const server = createServer();
  const wss = new WebSocketServer({ noServer: true, autoPong: options.autoPong ?? true });
  const fixture: Fixture = {
    url: '',
    server,
    wss,
    subscriptions: [],
    sockets: [],
    control: [],
    stalled: new Set(),
    ignoreSubscribe: false,
    rejected: new Set(),
    rejectUpgrades: { count: 0, status: 429 },
    sent: [],
    async close() {
      clearInterval(timer);
      for (const socket of wss.clients) socket.terminate();
      await new Promise<void>((resolve) => { wss.close(() => { resolve(); }); });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
  server.on('upgrade', (request, socket, head) => {
    if (fixture.rejectUpgrades.count > 0) {
      fixture.rejectUpgrades.count--;
      const retry = fixture.rejectUpgrades.retryAfter === undefined ? '' : `Retry-After: ${fixture.rejectUpgrades.retryAfter}\r\n`;
      socket.end(`HTTP/1.1 ${fixture.rejectUpgrades.status} Too Many Requests\r\n${retry}Content-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws));
  });
  let counter = 0;
  wss.on('connection', (ws) => {
    const index = fixture.sockets.length;
    const subscribed = new Set<string>();
    fixture.sockets.push(ws);
    fixture.subscriptions.push(subscribed);
    ws.on('message', (data) => {
      const text = (data as Buffer).toString('utf8');
      fixture.control.push({ message: text, at: performance.now(), conn: index });
      const request = JSON.parse(text) as { method: string; params: string[]; id: number };
      if (request.method === 'SUBSCRIBE') {
        if (fixture.ignoreSubscribe) return;
        const bad = request.params.filter((stream) => fixture.rejected.has(stream));
        if (bad.length > 0) {
          ws.send(JSON.stringify({ error: { code: 2, msg: `Invalid request: unknown stream ${bad[0]}` }, id: request.id }));
          return;
        }
        for (const stream of request.params) subscribed.add(stream);
      } else if (request.method === 'UNSUBSCRIBE') {
        for (const stream of request.params) subscribed.delete(stream);
      }
      ws.send(JSON.stringify({ result: null, id: request.id }));
    });
  });
  const timer = setInterval(() => {
    counter++;
    fixture.sockets.forEach((ws, conn) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      for (const stream of fixture.subscriptions[conn] ?? []) {
        if (fixture.stalled.has(stream)) continue;
        fixture.sent.push({ stream, n: counter, conn });
        ws.send(JSON.stringify({ stream, data: { n: counter } }));
      }
    });
  }, options.tickMs ?? 20);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const fixtureWithUrl = Object.assign(fixture, { url: `ws://127.0.0.1:${port}` });
  fixtures.push(fixtureWithUrl);
  return fixtureWithUrl;
}

interface Recorder extends ConnectionHandler {
  readonly frames: { text: string; epoch: number }[];
  readonly lives: { epoch: number; phase: string; interruptedAt?: number }[];
  readonly interruptions: { epoch: number; reason: string }[];
  readonly stalls: string[];
  readonly failures: { streams: readonly string[]; reason: string }[];
}

function recorder(): Recorder {
  const handler: Recorder = {
    frames: [],
    lives: [],
    interruptions: [],
    stalls: [],
    failures: [],
    frame(text, _tsRecv, epoch) {
      handler.frames.push({ text, epoch });
    },
    live(event) {
      handler.lives.push(event);
    },
    interrupted(event) {
      handler.interruptions.push({ epoch: event.epoch, reason: event.reason });
    },
    stalled(event) {
      handler.stalls.push(event.stream);
    },
    subscriptionFailed(streams, reason) {
      handler.failures.push({ streams, reason });
    },
  };
  return handler;
}

function connect(
  fixture: Fixture,
  handler: ConnectionHandler,
  options: { timing?: Partial<ConnectionTiming>; budget?: AttemptBudget; maxStreamsPerMessage?: number } = {},
): ManagedConnection {
  const protocol = binanceProtocol({ market: 'spot', wsUrl: fixture.url, route: '', maxStreamsPerMessage: options.maxStreamsPerMessage ?? 200 });
  const connection = new ManagedConnection({
    protocol,
    handler,
    // The fixture has no maximum connection age: no planned renewal unless a test asks for it.
    timing: { ...FAST_TIMING, renewAfterMs: 0, ...options.timing },
    budget: options.budget ?? new AttemptBudget(1000, 60_000),
    name: 'test#0',
    wallClock: () => asyncScheduler.now(),
  });
  connections.push(connection);
  return connection;
}

function statuses(connection: ManagedConnection): ConnectionStatus[] {
  const seen: ConnectionStatus[] = [];
  connection.status$.subscribe((status) => seen.push(status));
  return seen;
}

const STREAMS = ['btcusdt@aggTrade', 'ethusdt@aggTrade', 'btcusdt@depth@100ms'];

describe('ManagedConnection', () => {
  it('subscribes the active set, goes live, and delivers combined frames with the epoch', async () => {
    const fixture = await startFixture();
    const handler = recorder();
    const connection = connect(fixture, handler);
    const seen = statuses(connection);
    connection.subscribe(STREAMS);
    connection.start();
    await waitFor(() => handler.frames.length >= 30);
    expect(handler.lives).toEqual([{ epoch: 1, phase: 'start' }]);
    expect([...(fixture.subscriptions[0] ?? [])].sort()).toEqual([...STREAMS].sort());
    expect(new Set(handler.frames.map((frame) => frame.epoch))).toEqual(new Set([1]));
    expect(seen.map((status) => status.state)).toEqual(['connecting', 'connecting', 'live']);
    // One SUBSCRIBE for all three streams: bundled.
    expect(fixture.control.filter((entry) => entry.message.includes('SUBSCRIBE'))).toHaveLength(1);
  });

  it('R-01: after the server drops the socket, reconnects with a new epoch and resubscribes exactly the active set', async () => {
    const fixture = await startFixture();
    const handler = recorder();
    const connection = connect(fixture, handler);
    connection.subscribe(STREAMS);
    connection.subscribe(['dotusdt@aggTrade']);
    connection.unsubscribe(['ethusdt@aggTrade']);
    connection.start();
    await waitFor(() => handler.lives.length === 1 && handler.frames.length > 5);
    for (const variant of ['terminate', 1000, 1001, 1011] as const) {
      const socket = fixture.sockets.at(-1) as WebSocket;
      if (variant === 'terminate') socket.terminate();
      else socket.close(variant, 'going away');
      const lives = handler.lives.length;
      await waitFor(() => handler.lives.length === lives + 1);
    }
    expect(handler.lives.map((live) => live.epoch)).toEqual([1, 2, 3, 4, 5]);
    expect(handler.lives.slice(1).every((live) => live.phase === 'reconnect' && live.interruptedAt !== undefined)).toBe(true);
    expect(handler.interruptions.map((entry) => entry.epoch)).toEqual([1, 2, 3, 4]);
    expect(handler.interruptions[1]?.reason).toContain('code 1000');
    const expected = ['btcusdt@aggTrade', 'btcusdt@depth@100ms', 'dotusdt@aggTrade'];
    for (const set of fixture.subscriptions) expect([...set].sort()).toEqual(expected);
    expect(connection.stats.interruptions).toBe(4);
  });

  it('drops frames of an old epoch: nothing from a replaced socket reaches the handler', async () => {
    const fixture = await startFixture();
    const handler = recorder();
    const connection = connect(fixture, handler);
    connection.subscribe(['btcusdt@aggTrade']);
    connection.start();
    await waitFor(() => handler.lives.length === 1);
    connection.renew('test');
    await waitFor(() => handler.lives.length === 2);
    // The old socket is closing; whatever it still sends is stale.
    const old = fixture.sockets[0] as WebSocket;
    if (old.readyState === WebSocket.OPEN) old.send(JSON.stringify({ stream: 'btcusdt@aggTrade', data: { n: -1 } }));
    await waitFor(() => handler.frames.length > 20);
    expect(handler.frames.some((frame) => frame.text.includes('"n":-1'))).toBe(false);
    const epochs = handler.frames.map((frame) => frame.epoch);
    // Epochs never go back.
    expect(epochs).toEqual([...epochs].sort((a, b) => a - b));
  });

  it('R-02: a server that goes silent and stops answering pings is detected by the pong timeout and replaced', async () => {
    const fixture = await startFixture({ autoPong: false });
    const handler = recorder();
    const connection = connect(fixture, handler);
    connection.subscribe(['btcusdt@aggTrade']);
    connection.start();
    await waitFor(() => handler.frames.length > 3);
    fixture.stalled.add('btcusdt@aggTrade');
    await waitFor(() => handler.interruptions.length >= 1);
    expect(handler.interruptions[0]?.reason).toBe(`no pong within ${FAST_TIMING.pongTimeoutMs} ms`);
    expect(connection.stats.missedPongs).toBeGreaterThanOrEqual(1);
    await waitFor(() => handler.lives.length >= 2);
  });

  it('R-03: a stalled stream is resubscribed alone; the other streams keep flowing and nothing reconnects', async () => {
    const fixture = await startFixture();
    const handler = recorder();
    const connection = connect(fixture, handler);
    connection.subscribe(STREAMS);
    connection.start();
    await waitFor(() => handler.frames.length > 10);
    fixture.stalled.add('btcusdt@depth@100ms');
    await waitFor(() => handler.stalls.length >= 1);
    // The resubscribe arrives; the fixture's stream resumes once it is no longer stalled.
    fixture.stalled.delete('btcusdt@depth@100ms');
    await waitFor(() => connection.stats.streamResubscribes >= 1 && fixture.control.some((entry) => entry.message.includes('UNSUBSCRIBE')));
    const before = handler.frames.length;
    await waitFor(() => handler.frames.slice(before).some((frame) => frame.text.includes('depth')));
    expect(handler.stalls[0]).toBe('btcusdt@depth@100ms');
    expect(connection.stats.interruptions).toBe(0);
    const resubscribes = fixture.control.filter((entry) => entry.message.includes('UNSUBSCRIBE')).map((entry) => JSON.parse(entry.message) as { params: string[] });
    expect(resubscribes[0]?.params).toEqual(['btcusdt@depth@100ms']);
  });

  it('R-03: a stream still silent after its resubscribe recycles the socket', async () => {
    const fixture = await startFixture();
    const handler = recorder();
    const connection = connect(fixture, handler);
    connection.subscribe(STREAMS);
    connection.start();
    await waitFor(() => handler.frames.length > 10);
    fixture.stalled.add('btcusdt@depth@100ms');
    await waitFor(() => handler.interruptions.length >= 1);
    expect(handler.interruptions[0]?.reason).toContain('still silent');
    expect(connection.stats.streamResubscribes).toBe(1);
  });

  it('R-04: quiet streams without a deadline never cause a resubscribe or a reconnect', async () => {
    const fixture = await startFixture();
    const handler = recorder();
    const connection = connect(fixture, handler);
    connection.subscribe(['btcusdt@aggTrade', 'btcusdt@forceOrder']);
    fixture.stalled.add('btcusdt@aggTrade');
    fixture.stalled.add('btcusdt@forceOrder');
    connection.start();
    await waitFor(() => handler.lives.length === 1);
    // Ten times the fast profile's stream idle time, with pings answered.
    await new Promise((resolve) => setTimeout(resolve, 10 * 500));
    expect(connection.stats.streamResubscribes).toBe(0);
    expect(connection.stats.interruptions).toBe(0);
    expect(handler.stalls).toEqual([]);
  });

  it('R-05: an unacknowledged subscribe is retried a bounded number of times, then reported with the stream name', async () => {
    const fixture = await startFixture();
    fixture.ignoreSubscribe = true;
    const handler = recorder();
    const connection = connect(fixture, handler);
    connection.subscribe(['btcusdt@aggTrade']);
    connection.start();
    await waitFor(() => handler.failures.length === 1);
    expect(fixture.control.filter((entry) => entry.message.includes('SUBSCRIBE'))).toHaveLength(FAST_TIMING.maxSubscribeAttempts);
    expect(handler.failures[0]?.reason).toContain('btcusdt@aggTrade');
    expect(handler.failures[0]?.reason).toContain('never acknowledged');
    expect(connection.streams).toEqual([]);
  });

  it('R-05: a rejected subscription is reported with the venue message, not retried, and other streams are fine', async () => {
    const fixture = await startFixture();
    fixture.rejected.add('nosuch@aggTrade');
    const handler = recorder();
    const connection = connect(fixture, handler);
    connection.subscribe(['btcusdt@aggTrade']);
    connection.start();
    await waitFor(() => handler.lives.length === 1);
    connection.subscribe(['nosuch@aggTrade']);
    await waitFor(() => handler.failures.length === 1);
    expect(handler.failures[0]?.reason).toMatchInlineSnapshot(
      `"binance rejected the subscription to ["nosuch@aggTrade"]: code 2: Invalid request: unknown stream nosuch@aggTrade"`,
    );
    const count = handler.frames.length;
    await waitFor(() => handler.frames.length > count + 5);
    expect(fixture.control.filter((entry) => entry.message.includes('nosuch'))).toHaveLength(1);
    expect(connection.streams).toEqual(['btcusdt@aggTrade']);
  });

  it('R-06: a server shutdown notice triggers make-before-break renewal: at most two sockets, no interruption', async () => {
    const fixture = await startFixture();
    const handler = recorder();
    const connection = connect(fixture, handler);
    connection.subscribe(['btcusdt@aggTrade']);
    connection.start();
    await waitFor(() => handler.lives.length === 1 && handler.frames.length > 3);
    (fixture.sockets[0] as WebSocket).send(JSON.stringify({ stream: '!serverShutdown', data: { e: 'serverShutdown', E: Date.now() } }));
    await waitFor(() => handler.lives.length === 2);
    expect(handler.lives[1]).toEqual({ epoch: 2, phase: 'renewal' });
    expect(connection.stats.interruptions).toBe(0);
    expect(connection.stats.renewals).toBe(1);
    await waitFor(() => (fixture.sockets[0] as WebSocket).readyState === WebSocket.CLOSED);
    expect(connection.openSockets).toBe(1);
    // Continuity: every tick the server sent on either socket after the first delivered frame is
    // delivered on one of them (the overlap is for downstream dedupe to drop).
    const delivered = new Set(handler.frames.map((frame) => (JSON.parse(frame.text) as { data: { n: number } }).data.n));
    const first = Math.min(...delivered);
    const last = Math.max(...delivered);
    for (let n = first; n <= last; n++) expect(delivered.has(n)).toBe(true);
  });

  it('R-06: renews on its own after renewAfterMs, repeatedly, without losing a tick', async () => {
    const fixture = await startFixture();
    const handler = recorder();
    const connection = connect(fixture, handler, { timing: { renewAfterMs: 300 } });
    connection.subscribe(['btcusdt@aggTrade']);
    connection.start();
    await waitFor(() => connection.stats.renewals >= 4, 15_000);
    expect(connection.stats.interruptions).toBe(0);
    const delivered = new Set(handler.frames.map((frame) => (JSON.parse(frame.text) as { data: { n: number } }).data.n));
    const first = Math.min(...delivered);
    const last = Math.max(...delivered);
    for (let n = first; n <= last; n++) expect(delivered.has(n)).toBe(true);
    expect(fixture.sockets.filter((socket) => socket.readyState === WebSocket.OPEN).length).toBeLessThanOrEqual(2);
  });

  it('R-07: rejected upgrades back off, honour Retry-After, and count against the budget', async () => {
    const fixture = await startFixture();
    fixture.rejectUpgrades = { count: 3, status: 429, retryAfter: '1' };
    const handler = recorder();
    const budget = new AttemptBudget(1000, 60_000);
    const connection = connect(fixture, handler, { budget });
    const seen = statuses(connection);
    connection.subscribe(['btcusdt@aggTrade']);
    const started = performance.now();
    connection.start();
    await waitFor(() => handler.lives.length === 1, 10_000);
    // Three Retry-After: 1 waits: at least 3 s before the fourth attempt succeeded.
    expect(performance.now() - started).toBeGreaterThanOrEqual(3_000);
    expect(connection.stats.attempts).toBe(4);
    expect(budget.used(performance.now())).toBe(4);
    expect(seen.some((status) => status.detail.includes('HTTP 429 on upgrade (Retry-After 1000 ms)'))).toBe(true);
  });

  it('R-07: waits when the connection-attempt budget is used up', async () => {
    const fixture = await startFixture();
    const handler = recorder();
    const budget = new AttemptBudget(2, 1_500);
    budget.take(performance.now());
    budget.take(performance.now());
    const connection = connect(fixture, handler, { budget });
    const seen = statuses(connection);
    connection.subscribe(['btcusdt@aggTrade']);
    connection.start();
    expect(seen.at(-1)?.detail).toContain('connection budget of binance used up');
    await waitFor(() => handler.lives.length === 1, 5_000);
  });

  it('R-08: control messages never exceed the venue rate, when adding 200 streams one by one and after a drop', async () => {
    const fixture = await startFixture({ tickMs: 200 });
    const handler = recorder();
    const connection = connect(fixture, handler, { maxStreamsPerMessage: 10 });
    const streams = Array.from({ length: 200 }, (_, i) => `s${i}usdt@aggTrade`);
    connection.start();
    await waitFor(() => handler.lives.length === 1);
    // 200 single-stream calls, as a UI adding symbols one by one would make: bundled by 10.
    for (const stream of streams) connection.subscribe([stream]);
    await waitFor(() => (fixture.subscriptions[0]?.size ?? 0) === 200, 30_000);
    expect(fixture.control.filter((entry) => entry.message.includes('SUBSCRIBE'))).toHaveLength(20);
    (fixture.sockets[0] as WebSocket).terminate();
    await waitFor(() => (fixture.subscriptions[1]?.size ?? 0) === 200 && handler.lives.length === 2, 30_000);
    // The limit is per connection: the highest count within one second on either socket.
    let peak = 0;
    for (const conn of [0, 1]) {
      const times = fixture.control.filter((entry) => entry.conn === conn).map((entry) => entry.at);
      for (let i = 0; i < times.length; i++) {
        let j = i;
        while (j < times.length && (times[j] as number) - (times[i] as number) < 1000) j++;
        peak = Math.max(peak, j - i);
      }
    }
    // JSON control messages only (pings are frames the fixture does not log): at most 5 per second.
    expect(peak).toBeLessThanOrEqual(5);
    expect(peak).toBeGreaterThanOrEqual(4);
    // 20 SUBSCRIBE per socket; a busy socket is never pinged, so pings take none of the budget.
    expect(connection.stats.controlSent).toBe(40);
  }, 60_000);

  it('R-11: stop() during backoff leaves no reconnect, no socket and no timer', async () => {
    const fixture = await startFixture();
    const handler = recorder();
    const connection = connect(fixture, handler);
    connection.subscribe(['btcusdt@aggTrade']);
    connection.start();
    await waitFor(() => handler.lives.length === 1);
    (fixture.sockets[0] as WebSocket).terminate();
    await waitFor(() => handler.interruptions.length === 1);
    const seen = statuses(connection);
    connection.stop();
    const attempts = connection.stats.attempts;
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(connection.stats.attempts).toBe(attempts);
    expect(connection.openSockets).toBe(0);
    expect(seen.at(-1)?.state).toBe('closed');
    expect([...fixture.wss.clients].filter((socket) => socket.readyState === WebSocket.OPEN)).toHaveLength(0);
  });
});
