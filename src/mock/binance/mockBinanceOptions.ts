/**
 * The options of {@link startMockBinance}, validated strictly at the boundary (every problem
 * reported at once, with its path), and the timing profiles they start from.
 *
 * `timing: 'production'` gives Binance's values (spot: ping every 20 s, pong within 60 s; USD-M:
 * every 3 min, within 10 min; 24 h maximum age). `timing: 'test'` gives reliability.md §6's fast
 * profile (ping 100 ms, pong timeout 300 ms, maximum age 5 s). Each value can be overridden per
 * market under `spot` and `usdm`.
 */
import { z } from 'zod';
import { ConfigError, quote } from '../../errors.js';
import { startTimeParam } from '../../sources/simulator/marketSimulator.js';
import type { MockClock } from './mockClock.js';
import type { ConnectionSettings } from './mockConnection.js';
import type { SimSymbolOptions } from './simExchange.js';
import { GRID_MS } from './simExchange.js';
import type { MockMarket } from './streamNames.js';
import { parseStreamName } from './streamNames.js';

const int = (name: string, min: number): z.ZodNumber =>
  z
    .number({ error: (issue) => `${name} ${quote(issue.input)} must be a number` })
    .int({ error: (issue) => `${name} ${quote(issue.input)} must be an integer` })
    .min(min, { error: (issue) => `${name} ${quote(issue.input)} must be >= ${min}` });

const positiveNumber = (name: string): z.ZodNumber =>
  z
    .number({ error: (issue) => `${name} ${quote(issue.input)} must be a number` })
    .positive({ error: (issue) => `${name} ${quote(issue.input)} must be > 0` });

const closeCode = z
  .number()
  .int()
  .refine((code) => code === 1000 || (code >= 1001 && code <= 1014 && ![1004, 1005, 1006].includes(code)) || (code >= 3000 && code <= 4999), {
    error: (issue) => `maxAgeCloseCode ${quote(issue.input)} cannot be sent in a close frame: use 1000, 1001, 1011 or 3000-4999`,
  });

/** Connection rules of one market; unset values come from the timing profile. */
export const marketOverridesParams = z.strictObject({
  pingIntervalMs: int('pingIntervalMs', 0).optional(),
  pongTimeoutMs: int('pongTimeoutMs', 1).optional(),
  /** Connection lifetime; null for none. */
  maxAgeMs: int('maxAgeMs', 1).nullable().optional(),
  /** Send `serverShutdown` this long before the max-age close; null for no notice. */
  shutdownNoticeMs: int('shutdownNoticeMs', 0).nullable().optional(),
  maxAgeCloseCode: closeCode.optional(),
  /** Inbound messages per second (pings, unsolicited pongs, control messages). */
  controlRateLimit: int('controlRateLimit', 1).optional(),
  maxStreams: int('maxStreams', 1).optional(),
  /** REST REQUEST_WEIGHT per minute. */
  weightLimit: int('weightLimit', 1).optional(),
  /** WebSocket upgrades allowed per `connectionWindowMs` (Binance: 300 per 5 minutes); more get 429. */
  connectionAttempts: int('connectionAttempts', 1).optional(),
  connectionWindowMs: int('connectionWindowMs', 1).optional(),
  /** Port to listen on (0: any free one). */
  port: int('port', 0).max(65_535).optional(),
  /** Firehose benchmarks: frames of these streams made before the server opens (see `prerender.ts`). */
  prerender: z
    .strictObject({
      streams: z.array(z.string()).min(1, { error: 'prerender.streams must list at least one stream' }),
      frames: int('prerender.frames', 1),
    })
    .optional(),
});

export const mockBinanceParams = z.strictObject({
  /** Symbols listed on both markets, canonical or Binance spelling; an object adds simulator params. */
  symbols: z
    .array(z.union([z.string(), z.looseObject({ symbol: z.string() })]))
    .min(1, { error: 'symbols must list at least one symbol' })
    .default(['BTC-USDT']),
  seed: int('seed', 0).max(Number.MAX_SAFE_INTEGER).default(42),
  mode: z.enum(['realtime', 'firehose', 'manual']).default('realtime'),
  /** Realtime: simulated ms per clock ms. */
  speed: positiveNumber('speed').default(1),
  /** Realtime: period of the driving timer, ms. */
  tickMs: int('tickMs', 1).default(10),
  /** Start of the simulated history (default: the clock's now minus `warmupMs`). */
  startTime: startTimeParam.optional(),
  /** Simulated time generated before the servers open, so REST has history. */
  warmupMs: int('warmupMs', 0).default(60_000),
  timing: z.enum(['production', 'test']).default('production'),
  spot: marketOverridesParams.default({}),
  usdm: marketOverridesParams.default({}),
  book: z
    .strictObject({
      levels: int('book.levels', 1).max(5_000).default(100),
      updatesPerSecond: z.number().nonnegative().default(10),
      gapTicks: positiveNumber('book.gapTicks').optional(),
      medianQty: positiveNumber('book.medianQty').optional(),
    })
    .default({ levels: 100, updatesPerSecond: 10 }),
  liquidationsPerHour: z.number().nonnegative().default(60),
  fundingIntervalHours: positiveNumber('fundingIntervalHours').default(8),
  /** Overrides every kline stream's push cadence (a multiple of 50 ms). */
  klineUpdateMs: int('klineUpdateMs', GRID_MS)
    .refine((ms) => ms % GRID_MS === 0, { error: (issue) => `klineUpdateMs ${quote(issue.input)} must be a multiple of ${GRID_MS}` })
    .optional(),
  /** What USD-M's un-routed `/ws` and `/stream` serve. */
  futuresLegacyRoutes: z.enum(['all', 'public', 'none']).default('public'),
  /** Trades kept per symbol. */
  maxHistory: int('maxHistory', 0).optional(),
  /** Firehose: bytes queued for one client before waiting for it. */
  highWaterMarkBytes: int('highWaterMarkBytes', 1).default(1024 * 1024),
  /** Realtime and manual: a client this far behind is cut. */
  maxBufferedBytes: int('maxBufferedBytes', 1).default(64 * 1024 * 1024),
  /** Largest inbound WebSocket message, bytes. */
  maxPayload: int('maxPayload', 1).default(64 * 1024),
  host: z.string().min(1).default('127.0.0.1'),
}).superRefine((params, ctx) => {
  for (const market of ['spot', 'usdm'] as const) {
    const prerender = params[market].prerender;
    if (prerender === undefined) continue;
    if (params.mode !== 'firehose') {
      ctx.addIssue({ code: 'custom', path: [market, 'prerender'], message: `prerender needs mode "firehose", not ${quote(params.mode)}` });
    }
    prerender.streams.forEach((name, index) => {
      const spec = parseStreamName(market, name);
      if (typeof spec === 'string') ctx.addIssue({ code: 'custom', path: [market, 'prerender', 'streams', index], message: spec });
    });
  }
});

/** The options as a caller writes them. */
export type MockBinanceOptions = Omit<z.input<typeof mockBinanceParams>, 'symbols'> & {
  readonly symbols?: readonly (string | SimSymbolOptions)[];
  /** Wall clock for pacing and rate windows (default the system clock). */
  readonly clock?: MockClock;
};

export type MockBinanceParams = z.output<typeof mockBinanceParams>;

/** Connection settings and REST weight limit of one market. */
export interface MarketSettings {
  readonly connection: ConnectionSettings;
  /** Streams to prerender and how many frames (firehose benchmarks). */
  readonly prerender: { readonly streams: readonly string[]; readonly frames: number } | undefined;
  readonly weightLimit: number;
  readonly connectionAttempts: number;
  readonly connectionWindowMs: number;
  readonly port: number;
}

/** Parses the options; throws a {@link ConfigError} listing every problem. */
export function parseMockBinanceOptions(options: MockBinanceOptions): MockBinanceParams {
  const plain: Record<string, unknown> = { ...options };
  delete plain.clock;
  const parsed = mockBinanceParams.safeParse(plain);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
      { file: 'Mock Binance options' },
    );
  }
  return parsed.data;
}

const PRODUCTION: Record<MockMarket, Omit<ConnectionSettings, 'maxBufferedBytes'> & { weightLimit: number }> = {
  spot: { pingIntervalMs: 20_000, pongTimeoutMs: 60_000, maxAgeMs: 86_400_000, shutdownNoticeMs: undefined, maxAgeCloseCode: 1000, controlRateLimit: 5, maxStreams: 1024, weightLimit: 6_000 },
  usdm: { pingIntervalMs: 180_000, pongTimeoutMs: 600_000, maxAgeMs: 86_400_000, shutdownNoticeMs: undefined, maxAgeCloseCode: 1000, controlRateLimit: 10, maxStreams: 1024, weightLimit: 2_400 },
};
const TEST_TIMING = { pingIntervalMs: 100, pongTimeoutMs: 300, maxAgeMs: 5_000 } as const;

/** The settings of one market: profile, then overrides. */
export function marketSettings(params: MockBinanceParams, market: MockMarket): MarketSettings {
  const base = { ...PRODUCTION[market], ...(params.timing === 'test' ? TEST_TIMING : {}) };
  const o = params[market];
  return {
    connection: {
      pingIntervalMs: o.pingIntervalMs ?? base.pingIntervalMs,
      pongTimeoutMs: o.pongTimeoutMs ?? base.pongTimeoutMs,
      maxAgeMs: o.maxAgeMs === null ? undefined : (o.maxAgeMs ?? base.maxAgeMs),
      shutdownNoticeMs: o.shutdownNoticeMs === null ? undefined : (o.shutdownNoticeMs ?? base.shutdownNoticeMs),
      maxAgeCloseCode: o.maxAgeCloseCode ?? base.maxAgeCloseCode,
      controlRateLimit: o.controlRateLimit ?? base.controlRateLimit,
      maxStreams: o.maxStreams ?? base.maxStreams,
      maxBufferedBytes: params.mode === 'firehose' ? Number.POSITIVE_INFINITY : params.maxBufferedBytes,
    },
    prerender: o.prerender,
    weightLimit: o.weightLimit ?? base.weightLimit,
    connectionAttempts: o.connectionAttempts ?? 300,
    connectionWindowMs: o.connectionWindowMs ?? 300_000,
    port: o.port ?? 0,
  };
}
