/**
 * What every source, operator and sink receives from its host: logger, scheduler, counters and
 * the I/O edges. Nothing here is module-level: two pipelines in one process get two contexts.
 */
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { Metrics } from './metrics.js';

export interface NodeContext {
  /** Pipeline name, for logs. */
  readonly pipeline: string;
  /** Node id in the pipeline; empty when a unit is used directly as a library. */
  readonly node: string;
  /** Ids of the upstream nodes, in `from` order; empty when used as a library. */
  readonly inputs: readonly string[];
  /** Child logger bound to pipeline, node and kind. Logs go to stderr. */
  readonly logger: Logger;
  /** The only clock: `scheduler.now()` for receive times, and for pacing and timers. */
  readonly scheduler: SchedulerLike;
  /** Counters of this pipeline run. */
  readonly metrics: Metrics;
  /** Directory that relative paths in params resolve against (the config file's directory). */
  readonly baseDir: string;
  /** Where console output goes (stdout by default). */
  readonly stdout: Writable;
  /** Environment variables (secrets come from here, never from config files). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface LoggerSettings {
  readonly level?: LoggerOptions['level'];
  /** Human-readable lines instead of JSON (default: when stderr is a TTY). */
  readonly pretty?: boolean;
  /** Where to write; stderr by default. */
  readonly destination?: Writable;
}

/** Paths of secret-bearing params, redacted wherever node params are logged. */
export const REDACT_PATHS = [
  'params.apiKey',
  'params.apiSecret',
  'params.secret',
  'params.token',
  'params.url',
  'params.headers.authorization',
  'params.headers.Authorization',
];

/** The root logger: JSON (or pretty on a TTY) to stderr, with secret params redacted. */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: null,
  };
  if (settings.destination !== undefined) return pino(options, settings.destination);
  const pretty = settings.pretty ?? process.stderr.isTTY;
  return pino(options, pretty ? prettyStderr() : pino.destination({ fd: 2, sync: true }));
}

function prettyStderr(): DestinationStream {
  // pino-pretty is optional: fall back to JSON when it is not installed.
  try {
    const require = createRequire(import.meta.url);
    const factory = require('pino-pretty') as (options: Record<string, unknown>) => DestinationStream;
    return factory({ destination: 2, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pipeline' });
  } catch {
    return pino.destination({ fd: 2, sync: true });
  }
}

/** A context with defaults for everything not given: a warn-level stderr logger, asyncScheduler, fresh counters. */
export function createContext(overrides: Partial<NodeContext> = {}): NodeContext {
  return {
    pipeline: overrides.pipeline ?? 'library',
    node: overrides.node ?? '',
    inputs: overrides.inputs ?? [],
    logger: overrides.logger ?? createLogger({ level: 'warn' }),
    scheduler: overrides.scheduler ?? asyncScheduler,
    metrics: overrides.metrics ?? new Metrics(),
    baseDir: overrides.baseDir ?? process.cwd(),
    stdout: overrides.stdout ?? process.stdout,
    env: overrides.env ?? process.env,
  };
}

/** The context one node sees: the same run, a child logger bound to the node. */
export function nodeContext(ctx: NodeContext, node: string, kind: string, inputs: readonly string[] = []): NodeContext {
  return { ...ctx, node, inputs, logger: ctx.logger.child({ node, kind }) };
}
