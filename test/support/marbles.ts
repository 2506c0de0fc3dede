/**
 * The one place rxjs-marbles is wired to vitest (STYLE.md R9). Tests import `marbles` from here
 * only, so the library can be swapped for a TestScheduler shim in this file alone.
 */
import { configure } from 'rxjs-marbles';
import { expect } from 'vitest';

export const { marbles } = configure({
  assertDeepEqual: (actual: unknown, expected: unknown) => {
    expect(actual).toStrictEqual(expected);
  },
  frameworkMatcher: true,
});
