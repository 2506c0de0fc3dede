import { builtinIndicators } from '../operators/indicators/registry.js';
import type { CatalogEntry } from './describe.js';

/** Catalogs that are not pipeline nodes but appear in `alphaflow list`: the indicators of `features`. */
export function builtinCatalog(): readonly CatalogEntry[] {
  return builtinIndicators.map((indicator) => ({ kind: indicator.kind, summary: indicator.summary, params: indicator.params }));
}
