import { describe, expect, it } from 'vitest';
import { AnyEventSchema } from '../../../src/model/index.js';
import type { KrakenControl, KrakenParser, KrakenRecord } from '../../../src/sources/kraken/parse.js';
import { createKrakenParser } from '../../../src/sources/kraken/parse.js';

/** What a Kraken parser delivered for one frame. */
interface Parsed {
  readonly records: KrakenRecord[];
  readonly controls: KrakenControl[];
  readonly drops: string[];
  /** What came out, in order: `record:<type>`, `control:<kind>` or `drop`. */
  readonly order: string[];
}

function parseFrame(parser: KrakenParser, frame: string, tsRecv: number): Parsed {
  const parsed: Parsed = { records: [], controls: [], drops: [], order: [] };
  parser.parse(frame, tsRecv, {
    record: (record) => {
      parsed.records.push(record);
      parsed.order.push(`record:${record.type}`);
    },
    control: (message) => {
      parsed.controls.push(message);
      parsed.order.push(`control:${message.kind}`);
    },
    drop: (reason, text) => {
      if (text !== frame) throw new Error('a drop must carry the frame it came from');
      parsed.drops.push(reason);
      parsed.order.push('drop');
    },
  });
  return parsed;
}

/** A data frame: `{"channel":...,"type":...,"data":[...]}`. */
function dataFrame(channel: string, type: 'snapshot' | 'update', data: readonly unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ channel, type, ...extra, data });
}

/** Receive time used throughout: 2026-01-01T00:10:00Z, just after the example event times. */
const RECV = Date.UTC(2026, 0, 1, 0, 10);

// Payloads from protocols.md §4 (field names and JSON types as Kraken sends them).
const tickerItem = {
  symbol: 'BTC/USD',
  bid: 43000.1,
  bid_qty: 0.5,
  ask: 43000.2,
  ask_qty: 1.25,
  last: 43000.2,
  volume: 1234.5678,
  vwap: 42800.3,
  low: 41800,
  high: 43500,
  change: 1000.2,
  change_pct: 2.38,
};
const tradeItem = { symbol: 'BTC/USD', side: 'buy', price: 43000.2, qty: 0.0125, ord_type: 'limit', trade_id: 4_665_847, timestamp: '2026-01-01T00:00:01.925603Z' };
const ohlcItem = {
  symbol: 'BTC/USD',
  open: 43000,
  high: 43020,
  low: 42990,
  close: 43010.5,
  trades: 13,
  volume: 1.25,
  vwap: 43005.1,
  interval_begin: '2026-01-01T00:05:00.000000000Z',
  interval: 5,
  timestamp: '2026-01-01T00:10:00.000000Z',
};
const OHLC_TIME = '2026-01-01T00:05:01.806315597Z';
const BOOK_SNAPSHOT =
  '{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD",' +
  '"bids":[{"price":50000.0,"qty":2.00000000},{"price":49999.9,"qty":0.00100000}],' +
  '"asks":[{"price":50001.0,"qty":0.50000000},{"price":50002.5,"qty":1.25000000}],"checksum":3008123608}]}';
const BOOK_UPDATE =
  '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":50000.5,"qty":0.3}],' +
  '"asks":[{"price":50001.0,"qty":0}],"checksum":4156532984,"timestamp":"2026-01-01T00:00:02.000000Z"}]}';

const ticker = (change: Record<string, unknown>): string => dataFrame('ticker', 'update', [{ ...tickerItem, ...change }]);
const trade = (change: Record<string, unknown>): string => dataFrame('trade', 'update', [{ ...tradeItem, ...change }]);
const ohlc = (change: Record<string, unknown>): string => dataFrame('ohlc', 'update', [{ ...ohlcItem, ...change }], { timestamp: OHLC_TIME });
const book = (change: Record<string, unknown>, type: 'snapshot' | 'update' = 'update'): string =>
  dataFrame('book', type, [{ symbol: 'BTC/USD', bids: [{ price: 50000.5, qty: 0.3 }], asks: [], checksum: 1, ...change }]);

describe('createKrakenParser: records', () => {
  it('does turn a ticker into a book top at the receive time, or at its timestamp when it has one', () => {
    const parser = createKrakenParser();
    expect(parseFrame(parser, dataFrame('ticker', 'snapshot', [tickerItem]), RECV)).toStrictEqual({
      records: [{ type: 'book-top', venue: 'kraken', symbol: 'BTC-USD', tsEvent: RECV, tsRecv: RECV, bidPrice: 43000.1, bidQty: 0.5, askPrice: 43000.2, askQty: 1.25 }],
      controls: [],
      drops: [],
      order: ['record:book-top'],
    });
    const [record] = parseFrame(parser, ticker({ timestamp: '2026-01-01T00:09:59.5Z' }), RECV).records;
    expect(record?.tsEvent).toBe(RECV - 500);
  });

  it('does turn each trade of a frame into a trade with its id, taker side and RFC 3339 time', () => {
    const parser = createKrakenParser();
    const frame = dataFrame('trade', 'update', [tradeItem, { ...tradeItem, side: 'sell', trade_id: 4_665_848, qty: 1 }]);
    const { records } = parseFrame(parser, frame, RECV);
    expect(records).toStrictEqual([
      { type: 'trade', venue: 'kraken', symbol: 'BTC-USD', tsEvent: Date.UTC(2026, 0, 1, 0, 0, 1, 925), tsRecv: RECV, id: 4_665_847, price: 43000.2, qty: 0.0125, side: 'buy' },
      { type: 'trade', venue: 'kraken', symbol: 'BTC-USD', tsEvent: Date.UTC(2026, 0, 1, 0, 0, 1, 925), tsRecv: RECV, id: 4_665_848, price: 43000.2, qty: 1, side: 'sell' },
    ]);
  });

  it('does turn an ohlc update into a forming candle with the interval from its minutes', () => {
    const { records } = parseFrame(createKrakenParser(), ohlc({}), RECV);
    expect(records).toStrictEqual([
      {
        type: 'candle',
        venue: 'kraken',
        symbol: 'BTC-USD',
        tsEvent: Date.UTC(2026, 0, 1, 0, 5, 1, 806),
        tsRecv: RECV,
        interval: '5m',
        openTime: Date.UTC(2026, 0, 1, 0, 5),
        closeTime: Date.UTC(2026, 0, 1, 0, 10) - 1,
        open: 43000,
        high: 43020,
        low: 42990,
        close: 43010.5,
        volume: 1.25,
        trades: 13,
        closed: false,
      },
    ]);
  });

  it('does name every Kraken interval the alphaflow way', () => {
    const parser = createKrakenParser({ maxAheadMs: Infinity });
    const intervals = [1, 5, 15, 30, 60, 240, 1440, 10080, 21600].map((interval) => {
      const [record] = parseFrame(parser, ohlc({ interval, symbol: `X${interval}/USD` }), RECV).records;
      return record?.type === 'candle' ? record.interval : undefined;
    });
    expect(intervals).toEqual(['1m', '5m', '15m', '30m', '1h', '4h', '1d', '7d', '15d']);
  });

  it('does give a book message as a control with the exact text and checksum, then its book-depth record', () => {
    const parser = createKrakenParser();
    const snapshot = parseFrame(parser, BOOK_SNAPSHOT, RECV);
    expect(snapshot.order, 'the checksum comes first, so the book can be verified before the record is forwarded').toEqual(['control:book', 'record:book-depth']);
    expect(snapshot.controls).toStrictEqual([
      {
        kind: 'book',
        symbol: 'BTC-USD',
        rawSymbol: 'BTC/USD',
        snapshot: true,
        bids: [
          { price: 50000, qty: 2, priceText: '50000.0', qtyText: '2.00000000' },
          { price: 49999.9, qty: 0.001, priceText: '49999.9', qtyText: '0.00100000' },
        ],
        asks: [
          { price: 50001, qty: 0.5, priceText: '50001.0', qtyText: '0.50000000' },
          { price: 50002.5, qty: 1.25, priceText: '50002.5', qtyText: '1.25000000' },
        ],
        checksum: 3_008_123_608,
        updateId: 1,
        tsEvent: RECV,
      },
    ]);
    expect(snapshot.records).toStrictEqual([
      {
        type: 'book-depth',
        venue: 'kraken',
        symbol: 'BTC-USD',
        tsEvent: RECV,
        tsRecv: RECV,
        firstUpdateId: 1,
        lastUpdateId: 1,
        prevUpdateId: 0,
        bids: [
          [50000, 2],
          [49999.9, 0.001],
        ],
        asks: [
          [50001, 0.5],
          [50002.5, 1.25],
        ],
        snapshot: true,
      },
    ]);
    const update = parseFrame(parser, BOOK_UPDATE, RECV);
    expect(update.records).toMatchObject([
      { snapshot: false, firstUpdateId: 2, lastUpdateId: 2, prevUpdateId: 1, tsEvent: Date.UTC(2026, 0, 1, 0, 0, 2), asks: [[50001, 0]], bids: [[50000.5, 0.3]] },
    ]);
    expect(update.controls[0]).toMatchObject({ kind: 'book', snapshot: false, checksum: 4_156_532_984, updateId: 2 });
  });

  it('does keep a precision such as 0.00001000 and an exponent exactly as written', () => {
    const frame = '{"channel":"book","type":"update","data":[{"symbol":"DOGE/USD","bids":[{"price":0.1234560,"qty":0.00001000}],"asks":[{"price":1.5E-1,"qty":1e3}],"checksum":7}]}';
    const [message] = parseFrame(createKrakenParser(), frame, RECV).controls;
    expect(message).toMatchObject({
      kind: 'book',
      symbol: 'DOGE-USD',
      bids: [{ price: 0.123456, qty: 0.00001, priceText: '0.1234560', qtyText: '0.00001000' }],
      asks: [{ price: 0.15, qty: 1000, priceText: '1.5E-1', qtyText: '1e3' }],
    });
  });

  it('does number book items per symbol, leaving a visible hole where an item was dropped', () => {
    const parser = createKrakenParser();
    const ids = (frame: string): number[] => parseFrame(parser, frame, RECV).records.flatMap((r) => (r.type === 'book-depth' ? [r.lastUpdateId] : []));
    expect(ids(BOOK_SNAPSHOT)).toEqual([1]);
    expect(ids(book({ checksum: -1 })), 'dropped, but numbered').toEqual([]);
    expect(ids(BOOK_UPDATE)).toEqual([3]);
    expect(ids(book({ symbol: 'ETH/USD' })), 'another symbol counts on its own').toEqual([1]);
    expect(ids(book({}, 'snapshot')), 'a snapshot continues the numbers').toEqual([4]);
  });

  it('does treat a missing side of a book update as empty', () => {
    const frame = dataFrame('book', 'update', [{ symbol: 'BTC/USD', asks: [{ price: 1, qty: 0 }], checksum: 5 }]);
    expect(parseFrame(createKrakenParser(), frame, RECV).records).toMatchObject([{ bids: [], asks: [[1, 0]] }]);
  });

  it('does deliver records the model schema accepts', () => {
    const parser = createKrakenParser();
    const frames = [dataFrame('ticker', 'update', [tickerItem]), trade({}), ohlc({}), BOOK_SNAPSHOT, BOOK_UPDATE];
    const records = frames.flatMap((frame) => parseFrame(parser, frame, RECV).records);
    expect(records).toHaveLength(5);
    for (const record of records) expect(AnyEventSchema.parse(record), record.type).toStrictEqual(record);
  });
});

describe('createKrakenParser: closed candles', () => {
  const bar = (begin: string, close: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    ...ohlcItem,
    interval: 1,
    interval_begin: begin,
    open: close,
    high: close,
    low: close,
    close,
    ...extra,
  });
  const frame = (type: 'snapshot' | 'update', time: string, bars: readonly Record<string, unknown>[]): string => dataFrame('ohlc', type, bars, { timestamp: time });
  const flags = (records: readonly unknown[]): string[] =>
    records.map((record) => {
      const candle = record as { openTime: number; close: number; closed: boolean };
      return `${new Date(candle.openTime).toISOString().slice(11, 16)} ${candle.close} ${candle.closed ? 'closed' : 'forming'}`;
    });

  it('does emit forming updates, then the bar closed exactly once when a later bar arrives', () => {
    const parser = createKrakenParser();
    const out = [
      ...parseFrame(parser, frame('update', '2026-01-01T00:01:10Z', [bar('2026-01-01T00:01:00Z', 10)]), RECV).records,
      ...parseFrame(parser, frame('update', '2026-01-01T00:01:20Z', [bar('2026-01-01T00:01:00Z', 11)]), RECV).records,
      ...parseFrame(parser, frame('update', '2026-01-01T00:02:05Z', [bar('2026-01-01T00:02:00Z', 12)]), RECV).records,
      ...parseFrame(parser, frame('update', '2026-01-01T00:02:30Z', [bar('2026-01-01T00:02:00Z', 13)]), RECV).records,
    ];
    expect(flags(out)).toEqual(['00:01 10 forming', '00:01 11 forming', '00:01 11 closed', '00:02 12 forming', '00:02 13 forming']);
    expect(out[2], 'the closed bar is stamped with the time it was learned').toMatchObject({ tsEvent: Date.UTC(2026, 0, 1, 0, 2, 5), closed: true });
  });

  it('does close the bars of a snapshot that a later bar or the frame time has ended', () => {
    // Kraken's documented snapshot shape: two bars, both older than the frame time.
    const parser = createKrakenParser();
    const snapshot = frame('snapshot', '2026-01-01T00:09:01.806315597Z', [bar('2026-01-01T00:03:00Z', 20), bar('2026-01-01T00:04:00Z', 21)]);
    expect(flags(parseFrame(parser, snapshot, RECV).records)).toEqual(['00:03 20 closed', '00:04 21 closed']);
    const late = parseFrame(parser, frame('update', '2026-01-01T00:09:02Z', [bar('2026-01-01T00:04:00Z', 22)]), RECV);
    expect(late.drops).toEqual(['ohlc bar "2026-01-01T00:04:00.000Z" of BTC-USD 1m is already closed']);
    const older = parseFrame(parser, frame('update', '2026-01-01T00:09:02Z', [bar('2026-01-01T00:03:00Z', 22)]), RECV);
    expect(older.drops).toEqual(['ohlc bar "2026-01-01T00:03:00.000Z" of BTC-USD 1m is older than the current bar "2026-01-01T00:04:00.000Z"']);
    const next = parseFrame(parser, frame('update', '2026-01-01T00:09:03Z', [bar('2026-01-01T00:09:00Z', 23)]), RECV);
    expect(flags(next.records), 'the closed bar is not emitted again').toEqual(['00:09 23 forming']);
  });

  it('does keep symbols and intervals apart, and treat a frame without a time as not ending any bar', () => {
    const parser = createKrakenParser();
    const noTime = (bars: readonly Record<string, unknown>[]): string => dataFrame('ohlc', 'update', bars);
    const out = [
      ...parseFrame(parser, noTime([bar('2026-01-01T00:01:00Z', 1)]), RECV).records,
      ...parseFrame(parser, noTime([bar('2026-01-01T00:00:00Z', 2, { interval: 5 })]), RECV).records,
      ...parseFrame(parser, noTime([bar('2026-01-01T00:00:00Z', 3, { symbol: 'ETH/USD' })]), RECV).records,
      ...parseFrame(parser, noTime([bar('2026-01-01T00:02:00Z', 4)]), RECV).records,
    ];
    expect(flags(out)).toEqual(['00:01 1 forming', '00:00 2 forming', '00:00 3 forming', '00:01 1 closed', '00:02 4 forming']);
    expect(out.map((r) => r.tsEvent)).toEqual([RECV, RECV, RECV, RECV, RECV]);
  });
});

describe('createKrakenParser: control messages', () => {
  const parser = createKrakenParser();
  const controls = (frame: string): unknown[] => {
    const parsed = parseFrame(parser, frame, RECV);
    expect(parsed.drops).toEqual([]);
    expect(parsed.records).toEqual([]);
    return parsed.controls;
  };

  it('does deliver subscribe and unsubscribe acks, successful or not', () => {
    expect(
      controls(
        '{"method":"subscribe","result":{"channel":"book","depth":10,"snapshot":true,"symbol":"BTC/USD","warnings":["depth 10 is deprecated"]},' +
          '"success":true,"time_in":"2026-01-01T00:00:00.123456Z","time_out":"2026-01-01T00:00:00.123500Z","req_id":1}',
      ),
    ).toStrictEqual([
      {
        kind: 'ack',
        method: 'subscribe',
        success: true,
        channel: 'book',
        symbol: 'BTC-USD',
        rawSymbol: 'BTC/USD',
        reqId: 1,
        result: { channel: 'book', depth: 10, snapshot: true, symbol: 'BTC/USD', warnings: ['depth 10 is deprecated'] },
        warnings: ['depth 10 is deprecated'],
      },
    ]);
    expect(controls('{"method":"subscribe","success":false,"error":"Currency pair not supported FOO/BAR","symbol":"FOO/BAR","time_in":"x","time_out":"y","req_id":2}')).toStrictEqual([
      { kind: 'ack', method: 'subscribe', success: false, error: 'Currency pair not supported FOO/BAR', symbol: 'FOO-BAR', rawSymbol: 'FOO/BAR', reqId: 2 },
    ]);
    expect(controls('{"method":"unsubscribe","result":{"channel":"heartbeat"},"success":true}')).toStrictEqual([
      { kind: 'ack', method: 'unsubscribe', success: true, channel: 'heartbeat', symbol: undefined, rawSymbol: undefined, reqId: undefined, result: { channel: 'heartbeat' }, warnings: [] },
    ]);
  });

  it('does deliver heartbeat, status, pong, a method-less error and instrument precision', () => {
    expect(controls('{"channel":"heartbeat"}')).toStrictEqual([{ kind: 'heartbeat' }]);
    expect(controls('{"channel":"status","type":"update","data":[{"version":"2.0.10","system":"online","api_version":"v2","connection_id":18446744073709551615}]}')).toStrictEqual([
      { kind: 'status', system: 'online', version: '2.0.10', apiVersion: 'v2', connectionId: '18446744073709551615' },
    ]);
    expect(controls('{"method":"pong","req_id":101,"time_in":"2026-01-01T00:00:00.1Z","time_out":"2026-01-01T00:00:00.2Z"}')).toStrictEqual([
      { kind: 'pong', reqId: 101, error: undefined },
    ]);
    expect(controls('{"error":"EGeneral:Invalid arguments","success":false,"time_in":"x","time_out":"y"}')).toStrictEqual([
      { kind: 'error', error: 'EGeneral:Invalid arguments', reqId: undefined },
    ]);
    expect(
      controls(
        '{"channel":"instrument","type":"snapshot","data":{"assets":[],"pairs":[{"symbol":"BTC/USD","base":"BTC","quote":"USD","price_precision":1,"qty_precision":8},' +
          '{"symbol":"DOGE/USD","price_precision":7,"qty_precision":8}]}}',
      ),
    ).toStrictEqual([
      { kind: 'instrument', symbol: 'BTC-USD', rawSymbol: 'BTC/USD', pricePrecision: 1, qtyPrecision: 8 },
      { kind: 'instrument', symbol: 'DOGE-USD', rawSymbol: 'DOGE/USD', pricePrecision: 7, qtyPrecision: 8 },
    ]);
    expect(controls('{"channel":"instrument","type":"update","data":{"assets":[]}}'), 'an update without pairs gives nothing').toEqual([]);
  });
});

describe('createKrakenParser: drops', () => {
  /** Each case is a frame and the one reason it must be dropped for, with nothing else delivered. */
  const cases: readonly (readonly [string, string])[] = [
    ['', 'invalid JSON: unexpected end of JSON at position 0'],
    ['{"channel":"ticker",', 'invalid JSON: expected a property name at position 20'],
    ['{"a":01}', 'invalid JSON: expected "," or "}" at position 6'],
    ['[1]', 'not a JSON object: [1]'],
    ['{}', 'frame has neither a "channel" nor a "method" field'],
    ['{"channel":"spread","type":"update","data":[]}', 'unknown channel: "spread"'],
    ['{"channel":"ticker","type":"partial","data":[]}', 'ticker field "type" is not "snapshot" or "update": "partial"'],
    ['{"channel":"trade","type":"update","data":{}}', 'trade field "data" is not a list: {}'],
    ['{"channel":"trade","type":"update"}', 'trade field "data" is missing'],
    ['{"channel":"trade","type":"update","data":[1]}', 'trade field "data[0]" is not an object: "1"'],
    // ticker
    [ticker({ bid: 0 }), 'ticker field "data[0].bid" is not a positive number: "0"'],
    [ticker({ bid: undefined }), 'ticker field "data[0].bid" is missing'],
    [ticker({ bid_qty: -1 }), 'ticker field "data[0].bid_qty" is not a non-negative number: "-1"'],
    [ticker({ ask: '43000.2' }), 'ticker field "data[0].ask" is not a positive number: "43000.2"'],
    [ticker({ ask_qty: null }), 'ticker field "data[0].ask_qty" is not a non-negative number: "null"'],
    [ticker({ bid: 43000.3 }), 'ticker data[0].bid "43000.3" is not below ask "43000.2": crossed book'],
    [ticker({ bid: 43000.2 }), 'ticker data[0].bid "43000.2" is not below ask "43000.2": crossed book'],
    [ticker({ timestamp: 'yesterday' }), 'ticker field "data[0].timestamp" is not an RFC 3339 time: "yesterday"'],
    [ticker({ symbol: 'BTCUSD' }), 'ticker field "data[0].symbol" is not a recognised BASE/QUOTE symbol: "BTCUSD"'],
    [ticker({ symbol: 7 }), 'ticker field "data[0].symbol" is not a symbol: "7"'],
    // trade
    [trade({ side: 'BUY' }), 'trade field "data[0].side" is not "buy" or "sell": "BUY"'],
    [trade({ price: -1 }), 'trade field "data[0].price" is not a positive number: "-1"'],
    [trade({ qty: 0 }), 'trade field "data[0].qty" is not a positive number: "0"'],
    [trade({ trade_id: 1.5 }), 'trade field "data[0].trade_id" is not a non-negative integer: "1.5"'],
    [trade({ trade_id: -3 }), 'trade field "data[0].trade_id" is not a non-negative integer: "-3"'],
    [trade({ trade_id: 2 ** 53 }), 'trade field "data[0].trade_id" is not a non-negative integer: "9007199254740992"'],
    [trade({ timestamp: undefined }), 'trade field "data[0].timestamp" is missing'],
    [trade({ timestamp: '2026-02-30T00:00:00Z' }), 'trade field "data[0].timestamp" is not an RFC 3339 time: "2026-02-30T00:00:00Z"'],
    [trade({ timestamp: 1_767_225_601_925 }), 'trade field "data[0].timestamp" is not an RFC 3339 time: "1767225601925"'],
    [trade({ timestamp: '2026-01-03T00:00:00Z' }), 'trade field "data[0].timestamp" is more than 1 day after the receive time 1767226200000: "2026-01-03T00:00:00Z"'],
    [trade({ timestamp: '2012-12-31T23:59:59Z' }), 'trade field "data[0].timestamp" is before 2013: "2012-12-31T23:59:59Z"'],
    [trade({ symbol: 'BTC-USD' }), 'trade field "data[0].symbol" is not a recognised BASE/QUOTE symbol: "BTC-USD"'],
    // book
    [book({ symbol: 'FOO' }), 'book field "data[0].symbol" is not a recognised BASE/QUOTE symbol: "FOO"'],
    [book({ bids: 'x' }), 'book field "data[0].bids" is not a list of levels: "x"'],
    [book({ bids: [[1, 2]] }), 'book field "data[0].bids[0]" is not a {price, qty} object: [1,2]'],
    [book({ bids: [{ price: 0, qty: 1 }] }), 'book field "data[0].bids[0].price" is not a positive number: "0"'],
    [book({ asks: [{ price: 1 }] }), 'book field "data[0].asks[0].qty" is missing'],
    [book({ asks: [{ price: 1, qty: -0.5 }] }), 'book field "data[0].asks[0].qty" is not a non-negative number: "-0.5"'],
    [book({ checksum: -1 }), 'book field "data[0].checksum" is not an unsigned 32-bit integer: "-1"'],
    [book({ checksum: 4_294_967_296 }), 'book field "data[0].checksum" is not an unsigned 32-bit integer: "4294967296"'],
    [book({ checksum: '123' }), 'book field "data[0].checksum" is not an unsigned 32-bit integer: "123"'],
    [book({ checksum: undefined }), 'book field "data[0].checksum" is missing'],
    [book({ timestamp: '2026-01-01 00:00:02' }), 'book field "data[0].timestamp" is not an RFC 3339 time: "2026-01-01 00:00:02"'],
    [
      book({ bids: [{ price: 50001.5, qty: 1 }], asks: [{ price: 50001.5, qty: 1 }] }, 'snapshot'),
      'book data[0].snapshot is crossed: best bid "50001.5" is not below best ask "50001.5"',
    ],
    // ohlc
    [dataFrame('ohlc', 'update', [ohlcItem], { timestamp: 'x' }), 'ohlc field "timestamp" is not an RFC 3339 time: "x"'],
    [dataFrame('ohlc', 'update', ['bar']), 'ohlc field "data[0]" is not an object: "bar"'],
    [ohlc({ open: 0 }), 'ohlc field "data[0].open" is not a positive number: "0"'],
    [ohlc({ high: undefined }), 'ohlc field "data[0].high" is missing'],
    [ohlc({ low: 'low' }), 'ohlc field "data[0].low" is not a positive number: "low"'],
    [ohlc({ close: -2 }), 'ohlc field "data[0].close" is not a positive number: "-2"'],
    [ohlc({ volume: -1 }), 'ohlc field "data[0].volume" is not a non-negative number: "-1"'],
    [ohlc({ trades: 1.5 }), 'ohlc field "data[0].trades" is not a non-negative integer: "1.5"'],
    [ohlc({ interval: 2 }), 'ohlc field "data[0].interval" is not one of 1, 5, 15, 30, 60, 240, 1440, 10080, 21600 minutes: "2"'],
    [ohlc({ interval_begin: undefined }), 'ohlc field "data[0].interval_begin" is missing'],
    [ohlc({ high: 43000 }), 'ohlc data[0].low and high do not bound open and close: {"open":43000,"high":43000,"low":42990,"close":43010.5}'],
    [ohlc({ symbol: 'BTC' }), 'ohlc field "data[0].symbol" is not a recognised BASE/QUOTE symbol: "BTC"'],
    // instrument
    ['{"channel":"instrument","type":"snapshot","data":[]}', 'instrument field "data" is not an object: []'],
    ['{"channel":"instrument","type":"snapshot","data":{"pairs":"x"}}', 'instrument field "data.pairs" is not a list: "x"'],
    ['{"channel":"instrument","type":"snapshot","data":{"pairs":["x"]}}', 'instrument field "data.pairs[0]" is not an object: "x"'],
    [
      '{"channel":"instrument","type":"snapshot","data":{"pairs":[{"symbol":"BTC/USD","price_precision":-1,"qty_precision":8}]}}',
      'instrument field "data.pairs[0].price_precision" is not a non-negative integer: "-1"',
    ],
    ['{"channel":"instrument","type":"snapshot","data":{"pairs":[{"symbol":"BTC/USD","price_precision":1}]}}', 'instrument field "data.pairs[0].qty_precision" is missing'],
    [
      '{"channel":"instrument","type":"snapshot","data":{"pairs":[{"symbol":"ETH2.S/ETH","price_precision":4,"qty_precision":8}]}}',
      'instrument field "data.pairs[0].symbol" is not a recognised BASE/QUOTE symbol: "ETH2.S/ETH"',
    ],
    // status
    ['{"channel":"status","type":"update","data":[]}', 'status field "data[0]" is missing'],
    ['{"channel":"status","type":"update","data":[{"system":""}]}', 'status field "data[0].system" is not a system state: ""'],
    // replies
    ['{"method":"subscribe","req_id":"a","success":true}', 'subscribe field "req_id" is not a non-negative integer: "a"'],
    ['{"method":"add_order","success":true}', 'unknown method: "add_order"'],
    ['{"method":"subscribe","result":{"channel":"book"}}', 'subscribe field "success" is missing'],
    ['{"method":"subscribe","success":false}', 'subscribe field "error" is missing'],
    ['{"method":"unsubscribe","success":true}', 'unsubscribe field "result" is missing'],
    ['{"method":"subscribe","success":true,"result":{"channel":5}}', 'subscribe field "result.channel" is not a channel name: "5"'],
    ['{"method":"subscribe","success":true,"result":{"channel":"book","warnings":"x"}}', 'subscribe field "result.warnings" is not a list of strings: "x"'],
    ['{"success":false}', 'error reply field "error" is missing'],
    ['{"error":"x","req_id":-1}', 'error reply field "req_id" is not a non-negative integer: "-1"'],
  ];

  it.each(cases)('does drop %s', (frame, reason) => {
    expect(parseFrame(createKrakenParser(), frame, RECV)).toStrictEqual({ records: [], controls: [], drops: [reason], order: ['drop'] });
  });

  it('does drop one bad item of a frame and keep the others', () => {
    const frame = dataFrame('trade', 'update', [tradeItem, { ...tradeItem, price: 0 }, { ...tradeItem, trade_id: 9 }]);
    const parsed = parseFrame(createKrakenParser(), frame, RECV);
    expect(parsed.order).toEqual(['record:trade', 'drop', 'record:trade']);
    expect(parsed.drops).toEqual(['trade field "data[1].price" is not a positive number: "0"']);
  });

  it('does accept any event time with maxAheadMs Infinity, and reject a negative one', () => {
    const parser = createKrakenParser({ maxAheadMs: Infinity });
    expect(parseFrame(parser, trade({ timestamp: '2099-01-01T00:00:00Z' }), 0).records).toHaveLength(1);
    expect(() => createKrakenParser({ maxAheadMs: -1 })).toThrowErrorMatchingInlineSnapshot(`[RangeError: maxAheadMs "-1" must be a non-negative number of milliseconds]`);
  });

  it('does read RFC 3339 offsets and fractions to the millisecond', () => {
    const parser = createKrakenParser();
    const time = (timestamp: string): number | undefined => parseFrame(parser, trade({ timestamp }), RECV).records[0]?.tsEvent;
    expect(time('2026-01-01T01:00:00.123456789+01:00')).toBe(Date.UTC(2026, 0, 1, 0, 0, 0, 123));
    expect(time('2025-12-31T23:30:00-00:30')).toBe(Date.UTC(2026, 0, 1));
    expect(time('2026-01-01T00:00:00.5z')).toBe(Date.UTC(2026, 0, 1, 0, 0, 0, 500));
  });
});
