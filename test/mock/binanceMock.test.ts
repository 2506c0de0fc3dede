import type { ClientRequest, IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RawData } from 'ws';
import { ConfigError } from '../../src/errors.js';
import type { MockBinance, MockBinanceOptions } from '../../src/mock/binance/index.js';
import { startMockBinance } from '../../src/mock/binance/index.js';
import type { BinanceControl, BinanceMarket, BinanceRecord } from '../../src/sources/binance/parse.js';
import { createBinanceParser } from '../../src/sources/binance/parse.js';

const START = Date.UTC(2025, 0, 1);

/** Applies depth levels to one side of a local book: quantity 0 removes the level. */
function applyLevels(side: Map<string, string>, levels: readonly (readonly [string, string])[]): void {
  for (const [p, q] of levels) {
    if (Number(q) === 0) side.delete(p);
    else side.set(p, q);
  }
}

/** A manual-time mock with the fast timing profile and no maximum age, unless told otherwise. */
const BASE: MockBinanceOptions = {
  mode: 'manual',
  startTime: START,
  warmupMs: 20_000,
  timing: 'test',
  spot: { maxAgeMs: null },
  usdm: { maxAgeMs: null },
  symbols: ['BTC-USDT', 'ETH-USDT'],
};

const mocks: MockBinance[] = [];
const clients: Client[] = [];

async function start(options: MockBinanceOptions = {}): Promise<MockBinance> {
  const mock = await startMockBinance({ ...BASE, ...options });
  mocks.push(mock);
  return mock;
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.ws.terminate();
  await Promise.all(mocks.splice(0).map((mock) => mock.close()));
});

/** A plain `ws` client that records everything it receives, in order. */
class Client {
  readonly ws: WebSocket;
  /** Text frames in arrival order. */
  readonly texts: string[] = [];
  readonly binaries: Buffer[] = [];
  /** Every event in order: `text`, `binary`, `ping`, `pong`. */
  readonly events: string[] = [];
  closed: { code: number; reason: string } | undefined;
  #wake: (() => void)[] = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: RawData, binary: boolean) => {
      const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      if (binary) this.binaries.push(buffer);
      else this.texts.push(buffer.toString('utf8'));
      this.events.push(binary ? 'binary' : 'text');
      this.#notify();
    });
    ws.on('ping', () => {
      this.events.push('ping');
      this.#notify();
    });
    ws.on('pong', () => {
      this.events.push('pong');
      this.#notify();
    });
    ws.on('error', () => undefined);
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString('utf8') };
      this.#notify();
    });
  }

  static async open(url: string, options: WebSocket.ClientOptions = {}): Promise<Client> {
    const ws = new WebSocket(url, options);
    const client = new Client(ws);
    clients.push(client);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => {
        resolve();
      });
      ws.once('error', reject);
    });
    return client;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Waits until `predicate` holds; fails if the socket closes first. */
  async until(predicate: () => boolean, what: string): Promise<void> {
    for (;;) {
      if (predicate()) return;
      if (this.closed !== undefined) throw new Error(`Socket closed (${this.closed.code} ${this.closed.reason}) before: ${what}`);
      await new Promise<void>((resolve) => this.#wake.push(resolve));
    }
  }

  async untilClosed(): Promise<{ code: number; reason: string }> {
    while (this.closed === undefined) await new Promise<void>((resolve) => this.#wake.push(resolve));
    return this.closed;
  }

  /** The reply with this id. */
  async reply(id: unknown): Promise<Record<string, unknown>> {
    let found: Record<string, unknown> | undefined;
    await this.until(() => {
      found = this.json().find((m) => 'id' in m && m.id === id && ('result' in m || 'error' in m));
      return found !== undefined;
    }, `reply ${JSON.stringify(id)}`);
    return found ?? {};
  }

  /** Text frames parsed, the ones that are JSON objects. */
  json(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const text of this.texts) {
      try {
        const value: unknown = JSON.parse(text);
        if (typeof value === 'object' && value !== null && !Array.isArray(value)) out.push(value as Record<string, unknown>);
      } catch {
        // Malformed frames are counted by the tests that inject them.
      }
    }
    return out;
  }

  /** Payloads of data frames (raw, or `data` of combined frames) of event type `e`. */
  payloads(e: string): Record<string, unknown>[] {
    return this.json()
      .map((m) => ('stream' in m && typeof m.data === 'object' && m.data !== null ? (m.data as Record<string, unknown>) : m))
      .filter((p) => p.e === e);
  }

  #notify(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }
}

async function getJson(url: string): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** Opens a WebSocket expected to be refused; returns the HTTP status, Retry-After and body. */
function refused(url: string): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('error', () => undefined);
    ws.on('open', () => {
      ws.terminate();
      reject(new Error(`${url} was accepted`));
    });
    ws.on('unexpected-response', (req: ClientRequest, res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        req.destroy();
        const retry = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, retryAfter: typeof retry === 'string' ? retry : undefined, body });
      });
    });
  });
}

function ids(payloads: readonly Record<string, unknown>[], field: string): number[] {
  return payloads.map((p) => p[field] as number);
}

describe('mock Binance WebSocket front-end', () => {
  it('serves raw /ws/<stream> and combined /stream?streams= frames', async () => {
    const mock = await start();
    const raw = await Client.open(`${mock.spotWsUrl}/ws/btcusdt@aggTrade`);
    const combined = await Client.open(`${mock.spotWsUrl}/stream?streams=btcusdt@aggTrade/ethusdt@bookTicker`);
    mock.sim.advanceBy(5_000);
    await raw.until(() => raw.texts.length >= 5, '5 raw frames');
    await combined.until(() => combined.json().some((m) => m.stream === 'ethusdt@bookTicker'), 'a bookTicker frame');
    expect(JSON.parse(raw.texts[0] ?? '')).toMatchObject({ e: 'aggTrade', s: 'BTCUSDT' });
    const first = combined.json()[0];
    expect(Object.keys(first ?? {}), 'combined frames are {stream, data}').toEqual(['stream', 'data']);
    const streams = new Set(combined.json().map((m) => m.stream));
    expect(streams).toEqual(new Set(['btcusdt@aggTrade', 'ethusdt@bookTicker']));
  });

  it('acknowledges SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS and properties exactly as Binance', async () => {
    const mock = await start({ spot: { maxAgeMs: null, controlRateLimit: 100 } });
    const client = await Client.open(`${mock.spotWsUrl}/ws`);
    client.send({ method: 'SUBSCRIBE', params: ['btcusdt@aggTrade', 'btcusdt@depth@100ms'], id: 1 });
    await client.reply(1);
    client.send({ method: 'LIST_SUBSCRIPTIONS', id: 2 });
    await client.reply(2);
    client.send({ method: 'UNSUBSCRIBE', params: ['btcusdt@depth@100ms'], id: 3 });
    await client.reply(3);
    client.send({ method: 'LIST_SUBSCRIPTIONS', id: 'list-4' });
    await client.reply('list-4');
    const replies = client.texts.filter((text) => text.includes('"id"'));
    expect(replies).toEqual([
      '{"result":null,"id":1}',
      '{"result":["btcusdt@aggTrade","btcusdt@depth@100ms"],"id":2}',
      '{"result":null,"id":3}',
      '{"result":["btcusdt@aggTrade"],"id":"list-4"}',
    ]);
    client.send({ method: 'SET_PROPERTY', params: ['combined', true], id: 5 });
    client.send({ method: 'GET_PROPERTY', params: ['combined'], id: 6 });
    expect(await client.reply(6)).toEqual({ result: true, id: 6 });
    const before = client.texts.length;
    mock.sim.advanceBy(5_000);
    await client.until(() => client.texts.length > before, 'data after SET_PROPERTY');
    expect(JSON.parse(client.texts.at(-1) ?? '')).toMatchObject({ stream: 'btcusdt@aggTrade', data: { e: 'aggTrade' } });
  });

  it('answers bad requests with Binance error replies naming the problem', async () => {
    const mock = await start({ spot: { maxAgeMs: null, maxStreams: 2, controlRateLimit: 100 } });
    const client = await Client.open(`${mock.spotWsUrl}/ws`);
    client.send({ method: 'SUBSCRIBE', params: ['btcusdt@nonsense'], id: 1 });
    expect(await client.reply(1)).toEqual({ error: { code: 2, msg: 'Invalid request: unknown stream "btcusdt@nonsense" on spot' }, id: 1 });
    client.send('{"method":');
    await client.until(() => client.texts.some((t) => t.includes('"code":3')), 'the invalid JSON reply');
    expect(client.json().find((m) => (m.error as { code?: number } | undefined)?.code === 3)).toMatchObject({ id: null, error: { msg: expect.stringMatching(/^Invalid JSON: /) as unknown } });
    client.send({ method: 'SUBSCRIBEX', params: [], id: 2 });
    expect(await client.reply(2)).toMatchObject({ error: { code: 2, msg: expect.stringContaining('unknown method "SUBSCRIBEX"') as unknown } });
    client.send({ method: 'SET_PROPERTY', params: ['compressed', true], id: 3 });
    expect(await client.reply(3)).toEqual({ error: { code: 0, msg: 'Unknown property "compressed"' }, id: 3 });
    client.send({ method: 'SET_PROPERTY', params: ['combined', 'yes'], id: 4 });
    expect(await client.reply(4)).toEqual({ error: { code: 1, msg: 'Invalid value type: expected Boolean, got "yes"' }, id: 4 });
    client.send({ method: 'SUBSCRIBE', params: ['btcusdt@aggTrade', 'btcusdt@trade', 'ethusdt@trade'], id: 5 });
    expect(await client.reply(5)).toEqual({ error: { code: 2, msg: 'Invalid request: 3 streams would exceed the limit of 2 per connection' }, id: 5 });
    client.send({ method: 'SUBSCRIBE', params: 'btcusdt@aggTrade', id: 6 });
    expect(await client.reply(6)).toMatchObject({ error: { code: 2 } });
    client.send({ method: 'LIST_SUBSCRIPTIONS', id: { bad: true } });
    await client.until(() => client.texts.some((t) => t.includes('request id')), 'the bad id reply');
    client.send({ method: 'LIST_SUBSCRIPTIONS', id: 7 });
    expect(await client.reply(7), 'nothing was subscribed by the bad requests').toEqual({ result: [], id: 7 });
  });

  it('refuses unknown paths (404) and bad stream names (400) at the upgrade', async () => {
    const mock = await start();
    const missing = await refused(`${mock.spotWsUrl}/nowhere`);
    expect([missing.status, JSON.parse(missing.body)]).toEqual([404, { code: 2, msg: 'No WebSocket endpoint at "/nowhere". Available: /ws, /ws/<stream>, /stream?streams=' }]);
    const bad = await refused(`${mock.spotWsUrl}/ws/btcusdt@depth@250ms`);
    expect([bad.status, JSON.parse(bad.body)]).toEqual([400, { code: 2, msg: 'Invalid request: update speed "250ms" is not offered on spot (100ms or 1000ms) in stream "btcusdt@depth@250ms"' }]);
    expect((await refused(`${mock.usdmWsUrl}/public/stream?streams=btcusdt@kline_1s`)).status).toBe(400);
  });

  it('serves USD-M streams on their route only; a wrong route is acknowledged and silent', async () => {
    const mock = await start();
    const pub = await Client.open(`${mock.usdmWsUrl}/public/stream?streams=btcusdt@depth@100ms/btcusdt@aggTrade`);
    const market = await Client.open(`${mock.usdmWsUrl}/market/ws/btcusdt@aggTrade`);
    const legacy = await Client.open(`${mock.usdmWsUrl}/stream?streams=btcusdt@aggTrade/btcusdt@bookTicker`);
    mock.sim.advanceBy(5_000);
    await pub.until(() => pub.payloads('depthUpdate').length >= 5, 'depth on /public');
    await market.until(() => market.payloads('aggTrade').length >= 5, 'aggTrade on /market');
    await legacy.until(() => legacy.payloads('bookTicker').length >= 5, 'bookTicker on the legacy route');
    pub.send({ method: 'LIST_SUBSCRIPTIONS', id: 1 });
    expect(await pub.reply(1)).toEqual({ result: ['btcusdt@depth@100ms', 'btcusdt@aggTrade'], id: 1 });
    legacy.send({ method: 'LIST_SUBSCRIPTIONS', id: 1 });
    await legacy.reply(1);
    expect(pub.payloads('aggTrade'), 'aggTrade is not served on /public').toEqual([]);
    expect(legacy.payloads('aggTrade'), 'market streams are not served on the legacy route (2026)').toEqual([]);
    const stats = mock.stats.snapshot().connections;
    expect(stats.map((c) => [c.route, c.silentStreams])).toEqual([
      ['public', ['btcusdt@aggTrade']],
      ['market', []],
      ['legacy', ['btcusdt@aggTrade']],
    ]);
  });

  it('sends frames the Binance parser reads without a single drop, spot and USD-M', async () => {
    // Production timing: a long synchronous advance must not starve the 100 ms ping deadline.
    const mock = await start({ klineUpdateMs: 250, timing: 'production', liquidationsPerHour: 1_200 });
    const spot = await Client.open(
      `${mock.spotWsUrl}/stream?streams=btcusdt@trade/btcusdt@aggTrade/btcusdt@kline_1s/ethusdt@kline_1m/btcusdt@bookTicker/btcusdt@depth@100ms/btcusdt@depth5`,
    );
    const pub = await Client.open(`${mock.usdmWsUrl}/public/stream?streams=btcusdt@depth/btcusdt@depth20@100ms/!bookTicker`);
    const market = await Client.open(`${mock.usdmWsUrl}/market/stream?streams=btcusdt@aggTrade/btcusdt@kline_1m/!markPrice@arr@1s/btcusdt@markPrice/!forceOrder@arr`);
    mock.sim.advanceBy(90_000);
    for (const client of [spot, pub, market]) {
      client.send({ method: 'LIST_SUBSCRIPTIONS', id: 99 });
      await client.reply(99);
    }
    const parse = (market: BinanceMarket, texts: readonly string[]): { records: BinanceRecord[]; drops: string[] } => {
      const parser = createBinanceParser({ market, verifyFastPath: true });
      const records: BinanceRecord[] = [];
      const drops: string[] = [];
      for (const text of texts) {
        if (text.includes('"id"')) continue;
        parser.parse(text, START + 86_400_000, { record: (r) => records.push(r), control: () => undefined, drop: (reason) => drops.push(reason) });
      }
      return { records, drops };
    };
    const s = parse('spot', spot.texts);
    const u = parse('usdm', [...pub.texts, ...market.texts]);
    expect(s.drops, 'spot frames all parse').toEqual([]);
    expect(u.drops, 'USD-M frames all parse').toEqual([]);
    expect(new Set(s.records.map((r) => r.type))).toEqual(new Set(['trade', 'candle', 'book-top', 'book-depth']));
    expect(new Set(u.records.map((r) => r.type))).toEqual(new Set(['trade', 'candle', 'book-top', 'book-depth', 'mark-price', 'liquidation']));
    const candles = s.records.filter((r) => r.type === 'candle');
    expect(candles.some((c) => c.closed) && candles.some((c) => !c.closed), 'forming and final klines').toBe(true);
  });

  it('keeps spot diff depth contiguous and consistent with a REST snapshot', async () => {
    const mock = await start();
    const client = await Client.open(`${mock.spotWsUrl}/ws/btcusdt@depth@100ms`);
    mock.sim.advanceBy(2_000);
    await client.until(() => client.payloads('depthUpdate').length >= 10, 'buffered depth events');
    const snapshot = (await getJson(`${mock.spotRestUrl}/api/v3/depth?symbol=BTCUSDT&limit=5000`)).body as { lastUpdateId: number; bids: [string, string][]; asks: [string, string][] };
    mock.sim.advanceBy(5_000);
    await client.until(() => ((client.payloads('depthUpdate').at(-1)?.u as number | undefined) ?? 0) >= mock.sim.spot.symbol('BTCUSDT')!.book.lastUpdateId, 'events up to the book');
    // protocols.md §1.5: drop u <= L, the first applied must contain L+1, then U = previous u + 1.
    const events = client.payloads('depthUpdate') as unknown as { U: number; u: number; b: [string, string][]; a: [string, string][] }[];
    const live = events.filter((e) => e.u > snapshot.lastUpdateId);
    expect(live[0]?.U, 'the first live event covers L + 1').toBeLessThanOrEqual(snapshot.lastUpdateId + 1);
    const bids = new Map(snapshot.bids);
    const asks = new Map(snapshot.asks);
    let last = snapshot.lastUpdateId;
    for (const event of live) {
      if (last !== snapshot.lastUpdateId) expect(event.U, 'no gap').toBe(last + 1);
      applyLevels(bids, event.b);
      applyLevels(asks, event.a);
      last = event.u;
    }
    const after = (await getJson(`${mock.spotRestUrl}/api/v3/depth?symbol=BTCUSDT&limit=5000`)).body as typeof snapshot;
    expect(after.lastUpdateId).toBe(last);
    expect(bids).toEqual(new Map(after.bids));
    expect(asks).toEqual(new Map(after.asks));
  });

  it('chains USD-M depth with pu and agrees with /fapi/v1/depth', async () => {
    const mock = await start();
    const client = await Client.open(`${mock.usdmWsUrl}/public/ws/btcusdt@depth@100ms`);
    mock.sim.advanceBy(2_000);
    await client.until(() => client.payloads('depthUpdate').length >= 10, 'buffered depth events');
    const { body, headers } = await getJson(`${mock.usdmRestUrl}/fapi/v1/depth?symbol=BTCUSDT&limit=1000`);
    const snapshot = body as { lastUpdateId: number; E: number; T: number; bids: [string, string][]; asks: [string, string][] };
    expect(headers.get('x-mbx-used-weight-1m'), 'limit 1000 weighs 20').toBe('20');
    mock.sim.advanceBy(5_000);
    await client.until(() => ((client.payloads('depthUpdate').at(-1)?.u as number | undefined) ?? 0) >= mock.sim.usdm.symbol('BTCUSDT')!.book.lastUpdateId, 'events up to the book');
    const events = client.payloads('depthUpdate') as unknown as { U: number; u: number; pu: number; b: [string, string][]; a: [string, string][] }[];
    // protocols.md §2.3: drop u < L; the first applied has U <= L <= u; then pu = previous u.
    const live = events.filter((e) => e.u >= snapshot.lastUpdateId);
    expect(live[0]?.U).toBeLessThanOrEqual(snapshot.lastUpdateId);
    const bids = new Map(snapshot.bids);
    const asks = new Map(snapshot.asks);
    live.forEach((event, i) => {
      if (i > 0) expect(event.pu).toBe(live[i - 1]?.u);
      applyLevels(bids, event.b);
      applyLevels(asks, event.a);
    });
    const after = (await getJson(`${mock.usdmRestUrl}/fapi/v1/depth?symbol=BTCUSDT&limit=1000`)).body as typeof snapshot;
    expect(after.lastUpdateId).toBe(live.at(-1)?.u);
    expect(bids).toEqual(new Map(after.bids));
    expect(asks).toEqual(new Map(after.asks));
  });

  it('closes a connection with 1008 when it sends more control messages than the limit', async () => {
    // A frozen clock puts every message in the same second, whatever the machine's speed.
    const clock = { now: () => START + 3_600_000 };
    const mock = await start({ clock });
    const spot = await Client.open(`${mock.spotWsUrl}/ws`);
    for (let id = 1; id <= 6; id++) spot.send({ method: 'LIST_SUBSCRIPTIONS', id });
    expect(await spot.untilClosed()).toEqual({ code: 1008, reason: 'Too many requests' });
    expect(spot.json().map((m) => m.id), 'five answered').toEqual([1, 2, 3, 4, 5]);
    const usdm = await Client.open(`${mock.usdmWsUrl}/market/ws`);
    for (let id = 1; id <= 10; id++) usdm.send({ method: 'LIST_SUBSCRIPTIONS', id });
    await usdm.reply(10);
    expect(usdm.closed, 'ten a second is allowed on USD-M').toBeUndefined();
    usdm.send({ method: 'LIST_SUBSCRIPTIONS', id: 11 });
    expect((await usdm.untilClosed()).code).toBe(1008);
    const stats = mock.stats.snapshot();
    expect(stats.closes1008).toBe(2);
    expect(stats.connections.map((c) => [c.market, c.controlMessages, c.peakControlRate, c.closeCode])).toEqual([
      ['spot', 5, 6, 1008],
      ['usdm', 10, 11, 1008],
    ]);
  });

  it('refuses upgrades past the connection-attempt limit with 429 and Retry-After', async () => {
    const clock = { now: () => START + 3_600_000 };
    const mock = await start({ clock, spot: { maxAgeMs: null, connectionAttempts: 2, connectionWindowMs: 60_000 } });
    await Client.open(`${mock.spotWsUrl}/ws`);
    await Client.open(`${mock.spotWsUrl}/ws`);
    const third = await refused(`${mock.spotWsUrl}/ws`);
    expect([third.status, third.retryAfter]).toEqual([429, '60']);
    expect(JSON.parse(third.body)).toEqual({ code: -1003, msg: 'Too many connection attempts: more than 2 in 60000 ms.' });
    await Client.open(`${mock.usdmWsUrl}/market/ws`);
    expect(mock.stats.snapshot().throttledUpgrades, 'the limit is per market').toBe(1);
  });

  it('pings every interval and cuts a client that does not answer', async () => {
    const mock = await start();
    const healthy = await Client.open(`${mock.spotWsUrl}/ws/btcusdt@aggTrade`);
    const deaf = await Client.open(`${mock.spotWsUrl}/ws/btcusdt@aggTrade`, { autoPong: false });
    expect((await deaf.untilClosed()).code, 'a dead client is cut without a close frame').toBe(1006);
    await healthy.until(() => healthy.events.filter((e) => e === 'ping').length >= 5, 'five pings');
    expect(healthy.closed, 'a client that answers stays').toBeUndefined();
    expect(mock.stats.snapshot().pongTimeouts).toBe(1);
  });

  it('closes at maxAge, after a serverShutdown notice when configured', async () => {
    const mock = await start({ spot: { maxAgeMs: 400, shutdownNoticeMs: 200 }, usdm: { maxAgeMs: 300, maxAgeCloseCode: 1001 } });
    const raw = await Client.open(`${mock.spotWsUrl}/ws/btcusdt@aggTrade`);
    const combined = await Client.open(`${mock.spotWsUrl}/stream?streams=btcusdt@aggTrade`);
    const futures = await Client.open(`${mock.usdmWsUrl}/market/ws/btcusdt@aggTrade`);
    expect(await raw.untilClosed()).toEqual({ code: 1000, reason: 'Connection reached its maximum age' });
    expect((await combined.untilClosed()).code).toBe(1000);
    expect((await futures.untilClosed()).code).toBe(1001);
    expect(raw.payloads('serverShutdown')).toHaveLength(1);
    expect(combined.json().filter((m) => m.stream === '!serverShutdown')).toHaveLength(1);
    expect(futures.texts, 'no notice unless configured').toEqual([]);
    const controls: BinanceControl[] = [];
    createBinanceParser({ market: 'spot' }).parse(raw.texts[0] ?? '', Date.now(), { record: () => undefined, control: (c) => controls.push(c), drop: () => undefined });
    expect(controls.map((c) => c.kind)).toEqual(['server-shutdown']);
    const stats = mock.stats.snapshot();
    expect([stats.maxAgeCloses, stats.serverShutdownNotices]).toEqual([3, 2]);
  });

  it('follows the wall clock in realtime mode', async () => {
    const mock = await start({ mode: 'realtime', startTime: undefined, speed: 5 });
    const client = await Client.open(`${mock.spotWsUrl}/ws/btcusdt@aggTrade`);
    await client.until(() => client.texts.length >= 10, 'ten trades in real time');
    const times = ids(client.payloads('aggTrade'), 'T');
    expect(times.every((t, i) => i === 0 || t >= (times[i - 1] ?? 0))).toBe(true);
  });

  it('runs as fast as the client reads in firehose mode, losing nothing', async () => {
    // Production timing: a client in the same process, flooded, may answer pings late (a real cut).
    const mock = await start({
      mode: 'firehose',
      timing: 'production',
      symbols: [{ symbol: 'BTC-USDT', tradeRate: 20_000 }],
      book: { levels: 20, updatesPerSecond: 0 },
      highWaterMarkBytes: 256 * 1024,
    });
    const client = await Client.open(`${mock.spotWsUrl}/ws/btcusdt@aggTrade`);
    await client.until(() => client.texts.length >= 30_000, '30k frames');
    const aggIds = ids(client.payloads('aggTrade'), 'a');
    expect(aggIds.every((id, i) => i === 0 || id === (aggIds[i - 1] ?? 0) + 1), 'contiguous ids').toBe(true);
    expect(mock.stats.snapshot().markets.spot.messagesByStream['btcusdt@aggTrade']).toBeGreaterThanOrEqual(30_000);
  });
});

describe('mock Binance prerendered frames (firehose benchmarks)', () => {
  it('sends the prerendered frames first, then live ones, ids contiguous, raw and combined', async () => {
    const mock = await start({
      mode: 'firehose',
      timing: 'production',
      symbols: [{ symbol: 'BTC-USDT', tradeRate: 5_000 }],
      book: { levels: 20, updatesPerSecond: 0 },
      spot: { prerender: { streams: ['btcusdt@aggTrade'], frames: 5_000 } },
    });
    const afterPrerender = mock.sim.spot.simulator('BTC-USDT').historyRange()?.lastId ?? 0;
    const raw = await Client.open(`${mock.spotWsUrl}/ws/btcusdt@aggTrade`);
    // Opened once the clock may have moved on: it gets the prerendered frames only if it has not.
    const combined = await Client.open(`${mock.spotWsUrl}/stream?streams=btcusdt@aggTrade`);
    for (const client of [raw, combined]) await client.until(() => client.texts.length >= 8_000, '8k frames');
    for (const client of [raw, combined]) {
      const aggIds = ids(client.payloads('aggTrade'), 'a');
      expect(aggIds.every((id, i) => i === 0 || id === (aggIds[i - 1] ?? 0) + 1), 'contiguous ids across the switch to live').toBe(true);
      expect(aggIds.at(-1), 'live frames follow the prerendered ones').toBeGreaterThan(afterPrerender);
    }
    expect(ids(raw.payloads('aggTrade'), 'a')[0], 'the first client starts with the prerendered frames').toBeLessThanOrEqual(afterPrerender - 4_999);
    expect(JSON.parse(combined.texts[0] ?? '')).toMatchObject({ stream: 'btcusdt@aggTrade', data: { e: 'aggTrade' } });
  });

  it('needs firehose mode and valid stream names', async () => {
    await expect(startMockBinance({ mode: 'manual', spot: { prerender: { streams: ['btcusdt@aggTrades'], frames: 10 } } })).rejects.toThrow(
      /prerender needs mode "firehose", not "manual"[\s\S]*unknown stream "btcusdt@aggTrades" on spot[\s\S]*spot\.prerender\.streams\.0/,
    );
  });
});

describe('mock Binance REST front-end', () => {
  it('serves klines and aggTrades equal to the simulator history and to what the stream sent', async () => {
    const mock = await start();
    const client = await Client.open(`${mock.spotWsUrl}/stream?streams=btcusdt@kline_1s/btcusdt@aggTrade`);
    mock.sim.advanceBy(30_000);
    await client.until(() => client.payloads('kline').filter((k) => (k.k as { x: boolean }).x).length >= 30, '30 final 1s bars');
    const finals = client.payloads('kline').map((m) => m.k as Record<string, unknown>).filter((k) => k.x === true);
    const first = finals[0]?.t as number;
    const { body: rows, headers } = await getJson(`${mock.spotRestUrl}/api/v3/klines?symbol=BTCUSDT&interval=1s&startTime=${first}&limit=${finals.length}`);
    expect(headers.get('x-mbx-used-weight-1m')).toBe('2');
    expect((rows as unknown[][]).map((r) => [r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10]])).toEqual(
      finals.map((k) => [k.t, k.o, k.h, k.l, k.c, k.v, k.T, k.q, k.n, k.V, k.Q]),
    );
    const truth = mock.sim.spot.simulator('BTC-USDT').klines('1s', first, first + (finals.length - 1) * 1_000);
    const closedTruth = truth.filter((c) => c.closed);
    expect(closedTruth.length).toBeGreaterThan(20);
    const byOpen = new Map((rows as unknown[][]).map((r) => [r[0], r]));
    for (const candle of closedTruth) {
      const row = byOpen.get(candle.openTime);
      expect(row && [Number(row[1]), Number(row[2]), Number(row[3]), Number(row[4]), Number(row[5]), Number(row[7]), row[8], Number(row[9])]).toEqual([
        candle.open,
        candle.high,
        candle.low,
        candle.close,
        candle.volume,
        candle.quoteVolume,
        candle.trades,
        candle.takerBuyVolume,
      ]);
    }
    const trades = client.payloads('aggTrade');
    const firstId = trades[0]?.a as number;
    const rest = (await getJson(`${mock.spotRestUrl}/api/v3/aggTrades?symbol=BTCUSDT&fromId=${firstId}&limit=${trades.length}`)).body as Record<string, unknown>[];
    expect(rest).toEqual(trades.map(({ a, p, q, f, l, T, m, M }) => ({ a, p, q, f, l, T, m, M })));
    const sim = mock.sim.spot.simulator('BTC-USDT').tradesFromId(firstId, trades.length);
    expect(rest.map((r) => [r.a, Number(r.p), Number(r.q), r.T])).toEqual(sim.map((t) => [t.id, t.price, t.qty, t.tsEvent]));
    const byTime = (await getJson(`${mock.spotRestUrl}/api/v3/aggTrades?symbol=BTCUSDT&startTime=${trades[0]?.T as number}&endTime=${trades.at(-1)?.T as number}&limit=1000`)).body as unknown[];
    expect(byTime.length).toBeGreaterThanOrEqual(trades.length);
  });

  it('answers time, exchangeInfo, premiumIndex and fundingRate', async () => {
    const mock = await start({ fundingIntervalHours: 1, warmupMs: 3_700_000, symbols: [{ symbol: 'BTC-USDT', tradeRate: 1 }], book: { levels: 10, updatesPerSecond: 0 } });
    expect((await getJson(`${mock.spotRestUrl}/api/v3/time`)).body).toEqual({ serverTime: mock.sim.now() });
    const info = (await getJson(`${mock.spotRestUrl}/api/v3/exchangeInfo?symbol=BTCUSDT`)).body as { symbols: { symbol: string; filters: { tickSize?: string }[] }[] };
    expect(info.symbols.map((s) => [s.symbol, s.filters[0]?.tickSize])).toEqual([['BTCUSDT', '0.01000000']]);
    const futures = (await getJson(`${mock.usdmRestUrl}/fapi/v1/exchangeInfo`)).body as { symbols: { symbol: string; contractType: string }[] };
    expect(futures.symbols.map((s) => [s.symbol, s.contractType])).toEqual([['BTCUSDT', 'PERPETUAL']]);
    const premium = (await getJson(`${mock.usdmRestUrl}/fapi/v1/premiumIndex?symbol=BTCUSDT`)).body as Record<string, unknown>;
    expect(premium).toMatchObject({ symbol: 'BTCUSDT', nextFundingTime: START + 7_200_000 });
    const funding = (await getJson(`${mock.usdmRestUrl}/fapi/v1/fundingRate?symbol=BTCUSDT`)).body as { fundingTime: number; fundingRate: string }[];
    expect(funding.map((f) => f.fundingTime)).toEqual([START + 3_600_000]);
    expect(funding[0]?.fundingRate).toMatch(/^-?[0-9]+\.[0-9]{8}$/);
  });

  it('checks parameters with Binance {code, msg} errors and counts weight per minute', async () => {
    const mock = await start();
    const base = mock.spotRestUrl;
    const cases: [string, number, number][] = [
      ['/api/v3/depth', 400, -1102],
      ['/api/v3/depth?symbol=DOGEUSDT', 400, -1121],
      ['/api/v3/depth?symbol=btcusdt', 400, -1121],
      ['/api/v3/depth?symbol=BTCUSDT&limit=ten', 400, -1100],
      ['/api/v3/depth?symbol=BTCUSDT&depth=10', 400, -1104],
      ['/api/v3/depth?symbol=BTCUSDT&symbol=ETHUSDT', 400, -1101],
      ['/api/v3/klines?symbol=BTCUSDT&interval=7m', 400, -1120],
      ['/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1001', 400, -1130],
      ['/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=2&endTime=1', 400, -1023],
      ['/api/v3/aggTrades?symbol=BTCUSDT&startTime=0&endTime=3600001', 400, -1127],
      ['/api/v3/aggTrades?symbol=BTCUSDT&fromId=1&startTime=0', 400, -1128],
      ['/fapi/v1/depth?symbol=BTCUSDT', 404, -1000],
    ];
    for (const [path, status, code] of cases) {
      const { status: got, body } = await getJson(base + path);
      expect([path, got, (body as { code: number }).code]).toEqual([path, status, code]);
      expect((body as { msg: string }).msg.length, `${path} says why`).toBeGreaterThan(5);
    }
    const missing = (await getJson(`${base}/api/v3/klines?symbol=BTCUSDT`)).body;
    expect(missing).toEqual({ code: -1102, msg: "Mandatory parameter 'interval' was not sent, was empty/null, or malformed." });
    const weights: string[] = [];
    for (const limit of [100, 500, 5000]) weights.push((await fetch(`${base}/api/v3/depth?symbol=BTCUSDT&limit=${limit}`)).headers.get('x-mbx-used-weight-1m') ?? '');
    const before = Number(weights[0]) - 5;
    expect(weights.map(Number)).toEqual([before + 5, before + 30, before + 280]);
  });

  it('answers 429 with Retry-After past the weight limit', async () => {
    const mock = await start({ spot: { maxAgeMs: null, weightLimit: 12 } });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${mock.spotRestUrl}/api/v3/depth?symbol=BTCUSDT`);
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = res.headers.get('retry-after');
        expect(await res.json()).toMatchObject({ code: -1003 });
      } else await res.arrayBuffer();
    }
    // Weight 5 a call, limit 12: unless the minute turns in between, the third call is over.
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    expect(statuses.includes(429)).toBe(true);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });
});

describe('mock Binance fault injector', () => {
  it('terminate cuts the connection without a close frame at a message index', async () => {
    const mock = await start();
    const client = await Client.open(`${mock.spotWsUrl}/ws/btcusdt@aggTrade`);
    mock.faults.terminate({ atMessage: 5 });
    mock.sim.advanceBy(10_000);
    expect((await client.untilClosed()).code).toBe(1006);
    expect(client.texts.length, 'cut at the fifth message').toBeLessThanOrEqual(5);
    const stats = mock.stats.snapshot();
    expect(stats.faultsInjected.terminate).toBe(1);
    expect(stats.connections[0]?.messagesSent).toBe(5);
  });

  it('close sends the requested code and reason', async () => {
    const mock = await start();
    const a = await Client.open(`${mock.spotWsUrl}/ws/btcusdt@aggTrade`);
    const b = await Client.open(`${mock.usdmWsUrl}/market/ws/btcusdt@aggTrade`);
    mock.faults.close(1011, 'internal error', { market: 'spot' });
    mock.faults.close(1001, 'going away', { connection: mock.stats.snapshot().connections[1]?.id ?? 0 });
    expect(await a.untilClosed()).toEqual({ code: 1011, reason: 'internal error' });
    expect(await b.untilClosed()).toEqual({ code: 1001, reason: 'going away' });
    expect(() => {
      mock.faults.close(1006);
    }).toThrow('Close code "1006" cannot be sent in a close frame');
    expect(() => {
      mock.faults.terminate();
    }).toThrow('No open connection matches');
  });

  it('silence stops data while pings and replies continue; unsilence resumes', async () => {
    const mock = await start();
    const client = await Client.open(`${mock.spotWsUrl}/ws/btcusdt@aggTrade`);
    mock.faults.silence();
    mock.sim.advanceBy(10_000);
    await client.until(() => client.events.filter((e) => e === 'ping').length >= 3, 'pings keep coming');
    client.send({ method: 'LIST_SUBSCRIPTIONS', id: 1 });
    expect(await client.reply(1)).toEqual({ result: ['btcusdt@aggTrade'], id: 1 });
    expect(client.payloads('aggTrade'), 'no data while silenced').toEqual([]);
    expect(mock.stats.snapshot().connections[0]?.suppressedFrames).toBeGreaterThan(10);
    mock.faults.unsilence();
    mock.sim.advanceBy(5_000);
    await client.until(() => client.payloads('aggTrade').length > 0, 'data again');
  });

  it('setAutoPong(false) leaves client pings unanswered', async () => {
    const mock = await start();
    const client = await Client.open(`${mock.spotWsUrl}/ws`);
    client.ws.ping('one');
    client.send({ method: 'LIST_SUBSCRIPTIONS', id: 1 });
    await client.reply(1);
    expect(client.events.filter((e) => e === 'pong'), 'answered before the reply').toHaveLength(1);
    mock.faults.setAutoPong(false);
    client.ws.ping('two');
    client.send({ method: 'LIST_SUBSCRIPTIONS', id: 2 });
    await client.reply(2);
    expect(client.events.filter((e) => e === 'pong'), 'no pong for the second ping').toHaveLength(1);
  });

  it('setPings(false) stops the server pings', async () => {
    const mock = await start({ spot: { maxAgeMs: 1_000 } });
    const client = await Client.open(`${mock.spotWsUrl}/ws`);
    mock.faults.setPings(false);
    await client.untilClosed();
    expect(client.events.filter((e) => e === 'ping'), 'no ping before the max-age close').toEqual([]);
    expect(mock.stats.snapshot().faultsInjected['no-ping']).toBe(1);
  });

  it('stallStream stops one stream while the others flow, until resumed', async () => {
    const mock = await start();
    const client = await Client.open(`${mock.spotWsUrl}/stream?streams=btcusdt@aggTrade/btcusdt@depth@100ms`);
    mock.faults.stallStream('btcusdt@depth@100ms');
    mock.sim.advanceBy(5_000);
    client.send({ method: 'LIST_SUBSCRIPTIONS', id: 1 });
    await client.reply(1);
    expect(client.payloads('aggTrade').length).toBeGreaterThan(10);
    expect(client.payloads('depthUpdate'), 'the stalled stream is silent').toEqual([]);
    mock.faults.resumeStream('btcusdt@depth@100ms');
    mock.sim.advanceBy(1_000);
    await client.until(() => client.payloads('depthUpdate').length > 0, 'depth again');
  });

  it('ignoreSubscribe and rejectSubscribe: no ack, or an error reply, and nothing subscribed', async () => {
    const mock = await start();
    const client = await Client.open(`${mock.spotWsUrl}/ws`);
    mock.faults.ignoreSubscribe(1);
    mock.faults.rejectSubscribe(1, { code: 2, msg: 'Invalid request: maintenance' });
    client.send({ method: 'SUBSCRIBE', params: ['btcusdt@aggTrade'], id: 1 });
    client.send({ method: 'SUBSCRIBE', params: ['btcusdt@aggTrade'], id: 2 });
    client.send({ method: 'LIST_SUBSCRIPTIONS', id: 3 });
    expect(await client.reply(3)).toEqual({ result: [], id: 3 });
    expect(client.json().map((m) => m.id), 'SUBSCRIBE 1 was never answered').toEqual([2, 3]);
    expect(client.json()[0]).toEqual({ error: { code: 2, msg: 'Invalid request: maintenance' }, id: 2 });
    client.send({ method: 'SUBSCRIBE', params: ['btcusdt@aggTrade'], id: 4 });
    expect(await client.reply(4), 'faults are used up').toEqual({ result: null, id: 4 });
  });

  it('rejectUpgrades refuses the next upgrades with a status and Retry-After', async () => {
    const mock = await start();
    mock.faults.rejectUpgrades({ count: 2, status: 503, retryAfterSec: 3, market: 'spot' });
    expect(await refused(`${mock.spotWsUrl}/ws`)).toMatchObject({ status: 503, retryAfter: '3' });
    expect(await refused(`${mock.spotWsUrl}/ws`)).toMatchObject({ status: 503, retryAfter: '3' });
    const client = await Client.open(`${mock.spotWsUrl}/ws`);
    expect(client.closed).toBeUndefined();
    expect(mock.stats.snapshot().rejectedUpgrades).toBe(2);
  });

  it('malformed inserts truncated, garbage, binary and 19-digit-id frames before real ones', async () => {
    const mock = await start();
    const client = await Client.open(`${mock.spotWsUrl}/ws/btcusdt@aggTrade`);
    for (const kind of ['truncated', 'garbage', 'binary', 'bigint-id'] as const) mock.faults.malformed(kind);
    mock.sim.advanceBy(10_000);
    await client.until(() => client.texts.length >= 20, 'frames after the junk');
    const parser = createBinanceParser({ market: 'spot' });
    const drops: string[] = [];
    const trades: BinanceRecord[] = [];
    for (const text of client.texts) parser.parse(text, Date.now(), { record: (r) => trades.push(r), control: () => undefined, drop: (reason) => drops.push(reason) });
    expect(drops.filter((d) => d.startsWith('invalid JSON')), 'truncated and garbage').toHaveLength(2);
    expect(drops.filter((d) => d.includes('"a" is not a non-negative integer')), 'the 19-digit id').toHaveLength(1);
    expect(client.binaries).toHaveLength(1);
    expect(client.texts.some((t) => /"a":1[0-9]{18},/.test(t))).toBe(true);
    const aggIds = trades.map((t) => (t.type === 'trade' ? t.id : -1));
    expect(aggIds.every((id, i) => i === 0 || id === (aggIds[i - 1] ?? 0) + 1), 'no valid frame lost').toBe(true);
    expect(mock.stats.snapshot().faultsInjected.malformed).toBe(4);
  });

  it('malformed invalid-utf8 and oversized frames make the client close with 1007 and 1009', async () => {
    const mock = await start();
    const a = await Client.open(`${mock.spotWsUrl}/ws/btcusdt@aggTrade`);
    const b = await Client.open(`${mock.spotWsUrl}/ws/btcusdt@aggTrade`, { maxPayload: 1_024 });
    const [idA, idB] = mock.stats.snapshot().connections.map((c) => c.id);
    mock.faults.malformed('invalid-utf8', { connection: idA ?? 0 });
    mock.faults.malformed('oversized', { connection: idB ?? 0, bytes: 4_096 });
    mock.sim.advanceBy(5_000);
    await Promise.all([a.untilClosed(), b.untilClosed()]);
    // The client's close frame carries the reason; ws stops reading after a protocol error, so it reports 1006 itself.
    let connections = mock.stats.snapshot().connections;
    while (connections.some((c) => c.closedAt === undefined)) {
      await new Promise((resolve) => setImmediate(resolve));
      connections = mock.stats.snapshot().connections;
    }
    expect(connections.map((c) => [c.closedBy, c.closeCode])).toEqual([
      ['client', 1007],
      ['client', 1009],
    ]);
  });

  it('duplicate, reorder, skipAggTrades, skip: visible in the ids', async () => {
    const mock = await start();
    const dup = await Client.open(`${mock.spotWsUrl}/ws/btcusdt@aggTrade`);
    const shuffled = await Client.open(`${mock.spotWsUrl}/ws/btcusdt@aggTrade`);
    const gap = await Client.open(`${mock.spotWsUrl}/ws/btcusdt@aggTrade`);
    const tickers = await Client.open(`${mock.spotWsUrl}/stream?streams=btcusdt@aggTrade/btcusdt@bookTicker`);
    const control = await Client.open(`${mock.spotWsUrl}/stream?streams=btcusdt@aggTrade/btcusdt@bookTicker`);
    const [a, b, c, d] = mock.stats.snapshot().connections.map((conn) => conn.id);
    mock.faults.duplicate(3, { connection: a ?? 0, atMessage: 2 });
    mock.faults.reorder(5, { connection: b ?? 0 });
    mock.faults.skipAggTrades(4, { connection: c ?? 0, atMessage: 3 });
    mock.faults.skip(2, { connection: d ?? 0, stream: 'btcusdt@bookTicker' });
    mock.sim.advanceBy(10_000);
    for (const client of [dup, shuffled, gap, tickers, control]) {
      client.send({ method: 'LIST_SUBSCRIPTIONS', id: 1 });
      await client.reply(1);
    }
    const bookIds = (client: Client): number[] => client.json().filter((m) => m.stream === 'btcusdt@bookTicker').map((m) => (m.data as { u: number }).u);
    expect(bookIds(tickers), 'the first two bookTickers were skipped').toEqual(bookIds(control).slice(2));
    expect(ids(tickers.payloads('aggTrade'), 'a'), 'the other stream is untouched').toEqual(ids(control.payloads('aggTrade'), 'a'));
    const dupIds = ids(dup.payloads('aggTrade'), 'a');
    const x = dupIds[0] ?? 0;
    expect(dupIds.slice(0, 9)).toEqual([x, x + 1, x + 2, x + 2, x + 3, x + 3, x + 4, x + 4, x + 5]);
    const shuffledIds = ids(shuffled.payloads('aggTrade'), 'a').slice(0, 5);
    expect(shuffledIds).not.toEqual([...shuffledIds].sort((p, q) => p - q));
    expect([...shuffledIds].sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4].map((i) => Math.min(...shuffledIds) + i));
    const gapIds = ids(gap.payloads('aggTrade'), 'a');
    const y = gapIds[0] ?? 0;
    expect(gapIds.slice(0, 5)).toEqual([y, y + 1, y + 2, y + 7, y + 8]);
    const faults = mock.stats.snapshot().faultsInjected;
    expect([faults.duplicate, faults.reorder, faults.skip]).toEqual([3, 5, 6]);
  });

  it('skipDepthUpdates makes a sequence gap: spot U jumps, USD-M pu breaks', async () => {
    const mock = await start();
    const spot = await Client.open(`${mock.spotWsUrl}/ws/btcusdt@depth@100ms`);
    const usdm = await Client.open(`${mock.usdmWsUrl}/public/ws/btcusdt@depth@100ms`);
    mock.faults.skipDepthUpdates(2, { atMessage: 3 });
    mock.sim.advanceBy(3_000);
    for (const client of [spot, usdm]) await client.until(() => client.payloads('depthUpdate').length >= 8, '8 depth events');
    const s = spot.payloads('depthUpdate') as { U: number; u: number }[];
    expect(s.map((e, i) => i > 0 && e.U !== (s[i - 1]?.u ?? 0) + 1).indexOf(true), 'spot gap after the third event').toBe(3);
    const u = usdm.payloads('depthUpdate') as { pu: number; u: number }[];
    expect(u.map((e, i) => i > 0 && e.pu !== u[i - 1]?.u).indexOf(true), 'USD-M pu breaks after the third event').toBe(3);
  });

  it('restStatus answers 429 then 418 with Retry-After; slowRest delays answers', async () => {
    const mock = await start();
    mock.faults.restStatus({ path: '/api/v3/depth', status: 429, count: 2, retryAfterSec: 2 });
    mock.faults.restStatus({ path: '/api/v3/depth', status: 418, retryAfterSec: 5 });
    const answers: [number, string | null][] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${mock.spotRestUrl}/api/v3/depth?symbol=BTCUSDT`);
      await res.arrayBuffer();
      answers.push([res.status, res.headers.get('retry-after')]);
    }
    expect(answers).toEqual([
      [429, '2'],
      [429, '2'],
      [418, '5'],
      [200, null],
    ]);
    mock.faults.slowRest({ path: '/api/v3/time', delayMs: 300, count: 1 });
    const order: string[] = [];
    const slow = fetch(`${mock.spotRestUrl}/api/v3/time`).then(() => {
      order.push('slow');
    });
    await fetch(`${mock.spotRestUrl}/api/v3/ping`).then(() => {
      order.push('fast');
    });
    await slow;
    expect(order, 'the delayed answer comes after a later request').toEqual(['fast', 'slow']);
    const faults = mock.stats.snapshot().faultsInjected;
    expect([faults['rest-status'], faults['slow-rest']]).toEqual([3, 1]);
    expect(mock.stats.snapshot().rest.byStatus).toMatchObject({ '429': 2, '418': 1 });
  });

  it('draws atMessage from a seeded range', async () => {
    const run = async (): Promise<number> => {
      const mock = await start({ seed: 11 });
      const client = await Client.open(`${mock.spotWsUrl}/ws/btcusdt@aggTrade`);
      mock.faults.terminate({ atMessage: [10, 40] });
      mock.sim.advanceBy(30_000);
      await client.untilClosed();
      const sent = mock.stats.snapshot().connections[0]?.messagesSent ?? 0;
      await mock.close();
      return sent;
    };
    const first = await run();
    expect(first).toBeGreaterThanOrEqual(10);
    expect(first).toBeLessThanOrEqual(40);
    expect(await run(), 'the same seed, the same message').toBe(first);
  });
});

describe('mock Binance options', () => {
  it('rejects bad options with every problem named', async () => {
    const attempt = startMockBinance({ seed: -1, mode: 'fast' as 'manual', spot: { pingIntervalMs: 1.5 }, klineUpdateMs: 120 });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(/seed "-1" must be >= 0[\s\S]*mode[\s\S]*pingIntervalMs "1.5" must be an integer[\s\S]*klineUpdateMs "120" must be a multiple of 50/);
  });
});
