import { pino } from 'pino';
import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../../src/context.js';
import { InvariantError } from '../../../src/errors.js';
import { BoundCounter, METRIC, Metrics } from '../../../src/metrics.js';
import type { Consensus, FeatureValues } from '../../../src/model/index.js';
import { RISK_SKIP_REASONS } from '../../../src/operators/risk/buildRiskPlan.js';
import { planRisk, riskPlanOperator, riskPlanParams } from '../../../src/operators/risk/planRisk.js';
import { candle, consensus, features, gap, MINUTE, signal, status, T0, voteSummary } from '../../support/builders.js';
import { testDefinitionContract } from '../../support/contracts.js';
import { marbles } from '../../support/marbles.js';

function agreed(index: number, direction: Consensus['direction'], values: FeatureValues, confidence = 0.8): Consensus {
  return consensus({ direction, confidence, features: features(values, { candle: candle({ openTime: T0 + index * MINUTE, close: 100 }) }) });
}

const long0 = agreed(0, 'long', { atr14: 4 });
const neutral1 = agreed(1, 'neutral', { atr14: 4 }, 0);
const short2 = agreed(2, 'short', { atr14: 4 });
const blind3 = agreed(3, 'long', { atr14: null });

const votes = [voteSummary({ voter: 'trend' }), voteSummary({ voter: 'momentum' }), voteSummary({ voter: 'mean-reversion' })];
// Hand-derived with atrMultiplier 1.25: distance 5, target 2 * 5 away, size 100 / 5 = 20, notional 2000.
const L = signal({
  id: `binance:BTC-USDT:1m:${String(T0)}:long`,
  openTime: T0,
  closeTime: T0 + MINUTE - 1,
  tsEvent: T0 + MINUTE,
  tsRecv: T0 + MINUTE,
  direction: 'long',
  confidence: 0.8,
  entry: 100,
  stopLoss: 95,
  takeProfit: 110,
  riskReward: 2,
  size: 20,
  notional: 2000,
  riskAmount: 100,
  atr: 4,
  votes,
});
const S = signal({
  ...L,
  id: `binance:BTC-USDT:1m:${String(T0 + 2 * MINUTE)}:short`,
  openTime: T0 + 2 * MINUTE,
  closeTime: T0 + 3 * MINUTE - 1,
  tsEvent: T0 + 3 * MINUTE,
  tsRecv: T0 + 3 * MINUTE,
  direction: 'short',
  stopLoss: 105,
  takeProfit: 90,
});

const options = { atrMultiplier: 1.25 };

describe('planRisk', () => {
  it(
    'does turn a long or short consensus into a signal and skip the rest',
    marbles((m) => {
      const consensus$ = m.cold('  a-b-c-d-|', { a: long0, b: neutral1, c: short2, d: blind3 });
      const expected = '          L---S---|';
      m.expect(consensus$.pipe(planRisk(options))).toBeObservable(expected, { L, S });
    }),
  );

  it('does count every skip by its reason', () => {
    const counters = Object.fromEntries(RISK_SKIP_REASONS.map((reason) => [reason, new BoundCounter({ reason })]));
    const inputs = [
      long0,
      neutral1,
      agreed(2, 'short', { atr14: 4 }, 0.25),
      blind3,
      consensus({ direction: 'long', features: features({ atr14: 2 }, { candle: candle({ close: 2 }) }) }),
      consensus({ direction: 'short', features: features({ atr14: 0.5 }, { candle: candle({ close: 2 }) }) }),
      consensus({ direction: 'long', features: features({ atr14: 200 }, { candle: candle({ close: 1000 }) }) }),
    ];
    const signals: unknown[] = [];
    from(inputs)
      .pipe(planRisk({ atrMultiplier: 1.5, riskReward: 3, qtyStep: 1, minConfidence: 0.5, skipped: counters }))
      .subscribe((value) => signals.push(value));
    expect(signals, 'only the first consensus has a complete plan').toHaveLength(1);
    expect(Object.fromEntries(Object.entries(counters).map(([reason, counter]) => [reason, counter.value]))).toStrictEqual({
      'no-consensus': 1,
      'low-confidence': 1,
      'no-atr': 1,
      // 2 - 1.5 * 2 < 0.
      'stop-beyond-zero': 1,
      // 2 - 3 * 0.75 < 0.
      'no-target': 1,
      // 100 / 300 rounds down to 0 at step 1.
      'size-zero': 1,
    });
  });

  it(
    'does pass control events through in order',
    marbles((m) => {
      const g = gap();
      const t = status();
      const consensus$ = m.cold('  a-g-t-c-|', { a: long0, g, t, c: short2 });
      m.expect(consensus$.pipe(planRisk(options))).toBeObservable('L-g-t-S-|', { L, g, t, S });
    }),
  );

  it(
    'does propagate an upstream error',
    marbles((m) => {
      const consensus$ = m.cold('  a-#', { a: long0 });
      m.expect(consensus$.pipe(planRisk(options))).toBeObservable('L-#', { L });
    }),
  );

  it(
    'does error on a NaN ATR, quoting it',
    marbles((m) => {
      const broken = agreed(0, 'long', { atr14: Number.NaN });
      const consensus$ = m.cold('  a|', { a: broken });
      m.expect(consensus$.pipe(planRisk(options))).toBeObservable('#', undefined, new InvariantError(`planRisk: feature "atr14" is "NaN" on binance BTC-USDT 1m bar ${new Date(T0).toISOString()}`));
    }),
  );

  it(
    'does complete on empty and stay silent on never',
    marbles((m) => {
      m.expect(m.cold('|').pipe(planRisk())).toBeObservable('|');
      m.expect(m.cold('-').pipe(planRisk())).toBeObservable('-');
    }),
  );

  it(
    'does unsubscribe from its source when the subscriber leaves early',
    marbles((m) => {
      const consensus$ = m.hot('  a-b-c-|', { a: long0, b: neutral1, c: short2 });
      const unsub = '             --!';
      m.expect(consensus$.pipe(planRisk(options)), unsub).toBeObservable('L-', { L });
      m.expect(consensus$).toHaveSubscriptions('^-!');
    }),
  );

  it(
    'does serve two concurrent subscriptions independently',
    marbles((m) => {
      const consensus$ = m.hot('  a-b-c-|', { a: long0, b: neutral1, c: short2 });
      const operator = planRisk(options);
      m.expect(consensus$.pipe(operator)).toBeObservable('L---S-|', { L, S });
      m.expect(consensus$.pipe(operator)).toBeObservable('L---S-|', { L, S });
    }),
  );

  it(
    'does error with a clear message on a record of the wrong type',
    marbles((m) => {
      const consensus$ = m.cold('  a-c-|', { a: long0, c: candle() as never });
      m.expect(consensus$.pipe(planRisk(options))).toBeObservable(
        'L-#',
        { L },
        new InvariantError('planRisk received a "candle" record; it takes "consensus" records (filter the stream first)'),
      );
    }),
  );

  it('does reject bad params where the pipeline is built', () => {
    expect(() => planRisk({ riskPerTrade: 2 })).toThrow();
    expect(riskPlanParams.safeParse({ tickSize: 0 }).success, 'a tick size must be positive').toBe(false);
  });
});

describe('riskPlanOperator', () => {
  it('does count skips in the pipeline metrics under its node and the reason', () => {
    const ctx = createContext({ logger: pino({ level: 'silent' }), metrics: new Metrics(), node: 'risk' });
    from([long0, neutral1, blind3]).pipe(riskPlanOperator.create(riskPlanParams.parse({}), ctx)).subscribe();
    const skipped = ctx.metrics.counter(METRIC.skipped, '');
    const neutral = ctx.metrics.counter('alphaflow_no_consensus_total', '');
    expect(neutral.get({ node: 'risk' }), 'neutral bars are counted apart from skips: they are not lost data').toBe(1);
    expect(skipped.get({ node: 'risk', reason: 'no-atr' })).toBe(1);
    expect(skipped.total(), 'nothing else was skipped').toBe(1);
  });

  it('does report an ATR feature the upstream does not compute, when the list is known', () => {
    const params = riskPlanParams.parse({});
    expect(riskPlanOperator.check?.(params, [{ type: 'consensus', features: ['sma20', 'atr7'] }])).toStrictEqual([
      { path: 'params.atr', message: 'Feature "atr14" is not computed upstream; available: sma20, atr7' },
    ]);
    expect(riskPlanOperator.check?.(params, [{ type: 'consensus', features: ['atr14'] }])).toStrictEqual([]);
    expect(riskPlanOperator.check?.(params, [{ type: 'consensus' }]), 'unknown list: nothing to report').toStrictEqual([]);
  });
});

testDefinitionContract(riskPlanOperator, {
  params: { atrMultiplier: 1.25, tickSize: 0.01, qtyStep: 0.001 },
  input: () => [long0, gap(), neutral1, short2, blind3],
});
