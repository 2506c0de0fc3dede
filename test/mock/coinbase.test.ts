import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { MockCoinbase, MockCoinbaseOptions } from '../../src/mock/coinbase.js';
import { startMockCoinbase } from '../../src/mock/coinbase.js';
import type { BookTop, Trade } from '../../src/model/index.js';
import type { BookApplyResult } from '../../src/sources/coinbase/book.js';
import { CoinbaseBook } from '../../src/sources/coinbase/book.js';
import { coinbaseResubscribeBook, coinbaseSubscribe } from '../../src/sources/coinbase/messages.js';
import type { CoinbaseControl, CoinbaseParserOptions, CoinbaseRecord } from '../../src/sources/coinbase/parse.js';
import { createCoinbaseParser } from '../../src/sources/coinbase/parse.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(options: MockCoinbaseOptions): Promise<MockCoinbase> {
  const mock = await startMockCoinbase(options);
  cleanups.push(() => mock.close());
  return mock;
}

/** A `ws` client that runs every frame through the parser and applies book records to local books. */
class FeedClient {
  readonly socket: WebSocket;
  readonly parser;
  readonly frames: string[] = [];
  readonly records: CoinbaseRecord[] = [];
  readonly controls: { readonly control: CoinbaseControl; readonly sequence: number | undefined }[] = [];
  readonly drops: string[] = [];
  readonly applied: { readonly symbol: string; readonly sequence: number; readonly result: BookApplyResult }[] = [];
  readonly books = new Map<string, CoinbaseBook>();
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>;
  #isClosed = false;
  readonly #waiters = new Set<() => void>();

  constructor(socket: WebSocket, options: CoinbaseParserOptions) {
    this.socket = socket;
    this.parser = createCoinbaseParser(options);
    socket.on('message', (data: Buffer) => {
      this.#receive(data.toString('utf8'));
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        this.#isClosed = true;
        resolve({ code, reason: reason.toString('utf8') });
        this.#notify();
      });
    });
  }

  static async open(url: string, options: CoinbaseParserOptions = {}): Promise<FeedClient> {
    const socket = new WebSocket(url);
    // A live connection starts at 0: losing its first messages is a gap too.
    const client = new FeedClient(socket, { firstSequence: 0, ...options });
    cleanups.push(async () => {
      if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
      await client.closed;
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return client;
  }

  send(messages: readonly object[]): void {
    for (const message of messages) this.socket.send(JSON.stringify(message));
  }

  book(symbol: string): CoinbaseBook {
    let book = this.books.get(symbol);
    if (book === undefined) {
      book = new CoinbaseBook(symbol);
      this.books.set(symbol, book);
    }
    return book;
  }

  count(kind: CoinbaseControl['kind']): number {
    return this.controls.filter((c) => c.control.kind === kind).length;
  }

  /** Resolves once `condition` holds (checked now and after every frame); rejects if the socket closes first. */
  until(condition: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (condition()) {
          this.#waiters.delete(check);
          resolve();
        } else if (this.#isClosed) {
          this.#waiters.delete(check);
          reject(new Error(`the connection closed before ${what}`));
        }
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Resolves once the client has parsed the last message the mock sent it. */
  synced(mock: MockCoinbase): Promise<void> {
    const [connection] = mock.connections();
    if (connection === undefined) throw new Error('the mock has no connection');
    return this.until(() => this.parser.lastSequence() === connection.lastSequence, `sequence ${connection.lastSequence} arrived`);
  }

  #receive(frame: string): void {
    this.frames.push(frame);
    const parsed: unknown = JSON.parse(frame);
    const sequence = typeof parsed === 'object' && parsed !== null && 'sequence_num' in parsed && typeof parsed.sequence_num === 'number' ? parsed.sequence_num : undefined;
    this.parser.parse(frame, Date.now(), {
      record: (record) => {
        this.records.push(record);
        if (record.type === 'book-depth') this.applied.push({ symbol: record.symbol, sequence: record.lastUpdateId, result: this.book(record.symbol).apply(record) });
      },
      control: (control) => this.controls.push({ control, sequence }),
      drop: (reason) => this.drops.push(reason),
    });
    this.#notify();
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

const pick = (t: Trade): Pick<Trade, 'id' | 'price' | 'qty' | 'side' | 'tsEvent'> => ({ id: t.id, price: t.price, qty: t.qty, side: t.side, tsEvent: t.tsEvent });

describe('startMockCoinbase', () => {
  it('does feed a client whose books equal the mock books after more than 1000 updates, with every trade and ticker right', async () => {
    const products = ['BTC-USD', 'ETH-USD'];
    const mock = await start({ seed: 7, products, startPrices: { 'ETH-USD': 3_300 }, tickMs: 0, heartbeatMs: 0 });
    const client = await FeedClient.open(mock.url);
    client.send(coinbaseSubscribe(['level2', 'market_trades', 'ticker'], products));
    await client.until(() => client.count('subscriptions') === 4 && products.every((p) => client.book(p).state === 'valid'), 'the subscriptions');

    mock.step(1_100);
    await client.synced(mock);

    expect(client.drops, 'every frame the mock sends is valid').toEqual([]);
    expect(client.count('sequence-gap')).toBe(0);
    for (const product of products) {
      expect(mock.bookUpdates(product)).toBeGreaterThanOrEqual(1_000);
      const book = client.book(product);
      const applied = client.applied.filter((a) => a.symbol === product && a.result.status === 'applied');
      expect(applied.length, 'the snapshot and every update were applied').toBe(1 + mock.bookUpdates(product));
      expect(book.state).toBe('valid');
      expect(book.bids(), `${product} bids`).toEqual(mock.book(product).bids);
      expect(book.asks(), `${product} asks`).toEqual(mock.book(product).asks);

      const trades = client.records.filter((r): r is Trade => r.type === 'trade' && r.symbol === product);
      expect(trades.length).toBeGreaterThan(100);
      const truth = mock.simulator(product).tradesFromId(1, trades.length + 1);
      expect(trades.map(pick), 'ids, prices, sizes, taker sides and times as the simulator made them').toEqual(truth.map(pick));

      const tops = client.records.filter((r): r is BookTop => r.type === 'book-top' && r.symbol === product);
      const last = tops[tops.length - 1];
      expect(last && { bidPrice: last.bidPrice, bidQty: last.bidQty, askPrice: last.askPrice, askQty: last.askQty }).toEqual(book.top());
    }
  });

  it.each(['maker', 'taker'] as const)('does write trade sides the %s way, which the parser reads back to the taker side', async (tradeSide) => {
    const mock = await start({ seed: 11, tickMs: 0, heartbeatMs: 0, tradeSide });
    const client = await FeedClient.open(mock.url, { tradeSide });
    client.send(coinbaseSubscribe(['market_trades'], ['BTC-USD']));
    await client.until(() => client.count('subscriptions') === 2, 'the subscriptions');
    mock.step(40);
    await client.synced(mock);
    const trades = client.records.filter((r): r is Trade => r.type === 'trade');
    expect(new Set(trades.map((t) => t.side)), 'both sides occur').toEqual(new Set(['buy', 'sell']));
    expect(trades.map(pick)).toEqual(mock.simulator('BTC-USD').tradesFromId(1, trades.length + 1).map(pick));
  });

  it('does detect an injected gap on exactly that message, invalidate the book there, and resync it', async () => {
    const mock = await start({ seed: 3, tickMs: 0, heartbeatMs: 0 });
    const client = await FeedClient.open(mock.url);
    client.send(coinbaseSubscribe(['level2'], ['BTC-USD']));
    await client.until(() => client.count('subscriptions') === 2 && client.book('BTC-USD').state === 'valid', 'the subscriptions');
    mock.step(10);
    await client.synced(mock);

    mock.faults.skipSequence(3);
    mock.step(5);
    await client.synced(mock);

    const [injected, ...more] = mock.faults.injected;
    expect(more).toEqual([]);
    if (injected?.kind !== 'gap') throw new Error(`expected an injected gap, got ${JSON.stringify(injected)}`);
    expect(injected.got - injected.expected).toBe(3);
    const gaps = client.controls.filter((c) => c.control.kind === 'sequence-gap');
    expect(gaps, 'one gap, reported by the parser on the message that revealed it').toEqual([
      { control: { kind: 'sequence-gap', expected: injected.expected, got: injected.got, channel: 'l2_data', tsEvent: expect.any(Number) as number }, sequence: injected.got },
    ]);
    const invalidated = client.applied.filter((a) => a.result.status === 'invalidated');
    expect(invalidated, 'the book went invalid on that same message').toEqual([
      {
        symbol: 'BTC-USD',
        sequence: injected.got,
        result: {
          status: 'invalidated',
          reason: `sequence gap: update ${injected.got} follows ${injected.expected - 1}, messages ${injected.expected} to ${injected.got - 1} were lost`,
        },
      },
    ]);
    expect(client.applied.filter((a) => a.sequence > injected.got).map((a) => a.result.status), 'later updates wait for a snapshot').toEqual(['ignored', 'ignored', 'ignored', 'ignored']);

    client.send(coinbaseResubscribeBook(['BTC-USD']));
    await client.until(() => client.book('BTC-USD').state === 'valid', 'the fresh snapshot');
    mock.step(30);
    await client.synced(mock);
    expect(client.book('BTC-USD').bids()).toEqual(mock.book('BTC-USD').bids);
    expect(client.book('BTC-USD').asks()).toEqual(mock.book('BTC-USD').asks);
    expect(client.count('sequence-gap'), 'the resubscribe itself is gapless').toBe(1);
  });

  it('does duplicate the next message, which the parser drops with its reason and the book never sees', async () => {
    const mock = await start({ seed: 4, tickMs: 0, heartbeatMs: 0 });
    const client = await FeedClient.open(mock.url);
    client.send(coinbaseSubscribe(['level2'], ['BTC-USD']));
    await client.until(() => client.count('subscriptions') === 2 && client.book('BTC-USD').state === 'valid', 'the subscriptions');
    mock.faults.duplicateNext();
    mock.step(3);
    await client.until(() => client.drops.length === 1, 'the duplicate');
    await client.synced(mock);
    const [injected] = mock.faults.injected;
    if (injected?.kind !== 'duplicate') throw new Error(`expected an injected duplicate, got ${JSON.stringify(injected)}`);
    expect(client.drops).toEqual([`duplicate sequence_num: ${injected.sequence} is not after the last ${injected.sequence} (channel "l2_data")`]);
    expect(client.applied.map((a) => a.result.status)).toEqual(['applied', 'applied', 'applied', 'applied']);
    expect(client.book('BTC-USD').bids()).toEqual(mock.book('BTC-USD').bids);
  });

  it('does stop and resume one channel while the others flow, unnumbered, as a stalled stream', async () => {
    const mock = await start({ seed: 5, tickMs: 0, heartbeatMs: 0 });
    const client = await FeedClient.open(mock.url);
    client.send(coinbaseSubscribe(['level2', 'market_trades'], ['BTC-USD']));
    await client.until(() => client.count('subscriptions') === 3 && client.book('BTC-USD').state === 'valid', 'the subscriptions');
    mock.faults.stopChannel('level2');
    mock.step(20);
    await client.synced(mock);
    const bookRecords = (): number => client.records.filter((r) => r.type === 'book-depth').length;
    expect(bookRecords(), 'only the snapshot').toBe(1);
    expect(client.records.filter((r) => r.type === 'trade').length).toBeGreaterThan(0);
    expect(client.count('sequence-gap'), 'a silent channel leaves no gap in the numbers').toBe(0);
    expect(client.book('BTC-USD').bids(), 'the local book is stale').not.toEqual(mock.book('BTC-USD').bids);

    mock.faults.resumeChannel('level2');
    client.send(coinbaseResubscribeBook(['BTC-USD']));
    await client.until(() => bookRecords() === 2, 'the fresh snapshot');
    mock.step(5);
    await client.synced(mock);
    expect(client.book('BTC-USD').bids()).toEqual(mock.book('BTC-USD').bids);
    expect(client.book('BTC-USD').asks()).toEqual(mock.book('BTC-USD').asks);
  });

  it('does send heartbeats to subscribers, counting by one, and never idle-closes them', async () => {
    const mock = await start({ tickMs: 0, heartbeatMs: 2, idleCloseMs: 5 });
    const client = await FeedClient.open(mock.url);
    client.send(coinbaseSubscribe(['heartbeats'], []));
    await client.until(() => client.count('heartbeat') >= 10, 'ten heartbeats');
    const counters = client.controls.flatMap((c) => (c.control.kind === 'heartbeat' ? [c.control.counter] : []));
    expect(counters.slice(0, 10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(client.count('sequence-gap')).toBe(0);
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    expect(mock.faults.injected).toEqual([]);
  });

  it('does close a connection that is idle without a heartbeats subscription', async () => {
    const mock = await start({ tickMs: 0, heartbeatMs: 0, idleCloseMs: 20 });
    const client = await FeedClient.open(mock.url);
    client.send([{ type: 'subscribe', channel: 'level2', product_ids: ['BTC-USD'] }]);
    const closed = await client.closed;
    expect(closed).toEqual({ code: 1000, reason: 'idle for 20 ms without a heartbeats subscription' });
    expect(mock.faults.injected).toEqual([{ kind: 'idle-close', connection: 1 }]);
  });

  it('does close a connection that never subscribes', async () => {
    const mock = await start({ tickMs: 0, heartbeatMs: 0, subscribeTimeoutMs: 10 });
    const client = await FeedClient.open(mock.url);
    expect(await client.closed).toEqual({ code: 1000, reason: 'no subscribe within 10 ms' });
    expect(mock.faults.injected).toEqual([{ kind: 'subscribe-timeout', connection: 1 }]);
  });

  it('does terminate connections without a close frame', async () => {
    const mock = await start({ tickMs: 0, heartbeatMs: 0 });
    const client = await FeedClient.open(mock.url);
    client.send(coinbaseSubscribe(['ticker'], ['BTC-USD']));
    await client.until(() => client.count('subscriptions') === 2, 'the subscriptions');
    mock.faults.terminate();
    expect((await client.closed).code).toBe(1006);
    expect(mock.faults.injected).toEqual([{ kind: 'terminate', connection: 1 }]);
  });

  it('does answer bad requests with error messages and keep the connection', async () => {
    const mock = await start({ tickMs: 0, heartbeatMs: 0 });
    const client = await FeedClient.open(mock.url);
    client.socket.send('{"type":');
    client.send([
      { type: 'subscribe', channel: 'level3', product_ids: ['BTC-USD'] },
      { type: 'subscribe', channel: 'level2', product_ids: ['DOGE-EUR'] },
      { type: 'subscribe', channel: 'level2' },
      { type: 'subscribe', channels: ['level2'], product_ids: ['BTC-USD'] },
    ]);
    await client.until(() => client.count('error') === 5, 'five errors');
    const errors = client.controls.flatMap((c) => (c.control.kind === 'error' ? [c.control.message] : []));
    expect(errors.slice(0, 4)).toEqual([
      'malformed JSON: "{\\"type\\":"',
      'Failed to subscribe: unsupported channel "level3", expected one of heartbeats, level2, market_trades, ticker',
      'Failed to subscribe: unknown product_ids ["DOGE-EUR"]',
      'Failed to subscribe: channel "level2" needs product_ids',
    ]);
    expect(errors[4]).toMatch(/^invalid request: .*channel/);
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    expect(client.drops).toEqual([]);
  });

  it('does send the same frames for the same seed', async () => {
    const frames: string[][] = [];
    for (let run = 0; run < 2; run++) {
      const mock = await start({ seed: 9, tickMs: 0, heartbeatMs: 0 });
      const client = await FeedClient.open(mock.url);
      client.send(coinbaseSubscribe(['level2', 'market_trades', 'ticker'], ['BTC-USD']));
      await client.until(() => client.count('subscriptions') === 4, 'the subscriptions');
      mock.step(25);
      await client.synced(mock);
      frames.push(client.frames);
    }
    expect(frames[0]?.length).toBeGreaterThan(50);
    expect(frames[1]).toEqual(frames[0]);
  });

  it('does step by itself every tickMs when asked to', async () => {
    const mock = await start({ seed: 2, tickMs: 1, heartbeatMs: 0 });
    const client = await FeedClient.open(mock.url);
    client.send(coinbaseSubscribe(['level2'], ['BTC-USD']));
    await client.until(() => client.applied.length >= 20, 'twenty book records');
    expect(client.applied.every((a) => a.result.status === 'applied')).toBe(true);
  });

  it('does reject bad options, listing each', async () => {
    const error = await startMockCoinbase({ products: ['btc'], depth: 0 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(RangeError);
    expect(String(error)).toContain('product "btc" must be BASE-QUOTE, e.g. "BTC-USD"\n  → at products[0]');
    expect(String(error)).toContain('depth "0" must be an integer >= 1\n  → at depth');
    const mock = await start({ tickMs: 0, heartbeatMs: 0 });
    expect(() => {
      mock.step(-1);
    }).toThrow('step count "-1" must be an integer >= 0');
    expect(() => {
      mock.faults.skipSequence(0);
    }).toThrow('skipSequence count "0" must be an integer >= 1');
    expect(() => mock.book('ETH-USD')).toThrow('Product "ETH-USD" is not served by this mock: BTC-USD');
  });
});
