import { firstValueFrom, lastValueFrom, take, toArray, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { emitRecords } from '../../src/sources/emitRecords.js';

interface Rec {
  readonly t: number;
}

function* batchesOf(times: readonly number[], size: number): Generator<readonly Rec[]> {
  for (let i = 0; i < times.length; i += size) yield times.slice(i, i + size).map((t) => ({ t }));
}

async function* asyncBatchesOf(times: readonly number[], size: number): AsyncGenerator<readonly Rec[]> {
  for (const batch of batchesOf(times, size)) {
    await Promise.resolve();
    yield batch;
  }
}

describe('emitRecords', () => {
  it('emits every record in order as fast as possible', async () => {
    const times = Array.from({ length: 1000 }, (_, i) => i * 10);
    const scheduler = new VirtualTimeScheduler();
    const out = await lastValueFrom(emitRecords(() => asyncBatchesOf(times, 7), { scheduler, timeOf: (r) => r.t }).pipe(toArray()));
    expect(out.map((r) => r.t)).toStrictEqual(times);
    expect(scheduler.now(), 'fast mode does not touch the scheduler').toBe(0);
  });

  it('paces records on the scheduler by the speed factor', () => {
    const scheduler = new VirtualTimeScheduler();
    const seen: [number, number][] = [];
    emitRecords(() => batchesOf([1_000, 1_000, 3_000, 11_000], 2), { scheduler, timeOf: (r) => r.t, speed: 2 }).subscribe((r) => {
      seen.push([r.t, scheduler.now()]);
    });
    scheduler.flush();
    expect(seen, 'record time / 2 = scheduler time').toStrictEqual([
      [1_000, 0],
      [1_000, 0],
      [3_000, 1_000],
      [11_000, 5_000],
    ]);
  });

  it('paces async batches too', async () => {
    const scheduler = new VirtualTimeScheduler();
    const seen: [number, number][] = [];
    let complete = false;
    const isComplete = (): boolean => complete;
    emitRecords(() => asyncBatchesOf([0, 500, 1_500], 1), { scheduler, timeOf: (r) => r.t, speed: 1 }).subscribe({
      next: (r) => seen.push([r.t, scheduler.now()]),
      complete: () => (complete = true),
    });
    for (let i = 0; i < 100 && !isComplete(); i++) {
      scheduler.flush();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(seen).toStrictEqual([
      [0, 0],
      [500, 500],
      [1_500, 1_500],
    ]);
  });

  it('stops pulling and closes the iterator when unsubscribed', async () => {
    let closed = false;
    let pulled = 0;
    function* endless(): Generator<readonly Rec[]> {
      try {
        for (;;) {
          pulled++;
          yield [{ t: pulled }];
        }
      } finally {
        closed = true;
      }
    }
    const scheduler = new VirtualTimeScheduler();
    const first = await firstValueFrom(emitRecords(endless, { scheduler, timeOf: (r) => r.t }).pipe(take(3), toArray()));
    expect(first.map((r) => r.t)).toStrictEqual([1, 2, 3]);
    expect(closed, 'the generator was returned').toBe(true);
    expect(pulled).toBe(3);
  });

  it('is cold: nothing is opened before subscribe', () => {
    let opened = 0;
    const scheduler = new VirtualTimeScheduler();
    const records$ = emitRecords(
      () => {
        opened++;
        return batchesOf([1], 1);
      },
      { scheduler, timeOf: (r) => r.t },
    );
    expect(opened).toBe(0);
    records$.subscribe();
    expect(opened).toBe(1);
  });

  it('reports an error thrown while opening', async () => {
    const scheduler = new VirtualTimeScheduler();
    const records$ = emitRecords<Rec>(
      () => {
        throw new Error('cannot open data.csv');
      },
      { scheduler, timeOf: (r) => r.t },
    );
    await expect(lastValueFrom(records$)).rejects.toThrow('cannot open data.csv');
  });

  it('rejects a speed that is not a positive number', () => {
    const scheduler = new VirtualTimeScheduler();
    expect(() => emitRecords(() => batchesOf([], 1), { scheduler, timeOf: (r: Rec) => r.t, speed: 0 })).toThrow('Speed "0" must be a positive number');
  });
});
