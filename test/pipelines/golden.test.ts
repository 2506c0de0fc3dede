import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { lastValueFrom, toArray, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { SignalSchema, type Signal } from '../../src/model/index.js';
import { compilePipeline } from '../../src/pipelines/compile.js';
import { applyOverrides, loadPipelineFile } from '../../src/pipelines/load.js';
import { REPO_ROOT } from '../support/data.js';

/** One simulated day of the default pipeline, exactly as `npm start` runs it, bounded. */
async function defaultConfig(overrides: readonly string[]): Promise<{ raw: unknown; baseDir: string }> {
  const loaded = await loadPipelineFile('pipelines/default.yaml', REPO_ROOT);
  return { raw: applyOverrides(loaded.raw, ['trades.duration=1d', ...overrides]), baseDir: loaded.baseDir };
}

const discard = new Writable({
  write: (_chunk, _encoding, done) => {
    done();
  },
});

function hash(signals: readonly Signal[]): string {
  return createHash('sha256').update(JSON.stringify(signals)).digest('hex');
}

/** Paced at the config's speed on a virtual-time scheduler: the backtest path. */
async function runInVirtualTime(): Promise<Signal[]> {
  const { raw, baseDir } = await defaultConfig([]);
  const scheduler = new VirtualTimeScheduler();
  const pipeline = compilePipeline(raw, { logger: pino({ level: 'silent' }), scheduler, baseDir, stdout: discard });
  const signals: Signal[] = [];
  let complete = false;
  pipeline.signals$.subscribe({ next: (s) => signals.push(s), complete: () => (complete = true) });
  scheduler.flush();
  expect(complete, 'the bounded run completes within one flush of virtual time').toBe(true);
  expect(scheduler.now(), 'one simulated day took a day of virtual time / 3600').toBeGreaterThan(23 * 1000);
  return signals;
}

/** Unpaced: as fast as the machine allows. */
async function runAsFastAsPossible(): Promise<Signal[]> {
  const { raw, baseDir } = await defaultConfig([]);
  const config = raw as { nodes: { id: string; params?: Record<string, unknown> }[] };
  const trades = config.nodes.find((node) => node.id === 'trades');
  expect(trades?.params?.speed, 'the default pipeline is paced').toBeDefined();
  delete trades?.params?.speed;
  const pipeline = compilePipeline(config, { logger: pino({ level: 'silent' }), baseDir, stdout: discard });
  return lastValueFrom(pipeline.signals$.pipe(toArray()));
}

describe('the default pipeline with a fixed seed (golden)', () => {
  it('yields the same signals on every run, paced in virtual time or as fast as possible', async () => {
    const first = await runInVirtualTime();
    const second = await runInVirtualTime();
    const fast = await runAsFastAsPossible();
    expect(first.length, 'a simulated day yields signals').toBeGreaterThan(0);
    for (const signal of first) expect(SignalSchema.safeParse(signal).success, 'every signal satisfies the schema').toBe(true);
    expect(hash(second), 'a second run is identical').toBe(hash(first));
    expect(hash(fast), 'pacing changes when records arrive, never what they are').toBe(hash(first));
    // Pinned: a change here means the simulator, an indicator, a voter or the risk plan changed
    // behaviour. If that was intended, update the hash and say why in the commit.
    expect({ signals: first.length, sha256: hash(first) }).toMatchInlineSnapshot(`
      {
        "sha256": "3b0f0365657cf02abdc0dcce2523dcf67b16e45793bb6b4371f5b17951cb58dd",
        "signals": 6,
      }
    `);
  });
});
