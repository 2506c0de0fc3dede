/**
 * How the simulator sources turn a {@link MarketSimulator} into a stream of trades: with
 * {@link emitRecords}, as fast as possible (in batches, yielding to the event loop) or paced on
 * the scheduler by a speed factor, until the run's end time or last id.
 *
 * What has been emitted is what the simulator's history holds: paced, a trade is committed to the
 * history as it is emitted (the next one waits, pending, for its time); as fast as possible, a
 * batch is committed as it is generated, so a subscriber that leaves mid-batch leaves up to one
 * batch in the history that it never saw.
 */
import { defer, type Observable, tap } from 'rxjs';
import type { NodeContext } from '../../context.js';
import { InvariantError } from '../../errors.js';
import { type BoundCounter, METRIC } from '../../metrics.js';
import type { Trade } from '../../model/index.js';
import { emitRecords } from '../emitRecords.js';
import type { MarketSimulator } from './marketSimulator.js';

/** Trades per batch when emitting as fast as possible. */
const BATCH_SIZE = 256;

export interface SimulatorRunBounds {
  /** Multiple of real time; undefined for as fast as possible. */
  readonly speed: number | undefined;
  /** Trades at or after this time (epoch ms) are not part of the run. */
  readonly endTime: number;
  /** Trades with a larger id are not part of the run. */
  readonly lastId: number;
}

export interface EmitSimulatorTradesOptions {
  /** Name for logs and counters (the node id, or the kind when used as a library). */
  readonly source: string;
  /**
   * Also emit the first trade at or after `endTime`, when the end time (not the last id) ends the
   * run: candles need it to close the last bar, as a trade closes a bar in `build-candles`.
   */
  readonly closingTrade?: boolean;
}

function* fastBatches(simulator: MarketSimulator, bounds: SimulatorRunBounds, closingTrade: boolean, counter: BoundCounter): Generator<readonly Trade[]> {
  const { endTime, lastId } = bounds;
  for (;;) {
    const batch: Trade[] = [];
    while (batch.length < BATCH_SIZE) {
      const next = simulator.peek();
      if (next.id > lastId || next.tsEvent >= endTime) {
        if (closingTrade && next.id <= lastId) batch.push(simulator.next());
        if (batch.length > 0) {
          counter.inc(batch.length);
          yield batch;
        }
        return;
      }
      batch.push(simulator.next());
    }
    counter.inc(batch.length);
    yield batch;
  }
}

/** One pending trade at a time: it is committed by the caller when emitted. */
function* pacedBatches(simulator: MarketSimulator, bounds: SimulatorRunBounds, closingTrade: boolean): Generator<readonly Trade[]> {
  const { endTime, lastId } = bounds;
  for (;;) {
    const next = simulator.peek();
    if (next.id > lastId || next.tsEvent >= endTime) {
      if (closingTrade && next.id <= lastId) yield [next];
      return;
    }
    yield [next];
  }
}

/**
 * A cold stream of the simulator's trades within `bounds`: `simulatorOf` is called once per
 * subscription (a new simulator for a source, the same one for a run with queryable history).
 */
export function emitSimulatorTrades(
  simulatorOf: () => MarketSimulator,
  bounds: SimulatorRunBounds,
  ctx: NodeContext,
  options: EmitSimulatorTradesOptions,
): Observable<Trade> {
  const { speed } = bounds;
  if (speed !== undefined && !(speed > 0 && Number.isFinite(speed))) {
    throw new RangeError(`speed "${speed}" must be a positive number (or left out for as fast as possible)`);
  }
  const closingTrade = options.closingTrade ?? false;
  return defer(() => {
    const simulator = simulatorOf();
    const counter = ctx.metrics.counter(METRIC.received, 'Records a source delivered downstream, by source').bind({ source: options.source });
    const firstId = simulator.peek().id;
    const { params } = simulator;
    ctx.logger.info(
      {
        source: options.source,
        seed: params.seed,
        venue: params.venue,
        symbol: params.symbol,
        startTime: new Date(simulator.now()).toISOString(),
        speed: speed ?? 'max',
        ...(Number.isFinite(bounds.endTime) ? { endTime: new Date(bounds.endTime).toISOString() } : {}),
        ...(Number.isFinite(bounds.lastId) ? { lastId: bounds.lastId } : {}),
      },
      'market simulator started',
    );
    const finalize = (): void => {
      const last = simulator.lastTrade();
      const trades = last === undefined ? 0 : last.id - firstId + 1;
      ctx.logger.info(
        { source: options.source, trades, ...(last === undefined ? {} : { lastId: last.id, lastPrice: last.price, time: new Date(last.tsEvent).toISOString() }) },
        'market simulator stopped',
      );
    };
    if (speed === undefined) {
      return emitRecords(() => fastBatches(simulator, bounds, closingTrade, counter), { scheduler: ctx.scheduler, timeOf: tsEventOf, finalize });
    }
    return emitRecords(() => pacedBatches(simulator, bounds, closingTrade), { speed, scheduler: ctx.scheduler, timeOf: tsEventOf, finalize }).pipe(
      tap((trade) => {
        // The pending trade happens now that it is emitted.
        const committed = simulator.next();
        if (committed !== trade) {
          throw new InvariantError(`Simulator trade ${trade.id} was emitted but trade ${committed.id} was pending: subscribe to a simulator run once at a time`);
        }
        counter.inc();
      }),
    );
  });
}

function tsEventOf(trade: Trade): number {
  return trade.tsEvent;
}
