import type { CatalogEntry } from './describe.js';

/** Catalogs that are not pipeline nodes but appear in `alphaflow list` (indicators). */
export function builtinCatalog(): readonly CatalogEntry[] {
  return [];
}
