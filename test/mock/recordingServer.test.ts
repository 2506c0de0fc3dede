/**
 * The recording mock: a client gets the recorded data frames of its streams (and no others) in
 * recorded order, after Binance's ack; REST answers come from the recording, anything else is a
 * 404 naming the path; `close()` leaves no handle open.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startRecordingMock } from '../../src/mock/binance/recordingServer.js';
import { formatRecordingLine, recordingHeader, type RecordingEntry } from '../../src/sources/replay/recording.js';
import { activeHandles, waitFor } from '../support/waitFor.js';

const dir = mkdtempSync(join(tmpdir(), 'alphaflow-recording-mock-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const T0 = 1_700_000_000_000;
const trade = (stream: string, id: number): string =>
  `{"stream":"${stream}","data":{"e":"aggTrade","E":${T0 + id},"s":"${stream.split('@')[0]?.toUpperCase() ?? ''}","a":${id},"p":"100.0","q":"1","f":${id},"l":${id},"T":${T0 + id},"m":false,"M":true}}`;
const depth = (stream: string, u: number): string => `{"stream":"${stream}","data":{"e":"depthUpdate","E":${T0 + u},"s":"X","U":${u},"u":${u},"b":[["99.0","1"]],"a":[]}}`;

/** Two streams' aggTrade and depth frames interleaved, the ack of the recorder's SUBSCRIBE, a raw-recorded frame and a REST depth answer. */
function writeTestRecording(path: string): { btc: string[]; eth: string[]; raw: string } {
  const btc = [trade('btcusdt@aggTrade', 1), depth('btcusdt@depth@100ms', 2), trade('btcusdt@aggTrade', 3)];
  const eth = [trade('ethusdt@aggTrade', 11), depth('ethusdt@depth@100ms', 12)];
  const raw = '{"e":"aggTrade","E":1,"s":"SOLUSDT","a":7,"p":"20.0","q":"1","f":7,"l":7,"T":1,"m":true,"M":true}';
  const conn = { feed: 'binance', conn: 'spot:binance#0', epoch: 1 } as const;
  const entries: RecordingEntry[] = [
    recordingHeader(T0),
    { kind: 'open', time: T0, ...conn, url: 'wss://stream.binance.com:9443/stream' },
    { kind: 'send', time: T0 + 1, ...conn, frame: '{"method":"SUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@depth@100ms","ethusdt@aggTrade","ethusdt@depth@100ms"],"id":1}' },
    { kind: 'recv', time: T0 + 2, ...conn, frame: '{"result":null,"id":1}' },
    { kind: 'recv', time: T0 + 10, ...conn, frame: btc[0] as string },
    { kind: 'recv', time: T0 + 11, ...conn, frame: eth[0] as string },
    { kind: 'rest', time: T0 + 12, feed: 'binance', conn: 'spot:rest', epoch: 0, url: 'https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000', status: 200, headers: { 'x-mbx-used-weight-1m': '51' }, body: '{"lastUpdateId":1,"bids":[["99.0","1"]],"asks":[]}' },
    { kind: 'recv', time: T0 + 13, ...conn, frame: btc[1] as string },
    { kind: 'recv', time: T0 + 14, ...conn, frame: eth[1] as string },
    { kind: 'recv', time: T0 + 15, feed: 'binance', conn: 'raw:1', epoch: 1, stream: 'solusdt@aggTrade', frame: raw },
    { kind: 'recv', time: T0 + 16, ...conn, frame: btc[2] as string },
  ];
  writeFileSync(path, entries.map((entry) => `${formatRecordingLine(entry)}\n`).join(''));
  return { btc, eth, raw };
}

/** Handles of each kind beyond the baseline's count of that kind (vitest may hold a timer of its own). */
function leaked(baseline: readonly string[]): string[] {
  const left = [...baseline];
  return activeHandles().filter((kind) => {
    const i = left.indexOf(kind);
    if (i < 0) return true;
    left.splice(i, 1);
    return false;
  });
}

function text(data: WebSocket.RawData): string {
  return Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
}

describe('startRecordingMock', () => {
  it('replays the subscribed streams in recorded order after the ack, serves the recorded REST answer, 404s the rest, and closes cleanly', async () => {
    const before = activeHandles();
    const path = join(dir, 'two-streams.ndjson');
    const { btc, raw } = writeTestRecording(path);
    const mock = await startRecordingMock({ path, speed: 'max' });
    expect(mock.usdmWsUrl, 'no binance-usdm entries: no USD-M server').toBeUndefined();

    const ws = new WebSocket(`${mock.spotWsUrl}/ws`);
    const received: string[] = [];
    ws.on('message', (data: WebSocket.RawData) => received.push(text(data)));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['btcusdt@aggTrade', 'btcusdt@depth@100ms', 'solusdt@aggTrade'], id: 7 }));
    await waitFor(() => received.length === 1 + btc.length + 1);
    ws.send(JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: 8 }));
    await waitFor(() => received.length === 1 + btc.length + 2);
    expect(received).toEqual([
      '{"result":null,"id":7}',
      btc[0],
      btc[1],
      `{"stream":"solusdt@aggTrade","data":${raw}}`,
      btc[2],
      '{"result":["btcusdt@aggTrade","btcusdt@depth@100ms","solusdt@aggTrade"],"id":8}',
    ]);
    expect(received.join('\n'), 'no frame of the unsubscribed stream').not.toContain('ethusdt');
    expect(mock.framesSent()).toBe(btc.length + 1);

    const book = await fetch(`${mock.spotRestUrl}/api/v3/depth?symbol=BTCUSDT&limit=1000`);
    expect(book.status).toBe(200);
    expect(book.headers.get('x-mbx-used-weight-1m')).toBe('51');
    expect(await book.text()).toBe('{"lastUpdateId":1,"bids":[["99.0","1"]],"asks":[]}');
    const again = await fetch(`${mock.spotRestUrl}/api/v3/depth?symbol=BTCUSDT&limit=1000`);
    expect(again.status, 'each recorded answer is served once').toBe(404);
    await again.body?.cancel();
    const unknown = await fetch(`${mock.spotRestUrl}/api/v3/klines?symbol=BTCUSDT`);
    expect(unknown.status).toBe(404);
    const body = (await unknown.json()) as { code?: number; msg?: string };
    expect(body.code).toBe(-1121);
    expect(body.msg).toContain('"/api/v3/klines?symbol=BTCUSDT"');

    expect(ws.readyState, 'the connection stays open at the end of the recording').toBe(WebSocket.OPEN);
    const closed = new Promise((resolve) => ws.once('close', resolve));
    await mock.close();
    await closed;
    await waitFor(() => leaked(before).length === 0);
  });

  it('rejects a recording without Binance entries, and a bad speed, naming them', async () => {
    const path = join(dir, 'empty.ndjson');
    writeFileSync(path, `${formatRecordingLine(recordingHeader(T0))}\n`);
    await expect(startRecordingMock({ path })).rejects.toThrow(`${path}: the recording has no "binance" or "binance-usdm" entries`);
    await expect(startRecordingMock({ path, speed: -2 })).rejects.toThrow('Replay speed "-2" must be a positive number, 0 or "max"');
  });
});
