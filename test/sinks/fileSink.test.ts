import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { lastValueFrom, of, Subject, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../src/context.js';
import { Metrics, METRIC } from '../../src/metrics.js';
import type { Delivery, Signal } from '../../src/model/index.js';
import { fileSink, toFile } from '../../src/sinks/fileSink.js';
import { candle, signal } from '../support/builders.js';
import { testDefinitionContract } from '../support/contracts.js';

const dir = mkdtempSync(join(tmpdir(), 'alphaflow-file-'));

function context(logs: string[] = []) {
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  return createContext({ logger, baseDir: dir, node: 'file', metrics: new Metrics() });
}

describe('toFile', () => {
  it('appends one JSON line per record, creating folders, relative to the config directory', async () => {
    writeFileSync(join(dir, 'existing.ndjson'), '{"kept":true}\n');
    const ctx = context();
    const deliveries = await lastValueFrom(of(signal(), candle()).pipe(toFile({ path: 'existing.ndjson' }, ctx), toArray()));
    await lastValueFrom(of(signal({ id: 'x' })).pipe(toFile({ path: 'nested/deeper/out.ndjson' }, ctx), toArray()));
    const lines = readFileSync(join(dir, 'existing.ndjson'), 'utf8').trimEnd().split('\n');
    expect(lines[0], 'append keeps what was there').toBe('{"kept":true}');
    expect(lines.slice(1).map((line) => (JSON.parse(line) as { type: string }).type)).toStrictEqual(['signal', 'candle']);
    expect(readFileSync(join(dir, 'nested/deeper/out.ndjson'), 'utf8')).toContain('"id":"x"');
    expect(deliveries.every((d) => d.status === 'delivered')).toBe(true);
  });

  it('truncates when append is false', async () => {
    writeFileSync(join(dir, 'fresh.ndjson'), 'old\n');
    await lastValueFrom(of(signal()).pipe(toFile({ path: 'fresh.ndjson', append: false }, context()), toArray()));
    expect(readFileSync(join(dir, 'fresh.ndjson'), 'utf8')).not.toContain('old');
  });

  it('turns a write error (disk full) into a logged error and failed deliveries, without stopping', async () => {
    const logs: string[] = [];
    const ctx = context(logs);
    const records$ = new Subject<Signal>();
    const deliveries: Delivery[] = [];
    const done = new Promise<void>((resolve) => {
      records$.pipe(toFile({ path: '/dev/full' }, ctx)).subscribe({ next: (d) => deliveries.push(d), complete: resolve });
    });
    records$.next(signal({ id: 'a' }));
    // The write fails asynchronously with ENOSPC; later records are failed deliveries.
    for (let i = 0; i < 100 && !logs.some((line) => line.includes('failed')); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    records$.next(signal({ id: 'b' }));
    records$.complete();
    await done;
    expect(logs.filter((line) => line.includes('writing /dev/full failed')), 'the error is logged once').toHaveLength(1);
    expect(deliveries.map((d) => d.status)).toStrictEqual(['delivered', 'failed']);
    expect(deliveries[1]?.detail).toContain('ENOSPC');
    expect(ctx.metrics.counter(METRIC.deliveries, '').get({ sink: 'file', status: 'failed' })).toBe(1);
  });
});

testDefinitionContract(fileSink, { params: { path: 'contract.ndjson' }, input: () => [signal()], ctx: { baseDir: dir } });
