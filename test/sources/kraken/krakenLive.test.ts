/**
 * `kraken-live` end to end against the mock Kraken v2 server on loopback (a real `ws` server with
 * a seeded market as ground truth), with the faults of reliability.md §7 injected: D-04 checksum
 * mismatches, the flapping guard, R-01 dropped connections. The mock does not tick on its own
 * (`tickMs: 0`): tests move the market with `step()`, so they can freeze it and compare books.
 * Fast timing profile; assertions on behaviour and counts, never on elapsed time (the `waitFor`
 * timeouts only detect hangs).
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Subscription } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createContext } from '../../../src/context.js';
import { METRIC, Metrics } from '../../../src/metrics.js';
import { startMockKraken, type MockKraken, type MockKrakenOptions } from '../../../src/mock/kraken.js';
import type { BookDepth, Candle, Flow, Gap, Level, Status, Trade } from '../../../src/model/index.js';
import { krakenLive, krakenLiveParams } from '../../../src/sources/kraken/krakenLive.js';
import { krakenProtocol, krakenReply, krakenStreamOf, parseKrakenStream } from '../../../src/sources/kraken/krakenProtocol.js';
import type { KrakenRecord } from '../../../src/sources/kraken/parse.js';
import { activeHandles, waitFor } from '../../support/waitFor.js';

const BTC = { symbol: 'BTC/USD', pricePrecision: 1, qtyPrecision: 8, price: 50_000 } as const;
const ETH = { symbol: 'ETH/USD', pricePrecision: 2, qtyPrecision: 8, price: 3_000 } as const;

const cleanups: (() => Promise<void>)[] = [];
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  expect(unhandled, 'no promise rejection went unhandled').toEqual([]);
});

/** A control request the source sent, as the mock received it. */
interface Sent {
  readonly epoch: number;
  readonly method: string;
  readonly channel: string;
  readonly symbols: readonly string[];
}

interface Run {
  readonly mock: MockKraken;
  readonly out: Flow<KrakenRecord>[];
  readonly sent: Sent[];
  /** Log lines at warn and above, as JSON text. */
  readonly logs: string[];
  readonly metrics: Metrics;
  readonly subscription: Subscription;
  trades(symbol: string): Trade[];
  books(symbol: string): BookDepth[];
  candles(): Candle[];
  gaps(symbol?: string): Gap[];
  statuses(): Status[];
  /** Steps the market until `condition` holds. */
  stepUntil(condition: () => boolean): Promise<void>;
}

async function start(params: Record<string, unknown>, mockOptions: MockKrakenOptions = {}): Promise<Run> {
  const baseline = activeHandles();
  const mock = await startMockKraken({ pairs: [BTC, ETH], seed: 5, tickMs: 0, ...mockOptions });
  const parsed = krakenLiveParams.parse({ symbols: ['BTC-USD', 'ETH-USD'], wsUrl: mock.url, timing: { profile: 'fast' }, ...params });
  const logs: string[] = [];
  const logger = pino({ level: 'warn' }, new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  }));
  const metrics = new Metrics();
  const out: Flow<KrakenRecord>[] = [];
  const sent: Sent[] = [];
  const tap = {
    wire: (_connection: string, _venue: string, event: { kind: string; epoch: number; data?: string }) => {
      if (event.kind !== 'send' || event.data === undefined) return;
      const request = JSON.parse(event.data) as { method: string; params: { channel: string; symbol?: string[] } };
      sent.push({ epoch: event.epoch, method: request.method, channel: request.params.channel, symbols: request.params.symbol ?? [] });
    },
  };
  const subscription = krakenLive(parsed, createContext({ logger, metrics }), { tap }).subscribe({
    next: (record) => out.push(record),
    error: (error: unknown) => {
      throw error;
    },
  });
  cleanups.push(async () => {
    subscription.unsubscribe();
    await mock.close();
    await waitFor(() => leaked(baseline).length === 0, 5_000);
  });
  const of = <T extends Flow<KrakenRecord>>(type: T['type']): T[] => out.filter((record): record is T => record.type === type);
  return {
    mock,
    out,
    sent,
    logs,
    metrics,
    subscription,
    trades: (symbol) => of<Trade>('trade').filter((trade) => trade.symbol === symbol),
    books: (symbol) => of<BookDepth>('book-depth').filter((book) => book.symbol === symbol),
    candles: () => of<Candle>('candle'),
    gaps: (symbol) => of<Gap>('gap').filter((gap) => symbol === undefined || gap.symbol === symbol),
    statuses: () => of<Status>('status'),
    stepUntil: (condition) =>
      waitFor(() => {
        if (condition()) return true;
        mock.step(1);
        return false;
      }, 20_000),
  };
}

/** Handles of each kind beyond the baseline's count of that kind. */
function leaked(baseline: readonly string[]): string[] {
  const left = [...baseline];
  return activeHandles().filter((kind) => {
    const i = left.indexOf(kind);
    if (i < 0) return true;
    left.splice(i, 1);
    return false;
  });
}

/** The top `depth` levels of a book rebuilt from the records emitted (snapshots reset it, qty 0 deletes). */
function rebuild(records: readonly BookDepth[], depth: number): { bids: Level[]; asks: Level[] } {
  const bids = new Map<number, number>();
  const asks = new Map<number, number>();
  for (const record of records) {
    if (record.snapshot) {
      bids.clear();
      asks.clear();
    }
    for (const [side, levels] of [[bids, record.bids], [asks, record.asks]] as const) {
      for (const [price, qty] of levels) {
        if (qty === 0) side.delete(price);
        else side.set(price, qty);
      }
    }
    // Kraken sends no delete for a level pushed out of the subscribed depth: truncate.
    for (const [side, descending] of [[bids, true], [asks, false]] as const) {
      const kept = [...side.keys()].sort((a, b) => (descending ? b - a : a - b)).slice(0, depth);
      for (const price of [...side.keys()]) if (!kept.includes(price)) side.delete(price);
    }
  }
  const sorted = (side: Map<number, number>, descending: boolean): Level[] =>
    [...side.entries()].sort(([a], [b]) => (descending ? b - a : a - b)).map(([price, qty]): Level => [price, qty]);
  return { bids: sorted(bids, true), asks: sorted(asks, false) };
}

/** The mock's true book, top `depth` levels. */
function truth(mock: MockKraken, symbol: string, depth: number): { bids: Level[]; asks: Level[] } {
  const book = mock.book(symbol);
  return { bids: book.bids.slice(0, depth), asks: book.asks.slice(0, depth) };
}

/** With the market frozen, waits until the emitted book of each symbol equals the mock's, then asserts it. */
async function expectBooksEqualMock(run: Run, depth: number, symbols: readonly string[] = ['BTC-USD', 'ETH-USD']): Promise<void> {
  const equal = (symbol: string): boolean => JSON.stringify(rebuild(run.books(symbol), depth)) === JSON.stringify(truth(run.mock, symbol.replace('-', '/'), depth));
  await waitFor(() => symbols.every(equal), 10_000);
  for (const symbol of symbols) expect(rebuild(run.books(symbol), depth), `${symbol} equals the mock's book`).toEqual(truth(run.mock, symbol.replace('-', '/'), depth));
}

function expectContiguous(ids: readonly number[]): void {
  expect(ids.length).toBeGreaterThan(0);
  const first = ids[0] as number;
  expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => first + i));
}

const isSnapshot = (book: BookDepth): boolean => book.snapshot;

describe('kraken-live against the mock Kraken server', () => {
  it('streams trades, closed candles and checksum-verified books equal to the mock', async () => {
    const run = await start({ book: true, ticker: true, ohlc: ['1m'] }, { stepMs: 1_000 });
    await run.stepUntil(
      () => ['BTC-USD', 'ETH-USD'].every((symbol) => run.trades(symbol).length > 30 && run.books(symbol).length > 30) && run.candles().length >= 4,
    );
    await expectBooksEqualMock(run, 10);
    for (const symbol of ['BTC-USD', 'ETH-USD']) {
      expectContiguous(run.trades(symbol).map((trade) => trade.id));
      const books = run.books(symbol);
      expect(books.map(isSnapshot), 'one snapshot, then updates').toEqual([true, ...books.slice(1).map(() => false)]);
      for (let i = 1; i < books.length; i++) expect(books[i]?.prevUpdateId, 'no book message withheld').toBe(books[i - 1]?.lastUpdateId);
    }
    const candles = run.candles();
    expect(candles.every((candle) => candle.closed && candle.interval === '1m')).toBe(true);
    for (const symbol of ['BTC-USD', 'ETH-USD']) {
      const opens = candles.filter((candle) => candle.symbol === symbol).map((candle) => candle.openTime);
      for (let i = 1; i < opens.length; i++) expect(opens[i]).toBe((opens[i - 1] as number) + 60_000);
    }
    expect(run.out.some((record) => record.type === 'book-top')).toBe(true);
    expect(run.statuses().some((status) => status.state === 'live')).toBe(true);
    expect(run.gaps().map((gap) => gap.reason)).toEqual([]);
    expect(run.metrics.counter('alphaflow_checksum_mismatches_total', '').total()).toBe(0);
    expect(run.metrics.counter(METRIC.dropped, '').total(), 'nothing dropped').toBe(0);
  });

  it('D-04: a flipped checksum is caught on that message, resyncs only that book once, and the book equals the mock again', async () => {
    const run = await start({ book: true, trades: false });
    await run.stepUntil(() => run.books('BTC-USD').length > 10 && run.books('ETH-USD').length > 10);
    const outAtFlip = run.out.length;
    const sentAtFlip = run.sent.length;
    run.mock.faults.flipNextChecksum('BTC/USD');
    await run.stepUntil(() => run.gaps('BTC-USD').length > 0 && run.books('BTC-USD').filter(isSnapshot).length === 2);
    // Ten updates on the fresh snapshot.
    await run.stepUntil(() => {
      const books = run.books('BTC-USD');
      return books.length - books.findLastIndex(isSnapshot) > 10;
    });
    await expectBooksEqualMock(run, 10);

    const gaps = run.gaps();
    expect(gaps.map((gap) => [gap.symbol, gap.stream, gap.recoverable])).toEqual([['BTC-USD', 'book-depth', true]]);
    const match = /checksum mismatch on BTC-USD: Kraken sent "([0-9]+)", the local book gives "([0-9]+)"/.exec((gaps[0] as Gap).reason);
    expect(match, (gaps[0] as Gap).reason).not.toBeNull();
    expect((Number(match?.[1]) ^ Number(match?.[2])) >>> 0, 'the mismatch found is the flipped bit: the flipped message itself').toBe(1);
    // Nothing of BTC's book between the flip and the gap; the first record after it is the fresh snapshot.
    const after = run.out.slice(outAtFlip);
    const gapAt = after.findIndex((record) => record.type === 'gap');
    expect(after.slice(0, gapAt).filter((record) => record.type === 'book-depth' && record.symbol === 'BTC-USD')).toEqual([]);
    expect(after.slice(gapAt).find((record): record is BookDepth => record.type === 'book-depth' && record.symbol === 'BTC-USD')?.snapshot).toBe(true);

    const requests = run.sent.slice(sentAtFlip).map((request) => `${request.method} ${request.channel} ${request.symbols.join(',')}`);
    expect(requests, 'exactly one resubscribe, of BTC/USD only').toEqual(['unsubscribe book BTC/USD', 'subscribe book BTC/USD']);
    expect(run.statuses().filter((status) => status.symbol === 'BTC-USD').map((status) => [status.state, status.detail])).toEqual([
      ['live', 'order book of BTC-USD resynced from a fresh snapshot'],
    ]);
    const eth = run.books('ETH-USD');
    expect(eth.filter(isSnapshot)).toHaveLength(1);
    for (let i = 1; i < eth.length; i++) expect(eth[i]?.prevUpdateId, 'ETH-USD lost no message').toBe(eth[i - 1]?.lastUpdateId);
    expect(run.metrics.counter('alphaflow_checksum_mismatches_total', '').samples().map((s) => [s.labels.symbol, s.value])).toEqual([['BTC-USD', 1]]);
    expect(run.metrics.counter('alphaflow_book_resyncs_total', '').samples().map((s) => [s.labels.symbol, s.value])).toEqual([['BTC-USD', 1]]);
  });

  /** Flips BTC's checksum `times` times, each after the previous resync delivered its snapshot. */
  async function flipRepeatedly(run: Run, times: number): Promise<void> {
    for (let flip = 1; flip <= times; flip++) {
      const gaps = run.gaps('BTC-USD').length;
      const snapshots = run.books('BTC-USD').filter(isSnapshot).length;
      run.mock.faults.flipNextChecksum('BTC/USD');
      await run.stepUntil(() => run.gaps('BTC-USD').length > gaps);
      if (flip < times) await run.stepUntil(() => run.books('BTC-USD').filter(isSnapshot).length > snapshots);
    }
  }

  it('flapping guard (strict): mismatches beyond maxResyncs degrade the book, which stays withheld', async () => {
    const run = await start({ book: true, trades: false, maxResyncs: 2 });
    await run.stepUntil(() => run.books('BTC-USD').length > 5 && run.books('ETH-USD').length > 5);
    await flipRepeatedly(run, 3);
    const degraded = run.statuses().filter((status) => status.state === 'degraded');
    expect(degraded.map((status) => status.symbol)).toEqual(['BTC-USD']);
    expect(degraded[0]?.detail).toContain('order book of BTC-USD: checksum mismatches keep coming (2 resyncs within 600000 ms)');
    expect(degraded[0]?.detail).toContain('its updates are withheld until then (checksum: strict)');
    const outAtDegraded = run.out.indexOf(degraded[0] as Status);
    const ethBefore = run.books('ETH-USD').length;
    await run.stepUntil(() => run.books('ETH-USD').length > ethBefore + 20);
    expect(run.out.slice(outAtDegraded).filter((record) => record.type === 'book-depth' && record.symbol === 'BTC-USD'), 'BTC-USD withheld').toEqual([]);
    expect(run.sent.filter((request) => request.method === 'subscribe' && request.symbols.includes('BTC/USD')).length, 'initial + 2 resyncs').toBe(3);
    expect(run.gaps().map((gap) => gap.symbol)).toEqual(['BTC-USD', 'BTC-USD', 'BTC-USD']);
  });

  it('flapping guard (warn): past maxResyncs the book passes unverified, with a logged warning', async () => {
    const run = await start({ book: true, trades: false, maxResyncs: 1, checksum: 'warn' });
    await run.stepUntil(() => run.books('BTC-USD').length > 5);
    await flipRepeatedly(run, 2);
    const degraded = run.statuses().find((status) => status.state === 'degraded');
    expect(degraded?.detail).toContain('its updates pass unverified until then (checksum: warn)');
    const outAtDegraded = run.out.indexOf(degraded as Status);
    const before = run.books('BTC-USD').length;
    await run.stepUntil(() => run.books('BTC-USD').length > before + 10);
    expect(run.out.slice(outAtDegraded).some((record) => record.type === 'book-depth' && record.symbol === 'BTC-USD')).toBe(true);
    const warnings = run.logs.map((line) => (JSON.parse(line) as { msg: string }).msg).filter((msg) => msg.includes('passed unverified'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^kraken BTC-USD: checksum mismatch on BTC-USD: Kraken sent "[0-9]+", the local book gives "[0-9]+"; passed unverified \(checksum: warn\), 1 so far while degraded$/);
    // The data was right (only the checksum was flipped): the book still equals the mock.
    await expectBooksEqualMock(run, 10, ['BTC-USD']);
  });

  it('R-01: after the server drops the connection it resubscribes the same set, refills trades and resyncs the books', async () => {
    const run = await start({ book: true, bookDepth: 25 });
    await run.stepUntil(() => ['BTC-USD', 'ETH-USD'].every((symbol) => run.trades(symbol).length > 10 && run.books(symbol).length > 10));
    const lives = run.statuses().filter((status) => status.state === 'live').length;
    run.mock.faults.terminate();
    // Trades and book changes nobody receives: the socket is already closing.
    run.mock.step(20);
    await waitFor(() => run.statuses().filter((status) => status.state === 'live').length > lives, 10_000);
    await run.stepUntil(() => ['BTC-USD', 'ETH-USD'].every((symbol) => run.books(symbol).filter(isSnapshot).length === 2 && run.trades(symbol).length > 40));
    await expectBooksEqualMock(run, 25);

    const subscribed = (epoch: number): string[] =>
      run.sent.filter((request) => request.epoch === epoch && request.method === 'subscribe').map((request) => `${request.channel} ${request.symbols.join(',')}`).sort();
    const epochs = [...new Set(run.sent.map((request) => request.epoch))];
    expect(epochs).toHaveLength(2);
    expect(subscribed(epochs[1] as number)).toEqual(subscribed(epochs[0] as number));
    expect(subscribed(epochs[0] as number)).toEqual(['book BTC/USD', 'book ETH/USD', 'trade BTC/USD', 'trade ETH/USD']);
    for (const symbol of ['BTC-USD', 'ETH-USD']) expectContiguous(run.trades(symbol).map((trade) => trade.id));
    const gaps = run.gaps();
    expect(gaps.map((gap) => `${gap.symbol} ${gap.stream} ${gap.recoverable}`).sort()).toEqual([
      'BTC-USD book-depth true',
      'BTC-USD trade true',
      'ETH-USD book-depth true',
      'ETH-USD trade true',
    ]);
    expect(gaps.every((gap) => gap.reason.startsWith('connection lost: closed by kraken with code 1006'))).toBe(true);
  });

  it('releases every socket and timer on unsubscribe', async () => {
    const baseline = activeHandles();
    const mock = await startMockKraken({ pairs: [BTC], tickMs: 0 });
    const out: Flow<KrakenRecord>[] = [];
    const params = krakenLiveParams.parse({ symbols: ['BTC-USD'], book: true, wsUrl: mock.url, timing: { profile: 'fast' } });
    const subscription = krakenLive(params, createContext({ logger: pino({ level: 'silent' }) })).subscribe((record) => out.push(record));
    await waitFor(() => {
      mock.step(1);
      return out.filter((record) => record.type === 'book-depth').length > 5;
    });
    expect(mock.connections()).toBe(1);
    expect(leaked(baseline), 'the check sees the open sockets').toContain('TCPSocketWrap');
    subscription.unsubscribe();
    const emitted = out.length;
    await waitFor(() => mock.connections() === 0);
    mock.step(10);
    await mock.close();
    await waitFor(() => leaked(baseline).length === 0, 5_000);
    expect(leaked(baseline), 'no socket, server or timer left').toEqual([]);
    expect(out.length, 'nothing emitted after unsubscribe').toBe(emitted);
  });

  it('rejects a bad config with every problem named', () => {
    const result = krakenLiveParams.safeParse({
      symbols: ['NOPE', 'BTC-USD'],
      bookDepth: 20,
      checksum: 'loose',
      ohlc: ['2m'],
      wsUrl: 'http://example.com',
      timing: { profile: 'fast', backoffBaseMs: 10, backoffCapMs: 5 },
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toMatchInlineSnapshot(`
      [
        "symbols.0: Symbol "NOPE" is not valid: write it as BASE-QUOTE, e.g. "BTC-USD"",
        "bookDepth: bookDepth "20" is not one of 10, 25, 100, 500, 1000",
        "checksum: checksum "loose" is not one of "strict", "warn", "off"",
        "ohlc.0: Kraken ohlc interval "2m" is not one of 1, 5, 15, 30, 60, 240, 1440, 10080, 21600 minutes (1m, 5m, 15m, 30m, 1h, 4h, 1d, 7d, 15d)",
        "wsUrl: wsUrl "http://example.com" is not a ws:// or wss:// URL: e.g. "wss://ws.kraken.com/v2"",
        "timing.backoffCapMs: backoffCapMs 5 is below backoffBaseMs 10",
      ]
    `);
    // Cross-field checks run once every field is valid on its own.
    const crossField = krakenLiveParams.safeParse({ symbols: ['BTC-USD', 'XBT/USD'], ohlc: ['1h', 60], trades: false });
    expect(crossField.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toMatchInlineSnapshot(`
      [
        "symbols.1: Symbol "BTC-USD" is listed twice",
        "ohlc.1: ohlc interval "1h" is listed twice",
      ]
    `);
    const none = krakenLiveParams.safeParse({ symbols: ['BTC-USD'], trades: false });
    expect(none.error?.issues.map((issue) => issue.message)).toEqual(['no stream selected: set trades, ticker, book or ohlc']);
  });
});

describe('krakenProtocol', () => {
  const protocol = krakenProtocol({ wsUrl: 'wss://ws.kraken.com/v2', bookDepth: 25 });

  it('builds one request per stream with Kraken\'s params', () => {
    expect(protocol.maxStreamsPerMessage).toBe(1);
    expect(protocol.subscribeFrame(['book:BTC/USD'], 3)).toBe('{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":25},"req_id":3}');
    expect(protocol.unsubscribeFrame(['book:BTC/USD'], 4)).toBe('{"method":"unsubscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":25},"req_id":4}');
    expect(protocol.subscribeFrame(['trade:ETH/USD'], 5)).toBe('{"method":"subscribe","params":{"channel":"trade","symbol":["ETH/USD"],"snapshot":true},"req_id":5}');
    expect(protocol.subscribeFrame(['ohlc:60:ETH/USD'], 6)).toBe('{"method":"subscribe","params":{"channel":"ohlc","symbol":["ETH/USD"],"interval":60},"req_id":6}');
    expect(protocol.subscribeFrame(['ticker:ETH/USD'], 7)).toBe('{"method":"subscribe","params":{"channel":"ticker","symbol":["ETH/USD"],"event_trigger":"trades"},"req_id":7}');
    expect(() => protocol.subscribeFrame(['book:BTC/USD', 'trade:BTC/USD'], 8)).toThrow('Kraken streams ["book:BTC/USD","trade:BTC/USD"] are on different channels');
    expect(() => parseKrakenStream('ohlc:2:BTC/USD')).toThrow('Kraken stream "ohlc:2:BTC/USD" is not');
  });

  it('finds the stream of a data frame and the request id of an ack', () => {
    expect(krakenStreamOf('{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[],"checksum":1}]}')).toBe('book:BTC/USD');
    expect(krakenStreamOf('{"channel":"ohlc","type":"update","timestamp":"x","data":[{"symbol":"ETH/USD","open":1,"interval_begin":"x","interval":15}]}')).toBe('ohlc:15:ETH/USD');
    expect(krakenStreamOf('{"channel":"heartbeat"}')).toBeUndefined();
    expect(krakenReply('{"method":"subscribe","result":{"channel":"book","symbol":"BTC/USD"},"success":true,"req_id":9}')).toEqual({ id: 9 });
    expect(krakenReply('{"error":"Currency pair not supported FOO/BAR","method":"subscribe","success":false,"symbol":"FOO/BAR","req_id":2}')).toEqual({
      id: 2,
      error: 'Currency pair not supported FOO/BAR (symbol "FOO/BAR")',
    });
    expect(krakenReply('{"method":"pong","req_id":3}'), 'pongs go to the parser').toBeUndefined();
    expect(krakenReply('{"channel":"status","type":"update","data":[]}')).toBeUndefined();
  });
});
