import { describe, expect, it } from 'vitest';
import {
  coinbaseProductId,
  CoinbaseRequestSchema,
  coinbaseResubscribeBook,
  coinbaseSubscribe,
  coinbaseUnsubscribe,
  isCoinbaseChannel,
} from '../../../src/sources/coinbase/messages.js';

describe('coinbaseSubscribe', () => {
  it('does send one message per channel and always add heartbeats last', () => {
    expect(coinbaseSubscribe(['level2', 'market_trades', 'ticker'], ['BTC-USD', 'ETH-USD'])).toEqual([
      { type: 'subscribe', channel: 'level2', product_ids: ['BTC-USD', 'ETH-USD'] },
      { type: 'subscribe', channel: 'market_trades', product_ids: ['BTC-USD', 'ETH-USD'] },
      { type: 'subscribe', channel: 'ticker', product_ids: ['BTC-USD', 'ETH-USD'] },
      { type: 'subscribe', channel: 'heartbeats' },
    ]);
  });

  it('does write the JSON Coinbase documents', () => {
    expect(coinbaseSubscribe(['level2'], ['BTC-USD']).map((message) => JSON.stringify(message))).toEqual([
      '{"type":"subscribe","channel":"level2","product_ids":["BTC-USD"]}',
      '{"type":"subscribe","channel":"heartbeats"}',
    ]);
  });

  it('does not add heartbeats twice, and removes duplicate channels and products', () => {
    expect(coinbaseSubscribe(['heartbeats', 'ticker', 'ticker'], ['btc/usd', 'BTCUSD', 'BTC-USD'])).toEqual([
      { type: 'subscribe', channel: 'heartbeats' },
      { type: 'subscribe', channel: 'ticker', product_ids: ['BTC-USD'] },
    ]);
  });

  it('does allow heartbeats alone without products', () => {
    expect(coinbaseSubscribe(['heartbeats'], [])).toEqual([{ type: 'subscribe', channel: 'heartbeats' }]);
  });

  it('does report every problem at once, quoting the values', () => {
    expect(() => coinbaseSubscribe(['level3', 'ticker'], ['BTC-USD', 'bitcoin'])).toThrow(
      'Cannot subscribe on Coinbase: channel "level3" is not one of heartbeats, level2, market_trades, ticker; product "bitcoin" is not recognised: write it as BASE-QUOTE, e.g. "BTC-USD"',
    );
    expect(() => coinbaseSubscribe(['level2'], [])).toThrow('Cannot subscribe on Coinbase: no products given for level2');
    expect(() => coinbaseSubscribe([], ['BTC-USD'])).toThrow('Cannot subscribe on Coinbase: no channels given');
  });
});

describe('coinbaseUnsubscribe', () => {
  it('does unsubscribe products, or a whole channel with empty product_ids, leaving heartbeats alone', () => {
    expect(coinbaseUnsubscribe(['level2'], ['ETH-USD'])).toEqual([{ type: 'unsubscribe', channel: 'level2', product_ids: ['ETH-USD'] }]);
    expect(coinbaseUnsubscribe(['market_trades'])).toEqual([{ type: 'unsubscribe', channel: 'market_trades', product_ids: [] }]);
    expect(coinbaseUnsubscribe(['heartbeats'])).toEqual([{ type: 'unsubscribe', channel: 'heartbeats' }]);
  });

  it('does reject an unknown channel', () => {
    expect(() => coinbaseUnsubscribe(['matches'])).toThrow('Cannot unsubscribe on Coinbase: channel "matches" is not one of heartbeats, level2, market_trades, ticker');
  });
});

describe('coinbaseResubscribeBook', () => {
  it('does unsubscribe then subscribe level2 for the products only', () => {
    expect(coinbaseResubscribeBook(['ETH-USD'])).toEqual([
      { type: 'unsubscribe', channel: 'level2', product_ids: ['ETH-USD'] },
      { type: 'subscribe', channel: 'level2', product_ids: ['ETH-USD'] },
    ]);
    expect(() => coinbaseResubscribeBook([])).toThrow('Cannot resubscribe on Coinbase: no products given for level2');
  });
});

describe('coinbaseProductId and the request schema', () => {
  it('does spell symbols as Coinbase products', () => {
    expect(coinbaseProductId('eth/usdc')).toBe('ETH-USDC');
    expect(() => coinbaseProductId('??')).toThrow('Coinbase product "??" is not recognised: write it as BASE-QUOTE, e.g. "BTC-USD"');
  });

  it('does read what the builders write, and loose extra fields', () => {
    for (const message of coinbaseSubscribe(['level2'], ['BTC-USD'])) {
      expect(CoinbaseRequestSchema.parse(JSON.parse(JSON.stringify(message)))).toEqual(message);
    }
    expect(CoinbaseRequestSchema.safeParse({ type: 'subscribe', channel: 'level2', product_ids: ['BTC-USD'], jwt: 'x', timestamp: '1' }).success).toBe(true);
    expect(CoinbaseRequestSchema.safeParse({ type: 'subscribe', channels: ['level2'] }).success, 'the Exchange form has no "channel"').toBe(false);
    expect(isCoinbaseChannel('level2')).toBe(true);
    expect(isCoinbaseChannel('l2_data')).toBe(false);
  });
});
