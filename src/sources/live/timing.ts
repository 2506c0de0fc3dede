/**
 * Timing of live connections. Production values follow the venues' documented limits; the fast
 * profile (reliability.md §6) scales them down so that fault tests on loopback run in seconds.
 * Every value is a param of the live sources, so users can tune them too.
 */
import { z } from 'zod';
import type { BackoffPolicy } from './backoff.js';

export interface ConnectionTiming {
  /** How often we send our own ping, ms. */
  readonly pingIntervalMs: number;
  /** A ping not answered within this is a dead connection (half-open link), ms. */
  readonly pongTimeoutMs: number;
  /** The WebSocket handshake must finish within this, ms. */
  readonly connectTimeoutMs: number;
  /** A subscribe request not acknowledged within this is sent again, ms. */
  readonly ackTimeoutMs: number;
  /** Sends of one subscribe request before its streams are reported as failed. */
  readonly maxSubscribeAttempts: number;
  /** Planned renewal (make-before-break) this long after a socket opened, ms; 0 disables. */
  readonly renewAfterMs: number;
  /** During a renewal, the new socket takes over at the latest this long after its subscriptions are acknowledged, ms. */
  readonly renewSettleMs: number;
  /** Factor on each stream's normal stall deadline (1 in production; the fast profile scales them down). */
  readonly stallScale: number;
  /** Consecutive failed attempts after which the connection reports `degraded` (it keeps trying). */
  readonly degradedAfterFailures: number;
  readonly backoff: BackoffPolicy;
}

export const PRODUCTION_TIMING: ConnectionTiming = {
  pingIntervalMs: 30_000,
  pongTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  ackTimeoutMs: 5_000,
  maxSubscribeAttempts: 3,
  // Binance closes every connection at 24 h: renew an hour before.
  renewAfterMs: 23 * 3_600_000,
  renewSettleMs: 5_000,
  stallScale: 1,
  degradedAfterFailures: 5,
  backoff: { baseMs: 500, capMs: 30_000, resetAfterMs: 60_000 },
};

/**
 * reliability.md §6: pong timeout 300 ms, stream idle 500 ms, backoff 50 ms / 1 s. Pings every
 * 250 ms rather than 100: a quiet Binance spot connection may send 5 control messages a second,
 * pings included.
 */
export const FAST_TIMING: ConnectionTiming = {
  pingIntervalMs: 250,
  pongTimeoutMs: 300,
  connectTimeoutMs: 1_000,
  ackTimeoutMs: 300,
  maxSubscribeAttempts: 3,
  // The fast profile's maximum connection age is 5 s (reliability.md §6): renew a second before.
  renewAfterMs: 4_000,
  renewSettleMs: 300,
  stallScale: 0.25,
  degradedAfterFailures: 5,
  backoff: { baseMs: 50, capMs: 1_000, resetAfterMs: 2_000 },
};

const ms = z.number().nonnegative();
const positiveMs = z.number().positive();

/** The `timing` param of live sources: a profile name, then overrides. */
export const timingParam = z
  .strictObject({
    profile: z.enum(['production', 'fast']).default('production').describe('`fast` is the loopback test profile of reliability.md §6'),
    pingIntervalMs: positiveMs.optional(),
    pongTimeoutMs: positiveMs.optional(),
    connectTimeoutMs: positiveMs.optional(),
    ackTimeoutMs: positiveMs.optional(),
    maxSubscribeAttempts: z.number().int().positive().optional(),
    renewAfterMs: ms.optional().describe('0 disables planned renewal'),
    renewSettleMs: ms.optional(),
    stallScale: positiveMs.optional(),
    degradedAfterFailures: z.number().int().positive().optional(),
    backoffBaseMs: positiveMs.optional(),
    backoffCapMs: positiveMs.optional(),
    backoffResetAfterMs: ms.optional(),
  })
  .superRefine((value, ctx) => {
    const base = value.backoffBaseMs ?? (value.profile === 'fast' ? FAST_TIMING : PRODUCTION_TIMING).backoff.baseMs;
    const cap = value.backoffCapMs ?? (value.profile === 'fast' ? FAST_TIMING : PRODUCTION_TIMING).backoff.capMs;
    if (cap < base) ctx.addIssue({ code: 'custom', path: ['backoffCapMs'], message: `backoffCapMs ${cap} is below backoffBaseMs ${base}` });
  })
  .default({ profile: 'production' });

export type TimingParam = z.output<typeof timingParam>;

/** The resolved timing of a `timing` param. */
export function resolveTiming(param: TimingParam): ConnectionTiming {
  const base = param.profile === 'fast' ? FAST_TIMING : PRODUCTION_TIMING;
  return {
    pingIntervalMs: param.pingIntervalMs ?? base.pingIntervalMs,
    pongTimeoutMs: param.pongTimeoutMs ?? base.pongTimeoutMs,
    connectTimeoutMs: param.connectTimeoutMs ?? base.connectTimeoutMs,
    ackTimeoutMs: param.ackTimeoutMs ?? base.ackTimeoutMs,
    maxSubscribeAttempts: param.maxSubscribeAttempts ?? base.maxSubscribeAttempts,
    renewAfterMs: param.renewAfterMs ?? base.renewAfterMs,
    renewSettleMs: param.renewSettleMs ?? base.renewSettleMs,
    stallScale: param.stallScale ?? base.stallScale,
    degradedAfterFailures: param.degradedAfterFailures ?? base.degradedAfterFailures,
    backoff: {
      baseMs: param.backoffBaseMs ?? base.backoff.baseMs,
      capMs: param.backoffCapMs ?? base.backoff.capMs,
      resetAfterMs: param.backoffResetAfterMs ?? base.backoff.resetAfterMs,
    },
  };
}
