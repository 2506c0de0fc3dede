/**
 * Backfill against a real node:http server that serves Binance-shaped klines and aggTrades from a
 * seeded simulator's history (the ground truth), and the mergers under random interleavings of
 * live and REST input (reliability.md D-05, D-07: lost = 0, dup = 0).
 */
import fc from 'fast-check';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { InvariantError } from '../../../src/errors.js';
import type { Candle, Flow, Gap, Trade } from '../../../src/model/index.js';
import type { KlineMergerStats } from '../../../src/sources/binance/backfill.js';
import { fetchAggTradesFrom, fetchKlinesRange, KlineMerger, startWithHistory, TradeMerger } from '../../../src/sources/binance/backfill.js';
import type { BinanceMarket } from '../../../src/sources/binance/payloads.js';
import { BinanceRestClient } from '../../../src/sources/binance/rest.js';
import { MarketSimulator } from '../../../src/sources/simulator/marketSimulator.js';

const SECOND = 1_000;
const MINUTE = 60_000;
/** 2025-01-01T00:00:00Z */
const T0 = Date.UTC(2025, 0, 1);

/** Closed bars of `interval` opening in `[T0, T0 + count * interval)`, from a seeded simulator. */
function truthBars(interval: '1s' | '1m', count: number, tradeRate: number): Candle[] {
  const ms = interval === '1s' ? SECOND : MINUTE;
  const sim = new MarketSimulator({ seed: 5, startTime: T0, venue: 'binance', tradeRate });
  sim.advanceTo(T0 + (count + 2) * ms);
  const bars = sim.klines(interval, T0, T0 + (count - 1) * ms);
  if (bars.length !== count || bars.some((bar) => !bar.closed)) throw new Error('the simulator did not make the bars the test needs');
  return bars;
}

function truthTrades(count: number): Trade[] {
  const sim = new MarketSimulator({ seed: 9, startTime: T0, venue: 'binance', tradeRate: 50 });
  while ((sim.lastTrade()?.id ?? 0) < count) sim.next();
  return sim.tradesFromId(1, count);
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

/** The bar as it looks while forming: open so far, half the volume. Never equal to the closed bar. */
function forming(bar: Candle, part = 0.5): Candle {
  const scale = (value: number | undefined): number => (value === undefined ? 0 : value * part);
  return { ...bar, close: bar.open, volume: scale(bar.volume) + 0.5, quoteVolume: scale(bar.quoteVolume), takerBuyVolume: scale(bar.takerBuyVolume), closed: false };
}

/** The market fields of a bar: what must equal the ground truth. */
function market(bar: Candle): Record<string, unknown> {
  const { openTime, closeTime, open, high, low, close, volume, quoteVolume, trades, takerBuyVolume, closed } = bar;
  return { openTime, closeTime, open, high, low, close, volume, quoteVolume, trades, takerBuyVolume, closed };
}

function candlesOf(items: readonly Flow<Candle>[]): Candle[] {
  return items.filter((item): item is Candle => item.type === 'candle');
}

function gapsOf(items: readonly { readonly type: string }[]): Gap[] {
  return items.filter((item): item is Gap => item.type === 'gap');
}

/**
 * The exchange the server fronts: ground-truth bars and trades, its clock, and faults. Bars after
 * the bucket of `now` do not exist yet; the bar of that bucket is served forming.
 */
interface Exchange {
  readonly bars: readonly Candle[];
  readonly trades: readonly Trade[];
  readonly intervalMs: number;
  now: number;
  /** Serve no bar for a bucket without trades (ccxt#8068) instead of a flat zero-volume one. */
  skipEmpty: boolean;
  /** Klines answers wait for this. */
  hold: Promise<void> | undefined;
  /** The next klines requests get these statuses (with Retry-After: 1) before an answer. */
  failures: number[];
}

interface Seen {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly time: number;
}

const servers: Server[] = [];

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

function exchange(bars: readonly Candle[], trades: readonly Trade[] = []): Exchange {
  const last = bars.at(-1);
  return {
    bars,
    trades,
    intervalMs: bars.length > 1 ? (bars[1] as Candle).openTime - (bars[0] as Candle).openTime : SECOND,
    now: last === undefined ? T0 : last.closeTime + 1,
    skipEmpty: false,
    hold: undefined,
    failures: [],
  };
}

function send(res: ServerResponse, now: number, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', date: new Date(now).toUTCString(), ...headers });
  res.end(JSON.stringify(body));
}

/** Serves `/api/v3/*` and `/fapi/v1/*` klines and aggTrades from `ex`, as Binance does. */
async function startExchange(ex: Exchange, market: BinanceMarket, clock: () => number): Promise<{ url: string; seen: Seen[]; closed: Promise<void>[] }> {
  const maxKlines = market === 'spot' ? 1000 : 1500;
  const seen: Seen[] = [];
  const closed: Promise<void>[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query = url.searchParams;
    seen.push({ path: url.pathname, query, time: clock() });
    closed.push(new Promise((resolve) => res.on('close', resolve)));
    void (async (): Promise<void> => {
      if (url.pathname.endsWith('/klines')) {
        const failure = ex.failures.shift();
        if (failure !== undefined) {
          send(res, ex.now, failure, { code: -1003, msg: 'Too many requests.' }, { 'retry-after': '1' });
          return;
        }
        if (ex.hold !== undefined) await ex.hold;
        const limit = Number(query.get('limit') ?? '500');
        if (limit > maxKlines) {
          send(res, ex.now, 400, { code: -1130, msg: "Data sent for parameter 'limit' is not valid." });
          return;
        }
        const start = Number(query.get('startTime') ?? '0');
        const end = Number(query.get('endTime') ?? String(Number.MAX_SAFE_INTEGER));
        const current = ex.now - (ex.now % ex.intervalMs);
        const rows = ex.bars
          .filter((bar) => bar.openTime >= start && bar.openTime <= end && bar.openTime <= current && !(ex.skipEmpty && bar.volume === 0))
          .slice(0, limit)
          .map((bar) => klineRow(bar.openTime === current ? forming(bar) : bar));
        send(res, ex.now, 200, rows, { 'x-mbx-used-weight-1m': String(seen.length * 2) });
        return;
      }
      if (url.pathname.endsWith('/aggTrades')) {
        const fromId = Number(query.get('fromId') ?? '0');
        const limit = Number(query.get('limit') ?? '500');
        const rows = ex.trades
          .filter((t) => t.id >= fromId)
          .slice(0, limit)
          .map((t) => ({ a: t.id, p: dec(t.price), q: dec(t.qty), f: t.id, l: t.id, T: t.tsEvent, m: t.side === 'sell', M: true }));
        send(res, ex.now, 200, rows);
        return;
      }
      send(res, ex.now, 404, { code: -1, msg: `no route ${url.pathname}` });
    })();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, closed };
}

/** A virtual clock whose sleep moves time at once. */
function autoClock(start: number): { now: () => number; sleep: (ms: number) => Promise<void>; set: (time: number) => void; sleeps: number[] } {
  let now = start;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: (ms: number) => {
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
    set: (time: number) => {
      now = time;
    },
    sleeps,
  };
}

async function restClient(ex: Exchange, market: BinanceMarket, clock: ReturnType<typeof autoClock>): Promise<{ client: BinanceRestClient; seen: Seen[]; closed: Promise<void>[] }> {
  const { url, seen, closed } = await startExchange(ex, market, clock.now);
  return { client: new BinanceRestClient({ market, baseUrl: url, clock: clock.now, sleep: clock.sleep, random: () => 0.5 }), seen, closed };
}

/** Lets the event loop run until `done()` holds (a hang fails on the test timeout, never on a timer). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) {
    await new Promise<void>((resolve) => {
      setImmediate(resolve);
    });
  }
}

describe('fetchKlinesRange', () => {
  it('pages a spot range of 2600 one-second bars in three pages of 1000, equal to the ground truth', async () => {
    const truth = truthBars('1s', 2600, 2);
    const ex = exchange(truth);
    const clock = autoClock(ex.now);
    const { client, seen } = await restClient(ex, 'spot', clock);

    const bars = await fetchKlinesRange(client, 'BTC-USDT', '1s', T0, T0 + 2599 * SECOND);

    expect(bars.map(market)).toEqual(truth.map(market));
    expect(seen.map((s) => [s.path, s.query.get('startTime'), s.query.get('limit')])).toEqual([
      ['/api/v3/klines', String(T0), '1000'],
      ['/api/v3/klines', String(T0 + 1000 * SECOND), '1000'],
      ['/api/v3/klines', String(T0 + 2000 * SECOND), '1000'],
    ]);
  });

  it('pages a USD-M range of 3100 one-minute bars in pages of 1500, equal to the ground truth', async () => {
    const truth = truthBars('1m', 3100, 0.2);
    const ex = exchange(truth);
    const clock = autoClock(ex.now);
    const { client, seen } = await restClient(ex, 'usdm', clock);

    const bars = await fetchKlinesRange(client, 'BTCUSDT', '1m', T0, T0 + 3099 * MINUTE);

    expect(bars.map(market)).toEqual(truth.map(market));
    expect(seen.map((s) => [s.path, s.query.get('startTime'), s.query.get('limit')])).toEqual([
      ['/fapi/v1/klines', String(T0), '1500'],
      ['/fapi/v1/klines', String(T0 + 1500 * MINUTE), '1500'],
      ['/fapi/v1/klines', String(T0 + 3000 * MINUTE), '1500'],
    ]);
  });

  it('pages across buckets the venue serves no bar for, without holes or duplicates at page boundaries', async () => {
    const truth = truthBars('1s', 2600, 2);
    const served = truth.filter((bar) => bar.volume > 0);
    expect(served.length, 'the ground truth has empty intervals').toBeLessThan(truth.length);
    const ex = exchange(truth);
    ex.skipEmpty = true;
    const { client } = await restClient(ex, 'spot', autoClock(ex.now));

    const bars = await fetchKlinesRange(client, 'BTCUSDT', '1s', T0, T0 + 2599 * SECOND, { pageLimit: 700 });

    expect(bars.map(market)).toEqual(served.map(market));
  });

  it('stops at the forming bar of the current bucket', async () => {
    const truth = truthBars('1s', 300, 2);
    const ex = exchange(truth);
    ex.now = T0 + 199 * SECOND + 400;
    const { client, seen } = await restClient(ex, 'spot', autoClock(ex.now));

    const bars = await fetchKlinesRange(client, 'BTCUSDT', '1s', T0 + 50 * SECOND, T0 + 299 * SECOND, { pageLimit: 100 });

    expect(bars.map((bar) => bar.openTime)).toEqual(truth.slice(50, 200).map((bar) => bar.openTime));
    expect(bars.at(-1)?.closed).toBe(false);
    expect(bars.slice(0, -1).map(market)).toEqual(truth.slice(50, 199).map(market));
    expect(seen, 'pages of 100, 100 and then the short one ending at the forming bar').toHaveLength(2);
  });
});

describe('fetchAggTradesFrom', () => {
  it('pages aggregate trades by fromId up to the first id not wanted, equal to the ground truth', async () => {
    const truth = truthTrades(3000);
    const ex = exchange(truthBars('1s', 2, 2), truth);
    const { client, seen } = await restClient(ex, 'spot', autoClock(T0));

    const trades = await fetchAggTradesFrom(client, 'BTC-USDT', 101, 2601);

    expect(trades.map((t) => [t.id, t.price, t.qty, t.side, t.tsEvent])).toEqual(truth.slice(100, 2600).map((t) => [t.id, t.price, t.qty, t.side, t.tsEvent]));
    expect(seen.map((s) => [s.query.get('fromId'), s.query.get('limit')])).toEqual([
      ['101', '1000'],
      ['1101', '1000'],
      ['2101', '500'],
    ]);
  });

  it('without an end, reads up to the latest trade', async () => {
    const truth = truthTrades(2300);
    const ex = exchange(truthBars('1s', 2, 2), truth);
    const { client, seen } = await restClient(ex, 'usdm', autoClock(T0));

    const trades = await fetchAggTradesFrom(client, 'BTCUSDT', 1);

    expect(trades.map((t) => t.id)).toEqual(truth.map((t) => t.id));
    expect(seen).toHaveLength(3);
  });
});

const BARS = truthBars('1s', 400, 2);
const MS = SECOND;

function merger(extra: Partial<ConstructorParameters<typeof KlineMerger>[0]> = {}): KlineMerger {
  return new KlineMerger({ venue: 'binance', symbol: 'BTC-USDT', interval: '1s', from: T0, ...extra });
}

function bar(i: number): Candle {
  return BARS[i] as Candle;
}

describe('KlineMerger', () => {
  it('emits closed bars in order; the closed version wins over forming ones and late forming updates are ignored', () => {
    const m = merger();
    expect(m.live(forming(bar(0)))).toEqual([]);
    expect(m.live(forming(bar(0), 0.8))).toEqual([]);
    expect(m.live(bar(0))).toEqual([bar(0)]);
    expect(m.live(forming(bar(0))), 'a forming update after the close').toEqual([]);
    expect(m.live(bar(1))).toEqual([bar(1)]);
    expect(m.stats).toMatchObject({ emitted: 2, lateForming: 1, duplicates: 0, buffered: 0 });
  });

  it('emits forming updates of the head bucket when asked, each once', () => {
    const m = merger({ emitForming: true });
    const f = forming(bar(0));
    expect(m.live(f)).toEqual([f]);
    expect(m.live(bar(0))).toEqual([bar(0)]);
    expect(m.live(forming(bar(2))), 'bucket 2 is not the head while bucket 1 is missing').toEqual([]);
    expect(m.history([bar(1)], { from: T0 + MS, to: T0 + MS })).toEqual([bar(1), forming(bar(2))]);
  });

  it('asks REST for [watermark, first live - 1 interval] after a disconnect, and merges at the boundary', () => {
    const m = merger();
    m.live(bar(0));
    m.live(forming(bar(1)));
    // Disconnected: the close of bar 1 and bars 2 to 4 are lost; live resumes at bar 5.
    expect(m.live(forming(bar(5)))).toEqual([]);
    expect(m.live(bar(5))).toEqual([]);
    expect(m.missing()).toEqual({ from: T0 + MS, to: T0 + 4 * MS });

    const out = m.history([bar(1), bar(2), bar(3), bar(4), bar(5), forming(bar(6))], { from: T0 + MS, to: T0 + 6 * MS });

    expect(out).toEqual([bar(1), bar(2), bar(3), bar(4), bar(5)]);
    expect(m.missing()).toBeUndefined();
    expect(m.next, 'bar 6 is forming: REST covered the range only up to it').toBe(T0 + 6 * MS);
    expect(m.stats).toMatchObject({ emitted: 6, duplicates: 1, conflicts: 0 });
  });

  it('counts an equal REST bar as a duplicate, and lets a different REST bar replace a held live one', () => {
    const m = merger();
    m.live(forming(bar(0)));
    m.live(bar(1));
    m.live(bar(1));
    const corrected = { ...bar(1), volume: bar(1).volume + 1 };
    const out = m.history([bar(0), corrected], { from: T0, to: T0 + MS });
    expect(out).toEqual([bar(0), corrected]);
    expect(m.history([bar(0), bar(1)], { from: T0, to: T0 + MS }), 'bars already emitted').toEqual([]);
    expect(m.stats).toMatchObject({ emitted: 2, duplicates: 3, conflicts: 1 });
  });

  it('settles buckets REST covered without a bar as empty intervals: skipped, or flat at the previous close', () => {
    const empty = BARS.findIndex((b, i) => i > 0 && b.volume === 0);
    expect(empty, 'the ground truth has an empty interval').toBeGreaterThan(0);
    const served = BARS.slice(0, empty + 3).filter((b) => b.volume > 0);
    const to = bar(empty + 2).openTime;

    const skip = merger();
    expect(candlesOf(skip.history(served, { from: T0, to })).map(market)).toEqual(served.map(market));
    expect(skip.stats.emptyIntervals).toBe(empty + 3 - served.length);

    const flat = merger({ emptyIntervals: 'flat' });
    expect(candlesOf(flat.history(served, { from: T0, to })).map(market), 'flat bars equal what build-candles makes').toEqual(BARS.slice(0, empty + 3).map(market));
  });

  it('agrees with a zero-volume forming update in an empty bucket, and reports a gap when live saw volume REST has not', () => {
    const empty = BARS.findIndex((b, i) => i > 0 && b.volume === 0);
    const quiet = merger();
    quiet.live({ ...bar(empty), closed: false });
    quiet.live(forming(bar(empty + 1)));
    const before = BARS.slice(0, empty);
    expect(gapsOf(quiet.history(before, { from: T0, to: bar(empty).openTime }))).toEqual([]);

    const loud = merger();
    loud.live(forming(bar(empty)));
    loud.live(forming(bar(empty + 1)));
    const out = loud.history(before, { from: T0, to: bar(empty).openTime });
    expect(gapsOf(out)).toEqual([
      expect.objectContaining({ type: 'gap', stream: 'candle:1s', from: bar(empty).openTime, to: bar(empty).openTime, recoverable: false }),
    ]);
    expect(gapsOf(out)[0]?.reason).toMatch(/REST history has no bar for .* but the live stream saw volume/);
    expect(loud.stats).toMatchObject({ abandoned: 1, conflicts: 1 });
  });

  it('does not settle buckets from a REST range that starts after the watermark', () => {
    const m = merger();
    m.live(bar(0));
    m.live(bar(6));
    expect(m.history([bar(3), bar(4)], { from: T0 + 3 * MS, to: T0 + 5 * MS }), 'buckets 1 and 2 are still unknown').toEqual([]);
    expect(m.missing()).toEqual({ from: T0 + MS, to: T0 + 5 * MS });
    expect(m.history([bar(1), bar(2), bar(3), bar(4), bar(5)], { from: T0 + MS, to: T0 + 5 * MS })).toEqual([1, 2, 3, 4, 5, 6].map(bar));
    expect(m.stats).toMatchObject({ emptyIntervals: 0, duplicates: 2 });
  });

  it('abandons unsettled buckets as one gap record and goes on', () => {
    const m = merger();
    m.live(bar(0));
    m.live(bar(4));
    const out = m.abandon(T0 + 3 * MS, 'REST unavailable');
    expect(out).toEqual([expect.objectContaining({ type: 'gap', from: T0 + MS, to: T0 + 3 * MS, reason: expect.stringContaining('REST unavailable') as string }), bar(4)]);
    expect(m.stats.abandoned).toBe(3);
  });

  it('takes a REST history longer than its buffer, but refuses to hold more live bars than that behind a hole', () => {
    const small = merger({ maxBuffered: 10 });
    expect(candlesOf(small.history(BARS, { from: T0, to: bar(399).openTime }))).toHaveLength(400);

    const stuck = merger({ maxBuffered: 10 });
    for (let i = 1; i <= 10; i++) stuck.live(bar(i));
    expect(stuck.missing()).toEqual({ from: T0, to: T0 });
    expect(() => stuck.live(bar(11))).toThrow(/KlineMerger BTC-USDT 1s holds 10 buckets waiting for 2025-01-01T00:00:00.000Z: is the backfill stuck\? \(maxBuffered 10\)/);
  });

  it('refuses a bar of another series, naming it', () => {
    expect(() => merger().live({ ...bar(0), interval: '1m' })).toThrow(InvariantError);
    expect(() => merger().live({ ...bar(0), symbol: 'ETH-USDT' })).toThrow('KlineMerger for binance BTC-USDT 1s got a live bar of "binance" "ETH-USDT" "1s"');
  });

  it('gives exactly the ground truth for random interleavings of lossy, duplicated live bars and overlapping REST answers', () => {
    const bucketArb = fc.record({ updates: fc.nat(2), dup: fc.boolean(), lose: fc.nat(9) });
    const stepArb = fc.record({ rest: fc.boolean(), before: fc.nat(4), after: fc.nat(4) });
    fc.assert(
      fc.property(fc.nat(60), fc.array(bucketArb, { minLength: BARS.length, maxLength: BARS.length }), fc.array(stepArb, { maxLength: 300 }), (liveStart, buckets, steps) => {
        // Live: per bucket, forming updates, the close, maybe the close again; ~10 % of events lost.
        const events: Candle[] = [];
        for (let i = liveStart; i < BARS.length; i++) {
          const plan = buckets[i] as { updates: number; dup: boolean; lose: number };
          const own: Candle[] = [];
          for (let k = 0; k < plan.updates; k++) own.push(forming(bar(i), (k + 1) / 4));
          own.push(bar(i));
          if (plan.dup) own.push(bar(i));
          events.push(...(plan.lose === 0 && i < BARS.length - 1 ? own.slice(0, plan.updates) : own));
        }
        const m = merger();
        const out: Flow<Candle>[] = [];
        let closedIn = 0;
        let delivered = 0;
        let current = liveStart;
        const rest = (from: number, to: number): void => {
          const lo = Math.max(0, from);
          const hi = Math.min(to, current);
          const answer = BARS.slice(lo, hi + 1).map((b, k) => (lo + k === current ? forming(b) : b));
          closedIn += answer.filter((b) => b.closed).length;
          out.push(...m.history(answer, { from: T0 + lo * MS, to: T0 + hi * MS }));
        };
        const live = (): void => {
          const event = events[delivered++] as Candle;
          const index = (event.openTime - T0) / MS;
          current = Math.max(current, event.closed ? index + 1 : index);
          if (event.closed) closedIn++;
          out.push(...m.live(event));
        };
        for (const step of steps) {
          if (!step.rest && delivered < events.length) {
            live();
            continue;
          }
          const range = m.missing();
          if (range !== undefined) rest((range.from - T0) / MS - step.before, (range.to - T0) / MS + step.after);
          else if (delivered === 0) rest(0, current);
        }
        while (delivered < events.length) live();
        for (let range = m.missing(), rounds = 0; range !== undefined; range = m.missing()) {
          if (++rounds > BARS.length) throw new Error(`missing() does not settle: still ${JSON.stringify(range)}`);
          rest((range.from - T0) / MS, (range.to - T0) / MS);
        }

        expect(gapsOf(out), 'lost = 0').toEqual([]);
        expect(candlesOf(out).map(market), 'every bar once, in order, closed').toEqual(BARS.map(market));
        const stats: KlineMergerStats = m.stats;
        expect(stats.emitted + stats.duplicates + stats.conflicts, 'every closed bar fed is emitted or counted').toBe(closedIn);
        expect(stats.conflicts).toBe(0);
        expect(stats.buffered).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});

describe('TradeMerger', () => {
  const TRADES = truthTrades(600);
  const trade = (id: number): Trade => TRADES[id - 1] as Trade;

  it('buffers live trades after a gap and emits them once REST fills [lastDelivered + 1, firstLive)', () => {
    const m = new TradeMerger({ venue: 'binance', symbol: 'BTC-USDT' });
    expect(m.live(trade(10))).toEqual([trade(10)]);
    expect(m.live(trade(11))).toEqual([trade(11)]);
    expect(m.live(trade(15))).toEqual([]);
    expect(m.live(trade(16))).toEqual([]);
    expect(m.missing()).toEqual({ fromId: 12, untilId: 15 });
    expect(m.history([trade(11), trade(12), trade(13), trade(14), trade(15)], { fromId: 11, untilId: 16 })).toEqual([12, 13, 14, 15, 16].map(trade));
    expect(m.live(trade(16))).toEqual([]);
    expect(m.stats).toEqual({ emitted: 7, duplicates: 3, lost: 0, buffered: 0 });
  });

  it('reports ids REST covered without a trade as a gap, never as a silent hole', () => {
    const m = new TradeMerger({ venue: 'binance', symbol: 'BTC-USDT', fromId: 1 });
    m.live(trade(8));
    const out = m.history([trade(1), trade(2), trade(5)], { fromId: 1, untilId: 8 });
    expect(out).toEqual([
      trade(1),
      trade(2),
      expect.objectContaining({ type: 'gap', stream: 'trade', from: 3, to: 4, recoverable: false, tsEvent: trade(2).tsEvent }),
      trade(5),
      expect.objectContaining({ type: 'gap', from: 6, to: 7, reason: 'aggregate trade ids 6 to 7 are in neither the live stream nor REST history: lost' }),
      trade(8),
    ]);
    expect(m.stats).toMatchObject({ emitted: 4, lost: 4 });
  });

  it('gives exactly the ground truth for random interleavings of lossy, duplicated live trades and overlapping REST answers', () => {
    const stepArb = fc.record({ rest: fc.boolean(), before: fc.nat(5), after: fc.nat(5) });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.array(fc.record({ lose: fc.nat(7), dup: fc.nat(5) }), { minLength: TRADES.length, maxLength: TRADES.length }),
        fc.array(stepArb, { maxLength: 400 }),
        (liveStart, plans, steps) => {
          const events: Trade[] = [];
          for (let id = liveStart; id <= TRADES.length; id++) {
            const plan = plans[id - 1] as { lose: number; dup: number };
            if (plan.lose === 0 && id < TRADES.length) continue;
            events.push(trade(id));
            if (plan.dup === 0) events.push(trade(id));
          }
          const m = new TradeMerger({ venue: 'binance', symbol: 'BTC-USDT', fromId: 1 });
          const out: Flow<Trade>[] = [];
          let fed = 0;
          let delivered = 0;
          let latest = liveStart - 1;
          const rest = (fromId: number, untilId: number): void => {
            const lo = Math.max(1, fromId);
            const hi = Math.min(untilId, latest + 1);
            const answer = TRADES.slice(lo - 1, hi - 1);
            fed += answer.length;
            out.push(...m.history(answer, { fromId: lo, untilId: hi }));
          };
          const live = (): void => {
            const event = events[delivered++] as Trade;
            latest = Math.max(latest, event.id);
            fed++;
            out.push(...m.live(event));
          };
          for (const step of steps) {
            if (!step.rest && delivered < events.length) {
              live();
              continue;
            }
            const range = m.missing();
            if (range !== undefined) rest(range.fromId - step.before, range.untilId + step.after);
            else if (delivered === 0) rest(1, liveStart);
          }
          while (delivered < events.length) live();
          for (let range = m.missing(), rounds = 0; range !== undefined; range = m.missing()) {
            if (++rounds > TRADES.length) throw new Error(`missing() does not settle: still ${JSON.stringify(range)}`);
            rest(range.fromId, range.untilId);
          }

          expect(gapsOf(out), 'lost = 0').toEqual([]);
          expect(out.map((t) => (t as Trade).id), 'contiguous ids, each once').toEqual(TRADES.map((t) => t.id));
          expect(m.stats.emitted + m.stats.duplicates, 'every trade fed is emitted or counted as a duplicate').toBe(fed);
          expect(m.stats).toMatchObject({ lost: 0, buffered: 0 });
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('startWithHistory', () => {
  /** Ground truth of 400 one-second bars; the exchange's clock starts at bar `at` plus 400 ms. */
  async function setup(at: number): Promise<{ ex: Exchange; clock: ReturnType<typeof autoClock>; client: BinanceRestClient; seen: Seen[]; closed: Promise<void>[] }> {
    const ex = exchange(BARS);
    ex.now = bar(at).openTime + 400;
    const clock = autoClock(ex.now);
    return { ex, clock, ...(await restClient(ex, 'spot', clock)) };
  }

  /** Live events from bar `from` to bar `to`: a forming update and the close of each, minus `lost` events. */
  function liveEvents(from: number, to: number, lost: (i: number, closed: boolean) => boolean = () => false): Candle[] {
    const events: Candle[] = [];
    for (let i = from; i <= to; i++) {
      if (!lost(i, false)) events.push(forming(bar(i)));
      if (!lost(i, true)) events.push(bar(i));
    }
    return events;
  }

  function run(
    client: BinanceRestClient,
    options: { lookbackMs: number; onStats?: (stats: KlineMergerStats) => void },
  ): { live$: Subject<Flow<Candle>>; out: Flow<Candle>[]; done: Promise<void>; unsubscribe: () => void } {
    const live$ = new Subject<Flow<Candle>>();
    const out: Flow<Candle>[] = [];
    let unsubscribe = (): void => undefined;
    const done = new Promise<void>((resolve, reject) => {
      const subscription = startWithHistory(live$.asObservable(), { client, symbol: 'BTCUSDT', interval: '1s', ...options }).subscribe({
        next: (item) => out.push(item),
        error: reject,
        complete: resolve,
      });
      unsubscribe = () => {
        subscription.unsubscribe();
      };
    });
    return { live$, out, done, unsubscribe };
  }

  it('hands over from REST history to live exactly, and heals later live gaps', async () => {
    const { ex, client, seen } = await setup(300);
    let stats: KlineMergerStats | undefined;
    const { live$, out, done } = run(client, { lookbackMs: 200 * SECOND, onStats: (s) => (stats = s) });

    await until(() => candlesOf(out).at(-1)?.openTime === bar(299).openTime);
    // Time moved on while history was read: live starts at bar 305, loses bars 310 to 312 and the close of bar 315.
    ex.now = bar(330).openTime;
    for (const event of liveEvents(305, 325, (i, closed) => (i >= 310 && i <= 312) || (i === 315 && closed))) live$.next(event);
    live$.next({ type: 'status', venue: 'binance', symbol: 'BTC-USDT', tsEvent: ex.now, tsRecv: ex.now, state: 'live', detail: 'reconnected' });
    live$.complete();
    await done;

    expect(gapsOf(out)).toEqual([]);
    expect(candlesOf(out).map(market), 'bars 100 to 325: history, the bars that closed meanwhile, live, and the healed gap').toEqual(BARS.slice(100, 326).map(market));
    expect(out.filter((item) => item.type === 'status'), 'control events pass through').toHaveLength(1);
    expect(stats).toMatchObject({ emitted: 226, conflicts: 0, abandoned: 0, buffered: 0 });
    expect(seen.length, 'the first pages, the bars closed meanwhile, and the live gap').toBeGreaterThanOrEqual(3);
  });

  it('buffers live bars that arrive while the history is still being read', async () => {
    const { ex, client } = await setup(300);
    let release = (): void => undefined;
    ex.hold = new Promise((resolve) => {
      release = resolve;
    });
    const { live$, out, done } = run(client, { lookbackMs: 120 * SECOND });

    ex.now = bar(320).openTime;
    for (const event of liveEvents(300, 319)) live$.next(event);
    expect(candlesOf(out), 'nothing is emitted before the history').toEqual([]);
    live$.complete();
    ex.hold = undefined;
    release();
    await done;

    expect(candlesOf(out).map(market)).toEqual(BARS.slice(180, 320).map(market));
  });

  it('waits out a 429 during the backfill and sends nothing during the ban', async () => {
    const { ex, client, seen, clock } = await setup(300);
    ex.failures = [429];
    const { live$, out, done } = run(client, { lookbackMs: 60 * SECOND });

    await until(() => candlesOf(out).length > 0);
    ex.now = bar(305).openTime;
    for (const event of liveEvents(302, 304)) live$.next(event);
    live$.complete();
    await done;

    expect(candlesOf(out).map(market)).toEqual(BARS.slice(240, 305).map(market));
    const banStart = seen[0]?.time ?? 0;
    expect(seen.filter((s) => s.time > banStart && s.time < banStart + 1_000), 'requests during the ban').toEqual([]);
    expect(clock.sleeps).toContain(1_000);
    expect(client.stats.rateLimited).toBe(1);
  });

  it('aborts the request in flight when unsubscribed, and reports its counters', async () => {
    const { ex, client, seen, closed } = await setup(300);
    let release = (): void => undefined;
    ex.hold = new Promise((resolve) => {
      release = resolve;
    });
    let stats: KlineMergerStats | undefined;
    const { unsubscribe, out } = run(client, { lookbackMs: 60 * SECOND, onStats: (s) => (stats = s) });
    await until(() => seen.length === 1);

    unsubscribe();
    await closed[0];
    release();

    expect(stats, 'counters are reported on unsubscribe').toMatchObject({ emitted: 0 });
    expect(out).toEqual([]);
  });
});
