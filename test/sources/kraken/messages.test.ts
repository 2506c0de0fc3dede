import { describe, expect, it } from 'vitest';
import type { KrakenSubscription } from '../../../src/sources/kraken/messages.js';
import { krakenOhlcInterval, krakenPing, krakenSubscribe, krakenSymbol, krakenUnsubscribe } from '../../../src/sources/kraken/messages.js';

describe('krakenSubscribe', () => {
  it('does build each channel in Kraken field order', () => {
    expect(JSON.stringify(krakenSubscribe({ channel: 'book', symbols: ['BTC-USD'], depth: 25 }, 7))).toBe(
      '{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":25},"req_id":7}',
    );
    expect(JSON.stringify(krakenSubscribe({ channel: 'ticker', symbols: ['BTC-USD', 'eth/usd'], eventTrigger: 'bbo', snapshot: false }))).toBe(
      '{"method":"subscribe","params":{"channel":"ticker","symbol":["BTC/USD","ETH/USD"],"event_trigger":"bbo","snapshot":false}}',
    );
    expect(JSON.stringify(krakenSubscribe({ channel: 'trade', symbols: ['XBT/USD'], snapshot: true }, 0))).toBe(
      '{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"],"snapshot":true},"req_id":0}',
    );
    expect(JSON.stringify(krakenSubscribe({ channel: 'ohlc', symbols: ['ETH-USD'], interval: 5 }))).toBe(
      '{"method":"subscribe","params":{"channel":"ohlc","symbol":["ETH/USD"],"interval":5}}',
    );
    expect(krakenSubscribe({ channel: 'book', symbols: ['BTC-USD'] })).toEqual({ method: 'subscribe', params: { channel: 'book', symbol: ['BTC/USD'] } });
    expect(krakenSubscribe({ channel: 'instrument' }, 3)).toEqual({ method: 'subscribe', params: { channel: 'instrument' }, req_id: 3 });
    expect(krakenSubscribe({ channel: 'heartbeat' })).toEqual({ method: 'subscribe', params: { channel: 'heartbeat' } });
  });

  it('does leave out of an unsubscribe what only a subscribe takes', () => {
    expect(krakenUnsubscribe({ channel: 'book', symbols: ['BTC-USD'], depth: 100, snapshot: true }, 9)).toEqual({
      method: 'unsubscribe',
      params: { channel: 'book', symbol: ['BTC/USD'], depth: 100 },
      req_id: 9,
    });
    expect(krakenUnsubscribe({ channel: 'ticker', symbols: ['BTC-USD'], eventTrigger: 'bbo' })).toEqual({
      method: 'unsubscribe',
      params: { channel: 'ticker', symbol: ['BTC/USD'] },
    });
  });

  it('does reject bad parameters with the value quoted', () => {
    const bad = (subscription: unknown, reqId?: number): (() => unknown) => () => krakenSubscribe(subscription as KrakenSubscription, reqId);
    expect(bad({ channel: 'book', symbols: ['BTC-USD'], depth: 50 })).toThrowErrorMatchingInlineSnapshot(`[RangeError: Kraken book depth "50" is not one of 10, 25, 100, 500, 1000]`);
    expect(bad({ channel: 'ohlc', symbols: ['BTC-USD'], interval: 2 })).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: Kraken ohlc interval "2" is not one of 1, 5, 15, 30, 60, 240, 1440, 10080, 21600 minutes]`,
    );
    expect(bad({ channel: 'ohlc', symbols: ['BTC-USD'] })).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: Kraken ohlc interval "undefined" is not one of 1, 5, 15, 30, 60, 240, 1440, 10080, 21600 minutes]`,
    );
    expect(bad({ channel: 'trade', symbols: [] })).toThrowErrorMatchingInlineSnapshot(`[RangeError: Kraken symbols [] must be a non-empty list of symbols]`);
    expect(bad({ channel: 'trade', symbols: ['BTCUSD'] })).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: Kraken symbol "BTCUSD" is not valid: write it as BASE-QUOTE or BASE/QUOTE, e.g. "BTC-USD"]`,
    );
    expect(bad({ channel: 'trade', symbols: ['BTC-USD', 'XBT/USD'] })).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: Kraken symbol "XBT/USD" is listed twice (as "BTC/USD")]`,
    );
    expect(bad({ channel: 'trade', symbols: [42] })).toThrowErrorMatchingInlineSnapshot(`[RangeError: Kraken symbol "42" is not a string]`);
    expect(bad({ channel: 'ticker', symbols: ['BTC-USD'], eventTrigger: 'quotes' })).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: Kraken ticker eventTrigger "quotes" is not "trades" or "bbo"]`,
    );
    expect(bad({ channel: 'trade', symbols: ['BTC-USD'], snapshot: 'yes' })).toThrowErrorMatchingInlineSnapshot(`[RangeError: Kraken trade snapshot "yes" is not true or false]`);
    expect(bad({ channel: 'spread', symbols: ['BTC-USD'] })).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: Kraken channel "spread" is not one of book, heartbeat, instrument, ohlc, ticker, trade]`,
    );
    expect(bad({ channel: 'trade', symbols: ['BTC-USD'] }, -1)).toThrowErrorMatchingInlineSnapshot(`[RangeError: Kraken req_id "-1" must be a non-negative integer]`);
  });
});

describe('krakenPing', () => {
  it('does build a ping with or without a req_id', () => {
    expect(JSON.stringify(krakenPing(101))).toBe('{"method":"ping","req_id":101}');
    expect(krakenPing()).toEqual({ method: 'ping' });
    expect(() => krakenPing(1.5)).toThrowErrorMatchingInlineSnapshot(`[RangeError: Kraken req_id "1.5" must be a non-negative integer]`);
  });
});

describe('krakenSymbol and krakenOhlcInterval', () => {
  it('does spell symbols the v2 way', () => {
    expect(['BTC-USD', 'XBT/USD', 'xdg-usd', 'ETH/EUR'].map(krakenSymbol)).toEqual(['BTC/USD', 'BTC/USD', 'DOGE/USD', 'ETH/EUR']);
  });

  it('does map interval notations to minutes and name the valid ones otherwise', () => {
    expect(['1m', '15m', '1h', '4h', '1d', '7d', '15d'].map(krakenOhlcInterval)).toEqual([1, 15, 60, 240, 1440, 10080, 21600]);
    expect(krakenOhlcInterval(30)).toBe(30);
    expect(() => krakenOhlcInterval('2h')).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: Kraken ohlc interval "2h" is not one of 1, 5, 15, 30, 60, 240, 1440, 10080, 21600 minutes (1m, 5m, 15m, 30m, 1h, 4h, 1d, 7d, 15d)]`,
    );
  });
});
