import { describe, expect, it } from 'vitest';
import type { BinanceRecord } from '../../src/sources/binance/parse.js';
import { createBinanceParser } from '../../src/sources/binance/parse.js';
import { formatDecimal } from '../../src/mock/binance/decimalFormat.js';
import { SimExchange } from '../../src/mock/binance/simExchange.js';
import type { StreamChannel } from '../../src/mock/binance/streamChannel.js';
import type { MockMarket } from '../../src/mock/binance/streamNames.js';
import { parseStreamName } from '../../src/mock/binance/streamNames.js';

const START = Date.UTC(2025, 0, 1);

/** Applies depth levels to one side of a local book: quantity 0 removes the level. */
function applyLevels(side: Map<string, string>, levels: readonly (readonly [string, string])[]): void {
  for (const [p, q] of levels) {
    if (Number(q) === 0) side.delete(p);
    else side.set(p, q);
  }
}

/** Collects what the exchange publishes, per stream. */
class Collector {
  readonly frames: { stream: string; payload: string }[] = [];

  deliver(channel: StreamChannel, payload: string): void {
    this.frames.push({ stream: channel.name, payload });
  }

  of(stream: string): string[] {
    return this.frames.filter((frame) => frame.stream === stream).map((frame) => frame.payload);
  }
}

function subscribe(exchange: SimExchange, market: MockMarket, names: readonly string[], collector: Collector): void {
  for (const name of names) {
    const spec = parseStreamName(market, name);
    if (typeof spec === 'string') throw new Error(spec);
    expect(exchange.subscribe(spec, collector), `${name} is served`).toBe(true);
  }
}

function exchange(market: MockMarket, seed = 7): SimExchange {
  const ex = new SimExchange({ market, symbols: [{ symbol: 'BTC-USDT' }, { symbol: 'ETHUSDT' }], seed, startTime: START });
  ex.advanceTo(START + 120_000);
  return ex;
}

interface DepthEvent {
  readonly U: number;
  readonly u: number;
  readonly pu?: number;
  readonly b: [string, string][];
  readonly a: [string, string][];
}

describe('formatDecimal', () => {
  it('writes grid values exactly and pads to the market precision', () => {
    expect(formatDecimal(94_000.01, 8)).toBe('94000.01000000');
    expect(formatDecimal(0.1 + 0.2, 2)).toBe('0.30000000000000004');
    expect(formatDecimal(5e-8, 8)).toBe('0.00000005');
    expect(formatDecimal(1.5e-7, 2)).toBe('0.00000015');
    expect(formatDecimal(-0.0001, 8)).toBe('-0.00010000');
    expect(formatDecimal(43_000, 0)).toBe('43000');
    expect(() => formatDecimal(Number.NaN, 2)).toThrow(/NaN/);
  });
});

describe('parseStreamName', () => {
  it('knows the spot and USD-M stream shapes and their cadences and tiers', () => {
    expect(parseStreamName('spot', 'btcusdt@depth@100ms')).toMatchObject({ kind: 'diffDepth', cadenceMs: 100, tier: 'public' });
    expect(parseStreamName('usdm', 'btcusdt@depth')).toMatchObject({ kind: 'diffDepth', cadenceMs: 250 });
    expect(parseStreamName('spot', 'btcusdt@kline_1m')).toMatchObject({ kind: 'kline', interval: '1m', intervalMs: 60_000, cadenceMs: 2_000 });
    expect(parseStreamName('usdm', '!markPrice@arr@1s')).toMatchObject({ kind: 'allMarkPrice', cadenceMs: 1_000, tier: 'market' });
    expect(parseStreamName('spot', 'btcusdt@depth10@100ms')).toMatchObject({ kind: 'partialDepth', levels: 10 });
  });

  it('names what is wrong with a bad stream name', () => {
    expect(parseStreamName('spot', 'btcusdt@nonsense')).toBe('unknown stream "btcusdt@nonsense" on spot');
    expect(parseStreamName('usdm', 'btcusdt@kline_1s')).toBe('unknown kline interval "1s" in stream "btcusdt@kline_1s"');
    expect(parseStreamName('spot', 'btcusdt@depth@500ms')).toMatch(/update speed "500ms" is not offered on spot/);
    expect(parseStreamName('spot', '!bookTicker')).toBe('unknown stream "!bookTicker" on spot');
    expect(parseStreamName('spot', 'btcusdt@kline_1w')).toMatch(/not supported by the mock/);
  });
});

describe('SimExchange', () => {
  it('is deterministic: the same seed gives the same frames, another seed others', () => {
    const run = (seed: number): string[] => {
      const ex = exchange('spot', seed);
      const collector = new Collector();
      subscribe(ex, 'spot', ['btcusdt@aggTrade', 'btcusdt@depth@100ms', 'ethusdt@kline_1s'], collector);
      ex.advanceTo(ex.now() + 30_000);
      return collector.frames.map((frame) => frame.payload);
    };
    const first = run(7);
    expect(first.length, 'a busy half minute').toBeGreaterThan(100);
    expect(run(7)).toEqual(first);
    expect(run(8)).not.toEqual(first);
  });

  it('makes the same data whether or not anyone subscribes', () => {
    const watched = exchange('usdm');
    subscribe(watched, 'usdm', ['btcusdt@depth@100ms', 'btcusdt@markPrice@1s', '!forceOrder@arr'], new Collector());
    watched.advanceTo(START + 300_000);
    const quiet = exchange('usdm');
    quiet.advanceTo(START + 300_000);
    expect(watched.symbol('BTC-USDT')?.depthSnapshot(1_000)).toEqual(quiet.symbol('BTC-USDT')?.depthSnapshot(1_000));
    expect(watched.symbol('BTC-USDT')?.mark()).toEqual(quiet.symbol('BTC-USDT')?.mark());
    expect(watched.simulator('BTC-USDT').lastTrade()).toEqual(quiet.simulator('BTC-USDT').lastTrade());
  });

  it('sends aggTrades with contiguous ids that equal the simulator history', () => {
    const ex = exchange('spot');
    const collector = new Collector();
    subscribe(ex, 'spot', ['btcusdt@aggTrade'], collector);
    ex.advanceTo(ex.now() + 20_000);
    const frames = collector.of('btcusdt@aggTrade').map((text) => JSON.parse(text) as { a: number; p: string; q: string; T: number; m: boolean });
    expect(frames.length).toBeGreaterThan(50);
    frames.forEach((frame, i) => {
      if (i > 0) expect(frame.a, 'aggregate ids are contiguous').toBe((frames[i - 1]?.a ?? 0) + 1);
    });
    const truth = ex.simulator('BTC-USDT').tradesFromId(frames[0]?.a ?? 0, frames.length);
    expect(frames.map((f) => [f.a, Number(f.p), Number(f.q), f.T, f.m ? 'sell' : 'buy'])).toEqual(truth.map((t) => [t.id, t.price, t.qty, t.tsEvent, t.side]));
  });

  it('keeps spot diff depth contiguous and consistent with the snapshot at every push', () => {
    const ex = exchange('spot');
    const collector = new Collector();
    subscribe(ex, 'spot', ['btcusdt@depth@100ms'], collector);
    const book = ex.symbol('BTC-USDT');
    if (book === undefined) throw new Error('BTC-USDT is listed');
    const snapshot = book.depthSnapshot(5_000);
    const local = { bids: new Map(snapshot.bids), asks: new Map(snapshot.asks) };
    let last = snapshot.lastUpdateId;
    for (let step = 0; step < 50; step++) {
      ex.advanceTo(ex.now() + 100);
      for (const text of collector.of('btcusdt@depth@100ms').splice(0)) {
        const event = JSON.parse(text) as DepthEvent;
        expect(event.U, 'the next event starts right after the last').toBe(last + 1);
        applyLevels(local.bids, event.b);
        applyLevels(local.asks, event.a);
        last = event.u;
      }
      collector.frames.length = 0;
      const truth = book.depthSnapshot(5_000);
      expect(truth.lastUpdateId, 'after a push the snapshot is at the last event').toBe(last);
      expect(new Map(truth.bids)).toEqual(local.bids);
      expect(new Map(truth.asks)).toEqual(local.asks);
    }
  });

  it('chains USD-M depth events with pu, ids not contiguous', () => {
    const ex = exchange('usdm');
    const collector = new Collector();
    subscribe(ex, 'usdm', ['btcusdt@depth@100ms', 'btcusdt@depth'], collector);
    ex.advanceTo(ex.now() + 10_000);
    for (const stream of ['btcusdt@depth@100ms', 'btcusdt@depth']) {
      const events = collector.of(stream).map((text) => JSON.parse(text) as DepthEvent);
      expect(events.length).toBeGreaterThan(10);
      events.forEach((event, i) => {
        if (i > 0) expect(event.pu, `${stream}: pu is the previous u`).toBe(events[i - 1]?.u);
      });
      expect(events.some((event, i) => i > 0 && event.U !== (events[i - 1]?.u ?? 0) + 1), 'futures ids skip').toBe(true);
    }
  });

  it('pushes forming klines with x:false and each bar once with x:true, equal to the simulator', () => {
    const ex = exchange('spot');
    const collector = new Collector();
    subscribe(ex, 'spot', ['btcusdt@kline_1m', 'btcusdt@kline_1s'], collector);
    ex.advanceTo(ex.now() + 300_000);
    for (const [stream, interval] of [
      ['btcusdt@kline_1m', '1m'],
      ['btcusdt@kline_1s', '1s'],
    ] as const) {
      const bars = collector.of(stream).map((text) => (JSON.parse(text) as { k: { t: number; o: string; h: string; l: string; c: string; v: string; n: number; x: boolean } }).k);
      const finals = bars.filter((bar) => bar.x);
      expect(new Set(finals.map((bar) => bar.t)).size, `${stream}: one final per bar`).toBe(finals.length);
      const truth = new Map(ex.simulator('BTC-USDT').klines(interval).map((candle) => [candle.openTime, candle]));
      const compared = finals.filter((bar) => truth.get(bar.t)?.closed === true);
      expect(compared.length).toBeGreaterThan(interval === '1m' ? 3 : 200);
      for (const bar of compared) {
        const candle = truth.get(bar.t);
        expect([Number(bar.o), Number(bar.h), Number(bar.l), Number(bar.c), Number(bar.v), bar.n]).toEqual([candle?.open, candle?.high, candle?.low, candle?.close, candle?.volume, candle?.trades]);
      }
    }
    const forming = collector.of('btcusdt@kline_1m').filter((text) => text.includes('"x":false'));
    expect(forming.length, 'forming 1m updates every 2 s').toBeGreaterThan(100);
  });

  it('sends every stream in a form the Binance parser accepts, with no drops', () => {
    for (const market of ['spot', 'usdm'] as const) {
      const ex = exchange(market);
      const collector = new Collector();
      const names =
        market === 'spot'
          ? ['btcusdt@trade', 'btcusdt@aggTrade', 'btcusdt@kline_1s', 'btcusdt@kline_1m', 'btcusdt@bookTicker', 'btcusdt@depth', 'btcusdt@depth@100ms', 'btcusdt@depth5', 'ethusdt@depth20@100ms']
          : ['btcusdt@aggTrade', 'btcusdt@kline_1m', 'btcusdt@bookTicker', '!bookTicker', 'btcusdt@depth@500ms', 'btcusdt@depth10', 'btcusdt@markPrice@1s', '!markPrice@arr', 'btcusdt@forceOrder', '!forceOrder@arr'];
      subscribe(ex, market, names, collector);
      ex.advanceTo(ex.now() + 300_000);
      const parser = createBinanceParser({ market, verifyFastPath: true });
      const records: BinanceRecord[] = [];
      const drops: string[] = [];
      for (const frame of collector.frames) {
        const combined = `{"stream":"${frame.stream}","data":${frame.payload}}`;
        parser.parse(combined, START + 86_400_000, { record: (r) => records.push(r), control: () => undefined, drop: (reason) => drops.push(reason) });
      }
      expect(drops, `${market}: nothing dropped`).toEqual([]);
      const types = new Set(records.map((record) => record.type));
      const expected = market === 'spot' ? ['trade', 'candle', 'book-top', 'book-depth'] : ['trade', 'candle', 'book-top', 'book-depth', 'mark-price', 'liquidation'];
      expect([...types].sort()).toEqual(expected.sort());
      for (const name of names) expect(collector.of(name).length, `${market} ${name} sent something`).toBeGreaterThan(0);
    }
  });

  it('records funding settlements every interval', () => {
    const ex = new SimExchange({ market: 'usdm', symbols: [{ symbol: 'BTC-USDT', tradeRate: 1 }], seed: 1, startTime: START, fundingIntervalHours: 1, book: { levels: 10, updatesPerSecond: 0 } });
    ex.advanceTo(START + 3 * 3_600_000 + 1_000);
    const history = ex.symbol('BTCUSDT')?.fundingHistory() ?? [];
    expect(history.map((r) => r.fundingTime)).toEqual([START + 3_600_000, START + 7_200_000, START + 10_800_000]);
    expect(ex.symbol('BTCUSDT')?.mark()?.nextFundingTime).toBe(START + 4 * 3_600_000);
  });

  it('rejects symbols it cannot read, naming them', () => {
    expect(() => new SimExchange({ market: 'spot', symbols: [{ symbol: 'BTC_USDT' }], seed: 1, startTime: START })).toThrow('symbols[0] "BTC_USDT" is not recognised');
    expect(() => new SimExchange({ market: 'spot', symbols: [{ symbol: 'BTCUSDT' }, { symbol: 'btc-usdt' }], seed: 1, startTime: START })).toThrow('symbols[1] "btc-usdt" is listed twice');
    expect(() => exchange('spot').simulator('DOGE-USDT')).toThrow('Symbol "DOGE-USDT" is not on the mock spot exchange. Available: BTC-USDT, ETH-USDT');
  });
});
