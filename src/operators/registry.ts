import type { OperatorDefinition } from '../definitions.js';
import { buildCandlesOperator } from './candles/buildCandles.js';
import { resampleCandlesOperator } from './candles/resampleCandles.js';
import { featuresOperator } from './indicators/features.js';
import { riskPlanOperator } from './risk/planRisk.js';
import { selectOperator } from './select.js';
import { meanReversionVoterOperator } from './voting/meanReversionVoter.js';
import { momentumVoterOperator } from './voting/momentumVoter.js';
import { trendVoterOperator } from './voting/trendVoter.js';
import { consensusOperator } from './voting/voteConsensus.js';

/** Every built-in operator, alphabetically by kind. Adding one: a file and a line here. */
export const builtinOperators: readonly OperatorDefinition[] = [
  buildCandlesOperator,
  consensusOperator,
  featuresOperator,
  meanReversionVoterOperator,
  momentumVoterOperator,
  resampleCandlesOperator,
  riskPlanOperator,
  selectOperator,
  trendVoterOperator,
];
