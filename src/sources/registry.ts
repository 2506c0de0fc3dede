import type { SourceDefinition } from '../definitions.js';

/** Every built-in source, alphabetically by kind. Adding one: a file and a line here. */
export const builtinSources: readonly SourceDefinition[] = [];
