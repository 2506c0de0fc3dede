/**
 * Candle intervals: `<n><unit>` with unit s, m, h or d, from 1s to 1d.
 *
 * Buckets are aligned to the Unix epoch in UTC, as Binance aligns its klines:
 * the bucket of `t` opens at `t - (t mod intervalMs)`.
 */

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const INTERVAL_PATTERN = /^([1-9][0-9]*)([smhd])$/;

export const MIN_INTERVAL_MS = 1_000;
export const MAX_INTERVAL_MS = 86_400_000;

/** An interval such as `1m`, `15m`, `4h`. */
export type Interval = string;

/** Milliseconds in `interval`, or `undefined` when it is not a valid interval from 1s to 1d. */
export function tryIntervalMs(interval: string): number | undefined {
  const match = INTERVAL_PATTERN.exec(interval);
  if (match === null) return undefined;
  const unit = match[2] as keyof typeof UNIT_MS;
  const ms = Number(match[1]) * UNIT_MS[unit];
  return ms >= MIN_INTERVAL_MS && ms <= MAX_INTERVAL_MS ? ms : undefined;
}

/** Milliseconds in `interval`; throws a RangeError naming the value when it is not valid. */
export function intervalMs(interval: string): number {
  const ms = tryIntervalMs(interval);
  if (ms === undefined) {
    throw new RangeError(`Interval "${interval}" is not valid: use <n>s, <n>m, <n>h or <n>d between 1s and 1d (e.g. 1m, 15m, 4h)`);
  }
  return ms;
}

/** Open time of the bucket of length `ms` that contains `time` (epoch ms, UTC aligned). */
export function bucketStart(time: number, ms: number): number {
  return time - (((time % ms) + ms) % ms);
}

/** The shortest canonical spelling of an interval given in ms (60000 -> "1m"). */
export function formatInterval(ms: number): Interval {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  throw new RangeError(`Interval of ${ms} ms is not a whole number of seconds`);
}
