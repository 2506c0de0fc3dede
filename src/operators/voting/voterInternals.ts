/**
 * What the rule-based voters share: the decision a rule returns, reading named features with
 * warm-up handling, number formatting for reasons, the per-series operator that turns decisions
 * into votes, and the upstream-feature check of their definitions.
 */
import type { OperatorFunction } from 'rxjs';
import type { NodeProblem, PortInfo } from '../../definitions.js';
import { InvariantError, quote } from '../../errors.js';
import type { Direction, Features, Flow, Vote } from '../../model/index.js';
import { flowOperator } from '../flowOperator.js';

/** What a voter's rules conclude about one bar. */
export interface VoteDecision {
  readonly direction: Direction;
  /** In [0, 1]; 0 for `neutral`. */
  readonly confidence: number;
  readonly reasons: readonly string[];
}

/** The rules of one voter: the bar to judge and the previous closed bar of the same series, when adjacent. */
export type VoterRules = (current: Features, previous: Features | undefined) => VoteDecision;

/** An abstention with its reasons. */
export function abstain(reasons: readonly string[]): VoteDecision {
  return { direction: 'neutral', confidence: 0, reasons };
}

/** The result of reading named features: every value, or why some are not available. */
export type FeatureRead<K extends string> =
  | { readonly ready: true; readonly values: Readonly<Record<K, number>> }
  | { readonly ready: false; readonly reasons: readonly string[] };

/**
 * Reads the features `names` maps to (role -> feature name). A `null` value is an indicator still
 * warming up and an absent one a feature nobody computes: both make the read not ready, with a
 * reason per feature. A non-finite number is a broken invariant of the producer.
 */
export function readFeatures<K extends string>(voter: string, features: Features, names: Readonly<Record<K, string>>, prefix = ''): FeatureRead<K> {
  const values: Partial<Record<K, number>> = {};
  const reasons: string[] = [];
  for (const role of Object.keys(names) as K[]) {
    const name = names[role];
    const value = features.values[name];
    if (value === undefined) reasons.push(`${prefix}${name} is not computed upstream`);
    else if (value === null) reasons.push(`warming up: ${prefix}${name} not ready`);
    else if (!Number.isFinite(value)) {
      throw new InvariantError(`${voter}: feature ${quote(name)} is ${quote(value)} on ${describeBar(features)}; features must be finite numbers or null`);
    } else values[role] = value;
  }
  return reasons.length === 0 ? { ready: true, values: values as Record<K, number> } : { ready: false, reasons };
}

/** `binance BTC-USDT 1m bar 2025-01-01T00:00:00.000Z`, for messages. */
export function describeBar(bar: Pick<Features, 'venue' | 'symbol' | 'interval' | 'openTime'>): string {
  return `${bar.venue} ${bar.symbol} ${bar.interval} bar ${new Date(bar.openTime).toISOString()}`;
}

/** `value / full`, clamped to [0, 1]: how far a reading is along the way to full conviction. */
export function ramp(value: number, full: number): number {
  if (!(full > 0)) return value > 0 ? 1 : 0;
  return Math.min(1, Math.max(0, value / full));
}

/** A price-like value: two decimals from 0.1 up (`101.20`, `-0.50`), three significant digits below (`0.0619`, `0.000123`). */
export function formatValue(value: number): string {
  const abs = Math.abs(value);
  return abs >= 0.1 || abs === 0 ? value.toFixed(2) : String(Number(value.toPrecision(3)));
}

/** An oscillator reading on a 0..100 scale: one decimal. */
export function formatLevel(value: number): string {
  return value.toFixed(1);
}

/** A change with its sign: `+4.2`, `-0.8`. */
export function formatChange(value: number, format: (value: number) => string): string {
  return `${value >= 0 ? '+' : ''}${format(value)}`;
}

/** A ratio as a signed percentage, `+1.40%`; three decimals below 0.1%. */
export function formatPercent(ratio: number): string {
  const percent = ratio * 100;
  return `${percent >= 0 ? '+' : ''}${percent.toFixed(Math.abs(percent) < 0.1 ? 3 : 2)}%`;
}

/** `above`, `below` or `at`. */
export function side(value: number, reference: number): 'above' | 'below' | 'at' {
  return value > reference ? 'above' : value < reference ? 'below' : 'at';
}

function seriesKey(features: Features): string {
  return `${features.venue}\u0000${features.symbol}\u0000${features.interval}`;
}

function checkedDecision(voter: string, features: Features, decision: VoteDecision): VoteDecision {
  const { direction, confidence } = decision;
  const valid = Number.isFinite(confidence) && confidence >= 0 && confidence <= 1 && (direction !== 'neutral' || confidence === 0);
  if (!valid) {
    throw new InvariantError(`${voter} decided ${quote(direction)} with confidence ${quote(confidence)} on ${describeBar(features)}; confidence must be in [0, 1] and 0 for neutral`);
  }
  return decision;
}

/**
 * The operator around a voter's rules: exactly one vote per Features record, in order. The
 * previous closed bar of each venue, symbol and interval is kept per subscription and handed to
 * the rules only when it is the bar right before (a missing bar, e.g. across a gap, means no
 * previous). Forming bars are voted on but never become the previous bar.
 */
export function voterOperator(operatorName: string, voter: string, rules: VoterRules): OperatorFunction<Flow<Features>, Flow<Vote>> {
  return flowOperator<Features, Vote>({
    name: operatorName,
    accepts: ['features'],
    setup: (out) => {
      const lastClosed = new Map<string, Features>();
      return {
        next: (features) => {
          const key = seriesKey(features);
          const last = lastClosed.get(key);
          const previous = last !== undefined && last.closeTime + 1 === features.openTime ? last : undefined;
          const decision = checkedDecision(voter, features, rules(features, previous));
          const vote: Vote = Object.freeze({
            type: 'vote',
            venue: features.venue,
            symbol: features.symbol,
            tsEvent: features.tsEvent,
            tsRecv: features.tsRecv,
            voter,
            direction: decision.direction,
            confidence: decision.confidence,
            reasons: Object.freeze([...decision.reasons]),
            interval: features.interval,
            openTime: features.openTime,
            closeTime: features.closeTime,
            features,
          });
          out.next(vote);
          if (features.closed && (last === undefined || features.openTime > last.openTime)) lastClosed.set(key, features);
        },
      };
    },
  });
}

/**
 * Problems for every feature a voter reads (`params[param]`) that the upstream features node does
 * not compute; nothing when the upstream feature list is not known.
 */
export function missingFeatures<P extends Readonly<Record<string, unknown>>>(
  params: P,
  featureParams: readonly (keyof P & string)[],
  inputs: readonly PortInfo[],
): NodeProblem[] {
  const available = inputs[0]?.features;
  if (available === undefined) return [];
  const problems: NodeProblem[] = [];
  for (const param of featureParams) {
    const name = params[param];
    if (typeof name === 'string' && !available.includes(name)) {
      problems.push({
        path: `params.${param}`,
        message: `Feature ${quote(name)} is not computed upstream; available: ${available.length === 0 ? '(none)' : available.join(', ')}`,
      });
    }
  }
  return problems;
}

/** The output port of a voter: the interval and feature list of its input, passed on for checks downstream. */
export function passFeatures(inputs: readonly PortInfo[]): Partial<PortInfo> {
  const input = inputs[0];
  return {
    ...(input?.interval === undefined ? {} : { interval: input.interval }),
    ...(input?.features === undefined ? {} : { features: input.features }),
  };
}
