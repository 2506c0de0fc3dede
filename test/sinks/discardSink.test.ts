import { pino } from 'pino';
import { lastValueFrom, of, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../src/context.js';
import { Metrics } from '../../src/metrics.js';
import { discardSink, toDiscard } from '../../src/sinks/discardSink.js';
import { signal } from '../support/builders.js';
import { testDefinitionContract } from '../support/contracts.js';

describe('toDiscard', () => {
  it('consumes records, emits no deliveries and counts what it discarded', async () => {
    const ctx = createContext({ logger: pino({ level: 'silent' }), metrics: new Metrics(), node: 'null' });
    const out = await lastValueFrom(of(signal(), signal()).pipe(toDiscard(ctx), toArray()));
    expect(out).toStrictEqual([]);
    expect(ctx.metrics.counter('alphaflow_discarded_total', '').get({ sink: 'null' })).toBe(2);
  });
});

testDefinitionContract(discardSink, { params: {}, input: () => [signal()], emitsNothing: true });
