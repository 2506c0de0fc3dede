/**
 * The contract every registry entry keeps (STYLE.md R9), run by each unit's test file:
 *
 * - the params schema accepts the given params and rejects unknown keys;
 * - `create` does no work before subscribe (no timers, no handles, no logs);
 * - two subscriptions do not share state;
 * - unsubscribing runs teardown (scheduler empty, handles back to where they were).
 */
import { pino } from 'pino';
import { defer, from, lastValueFrom, type Observable, type OperatorFunction, toArray, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createContext, type NodeContext } from '../../src/context.js';
import type { Definition } from '../../src/definitions.js';
import { Metrics } from '../../src/metrics.js';

export interface ContractOptions {
  /** Params as an author writes them; must produce a working node. */
  readonly params: unknown;
  /** For operators and sinks: a finite input, built fresh for each call. */
  readonly input?: () => readonly unknown[];
  /** Context overrides (e.g. `baseDir`, `stdout`). */
  readonly ctx?: Partial<NodeContext>;
  /** Run the source on a virtual-time scheduler until it completes (for paced sources). */
  readonly virtualTime?: boolean;
  /** The node emits nothing by design (a discard sink): skip the "emits something" check. */
  readonly emitsNothing?: boolean;
}

function quietContext(overrides: Partial<NodeContext> = {}): NodeContext {
  return createContext({ logger: pino({ level: 'silent' }), metrics: new Metrics(), ...overrides });
}

function activeHandles(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind !== 'TTYWrap').length;
}

/** Runs a stream to completion: on the virtual scheduler when given, else on real time. */
async function collect(stream$: Observable<unknown>, scheduler?: VirtualTimeScheduler): Promise<unknown[]> {
  if (scheduler === undefined) return lastValueFrom(stream$.pipe(toArray()), { defaultValue: [] });
  const out: unknown[] = [];
  let done = false;
  let failure: unknown;
  const isDone = (): boolean => done;
  stream$.subscribe({
    next: (value) => out.push(value),
    error: (err: unknown) => {
      failure = err;
      done = true;
    },
    complete: () => {
      done = true;
    },
  });
  // Sources that read files interleave real I/O with virtual time: flush until they finish.
  for (let spins = 0; !isDone() && spins < 10_000; spins++) {
    scheduler.flush();
    if (!isDone()) await new Promise((resolve) => setImmediate(resolve));
  }
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(`stream failed with ${JSON.stringify(failure)}`);
  expect(done, 'the stream completes').toBe(true);
  return out;
}

function build(definition: Definition, options: ContractOptions, ctx: NodeContext): Observable<unknown> {
  const params: unknown = definition.params.parse(options.params);
  if (definition.role === 'source') return definition.create(params, ctx);
  const input = options.input;
  if (input === undefined) throw new Error(`contract for "${definition.kind}" needs an input`);
  // The same operator instance serves every subscription: state must live per subscription.
  const operator = definition.create(params, ctx) as OperatorFunction<unknown, unknown>;
  return defer(() => from(input())).pipe(operator);
}

/** Registers the contract tests for `definition`. */
export function testDefinitionContract(definition: Definition, options: ContractOptions): void {
  describe(`${definition.role} "${definition.kind}" keeps the definition contract`, () => {
    it('has a kebab-case kind and a one-line summary', () => {
      expect(definition.kind).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
      expect(definition.summary.length, 'summary is not empty').toBeGreaterThan(0);
      expect(definition.summary).not.toContain('\n');
    });

    it('accepts the given params and rejects unknown keys', () => {
      expect(definition.params.safeParse(options.params).success, 'given params are valid').toBe(true);
      const extended = { ...(options.params as Record<string, unknown>), notAParam: 1 };
      const result = definition.params.safeParse(extended);
      expect(result.success, 'unknown param keys are rejected').toBe(false);
    });

    it('does no work before subscribe', () => {
      const scheduler = new VirtualTimeScheduler();
      let logged = 0;
      const logger = pino({ level: 'trace' }, {
        write: () => {
          logged++;
        },
      });
      const before = activeHandles();
      const ctx = quietContext({ ...options.ctx, scheduler, logger });
      const params: unknown = definition.params.parse(options.params);
      const created: unknown = definition.create(params, ctx);
      expect(created, 'create returns the node').toBeDefined();
      expect(scheduler.actions.length, 'nothing scheduled').toBe(0);
      expect(logged, 'nothing logged').toBe(0);
      expect(activeHandles(), 'no handles opened').toBe(before);
    });

    it('gives two subscriptions independent state', async () => {
      const first = await run();
      if (options.emitsNothing !== true) expect(first.length, 'the node emits something for the contract input').toBeGreaterThan(0);
      const [a, b] = await Promise.all([run(), run()]);
      expect(a).toStrictEqual(first);
      expect(b).toStrictEqual(first);

      async function run(): Promise<unknown[]> {
        const scheduler = options.virtualTime === true ? new VirtualTimeScheduler() : undefined;
        const ctx = quietContext({ ...options.ctx, ...(scheduler === undefined ? {} : { scheduler }) });
        return collect(build(definition, options, ctx), scheduler);
      }
    });

    it('releases everything on unsubscribe', async () => {
      const scheduler = new VirtualTimeScheduler();
      const before = activeHandles();
      const ctx = quietContext({ ...options.ctx, scheduler });
      const subscription = build(definition, options, ctx).subscribe({ error: () => undefined });
      subscription.unsubscribe();
      expect(subscription.closed).toBe(true);
      scheduler.flush();
      expect(scheduler.actions.length, 'no scheduled work left').toBe(0);
      // Closing a file handle completes on the next turns of the event loop.
      for (let i = 0; i < 50 && activeHandles() > before; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(activeHandles(), 'handles back to where they were').toBeLessThanOrEqual(before);
    });
  });
}
