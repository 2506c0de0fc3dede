/**
 * What a Binance URL says about the frames on it (protocols.md §1.1, §1.2, §2.1): which feed they
 * belong to, and for a raw `/ws/<stream>` connection, which stream (a raw frame does not always
 * name it: spot partial depth has no symbol).
 */

/** Feeds alphaflow names. `binance-coinm` (COIN-M delivery futures) is recognised but not parsed. */
export type BinanceFeed = 'binance' | 'binance-usdm' | 'binance-coinm';

const FEED_BY_HOST: Readonly<Record<string, BinanceFeed>> = {
  'stream.binance.com': 'binance',
  'data-stream.binance.vision': 'binance',
  'stream.testnet.binance.vision': 'binance',
  'api.binance.com': 'binance',
  'api-gcp.binance.com': 'binance',
  'api1.binance.com': 'binance',
  'api2.binance.com': 'binance',
  'api3.binance.com': 'binance',
  'api4.binance.com': 'binance',
  'data-api.binance.vision': 'binance',
  'testnet.binance.vision': 'binance',
  'fstream.binance.com': 'binance-usdm',
  'fstream.binancefuture.com': 'binance-usdm',
  'fapi.binance.com': 'binance-usdm',
  'testnet.binancefuture.com': 'binance-usdm',
  'demo-fapi.binance.com': 'binance-usdm',
  'dstream.binance.com': 'binance-coinm',
  'dapi.binance.com': 'binance-coinm',
};

/**
 * The feed of a Binance WebSocket or REST URL, or `undefined` for another host. The legacy
 * `www.binance.com` REST host serves spot (`/api/...`), USD-M (`/fapi/...`) and COIN-M (`/dapi/...`)
 * paths, so the path decides there.
 */
export function binanceFeedOfUrl(url: string): BinanceFeed | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const feed = FEED_BY_HOST[parsed.hostname];
  if (feed !== undefined) return feed;
  if (parsed.hostname === 'www.binance.com' || parsed.hostname === 'binance.com') {
    if (parsed.pathname.startsWith('/fapi/')) return 'binance-usdm';
    if (parsed.pathname.startsWith('/dapi/')) return 'binance-coinm';
    if (parsed.pathname.startsWith('/api/')) return 'binance';
  }
  return undefined;
}

/**
 * The stream of a raw connection URL (`wss://stream.binance.com:9443/ws/btcusdt@depth5` ->
 * `btcusdt@depth5`, also under the USD-M `/public/ws/` and `/market/ws/` routes), or `undefined`
 * for a combined `/stream?streams=...` URL, whose frames carry their stream.
 */
export function binanceRawStream(url: string): string | undefined {
  const match = /\/ws\/([^/?#]+)/.exec(url);
  return match?.[1];
}
