import { pino } from 'pino';
import { from, lastValueFrom, take, toArray, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createContext, type NodeContext } from '../../../src/context.js';
import { Metrics } from '../../../src/metrics.js';
import type { Trade } from '../../../src/model/index.js';
import { buildCandles } from '../../../src/operators/candles/buildCandles.js';
import { createSimulatorRun } from '../../../src/sources/simulator/createSimulatorRun.js';
import { MINUTE, T0 } from '../../support/builders.js';

function quietContext(overrides: Partial<NodeContext> = {}): NodeContext {
  return createContext({ logger: pino({ level: 'silent' }), metrics: new Metrics(), ...overrides });
}

describe('createSimulatorRun', () => {
  it('does keep a history that agrees with what the stream emitted', async () => {
    const { simulator, trades$ } = createSimulatorRun({ seed: 21, duration: '20m' }, quietContext());
    const emitted = await lastValueFrom(trades$.pipe(toArray()));
    expect(simulator.historyRange()?.lastId, 'history ends with the last emitted trade').toBe(emitted.length);
    expect(simulator.tradesFromId(1, emitted.length)).toStrictEqual(emitted);
    expect(simulator.tradesBetween(T0, T0 + 20 * MINUTE)).toStrictEqual(emitted);
    expect(simulator.lastTrade()).toBe(emitted.at(-1));
  });

  it('does serve klines equal to build-candles on the emitted trades', async () => {
    const { simulator, trades$ } = createSimulatorRun({ seed: 22, duration: '30m', jumpRate: 100, jumpSize: 0.001 }, quietContext());
    const emitted = await lastValueFrom(trades$.pipe(toArray()));
    const built = await lastValueFrom(from(emitted).pipe(buildCandles('1m'), toArray()));
    const klines = simulator.klines('1m');
    expect(built.length, 'build-candles closes 29 of the 30 bars').toBe(29);
    expect(klines.slice(0, -1), 'closed klines equal build-candles').toStrictEqual(built);
    expect(klines.at(-1)?.closed, 'the last bar is still forming').toBe(false);
  });

  it('does commit a paced trade to the history as it is emitted, never before', () => {
    const scheduler = new VirtualTimeScheduler();
    const { simulator, trades$ } = createSimulatorRun({ seed: 23, speed: 100, limit: 200 }, quietContext({ scheduler }));
    const mismatches: number[] = [];
    let emitted = 0;
    trades$.subscribe((trade: Trade) => {
      emitted++;
      if (simulator.lastTrade() !== trade || simulator.historyRange()?.lastId !== trade.id) mismatches.push(trade.id);
    });
    expect(simulator.lastTrade()?.id, 'only the first trade (due at once) has happened').toBe(1);
    scheduler.flush();
    expect(emitted).toBe(200);
    expect(mismatches, 'the history never runs ahead of the stream').toStrictEqual([]);
    expect(simulator.peek().id, 'trade 201 is pending, not in the history').toBe(201);
    expect(simulator.historyRange()?.lastId).toBe(200);
  });

  it('does continue the same market on a second subscription, within absolute bounds', async () => {
    const { simulator, trades$ } = createSimulatorRun({ seed: 24, limit: 1_000 }, quietContext());
    const first = await lastValueFrom(trades$.pipe(toArray()));
    expect(first.map((trade) => trade.id)).toStrictEqual(Array.from({ length: 1_000 }, (_, i) => i + 1));
    const again = await lastValueFrom(trades$.pipe(toArray()));
    expect(again, 'the run already covered ids up to its limit').toStrictEqual([]);
    expect(simulator.historyRange()?.lastId).toBe(1_000);
  });

  it('does pick up a paced run where the previous subscriber left', () => {
    const scheduler = new VirtualTimeScheduler();
    const { simulator, trades$ } = createSimulatorRun({ seed: 26, speed: 1_000, limit: 1_000 }, quietContext({ scheduler }));
    const ids: number[] = [];
    trades$.pipe(take(400)).subscribe((trade) => ids.push(trade.id));
    scheduler.flush();
    trades$.subscribe((trade) => ids.push(trade.id));
    scheduler.flush();
    expect(ids, 'every trade once, in order, across both subscriptions').toStrictEqual(Array.from({ length: 1_000 }, (_, i) => i + 1));
    expect(simulator.tradesFromId(1, 1_000).map((trade) => trade.id)).toStrictEqual(ids);
  });

  it('does bound the history with maxHistory', async () => {
    const { simulator, trades$ } = createSimulatorRun({ seed: 25, limit: 3_000 }, quietContext(), { maxHistory: 1_000 });
    await lastValueFrom(trades$.pipe(toArray()));
    expect(simulator.historyRange()).toMatchObject({ firstId: 2_001, lastId: 3_000, dropped: 2_000 });
  });
});
