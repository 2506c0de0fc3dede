import { ignoreElements, type OperatorFunction, tap } from 'rxjs';
import { z } from 'zod';
import { createContext, type NodeContext } from '../context.js';
import { defineSink } from '../definitions.js';
import type { AnyEvent, Delivery } from '../model/index.js';

export const discardSinkParams = z.strictObject({});

/**
 * Consumes records and keeps only a count (`alphaflow_discarded_total`): the null sink for
 * benchmarks and for pipelines run only for their `signals$` in code. Emits no deliveries.
 *
 *   records:    --s---a--|
 *   deliveries: ---------|
 */
export function toDiscard(context?: NodeContext): OperatorFunction<AnyEvent, Delivery> {
  return (records$) => {
    const ctx = context ?? createContext();
    const discarded = ctx.metrics.counter('alphaflow_discarded_total', 'Records consumed by a discard sink').bind({ sink: ctx.node === '' ? 'discard' : ctx.node });
    return records$.pipe(
      tap(() => {
        discarded.inc();
      }),
      ignoreElements(),
    );
  };
}

export const discardSink = defineSink({
  kind: 'discard',
  summary: 'Consume records and only count them (a null sink for benchmarks and code-only use)',
  params: discardSinkParams,
  input: 'any',
  create: (_params, ctx) => toDiscard(ctx),
});
