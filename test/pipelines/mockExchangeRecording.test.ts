/**
 * `alphaflow mock-exchange --recording`, spawned for real: it prints its URLs, a WebSocket client
 * gets the recorded frames, SIGINT closes it with exit 0; bad flags exit 2 with every problem named.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { REPO_ROOT } from '../support/data.js';
import { waitFor } from '../support/waitFor.js';

const CLI = join(REPO_ROOT, 'src', 'pipelines', 'cli.ts');
const dir = mkdtempSync(join(tmpdir(), 'alphaflow-mock-recording-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Child {
  stdout(): string;
  stderr(): string;
  signal(name: NodeJS.Signals): void;
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
}

/** Starts `alphaflow <args>`; a run still going after `timeoutMs` is killed (a hang detector). */
function alphaflow(args: readonly string[], timeoutMs = 60_000): Child {
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
  return { stdout: () => stdout, stderr: () => stderr, signal: (name) => child.kill(name), exited };
}

const TRADES = [1, 2, 3].map(
  (id) => `{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":${id},"s":"BTCUSDT","a":${id},"p":"100.0","q":"1","f":${id},"l":${id},"T":${id},"m":false,"M":true}}`,
);

/** A recording written by hand in the documented format: a header, an ack to skip, three trades. */
function writeRecording(): string {
  const path = join(dir, 'trades.ndjson');
  const lines = [
    '{"k":"meta","format":"alphaflow-recording","version":1,"t":1700000000000}',
    '{"t":1700000000001,"v":"binance","c":"spot:binance#0","e":1,"k":"recv","d":{"result":null,"id":1}}',
    ...TRADES.map((frame, i) => `{"t":${1700000000010 + i},"v":"binance","c":"spot:binance#0","e":1,"k":"recv","d":${frame}}`),
  ];
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

describe('alphaflow mock-exchange --recording', () => {
  it('prints its URLs, replays the recording to a subscriber, and exits 0 on SIGINT', async () => {
    const path = writeRecording();
    const mock = alphaflow(['mock-exchange', '--recording', path, '--speed', 'max']);
    await waitFor(() => mock.stdout().includes('Ctrl-C stops it.'), 30_000);
    expect(mock.stdout()).toContain(`Mock Binance on loopback replaying ${path} at speed max`);
    const spot = /spot {2}WebSocket (ws:\/\/\S+) {2}REST (http:\/\/\S+)/.exec(mock.stdout());
    expect(spot, mock.stdout()).not.toBeNull();
    const [, spotWs = '', spotRest = ''] = spot ?? [];
    expect(mock.stdout(), 'no USD-M in a spot-only recording').not.toContain('usdm');
    expect(mock.stdout()).toContain(`alphaflow run pipelines/binance-live.yaml --set spot.wsUrl=${spotWs} --set spot.restUrl=${spotRest}`);

    const ws = new WebSocket(`${spotWs}/stream`);
    const received: string[] = [];
    ws.on('message', (data: WebSocket.RawData) => received.push(Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8')));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send('{"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":1}');
    await waitFor(() => received.length === 1 + TRADES.length);
    expect(received).toEqual(['{"result":null,"id":1}', ...TRADES]);
    await waitFor(() => mock.stderr().includes('recording ended'));

    mock.signal('SIGINT');
    const exit = await mock.exited;
    expect(exit.code, mock.stderr()).toBe(0);
    expect(mock.stderr()).toContain('SIGINT: every connection and server closed (3 frames sent)');
    ws.terminate();
  }, 60_000);

  it('exits 2 naming every bad flag', async () => {
    const bad = alphaflow(['mock-exchange', '--recording', join(dir, 'missing.ndjson'), '--speed', 'fast', '--seed', '3']);
    const stray = alphaflow(['mock-exchange', '--speed', '2']);
    const [badExit, strayExit] = await Promise.all([bad.exited, stray.exited]);
    expect([badExit.code, strayExit.code]).toEqual([2, 2]);
    expect(bad.stderr()).toContain('alphaflow mock-exchange: 3 bad options:');
    for (const problem of [
      `--recording "${join(dir, 'missing.ndjson')}" is not a file that exists`,
      '--speed "fast" is not a positive number, 0 or max',
      '--seed does not apply with --recording',
    ]) {
      expect(bad.stderr()).toContain(problem);
    }
    expect(stray.stderr()).toContain('--speed "2" applies only with --recording');
    expect(bad.stdout() + stray.stdout(), 'nothing started').toBe('');
  }, 60_000);
});
