/**
 * `coinbase-live` recorded and replayed (src/sources/live/recorder.ts, replay-file `mode:
 * live-source`): against the mock Coinbase server, a run with a sequence jump (every book resynced
 * by resubscribing level2) and a dropped connection (a reconnect, books resynced from the new
 * socket's snapshots) is recorded, then replayed through the same core; the market records, and
 * their hash, equal live's. No timing assertions: the `waitFor` timeouts only detect hangs.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { lastValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createContext } from '../../../src/context.js';
import { startMockCoinbase } from '../../../src/mock/coinbase.js';
import type { BookDepth, Flow, Gap, Status, Trade } from '../../../src/model/index.js';
import { coinbaseLive, coinbaseLiveParams, coinbaseLiveSource } from '../../../src/sources/coinbase/coinbaseLive.js';
import type { CoinbaseRecord } from '../../../src/sources/coinbase/parse.js';
import { isRecordable, MarketDigest, Recorder, type LiveRecord } from '../../../src/sources/live/recorder.js';
import { readRecording, type ReadEntry } from '../../../src/sources/replay/recording.js';
import { replayFileSource, replayLiveSource } from '../../../src/sources/replay/replayFile.js';
import { activeHandles, waitFor } from '../../support/waitFor.js';

const dir = mkdtempSync(join(tmpdir(), 'alphaflow-coinbase-record-'));
const silent = pino({ level: 'silent' });

async function readAll(path: string): Promise<ReadEntry[]> {
  const entries: ReadEntry[] = [];
  for await (const batch of readRecording(path)) entries.push(...batch);
  return entries;
}

const market = (records: readonly LiveRecord[]): LiveRecord[] => records.filter((record) => record.type !== 'gap' && record.type !== 'status');

function digestOf(records: readonly LiveRecord[]): MarketDigest {
  const digest = new MarketDigest();
  for (const record of records) digest.add(record);
  return digest;
}

describe('record and replay coinbase-live end to end (mock Coinbase)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('is a recordable source', () => {
    expect(isRecordable(coinbaseLiveSource)).toBe(true);
  });

  it('does replay a recording with a sequence jump and a dropped connection into the same market records as live', async () => {
    const baseline = activeHandles();
    // Heartbeats well inside the fast stall deadline; the market moves on its own.
    const mock = await startMockCoinbase({ products: ['BTC-USD', 'ETH-USD'], startPrices: { 'ETH-USD': 3_000 }, seed: 13, tickMs: 10, heartbeatMs: 100 });
    cleanups.push(async () => {
      await mock.close();
      await waitFor(() => activeHandles().length <= baseline.length, 5_000);
    });
    const params = coinbaseLiveParams.parse({ symbols: ['BTC-USD', 'ETH-USD'], channels: ['trades', 'ticker', 'level2'], wsUrl: mock.url, timing: { profile: 'fast' } });
    const path = join(dir, 'coinbase.ndjson.gz');
    const recorder = await Recorder.open({ path, clock: () => Date.now(), logger: silent });
    const live: Flow<CoinbaseRecord>[] = [];
    const errors: unknown[] = [];
    const subscription = coinbaseLive(params, createContext({ node: 'coinbase', logger: silent }), { tap: recorder.tap('coinbase') }).subscribe({
      next: (record) => live.push(record),
      error: (err: unknown) => errors.push(err),
    });
    cleanups.push(() => {
      subscription.unsubscribe();
    });
    const of = <T extends Flow<CoinbaseRecord>>(type: T['type']): T[] => live.filter((record): record is T => record.type === type);
    const snapshots = (symbol: string): number => of<BookDepth>('book-depth').filter((book) => book.symbol === symbol && book.snapshot).length;
    const connected = (): number => of<Status>('status').filter((status) => status.symbol === '*' && status.state === 'live').length;

    await waitFor(() => of<Trade>('trade').length > 10 && snapshots('BTC-USD') > 0 && snapshots('ETH-USD') > 0, 20_000);

    // A sequence jump: every book gets a gap and is resubscribed for a fresh snapshot.
    const btcSnapshots = snapshots('BTC-USD');
    mock.faults.skipSequence(3);
    await waitFor(() => of<Gap>('gap').some((gap) => gap.reason.startsWith('sequence_num jumped')) && snapshots('BTC-USD') > btcSnapshots, 20_000);

    // A dropped connection: a reconnect, the new socket numbers from 0, books resync from its snapshots.
    const before = connected();
    const ethSnapshots = snapshots('ETH-USD');
    mock.faults.terminate();
    await waitFor(() => connected() > before && snapshots('ETH-USD') > ethSnapshots, 20_000);
    const trades = of<Trade>('trade').length;
    await waitFor(() => of<Trade>('trade').length > trades + 10, 20_000);

    subscription.unsubscribe();
    const stats = await recorder.close();
    expect(errors).toEqual([]);
    expect(stats).toMatchObject({ dropped: 0, failed: 0, late: 0 });

    const entries = await readAll(path);
    expect(entries.some((entry) => entry.kind === 'start' && entry.use === 'coinbase-live'), 'the start line names the kind').toBe(true);
    expect(entries.some((entry) => entry.kind === 'close'), 'the cut is in the recording').toBe(true);
    expect(entries.some((entry) => entry.kind === 'live' && entry.phase === 'reconnect'), 'and the reconnect').toBe(true);
    expect(entries.some((entry) => entry.kind === 'send' && entry.frame.includes('"type":"unsubscribe"')), 'and the resync\'s unsubscribe').toBe(true);

    const liveDigest = digestOf(live);
    expect(liveDigest.count, 'live emitted market records').toBeGreaterThan(0);

    const replayed = await lastValueFrom(replayLiveSource({ path, source: 'coinbase' }, createContext({ node: 'replayed', logger: silent })).pipe(toArray()));
    expect(market(replayed), 'the same market records, tsRecv included, in the same order').toEqual(market(live));
    expect(digestOf(replayed).hex()).toBe(liveDigest.hex());
    expect(replayed.some((record) => record.type === 'gap' && record.reason.startsWith('sequence_num jumped')), 'the jump is found again in replay').toBe(true);
    expect(replayed.some((record) => record.type === 'gap' && record.reason.startsWith('connection lost')), 'the cut is a gap in replay too').toBe(true);

    // The registry definition (`alphaflow run` with mode: live-source) replays the same and logs the hash.
    const logs: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(line) });
    const viaDefinition = await lastValueFrom(replayFileSource.create(replayFileSource.params.parse({ path, mode: 'live-source' }), createContext({ node: 'coinbase', logger })).pipe(toArray()));
    expect(digestOf(viaDefinition).hex()).toBe(liveDigest.hex());
    const ended = logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((log) => log.msg === 'replay ended');
    expect(ended).toMatchObject({ marketSha256: liveDigest.hex(), marketRecords: liveDigest.count, dropped: 0 });
  }, 90_000);
});
