import { pino } from 'pino';
import { lastValueFrom, take, toArray, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createContext, type NodeContext } from '../../../src/context.js';
import { METRIC, Metrics } from '../../../src/metrics.js';
import type { Trade } from '../../../src/model/index.js';
import { createSimulatorRun } from '../../../src/sources/simulator/createSimulatorRun.js';
import { MarketSimulator } from '../../../src/sources/simulator/marketSimulator.js';
import { simulatorTrades, simulatorTradesParams, simulatorTradesSource } from '../../../src/sources/simulator/simulatorTrades.js';
import { MINUTE, T0 } from '../../support/builders.js';
import { testDefinitionContract } from '../../support/contracts.js';

function quietContext(overrides: Partial<NodeContext> = {}): NodeContext {
  return createContext({ logger: pino({ level: 'silent' }), metrics: new Metrics(), ...overrides });
}

/** Subscribes on a virtual-time scheduler and records each trade with the scheduler time it was emitted at. */
function runPaced(trades$: ReturnType<typeof simulatorTrades>, scheduler: VirtualTimeScheduler): { seen: [Trade, number][]; done: () => boolean } {
  const seen: [Trade, number][] = [];
  let complete = false;
  trades$.subscribe({
    next: (trade) => seen.push([trade, scheduler.now()]),
    complete: () => (complete = true),
  });
  scheduler.flush();
  return { seen, done: () => complete };
}

describe('simulatorTrades', () => {
  it('does emit the simulator trades, the same on every subscription', async () => {
    const trades$ = simulatorTrades({ seed: 5, limit: 2_000 }, quietContext());
    const first = await lastValueFrom(trades$.pipe(toArray()));
    const second = await lastValueFrom(trades$.pipe(toArray()));
    expect(first).toHaveLength(2_000);
    expect(second, 'a new simulator per subscription').toStrictEqual(first);
    const direct = new MarketSimulator({ seed: 5 });
    expect(first, 'exactly what the simulator makes').toStrictEqual(Array.from({ length: 2_000 }, () => direct.next()));
  });

  it('does stop at the end of the duration', async () => {
    const { simulator, trades$ } = createSimulatorRun({ seed: 6, duration: '90m' }, quietContext());
    const trades = await lastValueFrom(trades$.pipe(toArray()));
    const end = T0 + 90 * MINUTE;
    expect(trades.every((trade) => trade.tsEvent < end), 'nothing at or after the end').toBe(true);
    expect(simulator.peek().tsEvent, 'the next trade is past the end').toBeGreaterThanOrEqual(end);
    expect(trades.at(-1)?.tsEvent, 'the run reaches the end (15 trades a second)').toBeGreaterThan(end - 10_000);
  });

  it('does stop after limit trades, or at the duration if that comes first', async () => {
    const limited = await lastValueFrom(simulatorTrades({ limit: 777, duration: '1d' }, quietContext()).pipe(toArray()));
    expect(limited.map((trade) => trade.id)).toStrictEqual(Array.from({ length: 777 }, (_, i) => i + 1));
    const short = await lastValueFrom(simulatorTrades({ limit: 1_000_000, duration: '10s' }, quietContext()).pipe(toArray()));
    expect(short.length, 'ten seconds hold far fewer than a million trades').toBeLessThan(1_000);
  });

  it('does pace trades on the scheduler: with speed 60 one simulated minute takes 1000 ms', () => {
    const scheduler = new VirtualTimeScheduler();
    const { seen, done } = runPaced(simulatorTrades({ seed: 7, speed: 60, duration: '2m' }, quietContext({ scheduler })), scheduler);
    expect(done(), 'the bounded run completes').toBe(true);
    const [first] = seen[0] ?? [];
    const t0 = first?.tsEvent ?? Number.NaN;
    for (const [trade, at] of seen) expect(at, `trade ${trade.id} at simulated +${trade.tsEvent - t0} ms`).toBeCloseTo((trade.tsEvent - t0) / 60, 6);
    const aMinuteLater = seen.find(([trade]) => trade.tsEvent >= t0 + MINUTE);
    expect(aMinuteLater?.[1], 'a minute of simulated time after the first trade').toBeGreaterThanOrEqual(1_000);
    expect(aMinuteLater?.[1]).toBeLessThan(1_000 + 1_000 / 60);
    expect(scheduler.now(), 'two simulated minutes fit in two seconds').toBeLessThanOrEqual(2_000);
  });

  it('does emit the same trades paced as unpaced', async () => {
    const scheduler = new VirtualTimeScheduler();
    const { seen } = runPaced(simulatorTrades({ seed: 11, speed: 1_000, duration: '5m' }, quietContext({ scheduler })), scheduler);
    const unpaced = await lastValueFrom(simulatorTrades({ seed: 11, duration: '5m' }, quietContext()).pipe(toArray()));
    expect(seen.map(([trade]) => trade), 'pacing changes when, never what').toStrictEqual(unpaced);
  });

  it('does stop generating when unsubscribed while paced: nothing scheduled, no further trades', () => {
    const scheduler = new VirtualTimeScheduler();
    const { simulator, trades$ } = createSimulatorRun({ seed: 8, speed: 10 }, quietContext({ scheduler }));
    const { seen, done } = runPaced(trades$.pipe(take(10)), scheduler);
    expect(done()).toBe(true);
    expect(seen).toHaveLength(10);
    expect(scheduler.actions, 'no timer left behind').toHaveLength(0);
    expect(simulator.lastTrade()?.id, 'the history holds exactly what was emitted').toBe(10);
    scheduler.flush();
    expect(simulator.lastTrade()?.id, 'nothing more happens').toBe(10);
  });

  it('does yield to the event loop when endless and unpaced, and stop when unsubscribed', async () => {
    const { simulator, trades$ } = createSimulatorRun({ seed: 9 }, quietContext());
    let count = 0;
    const subscription = trades$.subscribe(() => count++);
    // This promise only settles if the endless source gives the event loop a turn.
    await new Promise((resolve) => setImmediate(resolve));
    expect(count, 'trades flowed before the event loop got its turn').toBeGreaterThan(0);
    subscription.unsubscribe();
    const stoppedAt = simulator.lastTrade()?.id ?? 0;
    expect(stoppedAt - count, 'at most the rest of one batch was made and not emitted').toBeLessThan(256);
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(simulator.lastTrade()?.id, 'nothing more is generated').toBe(stoppedAt);
  });

  it('does log start and stop through ctx.logger and count what it delivered', async () => {
    const lines: { msg: string; seed?: number; trades?: number }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as { msg: string }) });
    const metrics = new Metrics();
    await lastValueFrom(simulatorTrades({ seed: 10, limit: 600 }, quietContext({ logger, metrics, node: 'sim' })).pipe(toArray()));
    expect(lines.map((line) => line.msg)).toStrictEqual(['market simulator started', 'market simulator stopped']);
    expect(lines[0]?.seed).toBe(10);
    expect(lines[1]?.trades).toBe(600);
    expect(metrics.counter(METRIC.received, '').get({ source: 'sim' })).toBe(600);
  });

  it('does reject bad params with messages naming the param and the value', () => {
    const cases: [unknown, string][] = [
      [{ duration: 'forever' }, 'duration "forever" must be a count and a unit s, m, h or d'],
      [{ duration: '1.5h' }, 'duration "1.5h"'],
      [{ speed: 0 }, 'speed "0" must be positive'],
      [{ limit: 2.5 }, 'limit "2.5" must be a positive integer'],
      [{ volatility: 'high' }, 'volatility "high" must be a finite number'],
      [{ sped: 60 }, 'Unrecognized key: "sped"'],
    ];
    for (const [params, message] of cases) {
      const result = simulatorTradesParams.safeParse(params);
      expect(result.success, JSON.stringify(params)).toBe(false);
      expect(result.error?.issues.map((issue) => issue.message).join('\n')).toContain(message);
    }
    expect(() => simulatorTrades({ speed: -1 })).toThrow('simulatorTrades params are invalid');
  });

  it('does accept durations in s, m, h and d with any count, and start times as ISO or epoch ms', () => {
    const parsed = simulatorTradesParams.parse({ duration: '90m', startTime: '2024-03-01T00:00:00+01:00' });
    expect(parsed.startTime).toBe(Date.UTC(2024, 1, 29, 23));
    expect(simulatorTradesParams.parse({ startTime: 1_700_000_000_000 }).startTime).toBe(1_700_000_000_000);
    for (const duration of ['45s', '90m', '36h', '3d']) expect(simulatorTradesParams.safeParse({ duration }).success, duration).toBe(true);
  });
});

testDefinitionContract(simulatorTradesSource, { params: { limit: 300, speed: 600 }, virtualTime: true });
testDefinitionContract(simulatorTradesSource, { params: { seed: 3, limit: 300 } });
