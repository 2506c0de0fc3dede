import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startMockBinance } from '../../src/mock/binance/index.js';

/** Active handles, ignoring the immediate the polling loop itself uses. */
function resources(): string[] {
  return process.getActiveResourcesInfo().filter((resource) => resource !== 'Immediate').sort();
}

/** Handles open now that were not open at the baseline (the runner's own timers may come and go). */
function leaks(baseline: readonly string[]): string[] {
  const left = [...baseline];
  const extra: string[] = [];
  for (const resource of resources()) {
    const index = left.indexOf(resource);
    if (index >= 0) left.splice(index, 1);
    else extra.push(resource);
  }
  return extra;
}

/** Leaked handles once pending closes have run (sockets and servers close on a later turn). */
async function settledLeaks(baseline: readonly string[]): Promise<string[]> {
  for (let i = 0; i < 1_000 && leaks(baseline).length > 0; i++) await new Promise((resolve) => setImmediate(resolve));
  return leaks(baseline);
}

function open(url: string): Promise<{ ws: WebSocket; frames: string[]; closed: Promise<number> }> {
  const ws = new WebSocket(url);
  const frames: string[] = [];
  ws.on('message', (data: Buffer) => frames.push(data.toString()));
  ws.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => ws.once('close', resolve));
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      resolve({ ws, frames, closed });
    });
    ws.once('error', reject);
  });
}

describe('mock Binance lifecycle', () => {
  it('close() releases every socket, server and timer, in every mode', async () => {
    const baseline = resources();
    for (const mode of ['realtime', 'firehose', 'manual'] as const) {
      const mock = await startMockBinance({
        mode,
        warmupMs: 10_000,
        timing: 'test',
        symbols: [{ symbol: 'BTC-USDT', tradeRate: 200 }],
        spot: { maxAgeMs: 60_000, shutdownNoticeMs: 1_000 },
        usdm: { maxAgeMs: 60_000 },
      });
      const a = await open(`${mock.spotWsUrl}/stream?streams=btcusdt@aggTrade/btcusdt@depth@100ms`);
      const b = await open(`${mock.usdmWsUrl}/market/ws/btcusdt@markPrice@1s`);
      if (mode === 'manual') mock.sim.advanceBy(2_000);
      while (a.frames.length < 3) await new Promise((resolve) => setImmediate(resolve));
      mock.faults.slowRest({ delayMs: 60_000, count: 1, path: '/api/v3/time' });
      const pending = fetch(`${mock.spotRestUrl}/api/v3/time`).then(
        () => 'answered',
        () => 'cut',
      );
      expect(((await (await fetch(`${mock.usdmRestUrl}/fapi/v1/time`)).json()) as { serverTime: number }).serverTime).toBeGreaterThan(0);
      mock.faults.terminate({ afterMs: 60_000 });
      await mock.close();
      expect(await pending, `${mode}: a delayed answer is cut, not left hanging`).toBe('cut');
      expect(await Promise.all([a.closed, b.closed]), `${mode}: clients see the server go`).toEqual([1006, 1006]);
      expect(await settledLeaks(baseline), `${mode}: nothing left running`).toEqual([]);
      expect(mock.stats.snapshot().connectionsOpen).toBe(0);
    }
  });

  it('close() can be called twice', async () => {
    const mock = await startMockBinance({ mode: 'manual', warmupMs: 0 });
    await Promise.all([mock.close(), mock.close()]);
    await expect(mock.close()).resolves.toBeUndefined();
  });
});
