import fc from 'fast-check';
import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../../src/errors.js';
import type { Features, FeatureValues } from '../../../src/model/index.js';
import { VoteSchema } from '../../../src/model/index.js';
import { evaluateTrend, trendVoter, trendVoterOperator, trendVoterParams } from '../../../src/operators/voting/trendVoter.js';
import { candle, features, gap, MINUTE, status, T0, vote } from '../../support/builders.js';
import { testDefinitionContract } from '../../support/contracts.js';
import { marbles } from '../../support/marbles.js';

const rules = trendVoterParams.parse({});

function bar(index: number, values: FeatureValues, close: number): Features {
  return features(values, { candle: candle({ openTime: T0 + index * MINUTE, close }) });
}

// Hand-derived: (101.2 - 99.8) / 99.8 = +1.40%; confidence = adx / strongAdx = 30 / 40 = 0.75.
const warming = bar(0, { sma20: 101, sma50: null, macd: 0.5, adx: null }, 102);
const up = bar(1, { sma20: 101.2, sma50: 99.8, macd: 0.42, adx: 30 }, 102);
// Hand-derived: (98 - 100) / 100 = -2.00%; confidence = min(1, 50 / 40) = 1.
const down = bar(2, { sma20: 98, sma50: 100, macd: -1.5, adx: 50 }, 97);
// Averages say up but the close is below the slow average.
const mixed = bar(3, { sma20: 101.2, sma50: 99.8, macd: 0.42, adx: 30 }, 99);

const upReasons = ['sma20 101.20 above sma50 99.80 (+1.40%)', 'close 102.00 above sma50 99.80', 'macd 0.42 above 0', 'adx 30.0 at or above 20.0'];
const downReasons = ['sma20 98.00 below sma50 100.00 (-2.00%)', 'close 97.00 below sma50 100.00', 'macd -1.50 below 0', 'adx 50.0 at or above 20.0'];
const mixedReasons = [
  'sma20 101.20 above sma50 99.80 (+1.40%)',
  'close 99.00 below sma50 99.80',
  'macd 0.42 above 0',
  'adx 30.0 at or above 20.0',
  'no clear trend: the readings disagree',
];

const voter = 'trend-voter';
const x = vote({ voter, features: warming, direction: 'neutral', confidence: 0, reasons: ['warming up: sma50 not ready', 'warming up: adx not ready'] });
const l = vote({ voter, features: up, direction: 'long', confidence: 0.75, reasons: upReasons });
const s = vote({ voter, features: down, direction: 'short', confidence: 1, reasons: downReasons });
const n = vote({ voter, features: mixed, direction: 'neutral', confidence: 0, reasons: mixedReasons });

describe('evaluateTrend', () => {
  it.each([
    { name: 'long in an uptrend', input: up, direction: 'long', confidence: 0.75, reasons: upReasons },
    { name: 'short in a downtrend, confidence capped at 1', input: down, direction: 'short', confidence: 1, reasons: downReasons },
    { name: 'neutral while warming up', input: warming, direction: 'neutral', confidence: 0, reasons: ['warming up: sma50 not ready', 'warming up: adx not ready'] },
    { name: 'neutral when the close disagrees with the averages', input: mixed, direction: 'neutral', confidence: 0, reasons: mixedReasons },
    {
      name: 'neutral when the MACD disagrees',
      input: bar(0, { sma20: 101.2, sma50: 99.8, macd: -0.42, adx: 30 }, 102),
      direction: 'neutral',
      confidence: 0,
      reasons: ['sma20 101.20 above sma50 99.80 (+1.40%)', 'close 102.00 above sma50 99.80', 'macd -0.42 below 0', 'adx 30.0 at or above 20.0', 'no clear trend: the readings disagree'],
    },
    {
      name: 'neutral without trend strength',
      input: bar(0, { sma20: 101.2, sma50: 99.8, macd: 0.42, adx: 14.2 }, 102),
      direction: 'neutral',
      confidence: 0,
      reasons: ['sma20 101.20 above sma50 99.80 (+1.40%)', 'close 102.00 above sma50 99.80', 'macd 0.42 above 0', 'adx 14.2 below 20.0', 'no trend strength'],
    },
    {
      name: 'neutral when a feature is not computed at all',
      input: bar(0, { sma20: 101.2, macd: 0.42, adx: 30 }, 102),
      direction: 'neutral',
      confidence: 0,
      reasons: ['sma50 is not computed upstream'],
    },
  ] as const)('votes $name', ({ input, direction, confidence, reasons }) => {
    const decision = evaluateTrend(input, rules);
    expect(decision.direction).toBe(direction);
    expect(decision.confidence, 'confidence = min(1, adx / strongAdx), 0 when neutral').toBe(confidence);
    expect(decision.reasons, 'reasons quote the numbers').toStrictEqual(reasons);
  });

  it('does grade confidence with ADX between minAdx and strongAdx', () => {
    const at = (adx: number): number => evaluateTrend(bar(0, { sma20: 101, sma50: 100, macd: 1, adx }, 102), rules).confidence;
    expect(at(20), 'ADX at minAdx: 20 / 40').toBe(0.5);
    expect(at(36), '36 / 40').toBe(0.9);
    expect(at(80), 'capped at 1').toBe(1);
  });

  it('does read the features its params name', () => {
    const custom = trendVoterParams.parse({ fast: 'ema20', slow: 'sma200', macd: 'm', adx: 'a', minAdx: 10, strongAdx: 20 });
    const decision = evaluateTrend(bar(0, { ema20: 99, sma200: 100, m: -1, a: 15 }, 98), custom);
    expect(decision.direction).toBe('short');
    expect(decision.confidence, '15 / 20').toBe(0.75);
    expect(decision.reasons[0]).toBe('ema20 99.00 below sma200 100.00 (-1.00%)');
  });

  it('does throw on a feature that is not a finite number', () => {
    expect(() => evaluateTrend(bar(0, { sma20: Number.NaN, sma50: 1, macd: 1, adx: 1 }, 1), rules)).toThrow(InvariantError);
    expect(() => evaluateTrend(bar(0, { sma20: Number.NaN, sma50: 1, macd: 1, adx: 1 }, 1), rules)).toThrow('feature "sma20" is "NaN"');
  });

  it('does keep confidence within [0, 1], and 0 exactly when neutral', () => {
    const value = fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { nil: null });
    fc.assert(
      fc.property(value, fc.double({ min: 1, max: 1e6, noNaN: true }), value, value, fc.double({ min: 1, max: 1e6, noNaN: true }), (fast, slow, macd, adx, close) => {
        const decision = evaluateTrend(bar(0, { sma20: fast, sma50: slow, macd, adx: adx === null ? null : Math.abs(adx) % 100 }, close), rules);
        expect(decision.confidence).toBeGreaterThanOrEqual(0);
        expect(decision.confidence).toBeLessThanOrEqual(1);
        if (decision.direction === 'neutral') expect(decision.confidence, 'an abstention has confidence 0').toBe(0);
      }),
    );
  });

  it('rejects strongAdx not above minAdx', () => {
    const result = trendVoterParams.safeParse({ minAdx: 30, strongAdx: 25 });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path, 'the issue points at strongAdx').toStrictEqual(['strongAdx']);
  });
});

describe('trendVoter', () => {
  it(
    'does emit exactly one vote per Features record, neutral while warming up',
    marbles((m) => {
      const features$ = m.cold('  w-u-d-x-|', { w: warming, u: up, d: down, x: mixed });
      const expected = '          x-l-s-n-|';
      m.expect(features$.pipe(trendVoter())).toBeObservable(expected, { x, l, s, n });
    }),
  );

  it('does emit votes that satisfy the vote schema and are frozen', () => {
    const votes: unknown[] = [];
    from([warming, up, down]).pipe(trendVoter()).subscribe((value) => votes.push(value));
    expect(votes).toHaveLength(3);
    for (const value of votes) {
      expect(VoteSchema.safeParse(value).success, 'votes match the schema').toBe(true);
      expect(Object.isFrozen(value), 'emitted records are immutable').toBe(true);
    }
  });

  it(
    'does name its votes after the given name',
    marbles((m) => {
      const features$ = m.cold('  u|', { u: up });
      m.expect(features$.pipe(trendVoter({ name: 'trend' }))).toBeObservable('l|', { l: vote({ ...l, voter: 'trend' }) });
    }),
  );

  it(
    'does pass control events through in order',
    marbles((m) => {
      const g = gap();
      const t = status();
      const features$ = m.cold('  u-g-t-d-|', { u: up, g, t, d: down });
      m.expect(features$.pipe(trendVoter())).toBeObservable('l-g-t-s-|', { l, g, t, s });
    }),
  );

  it(
    'does propagate an upstream error',
    marbles((m) => {
      const features$ = m.cold('  u-#', { u: up });
      m.expect(features$.pipe(trendVoter())).toBeObservable('l-#', { l });
    }),
  );

  it(
    'does complete on empty and stay silent on never',
    marbles((m) => {
      m.expect(m.cold('|').pipe(trendVoter())).toBeObservable('|');
      m.expect(m.cold('-').pipe(trendVoter())).toBeObservable('-');
    }),
  );

  it(
    'does unsubscribe from its source when the subscriber leaves early',
    marbles((m) => {
      const features$ = m.hot('  u-d-x-|', { u: up, d: down, x: mixed });
      const unsub = '            --!';
      m.expect(features$.pipe(trendVoter()), unsub).toBeObservable('l-', { l });
      m.expect(features$).toHaveSubscriptions('^-!');
    }),
  );

  it(
    'does serve two concurrent subscriptions independently',
    marbles((m) => {
      const features$ = m.hot('  w-u-d-|', { w: warming, u: up, d: down });
      const operator = trendVoter();
      m.expect(features$.pipe(operator)).toBeObservable('x-l-s-|', { x, l, s });
      m.expect(features$.pipe(operator)).toBeObservable('x-l-s-|', { x, l, s });
    }),
  );

  it(
    'does error with a clear message on a record of the wrong type',
    marbles((m) => {
      const features$ = m.cold('  u-c-|', { u: up, c: candle() as never });
      m.expect(features$.pipe(trendVoter())).toBeObservable(
        'l-#',
        { l },
        new InvariantError('trendVoter received a "candle" record; it takes "features" records (filter the stream first)'),
      );
    }),
  );

  it('does reject bad params where the pipeline is built', () => {
    expect(() => trendVoter({ minAdx: -1 })).toThrow();
  });
});

describe('trendVoterOperator', () => {
  it('does report each needed feature the upstream does not compute', () => {
    const params = trendVoterParams.parse({});
    const problems = trendVoterOperator.check?.(params, [{ type: 'features', features: ['sma20', 'macd', 'rsi14'] }]);
    expect(problems, 'sma50 and adx are missing').toStrictEqual([
      { path: 'params.slow', message: 'Feature "sma50" is not computed upstream; available: sma20, macd, rsi14' },
      { path: 'params.adx', message: 'Feature "adx" is not computed upstream; available: sma20, macd, rsi14' },
    ]);
    expect(trendVoterOperator.check?.(params, [{ type: 'features', features: ['sma20', 'sma50', 'macd', 'adx'] }]), 'all present').toStrictEqual([]);
    expect(trendVoterOperator.check?.(params, [{ type: 'features' }]), 'unknown list: nothing to report').toStrictEqual([]);
  });

  it('does pass the feature list and interval of its input on', () => {
    const params = trendVoterParams.parse({});
    expect(trendVoterOperator.describe?.(params, [{ type: 'features', interval: '1m', features: ['sma20'] }])).toStrictEqual({ interval: '1m', features: ['sma20'] });
  });
});

testDefinitionContract(trendVoterOperator, {
  params: { minAdx: 25 },
  input: () => [warming, up, gap(), down, mixed],
});
