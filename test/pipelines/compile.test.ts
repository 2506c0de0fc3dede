import { pino } from 'pino';
import { from, lastValueFrom, map, NEVER, Observable, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRegistry, defineOperator, defineSink, defineSource } from '../../src/definitions.js';
import type { Alert, Delivery, Signal, Trade } from '../../src/model/index.js';
import { compilePipeline } from '../../src/pipelines/compile.js';
import { builtinOperators } from '../../src/operators/registry.js';
import { builtinSinks } from '../../src/sinks/registry.js';
import { signal, T0, trade } from '../support/builders.js';

const quiet = { logger: pino({ level: 'silent' }) };

/** A synchronous source that counts its subscriptions, so sharing can be checked. */
function countingRegistry() {
  const stats = { subscriptions: 0, releases: 0 };
  const trades = defineSource({
    kind: 'test-trades',
    summary: 'test trades',
    params: z.strictObject({ count: z.number().int().default(3), endless: z.boolean().default(false) }),
    output: 'trade',
    create: ({ count, endless }) =>
      new Observable<Trade>((subscriber) => {
        stats.subscriptions++;
        for (let i = 1; i <= count; i++) subscriber.next(trade({ id: i, tsEvent: T0 + i * 1000 }));
        if (!endless) subscriber.complete();
        return () => {
          stats.releases++;
        };
      }),
  });
  const toSignal = defineOperator({
    kind: 'test-signals',
    summary: 'a signal per trade',
    params: z.strictObject({}),
    input: 'trade',
    output: 'signal',
    create: () => map((t: Trade) => signal({ id: `s${t.id}`, entry: t.price })),
  });
  const toAlert = defineOperator({
    kind: 'test-alerts',
    summary: 'an alert per trade',
    params: z.strictObject({}),
    input: 'trade',
    output: 'alert',
    create: () =>
      map(
        (t: Trade): Alert => ({ type: 'alert', venue: t.venue, symbol: t.symbol, tsEvent: t.tsEvent, tsRecv: t.tsRecv, id: `a${t.id}`, severity: 'info', rule: 'test', message: 'hi' }),
      ),
  });
  const collected: string[] = [];
  const collect = defineSink({
    kind: 'test-collect',
    summary: 'collects ids',
    params: z.strictObject({}),
    input: 'any',
    create: (_params, ctx) =>
      map((record: Signal): Delivery => {
        collected.push(`${ctx.node}:${record.id}`);
        return { type: 'delivery', sink: ctx.node, status: 'delivered', eventType: record.type, eventId: record.id };
      }),
  });
  const registry = createRegistry([trades, toSignal, toAlert, collect, ...builtinOperators, ...builtinSinks]);
  return { registry, stats, collected };
}

describe('compilePipeline', () => {
  it('runs a shared node once for all its consumers, even with a synchronous source', async () => {
    const { registry, stats, collected } = countingRegistry();
    const pipeline = compilePipeline(
      {
        name: 'fan-out',
        nodes: [
          { id: 'trades', use: 'test-trades' },
          { id: 'signals', use: 'test-signals', from: 'trades' },
          { id: 'a', use: 'test-collect', from: 'signals' },
          { id: 'b', use: 'test-collect', from: 'signals' },
        ],
      },
      quiet,
      { registry },
    );
    const out = await lastValueFrom(pipeline.run$.pipe(toArray()));
    expect(stats.subscriptions, 'the source ran once').toBe(1);
    expect(collected.sort(), 'both sinks saw every signal once').toStrictEqual(['a:s1', 'a:s2', 'a:s3', 'b:s1', 'b:s2', 'b:s3']);
    expect(out.filter((record) => record.type === 'signal'), 'signals are part of the run').toHaveLength(3);
    expect(out.filter((record) => record.type === 'delivery'), 'one delivery per sink per signal').toHaveLength(6);
  });

  it('exposes signals and alerts as views of one run', () => {
    const { registry, stats } = countingRegistry();
    const pipeline = compilePipeline(
      {
        name: 'views',
        nodes: [
          { id: 'trades', use: 'test-trades', params: { endless: true } },
          { id: 'signals', use: 'test-signals', from: ['trades'] },
          { id: 'alerts', use: 'test-alerts', from: ['trades'] },
        ],
      },
      quiet,
      { registry },
    );
    const signals: Signal[] = [];
    const alerts: Alert[] = [];
    const a = pipeline.signals$.subscribe((s) => signals.push(s));
    const b = pipeline.alerts$.subscribe((s) => alerts.push(s));
    a.unsubscribe();
    b.unsubscribe();
    expect(signals.map((s) => s.id)).toStrictEqual(['s1', 's2', 's3']);
    // The source is synchronous: it ran for the first view; the second view shares the still-open run.
    expect(stats.subscriptions, 'one run while both views were subscribed').toBe(1);
    expect(alerts, 'alerts of a synchronous run reach only views subscribed before it emitted').toStrictEqual([]);
    expect(stats.releases, 'unsubscribing the last view released the source').toBe(1);
  });

  it('releases every source when the run is unsubscribed', () => {
    const { registry, stats } = countingRegistry();
    const pipeline = compilePipeline(
      {
        name: 'release',
        nodes: [
          { id: 'trades', use: 'test-trades', params: { endless: true } },
          { id: 'signals', use: 'test-signals', from: 'trades' },
          { id: 'out', use: 'discard', from: 'signals' },
        ],
      },
      quiet,
      { registry },
    );
    const subscription = pipeline.run$.subscribe();
    expect(stats.subscriptions).toBe(1);
    subscription.unsubscribe();
    expect(stats.releases, 'teardown ran').toBe(1);
  });

  it('keeps two pipelines in one process independent', async () => {
    const one = countingRegistry();
    const config = {
      name: 'twin',
      nodes: [
        { id: 'trades', use: 'test-trades', params: { count: 2 } },
        { id: 'signals', use: 'test-signals', from: 'trades' },
        { id: 'out', use: 'discard', from: 'signals' },
      ],
    };
    const first = compilePipeline(config, quiet, { registry: one.registry });
    const second = compilePipeline(config, quiet, { registry: one.registry });
    await Promise.all([lastValueFrom(first.run$, { defaultValue: undefined }), lastValueFrom(second.run$, { defaultValue: undefined })]);
    expect(first.metrics.snapshot(), 'each run counts its own records').toStrictEqual(second.metrics.snapshot());
    expect(first.metrics).not.toBe(second.metrics);
    expect(first.metrics.counter('alphaflow_discarded_total', '').total()).toBe(2);
  });

  it('merges several inputs of a fan-in operator', async () => {
    const source = defineSource({
      kind: 'numbers',
      summary: 'numbers',
      params: z.strictObject({ values: z.array(z.number()) }),
      output: 'trade',
      create: ({ values }) => from(values.map((v) => trade({ id: v }))),
    });
    const union = defineOperator({
      kind: 'union',
      summary: 'pass-through of several inputs',
      params: z.strictObject({}),
      input: 'trade',
      output: 'trade',
      arity: 'many',
      create: () => map((t: Trade) => t),
    });
    const registry = createRegistry([source, union, ...builtinSinks]);
    const pipeline = compilePipeline(
      {
        name: 'fan-in',
        nodes: [
          { id: 'a', use: 'numbers', params: { values: [1, 2] } },
          { id: 'b', use: 'numbers', params: { values: [3] } },
          { id: 'both', use: 'union', from: ['a', 'b'] },
          { id: 'out', use: 'discard', from: 'both' },
        ],
      },
      quiet,
      { registry },
    );
    await lastValueFrom(pipeline.run$, { defaultValue: undefined });
    expect(pipeline.metrics.counter('alphaflow_discarded_total', '').total()).toBe(3);
  });

  it('does not start anything before subscribe', () => {
    const { registry, stats } = countingRegistry();
    compilePipeline({ name: 'cold', nodes: [{ id: 'trades', use: 'test-trades' }, { id: 'out', use: 'discard', from: 'trades' }] }, quiet, { registry });
    expect(stats.subscriptions).toBe(0);
  });

  it('runs a never-ending source until unsubscribed', () => {
    const never = defineSource({ kind: 'never', summary: 'never', params: z.strictObject({}), output: 'trade', create: () => NEVER });
    const registry = createRegistry([never, ...builtinSinks]);
    const pipeline = compilePipeline({ name: 'idle', nodes: [{ id: 'n', use: 'never' }, { id: 'out', use: 'discard', from: 'n' }] }, quiet, { registry });
    let done = false;
    const subscription = pipeline.run$.subscribe({ complete: () => (done = true) });
    expect(done).toBe(false);
    subscription.unsubscribe();
  });
});
