import { describe, expect, it } from 'vitest';
import { AnyEventSchema } from '../../../src/model/index.js';
import { createBinanceParser } from '../../../src/sources/binance/parse.js';
import { combined, parseFrame } from './parseHelpers.js';

/** Receive time used throughout: 2023-11-14T22:13:20.500Z, just after the example event times. */
const RECV = 1_700_000_000_500;

// Payloads from protocols.md §1.4 and §2.2 (field names and JSON types as Binance sends them).
const aggTrade = {
  e: 'aggTrade',
  E: 1_700_000_000_123,
  s: 'BTCUSDT',
  a: 2_900_000_001,
  p: '43000.01000000',
  q: '0.05000000',
  f: 3_300_000_001,
  l: 3_300_000_004,
  T: 1_700_000_000_120,
  m: false,
  M: true,
};
const trade = { e: 'trade', E: 1_700_000_000_123, s: 'BTCUSDT', t: 3_300_000_001, p: '43000.01000000', q: '0.00150000', T: 1_700_000_000_120, m: true, M: true };
const kline = {
  e: 'kline',
  E: 1_700_000_060_001,
  s: 'BTCUSDT',
  k: {
    t: 1_700_000_000_000,
    T: 1_700_000_059_999,
    s: 'BTCUSDT',
    i: '1m',
    f: 3_300_000_001,
    L: 3_300_000_150,
    o: '43000.00',
    c: '43010.50',
    h: '43020.00',
    l: '42990.00',
    v: '12.345',
    n: 150,
    x: true,
    q: '530900.12',
    V: '6.100',
    Q: '262300.40',
    B: '0',
  },
};
const spotBookTicker = { u: 400_900_217, s: 'BTCUSDT', b: '42999.90', B: '1.20000', a: '43000.10', A: '0.80000' };
const usdmBookTicker = { e: 'bookTicker', u: 400_900_217, E: 1_700_000_000_100, T: 1_700_000_000_095, s: 'BTCUSDT', b: '42999.90', B: '1.200', a: '43000.10', A: '0.800' };
const spotDepth = { e: 'depthUpdate', E: 1_700_000_000_100, s: 'BTCUSDT', U: 1001, u: 1004, b: [['42999.90', '1.5'], ['42999.00', '0']], a: [['43000.10', '0.7']] };
const usdmDepth = {
  e: 'depthUpdate',
  E: 1_700_000_000_300,
  T: 1_700_000_000_295,
  s: 'BTCUSDT',
  U: 390_497_796,
  u: 390_497_878,
  pu: 390_497_794,
  b: [['42999.90', '1.500']],
  a: [['43000.10', '0']],
};
const partialDepth = { lastUpdateId: 160, bids: [['42999.90', '1.2'], ['42999.80', '0.4']], asks: [['43000.10', '0.8'], ['43000.20', '3.1']] };
const forceOrder = {
  e: 'forceOrder',
  E: 1_700_000_002_000,
  o: { s: 'BTCUSDT', S: 'SELL', o: 'LIMIT', f: 'IOC', q: '0.014', p: '42900.00', ap: '42950.00', X: 'FILLED', l: '0.014', z: '0.014', T: 1_700_000_001_998 },
};
const markPrice = { e: 'markPriceUpdate', E: 1_700_000_000_000, s: 'BTCUSDT', p: '43001.12000000', i: '42998.50000000', P: '42999.90000000', r: '-0.00010000', T: 1_700_006_400_000, ap: '43000.80000000' };

function without(payload: Record<string, unknown>, key: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(payload).filter(([name]) => name !== key));
}

describe('createBinanceParser (spot)', () => {
  const parser = createBinanceParser({ market: 'spot' });

  it('does turn an aggTrade into a trade, the same from a combined or a raw stream', () => {
    const expected = {
      type: 'trade',
      venue: 'binance',
      symbol: 'BTC-USDT',
      tsEvent: 1_700_000_000_120,
      tsRecv: RECV,
      id: 2_900_000_001,
      price: 43000.01,
      qty: 0.05,
      side: 'buy',
    };
    expect(parseFrame(parser, combined('btcusdt@aggTrade', aggTrade), RECV)).toStrictEqual({ records: [expected], controls: [], drops: [] });
    expect(parseFrame(parser, JSON.stringify(aggTrade), RECV).records, 'a raw frame is the bare payload').toStrictEqual([expected]);
  });

  it('does read the taker side from "buyer is maker" and the id of a raw trade from "t"', () => {
    const [record] = parseFrame(parser, combined('btcusdt@trade', trade), RECV).records;
    expect(record, 'm: true means the buyer was the maker, so the taker sold').toMatchObject({ type: 'trade', id: 3_300_000_001, side: 'sell', qty: 0.0015 });
  });

  it('does turn a kline into a candle with the venue figures and its closed flag', () => {
    expect(parseFrame(parser, combined('btcusdt@kline_1m', kline), RECV + 60_000).records).toStrictEqual([
      {
        type: 'candle',
        venue: 'binance',
        symbol: 'BTC-USDT',
        tsEvent: 1_700_000_060_001,
        tsRecv: RECV + 60_000,
        interval: '1m',
        openTime: 1_700_000_000_000,
        closeTime: 1_700_000_059_999,
        open: 43000,
        high: 43020,
        low: 42990,
        close: 43010.5,
        volume: 12.345,
        quoteVolume: 530900.12,
        trades: 150,
        takerBuyVolume: 6.1,
        closed: true,
      },
    ]);
  });

  it('does turn a spot book ticker, which has no time, into a book top at the receive time', () => {
    expect(parseFrame(parser, combined('btcusdt@bookTicker', spotBookTicker), RECV).records).toStrictEqual([
      { type: 'book-top', venue: 'binance', symbol: 'BTC-USDT', tsEvent: RECV, tsRecv: RECV, bidPrice: 42999.9, bidQty: 1.2, askPrice: 43000.1, askQty: 0.8, updateId: 400_900_217 },
    ]);
  });

  it('does turn a diff depth update into a book-depth diff with its update ids', () => {
    expect(parseFrame(parser, combined('btcusdt@depth@100ms', spotDepth), RECV).records).toStrictEqual([
      {
        type: 'book-depth',
        venue: 'binance',
        symbol: 'BTC-USDT',
        tsEvent: 1_700_000_000_100,
        tsRecv: RECV,
        firstUpdateId: 1001,
        lastUpdateId: 1004,
        bids: [
          [42999.9, 1.5],
          [42999, 0],
        ],
        asks: [[43000.1, 0.7]],
        snapshot: false,
      },
    ]);
  });

  it('does take the symbol of a partial depth snapshot from its stream name', () => {
    const expected = {
      type: 'book-depth',
      venue: 'binance',
      symbol: 'BTC-USDT',
      tsEvent: RECV,
      tsRecv: RECV,
      firstUpdateId: 160,
      lastUpdateId: 160,
      bids: [
        [42999.9, 1.2],
        [42999.8, 0.4],
      ],
      asks: [
        [43000.1, 0.8],
        [43000.2, 3.1],
      ],
      snapshot: true,
    };
    expect(parseFrame(parser, combined('btcusdt@depth5@100ms', partialDepth), RECV).records).toStrictEqual([expected]);
    expect(parseFrame(parser, JSON.stringify(partialDepth), RECV, 'btcusdt@depth5').records, 'a raw connection passes its stream').toStrictEqual([expected]);
    expect(parseFrame(parser, JSON.stringify(partialDepth), RECV).drops, 'without a stream the symbol is unknown').toStrictEqual([
      'partial depth without a stream name: its symbol is unknown',
    ]);
  });

  it('does recognise subscription replies, error replies and the server shutdown notice as control messages', () => {
    expect(parseFrame(parser, '{"result":null,"id":1}', RECV).controls).toStrictEqual([{ kind: 'reply', id: 1, result: null }]);
    expect(parseFrame(parser, '{"result":["btcusdt@aggTrade"],"id":"list"}', RECV).controls).toStrictEqual([
      { kind: 'reply', id: 'list', result: ['btcusdt@aggTrade'] },
    ]);
    expect(parseFrame(parser, '{"error":{"code":2,"msg":"Invalid request: unknown stream"},"id":null}', RECV).controls).toStrictEqual([
      { kind: 'error-reply', id: null, code: 2, msg: 'Invalid request: unknown stream' },
    ]);
    const shutdown = { kind: 'server-shutdown', tsEvent: 1_700_000_000_000 };
    expect(parseFrame(parser, '{"e":"serverShutdown","E":1700000000000}', RECV).controls).toStrictEqual([shutdown]);
    expect(parseFrame(parser, combined('!serverShutdown', { e: 'serverShutdown', E: 1_700_000_000_000 }), RECV).controls).toStrictEqual([shutdown]);
  });

  it('does drop an unknown or futures-only event with the event named', () => {
    expect(parseFrame(parser, combined('btcusdt@ticker', { e: '24hrTicker', E: 1_700_000_000_000, s: 'BTCUSDT' }), RECV).drops).toStrictEqual([
      'unsupported event "24hrTicker"',
    ]);
    expect(parseFrame(parser, combined('btcusdt@forceOrder', forceOrder), RECV).drops, 'spot has no liquidation stream').toStrictEqual(['unsupported event "forceOrder"']);
    expect(parseFrame(parser, '{"symbol":"BTCUSDT","openInterest":"1"}', RECV).drops).toStrictEqual([
      'unsupported payload without an event type: ["symbol","openInterest"]',
    ]);
  });

  it('does drop frames that are not JSON objects, saying why', () => {
    expect(parseFrame(parser, '{"stream":"btcusdt@aggTrade","data":{"e":"aggTr', RECV).drops[0]).toMatch(/^invalid JSON: /);
    expect(parseFrame(parser, '42', RECV).drops).toStrictEqual(['not a JSON object: "42"']);
    expect(parseFrame(parser, '{"stream":"x","data":null}', RECV).drops).toStrictEqual(['bad envelope: "data" is not an object or array: "null"']);
  });

  it.each([
    ['a price that is not a dec-string', { p: 'abc' }, 'aggTrade field "p" is not a positive decimal: "abc"'],
    ['a zero price', { p: '0.00000000' }, 'aggTrade field "p" is not a positive decimal: "0.00000000"'],
    ['a NaN price', { p: 'NaN' }, 'aggTrade field "p" is not a positive decimal: "NaN"'],
    ['a price Number() would accept but Binance never sends', { p: ' 1e3' }, 'aggTrade field "p" is not a positive decimal: " 1e3"'],
    ['a price sent as a JSON number', { p: 43000.01 }, 'aggTrade field "p" is not a positive decimal: "43000.01"'],
    ['a zero trade quantity', { q: '0' }, 'aggTrade field "q" is not a positive decimal: "0"'],
    ['a missing id', { a: undefined }, 'aggTrade field "a" is missing'],
    ['a negative id', { a: -1 }, 'aggTrade field "a" is not a non-negative integer: "-1"'],
    ['an id beyond 2^53', { a: 2 ** 53 }, 'aggTrade field "a" is not a non-negative integer: "9007199254740992"'],
    ['a side flag that is not a boolean', { m: 'true' }, 'aggTrade field "m" is not a boolean: "true"'],
    ['a trade time before 2017', { T: 1_400_000_000_000 }, 'aggTrade field "T" is not an epoch-ms time from 2017 on: "1400000000000"'],
    ['a time in seconds', { E: 1_700_000_000 }, 'aggTrade field "E" is not an epoch-ms time from 2017 on: "1700000000"'],
    ['a trade time more than a day after receipt', { T: RECV + 86_400_001 }, `aggTrade field "T" is more than 1 day after the receive time ${RECV}: "${RECV + 86_400_001}"`],
    ['a dated contract symbol', { s: 'BTCUSDT_240927' }, 'unrecognised symbol: "BTCUSDT_240927"'],
    ['a symbol with an unknown quote', { s: 'FOOBAR' }, 'unrecognised symbol: "FOOBAR"'],
  ])('does drop an aggTrade with %s', (_, change, reason) => {
    const payload = Object.fromEntries(Object.entries({ ...aggTrade, ...change }).filter(([, value]) => value !== undefined));
    expect(parseFrame(parser, combined('btcusdt@aggTrade', payload), RECV)).toStrictEqual({ records: [], controls: [], drops: [reason] });
  });

  it('does drop a crossed book ticker and a kline whose low and high do not bound its open and close', () => {
    expect(parseFrame(parser, combined('btcusdt@bookTicker', { ...spotBookTicker, b: '43000.10' }), RECV).drops).toStrictEqual([
      'crossed book: bid "43000.10" is not below ask "43000.10"',
    ]);
    expect(parseFrame(parser, combined('btcusdt@kline_1m', { ...kline, k: { ...kline.k, h: '43000.00' } }), RECV + 60_000).drops).toStrictEqual([
      'kline low and high do not bound open and close: {"o":"43000.00","h":"43000.00","l":"42990.00","c":"43010.50"}',
    ]);
  });

  it('does drop a depth update with a bad level, naming the level', () => {
    const bad = { ...spotDepth, b: [['42999.90', '1.5'], ['42999.00', '-1']] };
    expect(parseFrame(parser, combined('btcusdt@depth', bad), RECV).drops).toStrictEqual(['depthUpdate field "b" has a bad level at index 1: ["42999.00","-1"]']);
  });

  it('does emit records that satisfy the model schemas', () => {
    const frames = [
      combined('btcusdt@aggTrade', aggTrade),
      combined('btcusdt@trade', trade),
      combined('btcusdt@kline_1m', kline),
      combined('btcusdt@bookTicker', spotBookTicker),
      combined('btcusdt@depth', spotDepth),
      combined('btcusdt@depth10', partialDepth),
    ];
    const records = frames.flatMap((frame) => parseFrame(parser, frame, RECV + 60_000).records);
    expect(records.length, 'every example frame is valid').toBe(frames.length);
    for (const record of records) expect(AnyEventSchema.safeParse(record).success, `${record.type} matches its schema`).toBe(true);
  });
});

describe('createBinanceParser (USD-M futures)', () => {
  const parser = createBinanceParser({ market: 'usdm' });

  it('does turn futures payloads into records of venue binance-usdm with transaction times as event times', () => {
    const [top] = parseFrame(parser, combined('btcusdt@bookTicker', usdmBookTicker), RECV).records;
    expect(top).toStrictEqual({
      type: 'book-top',
      venue: 'binance-usdm',
      symbol: 'BTC-USDT',
      tsEvent: 1_700_000_000_095,
      tsRecv: RECV,
      bidPrice: 42999.9,
      bidQty: 1.2,
      askPrice: 43000.1,
      askQty: 0.8,
      updateId: 400_900_217,
    });
    const [depth] = parseFrame(parser, combined('btcusdt@depth@100ms', usdmDepth), RECV).records;
    expect(depth, 'pu becomes prevUpdateId, for the futures book sync').toStrictEqual({
      type: 'book-depth',
      venue: 'binance-usdm',
      symbol: 'BTC-USDT',
      tsEvent: 1_700_000_000_295,
      tsRecv: RECV,
      firstUpdateId: 390_497_796,
      lastUpdateId: 390_497_878,
      prevUpdateId: 390_497_794,
      bids: [[42999.9, 1.5]],
      asks: [[43000.1, 0]],
      snapshot: false,
    });
  });

  it('does mark a futures partial depth stream, which uses the diff shape, as a snapshot', () => {
    const [depth] = parseFrame(parser, combined('btcusdt@depth20@100ms', usdmDepth), RECV).records;
    expect(depth).toMatchObject({ type: 'book-depth', snapshot: true });
  });

  it('does turn a forceOrder into a liquidation at its trade time', () => {
    expect(parseFrame(parser, combined('btcusdt@forceOrder', forceOrder), RECV + 2_000).records).toStrictEqual([
      {
        type: 'liquidation',
        venue: 'binance-usdm',
        symbol: 'BTC-USDT',
        tsEvent: 1_700_000_001_998,
        tsRecv: RECV + 2_000,
        side: 'sell',
        price: 42900,
        avgPrice: 42950,
        qty: 0.014,
        filledQty: 0.014,
        status: 'FILLED',
      },
    ]);
  });

  it('does turn a mark price update into a mark price, leaving out the funding fields a delivery contract blanks', () => {
    expect(parseFrame(parser, combined('btcusdt@markPrice', markPrice), RECV).records).toStrictEqual([
      {
        type: 'mark-price',
        venue: 'binance-usdm',
        symbol: 'BTC-USDT',
        tsEvent: 1_700_000_000_000,
        tsRecv: RECV,
        markPrice: 43001.12,
        indexPrice: 42998.5,
        fundingRate: -0.0001,
        nextFundingTime: 1_700_006_400_000,
      },
    ]);
    const [blank] = parseFrame(parser, combined('btcusdt@markPrice', { ...markPrice, r: '', T: 0 }), RECV).records;
    expect(blank, 'r "" and T 0 mean no funding').not.toHaveProperty('fundingRate');
    expect(blank).not.toHaveProperty('nextFundingTime');
  });

  it('does parse every element of an all-market array and drop only the bad ones', () => {
    const frame = combined('!markPrice@arr', [markPrice, { ...markPrice, s: 'ETHUSDT', p: '-1' }, { ...markPrice, s: 'ETHUSDT' }]);
    const parsed = parseFrame(parser, frame, RECV);
    expect(parsed.records.map((record) => record.symbol)).toStrictEqual(['BTC-USDT', 'ETH-USDT']);
    expect(parsed.drops).toStrictEqual(['markPriceUpdate field "p" is not a positive decimal: "-1"']);
  });

  it('does drop insurance-fund trades, which are not order-book fills', () => {
    const frame = combined('ethusdt@trade', { e: 'trade', E: 1_700_000_000_241, T: 1_700_000_000_235, s: 'ETHUSDT', t: 73_701_056, p: '2366.55', q: '0.070', X: 'INSURANCE_FUND', m: true });
    expect(parseFrame(parser, frame, RECV).drops).toStrictEqual(['not a market trade: "INSURANCE_FUND"']);
  });

  it('does drop a spot book ticker, which a futures stream never sends', () => {
    expect(parseFrame(parser, combined('btcusdt@bookTicker', spotBookTicker), RECV).drops).toStrictEqual([
      'unsupported payload without an event type: ["u","s","b","B","a","A"]',
    ]);
  });

  it('does drop a futures depth update without its transaction time or previous update id', () => {
    expect(parseFrame(parser, combined('btcusdt@depth', without(usdmDepth, 'pu')), RECV).drops).toStrictEqual(['depthUpdate field "pu" is missing']);
    expect(parseFrame(parser, combined('btcusdt@depth', without(usdmDepth, 'T')), RECV).drops).toStrictEqual(['depthUpdate field "T" is missing']);
  });
});

describe('createBinanceParser options', () => {
  it('does accept any lead of event time over receive time with maxAheadMs Infinity (virtual clocks starting at 0)', () => {
    const strict = createBinanceParser({ market: 'spot' });
    const lenient = createBinanceParser({ market: 'spot', maxAheadMs: Infinity });
    const frame = combined('btcusdt@aggTrade', aggTrade);
    expect(parseFrame(strict, frame, 0).drops, 'a real frame received at virtual time 0 looks 53 years early').toHaveLength(1);
    expect(parseFrame(lenient, frame, 0).records).toHaveLength(1);
  });

  it('does reject a negative lead', () => {
    expect(() => createBinanceParser({ market: 'spot', maxAheadMs: -1 })).toThrow('maxAheadMs "-1" must be a non-negative number of milliseconds');
  });
});
