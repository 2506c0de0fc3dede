/**
 * Locates the shared market data that tests read in place from `../shared/data`. Under CI
 * (`CI` set) missing data is a failure, never a skip; locally the dependent tests are skipped.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED_DATA = resolve(REPO_ROOT, '..', 'shared', 'data');

const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

/** True when `relative` exists under the shared data folder; throws under CI when it does not. */
export function hasSharedData(...relative: string[]): boolean {
  const missing = relative.filter((file) => !existsSync(join(SHARED_DATA, file)));
  if (missing.length === 0) return true;
  if (inCi) {
    throw new Error(`Shared test data is missing under ${SHARED_DATA}: ${missing.join(', ')}. CI needs ../shared beside the clone.`);
  }
  return false;
}

/** Absolute path of a shared data file. */
export function sharedData(relative: string): string {
  return join(SHARED_DATA, relative);
}
