/**
 * Reconnect delays: full-jitter exponential backoff (reliability.md §5 rule 2).
 *
 * The n-th consecutive failure waits `random(0, min(cap, base * 2^n))`. Full jitter spreads the
 * reconnects of many sockets dropped at once (a venue restart) over the whole window instead of
 * synchronising them. A connection that stays healthy for `resetAfterMs` starts again from `base`.
 * A `Retry-After` from the server is a floor on the next delay, never shortened by the jitter.
 */
import { quote } from '../../errors.js';

export interface BackoffPolicy {
  /** First window, ms (production 500, fast test profile 50). */
  readonly baseMs: number;
  /** Largest window, ms (production 30 000, fast test profile 1 000). */
  readonly capMs: number;
  /** A connection live this long without failing resets the attempt count, ms. */
  readonly resetAfterMs: number;
}

/** Throws a RangeError naming the bad field: `cap < base` and non-positive values are config mistakes. */
export function checkBackoffPolicy(policy: BackoffPolicy): void {
  if (!(policy.baseMs > 0 && Number.isFinite(policy.baseMs))) throw new RangeError(`backoff baseMs ${quote(policy.baseMs)} must be a positive number of milliseconds`);
  if (!(policy.capMs >= policy.baseMs && Number.isFinite(policy.capMs))) {
    throw new RangeError(`backoff capMs ${quote(policy.capMs)} must be at least baseMs ${quote(policy.baseMs)}`);
  }
  if (!(policy.resetAfterMs >= 0)) throw new RangeError(`backoff resetAfterMs ${quote(policy.resetAfterMs)} must be a non-negative number of milliseconds`);
}

export class Backoff {
  readonly policy: BackoffPolicy;
  readonly #random: () => number;
  #failures = 0;
  #healthySince: number | undefined;

  constructor(policy: BackoffPolicy, random: () => number = Math.random) {
    checkBackoffPolicy(policy);
    this.policy = policy;
    this.#random = random;
  }

  /** Consecutive failures since the last reset. */
  get failures(): number {
    return this.#failures;
  }

  /** The upper end of the window the next delay is drawn from. */
  window(): number {
    // 2^n overflows to Infinity for large n; min() then gives the cap, as it should.
    return Math.min(this.policy.capMs, this.policy.baseMs * 2 ** this.#failures);
  }

  /**
   * The delay before the next attempt, ms, and counts a failure. `retryAfterMs` (from a
   * `Retry-After` header) is a floor.
   */
  next(retryAfterMs = 0): number {
    const delay = this.#random() * this.window();
    this.#failures++;
    this.#healthySince = undefined;
    return Math.max(delay, retryAfterMs);
  }

  /** The connection became healthy at `now` (monotonic ms). */
  healthy(now: number): void {
    this.#healthySince ??= now;
  }

  /** Resets the attempt count when the connection has been healthy for `resetAfterMs` at `now`. */
  check(now: number): void {
    if (this.#healthySince !== undefined && now - this.#healthySince >= this.policy.resetAfterMs) this.#failures = 0;
  }

  /** Forgets all failures (a user-initiated restart). */
  reset(): void {
    this.#failures = 0;
    this.#healthySince = undefined;
  }
}

/**
 * Milliseconds to wait from a `Retry-After` header value: delta-seconds or an HTTP date.
 * Undefined when absent or unreadable (the caller then uses its own backoff).
 */
export function retryAfterMs(header: string | readonly string[] | null | undefined, nowEpochMs: number): number | undefined {
  const value = typeof header === 'string' ? header : header?.[0];
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^[0-9]+(\.[0-9]+)?$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowEpochMs);
}
