/**
 * Counting the votes of one bar: the pure part of {@link voteConsensus}.
 */
import type { Consensus, Direction, Features, Vote, VoteSummary } from '../../model/index.js';

/** How votes are counted; every field resolved. */
export interface TallyRules {
  /** The expected voters, in the order the breakdown lists them. */
  readonly voters: readonly string[];
  /** Weight of each expected voter (positive). */
  readonly weights: ReadonlyMap<string, number>;
  /** Number of voters that must agree on a direction. */
  readonly quorum: number;
  /** Minimum weight of the leading direction over the weight of all expected voters. */
  readonly minAgreement: number;
  /** Minimum weighted mean confidence of the agreeing voters. */
  readonly minConfidence: number;
}

const MISSING_REASON = 'no vote for this bar: counted as an abstention';

function weightOf(rules: TallyRules, voter: string): number {
  return rules.weights.get(voter) ?? 1;
}

function fixed(value: number): string {
  return value.toFixed(2);
}

/**
 * The consensus of one bar from the votes that arrived (by voter). Expected voters without a vote
 * count as abstentions, and the reason names them.
 *
 * - The leading direction is the side (long or short) with the larger total weight; a tie or no
 *   side at all leads nowhere.
 * - The consensus takes the leading direction when at least `quorum` voters chose it, its weight
 *   over the weight of all expected voters (`agreement`) is at least `minAgreement`, and the
 *   weighted mean confidence of its voters is at least `minConfidence`; else it is neutral.
 * - `confidence` is that weighted mean, and 0 when neutral.
 */
export function tallyVotes(votes: ReadonlyMap<string, Vote>, rules: TallyRules, basis: Features): Consensus {
  let totalWeight = 0;
  const weightFor = { long: 0, short: 0 };
  const countFor = { long: 0, short: 0 };
  const confidenceFor = { long: 0, short: 0 };
  const missing: string[] = [];
  const summaries: VoteSummary[] = [];
  for (const voter of rules.voters) {
    const weight = weightOf(rules, voter);
    totalWeight += weight;
    const vote = votes.get(voter);
    if (vote === undefined) {
      missing.push(voter);
      summaries.push(Object.freeze({ voter, direction: 'neutral', confidence: 0, weight, reasons: Object.freeze([MISSING_REASON]) }));
      continue;
    }
    summaries.push(Object.freeze({ voter, direction: vote.direction, confidence: vote.confidence, weight, reasons: vote.reasons }));
    if (vote.direction !== 'neutral') {
      weightFor[vote.direction] += weight;
      countFor[vote.direction] += 1;
      confidenceFor[vote.direction] += weight * vote.confidence;
    }
  }

  const leading: 'long' | 'short' | undefined =
    weightFor.long > weightFor.short ? 'long' : weightFor.short > weightFor.long ? 'short' : undefined;
  let direction: Direction = 'neutral';
  let confidence = 0;
  let agreement = 0;
  let agreeing = 0;
  let reason: string;
  const total = rules.voters.length;
  if (leading === undefined) {
    reason =
      weightFor.long === 0
        ? `no voter took a side (${String(total)} of ${String(total)} abstained)`
        : `long and short tied (${String(countFor.long)} long, ${String(countFor.short)} short)`;
  } else {
    agreeing = countFor[leading];
    agreement = Math.min(1, weightFor[leading] / totalWeight);
    const meanConfidence = Math.min(1, confidenceFor[leading] / weightFor[leading]);
    const quorumMet = agreeing >= rules.quorum;
    const agreementMet = agreement >= rules.minAgreement;
    const confidenceMet = meanConfidence >= rules.minConfidence;
    reason = `${String(agreeing)} of ${String(total)} voters ${leading} (quorum ${String(rules.quorum)}${quorumMet ? '' : ' not met'}), agreement ${fixed(agreement)}`;
    if (!agreementMet) reason += ` below ${fixed(rules.minAgreement)}`;
    if (!confidenceMet) reason += `, confidence ${fixed(meanConfidence)} below ${fixed(rules.minConfidence)}`;
    if (quorumMet && agreementMet && confidenceMet) {
      direction = leading;
      confidence = meanConfidence;
    }
  }
  if (missing.length > 0) reason += `; no vote from ${missing.join(', ')} (counted as ${missing.length === 1 ? 'an abstention' : 'abstentions'})`;

  return Object.freeze({
    type: 'consensus',
    venue: basis.venue,
    symbol: basis.symbol,
    tsEvent: basis.tsEvent,
    tsRecv: basis.tsRecv,
    interval: basis.interval,
    openTime: basis.openTime,
    closeTime: basis.closeTime,
    direction,
    confidence,
    agreement,
    agreeing,
    quorum: rules.quorum,
    reason,
    votes: Object.freeze(summaries),
    features: basis,
  });
}
