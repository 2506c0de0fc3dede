import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Candle, Flow, Trade } from '../../../src/model/index.js';
import { bucketStart, CandleSchema, TradeSchema } from '../../../src/model/index.js';
import { buildCandles } from '../../../src/operators/candles/buildCandles.js';
import { MarketSimulator, type MarketSimulatorOptions } from '../../../src/sources/simulator/marketSimulator.js';
import { MINUTE, T0 } from '../../support/builders.js';

function take(simulator: MarketSimulator, count: number): Trade[] {
  return Array.from({ length: count }, () => simulator.next());
}

async function buildCandlesOn(trades: readonly Trade[], interval: string): Promise<Flow<Candle>[]> {
  return lastValueFrom(from(trades).pipe(buildCandles(interval), toArray()));
}

/** How many grid steps of `step` (with `decimals` places) a value is, or NaN when it is off the grid. */
function stepsOf(value: number, step: number, decimals: number): number {
  const scale = 10 ** decimals;
  const units = Math.round(value * scale);
  const stepUnits = Math.round(step * scale);
  // The value must be the double nearest to its decimal spelling, and a whole number of steps.
  return units / scale === value && units % stepUnits === 0 ? units / stepUnits : Number.NaN;
}

describe('MarketSimulator', () => {
  it('does make the same trades for the same seed and params', () => {
    const options: MarketSimulatorOptions = { seed: 11, volatility: 0.8, jumpRate: 50 };
    expect(take(new MarketSimulator(options), 20_000)).toStrictEqual(take(new MarketSimulator(options), 20_000));
  });

  it('does make different trades for a different seed', () => {
    const a = take(new MarketSimulator({ seed: 1 }), 1_000);
    const b = take(new MarketSimulator({ seed: 2 }), 1_000);
    const alike = a.filter((trade, i) => {
      const other = b[i];
      return other !== undefined && trade.price === other.price && trade.tsEvent === other.tsEvent;
    });
    expect(alike.length, 'hardly any trade alike').toBeLessThan(10);
  });

  it('does make the same sequence however it is driven (next, peek, nextUntil, advanceTo)', () => {
    const reference = take(new MarketSimulator({ seed: 3 }), 5_000);
    const driven = new MarketSimulator({ seed: 3 });
    const seen: Trade[] = [];
    const peeked = driven.peek();
    expect(driven.peek(), 'peek is idempotent').toBe(peeked);
    expect(driven.lastTrade(), 'peek makes nothing happen').toBeUndefined();
    seen.push(driven.next());
    expect(seen[0], 'next returns the peeked trade').toBe(peeked);
    seen.push(...driven.advanceTo(T0 + 30_000));
    for (let trade = driven.nextUntil(T0 + 45_000); trade !== undefined; trade = driven.nextUntil(T0 + 45_000)) seen.push(trade);
    while (seen.length < 5_000) seen.push(driven.next());
    expect(seen).toStrictEqual(reference);
  });

  it('does make valid trade records: schema, ids from 1, time from startTime on, tsRecv = tsEvent', () => {
    const simulator = new MarketSimulator({ seed: 4, venue: 'sim-test', symbol: 'ethusdt', startTime: '2024-06-01T12:00:00Z', startPrice: 3_500 });
    const trades = take(simulator, 50_000);
    const start = Date.UTC(2024, 5, 1, 12);
    expect(simulator.startTime).toBe(start);
    expect(trades.filter((trade) => !TradeSchema.safeParse(trade).success).slice(0, 3), 'every trade matches the schema').toStrictEqual([]);
    expect(trades.every((trade, i) => trade.id === i + 1), 'consecutive ids from 1').toBe(true);
    expect(trades.every((trade) => trade.tsRecv === trade.tsEvent), 'the simulator receives at event time').toBe(true);
    expect(trades.every((trade, i) => trade.tsEvent >= (trades[i - 1]?.tsEvent ?? start)), 'time never goes back, and starts at startTime').toBe(true);
    expect(trades.every((trade) => trade.venue === 'sim-test' && trade.symbol === 'ETH-USDT'), 'venue as given, symbol canonicalised').toBe(true);
    expect(Object.keys(trades[0] ?? {}).sort(), 'the trade fields and nothing else').toStrictEqual(['id', 'price', 'qty', 'side', 'symbol', 'tsEvent', 'tsRecv', 'type', 'venue']);
  });

  it.each([
    { tickSize: 0.01, lotSize: 0.00001, startPrice: 94_000, tickDecimals: 2, lotDecimals: 5 },
    { tickSize: 0.5, lotSize: 0.001, startPrice: 2_500, tickDecimals: 1, lotDecimals: 3 },
    { tickSize: 0.00001, lotSize: 1, startPrice: 0.35, qtyMedian: 800, tickDecimals: 5, lotDecimals: 0 },
  ])('does put prices on the $tickSize tick grid and quantities on positive $lotSize lots', ({ tickDecimals, lotDecimals, ...options }) => {
    const trades = take(new MarketSimulator({ seed: 5, ...options }), 100_000);
    const offTick = trades.filter((trade) => Number.isNaN(stepsOf(trade.price, options.tickSize, tickDecimals)));
    const offLot = trades.filter((trade) => !(stepsOf(trade.qty, options.lotSize, lotDecimals) >= 1));
    expect(offTick.slice(0, 3), 'every price is a whole number of ticks').toStrictEqual([]);
    expect(offLot.slice(0, 3), 'every quantity is a positive whole number of lots').toStrictEqual([]);
  });

  it('does keep its clock at the latest of start, last trade and advanceTo', () => {
    const simulator = new MarketSimulator({ seed: 6 });
    expect(simulator.now()).toBe(T0);
    simulator.advanceTo(T0 + 5_000);
    expect(simulator.now(), 'advanceTo moves the clock').toBe(T0 + 5_000);
    const pending = simulator.peek();
    expect(pending.tsEvent, 'the next trade is after the clock').toBeGreaterThan(T0 + 5_000);
    simulator.next();
    expect(simulator.now()).toBe(pending.tsEvent);
    expect(simulator.advanceTo(T0), 'going back makes nothing').toStrictEqual([]);
    expect(simulator.now()).toBe(pending.tsEvent);
  });

  it('does return every trade up to a time from advanceTo, and the rest later', () => {
    const simulator = new MarketSimulator({ seed: 7 });
    const first = simulator.advanceTo(T0 + MINUTE);
    expect(first.length, 'about 15 trades a second').toBeGreaterThan(100);
    expect(first.every((trade) => trade.tsEvent <= T0 + MINUTE)).toBe(true);
    expect(simulator.peek().tsEvent, 'the pending trade is after the minute').toBeGreaterThan(T0 + MINUTE);
    expect(simulator.lastTrade()).toBe(first.at(-1));
  });

  describe('history', () => {
    const simulator = new MarketSimulator({ seed: 8 });
    const trades = simulator.advanceTo(T0 + 30 * MINUTE);

    it('does hold what happened', () => {
      expect(simulator.historyRange()).toStrictEqual({
        firstId: 1,
        lastId: trades.length,
        firstTime: trades[0]?.tsEvent,
        lastTime: trades.at(-1)?.tsEvent,
        dropped: 0,
      });
    });

    it('does answer tradesBetween with both ends included', () => {
      const from = T0 + 5 * MINUTE + 123;
      const to = T0 + 7 * MINUTE;
      const expected = trades.filter((trade) => trade.tsEvent >= from && trade.tsEvent <= to);
      expect(simulator.tradesBetween(from, to)).toStrictEqual(expected);
      expect(simulator.tradesBetween(from, to, 10), 'limit keeps the oldest').toStrictEqual(expected.slice(0, 10));
      expect(simulator.tradesBetween(T0 + 40 * MINUTE, T0 + 50 * MINUTE), 'the future is empty').toStrictEqual([]);
    });

    it('does answer tradesFromId like aggTrades with fromId', () => {
      expect(simulator.tradesFromId(100, 500)).toStrictEqual(trades.slice(99, 599));
      expect(simulator.tradesFromId(trades.length - 2), 'the last few').toStrictEqual(trades.slice(-3));
      expect(simulator.tradesFromId(trades.length + 1), 'nothing yet').toStrictEqual([]);
    });

    it('does build klines equal to build-candles on the same trades, with the forming bar last', async () => {
      for (const interval of ['1m', '5m', '1s']) {
        const built = await buildCandlesOn(trades, interval);
        const klines = simulator.klines(interval);
        expect(klines.slice(0, -1), `${interval}: closed bars equal build-candles`).toStrictEqual(built);
        const forming = klines.at(-1);
        expect(forming?.closed, `${interval}: the last bar is forming`).toBe(false);
        expect(forming?.tsEvent, `${interval}: as of the last trade`).toBe(trades.at(-1)?.tsEvent);
        for (const bar of klines) expect(CandleSchema.safeParse(bar).success).toBe(true);
      }
    });

    it('does make each kline from the trades of its minute', () => {
      // Checked by hand from the trades, without CandleBuilder.
      const bar = simulator.klines('1m', T0 + 10 * MINUTE, T0 + 10 * MINUTE)[0];
      const inBar = trades.filter((trade) => bucketStart(trade.tsEvent, MINUTE) === T0 + 10 * MINUTE);
      const prices = inBar.map((trade) => trade.price);
      expect(bar).toMatchObject({
        openTime: T0 + 10 * MINUTE,
        closeTime: T0 + 11 * MINUTE - 1,
        open: prices[0],
        close: prices.at(-1),
        high: Math.max(...prices),
        low: Math.min(...prices),
        trades: inBar.length,
        closed: true,
      });
      expect(bar?.volume).toBeCloseTo(inBar.reduce((sum, trade) => sum + trade.qty, 0), 8);
    });

    it('does select klines by startTime, endTime and limit as Binance does', () => {
      const every = simulator.klines('1m');
      expect(every.length, '30 minutes of bars').toBe(30);
      const between = (from: number, to: number): Candle[] => every.filter((bar) => bar.openTime >= from && bar.openTime <= to);
      expect(simulator.klines('1m', T0 + 3 * MINUTE, T0 + 8 * MINUTE), 'open times in [start, end]').toStrictEqual(between(T0 + 3 * MINUTE, T0 + 8 * MINUTE));
      expect(simulator.klines('1m', T0 + 3 * MINUTE + 1), 'a start inside a bar skips that bar').toStrictEqual(between(T0 + 4 * MINUTE, Number.POSITIVE_INFINITY));
      expect(simulator.klines('1m', T0 + 3 * MINUTE, undefined, 4), 'with a start: the first bars from it').toStrictEqual(every.slice(3, 7));
      expect(simulator.klines('1m', undefined, undefined, 4), 'without a start: the most recent bars').toStrictEqual(every.slice(-4));
      expect(simulator.klines('1m', undefined, T0 + 20 * MINUTE, 2), 'the last bars up to the end').toStrictEqual(every.slice(19, 21));
      expect(simulator.klines('1m', T0 + 60 * MINUTE), 'nothing in the future').toStrictEqual([]);
      expect(simulator.klines('1m', undefined, undefined, 0)).toStrictEqual([]);
      expect(() => simulator.klines('7x')).toThrow('Interval "7x" is not valid');
    });
  });

  it('does drop the oldest trades beyond maxHistory and leave the partial bar out of klines', async () => {
    const simulator = new MarketSimulator({ seed: 9, maxHistory: 5_000 });
    const trades = simulator.advanceTo(T0 + 20 * MINUTE);
    expect(trades.length, 'more trades than the history keeps').toBeGreaterThan(5_000);
    const range = simulator.historyRange();
    expect(range?.firstId).toBe(trades.length - 4_999);
    expect(range?.dropped).toBe(trades.length - 5_000);
    expect(simulator.tradesFromId(1, 2)[0]?.id, 'the oldest retained comes back for an older id').toBe(range?.firstId);
    const oldestBucket = bucketStart(range?.firstTime ?? 0, MINUTE);
    const klines = simulator.klines('1m');
    expect(klines[0]?.openTime, 'the bar cut by the drop is not served').toBe(oldestBucket + MINUTE);
    const built = (await buildCandlesOn(trades, '1m')).filter((bar) => bar.type === 'candle' && bar.openTime > oldestBucket);
    expect(klines.slice(0, -1), 'the bars served are exact').toStrictEqual(built);
  });

  it('does keep no history with maxHistory 0, and still tell the last trade', () => {
    const simulator = new MarketSimulator({ seed: 10, maxHistory: 0 });
    const trades = take(simulator, 100);
    expect(simulator.historyRange()).toBeUndefined();
    expect(simulator.klines('1m')).toStrictEqual([]);
    expect(simulator.lastTrade()).toBe(trades.at(-1));
  });

  it('does record jumps, each visible as a price move between two trades', () => {
    // Jumps of 0.4 % on average, 250 a day; their variance alone is 250 * 365 * 2 * 0.004^2 = 2.92 a year.
    const simulator = new MarketSimulator({ seed: 12, jumpRate: 250, jumpSize: 0.004, volatility: 2 });
    const trades = simulator.advanceTo(T0 + 12 * 3_600_000);
    const jumps = simulator.jumps();
    // Twelve hours at 250 a day: 125 expected, Poisson standard deviation 11.2.
    expect(jumps.length).toBeGreaterThan(85);
    expect(jumps.length).toBeLessThan(165);
    const byTrade = new Map<number, number>();
    for (const jump of jumps) byTrade.set(jump.tradeId, (byTrade.get(jump.tradeId) ?? 0) + jump.logReturn);
    for (const [tradeId, logReturn] of byTrade) {
      const before = trades[tradeId - 2];
      const after = trades[tradeId - 1];
      if (before === undefined || after === undefined) continue;
      // Between two trades (about 70 ms) the diffusion moves the price by about 5e-5 here (1.08
      // a year of diffusion volatility) and the spread by 1e-7: the jump dominates.
      expect(Math.abs(Math.log(after.price / before.price) - logReturn), `jump before trade ${tradeId}`).toBeLessThan(1e-3);
      expect(after.tsEvent, 'the first trade after the jump').toBeGreaterThanOrEqual(jumps.find((jump) => jump.tradeId === tradeId)?.time ?? 0);
    }
  });

  it('does reject bad options with messages naming the param and the value', () => {
    const cases: [MarketSimulatorOptions, string][] = [
      [{ volatility: -1 }, 'volatility "-1" must be in (0, 20]'],
      [{ tickSize: 0 }, 'tickSize "0" must be a positive step'],
      [{ lotSize: 1e-15 }, 'lotSize "1e-15" must be a positive step with at most 12 decimal places'],
      [{ garchAlpha: 0.1, garchBeta: 0.95 }, 'garchAlpha + garchBeta ("0.1" + "0.95") must be below 1'],
      [{ jumpRate: 1_000, jumpSize: 0.01 }, 'jumps alone (jumpRate "1000" a day of mean size "0.01")'],
      [{ startPrice: 0.05 }, 'startPrice "0.05" is 5.00 ticks of "0.01"'],
      [{ symbol: '???' }, 'symbol "???" is not recognised'],
      [{ startTime: 'yesterday' }, 'startTime "yesterday" must be an ISO date-time'],
      [{ seed: -3 }, 'seed "-3" must be an integer'],
      [{ excitation: 1 }, 'excitation "1" must be in [0, 0.95]'],
      [{ maxHistory: -1 }, 'maxHistory "-1" must be an integer >= 0'],
      [{ notAParam: 1 } as MarketSimulatorOptions, 'Unrecognized key: "notAParam"'],
    ];
    for (const [options, message] of cases) expect(() => new MarketSimulator(options), JSON.stringify(options)).toThrow(message);
  });

  it('does report every bad option at once', () => {
    expect(() => new MarketSimulator({ volatility: 0, tradeRate: -2 })).toThrow(/volatility "0"[\s\S]*tradeRate "-2"/);
  });
});
