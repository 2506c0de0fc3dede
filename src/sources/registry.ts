import type { SourceDefinition } from '../definitions.js';
import { binanceKlinesCsvSource } from './replay/klinesCsv.js';

/** Every built-in source, alphabetically by kind. Adding one: a file and a line here. */
export const builtinSources: readonly SourceDefinition[] = [binanceKlinesCsvSource];
