/**
 * tardis-node's Binance message fixtures (../shared/data/ws-messages/tardis-node-fixtures) through
 * the parsers, for schema coverage. Some fixtures were edited by tardis for their tests or are
 * tardis-generated pseudo-messages; the expected outcome of each message below was read off the
 * fixture file by hand.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createBinanceParser, type BinanceMarket } from '../../../src/sources/binance/parse.js';
import { hasSharedData, sharedData } from '../../support/data.js';
import { parseFrame } from './parseHelpers.js';

const SPOT = 'ws-messages/tardis-node-fixtures/binance-spot.messages.json';
const USDM = 'ws-messages/tardis-node-fixtures/binance-usdm-futures.messages.json';
const ok = hasSharedData(SPOT, USDM);

/** Each message in its combined envelope, as the file stores it, re-encoded as a frame. */
function frames(file: string): string[] {
  return (JSON.parse(readFileSync(sharedData(file), 'utf8')) as unknown[]).map((message) => JSON.stringify(message));
}

/** The fixtures span 2019 to 2021: receive them all just after the latest event time. */
function outcomes(market: BinanceMarket, file: string): string[] {
  const parser = createBinanceParser({ market });
  const tsRecv = 1_612_137_604_000;
  return frames(file).map((frame) => {
    const { records, controls, drops } = parseFrame(parser, frame, tsRecv);
    return [...records.map((record) => `${record.type} ${record.symbol}`), ...controls.map((control) => control.kind), ...drops.map((reason) => `drop: ${reason}`)].join(' | ');
  });
}

describe.skipIf(!ok)('Binance parsers on the tardis-node fixtures', () => {
  it('does parse the spot fixtures: trades, book ticker, depth diffs and snapshots', () => {
    expect(outcomes('spot', SPOT)).toStrictEqual([
      'trade BNB-BTC',
      'trade BNB-BTC',
      'book-top BTC-USDT',
      'drop: unsupported event "24hrTicker"',
      // tardis-generated `@depthSnapshot` has the partial-depth shape: a snapshot named by its stream.
      'book-depth BTC-USDC',
      'book-depth BTC-USDC',
      'book-depth GNT-BTC',
      'book-depth GNT-BTC',
      'book-depth GNT-BTC',
      'book-depth GNT-BTC',
    ]);
  });

  it('does parse the USD-M fixtures: mark prices, a liquidation, depth with pu, a book ticker', () => {
    expect(outcomes('usdm', USDM)).toStrictEqual([
      // tardis removed the aggregate trade id from this aggTrade.
      'drop: aggTrade field "a" is missing',
      'drop: unsupported event "24hrTicker"',
      'mark-price BTC-USDT',
      'drop: unsupported event "24hrTicker"',
      'trade BTC-USDT',
      'book-depth BTC-USDT',
      'drop: unsupported payload without an event type: ["lastUpdateId","bids","asks"]',
      'book-depth BTC-USDT',
      'drop: unsupported payload without an event type: ["symbol","openInterest"]',
      'mark-price BTC-USDT',
      'drop: not a market trade: "INSURANCE_FUND"',
      'trade BTC-USDT',
      'liquidation BTC-USDT',
      // A quarterly delivery contract: no canonical symbol yet.
      'drop: unrecognised symbol: "BTCBUSD_210129"',
      'book-top BTC-USDT',
    ]);
  });

  it('does read the futures-only fields with their values', () => {
    const parser = createBinanceParser({ market: 'usdm' });
    const all = frames(USDM).flatMap((frame) => parseFrame(parser, frame, 1_612_137_604_000).records);
    expect(all.find((record) => record.type === 'liquidation')).toStrictEqual({
      type: 'liquidation',
      venue: 'binance-usdm',
      symbol: 'BTC-USDT',
      tsEvent: 1_584_059_031_421,
      tsRecv: 1_612_137_604_000,
      side: 'buy',
      price: 4793.91,
      avgPrice: 4706.04,
      qty: 0.014,
      filledQty: 0.014,
      status: 'FILLED',
    });
    expect(all.filter((record) => record.type === 'mark-price')).toStrictEqual([
      { type: 'mark-price', venue: 'binance-usdm', symbol: 'BTC-USDT', tsEvent: 1_569_888_003_001, tsRecv: 1_612_137_604_000, markPrice: 8291.34697815, fundingRate: 0.0001, nextFundingTime: 1_569_916_800_000 },
      {
        type: 'mark-price',
        venue: 'binance-usdm',
        symbol: 'BTC-USDT',
        tsEvent: 1_597_536_008_000,
        tsRecv: 1_612_137_604_000,
        markPrice: 11857.56,
        indexPrice: 11851.86949091,
        fundingRate: 0.0001564,
        nextFundingTime: 1_597_564_800_000,
      },
    ]);
    expect(all.filter((record) => record.type === 'book-depth').map((record) => [record.firstUpdateId, record.lastUpdateId, record.prevUpdateId, record.tsEvent])).toStrictEqual([
      [687_687_944, 687_687_946, 687_687_946, 1_573_948_821_948],
      [687_687_944, 687_687_946, 687_690_832, 1_573_948_821_948],
    ]);
    expect(all.find((record) => record.type === 'book-top')).toMatchObject({ tsEvent: 1_612_137_603_568, bidPrice: 33134.42, askPrice: 33139.39, updateId: 185_130_926_750 });
  });
});
