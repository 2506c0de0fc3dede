import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Direction, Vote } from '../../../src/model/index.js';
import { ConsensusSchema } from '../../../src/model/index.js';
import type { TallyRules } from '../../../src/operators/voting/tallyVotes.js';
import { tallyVotes } from '../../../src/operators/voting/tallyVotes.js';
import { features, vote } from '../../support/builders.js';

const basis = features({ atr14: 2 });
const VOTERS = ['trend', 'momentum', 'mean-reversion'] as const;

function rules(overrides: Partial<TallyRules> = {}): TallyRules {
  return { voters: VOTERS, weights: new Map(), quorum: 3, minAgreement: 0.5, minConfidence: 0, ...overrides };
}

/** Votes by voter: `[direction, confidence]` per voter; a missing entry is a missing vote. */
function ballot(entries: Partial<Record<(typeof VOTERS)[number], readonly [Direction, number]>>): Map<string, Vote> {
  const votes = new Map<string, Vote>();
  for (const [voter, entry] of Object.entries(entries)) {
    const [direction, confidence] = entry;
    votes.set(voter, vote({ voter, direction, confidence, reasons: [`${voter} says ${direction}`], features: basis }));
  }
  return votes;
}

describe('tallyVotes', () => {
  it.each([
    {
      name: 'takes the direction all three agree on, with their mean confidence',
      votes: { trend: ['long', 0.5], momentum: ['long', 0.75], 'mean-reversion': ['long', 1] },
      rules: {},
      // (0.5 + 0.75 + 1) / 3 = 0.75; 3 of 3 weight = 1.
      expected: { direction: 'long', confidence: 0.75, agreement: 1, agreeing: 3, reason: '3 of 3 voters long (quorum 3), agreement 1.00' },
    },
    {
      name: 'stays neutral when the quorum is not met',
      votes: { trend: ['short', 0.5], momentum: ['short', 0.5], 'mean-reversion': ['neutral', 0] },
      rules: {},
      expected: { direction: 'neutral', confidence: 0, agreement: 2 / 3, agreeing: 2, reason: '2 of 3 voters short (quorum 3 not met), agreement 0.67' },
    },
    {
      name: 'takes the direction of a met lower quorum',
      votes: { trend: ['short', 0.5], momentum: ['short', 1], 'mean-reversion': ['neutral', 0] },
      rules: { quorum: 2 },
      expected: { direction: 'short', confidence: 0.75, agreement: 2 / 3, agreeing: 2, reason: '2 of 3 voters short (quorum 2), agreement 0.67' },
    },
    {
      name: 'stays neutral below minAgreement',
      votes: { trend: ['long', 1], momentum: ['long', 1], 'mean-reversion': ['neutral', 0] },
      rules: { quorum: 2, minAgreement: 0.7 },
      expected: { direction: 'neutral', confidence: 0, agreement: 2 / 3, agreeing: 2, reason: '2 of 3 voters long (quorum 2), agreement 0.67 below 0.70' },
    },
    {
      name: 'stays neutral below minConfidence',
      votes: { trend: ['long', 0.25], momentum: ['long', 0.25], 'mean-reversion': ['long', 0.25] },
      rules: { minConfidence: 0.5 },
      expected: {
        direction: 'neutral',
        confidence: 0,
        agreement: 1,
        agreeing: 3,
        reason: '3 of 3 voters long (quorum 3), agreement 1.00, confidence 0.25 below 0.50',
      },
    },
    {
      name: 'stays neutral when long and short tie',
      votes: { trend: ['long', 1], momentum: ['short', 1], 'mean-reversion': ['neutral', 0] },
      rules: { quorum: 1 },
      expected: { direction: 'neutral', confidence: 0, agreement: 0, agreeing: 0, reason: 'long and short tied (1 long, 1 short)' },
    },
    {
      name: 'stays neutral when everybody abstains',
      votes: { trend: ['neutral', 0], momentum: ['neutral', 0], 'mean-reversion': ['neutral', 0] },
      rules: {},
      expected: { direction: 'neutral', confidence: 0, agreement: 0, agreeing: 0, reason: 'no voter took a side (3 of 3 abstained)' },
    },
    {
      name: 'counts a missing voter as an abstention and says so',
      votes: { trend: ['long', 1], momentum: ['long', 0.5] },
      rules: { quorum: 2 },
      // (1 + 0.5) / 2 = 0.75; 2 of 3 weight.
      expected: {
        direction: 'long',
        confidence: 0.75,
        agreement: 2 / 3,
        agreeing: 2,
        reason: '2 of 3 voters long (quorum 2), agreement 0.67; no vote from mean-reversion (counted as an abstention)',
      },
    },
    {
      name: 'weighs the voters',
      votes: { trend: ['long', 0.5], momentum: ['long', 1], 'mean-reversion': ['short', 1] },
      rules: { quorum: 2, weights: new Map([['trend', 2]]) },
      // Long weight 2 + 1 = 3 of 4; confidence (2 * 0.5 + 1 * 1) / 3 = 2 / 3.
      expected: { direction: 'long', confidence: 2 / 3, agreement: 0.75, agreeing: 2, reason: '2 of 3 voters long (quorum 2), agreement 0.75' },
    },
    {
      name: 'lets a heavy voter outweigh two light ones',
      votes: { trend: ['short', 0.5], momentum: ['long', 1], 'mean-reversion': ['long', 1] },
      rules: { quorum: 1, weights: new Map([['trend', 3]]) },
      // Short weight 3 of 5 beats long 2 of 5.
      expected: { direction: 'short', confidence: 0.5, agreement: 0.6, agreeing: 1, reason: '1 of 3 voters short (quorum 1), agreement 0.60' },
    },
  ] as const)('$name', ({ votes, rules: overrides, expected }) => {
    const result = tallyVotes(ballot(votes), rules(overrides), basis);
    expect(result.direction).toBe(expected.direction);
    expect(result.confidence, 'weighted mean confidence of the agreeing voters, 0 when neutral').toBe(expected.confidence);
    expect(result.agreement, 'leading weight over the weight of all voters').toBe(expected.agreement);
    expect(result.agreeing).toBe(expected.agreeing);
    expect(result.reason).toBe(expected.reason);
    expect(ConsensusSchema.safeParse(result).success, 'the consensus matches the schema').toBe(true);
  });

  it('does list every expected voter in the breakdown, in order, with weights and reasons', () => {
    const result = tallyVotes(ballot({ 'mean-reversion': ['short', 0.5], trend: ['long', 1] }), rules({ weights: new Map([['momentum', 2]]) }), basis);
    expect(result.votes).toStrictEqual([
      { voter: 'trend', direction: 'long', confidence: 1, weight: 1, reasons: ['trend says long'] },
      { voter: 'momentum', direction: 'neutral', confidence: 0, weight: 2, reasons: ['no vote for this bar: counted as an abstention'] },
      { voter: 'mean-reversion', direction: 'short', confidence: 0.5, weight: 1, reasons: ['mean-reversion says short'] },
    ]);
    expect(result.features, 'the bar the votes were made on').toBe(basis);
    expect(Object.isFrozen(result) && Object.isFrozen(result.votes), 'emitted records are immutable').toBe(true);
  });

  it('does keep confidence and agreement within [0, 1] and the consensus valid', () => {
    const entry = fc.tuple(fc.constantFrom<Direction>('long', 'short', 'neutral'), fc.double({ min: 0, max: 1, noNaN: true }));
    const weight = fc.double({ min: 1e-3, max: 1e3, noNaN: true });
    fc.assert(
      fc.property(
        fc.array(fc.option(entry, { nil: undefined }), { minLength: 3, maxLength: 3 }),
        fc.array(weight, { minLength: 3, maxLength: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (entries, weights, quorum, minAgreement) => {
          const votes = new Map<string, Vote>();
          entries.forEach((item, i) => {
            if (item === undefined) return;
            const [direction, confidence] = item;
            const voter = VOTERS[i] ?? 'trend';
            votes.set(voter, vote({ voter, direction, confidence: direction === 'neutral' ? 0 : confidence, features: basis }));
          });
          const result = tallyVotes(votes, rules({ quorum, minAgreement, weights: new Map(VOTERS.map((voter, i) => [voter, weights[i] ?? 1])) }), basis);
          expect(result.confidence).toBeGreaterThanOrEqual(0);
          expect(result.confidence).toBeLessThanOrEqual(1);
          expect(result.agreement).toBeGreaterThanOrEqual(0);
          expect(result.agreement).toBeLessThanOrEqual(1);
          if (result.direction !== 'neutral') expect(result.agreeing, 'a direction needs its quorum').toBeGreaterThanOrEqual(quorum);
          expect(ConsensusSchema.safeParse(result).success, 'the consensus matches the schema').toBe(true);
        },
      ),
    );
  });
});
