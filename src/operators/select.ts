import { filter, type OperatorFunction } from 'rxjs';
import { z } from 'zod';
import { defineOperator, type PortType } from '../definitions.js';
import type { AnyEvent, EventType } from '../model/index.js';
import { EventTypeSchema, isControl } from '../model/index.js';

export interface SelectOptions {
  /** Record types to keep. */
  readonly types: readonly EventType[];
  /** Canonical symbols to keep (default: all). */
  readonly symbols?: readonly string[];
  /** Venues to keep (default: all). */
  readonly venues?: readonly string[];
}

/**
 * Keeps the records of the given types (and symbols, venues); control events always pass, so
 * gaps and status changes still reach the sinks.
 *
 *   records: --t--c--b--g--|     (types: [trade]; g is a gap)
 *   output:  --t--------g--|
 */
export function select(options: SelectOptions): OperatorFunction<AnyEvent, AnyEvent> {
  const types = new Set<string>(options.types);
  const symbols = options.symbols === undefined ? undefined : new Set(options.symbols);
  const venues = options.venues === undefined ? undefined : new Set(options.venues);
  return filter(
    (record) =>
      isControl(record) ||
      (types.has(record.type) && (symbols === undefined || symbols.has(record.symbol)) && (venues === undefined || venues.has(record.venue))),
  );
}

export const selectParams = z.strictObject({
  types: z.array(EventTypeSchema).min(1),
  symbols: z.array(z.string().min(1)).min(1).optional(),
  venues: z.array(z.string().min(1)).min(1).optional(),
});

export const selectOperator = defineOperator({
  kind: 'select',
  summary: 'Keep records of the given types, symbols and venues (control events always pass)',
  params: selectParams,
  input: 'any',
  output: 'any',
  describe: (params, inputs) => {
    const only = params.types.length === 1 ? params.types[0] : undefined;
    const type: PortType = only !== undefined && only !== 'gap' && only !== 'status' ? only : 'any';
    const interval = inputs.length === 1 ? inputs[0]?.interval : undefined;
    return { type, ...(interval === undefined ? {} : { interval }) };
  },
  create: (params) =>
    select({
      types: params.types,
      ...(params.symbols === undefined ? {} : { symbols: params.symbols }),
      ...(params.venues === undefined ? {} : { venues: params.venues }),
    }),
});
