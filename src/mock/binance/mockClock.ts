/**
 * The mock's notion of "now" for wall-clock decisions (real-time pacing, rate-limit windows, REST
 * weight minutes, connection timestamps). Tests inject their own; timers stay real, since mock
 * timers do not move socket I/O (reliability.md §6, Clocks).
 */
export interface MockClock {
  /** Epoch ms. */
  now(): number;
}

/** The system clock. */
export const systemClock: MockClock = Object.freeze({ now: () => Date.now() });
