import fc from 'fast-check';
import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../../src/errors.js';
import type { Features, FeatureValues } from '../../../src/model/index.js';
import { VoteSchema } from '../../../src/model/index.js';
import { evaluateMomentum, momentumVoter, momentumVoterOperator, momentumVoterParams } from '../../../src/operators/voting/momentumVoter.js';
import { candle, features, gap, MINUTE, status, T0, vote } from '../../support/builders.js';
import { testDefinitionContract } from '../../support/contracts.js';
import { marbles } from '../../support/marbles.js';

const rules = momentumVoterParams.parse({});

function bar(index: number, values: FeatureValues, overrides: { symbol?: string; closed?: boolean } = {}): Features {
  return features(values, { candle: candle({ openTime: T0 + index * MINUTE, ...overrides }) });
}

function readings(rsi: number, k: number, d: number, histogram: number): FeatureValues {
  return { rsi14: rsi, 'stoch.k': k, 'stoch.d': d, 'macd.histogram': histogram };
}

// Dyadic numbers keep the arithmetic exact. Confidence = mean(|RSI change| / 5, |K - D| / 10).
const first = bar(0, readings(40, 30, 25, -1.25));
// RSI +2.5 -> 0.5, K - D = 2.5 -> 0.25: confidence (0.5 + 0.25) / 2 = 0.375.
const turnUp = bar(1, readings(42.5, 32.5, 30, -0.75));
// RSI -5 -> 1, K - D = -10 -> 1: confidence 1.
const pushDown = bar(2, readings(37.5, 20, 30, -1));
// RSI up, K below D: mixed.
const mixed = bar(3, readings(40, 25, 30, -0.5));

const firstReasons = ['warming up: no previous bar to compare rsi14 and macd.histogram with'];
const upReasons = ['rsi14 42.5 below 50, rising +2.5 (turning up)', 'stoch.k 32.5 above stoch.d 30.0', 'macd.histogram rising -1.25 -> -0.75'];
const downReasons = ['rsi14 37.5 below 50, falling -5.0 (continuing down)', 'stoch.k 20.0 below stoch.d 30.0', 'macd.histogram falling -0.75 -> -1.00'];
const mixedReasons = ['rsi14 40.0 below 50, rising +2.5 (turning up)', 'stoch.k 25.0 below stoch.d 30.0', 'macd.histogram rising -1.00 -> -0.50', 'momentum mixed'];

const voter = 'momentum-voter';
const w = vote({ voter, features: first, direction: 'neutral', confidence: 0, reasons: firstReasons });
const l = vote({ voter, features: turnUp, direction: 'long', confidence: 0.375, reasons: upReasons });
const s = vote({ voter, features: pushDown, direction: 'short', confidence: 1, reasons: downReasons });
const n = vote({ voter, features: mixed, direction: 'neutral', confidence: 0, reasons: mixedReasons });

describe('evaluateMomentum', () => {
  it.each([
    { name: 'long when the push turns up', input: turnUp, previous: first, direction: 'long', confidence: 0.375, reasons: upReasons },
    { name: 'short when the push continues down', input: pushDown, previous: turnUp, direction: 'short', confidence: 1, reasons: downReasons },
    { name: 'neutral when the readings disagree', input: mixed, previous: pushDown, direction: 'neutral', confidence: 0, reasons: mixedReasons },
    { name: 'neutral on the first bar', input: first, previous: undefined, direction: 'neutral', confidence: 0, reasons: firstReasons },
    {
      name: 'neutral while warming up',
      input: bar(1, { rsi14: null, 'stoch.k': null, 'stoch.d': 20, 'macd.histogram': 1 }),
      previous: first,
      direction: 'neutral',
      confidence: 0,
      reasons: ['warming up: rsi14 not ready', 'warming up: stoch.k not ready'],
    },
    {
      name: 'neutral while the previous bar was warming up',
      input: turnUp,
      previous: bar(0, { rsi14: 40, 'stoch.k': 30, 'stoch.d': 25, 'macd.histogram': null }),
      direction: 'neutral',
      confidence: 0,
      reasons: ['warming up: previous macd.histogram not ready'],
    },
    {
      name: 'neutral when an upward push is overbought',
      input: bar(1, readings(72.5, 90, 80, 2)),
      previous: bar(0, readings(70, 85, 80, 1)),
      direction: 'neutral',
      confidence: 0,
      reasons: [
        'rsi14 72.5 above 50, rising +2.5 (continuing up)',
        'stoch.k 90.0 above stoch.d 80.0',
        'macd.histogram rising 1.00 -> 2.00',
        'rsi14 at or above 70.0: overbought, the push is exhausted',
      ],
    },
    {
      name: 'neutral when a downward push is oversold',
      input: bar(1, readings(27.5, 10, 20, -2)),
      previous: bar(0, readings(30, 15, 20, -1)),
      direction: 'neutral',
      confidence: 0,
      reasons: [
        'rsi14 27.5 below 50, falling -2.5 (continuing down)',
        'stoch.k 10.0 below stoch.d 20.0',
        'macd.histogram falling -1.00 -> -2.00',
        'rsi14 at or below 30.0: oversold, the push is exhausted',
      ],
    },
    {
      name: 'short when a push above 50 turns down',
      input: bar(1, readings(57.5, 70, 75, 0.5)),
      previous: bar(0, readings(60, 80, 75, 1)),
      // RSI -2.5 -> 0.5, K - D = -5 -> 0.5: confidence 0.5.
      direction: 'short',
      confidence: 0.5,
      reasons: ['rsi14 57.5 above 50, falling -2.5 (turning down)', 'stoch.k 70.0 below stoch.d 75.0', 'macd.histogram falling 1.00 -> 0.50'],
    },
  ] as const)('votes $name', ({ input, previous, direction, confidence, reasons }) => {
    const decision = evaluateMomentum(input, previous, rules);
    expect(decision.direction).toBe(direction);
    expect(decision.confidence, 'mean of the RSI-change and K-D ramps, 0 when neutral').toBe(confidence);
    expect(decision.reasons, 'reasons quote the numbers').toStrictEqual(reasons);
  });

  it('does keep confidence within [0, 1], and 0 exactly when neutral', () => {
    const level = fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: null });
    const histogram = fc.option(fc.double({ min: -1e4, max: 1e4, noNaN: true }), { nil: null });
    fc.assert(
      fc.property(level, level, level, histogram, level, histogram, (rsi, k, d, h, prevRsi, prevH) => {
        const decision = evaluateMomentum(
          bar(1, { rsi14: rsi, 'stoch.k': k, 'stoch.d': d, 'macd.histogram': h }),
          bar(0, { rsi14: prevRsi, 'stoch.k': 50, 'stoch.d': 50, 'macd.histogram': prevH }),
          rules,
        );
        expect(decision.confidence).toBeGreaterThanOrEqual(0);
        expect(decision.confidence).toBeLessThanOrEqual(1);
        if (decision.direction === 'neutral') expect(decision.confidence, 'an abstention has confidence 0').toBe(0);
        else expect(decision.confidence, 'a side is taken with some conviction').toBeGreaterThan(0);
      }),
    );
  });

  it('rejects oversold at or above overbought', () => {
    expect(momentumVoterParams.safeParse({ oversold: 70, overbought: 70 }).success).toBe(false);
  });
});

describe('momentumVoter', () => {
  it(
    'does compare each bar with the previous closed bar of its series, one vote per record',
    marbles((m) => {
      const features$ = m.cold('  a-b-c-d-|', { a: first, b: turnUp, c: pushDown, d: mixed });
      const expected = '          w-l-s-n-|';
      m.expect(features$.pipe(momentumVoter())).toBeObservable(expected, { w, l, s, n });
    }),
  );

  it(
    'does keep the previous bar per venue, symbol and interval',
    marbles((m) => {
      const eth0 = bar(0, readings(40, 30, 25, -1.25), { symbol: 'ETH-USDT' });
      const eth1 = bar(1, readings(42.5, 32.5, 30, -0.75), { symbol: 'ETH-USDT' });
      const features$ = m.cold('  a-e-b-f-|', { a: first, e: eth0, b: turnUp, f: eth1 });
      const ethFirst = vote({ ...w, symbol: 'ETH-USDT', features: eth0 });
      const ethUp = vote({ ...l, symbol: 'ETH-USDT', features: eth1 });
      m.expect(features$.pipe(momentumVoter())).toBeObservable('w-x-l-y-|', { w, x: ethFirst, l, y: ethUp });
    }),
  );

  it(
    'does not compare across a missing bar',
    marbles((m) => {
      const late = bar(2, readings(42.5, 32.5, 30, -0.75));
      const features$ = m.cold('  a-b-|', { a: first, b: late });
      const none = vote({ voter, features: late, direction: 'neutral', confidence: 0, reasons: firstReasons });
      m.expect(features$.pipe(momentumVoter())).toBeObservable('w-x-|', { w, x: none });
    }),
  );

  it(
    'does vote on a forming bar without making it the previous bar',
    marbles((m) => {
      const forming = bar(1, readings(50, 10, 30, -5), { closed: false });
      const features$ = m.cold('  a-f-b-|', { a: first, f: forming, b: turnUp });
      // Against bar 0: RSI rising +10, but K below D and the histogram falling -1.25 -> -5: mixed.
      const mixedForming = vote({
        voter,
        features: forming,
        direction: 'neutral',
        confidence: 0,
        reasons: ['rsi14 50.0 at 50, rising +10.0 (continuing up)', 'stoch.k 10.0 below stoch.d 30.0', 'macd.histogram falling -1.25 -> -5.00', 'momentum mixed'],
      });
      m.expect(features$.pipe(momentumVoter())).toBeObservable('w-f-l-|', { w, f: mixedForming, l });
    }),
  );

  it('does emit votes that satisfy the vote schema and are frozen', () => {
    const votes: unknown[] = [];
    from([first, turnUp, pushDown, mixed]).pipe(momentumVoter()).subscribe((value) => votes.push(value));
    expect(votes).toHaveLength(4);
    for (const value of votes) {
      expect(VoteSchema.safeParse(value).success, 'votes match the schema').toBe(true);
      expect(Object.isFrozen(value), 'emitted records are immutable').toBe(true);
    }
  });

  it(
    'does pass control events through in order',
    marbles((m) => {
      const g = gap();
      const t = status();
      const features$ = m.cold('  a-g-t-b-|', { a: first, g, t, b: turnUp });
      m.expect(features$.pipe(momentumVoter())).toBeObservable('w-g-t-l-|', { w, g, t, l });
    }),
  );

  it(
    'does propagate an upstream error',
    marbles((m) => {
      const features$ = m.cold('  a-#', { a: first });
      m.expect(features$.pipe(momentumVoter())).toBeObservable('w-#', { w });
    }),
  );

  it(
    'does complete on empty and stay silent on never',
    marbles((m) => {
      m.expect(m.cold('|').pipe(momentumVoter())).toBeObservable('|');
      m.expect(m.cold('-').pipe(momentumVoter())).toBeObservable('-');
    }),
  );

  it(
    'does unsubscribe from its source when the subscriber leaves early',
    marbles((m) => {
      const features$ = m.hot('  a-b-c-|', { a: first, b: turnUp, c: pushDown });
      const unsub = '            ---!';
      m.expect(features$.pipe(momentumVoter()), unsub).toBeObservable('w-l', { w, l });
      m.expect(features$).toHaveSubscriptions('^--!');
    }),
  );

  it(
    'does keep state per subscription: a late subscriber starts without a previous bar',
    marbles((m) => {
      const features$ = m.hot('  a-b-c-|', { a: first, b: turnUp, c: pushDown });
      const operator = momentumVoter();
      const lateStart = vote({ voter, features: turnUp, direction: 'neutral', confidence: 0, reasons: firstReasons });
      m.expect(features$.pipe(operator)).toBeObservable('w-l-s-|', { w, l, s });
      m.expect(features$.pipe(operator), '--^').toBeObservable('--x-s-|', { x: lateStart, s });
    }),
  );

  it(
    'does error with a clear message on a record of the wrong type',
    marbles((m) => {
      const features$ = m.cold('  a-c-|', { a: first, c: candle() as never });
      m.expect(features$.pipe(momentumVoter())).toBeObservable(
        'w-#',
        { w },
        new InvariantError('momentumVoter received a "candle" record; it takes "features" records (filter the stream first)'),
      );
    }),
  );
});

describe('momentumVoterOperator', () => {
  it('does report each needed feature the upstream does not compute', () => {
    const params = momentumVoterParams.parse({ stochK: 'stoch.fastK' });
    const problems = momentumVoterOperator.check?.(params, [{ type: 'features', features: ['rsi14', 'stoch.k', 'stoch.d'] }]);
    expect(problems, 'the renamed %K and the histogram are missing').toStrictEqual([
      { path: 'params.stochK', message: 'Feature "stoch.fastK" is not computed upstream; available: rsi14, stoch.k, stoch.d' },
      { path: 'params.histogram', message: 'Feature "macd.histogram" is not computed upstream; available: rsi14, stoch.k, stoch.d' },
    ]);
  });
});

testDefinitionContract(momentumVoterOperator, {
  params: {},
  input: () => [first, turnUp, gap(), pushDown, mixed],
});
