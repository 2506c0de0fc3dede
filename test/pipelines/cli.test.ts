import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SignalSchema } from '../../src/model/index.js';
import { hasSharedData, REPO_ROOT } from '../support/data.js';

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

const CLI = join(REPO_ROOT, 'src', 'pipelines', 'cli.ts');

/** Runs `alphaflow <args>`; `interruptWhen` sends SIGINT once stdout satisfies it. */
function alphaflow(args: readonly string[], options: { interruptWhen?: (stdout: string) => boolean; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`alphaflow ${args.join(' ')} did not finish in time\nstdout: ${stdout.slice(0, 500)}\nstderr: ${stderr.slice(-2000)}`));
    }, options.timeoutMs ?? 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!interrupted && options.interruptWhen?.(stdout) === true) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const tmp = mkdtempSync(join(tmpdir(), 'alphaflow-cli-'));

describe('alphaflow CLI', () => {
  it('lists every source, operator, indicator and sink with its params', async () => {
    const run = await alphaflow(['list']);
    expect(run.code).toBe(0);
    for (const kind of ['simulator-trades', 'binance-klines-csv', 'build-candles', 'features', 'consensus', 'risk-plan', 'console', 'macd', 'volume-profile']) {
      expect(run.stdout, `list shows ${kind}`).toContain(kind);
    }
    expect(run.stdout, 'defaults are shown').toContain('[default "1m"]');
  });

  it('validates a good config and shows its graph', async () => {
    const run = await alphaflow(['validate', 'pipelines/default.yaml']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('✓ pipelines/default.yaml is valid: pipeline "default", 9 nodes');
    expect(run.stdout).toContain('consensus       consensus ← trend, momentum, mean-reversion → consensus 1m');
  });

  it('exits 2 with every problem listed for a bad config, before anything starts', async () => {
    const file = join(tmp, 'bad.yaml');
    writeFileSync(file, 'name: bad\nnodes:\n  - { id: trades, use: simulator-trade }\n  - { id: out, use: console, from: trade }\n');
    for (const command of ['validate', 'run']) {
      const run = await alphaflow([command, file]);
      expect(run.code, `${command} exits 2`).toBe(2);
      expect(run.stdout, 'nothing ran').toBe('');
      expect(run.stderr).toContain('is invalid (2 problems)');
      expect(run.stderr).toContain('Unknown kind "simulator-trade" (node "trades"). Did you mean "simulator-trades"?');
      expect(run.stderr).toContain('Node "out" reads from "trade", which does not exist. Did you mean "trades"?');
    }
  });

  it('exits 2 for a config without a sink, a missing file, a bad override and an unknown command', async () => {
    const noSink = join(tmp, 'no-sink.yaml');
    writeFileSync(noSink, 'name: quiet\nnodes:\n  - { id: trades, use: simulator-trades, params: { limit: 10 } }\n');
    const [noSinkRun, missingRun, overrideRun, commandRun] = await Promise.all([
      alphaflow(['run', noSink]),
      alphaflow(['run', join(tmp, 'missing.yaml')]),
      alphaflow(['run', 'pipelines/default.yaml', '--set', 'nosuch.seed=1']),
      alphaflow(['frobnicate']),
    ]);
    expect([noSinkRun.code, missingRun.code, overrideRun.code, commandRun.code]).toStrictEqual([2, 2, 2, 2]);
    expect(noSinkRun.stderr).toContain('has no sink');
    expect(missingRun.stderr).toContain('file not found');
    expect(overrideRun.stderr).toContain('names node "nosuch", which does not exist');
    expect(commandRun.stderr).toContain('Unknown command "frobnicate"');
  });

  it('stops cleanly on SIGINT: signals on stdout, logs on stderr, exit 0', async () => {
    const run = await alphaflow(['run', 'pipelines/default.yaml'], { interruptWhen: (out) => out.includes('\n') });
    expect(run.code, `exit code (stderr: ${run.stderr.slice(-1000)})`).toBe(0);
    const first = run.stdout.split('\n')[0] ?? '';
    const signal = SignalSchema.parse(JSON.parse(first));
    expect(signal.votes.length, 'a signal carries its vote breakdown').toBe(3);
    expect(signal.stopLoss < signal.entry === (signal.direction === 'long'), 'the stop is on the losing side').toBe(true);
    const logs = run.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string });
    expect(logs.map((log) => log.msg)).toContain('stopping: releasing every source and sink');
    expect(logs.map((log) => log.msg)).toContain('pipeline stopped');
  });

  it.skipIf(!hasSharedData('binance-klines/BTCUSDT-1m-2025-01-01_2025-02-04.csv.gz'))(
    'runs the real klines to the end and writes NDJSON signals when piped',
    async () => {
      const run = await alphaflow(['run', 'pipelines/btc-klines.yaml', '--set', 'klines.to=2025-01-08T00:00:00Z']);
      expect(run.code, run.stderr.slice(-1000)).toBe(0);
      const lines = run.stdout.trim().split('\n');
      expect(lines.length, 'a week of real 1m bars yields signals').toBeGreaterThan(0);
      for (const line of lines) {
        const signal = SignalSchema.parse(JSON.parse(line));
        expect(signal.closeTime).toBeLessThan(Date.UTC(2025, 0, 8));
      }
      expect(run.stderr).toContain('"reason":"finished"');
    },
  );
});
