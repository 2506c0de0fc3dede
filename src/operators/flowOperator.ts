/**
 * The shared shape of alphaflow's record operators: state created per subscription, control
 * events (gap, status) passed through in order, a clear error for a record of the wrong type,
 * and exceptions routed to the subscriber instead of escaping into RxJS's unhandled-error path.
 */
import { Observable, type OperatorFunction, type Subscriber } from 'rxjs';
import { InvariantError } from '../errors.js';
import type { AnyEvent, ControlEvent, Flow } from '../model/index.js';

/** What one subscription of a flow operator does with its input. */
export interface FlowHandler<In> {
  /** One input record of an accepted type. */
  next(value: In): void;
  /** A control event, before it is forwarded downstream (e.g. a gap stops candle filling). */
  control?(event: ControlEvent): void;
  /** The input completed; emit what is final, then the output completes. */
  complete?(): void;
}

export interface FlowOperatorSpec<In extends AnyEvent, Out> {
  /** Operator name for error messages, e.g. `buildCandles`. */
  readonly name: string;
  /** Record types the operator consumes. */
  readonly accepts: readonly In['type'][];
  /** Called once per subscription: creates the state and returns the handler. */
  setup(out: Subscriber<Flow<Out>>): FlowHandler<In>;
}

function isControlType(type: string): boolean {
  return type === 'gap' || type === 'status';
}

/** Builds an operator over `Flow<In>` from a per-subscription handler. */
export function flowOperator<In extends AnyEvent, Out>(spec: FlowOperatorSpec<In, Out>): OperatorFunction<Flow<In>, Flow<Out>> {
  const single = spec.accepts.length === 1 ? spec.accepts[0] : undefined;
  const accepted = new Set<string>(spec.accepts);
  return (source$) =>
    new Observable<Flow<Out>>((subscriber) => {
      const handler = spec.setup(subscriber);
      return source$.subscribe({
        next: (value) => {
          try {
            if (value.type === single || (single === undefined && accepted.has(value.type))) {
              handler.next(value as In);
            } else if (isControlType(value.type)) {
              handler.control?.(value as ControlEvent);
              subscriber.next(value as ControlEvent);
            } else {
              throw new InvariantError(
                `${spec.name} received a "${value.type}" record; it takes ${spec.accepts.map((type) => `"${type}"`).join(', ')} records (filter the stream first)`,
              );
            }
          } catch (err) {
            subscriber.error(err);
          }
        },
        error: (err: unknown) => {
          subscriber.error(err);
        },
        complete: () => {
          try {
            handler.complete?.();
            subscriber.complete();
          } catch (err) {
            subscriber.error(err);
          }
        },
      });
    });
}
