/**
 * BinanceRestClient against a real node:http server on 127.0.0.1 speaking Binance's REST shapes
 * (protocols.md §1.6, §2.4). Time is a virtual clock shared by the client and the server, so a
 * `Retry-After` of seconds takes no time and the server can stamp each request with the client's
 * time: "no request during a ban" is checked on those stamps.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SourceDataError } from '../../../src/errors.js';
import type { Candle, Trade } from '../../../src/model/index.js';
import type { BinanceRestBan, BinanceRestClientOptions, BinanceRestResponse } from '../../../src/sources/binance/rest.js';
import { BinanceRestClient, BinanceRestError, BinanceRestLimiter, binanceRestWeight, safeUrl } from '../../../src/sources/binance/rest.js';
import { MarketSimulator } from '../../../src/sources/simulator/marketSimulator.js';

const MINUTE = 60_000;
/** 2025-01-01T00:00:00Z */
const T0 = Date.UTC(2025, 0, 1);

/**
 * A virtual clock. In auto mode `sleep` moves time forward at once; in manual mode sleeps wait
 * until {@link advance} moves time to their deadline, so a test can act while a request waits.
 */
class VirtualClock {
  now: number;
  readonly sleeps: number[] = [];
  readonly #auto: boolean;
  readonly #pending: { until: number; resolve: () => void }[] = [];
  readonly #waiters: { count: number; resolve: () => void }[] = [];

  constructor(start: number, auto: boolean) {
    this.now = start;
    this.#auto = auto;
  }

  readonly clock = (): number => this.now;

  readonly sleep = (ms: number, signal?: AbortSignal): Promise<void> => {
    this.sleeps.push(ms);
    if (this.#auto) {
      this.now += ms;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const entry = { until: this.now + ms, resolve };
      this.#pending.push(entry);
      signal?.addEventListener(
        'abort',
        () => {
          this.#pending.splice(this.#pending.indexOf(entry), 1);
          reject(signal.reason as Error);
        },
        { once: true },
      );
      for (const waiter of [...this.#waiters]) {
        if (this.#pending.length >= waiter.count) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    });
  };

  /** Resolves once at least `count` sleeps are pending. */
  sleeping(count = 1): Promise<void> {
    if (this.#pending.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  /** Moves time to the earliest pending deadline and wakes every sleep due by then. */
  advance(): void {
    const next = Math.min(...this.#pending.map((entry) => entry.until));
    if (next > this.now) this.now = next;
    for (const entry of this.#pending.filter((e) => e.until <= this.now)) {
      this.#pending.splice(this.#pending.indexOf(entry), 1);
      entry.resolve();
    }
  }
}

interface Seen {
  readonly path: string;
  readonly query: URLSearchParams;
  /** Virtual time when the server received it. */
  readonly time: number;
}

type Route = (seen: Seen, res: ServerResponse, req: IncomingMessage) => void;

const servers: Server[] = [];

/** A loopback server; `route` answers every request, `seen` records them with the virtual time. */
async function startServer(clock: VirtualClock, route: Route): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const entry = { path: url.pathname, query: url.searchParams, time: clock.now };
    seen.push(entry);
    route(entry, res, req);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen };
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  }
});

/** Answers JSON with Binance's headers: `Date` from the virtual clock, the used weight when given. */
function reply(res: ServerResponse, clock: VirtualClock, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', date: new Date(clock.now).toUTCString(), ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/** A dec-string as Binance writes it (no exponent). */
function dec(value: number): string {
  const text = String(value);
  return text.includes('e') ? value.toFixed(12) : text;
}

function klineRow(bar: Candle): unknown[] {
  return [
    bar.openTime,
    dec(bar.open),
    dec(bar.high),
    dec(bar.low),
    dec(bar.close),
    dec(bar.volume),
    bar.closeTime,
    dec(bar.quoteVolume ?? 0),
    bar.trades ?? 0,
    dec(bar.takerBuyVolume ?? 0),
    '0',
    '0',
  ];
}

function aggTradeRow(trade: Trade): Record<string, unknown> {
  return { a: trade.id, p: dec(trade.price), q: dec(trade.qty), f: trade.id * 2, l: trade.id * 2 + 1, T: trade.tsEvent, m: trade.side === 'sell', M: true };
}

/** The market fields of a bar, for comparing REST bars with the simulator's. */
function market(bar: Candle): Record<string, unknown> {
  const { openTime, closeTime, open, high, low, close, volume, quoteVolume, trades, takerBuyVolume } = bar;
  return { openTime, closeTime, open, high, low, close, volume, quoteVolume, trades, takerBuyVolume };
}

/** A seeded simulator advanced 20 minutes past T0: about 24 000 trades. */
function simulator(): MarketSimulator {
  const sim = new MarketSimulator({ seed: 11, startTime: T0, venue: 'binance', tradeRate: 20 });
  sim.advanceTo(T0 + 20 * MINUTE);
  return sim;
}

function client(url: string, clock: VirtualClock, extra: Partial<BinanceRestClientOptions> = {}): BinanceRestClient {
  return new BinanceRestClient({ market: 'spot', baseUrl: url, clock: clock.clock, sleep: clock.sleep, random: () => 0.5, ...extra });
}

const ERROR_TOO_MANY = { code: -1003, msg: 'Too many requests; current limit of IP is 6000 requests per minute.' };

describe('binanceRestWeight', () => {
  it('knows the documented weight of each endpoint', () => {
    expect([1, 100, 101, 500, 501, 1000, 1001, 5000].map((limit) => binanceRestWeight('spot', 'depth', limit))).toEqual([5, 5, 25, 25, 50, 50, 250, 250]);
    expect([5, 50, 100, 500, 1000].map((limit) => binanceRestWeight('usdm', 'depth', limit))).toEqual([2, 2, 5, 10, 20]);
    expect(binanceRestWeight('spot', 'klines', 1000)).toBe(2);
    expect([1, 99, 100, 499, 500, 1000, 1001, 1500].map((limit) => binanceRestWeight('usdm', 'klines', limit))).toEqual([1, 1, 2, 2, 5, 5, 10, 10]);
    expect(binanceRestWeight('usdm', 'klines'), 'the default limit is 500').toBe(5);
    expect([binanceRestWeight('spot', 'aggTrades'), binanceRestWeight('usdm', 'aggTrades')]).toEqual([4, 20]);
    expect([binanceRestWeight('spot', 'time'), binanceRestWeight('usdm', 'time')]).toEqual([1, 1]);
  });
});

describe('safeUrl', () => {
  it('removes user info and redacts secret parameters', () => {
    const shown = safeUrl(new URL('https://user:hunter2@api.binance.com/api/v3/klines?symbol=BTCUSDT&signature=abc123&apiKey=k3y'));
    expect(shown).not.toContain('hunter2');
    expect(shown).not.toContain('abc123');
    expect(shown).not.toContain('k3y');
    expect(shown).toContain('symbol=BTCUSDT');
  });
});

describe('BinanceRestClient', () => {
  it('rejects options and queries it cannot send, naming the value', () => {
    expect(() => new BinanceRestClient({ market: 'spot', baseUrl: 'ftp://example.com' })).toThrow(/baseUrl "ftp:\/\/example.com\/" must be http or https/);
    expect(() => new BinanceRestClient({ market: 'spot', weightBudget: 0 })).toThrow(/weightBudget "0" must be a positive integer/);
    expect(() => new BinanceRestClient({ market: 'spot', backoffBaseMs: 100, backoffCapMs: 50 })).toThrow(/backoffCapMs "50" must not be below backoffBaseMs "100"/);
    const spot = new BinanceRestClient({ market: 'spot' });
    const usdm = new BinanceRestClient({ market: 'usdm' });
    expect(spot.baseUrl).toBe('https://api.binance.com');
    expect(usdm.baseUrl).toBe('https://fapi.binance.com');
    return Promise.all([
      expect(usdm.depthSnapshot('BTCUSDT', 7)).rejects.toThrow('depth limit "7" for BTCUSDT must be 5, 10, 20, 50, 100, 500, 1000 on binance-usdm'),
      expect(usdm.klines('BTCUSDT', '1s')).rejects.toThrow(/interval "1s" for BTCUSDT is not a binance-usdm kline interval/),
      expect(spot.klines('BTCUSDT', '1m', { limit: 1001 })).rejects.toThrow('klines limit "1001" for BTCUSDT must be an integer from 1 to 1000 on binance'),
      expect(spot.klines('NOPE', '1m')).rejects.toThrow(/Symbol "NOPE" is not recognised/),
      expect(spot.aggTrades('BTCUSDT', { startTime: T0, endTime: T0 + 3_600_000 })).rejects.toThrow(/must have endTime >= startTime and span less than an hour/),
    ]);
  });

  it('reads klines with the documented query, validates every row and marks the bar still open as forming', async () => {
    const clock = new VirtualClock(T0 + 10 * MINUTE + 30_000, true);
    const sim = simulator();
    const bars = sim.klines('1m', T0, T0 + 10 * MINUTE);
    const { url, seen } = await startServer(clock, (_, res) => {
      reply(res, clock, 200, bars.map(klineRow), { 'x-mbx-used-weight-1m': '12' });
    });
    const rest = client(url, clock);
    const candles = await rest.klines('BTC-USDT', '1m', { startTime: T0, endTime: T0 + 10 * MINUTE, limit: 11 });

    expect(seen[0]?.path).toBe('/api/v3/klines');
    expect(Object.fromEntries(seen[0]?.query ?? [])).toEqual({ symbol: 'BTCUSDT', interval: '1m', startTime: String(T0), endTime: String(T0 + 10 * MINUTE), limit: '11' });
    expect(candles.map(market)).toEqual(bars.map(market));
    expect(candles.map((c) => c.closed), 'only the bar of 00:10, open at server time 00:10:30, is forming').toEqual([...bars.slice(0, 10).map(() => true), false]);
    expect(candles[0]).toMatchObject({ type: 'candle', venue: 'binance', symbol: 'BTC-USDT', interval: '1m', tsEvent: T0 + MINUTE, tsRecv: clock.now });
    expect(candles[10]?.tsEvent, 'a forming bar is as of the server time (the Date header, to the second)').toBe(T0 + 10 * MINUTE + 30_000);
    expect(rest.hostState.usedWeight, 'the used weight comes from X-MBX-USED-WEIGHT-1M').toBe(12);
  });

  it('takes the Date header, truncated to the second, as a lower bound of the server time', async () => {
    const clock = new VirtualClock(T0 + 11 * MINUTE - 1, true);
    const bars = simulator().klines('1m', T0 + 9 * MINUTE, T0 + 10 * MINUTE);
    const { url } = await startServer(clock, (_, res) => {
      reply(res, clock, 200, bars.map(klineRow));
    });
    const rest = client(url, clock);

    const before = await rest.klines('BTCUSDT', '1m');
    clock.now = T0 + 11 * MINUTE;
    const after = await rest.klines('BTCUSDT', '1m');

    expect(before.map((c) => c.closed), 'Date says 00:10:59 while the bar of 00:10 ends at 00:10:59.999').toEqual([true, false]);
    expect(after.map((c) => c.closed), 'Date says 00:11:00').toEqual([true, true]);
  });

  it('drops bad kline rows to the drop reporter with the field, the value and the origin', async () => {
    const clock = new VirtualClock(T0 + 20 * MINUTE, true);
    const bars = simulator().klines('1m', T0, T0 + 4 * MINUTE);
    const rows = bars.map(klineRow);
    const inverted = [...(rows[1] as unknown[])];
    inverted[2] = '1.5';
    const nan = [...(rows[2] as unknown[])];
    nan[4] = 'NaN';
    const body = [rows[0], inverted, nan, rows[3], rows[3], rows[4]];
    const { url } = await startServer(clock, (_, res) => {
      reply(res, clock, 200, body);
    });
    const drops: { origin: string; reason: string }[] = [];
    const rest = client(url, clock, { drops: { drop: (origin, reason) => drops.push({ origin, reason }) } });

    const candles = await rest.klines('BTCUSDT', '1m');

    expect(candles.map((c) => c.openTime)).toEqual([bars[0], bars[3], bars[4]].map((bar) => bar?.openTime));
    expect(drops.map((d) => d.reason)).toEqual([
      expect.stringMatching(/^kline row 1: low "[0-9.]+" and high "1.5" do not bound open/),
      'kline row 2: close "NaN" is not a positive dec-string',
      expect.stringMatching(/^kline row 4: openTime [0-9]+ \(2025-01-01T00:03:00.000Z\) repeats the previous row's/),
    ]);
    expect(drops[0]?.origin).toBe('binance GET /api/v3/klines symbol "BTCUSDT" (HTTP 200)');
    expect(rest.stats.droppedRows).toBe(3);
  });

  it('fails on a bad row when no drop reporter is given, and on a body that is not JSON', async () => {
    const clock = new VirtualClock(T0 + 20 * MINUTE, true);
    const bars = simulator().klines('1m', T0, T0 + MINUTE);
    const misaligned = [...klineRow(bars[0] as Candle)];
    misaligned[0] = T0 + 1;
    let answer: unknown = [misaligned];
    const { url } = await startServer(clock, (_, res) => {
      reply(res, clock, 200, answer);
    });
    const rest = client(url, clock);

    const error = await rest.klines('BTCUSDT', '1m').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SourceDataError);
    expect((error as Error).message).toBe(`binance GET /api/v3/klines symbol "BTCUSDT" (HTTP 200): kline row 0: openTime ${T0 + 1} (2025-01-01T00:00:00.001Z) is not on a 1m boundary`);

    answer = '<html>maintenance</html>';
    await expect(rest.klines('BTCUSDT', '1m')).rejects.toThrow('binance GET /api/v3/klines symbol "BTCUSDT" (HTTP 200): body is not JSON: "<html>maintenance</html>"');
  });

  it('reads aggregate trades by id: id from a, side from m, extra fields ignored', async () => {
    const clock = new VirtualClock(T0 + 20 * MINUTE, true);
    const sim = simulator();
    const truth = sim.tradesFromId(500, 50);
    const { url, seen } = await startServer(clock, (_, res) => {
      reply(res, clock, 200, truth.map((t) => ({ ...aggTradeRow(t), nq: dec(t.qty) })));
    });
    const rest = client(url, clock, { market: 'usdm' });

    const trades = await rest.aggTrades('BTCUSDT', { fromId: 500, limit: 50 });

    expect(seen[0]?.path).toBe('/fapi/v1/aggTrades');
    expect(Object.fromEntries(seen[0]?.query ?? [])).toEqual({ symbol: 'BTCUSDT', fromId: '500', limit: '50' });
    expect(trades).toEqual(truth.map((t) => ({ ...t, venue: 'binance-usdm', tsRecv: clock.now })));
  });

  it('reads a depth snapshot of either market, and refuses a crossed book', async () => {
    const clock = new VirtualClock(T0, true);
    let crossed = false;
    const { url } = await startServer(clock, (seen, res) => {
      const bids = crossed ? [['100.5', '1.0']] : [['100.00', '1.5'], ['99.99', '0']];
      const body = { lastUpdateId: 1027024, bids, asks: [['100.01', '2.0'], ['100.02', '0.5']] };
      reply(res, clock, 200, seen.path === '/fapi/v1/depth' ? { ...body, E: T0 + 2, T: T0 + 1 } : body);
    });

    const spot = await client(url, clock).depthSnapshot('ETHUSDT', 1000);
    expect(spot).toEqual({
      type: 'book-depth',
      venue: 'binance',
      symbol: 'ETH-USDT',
      tsEvent: T0,
      tsRecv: T0,
      firstUpdateId: 1027024,
      lastUpdateId: 1027024,
      bids: [
        [100, 1.5],
        [99.99, 0],
      ],
      asks: [
        [100.01, 2],
        [100.02, 0.5],
      ],
      snapshot: true,
    });
    const usdm = await client(url, clock, { market: 'usdm' }).depthSnapshot('ETHUSDT', 100);
    expect(usdm.tsEvent, 'USD-M snapshots carry the transaction time T').toBe(T0 + 1);

    crossed = true;
    await expect(client(url, clock).depthSnapshot('ETHUSDT')).rejects.toThrow('binance GET /api/v3/depth symbol "ETHUSDT" (HTTP 200): best bid 100.5 is not below best ask 100.01');
  });

  it('reads the server time and measures the offset to the local clock', async () => {
    const clock = new VirtualClock(T0, true);
    const { url, seen } = await startServer(clock, (_, res) => {
      reply(res, clock, 200, { serverTime: T0 + 1234 });
    });
    const rest = client(url, clock, { market: 'usdm' });
    await expect(rest.serverTime()).resolves.toBe(T0 + 1234);
    expect(seen[0]?.path).toBe('/fapi/v1/time');
    expect(rest.serverTimeOffset).toBe(1234);
  });

  it('fails a 4xx at once with Binance code and message, the endpoint, the symbol and the URL', async () => {
    const clock = new VirtualClock(T0, true);
    const { url, seen } = await startServer(clock, (_, res) => {
      reply(res, clock, 400, { code: -1121, msg: 'Invalid symbol.' });
    });
    const rest = client(url, clock);

    const error = await rest.klines('BTCUSDT', '1m', { limit: 5 }).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(BinanceRestError);
    expect(error).toMatchObject({ status: 400, code: -1121, symbol: 'BTCUSDT', endpoint: 'GET /api/v3/klines', attempts: 1 });
    expect((error as Error).message).toBe(
      `binance GET /api/v3/klines symbol "BTCUSDT" failed with HTTP 400: Binance code "-1121" "Invalid symbol." (${url}/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=5)`,
    );
    expect(seen, 'a 4xx is not retried').toHaveLength(1);
  });

  it('retries 5xx answers with full-jitter backoff, then succeeds', async () => {
    const clock = new VirtualClock(T0, true);
    const statuses = [500, 503];
    const { url, seen } = await startServer(clock, (_, res) => {
      const status = statuses.shift();
      if (status === undefined) reply(res, clock, 200, { serverTime: T0 });
      else reply(res, clock, status, { code: -1001, msg: 'Internal error; unable to process your request. Please try again.' });
    });
    const rest = client(url, clock);

    await expect(rest.serverTime()).resolves.toBe(T0);

    expect(seen).toHaveLength(3);
    expect(clock.sleeps, 'random 0.5 of min(30 s, 500 ms * 2^(n-1))').toEqual([250, 500]);
    expect(rest.stats).toMatchObject({ requests: 3, retries: 2 });
  });

  it('gives up after maxRetries with the endpoint, the symbol and the last status', async () => {
    const clock = new VirtualClock(T0, true);
    const { url, seen } = await startServer(clock, (_, res) => {
      reply(res, clock, 502, 'Bad Gateway');
    });
    const rest = client(url, clock, { maxRetries: 2 });

    const error = await rest.aggTrades('BTCUSDT', { fromId: 1 }).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(BinanceRestError);
    expect((error as Error).message).toBe(`binance GET /api/v3/aggTrades symbol "BTCUSDT" failed with HTTP 502 after 3 attempts: body "Bad Gateway" (${url}/api/v3/aggTrades?symbol=BTCUSDT&fromId=1)`);
    expect(seen).toHaveLength(3);
  });

  it('retries a network error (connection reset)', async () => {
    const clock = new VirtualClock(T0, true);
    const { url, seen } = await startServer(clock, (_, res, req) => {
      if (seen.length === 1) req.socket.destroy();
      else reply(res, clock, 200, { serverTime: T0 + 5 });
    });
    const rest = client(url, clock);
    await expect(rest.serverTime()).resolves.toBe(T0 + 5);
    expect(seen).toHaveLength(2);
    expect(rest.stats.retries).toBe(1);
  });

  it('abandons an attempt that gets no answer within timeoutMs and retries it', async () => {
    const clock = new VirtualClock(T0, true);
    let hung: Promise<void> | undefined;
    const { url, seen } = await startServer(clock, (_, res) => {
      if (hung === undefined) hung = new Promise((resolve) => res.on('close', resolve));
      else reply(res, clock, 200, { serverTime: T0 + 7 });
    });
    const rest = client(url, clock, { timeoutMs: 200 });

    await expect(rest.serverTime()).resolves.toBe(T0 + 7);
    await hung;
    expect(seen.length, 'the silent attempt and at least one retry').toBeGreaterThanOrEqual(2);
    expect(rest.stats.retries).toBe(seen.length - 1);
  });

  it('opens the circuit on 429 until Retry-After: requests made meanwhile wait and none is sent or dropped', async () => {
    const clock = new VirtualClock(T0 + 5_000, false);
    const sim = simulator();
    const bars = sim.klines('1m', T0, T0 + 2 * MINUTE);
    let limited = false;
    const { url, seen } = await startServer(clock, (request, res) => {
      if (!limited) {
        limited = true;
        reply(res, clock, 429, ERROR_TOO_MANY, { 'retry-after': '2', 'x-mbx-used-weight-1m': '5990' });
      } else if (request.path === '/api/v3/klines') {
        reply(res, clock, 200, bars.map(klineRow));
      } else {
        reply(res, clock, 200, sim.tradesFromId(1, 3).map(aggTradeRow));
      }
    });
    const limits: BinanceRestBan[] = [];
    const responses: BinanceRestResponse[] = [];
    const rest = client(url, clock, { onRateLimit: (ban) => limits.push(ban), onResponse: (response) => responses.push(response) });

    const first = rest.klines('BTCUSDT', '1m');
    await clock.sleeping(1);
    const banStart = clock.now;
    const second = rest.aggTrades('BTCUSDT', { fromId: 1, limit: 3 });
    await clock.sleeping(2);
    expect(seen, 'nothing is sent while the circuit is open').toHaveLength(1);
    expect(rest.stats.waiting, 'both requests are queued').toBe(2);

    clock.advance();
    const [candles, trades] = await Promise.all([first, second]);

    expect(candles).toHaveLength(bars.length);
    expect(trades.map((t) => t.id)).toEqual([1, 2, 3]);
    expect(seen.map((s) => s.path)).toEqual(['/api/v3/klines', '/api/v3/klines', '/api/v3/aggTrades']);
    expect(seen.filter((s) => s.time > banStart && s.time < banStart + 2_000), 'requests during the ban').toEqual([]);
    expect(seen[1]?.time).toBe(banStart + 2_000);
    expect(limits).toEqual([
      {
        host: new URL(url).host,
        status: 429,
        url: `${url}/api/v3/klines?symbol=BTCUSDT&interval=1m`,
        endpoint: 'GET /api/v3/klines',
        symbol: 'BTCUSDT',
        retryAfterMs: 2_000,
        until: banStart + 2_000,
        code: -1003,
        msg: ERROR_TOO_MANY.msg,
      },
    ]);
    expect(responses[0]).toMatchObject({ status: 429, body: JSON.stringify(ERROR_TOO_MANY), tsRecv: banStart });
    expect(responses[0]?.headers).toMatchObject({ 'retry-after': '2', 'x-mbx-used-weight-1m': '5990', date: new Date(banStart).toUTCString() });
    expect(responses.map((r) => r.status), 'onResponse sees every answer').toEqual([429, 200, 200]);
    expect(rest.stats).toMatchObject({ rateLimited: 1, bans: 0, retries: 0, waiting: 0 });
  });

  it('treats 418 as a ban of the host for every client sharing the limiter, and reports it to onBan', async () => {
    const clock = new VirtualClock(T0, false);
    let banned = false;
    const { url, seen } = await startServer(clock, (_, res) => {
      if (!banned) {
        banned = true;
        reply(res, clock, 418, { code: -1003, msg: 'Way too many requests; IP banned until 1735689605000.' }, { 'retry-after': '5' });
      } else {
        reply(res, clock, 200, { serverTime: clock.now });
      }
    });
    const limiter = new BinanceRestLimiter();
    const bans: BinanceRestBan[] = [];
    const a = client(url, clock, { limiter, onBan: (ban) => bans.push(ban) });
    const b = client(url, clock, { limiter });

    const first = a.serverTime();
    await clock.sleeping(1);
    const other = b.serverTime();
    await clock.sleeping(2);
    expect(seen, 'the other client is held by the same circuit').toHaveLength(1);
    expect(b.hostState.bannedUntil).toBe(T0 + 5_000);

    clock.advance();
    await expect(Promise.all([first, other])).resolves.toEqual([T0 + 5_000, T0 + 5_000]);
    expect(seen.map((s) => s.time)).toEqual([T0, T0 + 5_000, T0 + 5_000]);
    expect(bans).toHaveLength(1);
    expect(bans[0]).toMatchObject({ status: 418, retryAfterMs: 5_000, until: T0 + 5_000, code: -1003 });
    expect(a.stats).toMatchObject({ bans: 1, rateLimited: 0, waits: 1 });
  });

  it('aborting a request that waits for a ban rejects it without sending anything', async () => {
    const clock = new VirtualClock(T0, false);
    const { url, seen } = await startServer(clock, (_, res) => {
      reply(res, clock, 429, ERROR_TOO_MANY, { 'retry-after': '60' });
    });
    const rest = client(url, clock);
    const controller = new AbortController();

    const first = rest.serverTime({ signal: controller.signal });
    await clock.sleeping(1);
    controller.abort(new Error('caller gave up'));

    await expect(first).rejects.toThrow('caller gave up');
    expect(seen).toHaveLength(1);
  });

  it('waits for the next minute when the used weight leaves no room for the next request', async () => {
    const start = T0 + 10_000;
    const clock = new VirtualClock(start, true);
    const used = ['5990', '5999', '4'];
    const { url, seen } = await startServer(clock, (_, res) => {
      reply(res, clock, 200, [], { 'x-mbx-used-weight-1m': used.shift() ?? '0' });
    });
    const rest = client(url, clock);

    await rest.klines('BTCUSDT', '1m');
    await rest.klines('BTCUSDT', '1m');
    expect(clock.sleeps, '5990 used + 2 fits in 6000: no wait').toEqual([]);
    await rest.klines('BTCUSDT', '1m');

    expect(clock.sleeps, '5999 used + 2 does not fit: wait for the next minute and the slack').toEqual([MINUTE - 10_000 + 1_000]);
    expect(seen.map((s) => s.time)).toEqual([start, start, T0 + MINUTE + 1_000]);
    expect(rest.stats).toMatchObject({ waits: 1, waitedMs: 51_000 });
  });

  it('keeps its own weight count within the budget when the server sends no weight header', async () => {
    const clock = new VirtualClock(T0, true);
    const { url, seen } = await startServer(clock, (_, res) => {
      reply(res, clock, 200, []);
    });
    const rest = client(url, clock, { weightBudget: 5 });

    for (let i = 0; i < 3; i++) await rest.klines('BTCUSDT', '1m');

    expect(seen.map((s) => s.time), 'weight 2 each: the third does not fit in 5').toEqual([T0, T0, T0 + MINUTE + 1_000]);
  });
});
