/**
 * The hand-written baseline's per-candle work, shared by the B1 and kline benchmarks: the same
 * indicator, voter, consensus and risk functions the engine uses, called directly, with none of
 * the engine's plumbing (no Observables, no operators, no record routing).
 */
import type { Candle, Features, Signal, Vote } from '../src/model/index.js';
import { createIndicator, indicatorSpec, type IndicatorSpecInput } from '../src/operators/indicators/registry.js';
import { buildRiskPlan } from '../src/operators/risk/buildRiskPlan.js';
import { riskPlanParams, type RiskPlanParams } from '../src/operators/risk/planRisk.js';
import { evaluateMeanReversion, meanReversionVoterParams } from '../src/operators/voting/meanReversionVoter.js';
import { evaluateMomentum, momentumVoterParams } from '../src/operators/voting/momentumVoter.js';
import { tallyVotes } from '../src/operators/voting/tallyVotes.js';
import { evaluateTrend, trendVoterParams } from '../src/operators/voting/trendVoter.js';

const VOTERS = ['trend', 'momentum', 'mean-reversion'] as const;

/** A closed bar in, a signal out when the three voters, consensus and risk plan agree. */
export function createPlainChain(indicatorSpecs: readonly IndicatorSpecInput[], risk: RiskPlanParams): (bar: Candle) => Signal | undefined {
  const indicators = indicatorSpecs.map((spec) => createIndicator(indicatorSpec.parse(spec)));
  const trendRules = trendVoterParams.parse({});
  const momentumRules = momentumVoterParams.parse({});
  const meanRules = meanReversionVoterParams.parse({});
  const riskRules = riskPlanParams.parse(risk);
  const tally = { voters: VOTERS, weights: new Map<string, number>(), quorum: 3, minAgreement: 0.5, minConfidence: 0 };
  let previous: Features | undefined;
  return (bar) => {
    const values: Record<string, number | null> = {};
    for (const indicator of indicators) {
      indicator.update(bar, false);
      indicator.write(values);
    }
    const { venue, symbol, tsEvent, tsRecv, interval, openTime, closeTime } = bar;
    const features: Features = { type: 'features', venue, symbol, tsEvent, tsRecv, interval, openTime, closeTime, closed: true, candle: bar, values };
    const decisions = [
      evaluateTrend(features, trendRules, 'trend'),
      evaluateMomentum(features, previous, momentumRules, 'momentum'),
      evaluateMeanReversion(features, meanRules, 'mean-reversion'),
    ];
    previous = features;
    const votes = new Map<string, Vote>();
    decisions.forEach((decision, i) => {
      const voter = VOTERS[i] as string;
      votes.set(voter, { type: 'vote', venue, symbol, tsEvent, tsRecv, voter, ...decision, interval, openTime, closeTime, features });
    });
    return buildRiskPlan(tallyVotes(votes, tally, features), riskRules).signal;
  };
}
