import { createRegistry, type Registry } from '../definitions.js';
import { builtinOperators } from '../operators/registry.js';
import { builtinSinks } from '../sinks/registry.js';
import { builtinSources } from '../sources/registry.js';

/** A fresh registry of every built-in source, operator and sink. */
export function builtinRegistry(): Registry {
  return createRegistry([...builtinSources, ...builtinOperators, ...builtinSinks]);
}
