import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { lastValueFrom, type Observable, toArray, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createContext, type NodeContext } from '../../../src/context.js';
import { METRIC, Metrics } from '../../../src/metrics.js';
import { createBinanceParser, type BinanceMarket, type BinanceRecord } from '../../../src/sources/binance/parse.js';
import { formatRecordingLine, recordingHeader, type RecordingEntry } from '../../../src/sources/replay/recording.js';
import { replayFile, replayFileParams, replayFileSource } from '../../../src/sources/replay/replayFile.js';
import { testDefinitionContract } from '../../support/contracts.js';

const dir = mkdtempSync(join(tmpdir(), 'alphaflow-replay-'));
const T = 1_700_000_000_000;
const SPOT_URL = 'wss://stream.binance.com:9443/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade/btcusdt@bookTicker';
const USDM_URL = 'wss://fstream.binance.com/market/stream?streams=btcusdt@markPrice/btcusdt@forceOrder';

function aggTrade(id: number, at: number, symbol = 'BTCUSDT', price = '43000.10'): string {
  const data = `{"e":"aggTrade","E":${at + 2},"s":"${symbol}","a":${id},"p":"${price}","q":"0.0${id % 9}100000","f":${id * 3},"l":${id * 3 + 1},"T":${at},"m":${id % 2 === 0},"M":true}`;
  return `{"stream":"${symbol.toLowerCase()}@aggTrade","data":${data}}`;
}

const bookTicker = `{"stream":"btcusdt@bookTicker","data":{"u":400900217,"s":"BTCUSDT","b":"42999.90","B":"1.20000","a":"43000.10","A":"0.80000"}}`;
const markPrice = `{"stream":"btcusdt@markPrice","data":{"e":"markPriceUpdate","E":${T + 3_000},"s":"BTCUSDT","p":"43001.12","i":"42998.50","P":"0","r":"0.0001","T":${T + 3_600_000}}}`;
const forceOrder = `{"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":${T + 4_000},"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.014","p":"42900.00","ap":"42950.00","X":"FILLED","l":"0.014","z":"0.014","T":${T + 3_998}}}}`;

/** A session: spot and USD-M connections, a subscription reply, a REST answer, a reconnect. */
const session: RecordingEntry[] = [
  recordingHeader(T),
  { kind: 'open', time: T, feed: 'binance', conn: '1', epoch: 1, url: SPOT_URL },
  { kind: 'open', time: T, feed: 'binance-usdm', conn: '2', epoch: 1, url: USDM_URL },
  { kind: 'send', time: T + 1, feed: 'binance', conn: '1', epoch: 1, frame: '{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms"],"id":1}' },
  { kind: 'recv', time: T + 40, feed: 'binance', conn: '1', epoch: 1, frame: '{"result":null,"id":1}' },
  { kind: 'recv', time: T + 1_000, feed: 'binance', conn: '1', epoch: 1, frame: aggTrade(1, T + 990) },
  { kind: 'recv', time: T + 1_000, feed: 'binance', conn: '1', epoch: 1, frame: aggTrade(2, T + 995, 'ETHUSDT', '2063.88') },
  { kind: 'recv', time: T + 1_500, feed: 'binance', conn: '1', epoch: 1, frame: bookTicker },
  { kind: 'rest', time: T + 2_000, feed: 'binance', conn: 'book:BTC-USDT', epoch: 1, url: 'https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=5', status: 200, body: '{"lastUpdateId":1,"bids":[],"asks":[]}' },
  { kind: 'recv', time: T + 3_000, feed: 'binance-usdm', conn: '2', epoch: 1, frame: markPrice },
  { kind: 'recv', time: T + 4_000, feed: 'binance-usdm', conn: '2', epoch: 1, frame: forceOrder },
  { kind: 'close', time: T + 5_000, feed: 'binance', conn: '1', epoch: 1, code: 1006, reason: '' },
  { kind: 'open', time: T + 6_000, feed: 'binance', conn: '1', epoch: 2, url: SPOT_URL },
  { kind: 'recv', time: T + 11_000, feed: 'binance', conn: '1', epoch: 2, frame: aggTrade(3, T + 10_990) },
  { kind: 'recv', time: T + 11_000, feed: 'binance', conn: '1', epoch: 2, frame: aggTrade(4, T + 10_995, 'ETHUSDT', '2064.00') },
];

function writeRecording(name: string, entries: readonly (RecordingEntry | string)[], gzip = false): string {
  const text = `${entries.map((entry) => (typeof entry === 'string' ? entry : formatRecordingLine(entry))).join('\n')}\n`;
  writeFileSync(join(dir, name), gzip ? gzipSync(text) : text);
  return name;
}

/** What parsing the recorded frames directly, one parser per feed, gives. */
function parseDirectly(entries: readonly RecordingEntry[]): BinanceRecord[] {
  const markets: Record<string, BinanceMarket> = { binance: 'spot', 'binance-usdm': 'usdm' };
  const parsers = new Map<string, ReturnType<typeof createBinanceParser>>();
  const records: BinanceRecord[] = [];
  for (const entry of entries) {
    if (entry.kind !== 'recv') continue;
    const market = markets[entry.feed];
    if (market === undefined) continue;
    let parser = parsers.get(entry.feed);
    if (parser === undefined) {
      parser = createBinanceParser({ market });
      parsers.set(entry.feed, parser);
    }
    parser.parse(entry.frame, entry.time, { record: (record) => records.push(record), control: () => undefined, drop: () => undefined });
  }
  return records;
}

function hash(records: readonly unknown[]): string {
  const digest = createHash('sha256');
  for (const record of records) digest.update(`${JSON.stringify(record)}\n`);
  return digest.digest('hex');
}

interface Captured {
  readonly ctx: NodeContext;
  readonly logs: { level: number; msg: string; [key: string]: unknown }[];
}

function capture(overrides: Partial<NodeContext> = {}): Captured {
  const logs: Captured['logs'] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as Captured['logs'][number]) });
  return { ctx: createContext({ logger, metrics: new Metrics(), baseDir: dir, ...overrides }), logs };
}

async function all(records$: Observable<BinanceRecord>): Promise<BinanceRecord[]> {
  return lastValueFrom(records$.pipe(toArray()));
}

const sessionFile = writeRecording('session.ndjson', session);
writeRecording('contract.ndjson', session);

describe('replayFile', () => {
  it('does replay a recording into the records parsing its frames directly gives (deep equal, same hash)', async () => {
    const { ctx } = capture();
    const replayed = await all(replayFile({ path: sessionFile }, ctx));
    const direct = parseDirectly(session);
    expect(replayed.map((record) => record.type), 'the session holds 4 trades, a book top, a mark price and a liquidation').toStrictEqual([
      'trade',
      'trade',
      'book-top',
      'mark-price',
      'liquidation',
      'trade',
      'trade',
    ]);
    expect(replayed).toStrictEqual(direct);
    expect(hash(replayed)).toBe(hash(direct));
    expect(replayed.every((record, i) => record.tsRecv === direct[i]?.tsRecv), 'tsRecv is the recorded receive time').toBe(true);
    expect(ctx.metrics.counter(METRIC.received, '').get({ source: 'replay-file' })).toBe(7);
    expect(ctx.metrics.counter(METRIC.dropped, '').total(), 'the REST answer, send, close and reply are not drops').toBe(0);
  });

  it('does replay a gzipped recording the same', async () => {
    const gzipped = writeRecording('session.ndjson.gz', session, true);
    expect(await all(replayFile({ path: gzipped }, capture().ctx))).toStrictEqual(await all(replayFile({ path: sessionFile }, capture().ctx)));
  });

  it('does skip and count corrupt lines and bad frames, warning with file:line, while the rest replays', async () => {
    const file = writeRecording('corrupt.ndjson', [
      recordingHeader(T),
      { kind: 'recv', time: T + 1, feed: 'binance', conn: '1', epoch: 1, frame: aggTrade(1, T) },
      '{"t":1700000000002,"v":"binance","c":"1","e":1,"k":"recv","d":{"stream":"btcusdt@aggTrade","data":{"e":"aggTr',
      'garbage',
      '{"t":1700000000003,"v":"binance","c":"1","e":1,"d":{}}',
      { kind: 'recv', time: T + 4, feed: 'binance', conn: '1', epoch: 1, frame: aggTrade(2, T + 3, 'BTCUSDT', 'abc') },
      { kind: 'recv', time: T + 5, feed: 'coinbase', conn: '3', epoch: 1, frame: '{"type":"match"}' },
      { kind: 'recv', time: T + 6, feed: 'binance', conn: '1', epoch: 1, frame: aggTrade(3, T + 5) },
      '{"t":1700000000007,"v":"binance","c":"1","e":1,"k":"recv","d":{"stream":"btc',
    ]);
    const { ctx, logs } = capture();
    const records = await all(replayFile({ path: file }, ctx));
    expect(records.map((record) => (record.type === 'trade' ? record.id : -1)), 'lines 2 and 8 replay').toStrictEqual([1, 3]);
    const dropped = ctx.metrics.counter(METRIC.dropped, '');
    expect(dropped.get({ source: 'replay-file', reason: 'bad line' }), 'lines 3, 4, 5 and the truncated tail').toBe(4);
    expect(dropped.get({ source: 'replay-file', reason: 'aggTrade field "p" is not a positive decimal' })).toBe(1);
    expect(dropped.get({ source: 'replay-file', reason: 'unsupported feed "coinbase"' })).toBe(1);
    const path = join(dir, file);
    const warnings = logs.filter((log) => log.level === 40).map((log) => log.msg);
    expect(warnings).toStrictEqual([
      expect.stringMatching(new RegExp(`^dropped record at ${path}:3: bad line: truncated or not JSON`)),
      expect.stringMatching(new RegExp(`^dropped record at ${path}:4: bad line: truncated or not JSON`)),
      `dropped record at ${path}:5: bad line: field "k" is missing`,
      `dropped record at ${path}:6: aggTrade field "p" is not a positive decimal: "abc"`,
      `dropped record at ${path}:7: unsupported feed "coinbase"`,
      expect.stringMatching(new RegExp(`^dropped record at ${path}:9: bad line: truncated or not JSON`)),
    ]);
    expect(logs.some((log) => log.msg === 'records dropped by this source (see alphaflow_dropped_total)' && log.dropped === 6), 'the summary counts them').toBe(true);
  });

  it('does log REST answers at debug level without counting them as drops', async () => {
    const { ctx, logs } = capture();
    await all(replayFile({ path: sessionFile }, ctx));
    const rest = logs.filter((log) => log.msg === 'REST answer not replayed yet');
    expect(rest).toHaveLength(1);
    expect(rest[0]?.level, 'debug').toBe(20);
  });

  it('does pace records by recorded receive time divided by speed on the scheduler', async () => {
    const scheduler = new VirtualTimeScheduler();
    const { ctx } = capture({ scheduler });
    const seen: [number, number][] = [];
    let done = false;
    replayFile({ path: sessionFile, speed: 2 }, ctx).subscribe({
      next: (record) => seen.push([record.tsRecv - (T + 1_000), scheduler.now()]),
      complete: () => (done = true),
    });
    const finished = (): boolean => done;
    for (let spins = 0; !finished() && spins < 1_000; spins++) {
      scheduler.flush();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(finished(), 'the replay completes').toBe(true);
    expect(seen, '[receive time after the first record, scheduler time]: scheduler time = receive offset / 2').toStrictEqual([
      [0, 0],
      [0, 0],
      [500, 250],
      [2_000, 1_000],
      [3_000, 1_500],
      [10_000, 5_000],
      [10_000, 5_000],
    ]);
  });

  it('does keep only the record types and symbols asked for', async () => {
    const everything = await all(replayFile({ path: sessionFile }, capture().ctx));
    const trades = await all(replayFile({ path: sessionFile, types: ['trade'] }, capture().ctx));
    expect(trades).toStrictEqual(everything.filter((record) => record.type === 'trade'));
    const eth = await all(replayFile({ path: sessionFile, symbols: ['ETH-USDT'] }, capture().ctx));
    expect(eth.map((record) => record.symbol)).toStrictEqual(['ETH-USDT', 'ETH-USDT']);
    const btcTops = await all(replayFile({ path: sessionFile, types: ['book-top', 'mark-price'], symbols: ['BTCUSDT'] }, capture().ctx));
    expect(btcTops.map((record) => record.type), 'symbols may be written the venue way').toStrictEqual(['book-top', 'mark-price']);
  });

  it('does take the stream of a raw connection from its URL, for payloads that do not name their symbol', async () => {
    const file = writeRecording('raw.ndjson', [
      { kind: 'open', time: T, feed: 'binance', conn: 'r', epoch: 1, url: 'wss://stream.binance.com:9443/ws/ethbtc@depth5@100ms' },
      { kind: 'recv', time: T + 100, feed: 'binance', conn: 'r', epoch: 1, frame: '{"lastUpdateId":160,"bids":[["0.05","1.2"]],"asks":[["0.06","0.8"]]}' },
    ]);
    expect(await all(replayFile({ path: file }, capture().ctx))).toStrictEqual([
      { type: 'book-depth', venue: 'binance', symbol: 'ETH-BTC', tsEvent: T + 100, tsRecv: T + 100, firstUpdateId: 160, lastUpdateId: 160, bids: [[0.05, 1.2]], asks: [[0.06, 0.8]], snapshot: true },
    ]);
  });

  it('does fail with the file named when it does not exist', async () => {
    await expect(all(replayFile({ path: 'missing.ndjson' }, capture().ctx))).rejects.toThrow(`${join(dir, 'missing.ndjson')}: file not found`);
  });

  it('does reject a speed that is not a positive number when created', () => {
    expect(() => replayFile({ path: sessionFile, speed: 0 }, capture().ctx)).toThrow('Replay speed "0" must be a positive number');
  });
});

describe('replayFileSource', () => {
  it('does declare the record type of its output when it keeps exactly one type', () => {
    const describeOutput = (params: unknown) => replayFileSource.describe?.(replayFileParams.parse(params));
    expect(describeOutput({ path: 'x', types: ['trade'] })).toStrictEqual({ type: 'trade' });
    expect(describeOutput({ path: 'x', types: ['trade', 'candle'] }), 'several types: the output port stays any').toStrictEqual({});
    expect(describeOutput({ path: 'x' })).toStrictEqual({});
    expect(replayFileSource.output).toBe('any');
  });

  it('does canonicalise symbols in params and reject ones it cannot read', () => {
    expect(replayFileParams.parse({ path: 'x', symbols: ['btcusdt', 'ETH/USDT'] }).symbols).toStrictEqual(['BTC-USDT', 'ETH-USDT']);
    const result = replayFileParams.safeParse({ path: 'x', symbols: ['FOOBAR'], types: ['news'] });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toStrictEqual(['types.0', 'symbols.0']);
    expect(result.error?.issues[1]?.message).toBe('Symbol "FOOBAR" is not recognised: write it as BASE-QUOTE, e.g. "BTC-USDT"');
  });

  testDefinitionContract(replayFileSource, { params: { path: 'contract.ndjson' }, ctx: { baseDir: dir } });
});

describe('replayFileSource paced', () => {
  testDefinitionContract(replayFileSource, { params: { path: 'contract.ndjson', speed: 100, types: ['trade'] }, ctx: { baseDir: dir }, virtualTime: true });
});
