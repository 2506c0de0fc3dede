import type { OperatorDefinition } from '../definitions.js';
import { buildCandlesOperator } from './candles/buildCandles.js';
import { selectOperator } from './select.js';

/** Every built-in operator, alphabetically by kind. Adding one: a file and a line here. */
export const builtinOperators: readonly OperatorDefinition[] = [buildCandlesOperator, selectOperator];
