import type { OperatorFunction } from 'rxjs';
import { z } from 'zod';
import { defineOperator } from '../../definitions.js';
import type { Features, Flow, Vote } from '../../model/index.js';
import type { VoteDecision } from './voterInternals.js';
import {
  abstain,
  formatChange,
  formatLevel,
  formatValue,
  missingFeatures,
  passFeatures,
  ramp,
  readFeatures,
  side,
  voterOperator,
} from './voterInternals.js';

const featureName = z.string().min(1);

export const momentumVoterParams = z
  .strictObject({
    /** RSI, 0..100. */
    rsi: featureName.default('rsi14'),
    /** Stochastic %K, 0..100. */
    stochK: featureName.default('stoch.k'),
    /** Stochastic %D (the signal line of %K), 0..100. */
    stochD: featureName.default('stoch.d'),
    /** MACD histogram (MACD line minus its signal line). */
    histogram: featureName.default('macd.histogram'),
    /** At or above this RSI an upward push is exhausted: no long vote. */
    overbought: z.number().min(0).max(100).default(70),
    /** At or below this RSI a downward push is exhausted: no short vote. */
    oversold: z.number().min(0).max(100).default(30),
    /** RSI change over one bar, in points, at which that part of the confidence reaches 1. */
    fullRsiChange: z.number().positive().default(5),
    /** Distance of %K from %D, in points, at which that part of the confidence reaches 1. */
    fullStochSpread: z.number().positive().default(10),
  })
  .refine((params) => params.oversold < params.overbought, {
    path: ['oversold'],
    message: 'oversold must be below overbought',
  });
export type MomentumVoterParams = z.input<typeof momentumVoterParams>;
export type MomentumRules = z.output<typeof momentumVoterParams>;

export interface MomentumVoterOptions extends MomentumVoterParams {
  /** Voter name on the votes (default `momentum-voter`). */
  readonly name?: string;
}

const KIND = 'momentum-voter';

/**
 * The momentum voter's rules: is the push turning or continuing, and which way? They compare the
 * bar with the previous closed bar of the same series.
 *
 * - long when RSI rose, stochastic %K is above %D and the MACD histogram rose, unless RSI is at
 *   or above `overbought` (the push is exhausted); short when all three point down, unless RSI
 *   is at or below `oversold`;
 * - neutral otherwise: while a feature warms up, on the first bar (nothing to compare with), or
 *   when the three readings disagree ("momentum mixed").
 *
 * RSI against 50 tells a turn from a continuation in the reasons: rising below 50 is "turning
 * up", rising above 50 is "continuing up".
 *
 * Confidence is the mean of two ramps: `min(1, |RSI change| / fullRsiChange)` and
 * `min(1, |%K - %D| / fullStochSpread)`. Both are above 0 whenever the voter takes a side.
 *
 *   rsi14 43.1 below 50, rising +4.2 (turning up); stoch.k 35.2 above stoch.d 28.0;
 *   macd.histogram rising -1.20 -> -0.80 => long, confidence (0.84 + 0.72) / 2 = 0.78
 */
export function evaluateMomentum(current: Features, previous: Features | undefined, rules: MomentumRules, voter: string = KIND): VoteDecision {
  const read = readFeatures(voter, current, { rsi: rules.rsi, stochK: rules.stochK, stochD: rules.stochD, histogram: rules.histogram });
  if (!read.ready) return abstain(read.reasons);
  if (previous === undefined) return abstain([`warming up: no previous bar to compare ${rules.rsi} and ${rules.histogram} with`]);
  const before = readFeatures(voter, previous, { rsi: rules.rsi, histogram: rules.histogram }, 'previous ');
  if (!before.ready) return abstain(before.reasons);
  const { rsi, stochK, stochD, histogram } = read.values;
  const rsiChange = rsi - before.values.rsi;
  const histogramChange = histogram - before.values.histogram;
  const rsiWay = Math.sign(rsiChange);
  const stochWay = Math.sign(stochK - stochD);
  const histogramWay = Math.sign(histogramChange);
  const reasons = [
    `${rules.rsi} ${formatLevel(rsi)} ${side(rsi, 50)} 50, ${rsiWay > 0 ? 'rising' : rsiWay < 0 ? 'falling' : 'flat'} ${formatChange(rsiChange, formatLevel)}${
      rsiWay === 0 ? '' : ` (${(rsi < 50) === rsiWay > 0 ? 'turning' : 'continuing'} ${rsiWay > 0 ? 'up' : 'down'})`
    }`,
    `${rules.stochK} ${formatLevel(stochK)} ${side(stochK, stochD)} ${rules.stochD} ${formatLevel(stochD)}`,
    `${rules.histogram} ${histogramWay > 0 ? 'rising' : histogramWay < 0 ? 'falling' : 'flat'} ${formatValue(before.values.histogram)} -> ${formatValue(histogram)}`,
  ];
  if (rsiWay === 0 || rsiWay !== stochWay || rsiWay !== histogramWay) return abstain([...reasons, 'momentum mixed']);
  if (rsiWay > 0 && rsi >= rules.overbought) {
    return abstain([...reasons, `${rules.rsi} at or above ${formatLevel(rules.overbought)}: overbought, the push is exhausted`]);
  }
  if (rsiWay < 0 && rsi <= rules.oversold) {
    return abstain([...reasons, `${rules.rsi} at or below ${formatLevel(rules.oversold)}: oversold, the push is exhausted`]);
  }
  const confidence = (ramp(Math.abs(rsiChange), rules.fullRsiChange) + ramp(Math.abs(stochK - stochD), rules.fullStochSpread)) / 2;
  return { direction: rsiWay > 0 ? 'long' : 'short', confidence, reasons };
}

/**
 * Votes on momentum for every Features record: exactly one vote per record, neutral while warming
 * up and on the first bar of a series. The previous closed bar is kept per venue, symbol and
 * interval, per subscription. See {@link evaluateMomentum} for the rules.
 *
 *   features: --a--b--c--|      (a first bar, b push turning up, c mixed)
 *   votes:    --x--y--z--|      (x neutral, y long, z neutral)
 */
export function momentumVoter(options: MomentumVoterOptions = {}): OperatorFunction<Flow<Features>, Flow<Vote>> {
  const { name = KIND, ...params } = options;
  const rules = momentumVoterParams.parse(params);
  return voterOperator('momentumVoter', name, (current, previous) => evaluateMomentum(current, previous, rules, name));
}

export const momentumVoterOperator = defineOperator({
  kind: KIND,
  summary: 'Votes with the push: RSI change, stochastic %K vs %D and MACD histogram change, not when exhausted',
  params: momentumVoterParams,
  input: 'features',
  output: 'vote',
  check: (params, inputs) => missingFeatures(params, ['rsi', 'stochK', 'stochD', 'histogram'], inputs),
  describe: (_params, inputs) => passFeatures(inputs),
  create: (params, ctx) => momentumVoter({ ...params, name: ctx.node === '' ? KIND : ctx.node }),
});
