/**
 * The hand-written hot-path parser accepts exactly what the zod schemas in `payloads.ts` (plus the
 * receive-time bound) accept, and builds the same records, on generated frames that are mostly
 * valid with one or more fields broken, missing or of the wrong JSON type.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBinanceParser, type BinanceMarket } from '../../../src/sources/binance/parse.js';
import { DEFAULT_MAX_AHEAD_MS, EARLIEST_EVENT_TIME } from '../../../src/sources/binance/payloads.js';
import { referenceParse, type Outcome } from './referenceParse.js';

const DAY = 86_400_000;
const LATEST_RECV = 1_893_456_000_000; // 2030-01-01

/** Mostly `valid`, sometimes one of `invalid` (the weights give about one broken field in six). */
function mostly<T>(valid: fc.Arbitrary<T>, ...invalid: unknown[]): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: fc.constantFrom(...invalid) }, { weight: 1, arbitrary: fc.jsonValue() });
}

const digits = fc.stringMatching(/^[0-9]{1,9}$/);
/** A dec-string as Binance writes it, zero included. */
const decString = fc.tuple(digits, fc.option(fc.stringMatching(/^[0-9]{1,8}$/), { nil: undefined })).map(([int, frac]) => (frac === undefined ? int : `${int}.${frac}`));
const positiveDecString = decString.filter((text) => Number(text) > 0);
const WEIRD_DECIMALS = ['', ' 1', '1 ', '1e3', '1E-3', '0x10', 'Infinity', 'NaN', '-1', '+1', '.5', '5.', '1.2.3', '１', '1,5', '9'.repeat(400), 1.5, 0, null, true, [], {}];
const price = mostly(positiveDecString, '0', '0.00000000', ...WEIRD_DECIMALS);
const quantity = mostly(decString, ...WEIRD_DECIMALS);
const signed = mostly(fc.tuple(fc.boolean(), decString).map(([negative, text]) => (negative ? `-${text}` : text)), '', '--1', '-', ...WEIRD_DECIMALS);
const id = mostly(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), -1, 1.5, 2 ** 53, '5', null);
const bool = mostly(fc.boolean(), 'true', 0, 1, null);
const symbol = mostly(fc.constantFrom('BTCUSDT', 'ETHBTC', 'DOTUSDT', 'BNBFDUSD', '1000PEPEUSDT'), 'btcusdt', 'BTCUSDT_240927', 'FOOBAR', '', 'BTC-USDT', 'USDT', 42);

/** Event times around `tsRecv`, with the edges of both bounds and wrong types. */
function time(tsRecv: number): fc.Arbitrary<unknown> {
  return mostly(
    fc.integer({ min: Math.max(EARLIEST_EVENT_TIME, tsRecv - 30 * DAY), max: tsRecv + DEFAULT_MAX_AHEAD_MS }),
    EARLIEST_EVENT_TIME,
    EARLIEST_EVENT_TIME - 1,
    tsRecv + DEFAULT_MAX_AHEAD_MS,
    tsRecv + DEFAULT_MAX_AHEAD_MS + 1,
    tsRecv + 0.5,
    Math.floor(tsRecv / 1000),
    2 ** 53,
    String(tsRecv),
    -1,
  );
}

const level = mostly(fc.tuple(price, quantity), [], ['1'], ['1', '2', []], 'x', [1, 2]);
const levels = mostly(fc.array(level, { maxLength: 4 }), null, 'x', {});

/** Two prices in order (bid < ask, low < high), sometimes replaced by anything. */
const orderedPair = fc.tuple(positiveDecString, positiveDecString).map(([x, y]) => (Number(x) <= Number(y) ? [x, y] : [y, x]));

/** Deletes one key now and then, and adds an unknown one, as venues do. */
function tamper(record: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Record<string, unknown>> {
  return fc.tuple(record, fc.nat(), fc.boolean(), fc.boolean()).map(([value, pick, remove, extra]) => {
    const keys = Object.keys(value);
    const removed = remove && pick % 5 === 0 ? keys[pick % keys.length] : undefined;
    const copy = Object.fromEntries(Object.entries(value).filter(([key]) => key !== removed));
    return extra ? { ...copy, zz: 'ignored' } : copy;
  });
}

function event(name: string): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 20, arbitrary: fc.constant(name) }, { weight: 1, arbitrary: fc.constantFrom('aggtrade', 'toString', '__proto__', 'constructor', '24hrTicker', 5) });
}

function payloads(tsRecv: number): fc.Arbitrary<unknown> {
  const t = time(tsRecv);
  const trade = tamper(fc.record({ e: event('trade'), E: t, s: symbol, t: id, p: price, q: price, T: t, m: bool, X: fc.constantFrom('MARKET', 'INSURANCE_FUND') }));
  const aggTrade = tamper(fc.record({ e: event('aggTrade'), E: t, s: symbol, a: id, p: price, q: price, f: id, l: id, T: t, m: bool, M: bool }));
  const bar = fc
    .tuple(fc.array(positiveDecString, { minLength: 4, maxLength: 4 }), fc.boolean(), fc.oneof(fc.constantFrom(-1, 0, 1, 59_999), fc.integer({ min: -2, max: DAY })), t, quantity, quantity, quantity, id, bool, fc.constantFrom('1m', '1h', ''), fc.nat(9), price)
    .map(([prices, swap, span, open, v, q, V, n, x, i, broken, anything]) => {
      const [l, a, b, h] = [...prices].sort((p1, p2) => Number(p1) - Number(p2));
      const k: Record<string, unknown> = { t: open, T: typeof open === 'number' ? open + span : span, s: 'BTCUSDT', i, f: 1, L: 2, o: swap ? a : b, c: swap ? b : a, h, l, v, n, x, q, V, Q: '0', B: '0' };
      if (broken < 4) k[['o', 'h', 'l', 'c'][broken] as string] = anything;
      return k;
    });
  const kline = tamper(fc.record({ e: event('kline'), E: t, s: symbol, k: tamper(bar) }));
  const bookTickerFields = {
    u: id,
    s: symbol,
    ba: fc.oneof({ weight: 6, arbitrary: orderedPair }, { weight: 1, arbitrary: positiveDecString.map((x) => [x, x]) }, { weight: 1, arbitrary: fc.tuple(price, price) }),
    B: quantity,
    A: quantity,
  };
  const splitBidAsk = (value: Record<string, unknown>): Record<string, unknown> => {
    const { ba, ...rest } = value;
    const [b, a] = ba as [unknown, unknown];
    return { ...rest, b, a };
  };
  const spotBookTicker = tamper(fc.record(bookTickerFields).map(splitBidAsk));
  const usdmBookTicker = tamper(fc.record({ e: event('bookTicker'), E: t, T: t, ...bookTickerFields }).map(splitBidAsk));
  const updateIds = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.nat(1e12), fc.nat(100)).map(([first, span]) => [first, first + span]) },
    { weight: 1, arbitrary: fc.nat(1e12).map((first) => [first + 1, first]) },
    { weight: 1, arbitrary: fc.tuple(id, id) },
  );
  const depth = tamper(
    fc.record({ e: event('depthUpdate'), E: t, T: t, s: symbol, ids: updateIds, pu: mostly(fc.integer({ min: -1, max: 1e12 }), 1.5, '1'), b: levels, a: levels }).map(({ ids, ...rest }) => {
      const [U, u] = ids as [unknown, unknown];
      return { ...rest, U, u };
    }),
  );
  const partialDepth = tamper(fc.record({ lastUpdateId: id, bids: levels, asks: levels }));
  const forceOrder = tamper(
    fc.record({
      e: event('forceOrder'),
      E: t,
      o: mostly(tamper(fc.record({ s: symbol, S: mostly(fc.constantFrom('BUY', 'SELL'), 'buy', 'HOLD'), o: fc.constant('LIMIT'), q: price, p: price, ap: quantity, X: mostly(fc.constantFrom('FILLED', 'NEW'), ''), z: quantity, T: t })), null),
    }),
  );
  const markPrice = tamper(
    fc.record({
      e: event('markPriceUpdate'),
      E: t,
      s: symbol,
      p: price,
      i: fc.oneof(price, fc.constant('')),
      r: fc.oneof(signed, fc.constant('')),
      T: mostly(fc.oneof(fc.constant(0), fc.integer({ min: EARLIEST_EVENT_TIME, max: LATEST_RECV + 30 * DAY })), EARLIEST_EVENT_TIME - 1, 1.5),
    }),
  );
  const shutdown = tamper(fc.record({ e: event('serverShutdown'), E: t }));
  return fc.oneof(trade, aggTrade, kline, spotBookTicker, usdmBookTicker, depth, partialDepth, forceOrder, markPrice, shutdown, fc.jsonValue());
}

const replies = fc.oneof(
  fc.record({ result: fc.jsonValue(), id: mostly(fc.oneof(fc.integer(), fc.string({ maxLength: 36 }), fc.constant(null)), 1.5, true) }),
  fc.record({ error: mostly(fc.record({ code: mostly(fc.integer(), 1.5, '2'), msg: mostly(fc.string(), 5) }), null, 'x'), id: mostly(fc.integer(), 1.5) }),
);

const STREAMS = ['btcusdt@aggTrade', 'btcusdt@depth', 'btcusdt@depth5', 'ethbtc@depth20@100ms', 'btcusdt@bookTicker', '!markPrice@arr', 'foobar@depth5', 'depth10', ''];

/** Receive times: just after the earliest allowed event time, a recent one, and a future one. */
const RECEIVE_TIMES = [EARLIEST_EVENT_TIME + 3_600_000, 1_700_000_000_500, LATEST_RECV];

/** A frame received at `tsRecv`: a payload raw, in an envelope, in an array, or a control reply; sometimes cut short. */
function framesAt(tsRecv: number): fc.Arbitrary<{ tsRecv: number; market: BinanceMarket; stream: string | undefined; frame: string }> {
  const payload = payloads(tsRecv);
  return fc.record({
    tsRecv: fc.constant(tsRecv),
    market: fc.constantFrom<BinanceMarket>('spot', 'usdm'),
    stream: fc.option(fc.constantFrom(...STREAMS), { nil: undefined }),
    frame: fc
      .tuple(fc.constantFrom('raw', 'combined', 'array', 'combined-array', 'reply'), payload, fc.array(payload, { maxLength: 3 }), fc.constantFrom(...STREAMS), replies, fc.nat(20))
      .map(([shape, one, list, stream, reply, cut]) => {
        const value = shape === 'raw' ? one : shape === 'combined' ? { stream, data: one } : shape === 'array' ? list : shape === 'combined-array' ? { stream, data: list } : reply;
        const text = JSON.stringify(value) as string | undefined;
        if (text === undefined) return 'undefined';
        return cut === 0 ? text.slice(0, Math.floor(text.length / 2)) : text;
      }),
  });
}

const frames = fc.oneof(...RECEIVE_TIMES.map(framesAt));

describe('createBinanceParser against the payload schemas', () => {
  it('does accept exactly the frames the zod schemas accept, and build the same records', () => {
    const parsers = { spot: createBinanceParser({ market: 'spot' }), usdm: createBinanceParser({ market: 'usdm' }) };
    const tally = { record: 0, control: 0, drop: 0 };
    fc.assert(
      fc.property(frames, ({ tsRecv, market, stream, frame }) => {
        const fast: Outcome[] = [];
        parsers[market].parse(
          frame,
          tsRecv,
          {
            record: (record) => fast.push(record),
            control: (message) => fast.push({ control: message.kind }),
            drop: () => fast.push('drop'),
          },
          stream,
        );
        const expected = referenceParse(market, frame, tsRecv, stream);
        expect(fast, `${market} frame ${frame} (stream ${String(stream)}, received ${tsRecv})`).toStrictEqual(expected);
        for (const outcome of fast) {
          if (outcome === 'drop') tally.drop++;
          else if ('control' in outcome) tally.control++;
          else tally.record++;
        }
      }),
      { numRuns: 10_000 },
    );
    // Guards against a generator that only ever produces one verdict.
    expect(tally.record, 'many generated frames are valid').toBeGreaterThan(1_000);
    expect(tally.drop, 'many generated frames are invalid').toBeGreaterThan(1_000);
    expect(tally.control, 'some are control replies').toBeGreaterThan(100);
  });
});
