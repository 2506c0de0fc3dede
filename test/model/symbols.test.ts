import { describe, expect, it } from 'vitest';
import { baseAsset, binanceSymbol, canonicalSymbol, tryCanonicalSymbol } from '../../src/model/index.js';

describe('canonical symbols', () => {
  it.each([
    ['BTCUSDT', 'BTC-USDT'],
    ['btcusdt', 'BTC-USDT'],
    ['ETHBTC', 'ETH-BTC'],
    ['BTC/USD', 'BTC-USD'],
    ['XBT/USD', 'BTC-USD'],
    ['eth-usd', 'ETH-USD'],
    ['SOLFDUSD', 'SOL-FDUSD'],
    ['DOGEUSDC', 'DOGE-USDC'],
  ])('does map %s to %s', (raw, canonical) => {
    expect(canonicalSymbol(raw)).toBe(canonical);
  });

  it('does not guess when the quote asset cannot be told apart', () => {
    expect(tryCanonicalSymbol('FOOBAR')).toBeUndefined();
    expect(tryCanonicalSymbol('BTCUSDT_240927'), 'an underscore marks a dated contract, not a pair').toBeUndefined();
    expect(tryCanonicalSymbol('BTCUSD_PERP')).toBeUndefined();
    expect(() => canonicalSymbol('FOOBAR')).toThrow('Symbol "FOOBAR" is not recognised: write it as BASE-QUOTE, e.g. "BTC-USDT"');
  });

  it('does give the Binance spelling and the base asset', () => {
    expect(binanceSymbol('BTC-USDT')).toBe('BTCUSDT');
    expect(baseAsset('ETH-USDT')).toBe('ETH');
  });
});
