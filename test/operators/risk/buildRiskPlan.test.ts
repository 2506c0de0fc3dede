import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../../src/errors.js';
import type { Consensus, FeatureValues, Signal } from '../../../src/model/index.js';
import { SignalSchema } from '../../../src/model/index.js';
import type { RiskRules } from '../../../src/operators/risk/buildRiskPlan.js';
import { buildRiskPlan } from '../../../src/operators/risk/buildRiskPlan.js';
import type { RiskPlanParams } from '../../../src/operators/risk/planRisk.js';
import { riskPlanParams } from '../../../src/operators/risk/planRisk.js';
import { candle, consensus, features, T0 } from '../../support/builders.js';

function rules(overrides: RiskPlanParams = {}): RiskRules {
  return riskPlanParams.parse(overrides);
}

function agreed(direction: Consensus['direction'], close: number, values: FeatureValues, confidence = 0.8): Consensus {
  return consensus({ direction, confidence, features: features(values, { candle: candle({ close }) }) });
}

function planned(plan: ReturnType<typeof buildRiskPlan>): Signal {
  if (plan.signal === undefined) throw new Error(`expected a signal, got the skip reason ${plan.skipped}`);
  return plan.signal;
}

describe('buildRiskPlan', () => {
  it('does plan a long: stop below, target above, size from the risk budget', () => {
    // Hand-derived: stop distance 1.25 * 4 = 5; target 100 + 2 * 5 = 110; budget 10000 * 0.01 = 100;
    // size 100 / 5 = 20 (leverage cap 10000 / 100 = 100 not reached); notional 2000.
    const signal = planned(buildRiskPlan(agreed('long', 100, { atr14: 4 }), rules({ atrMultiplier: 1.25 })));
    expect(signal).toMatchObject({ direction: 'long', entry: 100, stopLoss: 95, takeProfit: 110, size: 20, notional: 2000, riskAmount: 100, riskReward: 2, atr: 4 });
    expect(signal.id, 'venue, symbol, interval, bar open time and direction').toBe(`binance:BTC-USDT:1m:${String(T0)}:long`);
    expect(signal.confidence, 'the consensus confidence').toBe(0.8);
    expect(signal.consensus).toStrictEqual({ agreement: 1, agreeing: 3, quorum: 3, reason: '3 of 3 voters long (quorum 3)' });
    expect(signal.votes.map((vote) => vote.voter), 'the vote breakdown').toStrictEqual(['trend', 'momentum', 'mean-reversion']);
    expect(SignalSchema.safeParse(signal).success, 'the signal matches the schema').toBe(true);
    expect(Object.isFrozen(signal) && Object.isFrozen(signal.consensus), 'emitted records are immutable').toBe(true);
  });

  it('does plan a short: stop above, target below', () => {
    const signal = planned(buildRiskPlan(agreed('short', 100, { atr14: 4 }), rules({ atrMultiplier: 1.25 })));
    expect(signal).toMatchObject({ direction: 'short', entry: 100, stopLoss: 105, takeProfit: 90, size: 20, notional: 2000, riskAmount: 100, riskReward: 2 });
    expect(signal.id.endsWith(':short')).toBe(true);
  });

  it('does cap the size by leverage', () => {
    // Stop distance 1.25 * 0.4 = 0.5: the budget buys 100 / 0.5 = 200, the cap 1 * 10000 / 100 = 100.
    const capped = planned(buildRiskPlan(agreed('long', 100, { atr14: 0.4 }), rules({ atrMultiplier: 1.25 })));
    expect(capped.size, 'capped at maxLeverage * equity / entry').toBe(100);
    expect(capped.notional).toBe(10_000);
    expect(capped.riskAmount, '100 * 0.5: less than the budget').toBe(50);
    const levered = planned(buildRiskPlan(agreed('long', 100, { atr14: 0.4 }), rules({ atrMultiplier: 1.25, maxLeverage: 3 })));
    expect(levered.size, 'the budget binds below 3x').toBe(200);
  });

  it('does round the stop away from the entry and the target toward it', () => {
    // Long: raw stop 100 - 1.5 * 1.9 = 97.15 -> 97.0 (down); distance 3; raw target 100 + 1.7 * 3 = 105.1 -> 105.0 (down).
    const long = planned(buildRiskPlan(agreed('long', 100, { atr14: 1.9 }), rules({ tickSize: 0.5, riskReward: 1.7 })));
    expect(long.stopLoss).toBe(97);
    expect(long.takeProfit).toBe(105);
    expect(long.riskReward, 'recomputed after rounding: 5 / 3').toBeCloseTo(5 / 3, 12);
    // Short: raw stop 102.85 -> 103.0 (up); raw target 100 - 1.7 * 3 = 94.9 -> 95.0 (up).
    const short = planned(buildRiskPlan(agreed('short', 100, { atr14: 1.9 }), rules({ tickSize: 0.5, riskReward: 1.7 })));
    expect(short.stopLoss).toBe(103);
    expect(short.takeProfit).toBe(95);
    expect(short.riskReward).toBeCloseTo(5 / 3, 12);
  });

  it('does round the size down to the quantity step and report what is really at risk', () => {
    // Stop distance 3 (tick 0.5 as above): 100 / 3 = 33.33.. -> 33.33 at step 0.01.
    const signal = planned(buildRiskPlan(agreed('long', 100, { atr14: 1.9 }), rules({ tickSize: 0.5, qtyStep: 0.01 })));
    expect(signal.size).toBe(33.33);
    expect(signal.riskAmount, '33.33 * 3').toBeCloseTo(99.99, 9);
    expect(signal.notional, '33.33 * 100').toBeCloseTo(3333, 9);
  });

  it('does read the ATR feature its params name', () => {
    const signal = planned(buildRiskPlan(agreed('long', 100, { atr14: 100, atr7: 4 }), rules({ atr: 'atr7', atrMultiplier: 1.25 })));
    expect(signal.stopLoss).toBe(95);
  });

  it.each([
    { reason: 'no-consensus', input: agreed('neutral', 100, { atr14: 4 }, 0), params: {} },
    { reason: 'low-confidence', input: agreed('long', 100, { atr14: 4 }, 0.5), params: { minConfidence: 0.6 } },
    { reason: 'no-atr', input: agreed('long', 100, { atr14: null }), params: {} },
    { reason: 'no-atr', input: agreed('long', 100, {}), params: {} },
    { reason: 'no-atr', input: agreed('long', 100, { atr14: 0 }), params: {} },
    { reason: 'no-atr', input: agreed('long', 100, { atr14: -1 }), params: {} },
    // 2 - 1.5 * 2 = -1.
    { reason: 'stop-beyond-zero', input: agreed('long', 2, { atr14: 2 }), params: {} },
    // Short target 2 - 3 * (1.5 * 0.5) = -0.25.
    { reason: 'no-target', input: agreed('short', 2, { atr14: 0.5 }), params: { riskReward: 3 } },
    // Stop 97, target 100 + 0.1 * 3 = 100.3 rounds down onto the entry at tick 1.
    { reason: 'no-target', input: agreed('long', 100, { atr14: 2 }), params: { tickSize: 1, riskReward: 0.1 } },
    // Distance 300: 100 / 300 = 0.33 (cap 10) rounds down to 0 at step 1.
    { reason: 'size-zero', input: agreed('long', 1000, { atr14: 200 }), params: { qtyStep: 1 } },
  ])('does plan nothing for $reason', ({ reason, input, params }) => {
    const plan = buildRiskPlan(input, rules(params));
    expect(plan.signal, 'no signal without a complete plan').toBeUndefined();
    expect(plan.skipped).toBe(reason);
  });

  it('does throw on a NaN ATR', () => {
    expect(() => buildRiskPlan(agreed('long', 100, { atr14: Number.NaN }), rules())).toThrow(InvariantError);
  });

  it('does keep stop and target on the right sides and the risk within budget', () => {
    const positive = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
    let signals = 0;
    fc.assert(
      fc.property(
        fc.constantFrom<'long' | 'short'>('long', 'short'),
        positive(1e-4, 1e6),
        positive(1e-6, 1e5),
        fc.record({
          atrMultiplier: positive(0.1, 5),
          riskReward: positive(0.1, 10),
          equity: positive(10, 1e7),
          riskPerTrade: positive(1e-4, 0.1),
          maxLeverage: positive(0.1, 20),
          tickSize: fc.option(fc.constantFrom(1e-8, 1e-4, 0.01, 0.5, 1), { nil: undefined }),
          qtyStep: fc.option(fc.constantFrom(1e-8, 1e-5, 0.001, 1), { nil: undefined }),
        }),
        (direction, close, atr, params) => {
          const plan = buildRiskPlan(agreed(direction, close, { atr14: atr }), rules(params));
          if (plan.signal === undefined) return;
          signals++;
          const { entry, stopLoss, takeProfit, riskAmount, notional } = plan.signal;
          if (direction === 'long') {
            expect(stopLoss, 'a long loses below the entry').toBeLessThan(entry);
            expect(takeProfit, 'a long wins above the entry').toBeGreaterThan(entry);
          } else {
            expect(stopLoss, 'a short loses above the entry').toBeGreaterThan(entry);
            expect(takeProfit, 'a short wins below the entry').toBeLessThan(entry);
          }
          const budget = params.equity * params.riskPerTrade;
          expect(riskAmount, 'never more than the risk budget, up to rounding').toBeLessThanOrEqual(budget * (1 + 1e-9));
          expect(notional, 'never more than the leverage allows, up to rounding').toBeLessThanOrEqual(params.maxLeverage * params.equity * (1 + 1e-9));
          expect(SignalSchema.safeParse(plan.signal).success, 'the signal matches the schema').toBe(true);
        },
      ),
      { numRuns: 500 },
    );
    expect(signals, 'many generated cases (about 40%) are complete plans, so the property is not vacuous').toBeGreaterThan(50);
  });
});
