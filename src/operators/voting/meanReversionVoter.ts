import type { OperatorFunction } from 'rxjs';
import { z } from 'zod';
import { defineOperator } from '../../definitions.js';
import type { Features, Flow, Vote } from '../../model/index.js';
import type { VoteDecision } from './voterInternals.js';
import { abstain, missingFeatures, passFeatures, readFeatures, voterOperator } from './voterInternals.js';

export const meanReversionVoterParams = z.strictObject({
  /** Bollinger %B: 0 at the lower band, 1 at the upper band. */
  percentB: z.string().min(1).default('bb.percentB'),
  /** Width of the stretched zone at each end of the band, as a fraction of the band: long below `zone`, short above `1 - zone`. */
  zone: z.number().positive().max(0.5).default(0.25),
  /** How far beyond a band (in band widths) a close is a breakdown or a blow-off, not a stretch: abstain. */
  crashBeyond: z.number().nonnegative().default(0.5),
});
export type MeanReversionVoterParams = z.input<typeof meanReversionVoterParams>;
export type MeanReversionRules = z.output<typeof meanReversionVoterParams>;

export interface MeanReversionVoterOptions extends MeanReversionVoterParams {
  /** Voter name on the votes (default `mean-reversion-voter`). */
  readonly name?: string;
}

const KIND = 'mean-reversion-voter';

/**
 * The mean-reversion voter's rules: is price stretched away from its mean, so that it is a cheap
 * (or dear) place to join the move? Combined with the trend voter this is "buy the pullback in an
 * uptrend, sell the rally in a downtrend".
 *
 * - long when %B is below `zone` (the close sits in the lower part of its Bollinger band) but not
 *   below `-crashBeyond` (a close far under the lower band is a breakdown, not a pullback);
 * - short when %B is above `1 - zone` but not above `1 + crashBeyond`;
 * - neutral in the middle of the band, beyond the crash limits, and while %B warms up.
 *
 * Confidence grows with the stretch: `min(1, (zone - %B) / zone)` for a long, so it is near 0 at
 * the edge of the zone and 1 at the lower band and beyond; the mirror image for a short.
 *
 *   bb.percentB 0.08 in the lower 25% of the band: stretched down => long, confidence 0.68
 */
export function evaluateMeanReversion(current: Features, rules: MeanReversionRules, voter: string = KIND): VoteDecision {
  const read = readFeatures(voter, current, { percentB: rules.percentB });
  if (!read.ready) return abstain(read.reasons);
  const { percentB } = read.values;
  const reading = `${rules.percentB} ${percentB.toFixed(2)}`;
  const zonePercent = `${String(Math.round(rules.zone * 100))}%`;
  if (percentB < -rules.crashBeyond) {
    return abstain([`${reading} is more than ${rules.crashBeyond.toFixed(2)} band widths below the lower band: a breakdown, not a pullback`]);
  }
  if (percentB > 1 + rules.crashBeyond) {
    return abstain([`${reading} is more than ${rules.crashBeyond.toFixed(2)} band widths above the upper band: a blow-off, not a rally to sell`]);
  }
  if (percentB < rules.zone) {
    return { direction: 'long', confidence: Math.min(1, (rules.zone - percentB) / rules.zone), reasons: [`${reading} in the lower ${zonePercent} of the band: stretched down`] };
  }
  if (percentB > 1 - rules.zone) {
    return { direction: 'short', confidence: Math.min(1, (percentB - (1 - rules.zone)) / rules.zone), reasons: [`${reading} in the upper ${zonePercent} of the band: stretched up`] };
  }
  return abstain([`${reading} between ${rules.zone.toFixed(2)} and ${(1 - rules.zone).toFixed(2)}: not stretched`]);
}

/**
 * Votes on how stretched price is within its Bollinger band for every Features record: exactly
 * one vote per record, neutral while warming up. See {@link evaluateMeanReversion} for the rules.
 *
 *   features: --a--b--c--|      (a %B 0.10, b %B 0.50, c %B 0.95)
 *   votes:    --x--y--z--|      (x long, y neutral, z short)
 */
export function meanReversionVoter(options: MeanReversionVoterOptions = {}): OperatorFunction<Flow<Features>, Flow<Vote>> {
  const { name = KIND, ...params } = options;
  const rules = meanReversionVoterParams.parse(params);
  return voterOperator('meanReversionVoter', name, (current) => evaluateMeanReversion(current, rules, name));
}

export const meanReversionVoterOperator = defineOperator({
  kind: KIND,
  summary: 'Votes against the stretch: long in the lower part of the Bollinger band, short in the upper part, not in a crash',
  params: meanReversionVoterParams,
  input: 'features',
  output: 'vote',
  check: (params, inputs) => missingFeatures(params, ['percentB'], inputs),
  describe: (_params, inputs) => passFeatures(inputs),
  create: (params, ctx) => meanReversionVoter({ ...params, name: ctx.node === '' ? KIND : ctx.node }),
});
