import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Observable, type OperatorFunction } from 'rxjs';
import { z } from 'zod';
import { createContext, type NodeContext } from '../context.js';
import { defineSink } from '../definitions.js';
import type { AnyEvent, Delivery } from '../model/index.js';
import { EventTypeSchema } from '../model/index.js';
import { delivery, deliveryCounters } from './deliveries.js';

export const fileSinkParams = z.strictObject({
  /** NDJSON file to write, relative to the config file's directory; parent folders are created. */
  path: z.string().min(1),
  /** Append to an existing file (default) or truncate it. */
  append: z.boolean().default(true),
  /** Only write these record types (default: everything that arrives). */
  types: z.array(EventTypeSchema).min(1).optional(),
});
export type FileSinkOptions = z.input<typeof fileSinkParams>;

/**
 * Appends each record as one JSON line to a file, and emits one delivery per record. The file
 * is opened on subscribe and flushed and closed on unsubscribe or completion; the sink completes
 * only once the file is closed, so awaiting it means every line is on disk. Writes are
 * buffered in memory and never dropped; a write error (disk full, permission denied) is logged
 * once, and every record from then on is a failed delivery, counted.
 *
 *   records:    --s---a--|
 *   deliveries: --d---d--|
 */
export function toFile(options: FileSinkOptions, context?: NodeContext): OperatorFunction<AnyEvent, Delivery> {
  const { path, append, types } = fileSinkParams.parse(options);
  return (records$) =>
    new Observable<Delivery>((subscriber) => {
      const ctx = context ?? createContext();
      const name = ctx.node === '' ? 'ndjson-file' : ctx.node;
      const counters = deliveryCounters(ctx, name);
      const file = resolve(ctx.baseDir, path);
      const wanted = types === undefined ? undefined : new Set<string>(types);
      let broken: Error | undefined;
      try {
        mkdirSync(dirname(file), { recursive: true });
      } catch (err) {
        broken = err as Error;
        ctx.logger.error({ err, file }, `cannot create the folder of ${file}`);
      }
      const stream = createWriteStream(file, { flags: append ? 'a' : 'w' });
      stream.on('error', (err) => {
        if (broken === undefined) ctx.logger.error({ err, file }, `writing ${file} failed: records from now on are failed deliveries`);
        broken = err;
      });
      const subscription = records$.subscribe({
        next: (record) => {
          if (wanted !== undefined && !wanted.has(record.type)) return;
          if (broken !== undefined) {
            subscriber.next(delivery(name, 'failed', record, counters, broken.message));
            return;
          }
          stream.write(`${JSON.stringify(record)}\n`);
          subscriber.next(delivery(name, 'delivered', record, counters));
        },
        error: (err: unknown) => {
          subscriber.error(err);
        },
        complete: () => {
          // Complete once every line is on disk (or the write failed): awaiting the sink means
          // the file is complete. 'close' follows both 'finish' and 'error'.
          if (stream.destroyed) {
            subscriber.complete();
            return;
          }
          stream.once('close', () => {
            subscriber.complete();
          });
          stream.end();
        },
      });
      return () => {
        subscription.unsubscribe();
        if (!stream.writableEnded) stream.end();
      };
    });
}

export const fileSink = defineSink({
  kind: 'ndjson-file',
  summary: 'Append records as JSON lines to a file',
  params: fileSinkParams,
  input: 'any',
  create: (params, ctx) => toFile(params, ctx),
});
