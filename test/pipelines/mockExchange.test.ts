/**
 * `alphaflow mock-exchange`, spawned for real: it prints its URLs, a WebSocket client gets market
 * data from them, SIGINT closes it with exit 0; bad flags and a busy port exit 2 with every
 * problem named.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { REPO_ROOT } from '../support/data.js';
import { waitFor } from '../support/waitFor.js';

const CLI = join(REPO_ROOT, 'src', 'pipelines', 'cli.ts');

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

/** The first data frame a client gets on `url`. */
function firstFrame(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('message', (data: WebSocket.RawData) => {
      ws.close();
      resolve(Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8'));
    });
    ws.on('error', reject);
  });
}

describe('alphaflow mock-exchange', () => {
  it('prints its URLs and an example --set line, serves market data on them, and exits 0 on SIGINT', async () => {
    const mock = alphaflow(['mock-exchange', '--symbols', 'BTC-USDT,ETHUSDT', '--seed', '7', '--timing', 'test']);
    await waitFor(() => mock.stdout().includes('Ctrl-C stops it.'), 30_000);
    const spot = /spot {2}WebSocket (ws:\/\/\S+) {2}REST (http:\/\/\S+)/.exec(mock.stdout());
    const usdm = /usdm {2}WebSocket (ws:\/\/\S+) {2}REST (http:\/\/\S+)/.exec(mock.stdout());
    expect(spot, mock.stdout()).not.toBeNull();
    expect(usdm, mock.stdout()).not.toBeNull();
    const [, spotWs = '', spotRest = ''] = spot ?? [];
    const [, usdmWs = '', usdmRest = ''] = usdm ?? [];
    expect(mock.stdout()).toContain('Mock Binance on loopback: BTC-USDT, ETH-USDT; seed 7, realtime, test timing');
    expect(mock.stdout(), 'ready to paste').toContain(
      `alphaflow run pipelines/binance-live.yaml --set spot.wsUrl=${spotWs} --set spot.restUrl=${spotRest} --set futures.wsUrl=${usdmWs} --set futures.restUrl=${usdmRest}`,
    );

    const frame = JSON.parse(await firstFrame(`${spotWs}/stream?streams=btcusdt@aggTrade`)) as { stream?: string; data?: { e?: string; s?: string } };
    expect(frame).toMatchObject({ stream: 'btcusdt@aggTrade', data: { e: 'aggTrade', s: 'BTCUSDT' } });
    const book = (await (await fetch(`${usdmRest}/fapi/v1/depth?symbol=ETHUSDT&limit=5`)).json()) as { bids?: unknown[] };
    expect(book.bids, 'REST answers too').toHaveLength(5);

    mock.signal('SIGINT');
    const exit = await mock.exited;
    expect(exit.code, mock.stderr()).toBe(0);
    expect(mock.stderr()).toContain('SIGINT: every connection and server closed');
  }, 60_000);

  it('exits 2 naming every bad flag, and a port that is in use', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      const bad = alphaflow(['mock-exchange', '--symbols', 'BTC-USDT,FOO', '--seed=-1', '--port-usdm', '70000', '--mode', 'manual', '--timing', 'fast']);
      const taken = alphaflow(['mock-exchange', '--port-spot', String(port)]);
      const extra = alphaflow(['mock-exchange', 'now']);
      const [badExit, takenExit, extraExit] = await Promise.all([bad.exited, taken.exited, extra.exited]);
      expect([badExit.code, takenExit.code, extraExit.code]).toEqual([2, 2, 2]);
      expect(bad.stderr()).toContain('alphaflow mock-exchange: 5 bad options:');
      for (const problem of [
        '--symbols: "FOO" is not a symbol',
        '--seed "-1" is not an integer >= 0',
        '--port-usdm "70000" is not a port from 0 to 65535',
        '--mode "manual" is not one of realtime, firehose',
        '--timing "fast" is not one of production, test',
      ]) {
        expect(bad.stderr()).toContain(problem);
      }
      expect(taken.stderr()).toContain(`cannot listen on port ${port}: it is in use`);
      expect(extra.stderr()).toContain('"alphaflow mock-exchange" takes no arguments, only flags (got "now")');
      expect(bad.stdout() + taken.stdout(), 'nothing started').toBe('');
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  }, 60_000);
});
