import { pino } from 'pino';
import { from, lastValueFrom, take, toArray, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createContext, type NodeContext } from '../../../src/context.js';
import { Metrics } from '../../../src/metrics.js';
import { CandleSchema } from '../../../src/model/index.js';
import { buildCandles } from '../../../src/operators/candles/buildCandles.js';
import { simulatorCandles, simulatorCandlesParams, simulatorCandlesSource } from '../../../src/sources/simulator/simulatorCandles.js';
import { simulatorTrades } from '../../../src/sources/simulator/simulatorTrades.js';
import { MINUTE, T0 } from '../../support/builders.js';
import { testDefinitionContract } from '../../support/contracts.js';

function quietContext(overrides: Partial<NodeContext> = {}): NodeContext {
  return createContext({ logger: pino({ level: 'silent' }), metrics: new Metrics(), ...overrides });
}

describe('simulatorCandles', () => {
  it('does give a bar for every interval of the duration, all closed and valid', async () => {
    const bars = await lastValueFrom(simulatorCandles({ seed: 31, duration: '1h', interval: '1m' }, quietContext()).pipe(toArray()));
    expect(bars.map((bar) => bar.openTime), 'one bar a minute for the hour').toStrictEqual(Array.from({ length: 60 }, (_, i) => T0 + i * MINUTE));
    expect(bars.every((bar) => bar.closed && bar.interval === '1m' && bar.venue === 'sim' && bar.symbol === 'BTC-USDT')).toBe(true);
    expect(bars.filter((bar) => !CandleSchema.safeParse(bar).success), 'every bar matches the schema').toStrictEqual([]);
  });

  it('does make the bars build-candles makes from simulator-trades with the same params', async () => {
    const params = { seed: 32, duration: '2h', interval: '5m' } as const;
    const bars = await lastValueFrom(simulatorCandles(params, quietContext()).pipe(toArray()));
    const { interval, ...tradeParams } = params;
    const trades = await lastValueFrom(simulatorTrades(tradeParams, quietContext()).pipe(toArray()));
    const built = await lastValueFrom(from(trades).pipe(buildCandles(interval), toArray()));
    // simulator-trades stops before the end, so build-candles cannot close the last bar; the
    // candle source closes it with the next trade, whose time the last bar carries.
    expect(built).toHaveLength(23);
    expect(bars.slice(0, 23)).toStrictEqual(built);
    expect(bars).toHaveLength(24);
    expect(bars[23]?.tsEvent, 'the last bar closes at or after the end').toBeGreaterThanOrEqual(T0 + 2 * 60 * MINUTE);
  });

  it('does leave the last bar unclosed when limit ends the run', async () => {
    const bars = await lastValueFrom(simulatorCandles({ seed: 33, limit: 5_000, interval: '1m' }, quietContext()).pipe(toArray()));
    const trades = await lastValueFrom(simulatorTrades({ seed: 33, limit: 5_000 }, quietContext()).pipe(toArray()));
    const lastBar = Math.floor(((trades.at(-1)?.tsEvent ?? 0) - T0) / MINUTE);
    expect(bars.map((bar) => bar.openTime), 'every bar before the one of the last trade').toStrictEqual(Array.from({ length: lastBar }, (_, i) => T0 + i * MINUTE));
  });

  it('does pace bars with the trades that close them', () => {
    const scheduler = new VirtualTimeScheduler();
    const seen: [number, number][] = [];
    simulatorCandles({ seed: 34, speed: 60, duration: '5m' }, quietContext({ scheduler }))
      .pipe(take(5))
      .subscribe((bar) => seen.push([bar.openTime, scheduler.now()]));
    scheduler.flush();
    expect(seen.map(([openTime]) => openTime)).toStrictEqual([0, 1, 2, 3, 4].map((i) => T0 + i * MINUTE));
    // At speed 60 a minute takes a second: bar i closes at about (i + 1) seconds after the first trade.
    for (const [i, [, at]] of seen.entries()) {
      expect(at, `bar ${i}`).toBeGreaterThan((i + 1) * 1_000 - 100);
      expect(at, `bar ${i}`).toBeLessThan((i + 1) * 1_000 + 100);
    }
    expect(scheduler.actions).toHaveLength(0);
  });

  it('does describe its interval and reject a bad one', () => {
    expect(simulatorCandlesSource.describe?.(simulatorCandlesParams.parse({ interval: '15m' }))).toStrictEqual({ interval: '15m' });
    expect(simulatorCandlesParams.parse({}).interval, 'one minute by default').toBe('1m');
    const result = simulatorCandlesParams.safeParse({ interval: '7x' });
    expect(result.error?.issues[0]?.message).toContain('Interval "7x" is not valid');
    expect(() => simulatorCandles({ interval: '2d' })).toThrow('simulatorCandles params are invalid');
  });
});

testDefinitionContract(simulatorCandlesSource, { params: { duration: '5m', speed: 600 }, virtualTime: true });
testDefinitionContract(simulatorCandlesSource, { params: { seed: 2, duration: '10m', interval: '1m' } });
