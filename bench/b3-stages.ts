/**
 * B3: cost per pass-through stage (PERFORMANCE.md). 2M small events through k = 0, 1, 2, 4, 8, 16
 * engine pass-through operators (built with flowOperator, the shape every record operator has),
 * and in the same process the same chain of plain RxJS `map(x => x)` and of plain function calls.
 * Prints the least-squares slope (ns/event/stage) and intercept of each.
 */
import { map, Observable, type OperatorFunction } from 'rxjs';
import type { Trade } from '../src/model/index.js';
import type { Flow } from '../src/model/index.js';
import { flowOperator } from '../src/operators/flowOperator.js';
import { linearFit, median } from './stats.js';

const EVENTS = Number(process.argv[2] ?? 2_000_000);
const STAGES = [0, 1, 2, 4, 8, 16] as const;
const REPS = 3;

const sample: Trade = { type: 'trade', venue: 'binance', symbol: 'BTC-USDT', tsEvent: 1, tsRecv: 1, id: 1, price: 100, qty: 1, side: 'buy' };

function passThrough(): OperatorFunction<Flow<Trade>, Flow<Trade>> {
  return flowOperator<Trade, Trade>({
    name: 'passThrough',
    accepts: ['trade'],
    setup: (out) => ({
      next: (trade) => {
        out.next(trade);
      },
    }),
  });
}

function source$(): Observable<Flow<Trade>> {
  return new Observable<Flow<Trade>>((subscriber) => {
    for (let i = 0; i < EVENTS && !subscriber.closed; i++) subscriber.next(sample);
    subscriber.complete();
  });
}

function timeRx(stages: number, make: () => OperatorFunction<Flow<Trade>, Flow<Trade>>): number {
  let stream$ = source$();
  for (let i = 0; i < stages; i++) stream$ = stream$.pipe(make());
  let sink = 0;
  const start = process.hrtime.bigint();
  stream$.subscribe((record) => {
    sink += record.tsEvent;
  });
  const ns = Number(process.hrtime.bigint() - start);
  if (sink !== EVENTS) throw new Error('lost events');
  return ns / EVENTS;
}

function timePlain(stages: number): number {
  const fns: ((t: Trade) => Trade)[] = Array.from({ length: stages }, () => (t: Trade) => t);
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < EVENTS; i++) {
    let value = sample;
    for (const fn of fns) value = fn(value);
    sink += value.tsEvent;
  }
  const ns = Number(process.hrtime.bigint() - start);
  if (sink !== EVENTS) throw new Error('lost events');
  return ns / EVENTS;
}

function measure(run: (stages: number) => number): { perStage: number[]; slope: number; intercept: number } {
  run(4); // warm-up
  const perStage = STAGES.map((k) => median(Array.from({ length: REPS }, () => run(k))));
  const fit = linearFit([...STAGES], perStage);
  return { perStage, slope: fit.slope, intercept: fit.intercept };
}

const engine = measure((k) => timeRx(k, passThrough));
const rxMap = measure((k) => timeRx(k, () => map((t: Flow<Trade>) => t)));
const plain = measure(timePlain);
process.stdout.write(
  `${JSON.stringify({ bench: 'B3', stages: STAGES, engine, rxMap, plain, events: EVENTS })}\n`,
);
