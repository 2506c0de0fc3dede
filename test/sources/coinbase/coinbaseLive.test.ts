/**
 * `coinbase-live` end to end against the Coinbase mock on loopback (a real `ws` server, seeded
 * market as ground truth, the test driving market steps), with faults of reliability.md §7
 * injected; and its control protocol (ack matching) on its own. Fast timing profile; assertions on
 * completeness and order, never on elapsed time.
 */
import { pino } from 'pino';
import type { Subscription } from 'rxjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createContext, type NodeContext } from '../../../src/context.js';
import { startMockCoinbase, type MockCoinbase, type MockCoinbaseOptions } from '../../../src/mock/coinbase.js';
import { METRIC } from '../../../src/metrics.js';
import type { BookDepth, BookTop, Flow, Gap, Level, Status, Trade } from '../../../src/model/index.js';
import type { WireEvent } from '../../../src/sources/live/connection.js';
import { coinbaseLive, coinbaseLiveParams } from '../../../src/sources/coinbase/coinbaseLive.js';
import { coinbaseProtocol } from '../../../src/sources/coinbase/coinbaseProtocol.js';
import type { CoinbaseRecord } from '../../../src/sources/coinbase/parse.js';
import { activeHandles, waitFor } from '../../support/waitFor.js';

const cleanups: (() => Promise<void> | void)[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
process.on('unhandledRejection', onUnhandled);
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  expect(unhandled).toEqual([]);
});

interface Run {
  readonly mock: MockCoinbase;
  readonly ctx: NodeContext;
  readonly out: Flow<CoinbaseRecord>[];
  /** Frames the source sent, parsed. */
  readonly sent: unknown[];
  readonly subscription: Subscription;
  trades(symbol?: string): Trade[];
  books(symbol?: string): BookDepth[];
  tops(symbol?: string): BookTop[];
  gaps(): Gap[];
  statuses(): Status[];
  /** Waits until the source has received the last message the mock sent on its connection. */
  synced(): Promise<void>;
  /**
   * Moves the market `steps` steps, ten at a time, each batch received before the next: a market
   * does not send minutes of updates in one burst, and a burst that blocks the shared event loop
   * would (rightly) look like a stalled connection to the fast profile.
   */
  advance(steps: number): Promise<void>;
  /** Waits until the first snapshot of every book has arrived and the connection is live. */
  ready(symbols?: readonly string[]): Promise<void>;
}

const SEQUENCE = /"sequence_num":(\d+)/;

async function start(params: Record<string, unknown>, mockOptions: MockCoinbaseOptions = {}): Promise<Run> {
  const baseline = activeHandles();
  // tickMs 0: the test moves the market. Heartbeats well inside the fast stall deadline (750 ms).
  const mock = await startMockCoinbase({ seed: 7, tickMs: 0, heartbeatMs: 100, ...mockOptions });
  const parsed = coinbaseLiveParams.parse({ symbols: ['BTC-USD'], channels: ['trades', 'ticker', 'level2'], wsUrl: mock.url, timing: { profile: 'fast' }, ...params });
  const ctx = createContext({ logger: pino({ level: 'silent' }) });
  const out: Flow<CoinbaseRecord>[] = [];
  const sent: unknown[] = [];
  let lastReceived = -1;
  const wire = (_connection: string, _venue: string, event: WireEvent): void => {
    if (event.kind === 'send') sent.push(JSON.parse(event.data));
    if (event.kind === 'open') lastReceived = -1;
    if (event.kind === 'recv') {
      const match = SEQUENCE.exec(event.data);
      if (match !== null) lastReceived = Number(match[1]);
    }
  };
  const subscription = coinbaseLive(parsed, ctx, { tap: { wire } }).subscribe({
    next: (record) => out.push(record),
    error: (error: unknown) => {
      throw error;
    },
  });
  cleanups.push(async () => {
    subscription.unsubscribe();
    await mock.close();
    // Sockets and timers are released (closing sockets may take a moment to be reaped).
    await waitFor(() => activeHandles().length <= baseline.length, 5_000);
  });
  const of = <T extends Flow<CoinbaseRecord>>(type: T['type'], symbol?: string): T[] =>
    out.filter((record): record is T => record.type === type && (symbol === undefined || record.symbol === symbol));
  const run: Run = {
    mock,
    ctx,
    out,
    sent,
    subscription,
    trades: (symbol = 'BTC-USD') => of<Trade>('trade', symbol),
    books: (symbol = 'BTC-USD') => of<BookDepth>('book-depth', symbol),
    tops: (symbol = 'BTC-USD') => of<BookTop>('book-top', symbol),
    gaps: () => of<Gap>('gap'),
    statuses: () => of<Status>('status'),
    synced: () => waitFor(() => mock.connections().length === 1 && mock.connections()[0]?.lastSequence === lastReceived),
    advance: async (steps) => {
      for (let done = 0; done < steps; done += 10) {
        mock.step(Math.min(10, steps - done));
        await run.synced();
      }
    },
    ready: async (symbols = ['BTC-USD']) => {
      await waitFor(() => run.statuses().some((s) => s.state === 'live' && s.symbol === '*') && symbols.every((symbol) => run.books(symbol).some((book) => book.snapshot)));
      await run.synced();
    },
  };
  return run;
}

/**
 * The book the output describes: snapshots replace, updates set absolute quantities. Checks on
 * the way that every update follows the record before it of the same product (`prevUpdateId`).
 */
function bookOf(records: readonly BookDepth[]): { bids: Level[]; asks: Level[] } {
  const bids = new Map<number, number>();
  const asks = new Map<number, number>();
  let last: number | undefined;
  for (const record of records) {
    if (record.snapshot) {
      bids.clear();
      asks.clear();
    } else {
      expect(record.prevUpdateId, `update ${record.lastUpdateId} follows the record emitted before it`).toBe(last);
    }
    for (const [price, qty] of record.bids) if (qty === 0) bids.delete(price); else bids.set(price, qty);
    for (const [price, qty] of record.asks) if (qty === 0) asks.delete(price); else asks.set(price, qty);
    last = record.lastUpdateId;
  }
  return {
    bids: [...bids.entries()].sort((a, b) => b[0] - a[0]),
    asks: [...asks.entries()].sort((a, b) => a[0] - b[0]),
  };
}

/** Trade ids are contiguous and each once, and they are the simulator's trades. */
function expectTradesComplete(run: Run, symbol = 'BTC-USD'): void {
  const trades = run.trades(symbol);
  expect(trades.length).toBeGreaterThan(0);
  const ids = trades.map((trade) => trade.id);
  const first = ids[0] as number;
  expect(ids, 'contiguous, no duplicate').toEqual(Array.from({ length: ids.length }, (_, i) => first + i));
  const truth = run.mock.simulator(symbol).tradesFromId(first, Number.POSITIVE_INFINITY);
  const pick = (t: Trade): unknown[] => [t.id, t.price, t.qty, t.side, t.tsEvent];
  expect(trades.map(pick), 'every trade the simulator made, as it made it').toEqual(truth.map(pick));
}

function expectBookEqualsMock(run: Run, symbol = 'BTC-USD'): void {
  const truth = run.mock.book(symbol);
  const book = bookOf(run.books(symbol));
  expect(book.bids, `${symbol} bids`).toEqual(truth.bids);
  expect(book.asks, `${symbol} asks`).toEqual(truth.asks);
}

const level2 = (type: 'subscribe' | 'unsubscribe', product: string): unknown => ({ type, channel: 'level2', product_ids: [product] });

describe('coinbase-live against the Coinbase mock', () => {
  it('does stream books equal to the mock after many updates, every trade of the simulator and the tickers', async () => {
    const products = ['BTC-USD', 'ETH-USD'];
    const run = await start({ symbols: products }, { products, startPrices: { 'ETH-USD': 3_300 } });
    await run.ready(products);
    await run.advance(400);

    for (const product of products) {
      expect(run.mock.bookUpdates(product)).toBeGreaterThanOrEqual(400);
      expect(run.books(product).filter((book) => !book.snapshot), 'every update emitted once').toHaveLength(run.mock.bookUpdates(product));
      expectBookEqualsMock(run, product);
      expect(run.trades(product).length).toBeGreaterThan(100);
      expectTradesComplete(run, product);
      expect(run.trades(product).at(-1)?.id, 'up to the last trade').toBe(run.mock.simulator(product).historyRange()?.lastId);
      const top = run.tops(product).at(-1);
      const truth = run.mock.book(product);
      expect(top && [top.bidPrice, top.bidQty, top.askPrice, top.askQty]).toEqual([...(truth.bids[0] ?? []), ...(truth.asks[0] ?? [])]);
    }
    expect(run.gaps()).toEqual([]);
    expect(run.ctx.metrics.counter(METRIC.dropped, '').total(), 'nothing dropped').toBe(0);
    expect(run.sent.filter((frame) => (frame as { channel?: string }).channel === 'heartbeats'), 'heartbeats always subscribed').toEqual([
      { type: 'subscribe', channel: 'heartbeats' },
    ]);
  });

  it('D-03: a sequence jump is a gap on that message; the book is withheld, its level2 alone resubscribed, and it equals the mock again', async () => {
    const run = await start({});
    await run.ready();
    await run.advance(30);
    const sentBefore = run.sent.length;
    const outBefore = run.out.length;

    run.mock.faults.skipSequence(3);
    run.mock.step(1);
    await waitFor(() => run.books().filter((book) => book.snapshot).length === 2);
    await run.advance(40);

    const injected = run.mock.faults.injected;
    expect(injected).toEqual([{ kind: 'gap', connection: 1, expected: expect.any(Number) as number, got: expect.any(Number) as number, channel: 'l2_data' }]);
    const fault = injected[0] as Extract<(typeof injected)[number], { kind: 'gap' }>;
    const after = run.out.slice(outBefore);
    const gaps = after.filter((record): record is Gap => record.type === 'gap');
    expect(gaps.map(({ stream, symbol, from, to, recoverable }) => ({ stream, symbol, from, to, recoverable }))).toEqual([
      { stream: 'book-depth', symbol: 'BTC-USD', from: fault.expected, to: fault.got - 1, recoverable: true },
      { stream: 'book-top', symbol: 'BTC-USD', from: fault.expected, to: fault.got - 1, recoverable: false },
    ]);
    expect(gaps[0]?.reason).toContain(`sequence_num jumped from ${fault.expected - 1} to ${fault.got}`);
    const firstBook = after.find((record): record is BookDepth => record.type === 'book-depth');
    expect(firstBook?.snapshot, 'no book output until the fresh snapshot').toBe(true);
    expect(after.indexOf(gaps[0] as Gap)).toBeLessThan(after.indexOf(firstBook as BookDepth));
    expect(run.sent.slice(sentBefore), 'level2 of that product only, unsubscribe then subscribe').toEqual([level2('unsubscribe', 'BTC-USD'), level2('subscribe', 'BTC-USD')]);
    expect(run.statuses().some((s) => s.symbol === 'BTC-USD' && s.state === 'live' && s.detail.includes('resynced')), 'the resync is reported').toBe(true);
    expectBookEqualsMock(run);
    expectTradesComplete(run);
  });

  it('D-03: a connection-wide jump resyncs every book on the connection (each by its own level2), within the resync policy, then reports it degraded', async () => {
    const products = ['BTC-USD', 'ETH-USD'];
    const run = await start({ symbols: products, channels: ['trades', 'level2'], maxResyncs: 1 }, { products });
    await run.ready(products);
    run.mock.step(10);
    await run.synced();
    const sentBefore = run.sent.length;

    run.mock.faults.skipSequence(2);
    run.mock.step(1);
    await waitFor(() => products.every((product) => run.books(product).filter((book) => book.snapshot).length === 2));
    await run.synced();
    const key = (frame: unknown): string => JSON.stringify(frame);
    expect(run.sent.slice(sentBefore).map(key).sort(), 'level2 of each book, nothing else').toEqual(
      [level2('unsubscribe', 'BTC-USD'), level2('subscribe', 'BTC-USD'), level2('unsubscribe', 'ETH-USD'), level2('subscribe', 'ETH-USD')].map(key).sort(),
    );
    for (const product of products) expectBookEqualsMock(run, product);

    // A second jump inside the window: the policy allows no more resyncs.
    const sentMiddle = run.sent.length;
    const outMiddle = run.out.length;
    run.mock.faults.skipSequence(2);
    run.mock.step(10);
    await run.synced();
    const after = run.out.slice(outMiddle);
    expect(run.sent.slice(sentMiddle), 'no resync past the policy').toEqual([]);
    expect(after.filter((record) => record.type === 'book-depth'), 'books withheld while invalid').toEqual([]);
    for (const product of products) {
      const degraded = after.filter((record): record is Status => record.type === 'status' && record.symbol === product && record.state === 'degraded');
      expect(degraded).toHaveLength(1);
      expect(degraded[0]?.detail).toMatch(new RegExp(`^order book of ${product} stays invalid .*1 resyncs in the last 60000 ms reach the limit of 1`));
    }
    for (const product of products) expectTradesComplete(run, product);
  });

  it.each([['level2'], ['trades']])('D-05: duplicated %s messages never reach the output twice and are counted', async (channel) => {
    const run = await start({ channels: [channel] });
    await run.ready(channel === 'level2' ? ['BTC-USD'] : []);
    for (let i = 0; i < 20; i++) {
      run.mock.faults.duplicateNext();
      run.mock.step(1);
    }
    run.mock.step(5);
    await run.synced();
    const duplicates = run.mock.faults.injected.filter((fault) => fault.kind === 'duplicate');
    expect(duplicates.length).toBe(20);
    expect(run.ctx.metrics.counter(METRIC.dropped, '').get({ source: 'coinbase', reason: 'duplicate sequence_num' }), 'each duplicate dropped and counted').toBe(20);
    if (channel === 'level2') {
      const ids = run.books().map((book) => book.lastUpdateId);
      expect(new Set(ids).size, 'each update once').toBe(ids.length);
      expect(ids.length).toBe(1 + run.mock.bookUpdates('BTC-USD'));
      expectBookEqualsMock(run);
    } else {
      expectTradesComplete(run);
    }
    expect(run.gaps()).toEqual([]);
  });

  it('R-06 (Coinbase variant): the mock closes idle connections without heartbeats, never ours', async () => {
    const run = await start({ channels: ['trades'] }, { idleCloseMs: 300 });
    // A plain client subscribed to trades only, for contrast: it is closed for idling.
    const plain = new WebSocket(run.mock.url);
    const plainClosed = new Promise<number>((resolve) => plain.on('close', (code) => { resolve(code); }));
    cleanups.push(async () => {
      plain.terminate();
      await plainClosed;
    });
    await new Promise((resolve) => plain.once('open', resolve));
    plain.send(JSON.stringify({ type: 'subscribe', channel: 'market_trades', product_ids: ['BTC-USD'] }));
    await run.ready([]);
    const [ours] = run.mock.connections().filter((connection) => connection.subscriptions.heartbeats !== undefined);
    expect(ours?.subscriptions).toEqual({ heartbeats: ['heartbeats'], market_trades: ['BTC-USD'] });
    expect(await plainClosed, 'the plain client was closed by the idle rule').toBe(1000);

    // Twenty heartbeats at 100 ms each: several idle timeouts of 300 ms without market data.
    await waitFor(() => (run.mock.connections()[0]?.lastSequence ?? 0) >= 20 + (ours?.lastSequence ?? 0));
    const idleClosed = run.mock.faults.injected.filter((fault) => fault.kind === 'idle-close').map((fault) => fault.connection);
    expect(idleClosed, 'the plain client only').toHaveLength(1);
    expect(idleClosed).not.toContain(ours?.id);
    expect(run.mock.connections().map((connection) => connection.id)).toEqual([ours?.id]);
    expect(run.statuses().filter((s) => s.state !== 'live' && s.state !== 'connecting')).toEqual([]);
    expect(run.gaps()).toEqual([]);
  });

  it('R-01: a dropped connection reconnects, resubscribes the same set, resyncs the book, and loses no trade', async () => {
    const run = await start({});
    await run.ready();
    await run.advance(20);
    const [first] = run.mock.connections();
    const lives = run.statuses().filter((s) => s.state === 'live' && s.symbol === '*').length;

    run.mock.faults.terminate();
    // The market moves while the source is away: its trades come back in the recent-trades snapshot.
    run.mock.step(5);
    await waitFor(() => run.mock.connections().length === 1 && run.mock.connections()[0]?.id !== first?.id && run.statuses().filter((s) => s.state === 'live' && s.symbol === '*').length > lives);
    await waitFor(() => run.books().filter((book) => book.snapshot).length === 2);
    const [second] = run.mock.connections();
    expect(second?.subscriptions, 'the second connection subscribes what the first did').toEqual(first?.subscriptions);
    await run.advance(20);

    expect(run.statuses().some((s) => s.state === 'reconnecting')).toBe(true);
    expect(run.gaps().map(({ stream, recoverable }) => ({ stream, recoverable }))).toEqual([
      { stream: 'trade', recoverable: true },
      { stream: 'book-top', recoverable: false },
      { stream: 'book-depth', recoverable: true },
    ]);
    expect(run.gaps().every((gap) => gap.reason.startsWith('connection lost'))).toBe(true);
    expectBookEqualsMock(run);
    expectTradesComplete(run);
    expect(run.trades().at(-1)?.id).toBe(run.mock.simulator('BTC-USD').historyRange()?.lastId);
  });

  it('does leave no socket or timer behind once unsubscribed, and the mock sees no connection', async () => {
    const mock = await startMockCoinbase({ seed: 1, tickMs: 0, heartbeatMs: 100 });
    cleanups.push(() => mock.close());
    const baseline = activeHandles();
    const params = coinbaseLiveParams.parse({ symbols: ['BTC-USD'], channels: ['level2', 'trades'], wsUrl: mock.url, timing: { profile: 'fast' } });
    const ctx = createContext({ logger: pino({ level: 'silent' }) });
    const out: Flow<CoinbaseRecord>[] = [];
    const subscription = coinbaseLive(params, ctx).subscribe((record) => out.push(record));
    await waitFor(() => out.some((record) => record.type === 'book-depth'));
    expect(activeHandles().length, 'a socket and timers while running').toBeGreaterThan(baseline.length);
    subscription.unsubscribe();
    const sockets = (handles: readonly string[]): string[] => handles.filter((kind) => kind === 'TCPSocketWrap');
    const timers = (handles: readonly string[]): string[] => handles.filter((kind) => kind === 'Timeout');
    await waitFor(() => mock.connections().length === 0 && activeHandles().length <= baseline.length);
    expect(sockets(activeHandles()), 'no socket left').toEqual(sockets(baseline));
    expect(timers(activeHandles()).length, 'no timer left').toBeLessThanOrEqual(timers(baseline).length);
  });

  it('does reject a bad config with every problem named', () => {
    const shape = coinbaseLiveParams.safeParse({ symbols: ['NOPE'], channels: ['level3'], wsUrl: 'http://127.0.0.1:1', maxResyncs: 0, extra: true });
    expect(shape.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toMatchInlineSnapshot(`
      [
        "symbols.0: Symbol "NOPE" is not recognised: write it as BASE-QUOTE, e.g. "BTC-USD"",
        "channels.0: channel "level3" is not one of trades, ticker, level2",
        "wsUrl: wsUrl "http://127.0.0.1:1" is not a ws:// or wss:// URL: e.g. "ws://127.0.0.1:9443"",
        "maxResyncs: maxResyncs "0" must be an integer >= 1",
        ": Unrecognized key: "extra"",
      ]
    `);
    const meaning = coinbaseLiveParams.safeParse({ symbols: ['BTC-USD', 'btc/usd'], channels: ['trades', 'trades'], timing: { profile: 'fast', renewAfterMs: 1_000 } });
    expect(meaning.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toMatchInlineSnapshot(`
      [
        "symbols.1: symbol "BTC-USD" is listed twice",
        "channels.1: channel "trades" is listed twice",
        "timing.renewAfterMs: renewAfterMs "1000" is not supported on Coinbase: its replies carry no request id, so two sockets cannot subscribe at once (and Coinbase has no connection age limit); leave it out or set 0",
      ]
    `);
    expect(coinbaseLiveParams.parse({ symbols: ['eth/usd'] })).toMatchObject({ symbols: ['ETH-USD'], channels: ['trades'], wsUrl: 'wss://advanced-trade-ws.coinbase.com' });
  });
});

describe('coinbaseProtocol', () => {
  const ack = (subscriptions: Record<string, string[]>, sequence = 0): string =>
    JSON.stringify({ channel: 'subscriptions', client_id: '', timestamp: '2025-01-01T00:00:00Z', sequence_num: sequence, events: [{ subscriptions }] });
  const setup = (): { protocol: ReturnType<typeof coinbaseProtocol>; acks: string[]; epoch: { value: number } } => {
    const epoch = { value: 1 };
    const acks: string[] = [];
    const protocol = coinbaseProtocol({ wsUrl: 'ws://127.0.0.1:1', epoch: () => epoch.value, onAck: (frame) => acks.push(frame) });
    return { protocol, acks, epoch };
  };

  it('does build one message per stream and name the stream of each data frame', () => {
    const { protocol } = setup();
    expect(JSON.parse(protocol.subscribeFrame(['level2:BTC-USD'], 1))).toEqual({ type: 'subscribe', channel: 'level2', product_ids: ['BTC-USD'] });
    expect(JSON.parse(protocol.subscribeFrame(['heartbeats'], 2))).toEqual({ type: 'subscribe', channel: 'heartbeats' });
    expect(JSON.parse(protocol.unsubscribeFrame(['market_trades:ETH-USD'], 3))).toEqual({ type: 'unsubscribe', channel: 'market_trades', product_ids: ['ETH-USD'] });
    expect(() => protocol.subscribeFrame(['level2:BTC-USD', 'ticker:BTC-USD'], 4)).toThrow('Coinbase takes one stream per request (maxStreamsPerMessage 1), got ["level2:BTC-USD","ticker:BTC-USD"]');
    expect(() => protocol.subscribeFrame(['level3:BTC-USD'], 5)).toThrow('Stream "level3:BTC-USD" is not a Coinbase stream');
    expect(protocol.streamOf('{"channel":"l2_data","sequence_num":3,"events":[{"type":"update","product_id":"ETH-USD","updates":[]}]}')).toBe('level2:ETH-USD');
    expect(protocol.streamOf('{"channel":"heartbeats","sequence_num":4,"events":[]}')).toBe('heartbeats');
    expect(protocol.streamOf('{"channel":"market_trades","sequence_num":5,"events":[{"type":"snapshot","trades":[]}]}')).toBe('market_trades');
    expect(protocol.stallDeadlineMs('heartbeats')).toBe(3_000);
    expect(protocol.stallDeadlineMs('level2:BTC-USD'), 'an illiquid product may be quiet').toBeUndefined();
  });

  it('does match each subscriptions ack to the oldest request it shows, hand it over for its sequence number, and match errors to the oldest', () => {
    const { protocol, acks } = setup();
    protocol.subscribeFrame(['heartbeats'], 1);
    protocol.unsubscribeFrame(['level2:BTC-USD'], 2);
    protocol.subscribeFrame(['level2:BTC-USD'], 3);
    protocol.subscribeFrame(['ticker:BTC-USD'], 4);
    // The unsubscribe's ack went missing: the next ack shows level2 subscribed, which is request 3's doing.
    expect(protocol.reply(ack({ heartbeats: ['heartbeats'] }, 0))).toEqual({ id: 1 });
    expect(protocol.reply(ack({ heartbeats: ['heartbeats'], level2: ['BTC-USD'] }, 1))).toEqual({ id: 3 });
    expect(protocol.reply('{"type":"error","message":"Failed to subscribe: unknown product_ids [\\"BTC-USD\\"]"}')).toEqual({ id: 2, error: 'Failed to subscribe: unknown product_ids ["BTC-USD"]' });
    expect(protocol.reply(ack({ heartbeats: ['heartbeats'], level2: ['BTC-USD'], ticker: ['BTC-USD'] }, 2))).toEqual({ id: 4 });
    expect(acks.map((frame) => (JSON.parse(frame) as { sequence_num: number }).sequence_num), 'each consumed ack handed over, in order').toEqual([0, 1, 2]);
    expect(protocol.reply(ack({ heartbeats: ['heartbeats'] }, 3)), 'no request waiting: not a reply').toBeUndefined();
    expect(protocol.reply('{"channel":"l2_data","sequence_num":4,"events":[]}')).toBeUndefined();
    expect(acks).toHaveLength(3);
  });

  it('does let a resend replace the request it repeats, and forget the requests of an older socket', () => {
    const { protocol, epoch } = setup();
    protocol.subscribeFrame(['level2:BTC-USD'], 1);
    protocol.subscribeFrame(['level2:BTC-USD'], 2);
    expect(protocol.reply(ack({ level2: ['BTC-USD'] })), 'the resend is the request now').toEqual({ id: 2 });
    expect(protocol.reply(ack({ level2: ['BTC-USD'] }))).toBeUndefined();

    protocol.subscribeFrame(['ticker:BTC-USD'], 3);
    epoch.value = 2;
    expect(protocol.reply(ack({ ticker: ['BTC-USD'] })), 'request 3 belonged to the socket of epoch 1').toBeUndefined();
    protocol.subscribeFrame(['ticker:BTC-USD'], 4);
    expect(protocol.reply(ack({ ticker: ['BTC-USD'] }))).toEqual({ id: 4 });
  });
});
