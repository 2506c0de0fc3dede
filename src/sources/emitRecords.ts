/**
 * Emits records pulled in batches from a (sync or async) iterable, either as fast as possible or
 * paced on the scheduler by a speed factor. Pulling keeps memory bounded: a paced replay of a
 * large file holds one batch at a time, never the whole file.
 *
 * Replay, CSV and simulator sources share it, so they pace identically: with `speed: 60` one hour
 * of record time takes one minute of scheduler time, and on a virtual-time scheduler a backtest
 * runs as fast as the machine allows with the same timing semantics.
 */
import { Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

export interface EmitRecordsOptions<T> {
  /** `undefined` for as fast as possible; otherwise a multiple of real time (1 = real time). */
  readonly speed?: number | undefined;
  readonly scheduler: SchedulerLike;
  /** The time (epoch ms) pacing follows, usually `tsEvent` or the recorded receive time. */
  readonly timeOf: (record: T) => number;
  /**
   * Called once per subscription when it ends for any reason (completion, error or unsubscribe).
   * The function is fixed when the Observable is built: keep per-subscription state in a `defer`.
   */
  readonly finalize?: () => void;
}

type Batches<T> = AsyncIterable<readonly T[]> | Iterable<readonly T[]>;

function isAsyncIterable<T>(batches: Batches<T>): batches is AsyncIterable<readonly T[]> {
  return Symbol.asyncIterator in batches;
}

/** Yield to the event loop after this many synchronous batches, so signals and I/O get a turn. */
const SYNC_BATCHES_PER_YIELD = 16;

/**
 * A cold Observable over the records of `open()`: nothing is opened before subscribe, and
 * unsubscribing stops the iteration (closing files through the iterator's `return`).
 */
export function emitRecords<T>(open: () => Batches<T>, options: EmitRecordsOptions<T>): Observable<T> {
  const { speed, scheduler, timeOf } = options;
  if (speed !== undefined && !(speed > 0 && Number.isFinite(speed))) {
    throw new RangeError(`Speed "${speed}" must be a positive number (or left out for as fast as possible)`);
  }
  return new Observable<T>((subscriber) => {
    let finalized = false;
    const finalize = (): void => {
      if (!finalized) {
        finalized = true;
        options.finalize?.();
      }
    };
    let batches: Batches<T>;
    try {
      batches = open();
    } catch (err) {
      subscriber.error(err);
      finalize();
      return undefined;
    }
    const iterator = isAsyncIterable(batches) ? batches[Symbol.asyncIterator]() : batches[Symbol.iterator]();
    const sync = !isAsyncIterable(batches);
    let pending: Subscription | undefined;
    // A function, not a property read: emitting can close the subscriber, which narrowing cannot see.
    const closed = (): boolean => subscriber.closed;

    const fail = (err: unknown): void => {
      subscriber.error(err);
      finalize();
    };
    const done = (): void => {
      subscriber.complete();
      finalize();
    };

    if (speed === undefined) {
      void (async () => {
        let sinceYield = 0;
        for (;;) {
          const step = sync ? (iterator as Iterator<readonly T[]>).next() : await iterator.next();
          if (closed()) return;
          if (step.done === true) {
            done();
            return;
          }
          for (const record of step.value) {
            subscriber.next(record);
            if (closed()) return;
          }
          if (sync && ++sinceYield >= SYNC_BATCHES_PER_YIELD) {
            sinceYield = 0;
            await yieldToEventLoop();
            if (closed()) return;
          }
        }
      })().catch(fail);
    } else {
      let batch: readonly T[] = [];
      let index = 0;
      let recordStart = 0;
      let schedulerStart = 0;
      let started = false;

      const pump = (): void => {
        pending = undefined;
        try {
          while (!closed()) {
            if (index >= batch.length) {
              const step = iterator.next();
              if (step instanceof Promise) {
                step.then(accept, fail);
                return;
              }
              if (!accept(step)) return;
              continue;
            }
            const record = batch[index] as T;
            const now = scheduler.now();
            if (!started) {
              started = true;
              recordStart = timeOf(record);
              schedulerStart = now;
            }
            const due = schedulerStart + (timeOf(record) - recordStart) / speed;
            if (due > now) {
              pending = scheduler.schedule(pump, due - now);
              return;
            }
            index++;
            subscriber.next(record);
          }
        } catch (err) {
          fail(err);
        }
      };

      /** Takes the next batch; returns false when the stream ended. Resumes pumping after an async pull. */
      function accept(step: IteratorResult<readonly T[]>): boolean {
        if (closed()) return false;
        if (step.done === true) {
          done();
          return false;
        }
        batch = step.value;
        index = 0;
        if (!sync) pump();
        return true;
      }

      pump();
    }

    return () => {
      pending?.unsubscribe();
      // Closes the underlying file; a pending async pull settles on its own.
      void Promise.resolve(iterator.return?.()).catch(() => undefined);
      finalize();
    };
  });
}
