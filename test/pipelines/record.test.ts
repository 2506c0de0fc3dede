/**
 * `alphaflow record`, spawned for real, against the mock Binance started in this process: it
 * records a pipeline through a cut connection until SIGINT, the recording is complete, and
 * `alphaflow run` of the same pipeline with its source swapped to the replay emits the same
 * market records, with the same hash in the logs.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startMockBinance } from '../../src/mock/binance/index.js';
import { REPO_ROOT } from '../support/data.js';
import { waitFor } from '../support/waitFor.js';

const CLI = join(REPO_ROOT, 'src', 'pipelines', 'cli.ts');
const tmp = mkdtempSync(join(tmpdir(), 'alphaflow-record-'));

interface Child {
  stdout(): string;
  stderr(): string;
  interrupt(): void;
  /** Exit code and signal, once the process has ended. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
}

/** Starts `alphaflow <args>`; a run still going after `timeoutMs` is killed (a hang detector). */
function alphaflow(args: readonly string[], timeoutMs = 90_000): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
  return { stdout: () => stdout, stderr: () => stderr, interrupt: () => child.kill('SIGINT'), exited };
}

interface Line {
  readonly type: string;
  readonly [field: string]: unknown;
}

const records = (stdout: string): Line[] =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Line);
const market = (lines: readonly Line[]): Line[] => lines.filter((line) => line.type !== 'gap' && line.type !== 'status');

/** The JSON log lines (stderr) with this message. */
function logs(stderr: string, msg: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((log) => log.msg === msg);
}

function config(name: string, source: string): string {
  const path = join(tmp, `${name}.yaml`);
  writeFileSync(path, `name: ${name}\nnodes:\n  - id: spot\n${source}\n  - { id: out, use: console, from: spot, params: { format: ndjson } }\n`);
  return path;
}

describe('alphaflow record', () => {
  it('records a live pipeline through a cut connection until SIGINT, and the recording replays to the same market records and hash', async () => {
    const mock = await startMockBinance({ symbols: ['BTC-USDT'], seed: 5, timing: 'test' });
    try {
      const live = config(
        'live',
        `    use: binance-live\n    params: { symbols: [BTC-USDT], klines: [1s], depth: true, wsUrl: "${mock.spotWsUrl}", restUrl: "${mock.spotRestUrl}", timing: { profile: fast } }`,
      );
      const out = join(tmp, 'day.ndjson.gz');
      const recording = alphaflow(['record', live, '--out', out]);
      const seen = (type: string): number => records(recording.stdout()).filter((line) => line.type === type).length;
      await waitFor(() => seen('trade') >= 20 && records(recording.stdout()).some((line) => line.type === 'book-depth' && line.snapshot === true), 30_000);
      mock.faults.terminate();
      await waitFor(() => records(recording.stdout()).some((line) => line.type === 'gap' && String(line.reason).startsWith('connection lost')), 30_000);
      const trades = seen('trade');
      await waitFor(() => seen('trade') > trades + 20, 30_000);
      recording.interrupt();
      const recorded = await recording.exited;
      expect(recorded.code, `exit code (stderr: ${recording.stderr().slice(-1500)})`).toBe(0);

      expect([...readFileSync(out).subarray(0, 2)], 'a gzip file').toEqual([0x1f, 0x8b]);
      const [closed] = logs(recording.stderr(), `recording ${out} closed`);
      expect(closed?.recording, 'flushed and closed, nothing dropped').toMatchObject({ path: out, gzip: true, dropped: 0, failed: 0, late: 0 });
      const [stopped] = logs(recording.stderr(), 'recorded source stopped');
      expect(stopped?.marketRecords, 'the hash covers what the source emitted').toBe(market(records(recording.stdout())).length);

      const replay = config('replay', `    use: replay-file\n    params: { path: "${out}", mode: live-source }`);
      const replaying = alphaflow(['run', replay]);
      const replayed = await replaying.exited;
      expect(replayed.code, replaying.stderr().slice(-1500)).toBe(0);
      const [ended] = logs(replaying.stderr(), 'replay ended');
      expect(ended, 'nothing in the recording went unused or wrong').toMatchObject({ dropped: 0, unmatchedAnswers: 0 });
      expect(ended?.marketSha256, 'the replay hash is the recording run\'s').toBe(stopped?.marketSha256);
      expect(market(records(replaying.stdout())), 'the same market records, tsRecv included').toEqual(market(records(recording.stdout())));
      expect(records(replaying.stdout()).some((line) => line.type === 'gap' && String(line.reason).startsWith('connection lost')), 'the cut is a gap in the replay too').toBe(true);
    } finally {
      await mock.close();
    }
  }, 120_000);

  it('exits 2 before recording anything without --out, without a live source, or when --out exists', async () => {
    const simulated = config('simulated', '    use: simulator-trades\n    params: { limit: 10 }');
    const live = config('unreachable', '    use: binance-live\n    params: { symbols: [BTC-USDT], wsUrl: "ws://127.0.0.1:9", restUrl: "http://127.0.0.1:9" }');
    const existing = join(tmp, 'existing.ndjson.gz');
    writeFileSync(existing, 'keep me');
    const unwritten = join(tmp, 'never.ndjson.gz');
    const noSinkConfig = join(tmp, 'no-sink.yaml');
    writeFileSync(noSinkConfig, 'name: quiet\nnodes:\n  - { id: spot, use: binance-live, params: { symbols: [BTC-USDT], wsUrl: "ws://127.0.0.1:9", restUrl: "http://127.0.0.1:9" } }\n');
    const unwrittenToo = join(tmp, 'never-either.ndjson.gz');
    const [noOut, noLive, exists, badConfig, noSink] = await Promise.all([
      alphaflow(['record', live]),
      alphaflow(['record', simulated, '--out', unwritten]),
      alphaflow(['record', live, '--out', existing]),
      alphaflow(['record', live, '--out', unwritten, '--set', 'spot.symbols=[NOPE]']),
      alphaflow(['record', noSinkConfig, '--out', unwrittenToo]),
    ].map(async (child) => ({ ...(await child.exited), stderr: child.stderr(), stdout: child.stdout() })));
    expect([noOut?.code, noLive?.code, exists?.code, badConfig?.code, noSink?.code]).toEqual([2, 2, 2, 2, 2]);
    expect(noSink?.stderr).toContain('has no sink');
    expect(existsSync(unwrittenToo), 'a pipeline that never ran leaves no recording').toBe(false);
    expect(noOut?.stderr).toContain('"alphaflow record" needs --out <file.ndjson.gz>');
    expect(noLive?.stderr).toContain('has no live source to record (it uses simulator-trades, console); sources that can be recorded: binance-live');
    expect(exists?.stderr).toContain(`Cannot record to "${existing}": it already exists`);
    expect(readFileSync(existing, 'utf8'), 'an existing file is never overwritten').toBe('keep me');
    expect(badConfig?.stderr).toContain('Symbol "NOPE" is not recognised');
    expect(existsSync(unwritten), 'no recording for a run that never started').toBe(false);
  }, 60_000);
});
