/**
 * The trade plan for one consensus: the pure part of {@link planRisk}.
 */
import { InvariantError, quote } from '../../errors.js';
import type { Consensus, Signal } from '../../model/index.js';
import { ceilToStep, floorToStep } from './stepRounding.js';

/** Why a consensus produced no signal. */
export const RISK_SKIP_REASONS = [
  /** The consensus is neutral: the common case, not lost data. */
  'no-consensus',
  /** The consensus confidence is below `minConfidence`. */
  'low-confidence',
  /** The ATR feature is missing, still warming up, not positive, or too small to move the stop off the entry. */
  'no-atr',
  /** A long stop would sit at or below zero. */
  'stop-beyond-zero',
  /** The take profit would sit at or below zero (a short), or on the entry after rounding. */
  'no-target',
  /** The position size rounds down to zero. */
  'size-zero',
] as const;
export type RiskSkipReason = (typeof RISK_SKIP_REASONS)[number];

/** How a plan is built; see `riskPlanParams` for the defaults. */
export interface RiskRules {
  /** Feature holding the ATR. */
  readonly atr: string;
  /** Stop distance in ATRs. */
  readonly atrMultiplier: number;
  /** Take-profit distance over stop distance. */
  readonly riskReward: number;
  /** Account equity, in quote units. */
  readonly equity: number;
  /** Fraction of equity lost when the stop is hit. */
  readonly riskPerTrade: number;
  /** Notional at most `maxLeverage * equity`. */
  readonly maxLeverage: number;
  /** Price grid; prices are not rounded when absent. */
  readonly tickSize?: number | undefined;
  /** Quantity grid; the size is not rounded when absent. */
  readonly qtyStep?: number | undefined;
  /** Consensus confidence below this gets no signal. */
  readonly minConfidence: number;
}

/** A signal, or the reason there is none. */
export type RiskPlan = { readonly signal: Signal; readonly skipped?: undefined } | { readonly signal?: undefined; readonly skipped: RiskSkipReason };

function skip(reason: RiskSkipReason): RiskPlan {
  return { skipped: reason };
}

/**
 * Builds the signal for a long or short consensus:
 *
 * - entry: the close of the bar the consensus was reached on;
 * - stop loss: `entry -/+ atrMultiplier * ATR`, rounded to `tickSize` away from the entry, so
 *   the risk is never understated;
 * - take profit: `entry +/- riskReward * |entry - stop|`, rounded to `tickSize` toward the entry,
 *   so the reward is never overstated;
 * - size: `equity * riskPerTrade / |entry - stop|`, capped at `maxLeverage * equity / entry`, and
 *   rounded down to `qtyStep`;
 * - riskReward, notional (`size * entry`) and riskAmount (`size * |entry - stop|`) are computed
 *   from the rounded values, so `riskAmount <= equity * riskPerTrade`.
 *
 * Without a complete plan there is no signal, only the reason (see {@link RISK_SKIP_REASONS}).
 */
export function buildRiskPlan(consensus: Consensus, rules: RiskRules): RiskPlan {
  const { direction } = consensus;
  if (direction === 'neutral') return skip('no-consensus');
  if (consensus.confidence < rules.minConfidence) return skip('low-confidence');
  const atr = consensus.features.values[rules.atr];
  if (typeof atr === 'number' && Number.isNaN(atr)) {
    throw new InvariantError(
      `planRisk: feature ${quote(rules.atr)} is ${quote(atr)} on ${consensus.venue} ${consensus.symbol} ${consensus.interval} bar ${new Date(consensus.openTime).toISOString()}`,
    );
  }
  if (atr === undefined || atr === null || !(atr > 0) || !Number.isFinite(atr)) return skip('no-atr');

  const { tickSize, qtyStep } = rules;
  const entry = consensus.features.candle.close;
  const sign = direction === 'long' ? 1 : -1;
  // Rounding a long's prices down moves its stop away from the entry and its target toward it;
  // for a short, rounding up does the same.
  const toTick = (price: number): number => (tickSize === undefined ? price : sign > 0 ? floorToStep(price, tickSize) : ceilToStep(price, tickSize));

  const stopLoss = toTick(entry - sign * rules.atrMultiplier * atr);
  if (!(stopLoss > 0)) return skip('stop-beyond-zero');
  const risk = Math.abs(entry - stopLoss);
  if (!(risk > 0)) return skip('no-atr');
  const takeProfit = toTick(entry + sign * rules.riskReward * risk);
  if (!(takeProfit > 0) || sign * (takeProfit - entry) <= 0) return skip('no-target');

  const bySize = (rules.equity * rules.riskPerTrade) / risk;
  const byLeverage = (rules.maxLeverage * rules.equity) / entry;
  const unrounded = Math.min(bySize, byLeverage);
  const size = qtyStep === undefined ? unrounded : floorToStep(unrounded, qtyStep);
  if (!(size > 0)) return skip('size-zero');

  const signal: Signal = Object.freeze({
    type: 'signal',
    venue: consensus.venue,
    symbol: consensus.symbol,
    tsEvent: consensus.tsEvent,
    tsRecv: consensus.tsRecv,
    id: `${consensus.venue}:${consensus.symbol}:${consensus.interval}:${String(consensus.openTime)}:${direction}`,
    interval: consensus.interval,
    openTime: consensus.openTime,
    closeTime: consensus.closeTime,
    direction,
    confidence: consensus.confidence,
    entry,
    stopLoss,
    takeProfit,
    riskReward: Math.abs(takeProfit - entry) / risk,
    size,
    notional: size * entry,
    riskAmount: size * risk,
    atr,
    consensus: Object.freeze({ agreement: consensus.agreement, agreeing: consensus.agreeing, quorum: consensus.quorum, reason: consensus.reason }),
    votes: consensus.votes,
  });
  return { signal };
}
