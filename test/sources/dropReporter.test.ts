import { pino } from 'pino';
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../src/context.js';
import { Metrics, METRIC } from '../../src/metrics.js';
import { createDropReporter } from '../../src/sources/dropReporter.js';

function setup() {
  const lines: { msg: string; reason?: string; origin?: string; suppressed?: number }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
  const scheduler = new VirtualTimeScheduler();
  const ctx = createContext({ logger, scheduler, metrics: new Metrics() });
  return { ctx, lines, scheduler, counter: ctx.metrics.counter(METRIC.dropped, '') };
}

describe('createDropReporter', () => {
  it('counts each drop by source and the reason before its colon, and warns with the origin', () => {
    const { ctx, lines, counter } = setup();
    const drops = createDropReporter(ctx, 'klines');
    drops.drop('data.csv:17', 'bad price: "NaN"', '1,NaN,2');
    drops.drop('data.csv:18', 'bad price: "-1"');
    expect(counter.get({ source: 'klines', reason: 'bad price' })).toBe(2);
    expect(drops.count).toBe(2);
    expect(lines.map((line) => line.msg)).toStrictEqual(['dropped record at data.csv:17: bad price: "NaN"', 'dropped record at data.csv:18: bad price: "-1"']);
  });

  it('rate-limits warnings per reason and summarizes what it suppressed', () => {
    const { ctx, lines } = setup();
    const drops = createDropReporter(ctx, 'feed', { warnLimit: 2 });
    for (let i = 0; i < 5; i++) drops.drop(`line ${i}`, 'invalid JSON');
    expect(lines.filter((line) => line.msg.startsWith('dropped record')), 'two warnings, then silence').toHaveLength(2);
    drops.summarize();
    expect(lines.find((line) => line.msg === 'more records dropped for the same reason')?.suppressed).toBe(3);
  });

  it('caps distinct reason labels so a feed cannot grow the counters without bound', () => {
    const { ctx, counter } = setup();
    const drops = createDropReporter(ctx, 'feed', { warnLimit: 0 });
    for (let i = 0; i < 100; i++) drops.drop('frame', `unsupported event "e${i}"`);
    const labels = counter.samples().map((sample) => sample.labels.reason);
    expect(new Set(labels).size, '64 distinct reasons and "other"').toBe(65);
    expect(counter.get({ source: 'feed', reason: 'other' })).toBe(36);
    expect(counter.total(), 'every drop is still counted').toBe(100);
  });
});
