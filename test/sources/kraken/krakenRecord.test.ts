/**
 * `kraken-live` recorded and replayed (src/sources/live/recorder.ts, replay-file `mode:
 * live-source`): against the mock Kraken v2 server, a run with a flipped checksum (a per-symbol
 * book resync) and a dropped connection (a reconnect) is recorded, then replayed through the same
 * core; the market records, and their hash, equal live's. No timing assertions: the `waitFor`
 * timeouts only detect hangs.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { lastValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createContext } from '../../../src/context.js';
import { startMockKraken } from '../../../src/mock/kraken.js';
import type { BookDepth, Candle, Flow, Gap, Status, Trade } from '../../../src/model/index.js';
import { krakenLive, krakenLiveParams, krakenLiveSource } from '../../../src/sources/kraken/krakenLive.js';
import type { KrakenRecord } from '../../../src/sources/kraken/parse.js';
import { isRecordable, MarketDigest, Recorder, type LiveRecord } from '../../../src/sources/live/recorder.js';
import { readRecording, type ReadEntry } from '../../../src/sources/replay/recording.js';
import { replayFileSource, replayLiveSource } from '../../../src/sources/replay/replayFile.js';
import { activeHandles, waitFor } from '../../support/waitFor.js';

const dir = mkdtempSync(join(tmpdir(), 'alphaflow-kraken-record-'));
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

describe('record and replay kraken-live end to end (mock Kraken)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('is a recordable source', () => {
    expect(isRecordable(krakenLiveSource)).toBe(true);
  });

  it('does replay a recording with a checksum resync and a dropped connection into the same market records as live', async () => {
    const baseline = activeHandles();
    const mock = await startMockKraken({
      pairs: [
        { symbol: 'BTC/USD', pricePrecision: 1, qtyPrecision: 8, price: 50_000 },
        { symbol: 'ETH/USD', pricePrecision: 2, qtyPrecision: 8, price: 3_000 },
      ],
      seed: 11,
      stepMs: 1_000,
      tickMs: 10,
    });
    cleanups.push(async () => {
      await mock.close();
      await waitFor(() => activeHandles().length <= baseline.length, 5_000);
    });
    const params = krakenLiveParams.parse({
      symbols: ['BTC-USD', 'ETH-USD'],
      ticker: true,
      book: true,
      ohlc: ['1m'],
      wsUrl: mock.url,
      timing: { profile: 'fast' },
    });
    const path = join(dir, 'kraken.ndjson.gz');
    const recorder = await Recorder.open({ path, clock: () => Date.now(), logger: silent });
    const live: Flow<KrakenRecord>[] = [];
    const errors: unknown[] = [];
    const subscription = krakenLive(params, createContext({ node: 'kraken', logger: silent }), { tap: recorder.tap('kraken') }).subscribe({
      next: (record) => live.push(record),
      error: (err: unknown) => errors.push(err),
    });
    cleanups.push(() => {
      subscription.unsubscribe();
    });
    const of = <T extends Flow<KrakenRecord>>(type: T['type']): T[] => live.filter((record): record is T => record.type === type);
    const snapshots = (symbol: string): number => of<BookDepth>('book-depth').filter((book) => book.symbol === symbol && book.snapshot).length;
    const connected = (): number => of<Status>('status').filter((status) => status.symbol === '*' && status.state === 'live').length;

    await waitFor(() => of<Trade>('trade').length > 10 && snapshots('BTC-USD') > 0 && snapshots('ETH-USD') > 0 && of<Candle>('candle').length > 0, 20_000);

    // A flipped checksum: a gap, BTC's book alone resubscribed, and forwarded again from a fresh snapshot.
    const btcSnapshots = snapshots('BTC-USD');
    mock.faults.flipNextChecksum('BTC/USD');
    await waitFor(() => of<Gap>('gap').some((gap) => gap.reason.startsWith('checksum mismatch on BTC-USD')) && snapshots('BTC-USD') > btcSnapshots, 20_000);

    // A dropped connection: a reconnect, every stream resubscribed, books resynced.
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
    expect(entries.some((entry) => entry.kind === 'start' && entry.use === 'kraken-live'), 'the start line names the kind').toBe(true);
    expect(entries.some((entry) => entry.kind === 'close'), 'the cut is in the recording').toBe(true);
    expect(entries.some((entry) => entry.kind === 'live' && entry.phase === 'reconnect'), 'and the reconnect').toBe(true);
    expect(entries.some((entry) => entry.kind === 'send' && entry.frame.includes('"method":"unsubscribe"')), 'and the resync\'s unsubscribe').toBe(true);

    const liveDigest = digestOf(live);
    expect(liveDigest.count, 'live emitted market records').toBeGreaterThan(0);

    const replayed = await lastValueFrom(replayLiveSource({ path, source: 'kraken' }, createContext({ node: 'replayed', logger: silent })).pipe(toArray()));
    expect(market(replayed), 'the same market records, tsRecv included, in the same order').toEqual(market(live));
    expect(digestOf(replayed).hex()).toBe(liveDigest.hex());
    expect(replayed.some((record) => record.type === 'gap' && record.reason.startsWith('checksum mismatch on BTC-USD')), 'the mismatch is found again in replay').toBe(true);
    expect(replayed.some((record) => record.type === 'gap' && record.reason.startsWith('connection lost')), 'the cut is a gap in replay too').toBe(true);

    // The registry definition (`alphaflow run` with mode: live-source) replays the same and logs the hash.
    const logs: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(line) });
    const viaDefinition = await lastValueFrom(replayFileSource.create(replayFileSource.params.parse({ path, mode: 'live-source' }), createContext({ node: 'kraken', logger })).pipe(toArray()));
    expect(digestOf(viaDefinition).hex()).toBe(liveDigest.hex());
    const ended = logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((log) => log.msg === 'replay ended');
    expect(ended).toMatchObject({ marketSha256: liveDigest.hex(), marketRecords: liveDigest.count, dropped: 0 });
  }, 90_000);
});
