import { describe, expect, it } from 'vitest';
import { bucketStart, formatInterval, intervalMs, tryIntervalMs } from '../../src/model/index.js';

describe('intervals', () => {
  it.each([
    ['1s', 1_000],
    ['1m', 60_000],
    ['15m', 900_000],
    ['4h', 14_400_000],
    ['1d', 86_400_000],
    ['90m', 5_400_000],
  ])('does read %s as %d ms', (text, ms) => {
    expect(intervalMs(text)).toBe(ms);
    expect(intervalMs(formatInterval(ms))).toBe(ms);
  });

  it('does reject intervals outside 1s..1d and malformed ones, naming the value', () => {
    for (const text of ['0m', '2d', '25h', '1w', 'm1', '1.5m', '', ' 1m']) expect(tryIntervalMs(text), text).toBeUndefined();
    expect(() => intervalMs('2d')).toThrow('Interval "2d" is not valid');
  });

  it('does align buckets to the epoch in UTC, also before 1970', () => {
    expect(bucketStart(Date.UTC(2025, 0, 1, 3, 7, 59), 300_000)).toBe(Date.UTC(2025, 0, 1, 3, 5));
    expect(bucketStart(-1, 60_000)).toBe(-60_000);
  });
});
