/**
 * Canonical symbols: `BASE-QUOTE` in upper case (`BTC-USDT`), whatever the venue calls them
 * (`BTCUSDT`, `btcusdt`, `BTC/USDT`, `XBT/USD`). Records from different venues join on it.
 */

/** Quote assets recognised at the end of a concatenated symbol, longest first. */
const QUOTES = [
  'FDUSD', 'USDT', 'USDC', 'BUSD', 'TUSD', 'USDP', 'USDS', 'BIDR', 'IDRT', 'DAI', 'USD', 'EUR', 'GBP', 'TRY', 'BRL',
  'AUD', 'JPY', 'RUB', 'UAH', 'ZAR', 'PLN', 'RON', 'ARS', 'MXN', 'COP', 'CZK', 'NGN', 'BTC', 'ETH', 'BNB', 'XRP',
  'TRX', 'DOGE', 'DOT',
] as const;

const ALIASES: Readonly<Record<string, string>> = { XBT: 'BTC', XDG: 'DOGE' };

const CANONICAL = /^[A-Z0-9]+-[A-Z0-9]+$/;

function alias(asset: string): string {
  return ALIASES[asset] ?? asset;
}

/**
 * The canonical form of `raw`, or `undefined` when the quote asset cannot be told apart.
 * `BTCUSDT` -> `BTC-USDT`, `eth/usd` -> `ETH-USD`, `XBT/USD` -> `BTC-USD`.
 */
export function tryCanonicalSymbol(raw: string): string | undefined {
  const upper = raw.trim().toUpperCase();
  // `_` is not a separator: Binance uses it for contracts (`BTCUSDT_240927`, `BTCUSD_PERP`).
  const separated = /^([A-Z0-9]+)[-/]([A-Z0-9]+)$/.exec(upper);
  if (separated !== null) return `${alias(separated[1] ?? '')}-${alias(separated[2] ?? '')}`;
  if (!/^[A-Z0-9]+$/.test(upper)) return undefined;
  for (const quote of QUOTES) {
    if (upper.length > quote.length && upper.endsWith(quote)) {
      return `${alias(upper.slice(0, -quote.length))}-${quote}`;
    }
  }
  return undefined;
}

/** Like {@link tryCanonicalSymbol} but throws a RangeError naming the value. */
export function canonicalSymbol(raw: string): string {
  const symbol = tryCanonicalSymbol(raw);
  if (symbol === undefined) {
    throw new RangeError(`Symbol "${raw}" is not recognised: write it as BASE-QUOTE, e.g. "BTC-USDT"`);
  }
  return symbol;
}

/** True when `symbol` is already canonical. */
export function isCanonicalSymbol(symbol: string): boolean {
  return CANONICAL.test(symbol);
}

/** Binance's spelling of a canonical symbol: `BTC-USDT` -> `BTCUSDT`. */
export function binanceSymbol(symbol: string): string {
  return canonicalSymbol(symbol).replace('-', '');
}

/** The base asset of a canonical symbol: `BTC-USDT` -> `BTC`. */
export function baseAsset(symbol: string): string {
  const dash = symbol.indexOf('-');
  return dash < 0 ? symbol : symbol.slice(0, dash);
}
