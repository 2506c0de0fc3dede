/**
 * Delivery records and the per-sink counters every sink keeps.
 */
import type { NodeContext } from '../context.js';
import { METRIC } from '../metrics.js';
import type { BoundCounter } from '../metrics.js';
import type { AnyEvent, Delivery } from '../model/index.js';

/** The id a delivery names: the record's own id, else its symbol. */
export function eventIdOf(record: AnyEvent): string | undefined {
  return 'id' in record && typeof record.id === 'string' ? record.id : record.symbol;
}

export interface DeliveryCounters {
  readonly delivered: BoundCounter;
  readonly failed: BoundCounter;
  readonly dropped: BoundCounter;
}

/** Counters by status for the sink `name` in this run. */
export function deliveryCounters(ctx: NodeContext, name: string): DeliveryCounters {
  const counter = ctx.metrics.counter(METRIC.deliveries, 'Sink deliveries, by sink and status');
  return {
    delivered: counter.bind({ sink: name, status: 'delivered' }),
    failed: counter.bind({ sink: name, status: 'failed' }),
    dropped: counter.bind({ sink: name, status: 'dropped' }),
  };
}

/** A delivery record for `record`, counted. */
export function delivery(sink: string, status: Delivery['status'], record: AnyEvent, counters: DeliveryCounters, detail?: string): Delivery {
  counters[status].inc();
  const eventId = eventIdOf(record);
  return {
    type: 'delivery',
    sink,
    status,
    eventType: record.type,
    ...(eventId === undefined ? {} : { eventId }),
    ...(detail === undefined ? {} : { detail }),
  };
}
