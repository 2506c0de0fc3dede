import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  formatRecordingLine,
  parseRecordingLine,
  readRecording,
  recordingHeader,
  type ReadEntry,
  type RecordingEntry,
} from '../../../src/sources/replay/recording.js';

const dir = mkdtempSync(join(tmpdir(), 'alphaflow-recording-'));

const AGG_TRADE =
  '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1617566591307,"s":"BTCUSDT","a":1,"p":"57994.60","q":"0.1","f":1,"l":1,"T":1617566591305,"m":false,"M":true}}';

async function readAll(path: string, options: Parameters<typeof readRecording>[1] = {}): Promise<ReadEntry[]> {
  const entries: ReadEntry[] = [];
  for await (const batch of readRecording(path, options)) entries.push(...batch);
  return entries;
}

function write(name: string, lines: readonly string[], gzip = false): string {
  const path = join(dir, name);
  const text = `${lines.join('\n')}\n`;
  writeFileSync(path, gzip ? gzipSync(text) : text);
  return path;
}

describe('formatRecordingLine', () => {
  it('does insert a single-line JSON frame verbatim, last on the line, after the fields in their fixed order', () => {
    const line = formatRecordingLine({ kind: 'recv', time: 1_617_566_591_326, feed: 'binance', conn: '1', epoch: 1, frame: AGG_TRADE });
    expect(line, 'the layout docs/recording-format.md specifies').toBe(`{"t":1617566591326,"v":"binance","c":"1","e":1,"k":"recv","d":${AGG_TRADE}}`);
    expect(JSON.parse(line), 'the line is valid JSON for jq and friends').toMatchObject({ k: 'recv', d: { stream: 'btcusdt@aggTrade' } });
  });

  it('does store a frame that is not single-line JSON as a string, with the stream when the frame lacks it', () => {
    const frame = '{"lastUpdateId":1,\n"bids":[],"asks":[]}';
    const line = formatRecordingLine({ kind: 'recv', time: 5, feed: 'binance', conn: 'a', epoch: 2, stream: 'btcusdt@depth5', frame });
    expect(line).toBe(`{"t":5,"v":"binance","c":"a","e":2,"k":"recv","u":"btcusdt@depth5","s":${JSON.stringify(frame)}}`);
    expect(formatRecordingLine({ kind: 'recv', time: 5, feed: 'binance', conn: 'a', epoch: 2, frame: 'not json {' })).toBe(
      '{"t":5,"v":"binance","c":"a","e":2,"k":"recv","s":"not json {"}',
    );
  });

  it('does write the header, open, close and REST lines', () => {
    expect(formatRecordingLine(recordingHeader(7, { pipeline: 'btc' }))).toBe('{"k":"meta","format":"alphaflow-recording","version":1,"t":7,"info":{"pipeline":"btc"}}');
    expect(formatRecordingLine({ kind: 'open', time: 8, feed: 'binance-usdm', conn: '2', epoch: 1, url: 'wss://fstream.binance.com/market/stream?streams=btcusdt@aggTrade' })).toBe(
      '{"t":8,"v":"binance-usdm","c":"2","e":1,"k":"open","u":"wss://fstream.binance.com/market/stream?streams=btcusdt@aggTrade"}',
    );
    expect(formatRecordingLine({ kind: 'close', time: 9, feed: 'binance', conn: '2', epoch: 1, code: 1006, reason: '' })).toBe(
      '{"t":9,"v":"binance","c":"2","e":1,"k":"close","code":1006,"reason":""}',
    );
    expect(formatRecordingLine({ kind: 'rest', time: 10, feed: 'binance', conn: 'book', epoch: 1, url: 'https://api.binance.com/api/v3/depth', status: 200, body: '{"lastUpdateId":1}' })).toBe(
      '{"t":10,"v":"binance","c":"book","e":1,"k":"rest","u":"https://api.binance.com/api/v3/depth","status":200,"d":{"lastUpdateId":1}}',
    );
  });

  it('does refuse a receive time that is not integer epoch ms', () => {
    expect(() => formatRecordingLine({ kind: 'recv', time: 1.5, feed: 'binance', conn: '1', epoch: 1, frame: '{}' })).toThrow('Recording time "1.5" must be a non-negative integer');
  });
});

describe('parseRecordingLine', () => {
  const entries = fc.oneof(
    fc.record({
      kind: fc.constantFrom('recv' as const, 'send' as const),
      time: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      feed: fc.string({ minLength: 1 }),
      conn: fc.string(),
      epoch: fc.nat(),
      frame: fc.oneof(fc.json(), fc.string(), fc.json().map((json) => ` ${json}\t`), fc.constant('{"a":1}\n{"b":2}'), fc.constant('')),
    }),
    fc.record({
      kind: fc.constantFrom('recv' as const, 'send' as const),
      time: fc.nat(),
      feed: fc.constantFrom('binance', 'binance-usdm'),
      conn: fc.constantFrom('1', 'x"y\\z'),
      epoch: fc.nat(),
      stream: fc.string(),
      frame: fc.json(),
    }),
    fc.record({ kind: fc.constant('open' as const), time: fc.nat(), feed: fc.string({ minLength: 1 }), conn: fc.string(), epoch: fc.nat(), url: fc.webUrl() }),
    fc.record({ kind: fc.constant('close' as const), time: fc.nat(), feed: fc.string({ minLength: 1 }), conn: fc.string(), epoch: fc.nat(), code: fc.nat(4999), reason: fc.string() }),
    fc.record({
      kind: fc.constant('rest' as const),
      time: fc.nat(),
      feed: fc.string({ minLength: 1 }),
      conn: fc.string(),
      epoch: fc.nat(),
      url: fc.webUrl(),
      status: fc.nat(599),
      body: fc.oneof(fc.json(), fc.string()),
    }),
  );

  it('does read back exactly what was written, frame text byte for byte', () => {
    fc.assert(
      fc.property(entries, fc.nat(), (entry: RecordingEntry, line) => {
        const text = formatRecordingLine(entry);
        expect(text.includes('\n'), 'one entry is one line').toBe(false);
        expect(parseRecordingLine(text, line + 1)).toStrictEqual({ ...entry, line: line + 1 });
      }),
      { numRuns: 2_000 },
    );
  });

  it.each([
    ['a truncated line', `{"t":1,"v":"binance","c":"1","e":1,"k":"recv","d":{"stream":"btcusdt@aggTrade","data":{"e":"agg`, /^truncated or not JSON: /],
    ['garbage', 'PK\u0003\u0004 garbage', /^truncated or not JSON: /],
    ['a line without a kind', '{"t":1,"v":"binance","c":"1","e":1,"d":{}}', /^field "k" is missing$/],
    ['an unknown kind', '{"t":1,"v":"binance","c":"1","e":1,"k":"ping"}', /^unknown kind: "ping"$/],
    ['a fractional time', '{"t":1.5,"v":"binance","c":"1","e":1,"k":"recv","d":{}}', /^field "t" is not an epoch-ms time: "1.5"$/],
    ['a missing feed', '{"t":1,"c":"1","e":1,"k":"recv","d":{}}', /^field "v" is not a feed name: "undefined"$/],
    ['a frame line without a frame', '{"t":1,"v":"binance","c":"1","e":1,"k":"recv"}', /^recv line has no frame \("d" or "s"\)$/],
    ['an open line without a URL', '{"t":1,"v":"binance","c":"1","e":1,"k":"open"}', /^open line has no URL \("u"\)$/],
    ['a JSON array', '[1,2]', /^not a JSON object: \[1,2\]$/],
  ])('does report %s as invalid, with the reason', (_, text, reason) => {
    const entry = parseRecordingLine(text, 12);
    expect(entry?.kind, 'a bad line is reported, never thrown').toBe('invalid');
    expect(entry).toMatchObject({ line: 12, text });
    expect(entry?.kind === 'invalid' ? entry.reason : '').toMatch(reason);
  });

  it('does never throw, whatever the line holds', () => {
    const prefixes = fc.constantFrom('', '{"t":', '{"t":1,"v":"', '{"t":1,"v":"b","c":"1","e":1,"k":"recv","d":', '{"t":1,"v":"b","c":"1","e":1,"k":"recv","s":');
    fc.assert(
      fc.property(prefixes, fc.string(), (prefix, rest) => {
        const entry = parseRecordingLine(prefix + rest, 1);
        expect(entry === undefined || typeof entry.kind === 'string', 'an entry, an invalid line or nothing').toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it('does skip blank lines', () => {
    expect(parseRecordingLine('', 1)).toBeUndefined();
    expect(parseRecordingLine('   ', 2)).toBeUndefined();
  });

  it('does leave a frame whose line was cut just after a brace to the parser, which rejects it', () => {
    const cut = `{"t":1,"v":"binance","c":"1","e":1,"k":"recv","d":${AGG_TRADE}`;
    const entry = parseRecordingLine(cut, 3);
    expect(entry, 'the frame text is what remains').toMatchObject({ kind: 'recv', frame: AGG_TRADE.slice(0, -1) });
  });
});

describe('readRecording', () => {
  const lines = [
    formatRecordingLine(recordingHeader(1)),
    formatRecordingLine({ kind: 'open', time: 1, feed: 'binance', conn: '1', epoch: 1, url: 'wss://stream.binance.com:9443/stream?streams=btcusdt@aggTrade' }),
    formatRecordingLine({ kind: 'recv', time: 2, feed: 'binance', conn: '1', epoch: 1, frame: AGG_TRADE }),
    '',
    '{"t":3,"v":"binance","c":"1","e":1,"k":"recv","d":{"stream"',
    formatRecordingLine({ kind: 'recv', time: 4, feed: 'binance', conn: '1', epoch: 1, frame: AGG_TRADE }),
  ];

  it('does read entries in order with their line numbers, reporting a bad line and going on', async () => {
    const entries = await readAll(write('plain.ndjson', lines));
    expect(entries.map((entry) => [entry.kind, entry.line])).toStrictEqual([
      ['meta', 1],
      ['open', 2],
      ['recv', 3],
      ['invalid', 5],
      ['recv', 6],
    ]);
  });

  it('does read a gzipped recording the same, in small chunks too', async () => {
    const plain = await readAll(write('same.ndjson', lines));
    expect(await readAll(write('same.ndjson.gz', lines, true), { chunkBytes: 7 })).toStrictEqual(plain);
  });

  it('does accept a second header, so recordings can be concatenated', async () => {
    const entries = await readAll(write('concat.ndjson', [...lines, ...lines]));
    expect(entries.filter((entry) => entry.kind === 'meta').map((entry) => entry.line)).toStrictEqual([1, 7]);
  });

  it('does refuse a recording from a newer version, naming the file and line', async () => {
    const path = write('v2.ndjson', ['{"k":"meta","format":"alphaflow-recording","version":2,"t":1}']);
    await expect(readAll(path)).rejects.toThrow(`${path}:1: recording version 2 was written by a newer alphaflow`);
  });

  it('does detect cryptofeed captures and alphaflow recordings without a header', async () => {
    const cryptofeed = write('cf.jsonl', [
      '{"local_ts":1617566590.378895,"kind":"ws_open","url":"wss://stream.binance.com:9443/ws/btcusdt@depth5","data":null}',
      `{"local_ts":1617566591.326123,"kind":"ws_recv","url":"wss://stream.binance.com:9443/ws/btcusdt@depth5","data":{"lastUpdateId":1,"bids":[],"asks":[]}}`,
      '{"local_ts":1617566592.1065369,"kind":"http_get","url":"https://www.binance.com/api/v1/depth?symbol=DOTUSDT&limit=1000","data":{"lastUpdateId":2,"bids":[],"asks":[]}}',
      '{"local_ts":1617566593,"kind":"config","data":{}}',
    ]);
    expect(await readAll(cryptofeed)).toStrictEqual([
      { kind: 'open', time: 1_617_566_590_378, feed: 'binance', conn: 'cf1', epoch: 1, url: 'wss://stream.binance.com:9443/ws/btcusdt@depth5', line: 1 },
      {
        kind: 'recv',
        time: 1_617_566_591_326,
        feed: 'binance',
        conn: 'cf1',
        epoch: 1,
        stream: 'btcusdt@depth5',
        frame: '{"lastUpdateId":1,"bids":[],"asks":[]}',
        line: 2,
      },
      {
        kind: 'rest',
        time: 1_617_566_592_106,
        feed: 'binance',
        conn: 'rest',
        epoch: 0,
        url: 'https://www.binance.com/api/v1/depth?symbol=DOTUSDT&limit=1000',
        status: 200,
        body: '{"lastUpdateId":2,"bids":[],"asks":[]}',
        line: 3,
      },
    ]);
    const headless = await readAll(write('headless.ndjson', lines.slice(2)));
    expect(headless[0]?.kind, 'an entry line is enough to tell the format').toBe('recv');
  });

  it('does fail with the file named when the format cannot be told', async () => {
    const path = write('mystery.txt', ['hello', 'world']);
    await expect(readAll(path)).rejects.toThrow(`${path}:1: cannot tell the recording format from the first line ("hello")`);
  });
});
