import fc from 'fast-check';
import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../../src/errors.js';
import type { Features } from '../../../src/model/index.js';
import { VoteSchema } from '../../../src/model/index.js';
import {
  evaluateMeanReversion,
  meanReversionVoter,
  meanReversionVoterOperator,
  meanReversionVoterParams,
} from '../../../src/operators/voting/meanReversionVoter.js';
import { candle, features, gap, MINUTE, status, T0, vote } from '../../support/builders.js';
import { testDefinitionContract } from '../../support/contracts.js';
import { marbles } from '../../support/marbles.js';

const rules = meanReversionVoterParams.parse({});

function bar(index: number, percentB: number | null): Features {
  return features({ 'bb.percentB': percentB }, { candle: candle({ openTime: T0 + index * MINUTE }) });
}

// Dyadic %B values keep the arithmetic exact. Confidence = (0.25 - %B) / 0.25 for a long.
const warming = bar(0, null);
const low = bar(1, 0.15625); // (0.25 - 0.15625) / 0.25 = 0.375
const middle = bar(2, 0.5);
const high = bar(3, 0.84375); // (0.84375 - 0.75) / 0.25 = 0.375

const voter = 'mean-reversion-voter';
const x = vote({ voter, features: warming, direction: 'neutral', confidence: 0, reasons: ['warming up: bb.percentB not ready'] });
const l = vote({ voter, features: low, direction: 'long', confidence: 0.375, reasons: ['bb.percentB 0.16 in the lower 25% of the band: stretched down'] });
const n = vote({ voter, features: middle, direction: 'neutral', confidence: 0, reasons: ['bb.percentB 0.50 between 0.25 and 0.75: not stretched'] });
const s = vote({ voter, features: high, direction: 'short', confidence: 0.375, reasons: ['bb.percentB 0.84 in the upper 25% of the band: stretched up'] });

describe('evaluateMeanReversion', () => {
  it.each([
    { name: 'long in the lower part of the band', percentB: 0.15625, direction: 'long', confidence: 0.375, reason: 'bb.percentB 0.16 in the lower 25% of the band: stretched down' },
    { name: 'long with full confidence at the lower band', percentB: 0, direction: 'long', confidence: 1, reason: 'bb.percentB 0.00 in the lower 25% of the band: stretched down' },
    { name: 'long with full confidence a little below the band', percentB: -0.25, direction: 'long', confidence: 1, reason: 'bb.percentB -0.25 in the lower 25% of the band: stretched down' },
    { name: 'short in the upper part of the band', percentB: 0.84375, direction: 'short', confidence: 0.375, reason: 'bb.percentB 0.84 in the upper 25% of the band: stretched up' },
    { name: 'short with full confidence above the band', percentB: 1.25, direction: 'short', confidence: 1, reason: 'bb.percentB 1.25 in the upper 25% of the band: stretched up' },
    { name: 'neutral in the middle', percentB: 0.5, direction: 'neutral', confidence: 0, reason: 'bb.percentB 0.50 between 0.25 and 0.75: not stretched' },
    { name: 'neutral at the edge of the zone', percentB: 0.25, direction: 'neutral', confidence: 0, reason: 'bb.percentB 0.25 between 0.25 and 0.75: not stretched' },
    {
      name: 'neutral in a crash far below the band',
      percentB: -0.75,
      direction: 'neutral',
      confidence: 0,
      reason: 'bb.percentB -0.75 is more than 0.50 band widths below the lower band: a breakdown, not a pullback',
    },
    {
      name: 'neutral in a blow-off far above the band',
      percentB: 1.75,
      direction: 'neutral',
      confidence: 0,
      reason: 'bb.percentB 1.75 is more than 0.50 band widths above the upper band: a blow-off, not a rally to sell',
    },
    { name: 'neutral while warming up', percentB: null, direction: 'neutral', confidence: 0, reason: 'warming up: bb.percentB not ready' },
  ] as const)('votes $name', ({ percentB, direction, confidence, reason }) => {
    const decision = evaluateMeanReversion(bar(0, percentB), rules);
    expect(decision.direction).toBe(direction);
    expect(decision.confidence, 'min(1, stretch into the zone / zone), 0 when neutral').toBe(confidence);
    expect(decision.reasons, 'reasons quote the numbers').toStrictEqual([reason]);
  });

  it('does use its zone and crash params', () => {
    const wide = meanReversionVoterParams.parse({ zone: 0.5, crashBeyond: 0 });
    expect(evaluateMeanReversion(bar(0, 0.25), wide).confidence, '(0.5 - 0.25) / 0.5').toBe(0.5);
    expect(evaluateMeanReversion(bar(0, -0.125), wide).direction, 'no tolerance below the band').toBe('neutral');
  });

  it('does keep confidence within [0, 1], and 0 exactly when neutral', () => {
    fc.assert(
      fc.property(fc.option(fc.double({ min: -5, max: 5, noNaN: true }), { nil: null }), fc.double({ min: 0.01, max: 0.5, noNaN: true }), (percentB, zone) => {
        const decision = evaluateMeanReversion(bar(0, percentB), meanReversionVoterParams.parse({ zone }));
        expect(decision.confidence).toBeGreaterThanOrEqual(0);
        expect(decision.confidence).toBeLessThanOrEqual(1);
        if (decision.direction === 'neutral') expect(decision.confidence, 'an abstention has confidence 0').toBe(0);
        else expect(decision.confidence, 'a side is taken with some conviction').toBeGreaterThan(0);
      }),
    );
  });

  it('rejects a zone wider than half the band', () => {
    expect(meanReversionVoterParams.safeParse({ zone: 0.6 }).success).toBe(false);
  });
});

describe('meanReversionVoter', () => {
  it(
    'does emit exactly one vote per Features record, neutral while warming up',
    marbles((m) => {
      const features$ = m.cold('  w-a-b-c-|', { w: warming, a: low, b: middle, c: high });
      const expected = '          x-l-n-s-|';
      m.expect(features$.pipe(meanReversionVoter())).toBeObservable(expected, { x, l, n, s });
    }),
  );

  it('does emit votes that satisfy the vote schema and are frozen', () => {
    const votes: unknown[] = [];
    from([warming, low, middle, high]).pipe(meanReversionVoter({ name: 'mr' })).subscribe((value) => votes.push(value));
    expect(votes).toHaveLength(4);
    for (const value of votes) {
      expect(VoteSchema.safeParse(value).success, 'votes match the schema').toBe(true);
      expect(Object.isFrozen(value), 'emitted records are immutable').toBe(true);
      expect((value as { voter: string }).voter, 'named as asked').toBe('mr');
    }
  });

  it(
    'does pass control events through in order',
    marbles((m) => {
      const g = gap();
      const t = status();
      const features$ = m.cold('  a-g-t-c-|', { a: low, g, t, c: high });
      m.expect(features$.pipe(meanReversionVoter())).toBeObservable('l-g-t-s-|', { l, g, t, s });
    }),
  );

  it(
    'does propagate an upstream error',
    marbles((m) => {
      const features$ = m.cold('  a-#', { a: low });
      m.expect(features$.pipe(meanReversionVoter())).toBeObservable('l-#', { l });
    }),
  );

  it(
    'does complete on empty and stay silent on never',
    marbles((m) => {
      m.expect(m.cold('|').pipe(meanReversionVoter())).toBeObservable('|');
      m.expect(m.cold('-').pipe(meanReversionVoter())).toBeObservable('-');
    }),
  );

  it(
    'does unsubscribe from its source when the subscriber leaves early',
    marbles((m) => {
      const features$ = m.hot('  a-b-c-|', { a: low, b: middle, c: high });
      const unsub = '            --!';
      m.expect(features$.pipe(meanReversionVoter()), unsub).toBeObservable('l-', { l });
      m.expect(features$).toHaveSubscriptions('^-!');
    }),
  );

  it(
    'does serve two concurrent subscriptions independently',
    marbles((m) => {
      const features$ = m.hot('  a-b-c-|', { a: low, b: middle, c: high });
      const operator = meanReversionVoter();
      m.expect(features$.pipe(operator)).toBeObservable('l-n-s-|', { l, n, s });
      m.expect(features$.pipe(operator)).toBeObservable('l-n-s-|', { l, n, s });
    }),
  );

  it(
    'does error with a clear message on a record of the wrong type',
    marbles((m) => {
      const features$ = m.cold('  a-c-|', { a: low, c: candle() as never });
      m.expect(features$.pipe(meanReversionVoter())).toBeObservable(
        'l-#',
        { l },
        new InvariantError('meanReversionVoter received a "candle" record; it takes "features" records (filter the stream first)'),
      );
    }),
  );
});

describe('meanReversionVoterOperator', () => {
  it('does report a needed feature the upstream does not compute', () => {
    const params = meanReversionVoterParams.parse({});
    expect(meanReversionVoterOperator.check?.(params, [{ type: 'features', features: [] }])).toStrictEqual([
      { path: 'params.percentB', message: 'Feature "bb.percentB" is not computed upstream; available: (none)' },
    ]);
  });
});

testDefinitionContract(meanReversionVoterOperator, {
  params: { zone: 0.2 },
  input: () => [warming, low, gap(), middle, high],
});
