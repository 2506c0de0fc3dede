import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { MockKraken, MockKrakenOptions } from '../../src/mock/kraken.js';
import { startMockKraken } from '../../src/mock/kraken.js';
import { AnyEventSchema } from '../../src/model/index.js';
import type { ChecksumResult } from '../../src/sources/kraken/book.js';
import { KrakenBook } from '../../src/sources/kraken/book.js';
import type { KrakenBookDepth, KrakenSubscription } from '../../src/sources/kraken/messages.js';
import { krakenPing, krakenSubscribe, krakenUnsubscribe } from '../../src/sources/kraken/messages.js';
import type { KrakenBookMessage, KrakenControl, KrakenRecord } from '../../src/sources/kraken/parse.js';
import { createKrakenParser } from '../../src/sources/kraken/parse.js';

const BTC = { symbol: 'BTC/USD', pricePrecision: 1, qtyPrecision: 8, price: 50_000 } as const;
const DOGE = { symbol: 'DOGE/USD', pricePrecision: 7, qtyPrecision: 8, price: 0.1 } as const;

/** A `ws` client that keeps every frame and can wait for a condition on them (no timers: events only). */
class TestClient {
  readonly socket: WebSocket;
  readonly frames: string[] = [];
  readonly closed: Promise<number>;
  /** req_ids of the pongs received. */
  readonly #pongs = new Set<number>();
  readonly #waiters: { check: () => boolean; resolve: () => void; reject: (err: Error) => void }[] = [];
  #nextId = 1_000;

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.on('message', (data: Buffer) => {
      const frame = data.toString('utf8');
      this.frames.push(frame);
      const pong = /^\{"method":"pong","req_id":([0-9]+),/.exec(frame);
      if (pong !== null) this.#pongs.add(Number(pong[1]));
      this.#wake();
    });
    this.closed = new Promise((resolve) => {
      this.socket.on('close', (code) => {
        for (const waiter of this.#waiters.splice(0)) waiter.reject(new Error(`socket closed (${code}) while waiting`));
        resolve(code);
      });
    });
    this.socket.on('error', () => undefined);
  }

  async open(): Promise<this> {
    if (this.socket.readyState !== WebSocket.OPEN) {
      await new Promise<void>((resolve, reject) => {
        this.socket.once('open', () => {
          resolve();
        });
        this.socket.once('error', reject);
      });
    }
    return this;
  }

  send(request: unknown): void {
    this.socket.send(JSON.stringify(request));
  }

  /** Resolves once `check` holds over the frames received so far. */
  async until(check: () => boolean): Promise<void> {
    if (check()) return;
    await new Promise<void>((resolve, reject) => {
      this.#waiters.push({ check, resolve, reject });
    });
  }

  /** A ping round trip: every frame the server sent before answering it has arrived. */
  async barrier(): Promise<void> {
    const id = this.#nextId++;
    this.send(krakenPing(id));
    await this.until(() => this.#pongs.has(id));
  }

  async subscribe(subscription: KrakenSubscription, reqId: number): Promise<void> {
    this.send(krakenSubscribe(subscription, reqId));
    await this.barrier();
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) {
      if (!waiter.check()) continue;
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }
}

/** Parses frames as they come and keeps a checksum-verified book per symbol, as a connection layer would. */
class Consumer {
  readonly records: KrakenRecord[] = [];
  readonly controls: KrakenControl[] = [];
  readonly drops: string[] = [];
  /** Per symbol, the verdict on each book update (snapshots left out), in order. */
  readonly verdicts = new Map<string, ChecksumResult[]>();
  readonly books = new Map<string, KrakenBook>();
  readonly #parser = createKrakenParser();
  readonly #mock: MockKraken;
  readonly #depths: Readonly<Record<string, KrakenBookDepth>>;
  readonly #usePrecision: boolean;
  #read = 0;

  constructor(mock: MockKraken, depths: Readonly<Record<string, KrakenBookDepth>>, usePrecision: boolean) {
    this.#mock = mock;
    this.#depths = depths;
    this.#usePrecision = usePrecision;
  }

  /** Parses the frames not read yet. */
  read(frames: readonly string[]): void {
    for (; this.#read < frames.length; this.#read++) {
      this.#parser.parse(frames[this.#read] as string, this.#mock.now(), {
        record: (record) => this.records.push(record),
        control: (message) => {
          this.controls.push(message);
          if (message.kind === 'book') this.#book(message);
        },
        drop: (reason) => this.drops.push(reason),
      });
    }
  }

  updates(symbol: string): number {
    return this.verdicts.get(symbol)?.length ?? 0;
  }

  #book(message: KrakenBookMessage): void {
    let book = this.books.get(message.symbol);
    if (book === undefined) {
      const depth = this.#depths[message.symbol] ?? 10;
      const precision = this.controls.find((c) => c.kind === 'instrument' && c.symbol === message.symbol);
      book =
        this.#usePrecision && precision?.kind === 'instrument'
          ? new KrakenBook({ symbol: message.symbol, depth, pricePrecision: precision.pricePrecision, qtyPrecision: precision.qtyPrecision })
          : new KrakenBook({ symbol: message.symbol, depth });
      this.books.set(message.symbol, book);
    }
    const result = book.apply(message);
    if (message.snapshot) {
      expect(result, `the snapshot of ${message.symbol} verifies`).toEqual({ ok: true });
      return;
    }
    const list = this.verdicts.get(message.symbol) ?? [];
    list.push(result);
    this.verdicts.set(message.symbol, list);
  }
}

const mocks: MockKraken[] = [];
const clients: TestClient[] = [];

async function mock(options: MockKrakenOptions = {}): Promise<MockKraken> {
  const started = await startMockKraken({ tickMs: 0, heartbeatMs: 0, ...options });
  mocks.push(started);
  return started;
}

async function client(url: string): Promise<TestClient> {
  const c = new TestClient(url);
  clients.push(c);
  await c.open();
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) {
    if (c.socket.readyState !== WebSocket.CLOSED) {
      c.socket.terminate();
      await c.closed;
    }
  }
  for (const m of mocks.splice(0)) await m.close();
});

describe('startMockKraken: protocol', () => {
  it('does greet with a status frame, ack each symbol with its req_id, reject an unknown pair and answer a ping', async () => {
    const m = await mock({ pairs: [BTC, DOGE] });
    const c = await client(m.url);
    await c.until(() => c.frames.length >= 1);
    expect(JSON.parse(c.frames[0] as string)).toEqual({ channel: 'status', type: 'update', data: [{ version: '2.0.10', system: 'online', api_version: 'v2', connection_id: 1_000_000_001 }] });
    c.send({ method: 'subscribe', params: { channel: 'ticker', symbol: ['BTC/USD', 'FOO/BAR', 'DOGE/USD'] }, req_id: 4 });
    await c.barrier();
    const consumer = new Consumer(m, {}, false);
    consumer.read(c.frames);
    const acks = consumer.controls.filter((control) => control.kind === 'ack');
    expect(acks).toEqual([
      {
        kind: 'ack',
        method: 'subscribe',
        success: true,
        channel: 'ticker',
        symbol: 'BTC-USD',
        rawSymbol: 'BTC/USD',
        reqId: 4,
        result: { channel: 'ticker', event_trigger: 'trades', snapshot: true, symbol: 'BTC/USD' },
        warnings: [],
      },
      { kind: 'ack', method: 'subscribe', success: false, error: 'Currency pair not supported FOO/BAR', symbol: 'FOO-BAR', rawSymbol: 'FOO/BAR', reqId: 4 },
      {
        kind: 'ack',
        method: 'subscribe',
        success: true,
        channel: 'ticker',
        symbol: 'DOGE-USD',
        rawSymbol: 'DOGE/USD',
        reqId: 4,
        result: { channel: 'ticker', event_trigger: 'trades', snapshot: true, symbol: 'DOGE/USD' },
        warnings: [],
      },
    ]);
    expect(consumer.records.map((r) => `${r.type} ${r.symbol}`), 'a ticker snapshot after each successful ack').toEqual(['book-top BTC-USD', 'book-top DOGE-USD']);
    expect(consumer.controls.filter((control) => control.kind === 'pong')).toEqual([{ kind: 'pong', reqId: 1_000, error: undefined }]);
    expect(consumer.drops).toEqual([]);
  });

  it('does refuse bad requests with an error ack, a second subscribe, and an unsubscribe of nothing', async () => {
    const m = await mock();
    const c = await client(m.url);
    c.send({ method: 'subscribe', params: { channel: 'book', symbol: ['BTC/USD'], depth: 7 }, req_id: 1 });
    c.send({ method: 'subscribe', params: { channel: 'book', symbol: ['BTC/USD'], depth: 10, snapshot: false }, req_id: 2 });
    c.send({ method: 'subscribe', params: { channel: 'book', symbol: ['BTC/USD'] }, req_id: 3 });
    c.send(krakenUnsubscribe({ channel: 'trade', symbols: ['BTC/USD'] }, 4));
    c.send(krakenUnsubscribe({ channel: 'book', symbols: ['BTC/USD'], depth: 10 }, 5));
    c.send({ method: 'subscribe', params: { channel: 'spread', symbol: ['BTC/USD'] }, req_id: 6 });
    c.socket.send('not json');
    await c.barrier();
    const consumer = new Consumer(m, {}, false);
    consumer.read(c.frames);
    const replies = consumer.controls.flatMap((control) =>
      control.kind === 'ack' ? [`${control.reqId} ${control.method} ${control.success ? `ok ${JSON.stringify(control.result)}` : control.error}`] : control.kind === 'error' ? [`error ${control.error}`] : [],
    );
    expect(replies).toEqual([
      '1 subscribe EGeneral:Invalid arguments:depth',
      '2 subscribe ok {"channel":"book","depth":10,"snapshot":false,"symbol":"BTC/USD"}',
      '3 subscribe Already subscribed',
      '4 unsubscribe Subscription Not Found',
      '5 unsubscribe ok {"channel":"book","depth":10,"symbol":"BTC/USD"}',
      '6 subscribe EGeneral:Invalid arguments:channel spread',
      'error EGeneral:Invalid arguments',
    ]);
    expect(consumer.records, 'snapshot: false sends no snapshot').toEqual([]);
  });

  it('does reject bad options, listing them', async () => {
    await expect(startMockKraken({ pairs: [{ symbol: 'BTCUSD', pricePrecision: 1, qtyPrecision: 8, price: 1 }], stepMs: 0 })).rejects.toThrowErrorMatchingInlineSnapshot(`
      [RangeError: startMockKraken options are invalid:
      ✖ stepMs "0" must be an integer from 1 to 86400000
        → at stepMs
      ✖ symbol "BTCUSD" must be BASE/QUOTE, e.g. "BTC/USD"
        → at pairs[0].symbol]
    `);
    await expect(startMockKraken({ pairs: [BTC, BTC] })).rejects.toThrowErrorMatchingInlineSnapshot(`[RangeError: startMockKraken options are invalid: pair "BTC/USD" is listed twice]`);
  });
});

describe('startMockKraken: book checksums', () => {
  it('does keep a client book verified over 1000+ updates per symbol and depth, in both precision modes', async () => {
    const m = await mock({ pairs: [BTC, DOGE], seed: 11 });
    const a = await client(m.url);
    const b = await client(m.url);
    await a.subscribe({ channel: 'instrument' }, 1);
    await a.subscribe({ channel: 'book', symbols: ['BTC/USD'], depth: 10 }, 2);
    await a.subscribe({ channel: 'book', symbols: ['DOGE/USD'], depth: 100 }, 3);
    await a.subscribe({ channel: 'trade', symbols: ['BTC/USD'] }, 4);
    await a.subscribe({ channel: 'ticker', symbols: ['BTC/USD'] }, 5);
    await a.subscribe({ channel: 'ohlc', symbols: ['BTC/USD'], interval: 1 }, 6);
    await b.subscribe({ channel: 'book', symbols: ['BTC/USD'], depth: 1000 }, 1);
    await b.subscribe({ channel: 'book', symbols: ['DOGE/USD'], depth: 25 }, 2);
    const withPrecision = new Consumer(m, { 'BTC-USD': 10, 'DOGE-USD': 100 }, true);
    const asSent = new Consumer(m, { 'BTC-USD': 1000, 'DOGE-USD': 25 }, false);
    const fewest = (): number => Math.min(...['BTC-USD', 'DOGE-USD'].flatMap((s) => [withPrecision.updates(s), asSent.updates(s)]));
    while (fewest() < 1_000) {
      m.step(250);
      await Promise.all([a.barrier(), b.barrier()]);
      withPrecision.read(a.frames);
      asSent.read(b.frames);
    }
    for (const consumer of [withPrecision, asSent]) {
      expect(consumer.drops, 'every frame parses').toEqual([]);
      for (const [symbol, verdicts] of consumer.verdicts) {
        expect(verdicts.filter((v) => !v.ok), `${symbol}: every update verifies`).toEqual([]);
        expect(verdicts.length).toBeGreaterThanOrEqual(1_000);
      }
    }
    // The client books are the mock's true book, to the depth.
    const truth = m.book('BTC/USD');
    expect(asSent.books.get('BTC-USD')?.bids()).toEqual(truth.bids.slice(0, 1_000));
    expect(withPrecision.books.get('BTC-USD')?.asks()).toEqual(truth.asks.slice(0, 10));
    expect(withPrecision.books.get('DOGE-USD')?.bids()).toEqual(m.book('DOGE/USD').bids.slice(0, 100));
    // D-04's precision case: quantities like 0.00003000 went through the checksum.
    const texts = withPrecision.controls.flatMap((c) => (c.kind === 'book' ? [...c.bids, ...c.asks].map((l) => l.qtyText ?? '') : []));
    expect(texts.some((text) => /^0\.0000[1-9]000$/.test(text))).toBe(true);
    // The other channels flowed too, and their records are valid (the first 100 of each type: zod is slow).
    const byType = new Map<string, KrakenRecord[]>();
    for (const record of withPrecision.records) {
      const list = byType.get(record.type) ?? [];
      if (list.length < 100) list.push(record);
      byType.set(record.type, list);
    }
    expect([...byType.keys()].sort()).toEqual(['book-depth', 'book-top', 'candle', 'trade']);
    for (const records of byType.values()) for (const record of records) expect(AnyEventSchema.parse(record)).toStrictEqual(record);
  });

  it('does let a client detect a flipped checksum on exactly that message, and keep verifying after it', async () => {
    const m = await mock({ seed: 3 });
    const c = await client(m.url);
    await c.subscribe({ channel: 'book', symbols: ['BTC/USD'], depth: 10 }, 1);
    const consumer = new Consumer(m, {}, false);
    m.step(300);
    await c.barrier();
    consumer.read(c.frames);
    const before = consumer.updates('BTC-USD');
    expect(before).toBeGreaterThan(0);
    m.faults.flipNextChecksum('BTC/USD');
    m.step(300);
    await c.barrier();
    consumer.read(c.frames);
    const verdicts = consumer.verdicts.get('BTC-USD') ?? [];
    const failed = verdicts.flatMap((v, i) => (v.ok ? [] : [i]));
    expect(failed, 'only the first update after the flip fails').toEqual([before]);
    const bad = verdicts[before];
    expect(bad?.ok === false && (bad.expected ^ bad.actual) >>> 0, 'one bit off').toBe(1);
    expect(verdicts.length).toBeGreaterThan(before + 1);
  });

  it('does make a dropped book update visible as a checksum failure', async () => {
    const m = await mock({ seed: 5 });
    const c = await client(m.url);
    await c.subscribe({ channel: 'book', symbols: ['BTC/USD'], depth: 10 }, 1);
    const consumer = new Consumer(m, {}, false);
    m.step(20);
    await c.barrier();
    consumer.read(c.frames);
    expect(consumer.verdicts.get('BTC-USD')?.every((v) => v.ok)).toBe(true);
    m.faults.dropNext(1);
    m.step(200);
    await c.barrier();
    consumer.read(c.frames);
    expect(consumer.verdicts.get('BTC-USD')?.some((v) => !v.ok), 'the book diverged').toBe(true);
  });

  it('does send a fresh verified snapshot on resubscribe', async () => {
    const m = await mock({ seed: 9 });
    const c = await client(m.url);
    await c.subscribe({ channel: 'book', symbols: ['BTC/USD'], depth: 25 }, 1);
    m.step(100);
    c.send(krakenUnsubscribe({ channel: 'book', symbols: ['BTC/USD'], depth: 25 }, 2));
    await c.subscribe({ channel: 'book', symbols: ['BTC/USD'], depth: 25 }, 3);
    m.step(100);
    await c.barrier();
    const consumer = new Consumer(m, { 'BTC-USD': 25 }, false);
    consumer.read(c.frames);
    expect(consumer.controls.filter((x) => x.kind === 'book' && x.snapshot)).toHaveLength(2);
    expect(consumer.verdicts.get('BTC-USD')?.every((v) => v.ok)).toBe(true);
  });
});

describe('startMockKraken: market data and faults', () => {
  it('does give the same frames for the same seed and script', async () => {
    const script = async (seed: number): Promise<string[]> => {
      const m = await mock({ seed, pairs: [BTC, DOGE] });
      const c = await client(m.url);
      await c.subscribe({ channel: 'book', symbols: ['BTC/USD', 'DOGE/USD'], depth: 10 }, 1);
      await c.subscribe({ channel: 'trade', symbols: ['BTC/USD'] }, 2);
      await c.subscribe({ channel: 'ohlc', symbols: ['DOGE/USD'], interval: 5 }, 3);
      m.step(200);
      await c.barrier();
      return c.frames;
    };
    const first = await script(42);
    expect(await script(42)).toEqual(first);
    expect(await script(43)).not.toEqual(first);
  });

  it('does close each 1m candle exactly once, as the parser sees it', async () => {
    const m = await mock({ stepMs: 1_000, tradeProbability: 1 });
    const c = await client(m.url);
    await c.subscribe({ channel: 'ohlc', symbols: ['BTC/USD'], interval: 1 }, 1);
    m.step(300);
    await c.barrier();
    const consumer = new Consumer(m, {}, false);
    consumer.read(c.frames);
    const closed = consumer.records.flatMap((r) => (r.type === 'candle' && r.closed ? [r.openTime] : []));
    // 300 steps of 1 s from 00:00: bars 00:00 to 00:04 are closed by the first trade of the next one.
    expect(closed).toHaveLength(5);
    expect(new Set(closed).size, 'no bar closed twice').toBe(closed.length);
    expect(closed.every((t, i) => i === 0 || t - (closed[i - 1] as number) === 60_000)).toBe(true);
    expect(consumer.drops).toEqual([]);
  });

  it('does send bbo tickers on a change of the best levels, and trade tickers only with trades', async () => {
    const m = await mock({ tradeProbability: 0 });
    const c = await client(m.url);
    await c.subscribe({ channel: 'ticker', symbols: ['BTC/USD'] }, 1);
    m.step(50);
    await c.barrier();
    const tradesOnly = c.frames.filter((f) => f.startsWith('{"channel":"ticker","type":"update"')).length;
    expect(tradesOnly, 'no trades, no trade-triggered tickers').toBe(0);
    c.send(krakenUnsubscribe({ channel: 'ticker', symbols: ['BTC/USD'] }, 2));
    await c.subscribe({ channel: 'ticker', symbols: ['BTC/USD'], eventTrigger: 'bbo' }, 3);
    m.step(50);
    await c.barrier();
    expect(c.frames.filter((f) => f.startsWith('{"channel":"ticker","type":"update"')).length).toBeGreaterThan(0);
  });

  it('does stall one channel while the others go on, and resume it', async () => {
    const m = await mock({ tradeProbability: 1 });
    const c = await client(m.url);
    await c.subscribe({ channel: 'trade', symbols: ['BTC/USD'] }, 1);
    await c.subscribe({ channel: 'book', symbols: ['BTC/USD'] }, 2);
    const count = (channel: string): number => c.frames.filter((f) => f.startsWith(`{"channel":"${channel}","type":"update"`)).length;
    m.faults.stall('trade');
    m.step(20);
    await c.barrier();
    expect([count('trade'), count('book') > 0]).toEqual([0, true]);
    m.faults.resume('trade');
    m.step(20);
    await c.barrier();
    expect(count('trade')).toBe(20);
  });

  it('does send heartbeats to a subscribed connection that is otherwise idle', async () => {
    const m = await mock({ heartbeatMs: 5 });
    const c = await client(m.url);
    await c.subscribe({ channel: 'book', symbols: ['BTC/USD'] }, 1);
    await c.until(() => c.frames.includes('{"channel":"heartbeat"}'));
    const consumer = new Consumer(m, {}, false);
    consumer.read(c.frames);
    expect(consumer.controls.some((x) => x.kind === 'heartbeat')).toBe(true);
  });

  it('does terminate connections without a close frame, and close cleanly', async () => {
    const m = await mock();
    const c = await client(m.url);
    await c.subscribe({ channel: 'book', symbols: ['BTC/USD'] }, 1);
    expect(m.connections()).toBe(1);
    m.faults.terminate();
    expect(await c.closed, 'an abnormal closure').toBe(1006);
    const d = await client(m.url);
    await m.close();
    expect(await d.closed).toBe(1006);
    expect(m.connections()).toBe(0);
  });
});
