import { defer, filter, type OperatorFunction } from 'rxjs';
import { z } from 'zod';
import { defineOperator, type NodeProblem, type PortInfo } from '../../definitions.js';
import { InvariantError, quote } from '../../errors.js';
import type { BoundCounter } from '../../metrics.js';
import { METRIC } from '../../metrics.js';
import type { Consensus, Features, Flow, Vote } from '../../model/index.js';
import { isControl } from '../../model/index.js';
import { flowOperator } from '../flowOperator.js';
import type { TallyRules } from './tallyVotes.js';
import { tallyVotes } from './tallyVotes.js';
import { describeBar } from './voterInternals.js';

export interface VoteConsensusOptions {
  /** The voters that vote on every bar (vote `voter` names), in the order the breakdown lists them. */
  readonly voters: readonly string[];
  /** Weight per voter (positive; default 1 each). Every key must be one of `voters`. */
  readonly weights?: Readonly<Record<string, number>>;
  /** Number of voters that must agree on a direction (default 3); at most the number of voters. */
  readonly quorum?: number;
  /** Minimum weight of the leading direction over the weight of all voters, in [0, 1] (default 0.5). */
  readonly minAgreement?: number;
  /** Minimum weighted mean confidence of the agreeing voters, in [0, 1] (default 0). */
  readonly minConfidence?: number;
  /** Counts votes that arrived after their bar was decided, and were not used. */
  readonly lateVotes?: BoundCounter;
  /** Counts second votes of a voter for the same bar, which were not used. */
  readonly duplicateVotes?: BoundCounter;
}

function inUnitRange(value: number): boolean {
  return Number.isFinite(value) && value >= 0 && value <= 1;
}

/** Resolves and validates the options; throws a RangeError naming the bad value. */
function tallyRules(options: VoteConsensusOptions): TallyRules {
  const { voters } = options;
  if (voters.length === 0) throw new RangeError('voteConsensus needs at least one voter');
  const seen = new Set<string>();
  for (const voter of voters) {
    if (voter === '') throw new RangeError('voteConsensus: a voter name is empty');
    if (seen.has(voter)) throw new RangeError(`voteConsensus: voter ${quote(voter)} is listed twice`);
    seen.add(voter);
  }
  const weights = new Map<string, number>();
  for (const [voter, weight] of Object.entries(options.weights ?? {})) {
    if (!seen.has(voter)) throw new RangeError(`voteConsensus: weight for ${quote(voter)}, which is not one of the voters ${voters.map(quote).join(', ')}`);
    if (!(Number.isFinite(weight) && weight > 0)) throw new RangeError(`voteConsensus: weight ${quote(weight)} of ${quote(voter)} must be a positive number`);
    weights.set(voter, weight);
  }
  const quorum = options.quorum ?? 3;
  if (!Number.isInteger(quorum) || quorum < 1) throw new RangeError(`voteConsensus: quorum ${quote(quorum)} must be a positive integer`);
  if (quorum > voters.length) {
    throw new RangeError(`voteConsensus: quorum ${quote(quorum)} is more than the ${String(voters.length)} voters (${voters.join(', ')}): it could never be met`);
  }
  const minAgreement = options.minAgreement ?? 0.5;
  if (!inUnitRange(minAgreement)) throw new RangeError(`voteConsensus: minAgreement ${quote(minAgreement)} must be in [0, 1]`);
  const minConfidence = options.minConfidence ?? 0;
  if (!inUnitRange(minConfidence)) throw new RangeError(`voteConsensus: minConfidence ${quote(minConfidence)} must be in [0, 1]`);
  return { voters: [...voters], weights, quorum, minAgreement, minConfidence };
}

/** The bar of a series whose votes are still being collected. */
interface OpenBar {
  readonly openTime: number;
  readonly basis: Features;
  readonly votes: Map<string, Vote>;
}

interface SeriesState {
  open: OpenBar | undefined;
  /** Open time of the last bar emitted: votes for it or earlier bars are late. */
  decided: number | undefined;
}

function seriesKey(vote: Vote): string {
  return `${vote.venue}\u0000${vote.symbol}\u0000${vote.interval}`;
}

/**
 * Combines the votes of several voters into one consensus per bar.
 *
 * Votes are grouped by venue, symbol, interval and bar open time. A bar is decided (see
 * {@link tallyVotes}) as soon as every voter in `voters` has voted on it. When a vote for a later
 * bar of the same series arrives first, the open bar is decided with the missing voters counted
 * as abstentions, and the reason names them; on completion, open bars are decided the same way.
 * Votes on forming bars (`features.closed: false`) are provisional and ignored: only closed bars
 * are decided. A vote for a bar already decided is late: it is counted and dropped. A vote from a
 * voter not in `voters` is a broken invariant: the stream errors.
 *
 * The upstream is usually several voters merged, each forwarding the same control events: each
 * distinct control event (by reference) is forwarded once.
 *
 *   votes:     --(abc)----(de)---|      (a, b, c: bar 1 from all three voters; d, e: bar 2, one voter silent)
 *   consensus: --X---------------(Y|)   (X: bar 1 once complete; Y: bar 2 on completion, the silent voter abstaining)
 */
export function voteConsensus(options: VoteConsensusOptions): OperatorFunction<Flow<Vote>, Flow<Consensus>> {
  const rules = tallyRules(options);
  const expected = new Set(rules.voters);
  const { lateVotes, duplicateVotes } = options;
  const collect = flowOperator<Vote, Consensus>({
    name: 'voteConsensus',
    accepts: ['vote'],
    setup: (out) => {
      const series = new Map<string, SeriesState>();
      const decide = (state: SeriesState, bar: OpenBar): void => {
        state.open = undefined;
        state.decided = bar.openTime;
        out.next(tallyVotes(bar.votes, rules, bar.basis));
      };
      return {
        next: (vote) => {
          if (!expected.has(vote.voter)) {
            throw new InvariantError(
              `voteConsensus received a vote from ${quote(vote.voter)}, which is not one of its voters ${rules.voters.map(quote).join(', ')} (on ${describeBar(vote)}); list it in params.weights or in the node's from`,
            );
          }
          if (!vote.features.closed) return;
          const key = seriesKey(vote);
          let state = series.get(key);
          if (state === undefined) {
            state = { open: undefined, decided: undefined };
            series.set(key, state);
          }
          if (state.open !== undefined && vote.openTime > state.open.openTime) decide(state, state.open);
          if ((state.decided !== undefined && vote.openTime <= state.decided) || (state.open !== undefined && vote.openTime < state.open.openTime)) {
            lateVotes?.inc();
            return;
          }
          let bar = state.open;
          if (bar === undefined) {
            bar = { openTime: vote.openTime, basis: vote.features, votes: new Map() };
            state.open = bar;
          }
          if (bar.votes.has(vote.voter)) {
            duplicateVotes?.inc();
            return;
          }
          bar.votes.set(vote.voter, vote);
          if (bar.votes.size === expected.size) decide(state, bar);
        },
        complete: () => {
          for (const state of series.values()) if (state.open !== undefined) decide(state, state.open);
        },
      };
    },
  });
  return (source$) =>
    defer(() => {
      const forwarded = new WeakSet<object>();
      return source$.pipe(
        filter((event) => {
          if (!isControl(event)) return true;
          if (forwarded.has(event)) return false;
          forwarded.add(event);
          return true;
        }),
        collect,
      );
    });
}

export const consensusParams = z.strictObject({
  /** Weight per voter node id; when given, its keys are the expected voters. Default: weight 1 for every upstream node. */
  weights: z
    .record(z.string().min(1), z.number().positive())
    .refine((weights) => Object.keys(weights).length > 0, { message: 'weights must name at least one voter' })
    .optional(),
  /** Number of voters that must agree on a direction. */
  quorum: z.number().int().positive().default(3),
  /** Minimum weight of the leading direction over the weight of all voters. */
  minAgreement: z.number().min(0).max(1).default(0.5),
  /** Minimum weighted mean confidence of the agreeing voters. */
  minConfidence: z.number().min(0).max(1).default(0),
});
export type ConsensusParams = z.input<typeof consensusParams>;

function checkConsensus(params: z.output<typeof consensusParams>, inputs: readonly PortInfo[]): NodeProblem[] {
  const voters = params.weights === undefined ? inputs.length : Object.keys(params.weights).length;
  if (voters === 0 || params.quorum <= voters) return [];
  const source = params.weights === undefined ? 'upstream voter nodes' : 'voters in params.weights';
  return [{ path: 'params.quorum', message: `Quorum ${quote(params.quorum)} is more than the ${String(voters)} ${source}: it could never be met` }];
}

/** Feature names every input knows about, when all of them know. */
function commonFeatures(inputs: readonly PortInfo[]): Partial<PortInfo> {
  const lists = inputs.map((input) => input.features);
  const first = lists[0];
  const interval = inputs[0]?.interval;
  const port = interval !== undefined && inputs.every((input) => input.interval === interval) ? { interval } : {};
  if (first === undefined || lists.some((list) => list === undefined)) return port;
  return { ...port, features: first.filter((name) => lists.every((list) => list?.includes(name) === true)) };
}

export const consensusOperator = defineOperator({
  kind: 'consensus',
  summary: 'One consensus per bar from several voters: quorum, weights, agreement and confidence thresholds',
  params: consensusParams,
  input: 'vote',
  output: 'consensus',
  arity: 'many',
  check: checkConsensus,
  describe: (_params, inputs) => commonFeatures(inputs),
  create: (params, ctx) => {
    const skipped = ctx.metrics.counter(METRIC.skipped, 'Records an operator could not use');
    return voteConsensus({
      voters: params.weights === undefined ? ctx.inputs : Object.keys(params.weights),
      ...(params.weights === undefined ? {} : { weights: params.weights }),
      quorum: params.quorum,
      minAgreement: params.minAgreement,
      minConfidence: params.minConfidence,
      lateVotes: skipped.bind({ node: ctx.node, reason: 'late-vote' }),
      duplicateVotes: skipped.bind({ node: ctx.node, reason: 'duplicate-vote' }),
    });
  },
});
