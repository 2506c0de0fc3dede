import { describe, expect, it } from 'vitest';
import { AnyEventSchema } from '../../../src/model/index.js';
import type { CoinbaseControl, CoinbaseParser, CoinbaseParserOptions, CoinbaseRecord } from '../../../src/sources/coinbase/parse.js';
import { createCoinbaseParser, parseRfc3339 } from '../../../src/sources/coinbase/parse.js';

/** Receive time: 2023-11-14T22:13:20.500Z, just after the envelope times below. */
const RECV = 1_700_000_000_500;
/** 2023-11-14T22:13:20.123Z with nanoseconds: the ms must survive exactly. */
const TIMESTAMP = '2023-11-14T22:13:20.123456789Z';
const TS = 1_700_000_000_123;

type Output = { kind: 'record'; record: CoinbaseRecord } | { kind: 'control'; control: CoinbaseControl } | { kind: 'drop'; reason: string; frame: string };

function run(parser: CoinbaseParser, frame: unknown, tsRecv = RECV): Output[] {
  const out: Output[] = [];
  const text = typeof frame === 'string' ? frame : JSON.stringify(frame);
  parser.parse(text, tsRecv, {
    record: (record) => out.push({ kind: 'record', record }),
    control: (control) => out.push({ kind: 'control', control }),
    drop: (reason, dropped) => out.push({ kind: 'drop', reason, frame: dropped }),
  });
  return out;
}

/** Parses one frame with a new parser (a fresh sequence state). */
function parseOne(frame: unknown, options: CoinbaseParserOptions = {}): Output[] {
  return run(createCoinbaseParser(options), frame);
}

function envelope(channel: string, sequence: number, events: unknown[], timestamp = TIMESTAMP): Record<string, unknown> {
  return { channel, client_id: '', timestamp, sequence_num: sequence, events };
}

const tickerEvent = {
  type: 'update',
  tickers: [
    {
      type: 'ticker',
      product_id: 'BTC-USD',
      price: '43000.12',
      volume_24_h: '12000.5',
      low_24_h: '41800.00',
      high_24_h: '43500.00',
      low_52_w: '15000.00',
      high_52_w: '45000.00',
      price_percent_chg_24_h: '1.2',
      best_bid: '43000.11',
      best_bid_quantity: '0.5',
      best_ask: '43000.12',
      best_ask_quantity: '1.1',
    },
  ],
};

const trade = (id: string, side: string, time = '2023-11-14T22:13:20.1Z'): Record<string, unknown> => ({
  trade_id: id,
  product_id: 'BTC-USD',
  price: '43000.12',
  size: '0.01',
  side,
  time,
});

const l2Snapshot = {
  type: 'snapshot',
  product_id: 'BTC-USD',
  updates: [
    { side: 'bid', event_time: '1970-01-01T00:00:00Z', price_level: '43000.11', new_quantity: '0.5' },
    { side: 'bid', event_time: '1970-01-01T00:00:00Z', price_level: '43000.10', new_quantity: '1.5' },
    { side: 'offer', event_time: '1970-01-01T00:00:00Z', price_level: '43000.12', new_quantity: '1.1' },
  ],
};

const l2Update = {
  type: 'update',
  product_id: 'BTC-USD',
  updates: [
    { side: 'bid', event_time: '2023-11-14T22:13:20.100Z', price_level: '43000.10', new_quantity: '0' },
    { side: 'offer', event_time: '2023-11-14T22:13:20.100Z', price_level: '43000.13', new_quantity: '2' },
  ],
};

function records(out: readonly Output[]): CoinbaseRecord[] {
  return out.flatMap((o) => (o.kind === 'record' ? [o.record] : []));
}

function drops(out: readonly Output[]): string[] {
  return out.flatMap((o) => (o.kind === 'drop' ? [o.reason] : []));
}

function controls(out: readonly Output[]): CoinbaseControl[] {
  return out.flatMap((o) => (o.kind === 'control' ? [o.control] : []));
}

describe('createCoinbaseParser: channels', () => {
  it('does turn a ticker into a book-top at the envelope time', () => {
    const out = parseOne(envelope('ticker', 5, [tickerEvent]));
    expect(out).toEqual([
      {
        kind: 'record',
        record: {
          type: 'book-top',
          venue: 'coinbase',
          symbol: 'BTC-USD',
          tsEvent: TS,
          tsRecv: RECV,
          bidPrice: 43000.11,
          bidQty: 0.5,
          askPrice: 43000.12,
          askQty: 1.1,
        },
      },
    ]);
    expect(AnyEventSchema.parse(records(out)[0]), 'the record satisfies the model schema').toEqual(records(out)[0]);
  });

  it('does turn market trades into trades by ascending id, reading side as the maker side by default', () => {
    const out = parseOne(envelope('market_trades', 7, [{ type: 'update', trades: [trade('12346', 'BUY', '2023-11-14T22:13:20.2Z'), trade('12345', 'SELL')] }]));
    expect(records(out)).toEqual([
      { type: 'trade', venue: 'coinbase', symbol: 'BTC-USD', tsEvent: 1_700_000_000_100, tsRecv: RECV, id: 12345, price: 43000.12, qty: 0.01, side: 'buy' },
      { type: 'trade', venue: 'coinbase', symbol: 'BTC-USD', tsEvent: 1_700_000_000_200, tsRecv: RECV, id: 12346, price: 43000.12, qty: 0.01, side: 'sell' },
    ]);
    for (const record of records(out)) expect(AnyEventSchema.parse(record)).toEqual(record);
  });

  it('does keep the side as sent with tradeSide "taker"', () => {
    const out = parseOne(envelope('market_trades', 7, [{ type: 'snapshot', trades: [trade('1', 'SELL'), trade('2', 'BUY')] }]), { tradeSide: 'taker' });
    expect(records(out).map((r) => (r.type === 'trade' ? [r.id, r.side] : undefined))).toEqual([
      [1, 'sell'],
      [2, 'buy'],
    ]);
  });

  it('does accept a trade id sent as a JSON integer', () => {
    const out = parseOne(envelope('market_trades', 7, [{ type: 'update', trades: [{ ...trade('0', 'BUY'), trade_id: 42 }] }]));
    expect(records(out)).toMatchObject([{ type: 'trade', id: 42 }]);
  });

  it('does drop only the bad trade of a batch', () => {
    const out = parseOne(envelope('market_trades', 7, [{ type: 'update', trades: [trade('1', 'BUY'), { ...trade('2', 'BUY'), price: '-1' }, trade('3', 'SELL')] }]));
    expect(records(out).map((r) => (r.type === 'trade' ? r.id : -1))).toEqual([1, 3]);
    expect(drops(out)).toEqual(['market_trades field "events[].trades[].price" is not a positive decimal: "-1" at events[0].trades[1]']);
  });

  it('does turn an l2 snapshot and an update into book-depth records carrying the sequence numbers', () => {
    const parser = createCoinbaseParser();
    const snapshot = run(parser, envelope('l2_data', 1, [l2Snapshot]));
    const update = run(parser, envelope('l2_data', 2, [l2Update]));
    expect(snapshot).toEqual([
      {
        kind: 'record',
        record: {
          type: 'book-depth',
          venue: 'coinbase',
          symbol: 'BTC-USD',
          tsEvent: TS,
          tsRecv: RECV,
          firstUpdateId: 1,
          lastUpdateId: 1,
          bids: [
            [43000.11, 0.5],
            [43000.1, 1.5],
          ],
          asks: [[43000.12, 1.1]],
          snapshot: true,
        },
      },
    ]);
    expect(records(update)).toEqual([
      {
        type: 'book-depth',
        venue: 'coinbase',
        symbol: 'BTC-USD',
        tsEvent: TS,
        tsRecv: RECV,
        firstUpdateId: 2,
        lastUpdateId: 2,
        prevUpdateId: 1,
        bids: [[43000.1, 0]],
        asks: [[43000.13, 2]],
        snapshot: false,
      },
    ]);
    for (const record of [...records(snapshot), ...records(update)]) expect(AnyEventSchema.parse(record)).toEqual(record);
  });

  it('does report heartbeats, with the counter as an integer or a string', () => {
    const parser = createCoinbaseParser();
    const a = run(parser, envelope('heartbeats', 3, [{ current_time: '2023-11-14 22:13:20.12 +0000 UTC m=+9.1', heartbeat_counter: 3049 }]));
    const b = run(parser, envelope('heartbeats', 4, [{ current_time: '2023-11-14 22:13:21.12 +0000 UTC m=+10.1', heartbeat_counter: '3050' }]));
    expect([...a, ...b]).toEqual([
      { kind: 'control', control: { kind: 'heartbeat', counter: 3049, tsEvent: TS, currentTime: '2023-11-14 22:13:20.12 +0000 UTC m=+9.1' } },
      { kind: 'control', control: { kind: 'heartbeat', counter: 3050, tsEvent: TS, currentTime: '2023-11-14 22:13:21.12 +0000 UTC m=+10.1' } },
    ]);
  });

  it('does report subscription acks and error messages', () => {
    const parser = createCoinbaseParser();
    const ack = run(parser, envelope('subscriptions', 0, [{ subscriptions: { level2: ['BTC-USD'], heartbeats: ['heartbeats'] } }]));
    const error = run(parser, { type: 'error', message: 'Failed to subscribe' });
    expect([...ack, ...error]).toEqual([
      { kind: 'control', control: { kind: 'subscriptions', subscriptions: { level2: ['BTC-USD'], heartbeats: ['heartbeats'] } } },
      { kind: 'control', control: { kind: 'error', message: 'Failed to subscribe' } },
    ]);
  });
});

describe('createCoinbaseParser: sequence numbers', () => {
  it('does report a jump as a sequence gap before the message, and still parse the message', () => {
    const parser = createCoinbaseParser();
    expect(run(parser, envelope('l2_data', 10, [l2Snapshot])).map((o) => o.kind)).toEqual(['record']);
    const out = run(parser, envelope('l2_data', 14, [l2Update]));
    expect(out.map((o) => o.kind), 'the gap comes first').toEqual(['control', 'record']);
    expect(controls(out)).toEqual([{ kind: 'sequence-gap', expected: 11, got: 14, channel: 'l2_data', tsEvent: TS }]);
    expect(records(out)).toMatchObject([{ firstUpdateId: 14, prevUpdateId: 10 }]);
    expect(parser.lastSequence()).toBe(14);
  });

  it('does drop a repeated or older sequence number as a duplicate', () => {
    const parser = createCoinbaseParser();
    run(parser, envelope('ticker', 20, [tickerEvent]));
    expect(run(parser, envelope('ticker', 20, [tickerEvent]))).toEqual([
      { kind: 'drop', reason: 'duplicate sequence_num: 20 is not after the last 20 (channel "ticker")', frame: JSON.stringify(envelope('ticker', 20, [tickerEvent])) },
    ]);
    expect(drops(run(parser, envelope('l2_data', 19, [l2Update])))).toEqual(['duplicate sequence_num: 19 is not after the last 20 (channel "l2_data")']);
    expect(parser.lastSequence(), 'a duplicate does not move the counter').toBe(20);
    expect(controls(run(parser, envelope('ticker', 21, [tickerEvent]))), 'the next number is contiguous').toEqual([]);
  });

  it('does count across channels per connection by default', () => {
    const parser = createCoinbaseParser();
    run(parser, envelope('subscriptions', 0, [{ subscriptions: {} }]));
    run(parser, envelope('l2_data', 1, [l2Snapshot]));
    const out = run(parser, envelope('ticker', 3, [tickerEvent]));
    expect(controls(out)).toEqual([{ kind: 'sequence-gap', expected: 2, got: 3, channel: 'ticker', tsEvent: TS }]);
  });

  it('does count per channel with sequenceScope "channel"', () => {
    const parser = createCoinbaseParser({ sequenceScope: 'channel' });
    const out = [
      ...run(parser, envelope('l2_data', 1, [l2Snapshot])),
      ...run(parser, envelope('ticker', 1, [tickerEvent])),
      ...run(parser, envelope('l2_data', 2, [l2Update])),
      ...run(parser, envelope('ticker', 3, [tickerEvent])),
    ];
    expect(drops(out), 'the same number on two channels is no duplicate').toEqual([]);
    expect(controls(out)).toEqual([{ kind: 'sequence-gap', expected: 2, got: 3, channel: 'ticker', tsEvent: TS }]);
    expect(parser.lastSequence('l2_data')).toBe(2);
    expect(parser.lastSequence('ticker')).toBe(3);
  });

  it('does not number error messages, which carry no sequence_num', () => {
    const parser = createCoinbaseParser();
    run(parser, envelope('ticker', 1, [tickerEvent]));
    run(parser, { type: 'error', message: 'nope' });
    expect(controls(run(parser, envelope('ticker', 2, [tickerEvent])))).toEqual([]);
  });

  it('does check the first message against firstSequence when given', () => {
    expect(parseOne(envelope('ticker', 0, [tickerEvent]), { firstSequence: 0 }).map((o) => o.kind), 'on time').toEqual(['record']);
    expect(controls(parseOne(envelope('l2_data', 2, [l2Snapshot]), { firstSequence: 0 })), 'the first two were lost').toEqual([
      { kind: 'sequence-gap', expected: 0, got: 2, channel: 'l2_data', tsEvent: TS },
    ]);
    expect(drops(parseOne(envelope('l2_data', 3, [l2Snapshot]), { firstSequence: 5 }))).toEqual(['early sequence_num: 3 is before the first expected 5 (channel "l2_data")']);
    expect(() => createCoinbaseParser({ firstSequence: -1 })).toThrow('firstSequence "-1" must be an integer >= 0');
  });

  it('does not move the counter for a frame whose envelope is bad', () => {
    const parser = createCoinbaseParser();
    run(parser, envelope('ticker', 1, [tickerEvent]));
    expect(drops(run(parser, envelope('ticker', 2, [tickerEvent], 'yesterday')))).toHaveLength(1);
    expect(parser.lastSequence()).toBe(1);
  });
});

describe('createCoinbaseParser: drops name the field and the value', () => {
  const cases: [string, unknown, string][] = [
    ['invalid JSON', '{"channel":', 'invalid JSON: '],
    ['a JSON array', '[1,2]', 'not a JSON object: [1,2]'],
    ['a JSON number', '42', 'not a JSON object: "42"'],
    ['an error without a message', { type: 'error' }, 'error field "message" is missing: at the message'],
    ['no channel', { sequence_num: 1, timestamp: TIMESTAMP, events: [] }, 'envelope field "channel" is missing: at the message'],
    ['a string sequence_num', { ...envelope('ticker', 1, []), sequence_num: '12' }, 'ticker field "sequence_num" is not a non-negative integer: "12" at the message'],
    ['a negative sequence_num', { ...envelope('ticker', 1, []), sequence_num: -1 }, 'ticker field "sequence_num" is not a non-negative integer: "-1" at the message'],
    ['a bad timestamp', envelope('ticker', 1, [], '2023-13-01T00:00:00Z'), 'ticker field "timestamp" is not an RFC 3339 time: "2023-13-01T00:00:00Z" at the message'],
    ['a timestamp without a zone', envelope('ticker', 1, [], '2023-11-14T22:13:20.123'), 'ticker field "timestamp" is not an RFC 3339 time: "2023-11-14T22:13:20.123" at the message'],
    ['a timestamp before 2015', envelope('ticker', 1, [], '2014-12-31T23:59:59Z'), 'ticker field "timestamp" is before 2015: "2014-12-31T23:59:59Z" at the message'],
    [
      'a timestamp a day ahead',
      envelope('ticker', 1, [], '2023-11-15T22:13:21Z'),
      'ticker field "timestamp" is more than 86400000 ms after the receive time 1700000000500: "2023-11-15T22:13:21Z" at the message',
    ],
    ['events not a list', { ...envelope('ticker', 1, []), events: {} }, 'ticker field "events" is not a list: {} at the message'],
    ['an unsupported channel', envelope('candles', 1, []), 'unsupported channel: "candles"'],
    ['an event that is not an object', envelope('ticker', 1, ['x']), 'ticker field "events[]" is not an object: "x" at events[0]'],
    // l2_data
    ['an l2 event type', envelope('l2_data', 1, [{ ...l2Update, type: 'delta' }]), 'l2_data field "events[].type" is not "snapshot" or "update": "delta" at events[0]'],
    [
      'an l2 futures product',
      envelope('l2_data', 1, [{ ...l2Update, product_id: 'BIT-31JAN25-CDE' }]),
      'l2_data field "events[].product_id" is not a BASE-QUOTE product id: "BIT-31JAN25-CDE" at events[0]',
    ],
    ['l2 updates not a list', envelope('l2_data', 1, [{ ...l2Update, updates: null }]), 'l2_data field "events[].updates" is not a list: "null" at events[0]'],
    ['an l2 update not an object', envelope('l2_data', 1, [{ ...l2Update, updates: [7] }]), 'l2_data field "events[].updates[]" is not an object: "7" at events[0].updates[0]'],
    [
      'an l2 side',
      envelope('l2_data', 1, [{ ...l2Update, updates: [{ ...l2Update.updates[0], side: 'ask' }] }]),
      'l2_data field "events[].updates[].side" is not "bid" or "offer": "ask" at events[0].updates[0]',
    ],
    [
      'an l2 price of NaN',
      envelope('l2_data', 1, [{ ...l2Update, updates: [{ ...l2Update.updates[0], price_level: 'NaN' }] }]),
      'l2_data field "events[].updates[].price_level" is not a positive decimal: "NaN" at events[0].updates[0]',
    ],
    [
      'an l2 price of 0',
      envelope('l2_data', 1, [{ ...l2Update, updates: [{ ...l2Update.updates[0], price_level: '0.00' }] }]),
      'l2_data field "events[].updates[].price_level" is not a positive decimal: "0.00" at events[0].updates[0]',
    ],
    [
      'a negative l2 quantity',
      envelope('l2_data', 1, [{ ...l2Update, updates: [{ ...l2Update.updates[0], new_quantity: '-0.5' }] }]),
      'l2_data field "events[].updates[].new_quantity" is not a non-negative decimal: "-0.5" at events[0].updates[0]',
    ],
    [
      'an l2 quantity as a JSON number',
      envelope('l2_data', 1, [{ ...l2Update, updates: [{ ...l2Update.updates[0], new_quantity: 0.5 }] }]),
      'l2_data field "events[].updates[].new_quantity" is not a non-negative decimal: "0.5" at events[0].updates[0]',
    ],
    [
      'an l2 update event time',
      envelope('l2_data', 1, [{ ...l2Update, updates: [{ ...l2Update.updates[0], event_time: 'now' }] }]),
      'l2_data field "events[].updates[].event_time" is not an RFC 3339 time: "now" at events[0].updates[0]',
    ],
    [
      'an l2 snapshot event time',
      envelope('l2_data', 1, [{ ...l2Snapshot, updates: [{ ...l2Snapshot.updates[0], event_time: 12 }] }]),
      'l2_data field "events[].updates[].event_time" is not an RFC 3339 time: "12" at events[0].updates[0]',
    ],
    [
      'a crossed snapshot',
      envelope('l2_data', 1, [{ ...l2Snapshot, updates: [...l2Snapshot.updates, { side: 'bid', event_time: '1970-01-01T00:00:00Z', price_level: '43000.12', new_quantity: '1' }] }]),
      'crossed book: the snapshot\'s best bid "43000.12" is not below its best ask "43000.12" at events[0]',
    ],
    // market_trades
    ['a trades event type', envelope('market_trades', 1, [{ type: 'x', trades: [] }]), 'market_trades field "events[].type" is not "snapshot" or "update": "x" at events[0]'],
    ['trades not a list', envelope('market_trades', 1, [{ type: 'update' }]), 'market_trades field "events[].trades" is missing: at events[0]'],
    ['a trade not an object', envelope('market_trades', 1, [{ type: 'update', trades: [null] }]), 'market_trades field "events[].trades[]" is not an object: "null" at events[0].trades[0]'],
    [
      'a trade id that is not an integer',
      envelope('market_trades', 1, [{ type: 'update', trades: [trade('12a', 'BUY')] }]),
      'market_trades field "events[].trades[].trade_id" is not a non-negative integer: "12a" at events[0].trades[0]',
    ],
    [
      'a negative trade id',
      envelope('market_trades', 1, [{ type: 'update', trades: [trade('-5', 'BUY')] }]),
      'market_trades field "events[].trades[].trade_id" is not a non-negative integer: "-5" at events[0].trades[0]',
    ],
    [
      'a trade id beyond 2^53',
      envelope('market_trades', 1, [{ type: 'update', trades: [trade('9007199254740993', 'BUY')] }]),
      'market_trades field "events[].trades[].trade_id" is not a non-negative integer: "9007199254740993" at events[0].trades[0]',
    ],
    [
      'a trade price of Infinity',
      envelope('market_trades', 1, [{ type: 'update', trades: [{ ...trade('1', 'BUY'), price: 'Infinity' }] }]),
      'market_trades field "events[].trades[].price" is not a positive decimal: "Infinity" at events[0].trades[0]',
    ],
    [
      'a trade size of 0',
      envelope('market_trades', 1, [{ type: 'update', trades: [{ ...trade('1', 'BUY'), size: '0' }] }]),
      'market_trades field "events[].trades[].size" is not a positive decimal: "0" at events[0].trades[0]',
    ],
    [
      'a lower-case trade side',
      envelope('market_trades', 1, [{ type: 'update', trades: [trade('1', 'buy')] }]),
      'market_trades field "events[].trades[].side" is not "BUY" or "SELL": "buy" at events[0].trades[0]',
    ],
    [
      'a trade time',
      envelope('market_trades', 1, [{ type: 'update', trades: [trade('1', 'BUY', '2023-02-30T00:00:00Z')] }]),
      'market_trades field "events[].trades[].time" is not an RFC 3339 time: "2023-02-30T00:00:00Z" at events[0].trades[0]',
    ],
    [
      'a trade without product',
      envelope('market_trades', 1, [{ type: 'update', trades: [{ ...trade('1', 'BUY'), product_id: undefined }] }]),
      'market_trades field "events[].trades[].product_id" is missing: at events[0].trades[0]',
    ],
    // ticker
    ['a ticker event type', envelope('ticker', 1, [{ ...tickerEvent, type: 1 }]), 'ticker field "events[].type" is not "snapshot" or "update": "1" at events[0]'],
    ['tickers not a list', envelope('ticker', 1, [{ type: 'update', tickers: 'x' }]), 'ticker field "events[].tickers" is not a list: "x" at events[0]'],
    ['a ticker not an object', envelope('ticker', 1, [{ type: 'update', tickers: [[]] }]), 'ticker field "events[].tickers[]" is not an object: [] at events[0].tickers[0]'],
    [
      'an empty best bid',
      envelope('ticker', 1, [{ type: 'update', tickers: [{ ...tickerEvent.tickers[0], best_bid: '' }] }]),
      'ticker field "events[].tickers[].best_bid" is not a positive decimal: "" at events[0].tickers[0]',
    ],
    [
      'a negative best bid quantity',
      envelope('ticker', 1, [{ type: 'update', tickers: [{ ...tickerEvent.tickers[0], best_bid_quantity: '-1' }] }]),
      'ticker field "events[].tickers[].best_bid_quantity" is not a non-negative decimal: "-1" at events[0].tickers[0]',
    ],
    [
      'an exponent in the best ask',
      envelope('ticker', 1, [{ type: 'update', tickers: [{ ...tickerEvent.tickers[0], best_ask: '4.3e4' }] }]),
      'ticker field "events[].tickers[].best_ask" is not a positive decimal: "4.3e4" at events[0].tickers[0]',
    ],
    [
      'a missing best ask quantity',
      envelope('ticker', 1, [{ type: 'update', tickers: [{ ...tickerEvent.tickers[0], best_ask_quantity: undefined }] }]),
      'ticker field "events[].tickers[].best_ask_quantity" is missing: at events[0].tickers[0]',
    ],
    [
      'a crossed ticker',
      envelope('ticker', 1, [{ type: 'update', tickers: [{ ...tickerEvent.tickers[0], best_bid: '43000.13' }] }]),
      'crossed book: best_bid "43000.13" is not below best_ask "43000.12" at events[0].tickers[0]',
    ],
    [
      'a ticker product',
      envelope('ticker', 1, [{ type: 'update', tickers: [{ ...tickerEvent.tickers[0], product_id: 'btc-usd' }] }]),
      'ticker field "events[].tickers[].product_id" is not a BASE-QUOTE product id: "btc-usd" at events[0].tickers[0]',
    ],
    // heartbeats and subscriptions
    [
      'a heartbeat counter',
      envelope('heartbeats', 1, [{ current_time: 'x', heartbeat_counter: '1.5' }]),
      'heartbeats field "events[].heartbeat_counter" is not a non-negative integer: "1.5" at events[0]',
    ],
    ['a heartbeat time', envelope('heartbeats', 1, [{ heartbeat_counter: 1 }]), 'heartbeats field "events[].current_time" is missing: at events[0]'],
    ['subscriptions not an object', envelope('subscriptions', 1, [{ subscriptions: [] }]), 'subscriptions field "events[].subscriptions" is not an object: [] at events[0]'],
    [
      'a subscription list with a number',
      envelope('subscriptions', 1, [{ subscriptions: { level2: ['BTC-USD', 1] } }]),
      'subscriptions field "events[].subscriptions.level2" is not a list of strings: ["BTC-USD",1] at events[0]',
    ],
  ];

  it.each(cases)('does drop %s', (_name, frame, reason) => {
    const out = parseOne(frame);
    const text = typeof frame === 'string' ? frame : JSON.stringify(frame);
    expect(out.filter((o) => o.kind !== 'drop'), 'nothing else comes out').toEqual([]);
    expect(out).toHaveLength(1);
    const [only] = out;
    if (only?.kind !== 'drop') throw new Error('expected a drop');
    if (reason.endsWith(': ')) expect(only.reason.startsWith(reason), only.reason).toBe(true);
    else expect(only.reason).toBe(reason);
    expect(only.frame, 'the drop carries the frame as received').toBe(text);
  });

  it('does never throw, whatever the frame', () => {
    const parser = createCoinbaseParser();
    const frames = ['', 'null', '"x"', '{}', '{"events":null}', JSON.stringify(envelope('l2_data', 1, [null, 1, 'x', [], {}])), '\u0000'];
    for (const frame of frames) expect(() => run(parser, frame)).not.toThrow();
  });
});

describe('createCoinbaseParser: options', () => {
  it('does reject bad options with the value quoted', () => {
    expect(() => createCoinbaseParser({ maxAheadMs: -1 })).toThrow('maxAheadMs "-1" must be a non-negative number of milliseconds');
    expect(() => createCoinbaseParser({ tradeSide: 'seller' as 'maker' })).toThrow('tradeSide "seller" must be "maker" or "taker"');
    expect(() => createCoinbaseParser({ sequenceScope: 'product' as 'channel' })).toThrow('sequenceScope "product" must be "connection" or "channel"');
  });

  it('does bound event times by maxAheadMs', () => {
    const out = parseOne(envelope('ticker', 1, [tickerEvent], '2023-11-14T22:13:21Z'), { maxAheadMs: 0 });
    expect(drops(out)).toEqual(['ticker field "timestamp" is more than 0 ms after the receive time 1700000000500: "2023-11-14T22:13:21Z" at the message']);
  });
});

describe('parseRfc3339', () => {
  it('does keep the milliseconds and cut (never round) what lies below them', () => {
    expect(parseRfc3339('2026-01-01T00:00:00.714964855Z')).toBe(Date.UTC(2026, 0, 1, 0, 0, 0, 714));
    expect(parseRfc3339('2026-01-01T00:00:59.9999999Z')).toBe(Date.UTC(2026, 0, 1, 0, 0, 59, 999));
    expect(parseRfc3339('2026-01-01T00:00:00.1Z')).toBe(Date.UTC(2026, 0, 1, 0, 0, 0, 100));
    expect(parseRfc3339('2026-01-01T00:00:00.05Z')).toBe(Date.UTC(2026, 0, 1, 0, 0, 0, 50));
    expect(parseRfc3339('2026-01-01T00:00:00Z')).toBe(Date.UTC(2026, 0, 1));
  });

  it('does apply offsets and accept the forms RFC 3339 allows', () => {
    expect(parseRfc3339('2026-01-01T02:30:00.5+02:30')).toBe(Date.UTC(2026, 0, 1, 0, 0, 0, 500));
    expect(parseRfc3339('2025-12-31T23:00:00-01:00')).toBe(Date.UTC(2026, 0, 1));
    expect(parseRfc3339('2026-01-01 00:00:00z')).toBe(Date.UTC(2026, 0, 1));
    expect(parseRfc3339('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    expect(parseRfc3339('1970-01-01T00:00:00Z')).toBe(0);
  });

  it('does reject what is not a valid RFC 3339 date-time', () => {
    for (const text of [
      '2023-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T00:60:00Z',
      '2026-01-01T00:00:00',
      '2026-01-01T00:00:00.Z',
      '2026-01-01T00:00:00.1234567890Z',
      '2026-01-01T00:00:00+24:00',
      '1969-12-31T23:59:59Z',
      '2026-1-01T00:00:00Z',
      ' 2026-01-01T00:00:00Z',
      '2026-01-01 00:00:01.12 +0000 UTC m=+9.1',
    ]) {
      expect(parseRfc3339(text), text).toBeNaN();
    }
  });
});
