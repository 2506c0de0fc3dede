import { Writable } from 'node:stream';
import { pino } from 'pino';
import { lastValueFrom, of, Subject, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../src/context.js';
import { Metrics, METRIC } from '../../src/metrics.js';
import type { AnyEvent } from '../../src/model/index.js';
import { consoleSink, toConsole } from '../../src/sinks/consoleSink.js';
import { candle, gap, signal } from '../support/builders.js';
import { testDefinitionContract } from '../support/contracts.js';

/** A stdout stand-in that records what was written; `tty` makes it look like a terminal. */
function capture(tty = false): Writable & { text: () => string; isTTY?: boolean } {
  const chunks: string[] = [];
  const stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      chunks.push(chunk.toString());
      done();
    },
  }) as Writable & { text: () => string; isTTY?: boolean };
  stream.text = () => chunks.join('');
  if (tty) stream.isTTY = true;
  return stream;
}

function context(stdout: Writable, env: Record<string, string> = {}) {
  return createContext({ logger: pino({ level: 'silent' }), stdout, node: 'out', metrics: new Metrics(), env });
}

const records: AnyEvent[] = [signal(), candle(), gap()];

describe('toConsole', () => {
  it('writes NDJSON when stdout is not a terminal, one delivery per record', async () => {
    const stdout = capture();
    const ctx = context(stdout);
    const deliveries = await lastValueFrom(of(...records).pipe(toConsole({}, ctx), toArray()));
    const lines = stdout.text().trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line) as unknown), 'each record is one JSON line').toStrictEqual(records);
    expect(deliveries.map((d) => [d.status, d.eventType])).toStrictEqual([
      ['delivered', 'signal'],
      ['delivered', 'candle'],
      ['delivered', 'gap'],
    ]);
    expect(ctx.metrics.counter(METRIC.deliveries, '').get({ sink: 'out', status: 'delivered' })).toBe(3);
  });

  it('writes readable lines on a terminal, coloured unless NO_COLOR is set', async () => {
    const plain = capture(true);
    await lastValueFrom(of(signal()).pipe(toConsole({}, context(plain, { NO_COLOR: '1' })), toArray()));
    const text = plain.text();
    expect(text).toContain('▲ LONG');
    expect(text).toContain('entry 100');
    expect(text).toContain('stop 97');
    expect(text).toContain('R:R 2.00');
    expect(text, 'the vote breakdown is printed').toMatch(/trend\s+long\s+0\.80\s+because/);
    expect(text, 'NO_COLOR means no escape codes').not.toContain('\u001b[');
    const coloured = capture(true);
    await lastValueFrom(of(signal()).pipe(toConsole({}, context(coloured)), toArray()));
    expect(coloured.text()).toContain('\u001b[32m');
  });

  it('prints only the chosen types when asked', async () => {
    const stdout = capture();
    const deliveries = await lastValueFrom(of(...records).pipe(toConsole({ types: ['signal'] }, context(stdout)), toArray()));
    expect(deliveries).toHaveLength(1);
    expect(stdout.text().trimEnd().split('\n')).toHaveLength(1);
  });

  it('stops quietly when the reader closes stdout (EPIPE)', () => {
    const stdout = capture();
    const records$ = new Subject<AnyEvent>();
    let completed = false;
    records$.pipe(toConsole({}, context(stdout))).subscribe({ complete: () => (completed = true) });
    records$.next(signal());
    expect(stdout.listenerCount('error'), 'the sink listens for write errors while it runs').toBe(1);
    stdout.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(completed, 'a closed pipe ends the sink, it does not crash the process').toBe(true);
    expect(stdout.listenerCount('error'), 'the sink removed its error listener').toBe(0);
  });

  it('rejects an unknown format, naming it', () => {
    expect(() => toConsole({ format: 'xml' as never })).toThrow();
  });
});

testDefinitionContract(consoleSink, { params: { format: 'ndjson' }, input: () => records, ctx: { stdout: capture() } });
