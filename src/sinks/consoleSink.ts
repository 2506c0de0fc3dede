import { Observable, type OperatorFunction } from 'rxjs';
import { z } from 'zod';
import { createContext, type NodeContext } from '../context.js';
import { defineSink } from '../definitions.js';
import type { AnyEvent, Delivery } from '../model/index.js';
import { EventTypeSchema } from '../model/index.js';
import { deliveryCounters, delivery } from './deliveries.js';
import { formatRecord } from './formatRecord.js';

export const consoleSinkParams = z.strictObject({
  /** `pretty` lines for people, `ndjson` for machines; `auto` picks pretty on a TTY. */
  format: z.enum(['auto', 'pretty', 'ndjson']).default('auto'),
  /** ANSI colours in pretty mode; `auto` colours a TTY unless NO_COLOR is set. */
  color: z.enum(['auto', 'always', 'never']).default('auto'),
  /** Only print these record types (default: everything that arrives). */
  types: z.array(EventTypeSchema).min(1).optional(),
});
export type ConsoleSinkOptions = z.input<typeof consoleSinkParams>;

/**
 * Writes each record to stdout: readable lines on a TTY, NDJSON when piped (`| jq` works), and
 * one delivery per record. Logs never go here; they go to stderr.
 *
 *   records:    --s---a--|
 *   deliveries: --d---d--|
 *
 * A closed stdout (EPIPE, e.g. `| head`) completes the sink quietly; other write errors are
 * failed deliveries.
 */
export function toConsole(options: ConsoleSinkOptions = {}, context?: NodeContext): OperatorFunction<AnyEvent, Delivery> {
  const { format, color, types } = consoleSinkParams.parse(options);
  return (records$) =>
    new Observable<Delivery>((subscriber) => {
      const ctx = context ?? createContext();
      const name = ctx.node === '' ? 'console' : ctx.node;
      const counters = deliveryCounters(ctx, name);
      const out = ctx.stdout as NodeJS.WritableStream & { isTTY?: boolean };
      const tty = out.isTTY === true;
      const pretty = format === 'pretty' || (format === 'auto' && tty);
      const colored = pretty && (color === 'always' || (color === 'auto' && tty && ctx.env.NO_COLOR === undefined));
      const wanted = types === undefined ? undefined : new Set<string>(types);
      let broken: Error | undefined;
      const onError = (err: Error & { code?: string }): void => {
        broken = err;
        if (err.code === 'EPIPE') {
          ctx.logger.info('stdout closed by the reader: stopping console output');
          subscriber.complete();
        } else {
          ctx.logger.error({ err }, 'console write failed');
        }
      };
      out.on('error', onError);
      const subscription = records$.subscribe({
        next: (record) => {
          if (wanted !== undefined && !wanted.has(record.type)) return;
          if (broken !== undefined) {
            subscriber.next(delivery(name, 'failed', record, counters, broken.message));
            return;
          }
          const text = pretty ? formatRecord(record, { color: colored }) : JSON.stringify(record);
          out.write(`${text}\n`);
          subscriber.next(delivery(name, 'delivered', record, counters));
        },
        error: (err: unknown) => {
          subscriber.error(err);
        },
        complete: () => {
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        out.off('error', onError);
      };
    });
}

export const consoleSink = defineSink({
  kind: 'console',
  summary: 'Print records to stdout: readable lines on a terminal, NDJSON when piped',
  params: consoleSinkParams,
  input: 'any',
  create: (params, ctx) => toConsole(params, ctx),
});
