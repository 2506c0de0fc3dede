/**
 * The composition root for a run: compiles the config, subscribes once, wires SIGINT/SIGTERM to
 * unsubscribe (so every socket, timer and file is released), and turns the outcome into an exit
 * code: 0 finished or stopped, 1 failed at run time, 2 invalid config.
 */
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { SchedulerLike, Subscription } from 'rxjs';
import { ConfigError } from '../errors.js';
import type { Registry } from '../definitions.js';
import type { MetricSample } from '../metrics.js';
import { compilePipeline, type CompiledPipeline } from './compile.js';

export const EXIT = { ok: 0, failed: 1, invalidConfig: 2 } as const;

export interface LaunchOptions {
  /** The root logger (stderr). */
  readonly logger: Logger;
  /** Where config errors are printed (stderr by default). */
  readonly errors?: Writable;
  /** The config file, for messages. */
  readonly file?: string;
  /** Relative paths in params resolve against this (the config file's directory). */
  readonly baseDir?: string;
  readonly stdout?: Writable;
  readonly scheduler?: SchedulerLike;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly registry?: Registry;
  /** Log every record every node emits (trace level). */
  readonly trace?: boolean;
  /** Stop on SIGINT and SIGTERM (default true). */
  readonly handleSignals?: boolean;
}

/** Compiles, or prints every config problem and returns undefined. */
export function compileOrReport(config: unknown, options: LaunchOptions): CompiledPipeline | undefined {
  try {
    return compilePipeline(
      config,
      {
        logger: options.logger,
        ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }),
        ...(options.stdout === undefined ? {} : { stdout: options.stdout }),
        ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
        ...(options.env === undefined ? {} : { env: options.env }),
      },
      {
        ...(options.file === undefined ? {} : { file: options.file }),
        ...(options.registry === undefined ? {} : { registry: options.registry }),
        ...(options.trace === undefined ? {} : { trace: options.trace }),
      },
    );
  } catch (err) {
    if (err instanceof ConfigError) {
      (options.errors ?? process.stderr).write(`${err.message}\n`);
      return undefined;
    }
    throw err;
  }
}

/** Runs `config` until its sources end, it fails, or a signal stops it. Resolves to the exit code. */
export function launch(config: unknown, options: LaunchOptions): Promise<number> {
  const pipeline = compileOrReport(config, options);
  if (pipeline === undefined) return Promise.resolve(EXIT.invalidConfig);
  const { logger } = pipeline.context;
  const sinks = pipeline.graph.nodes.filter((node) => node.definition.role === 'sink');
  if (sinks.length === 0) {
    (options.errors ?? process.stderr).write(
      `${options.file ?? 'Pipeline config'} has no sink, so running it would show nothing: add a node such as { id: out, use: console, from: [<node>] }\n`,
    );
    return Promise.resolve(EXIT.invalidConfig);
  }

  return new Promise<number>((resolve) => {
    let subscription: Subscription | undefined = undefined;
    let signals = 0;
    let settled = false;
    const isSettled = (): boolean => settled;
    const finish = (code: number, reason: string): void => {
      if (settled) return;
      settled = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      subscription?.unsubscribe();
      logger.info({ reason, signals, counters: summarize(pipeline.metrics.snapshot()) }, `pipeline ${reason}`);
      resolve(code);
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'stopping: releasing every source and sink');
      finish(EXIT.ok, 'stopped');
    };
    if (options.handleSignals ?? true) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
    logger.info(
      { nodes: pipeline.graph.nodes.map((node) => `${node.id}:${node.kind}`) },
      `pipeline "${pipeline.name}" starting with ${pipeline.graph.nodes.length} nodes`,
    );
    const running = pipeline.run$.subscribe({
      next: (record) => {
        if (record.type === 'signal') signals++;
      },
      error: (err: unknown) => {
        logger.fatal({ err }, 'pipeline failed');
        finish(EXIT.failed, 'failed');
      },
      complete: () => {
        finish(EXIT.ok, 'finished');
      },
    });
    subscription = running;
    // A source that ends synchronously finished before `subscription` was assigned.
    if (isSettled()) running.unsubscribe();
  });
}

/** Counters as `name{label=value}: n`, for the end-of-run summary. */
function summarize(samples: readonly MetricSample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const sample of samples) {
    const labels = Object.entries(sample.labels)
      .map(([key, value]) => `${key}=${value}`)
      .join(',');
    out[labels === '' ? sample.name : `${sample.name}{${labels}}`] = sample.value;
  }
  return out;
}
