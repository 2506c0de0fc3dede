import type { OperatorFunction } from 'rxjs';
import { z } from 'zod';
import { defineOperator } from '../../definitions.js';
import type { Features, Flow, Vote } from '../../model/index.js';
import type { VoteDecision } from './voterInternals.js';
import {
  abstain,
  formatLevel,
  formatPercent,
  formatValue,
  missingFeatures,
  passFeatures,
  readFeatures,
  side,
  voterOperator,
} from './voterInternals.js';

const featureName = z.string().min(1);

export const trendVoterParams = z
  .strictObject({
    /** Fast moving average. */
    fast: featureName.default('sma20'),
    /** Slow moving average: the regime line. */
    slow: featureName.default('sma50'),
    /** MACD line (fast EMA minus slow EMA). */
    macd: featureName.default('macd'),
    /** Average directional index, 0..100. */
    adx: featureName.default('adx'),
    /** Below this ADX there is no trend to follow: abstain. */
    minAdx: z.number().min(0).max(100).default(20),
    /** ADX at which confidence reaches 1. */
    strongAdx: z.number().positive().max(100).default(40),
  })
  .refine((params) => params.strongAdx > params.minAdx, {
    path: ['strongAdx'],
    message: 'strongAdx must be greater than minAdx',
  });
export type TrendVoterParams = z.input<typeof trendVoterParams>;
export type TrendRules = z.output<typeof trendVoterParams>;

export interface TrendVoterOptions extends TrendVoterParams {
  /** Voter name on the votes (default `trend-voter`). */
  readonly name?: string;
}

const KIND = 'trend-voter';

/**
 * The trend voter's rules: which regime is the market in?
 *
 * - long when the fast average is above the slow one, the close is above the slow average, the
 *   MACD line is above 0 and ADX is at least `minAdx`; short when all of it is the other way;
 * - neutral otherwise: while a feature warms up, when the three directional readings disagree
 *   ("no clear trend") or when ADX is below `minAdx` ("no trend strength").
 *
 * Confidence is the trend strength: `min(1, adx / strongAdx)` (ADX 30 of 40 gives 0.75), so
 * with the defaults a vote has confidence in [0.5, 1].
 *
 *   sma20 101.20 above sma50 99.80 (+1.40%); close 102.00 above sma50 99.80; macd 0.42 above 0;
 *   adx 31.5 at or above 20.0 => long, confidence 31.5 / 40 = 0.79
 */
export function evaluateTrend(current: Features, rules: TrendRules, voter: string = KIND): VoteDecision {
  const read = readFeatures(voter, current, { fast: rules.fast, slow: rules.slow, macd: rules.macd, adx: rules.adx });
  if (!read.ready) return abstain(read.reasons);
  const { fast, slow, macd, adx } = read.values;
  const close = current.candle.close;
  const averages = side(fast, slow);
  const price = side(close, slow);
  const momentum = side(macd, 0);
  const reasons = [
    `${rules.fast} ${formatValue(fast)} ${averages} ${rules.slow} ${formatValue(slow)} (${formatPercent((fast - slow) / slow)})`,
    `close ${formatValue(close)} ${price} ${rules.slow} ${formatValue(slow)}`,
    `${rules.macd} ${formatValue(macd)} ${momentum} 0`,
  ];
  const strong = adx >= rules.minAdx;
  reasons.push(`${rules.adx} ${formatLevel(adx)} ${strong ? 'at or above' : 'below'} ${formatLevel(rules.minAdx)}`);
  if (averages === 'at' || averages !== price || averages !== momentum) return abstain([...reasons, 'no clear trend: the readings disagree']);
  if (!strong) return abstain([...reasons, 'no trend strength']);
  return { direction: averages === 'above' ? 'long' : 'short', confidence: Math.min(1, adx / rules.strongAdx), reasons };
}

/**
 * Votes on the trend regime of every Features record: exactly one vote per record, neutral while
 * warming up. See {@link evaluateTrend} for the rules.
 *
 *   features: --a--b--c--|      (a warming up, b uptrend, c mixed)
 *   votes:    --x--y--z--|      (x neutral, y long, z neutral)
 */
export function trendVoter(options: TrendVoterOptions = {}): OperatorFunction<Flow<Features>, Flow<Vote>> {
  const { name = KIND, ...params } = options;
  const rules = trendVoterParams.parse(params);
  return voterOperator('trendVoter', name, (current) => evaluateTrend(current, rules, name));
}

export const trendVoterOperator = defineOperator({
  kind: KIND,
  summary: 'Votes with the trend: fast vs slow average, close vs slow average, MACD sign, ADX strength',
  params: trendVoterParams,
  input: 'features',
  output: 'vote',
  check: (params, inputs) => missingFeatures(params, ['fast', 'slow', 'macd', 'adx'], inputs),
  describe: (_params, inputs) => passFeatures(inputs),
  create: (params, ctx) => trendVoter({ ...params, name: ctx.node === '' ? KIND : ctx.node }),
});
