import type { OperatorFunction } from 'rxjs';
import { z } from 'zod';
import { defineOperator, type NodeProblem, type PortInfo } from '../../definitions.js';
import { quote } from '../../errors.js';
import type { BoundCounter } from '../../metrics.js';
import { METRIC } from '../../metrics.js';
import type { Consensus, Flow, Signal } from '../../model/index.js';
import { flowOperator } from '../flowOperator.js';
import type { RiskSkipReason } from './buildRiskPlan.js';
import { buildRiskPlan, RISK_SKIP_REASONS } from './buildRiskPlan.js';

export const riskPlanParams = z.strictObject({
  /** Feature holding the ATR the stop distance is derived from. */
  atr: z.string().min(1).default('atr14'),
  /** Stop distance in ATRs. */
  atrMultiplier: z.number().positive().default(1.5),
  /** Take-profit distance over stop distance (reward:risk). */
  riskReward: z.number().positive().default(2),
  /** Account equity, in quote units. */
  equity: z.number().positive().default(10_000),
  /** Fraction of equity lost when the stop is hit. */
  riskPerTrade: z.number().positive().max(1).default(0.01),
  /** Notional at most maxLeverage * equity. */
  maxLeverage: z.number().positive().default(1),
  /** Price grid (e.g. 0.01); prices are not rounded when absent. */
  tickSize: z.number().positive().optional(),
  /** Quantity grid (e.g. 0.00001); the size is not rounded when absent. */
  qtyStep: z.number().positive().optional(),
  /** Consensus confidence below this gets no signal. */
  minConfidence: z.number().min(0).max(1).default(0),
});
export type RiskPlanParams = z.input<typeof riskPlanParams>;

export interface PlanRiskOptions extends RiskPlanParams {
  /**
   * Counters of consensus records that produced no signal, by reason. `no-consensus` counts
   * neutral bars, the common case: in a pipeline it goes to `alphaflow_no_consensus_total`, apart
   * from the skip counter, because it is not lost data.
   */
  readonly skipped?: Readonly<Partial<Record<RiskSkipReason, BoundCounter>>>;
}

/**
 * Turns every long or short consensus into a trade plan: entry at the bar's close, a stop
 * `atrMultiplier` ATRs away, a take profit `riskReward` times the stop distance, and a size that
 * risks `riskPerTrade` of `equity`, capped by `maxLeverage` and rounded to the venue's grid (see
 * {@link buildRiskPlan}). A consensus without a complete plan gives no signal and is counted by
 * reason. Control events pass through in order.
 *
 *   consensus: --a--b--c--|      (a long with ATR, b neutral, c short without ATR)
 *   signals:   --x--------|      (x long; b counted as no-consensus, c as no-atr)
 */
export function planRisk(options: PlanRiskOptions = {}): OperatorFunction<Flow<Consensus>, Flow<Signal>> {
  const { skipped, ...params } = options;
  const rules = riskPlanParams.parse(params);
  return flowOperator<Consensus, Signal>({
    name: 'planRisk',
    accepts: ['consensus'],
    setup: (out) => ({
      next: (consensus) => {
        const plan = buildRiskPlan(consensus, rules);
        if (plan.signal !== undefined) out.next(plan.signal);
        else skipped?.[plan.skipped]?.inc();
      },
    }),
  });
}

function checkRisk(params: z.output<typeof riskPlanParams>, inputs: readonly PortInfo[]): NodeProblem[] {
  const available = inputs[0]?.features;
  if (available === undefined || available.includes(params.atr)) return [];
  return [
    {
      path: 'params.atr',
      message: `Feature ${quote(params.atr)} is not computed upstream; available: ${available.length === 0 ? '(none)' : available.join(', ')}`,
    },
  ];
}

export const riskPlanOperator = defineOperator({
  kind: 'risk-plan',
  summary: 'Signals with entry, ATR stop, reward:risk target and position size from a long or short consensus',
  params: riskPlanParams,
  input: 'consensus',
  output: 'signal',
  check: checkRisk,
  create: (params, ctx) => {
    const counter = ctx.metrics.counter(METRIC.skipped, 'Records an operator could not use');
    // A neutral bar is the normal outcome, not an unusable record: it gets its own counter so the
    // skip counter keeps meaning "a consensus that should have become a signal but could not".
    const neutral = ctx.metrics.counter('alphaflow_no_consensus_total', 'Bars whose consensus was neutral (no trade)');
    const skipped = Object.fromEntries(
      RISK_SKIP_REASONS.map((reason) => [reason, reason === 'no-consensus' ? neutral.bind({ node: ctx.node }) : counter.bind({ node: ctx.node, reason })]),
    );
    return planRisk({ ...params, skipped });
  },
});
