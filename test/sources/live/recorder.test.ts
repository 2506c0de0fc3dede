/**
 * The recorder (src/sources/live/recorder.ts): the lines it writes, gzip, order, REST answers,
 * shutdown flush and overflow accounting; and end to end: `binance-live` against the mock
 * exchange with a cut connection and a depth gap, recorded, then replayed as a live source, with
 * the same market records (and hash) as live.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { defer, lastValueFrom, of, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createContext } from '../../../src/context.js';
import { createRegistry, defineSource, type SourceDefinition } from '../../../src/definitions.js';
import { METRIC, Metrics } from '../../../src/metrics.js';
import { startMockBinance } from '../../../src/mock/binance/index.js';
import type { BookDepth, Candle, Flow, Gap, Status, Trade } from '../../../src/model/index.js';
import { binanceLive, binanceLiveParams, binanceLiveSource } from '../../../src/sources/binance/binanceLive.js';
import type { BinanceRecord } from '../../../src/sources/binance/parse.js';
import {
  isRecordable,
  MarketDigest,
  Recorder,
  RecordingFileError,
  recordableSource,
  recordingRegistry,
  type LiveRecord,
  type LiveTap,
} from '../../../src/sources/live/recorder.js';
import { readRecording, type ReadEntry } from '../../../src/sources/replay/recording.js';
import { replayFileSource, replayLiveSource } from '../../../src/sources/replay/replayFile.js';
import { activeHandles, waitFor } from '../../support/waitFor.js';

const dir = mkdtempSync(join(tmpdir(), 'alphaflow-recorder-'));
let files = 0;
const fresh = (extension: string): string => join(dir, `rec-${++files}.${extension}`);
const silent = pino({ level: 'silent' });

async function readAll(path: string): Promise<ReadEntry[]> {
  const entries: ReadEntry[] = [];
  for await (const batch of readRecording(path)) entries.push(...batch);
  return entries;
}

function lines(path: string): string[] {
  const raw = readFileSync(path);
  const text = path.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  return text.split('\n').filter((line) => line !== '');
}

const AGG =
  '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1700000000100,"s":"BTCUSDT","a":7,"p":"42000.10","q":"0.5","f":7,"l":7,"T":1700000000099,"m":false,"M":true}}';

/** Feeds one source's worth of tap calls: start, a socket's life, a REST answer. */
function feed(tap: LiveTap): void {
  tap.start({ use: 'binance-live', venue: 'binance', ts: 1_700_000_000_000, params: { market: 'spot', symbols: ['BTC-USDT'] } });
  tap.wire('binance#0', 'binance', { kind: 'open', epoch: 1, url: 'ws://127.0.0.1:9/stream', ts: 1_700_000_000_001 });
  tap.wire('binance#0', 'binance', { kind: 'send', epoch: 1, data: '{"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":1}', ts: 1_700_000_000_002 });
  tap.wire('binance#0', 'binance', { kind: 'recv', epoch: 1, data: '{"result":null,"id":1}', ts: 1_700_000_000_003 });
  tap.wire('binance#0', 'binance', { kind: 'live', epoch: 1, phase: 'start', ts: 1_700_000_000_003 });
  tap.wire('binance#0', 'binance', { kind: 'recv', epoch: 1, data: AGG, ts: 1_700_000_000_104 });
  tap.rest('rest', 'binance', {
    url: 'http://127.0.0.1:9/api/v3/depth?symbol=BTCUSDT&limit=1000',
    status: 200,
    headers: { date: 'Tue, 14 Nov 2023 22:13:20 GMT', 'x-mbx-used-weight-1m': '50' },
    body: '{"lastUpdateId":5,"bids":[["42000.00","1.0"]],"asks":[["42000.20","2.0"]]}',
    tsRecv: 1_700_000_000_150,
  });
  tap.wire('binance#0', 'binance', { kind: 'recv', epoch: 1, data: 'not json {', ts: 1_700_000_000_160 });
  tap.wire('binance#0', 'binance', { kind: 'close', epoch: 1, code: 1006, reason: '', ts: 1_700_000_000_200 });
}

describe('Recorder', () => {
  it('does write the header first, then every entry in the order it came, in the documented layout', async () => {
    const path = fresh('ndjson');
    const recorder = await Recorder.open({ path, clock: () => 1_699_999_999_999, logger: silent, info: { pipeline: 'btc' } });
    feed(recorder.tap('spot'));
    const stats = await recorder.close();
    expect(lines(path)).toEqual([
      '{"k":"meta","format":"alphaflow-recording","version":1,"t":1699999999999,"info":{"pipeline":"btc"}}',
      '{"t":1700000000000,"v":"binance","c":"spot","e":0,"k":"start","use":"binance-live","d":{"market":"spot","symbols":["BTC-USDT"]}}',
      '{"t":1700000000001,"v":"binance","c":"spot:binance#0","e":1,"k":"open","u":"ws://127.0.0.1:9/stream"}',
      '{"t":1700000000002,"v":"binance","c":"spot:binance#0","e":1,"k":"send","d":{"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":1}}',
      '{"t":1700000000003,"v":"binance","c":"spot:binance#0","e":1,"k":"recv","d":{"result":null,"id":1}}',
      '{"t":1700000000003,"v":"binance","c":"spot:binance#0","e":1,"k":"live","phase":"start"}',
      `{"t":1700000000104,"v":"binance","c":"spot:binance#0","e":1,"k":"recv","d":${AGG}}`,
      '{"t":1700000000150,"v":"binance","c":"spot:rest","e":0,"k":"rest","u":"http://127.0.0.1:9/api/v3/depth?symbol=BTCUSDT&limit=1000","status":200,"h":{"date":"Tue, 14 Nov 2023 22:13:20 GMT","x-mbx-used-weight-1m":"50"},"d":{"lastUpdateId":5,"bids":[["42000.00","1.0"]],"asks":[["42000.20","2.0"]]}}',
      '{"t":1700000000160,"v":"binance","c":"spot:binance#0","e":1,"k":"recv","s":"not json {"}',
      '{"t":1700000000200,"v":"binance","c":"spot:binance#0","e":1,"k":"close","code":1006,"reason":""}',
    ]);
    expect(stats, 'every entry written, none lost').toMatchObject({ lines: 10, dropped: 0, failed: 0, late: 0, error: undefined, gzip: false });
  });

  it('does gzip a .gz path, and the reader gives back every entry, REST headers and frame text included', async () => {
    const path = fresh('ndjson.gz');
    const recorder = await Recorder.open({ path, clock: () => 1, logger: silent });
    feed(recorder.tap('spot'));
    await recorder.close();
    expect([...readFileSync(path).subarray(0, 2)], 'gzip magic bytes').toEqual([0x1f, 0x8b]);
    const entries = await readAll(path);
    expect(entries.map((entry) => entry.kind)).toEqual(['meta', 'start', 'open', 'send', 'recv', 'live', 'recv', 'rest', 'recv', 'close']);
    expect(entries[6]).toMatchObject({ kind: 'recv', conn: 'spot:binance#0', epoch: 1, time: 1_700_000_000_104, frame: AGG });
    expect(entries[7]).toMatchObject({ kind: 'rest', conn: 'spot:rest', status: 200, headers: { date: 'Tue, 14 Nov 2023 22:13:20 GMT', 'x-mbx-used-weight-1m': '50' } });
    expect(entries[8], 'a frame that is not JSON comes back byte for byte').toMatchObject({ kind: 'recv', frame: 'not json {' });
    expect(entries[1]).toMatchObject({ kind: 'start', conn: 'spot', use: 'binance-live', params: '{"market":"spot","symbols":["BTC-USDT"]}' });
  });

  it('does flush everything queued on close, even what came in the same tick, and counts what comes after', async () => {
    const path = fresh('ndjson.gz');
    const logs: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => logs.push(line) });
    const recorder = await Recorder.open({ path, clock: () => 1, logger });
    const tap = recorder.tap('spot');
    for (let i = 0; i < 1_000; i++) tap.wire('binance#0', 'binance', { kind: 'recv', epoch: 1, data: AGG.replace('"a":7', `"a":${i}`), ts: 2 + i });
    const closing = recorder.close();
    tap.wire('binance#0', 'binance', { kind: 'close', epoch: 1, code: 1000, reason: 'stopped', ts: 5_000 });
    const stats = await closing;
    const entries = await readAll(path);
    expect(entries.length, 'header + 1000 frames, nothing lost on shutdown').toBe(1_001);
    expect(entries.flatMap((entry) => (entry.kind === 'recv' ? [entry.time] : []))).toEqual(Array.from({ length: 1_000 }, (_, i) => 2 + i));
    expect(stats).toMatchObject({ lines: 1_001, dropped: 0, late: 1 });
    expect(logs.join(''), 'a late entry is not silent').toContain('arrived after the recording was closed');
    expect(await recorder.close(), 'closing twice is harmless').toEqual(stats);
  });

  it('does drop entries when its buffer is full, counting each one and writing the loss into the recording', async () => {
    const path = fresh('ndjson');
    const metrics = new Metrics();
    const logs: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => logs.push(line) });
    const recorder = await Recorder.open({ path, clock: () => 1, logger, metrics, maxBufferedBytes: 4_096 });
    const tap = recorder.tap('spot');
    // All in one tick: nothing is written until the next turn, so the buffer fills.
    for (let i = 0; i < 100; i++) tap.wire('binance#0', 'binance', { kind: 'recv', epoch: 1, data: AGG, ts: 10 + i });
    const stats = await recorder.close();
    const entries = await readAll(path);
    const frames = entries.filter((entry) => entry.kind === 'recv').length;
    expect(stats.dropped, 'some were dropped').toBeGreaterThan(0);
    expect(frames + stats.dropped, 'every entry is either in the file or counted').toBe(100);
    const loss = entries.find((entry, index) => index > 0 && entry.kind === 'meta');
    expect(loss, 'the file says what it is missing').toMatchObject({ kind: 'meta', info: { lost: stats.dropped, from: 10 + frames, to: 109, reason: 'recorder buffer full' } });
    const counted = metrics.snapshot().find((sample) => sample.name === METRIC.dropped && sample.labels.source === 'recorder');
    expect(counted?.value).toBe(stats.dropped);
    expect(logs.join(''), 'said loudly').toContain('the disk is not keeping up');
  });

  it.skipIf(!existsSync('/dev/full'))('does report a write error (disk full) once, count what is lost, and still close', async () => {
    const logs: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => logs.push(line) });
    const recorder = await Recorder.open({ path: '/dev/full', clock: () => 1, logger, overwrite: true });
    const tap = recorder.tap('spot');
    tap.wire('binance#0', 'binance', { kind: 'recv', epoch: 1, data: AGG, ts: 2 });
    await waitFor(() => recorder.stats.error !== undefined);
    for (let i = 0; i < 5; i++) tap.wire('binance#0', 'binance', { kind: 'recv', epoch: 1, data: AGG, ts: 3 + i });
    const stats = await recorder.close();
    expect(stats.error).toMatch(/ENOSPC/);
    expect(stats.failed, 'the entries after the error are counted').toBe(5);
    expect(logs.filter((line) => line.includes('failed: entries from now on are lost')), 'said once').toHaveLength(1);
    expect(logs.join(''), 'and the close says the recording is incomplete').toContain('is incomplete');
  });

  it('does refuse to overwrite a recording, naming the file, and to open an impossible path', async () => {
    const path = fresh('ndjson.gz');
    await (await Recorder.open({ path, clock: () => 1, logger: silent })).close();
    await expect(Recorder.open({ path, clock: () => 1, logger: silent })).rejects.toThrow(new RecordingFileError(path, `Cannot record to "${path}": it already exists (choose another file or delete it; a recording is never overwritten)`));
    await expect(Recorder.open({ path: join(path, 'below-a-file.ndjson'), clock: () => 1, logger: silent })).rejects.toThrow(/Cannot create the folder of the recording/);
    const again = await Recorder.open({ path, clock: () => 1, logger: silent, overwrite: true });
    expect((await again.close()).lines, 'overwrite: true replaces it').toBe(1);
  });
});

describe('recordingRegistry and MarketDigest', () => {
  it('does give recordable sources the tap under their node id and leave every other definition as it is', async () => {
    const trade: Trade = { type: 'trade', venue: 'test', symbol: 'BTC-USDT', tsEvent: 1, tsRecv: 2, id: 1, price: 10, qty: 1, side: 'buy' };
    const params = z.strictObject({});
    const plain: SourceDefinition = defineSource({ kind: 'plain', summary: 'not live', params, output: 'any', create: () => of(trade) });
    const started: string[] = [];
    const recordable = recordableSource(defineSource({ kind: 'fake-live', summary: 'live', params, output: 'trade', create: () => of(trade) }), {
      create: (_params, _ctx, tap) =>
        defer(() => {
          tap.start({ use: 'fake-live', venue: 'test', ts: 1, params: {} });
          return of(trade);
        }),
    });
    const taps: string[] = [];
    const wrapped = recordingRegistry(createRegistry([recordable, plain]), {
      tap: (source) => {
        taps.push(source);
        return { start: (event) => started.push(`${source} ${event.use}`), wire: () => undefined, rest: () => undefined };
      },
    });
    expect(isRecordable(binanceLiveSource), 'binance-live is recordable').toBe(true);
    expect(isRecordable(plain)).toBe(false);
    expect(wrapped.get('plain'), 'not recordable: unchanged').toBe(plain);
    const live = wrapped.get('fake-live');
    if (live?.role !== 'source') throw new Error('fake-live is a source');
    const records$ = live.create({}, createContext({ node: 'spot', logger: silent }));
    expect(taps, 'nothing is tapped before subscribe').toEqual([]);
    expect(await lastValueFrom(records$.pipe(toArray())), 'the data is unchanged').toEqual([trade]);
    expect(started, 'the tap is the node\'s').toEqual(['spot fake-live']);
  });

  it('does hash market records only, in order', () => {
    const trade: Trade = { type: 'trade', venue: 'binance', symbol: 'BTC-USDT', tsEvent: 1, tsRecv: 2, id: 1, price: 10, qty: 1, side: 'buy' };
    const status: Status = { type: 'status', venue: 'binance', symbol: '*', tsEvent: 3, tsRecv: 3, state: 'live', detail: 'x' };
    const a = new MarketDigest();
    const b = new MarketDigest();
    a.add(trade);
    a.add(status);
    b.add(trade);
    expect(a.hex(), 'control events are not in the hash').toBe(b.hex());
    expect(a.count).toBe(1);
    b.add({ ...trade, id: 2 });
    expect(b.hex()).not.toBe(a.hex());
  });
});

describe('record and replay binance-live end to end (mock exchange)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('does replay a recording with a cut connection, a backfill and a book resync into the same market records as live', async () => {
    const baseline = activeHandles();
    const mock = await startMockBinance({ symbols: ['BTC-USDT', 'ETH-USDT'], seed: 23, timing: 'test' });
    cleanups.push(async () => {
      await mock.close();
      await waitFor(() => activeHandles().length <= baseline.length, 5_000);
    });
    const params = binanceLiveParams.parse({
      symbols: ['BTC-USDT', 'ETH-USDT'],
      klines: ['1s'],
      depth: true,
      wsUrl: mock.spotWsUrl,
      restUrl: mock.spotRestUrl,
      timing: { profile: 'fast' },
    });
    const path = fresh('ndjson.gz');
    const recorder = await Recorder.open({ path, clock: () => Date.now(), logger: silent });
    const ctx = createContext({ node: 'spot', logger: silent });
    const live: Flow<BinanceRecord>[] = [];
    const errors: unknown[] = [];
    const subscription = binanceLive(params, ctx, { tap: recorder.tap('spot') }).subscribe({ next: (record) => live.push(record), error: (err: unknown) => errors.push(err) });
    const of = <T extends Flow<BinanceRecord>>(type: T['type']): T[] => live.filter((record): record is T => record.type === type);
    const lives = (): number => of<Status>('status').filter((status) => status.state === 'live' && status.detail.includes('streams subscribed')).length;

    await waitFor(() => of<Trade>('trade').length > 30 && of<BookDepth>('book-depth').some((book) => book.snapshot) && of<Candle>('candle').length >= 2, 15_000);
    const before = lives();
    mock.faults.terminate();
    await waitFor(() => lives() > before, 15_000);
    const snapshots = of<BookDepth>('book-depth').filter((book) => book.snapshot).length;
    // Holes that only REST can fill: aggTrade ids, and 1 s bars.
    mock.faults.skipAggTrades(3);
    mock.faults.skip(2, { stream: 'btcusdt@kline_1s' });
    mock.faults.skipDepthUpdates(3);
    await waitFor(() => of<Gap>('gap').some((gap) => gap.stream === 'book-depth') && of<BookDepth>('book-depth').filter((book) => book.snapshot).length > snapshots + 1, 15_000);
    // The fast profile renews every connection after 4 s (make-before-break): wait for one.
    await waitFor(() => of<Status>('status').some((status) => status.detail.endsWith('renewed')), 15_000);
    const trades = of<Trade>('trade').length;
    await waitFor(() => of<Trade>('trade').length > trades + 20, 15_000);
    subscription.unsubscribe();
    const stats = await recorder.close();
    expect(errors).toEqual([]);
    expect(stats).toMatchObject({ dropped: 0, failed: 0, late: 0 });

    const entries = await readAll(path);
    expect(entries.filter((entry) => entry.kind === 'close').length, 'the cut is in the recording').toBeGreaterThanOrEqual(1);
    expect(entries.some((entry) => entry.kind === 'live' && entry.phase === 'reconnect'), 'and the reconnect').toBe(true);
    expect(entries.some((entry) => entry.kind === 'live' && entry.phase === 'renewal'), 'and a renewal').toBe(true);
    const restPaths = new Set(entries.flatMap((entry) => (entry.kind === 'rest' ? [new URL(entry.url).pathname] : [])));
    expect([...restPaths].sort(), 'book snapshots, and trades and klines backfilled after the cut').toEqual(['/api/v3/aggTrades', '/api/v3/depth', '/api/v3/klines']);
    const gaps = of<Gap>('gap');
    expect(gaps.some((gap) => gap.reason.startsWith('connection lost')), 'live saw the cut').toBe(true);

    const replayCtx = createContext({ node: 'replayed', logger: silent });
    const replayed = await lastValueFrom(replayLiveSource({ path, source: 'spot' }, replayCtx).pipe(toArray()));
    const market = (records: readonly LiveRecord[]): LiveRecord[] => records.filter((record) => record.type !== 'gap' && record.type !== 'status');
    const liveDigest = new MarketDigest();
    const replayDigest = new MarketDigest();
    for (const record of live) liveDigest.add(record);
    for (const record of replayed) replayDigest.add(record);
    expect(market(replayed).length, 'the same number of market records').toBe(market(live).length);
    expect(market(replayed), 'the same market records, tsRecv included, in the same order').toEqual(market(live));
    expect(replayDigest.hex()).toBe(liveDigest.hex());
    expect(replayed.some((record) => record.type === 'gap' && record.reason.startsWith('connection lost')), 'the cut is a gap in the replay too').toBe(true);

    // The registry definition (what `alphaflow run` uses) replays the same, again (deterministic),
    // and says it used every recorded answer.
    const logs: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(line) });
    const definition$ = replayFileSource.create(replayFileSource.params.parse({ path, mode: 'live-source' }), createContext({ node: 'spot', logger }));
    const viaDefinition = await lastValueFrom(definition$.pipe(toArray()));
    expect(market(viaDefinition)).toEqual(market(live));
    const ended = logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((log) => log.msg === 'replay ended');
    expect(ended).toMatchObject({ marketSha256: liveDigest.hex(), marketRecords: liveDigest.count, dropped: 0, unmatchedAnswers: 0 });

    // Without the core (mode records), the parsers alone give something else: no REST snapshot,
    // no backfill; the equality above is the core's doing.
    const parsedOnly = await lastValueFrom(replayFileSource.create(replayFileSource.params.parse({ path }), replayCtx).pipe(toArray()));
    expect(parsedOnly.some((record) => record.type === 'book-depth' && record.snapshot)).toBe(false);
    expect(market(parsedOnly)).not.toEqual(market(live));
  }, 90_000);
});
