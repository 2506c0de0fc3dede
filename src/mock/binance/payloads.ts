/**
 * The mock's frames and REST rows, written exactly as Binance writes them (protocols.md §1.4,
 * §1.6, §2.2, §2.4): field names and order, JSON types, dec-strings padded to the market's
 * precision. WebSocket payloads are built as strings by hand (they are the hot path and are
 * always ASCII); REST rows are plain values for `JSON.stringify`.
 */
import type { Trade } from '../../model/index.js';
import type { UnitsFormatter } from './decimalFormat.js';
import { formatDecimal, intText } from './decimalFormat.js';
import type { KlineBar } from './klineBar.js';

/** How one symbol's numbers are written. */
export interface SymbolFormat {
  /** Binance symbol, `BTCUSDT`. */
  readonly symbol: string;
  readonly usdm: boolean;
  /** Prices and quantities, written with at least their market's places (spot pads both to 8). */
  readonly prices: UnitsFormatter;
  readonly quantities: UnitsFormatter;
  /** Raw trade id = simulator id + this offset (aggregate ids are the simulator ids). */
  readonly tradeIdOffset: number;
}

/** A book level as Binance writes it: `[price, quantity]` dec-strings. */
export type LevelRow = readonly [string, string];

/** A price on the tick grid. */
export function price(format: SymbolFormat, value: number): string {
  return format.prices.value(value);
}

/** A quantity on the lot grid (a trade's or a level's). */
export function qty(format: SymbolFormat, value: number): string {
  return format.quantities.value(value);
}

/** A volume: a sum of quantities, rounded to 8 places. */
function volume(format: SymbolFormat, value: number): string {
  return formatDecimal(value, format.quantities.minDecimals);
}

/**
 * `<symbol>@aggTrade`: one simulator trade is one aggregate of one raw trade. `time` is the
 * trade time as text (the caller caches it: trades share milliseconds).
 */
export function aggTradePayload(f: SymbolFormat, trade: Trade, time: string): string {
  const t = intText(trade.id + f.tradeIdOffset);
  const q = qty(f, trade.qty);
  const head = `{"e":"aggTrade","E":${time},"s":"${f.symbol}","a":${intText(trade.id)},"p":"${price(f, trade.price)}","q":"${q}",`;
  if (f.usdm) return `${head}"nq":"${q}","f":${t},"l":${t},"T":${time},"m":${trade.side === 'sell'}}`;
  return `${head}"f":${t},"l":${t},"T":${time},"m":${trade.side === 'sell'},"M":true}`;
}

/** `<symbol>@trade`; `time` as for {@link aggTradePayload}. */
export function tradePayload(f: SymbolFormat, trade: Trade, time: string): string {
  const t = intText(trade.id + f.tradeIdOffset);
  const p = price(f, trade.price);
  const q = qty(f, trade.qty);
  const m = trade.side === 'sell';
  if (f.usdm) return `{"e":"trade","E":${time},"T":${time},"s":"${f.symbol}","t":${t},"p":"${p}","q":"${q}","X":"MARKET","m":${m}}`;
  return `{"e":"trade","E":${time},"s":"${f.symbol}","t":${t},"p":"${p}","q":"${q}","T":${time},"m":${m},"M":true}`;
}

/** `<symbol>@kline_<interval>`: the bar as of `eventTime`, `x` true only on its final update. */
export function klinePayload(f: SymbolFormat, bar: KlineBar, interval: string, eventTime: number, closed: boolean): string {
  const first = bar.firstId < 0 ? -1 : bar.firstId + f.tradeIdOffset;
  const last = bar.lastId < 0 ? -1 : bar.lastId + f.tradeIdOffset;
  return (
    `{"e":"kline","E":${eventTime},"s":"${f.symbol}","k":{"t":${bar.openTime},"T":${bar.closeTime},"s":"${f.symbol}","i":"${interval}",` +
    `"f":${first},"L":${last},"o":"${price(f, bar.open)}","c":"${price(f, bar.close)}","h":"${price(f, bar.high)}","l":"${price(f, bar.low)}",` +
    `"v":"${volume(f, bar.volume)}","n":${bar.trades},"x":${closed},"q":"${formatDecimal(bar.quoteVolume, 8)}","V":"${volume(f, bar.takerBuyVolume)}",` +
    `"Q":"${formatDecimal(bar.takerBuyQuoteVolume, 8)}","B":"0"}}`
  );
}

/** A REST kline row: 12 elements, mixed types (protocols.md §1.6). */
export type KlineRow = readonly [number, string, string, string, string, string, number, string, number, string, string, string];

export function klineRow(f: SymbolFormat, bar: KlineBar): KlineRow {
  return [
    bar.openTime,
    price(f, bar.open),
    price(f, bar.high),
    price(f, bar.low),
    price(f, bar.close),
    volume(f, bar.volume),
    bar.closeTime,
    formatDecimal(bar.quoteVolume, 8),
    bar.trades,
    volume(f, bar.takerBuyVolume),
    formatDecimal(bar.takerBuyQuoteVolume, 8),
    '0',
  ];
}

/** A REST aggregate trade (`/api/v3/aggTrades`, `/fapi/v1/aggTrades`). */
export interface AggTradeRow {
  readonly a: number;
  readonly p: string;
  readonly q: string;
  readonly f: number;
  readonly l: number;
  readonly T: number;
  readonly m: boolean;
  readonly M?: boolean;
}

export function aggTradeRow(f: SymbolFormat, trade: Trade): AggTradeRow {
  const t = trade.id + f.tradeIdOffset;
  const row = { a: trade.id, p: price(f, trade.price), q: qty(f, trade.qty), f: t, l: t, T: trade.tsEvent, m: trade.side === 'sell' };
  return f.usdm ? row : { ...row, M: true };
}

/** Levels as the JSON text of a `[[price, qty], ...]` array. */
export function levelsJson(levels: readonly LevelRow[]): string {
  let out = '[';
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as LevelRow;
    out += `${i === 0 ? '' : ','}["${level[0]}","${level[1]}"]`;
  }
  return `${out}]`;
}

/**
 * A `depthUpdate`: spot `{e,E,s,U,u,b,a}`; USD-M `{e,E,T,s,U,u,pu,b,a}` (also the shape of USD-M
 * partial depth). `bids` and `asks` are {@link levelsJson} texts.
 */
export function depthUpdatePayload(f: SymbolFormat, eventTime: number, txTime: number, first: number, last: number, prev: number, bids: string, asks: string): string {
  if (f.usdm) return `{"e":"depthUpdate","E":${eventTime},"T":${txTime},"s":"${f.symbol}","U":${first},"u":${last},"pu":${prev},"b":${bids},"a":${asks}}`;
  return `{"e":"depthUpdate","E":${eventTime},"s":"${f.symbol}","U":${first},"u":${last},"b":${bids},"a":${asks}}`;
}

/** Spot partial depth `<symbol>@depth<N>`: no event type, no symbol. */
export function spotPartialDepthPayload(lastUpdateId: number, bids: string, asks: string): string {
  return `{"lastUpdateId":${lastUpdateId},"bids":${bids},"asks":${asks}}`;
}

/** Best bid and ask: spot `{u,s,b,B,a,A}` (no event type, no time); USD-M `{e,u,E,T,s,b,B,a,A}`. */
export function bookTickerPayload(f: SymbolFormat, updateId: number, time: number, bid: LevelRow, ask: LevelRow): string {
  if (f.usdm) return `{"e":"bookTicker","u":${updateId},"E":${time},"T":${time},"s":"${f.symbol}","b":"${bid[0]}","B":"${bid[1]}","a":"${ask[0]}","A":"${ask[1]}"}`;
  return `{"u":${updateId},"s":"${f.symbol}","b":"${bid[0]}","B":"${bid[1]}","a":"${ask[0]}","A":"${ask[1]}"}`;
}

/** The state behind a `markPriceUpdate` and `/fapi/v1/premiumIndex`. */
export interface MarkState {
  readonly time: number;
  readonly markPrice: number;
  readonly indexPrice: number;
  readonly settlePrice: number;
  readonly fundingRate: number;
  readonly nextFundingTime: number;
  readonly averageMark: number;
}

export function markPricePayload(f: SymbolFormat, mark: MarkState): string {
  return (
    `{"e":"markPriceUpdate","E":${mark.time},"s":"${f.symbol}","p":"${formatDecimal(mark.markPrice, 8)}","i":"${formatDecimal(mark.indexPrice, 8)}",` +
    `"P":"${formatDecimal(mark.settlePrice, 8)}","r":"${formatDecimal(mark.fundingRate, 8)}","T":${mark.nextFundingTime},"ap":"${formatDecimal(mark.averageMark, 8)}"}`
  );
}

/** A simulated liquidation order. */
export interface LiquidationSample {
  readonly time: number;
  readonly side: 'BUY' | 'SELL';
  readonly qty: number;
  readonly price: number;
  readonly avgPrice: number;
}

export function forceOrderPayload(f: SymbolFormat, eventTime: number, liquidation: LiquidationSample): string {
  const q = qty(f, liquidation.qty);
  return (
    `{"e":"forceOrder","E":${eventTime},"o":{"s":"${f.symbol}","S":"${liquidation.side}","o":"LIMIT","f":"IOC","q":"${q}",` +
    `"p":"${price(f, liquidation.price)}","ap":"${price(f, liquidation.avgPrice)}","X":"FILLED","l":"${q}","z":"${q}","T":${liquidation.time}}}`
  );
}

/** The notice sent before a planned close. */
export function serverShutdownPayload(time: number): string {
  return `{"e":"serverShutdown","E":${time}}`;
}
