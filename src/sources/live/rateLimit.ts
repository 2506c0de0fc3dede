/**
 * Limits every live source shares with the venue (reliability.md §5 rule 3):
 *
 * - {@link AttemptBudget}: connection attempts per sliding window (Binance: 300 per 5 minutes per
 *   IP). Every connection to a venue in one pipeline run draws from the same budget.
 * - {@link ControlPacer}: inbound control messages per connection (Binance spot 5/s, futures
 *   10/s; a ping and a pong count too). Messages leave at an even spacing, never in a burst, so
 *   no one-second window ever holds more than the limit.
 */
import { quote } from '../../errors.js';
import type { Metrics } from '../../metrics.js';

export class AttemptBudget {
  readonly limit: number;
  readonly windowMs: number;
  /** Times of the attempts inside the window, oldest first. */
  readonly #times: number[] = [];

  constructor(limit: number, windowMs: number) {
    if (!(Number.isInteger(limit) && limit > 0)) throw new RangeError(`connection budget limit ${quote(limit)} must be a positive integer`);
    if (!(windowMs > 0)) throw new RangeError(`connection budget window ${quote(windowMs)} must be a positive number of milliseconds`);
    this.limit = limit;
    this.windowMs = windowMs;
  }

  /** Milliseconds until an attempt is allowed at `now` (0: now). Does not take the attempt. */
  waitMs(now: number): number {
    this.#expire(now);
    if (this.#times.length < this.limit) return 0;
    return (this.#times[0] as number) + this.windowMs - now;
  }

  /** Records an attempt at `now`. */
  take(now: number): void {
    this.#expire(now);
    this.#times.push(now);
  }

  /** Attempts inside the window at `now`. */
  used(now: number): number {
    this.#expire(now);
    return this.#times.length;
  }

  #expire(now: number): void {
    const times = this.#times;
    let drop = 0;
    while (drop < times.length && (times[drop] as number) <= now - this.windowMs) drop++;
    if (drop > 0) times.splice(0, drop);
  }
}

/** Budgets per pipeline run and venue: keyed by the run's Metrics, so two runs never share one. */
const budgets = new WeakMap<Metrics, Map<string, AttemptBudget>>();

/** The attempt budget of `venue` in the run that owns `metrics`, created on first use. */
export function attemptBudgetFor(metrics: Metrics, venue: string, limit: number, windowMs: number): AttemptBudget {
  let byVenue = budgets.get(metrics);
  if (byVenue === undefined) {
    byVenue = new Map();
    budgets.set(metrics, byVenue);
  }
  let budget = byVenue.get(venue);
  if (budget === undefined) {
    budget = new AttemptBudget(limit, windowMs);
    byVenue.set(venue, budget);
  }
  return budget;
}

/** A timer host, so tests and the pacer share one notion of scheduling. */
export interface Timers {
  /** Monotonic milliseconds. */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Real timers: sockets live in real time, whatever scheduler the pipeline runs on (a virtual-time
 * scheduler cannot move a network peer), so the connection layer is the one place that uses them.
 */
export const REAL_TIMERS: Timers = {
  now: () => performance.now(),
  // eslint-disable-next-line no-restricted-globals -- network timeouts run in real time (see above)
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => { clearTimeout(handle as ReturnType<typeof setTimeout>); },
};

/**
 * Sends messages at most `perSecond` per second, evenly spaced. `send` returns false when the
 * socket is gone; the queue is then kept for the caller to {@link clear} or re-target.
 */
export class ControlPacer {
  readonly spacingMs: number;
  readonly #timers: Timers;
  readonly #queue: (() => void)[] = [];
  #last = Number.NEGATIVE_INFINITY;
  #timer: unknown;
  /** Highest number of messages sent within any one-second window, for reports and tests. */
  #recent: number[] = [];
  #peak = 0;

  constructor(perSecond: number, timers: Timers = REAL_TIMERS) {
    if (!(perSecond > 0 && Number.isFinite(perSecond))) throw new RangeError(`control message rate ${quote(perSecond)} must be a positive number per second`);
    // 10 % under the limit: frames sent evenly can arrive bunched (scheduling, Nagle, a busy
    // event loop at either end), and the venue counts arrivals.
    this.spacingMs = 1000 / perSecond / 0.9;
    this.#timers = timers;
  }

  /** Messages waiting. */
  get pending(): number {
    return this.#queue.length;
  }

  /** The most messages sent in any one-second window so far. */
  get peakPerSecond(): number {
    return this.#peak;
  }

  /**
   * Queues `send`; it runs when the spacing allows. `urgent` (pings) goes before queued requests:
   * liveness must not wait behind a long resubscription.
   */
  enqueue(send: () => void, urgent = false): void {
    if (urgent) this.#queue.unshift(send);
    else this.#queue.push(send);
    this.#pump();
  }

  /** Drops everything queued (the socket closed: the next one resubscribes from the active set). */
  clear(): void {
    this.#queue.length = 0;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #pump(): void {
    if (this.#timer !== undefined) return;
    while (this.#queue.length > 0) {
      const now = this.#timers.now();
      const wait = this.#last + this.spacingMs - now;
      if (wait > 0) {
        this.#timer = this.#timers.setTimeout(() => {
          this.#timer = undefined;
          this.#pump();
        }, wait);
        return;
      }
      this.#last = now;
      this.#count(now);
      const send = this.#queue.shift() as () => void;
      send();
    }
  }

  #count(now: number): void {
    const recent = this.#recent;
    recent.push(now);
    while (recent.length > 0 && (recent[0] as number) <= now - 1000) recent.shift();
    if (recent.length > this.#peak) this.#peak = recent.length;
  }
}
