/**
 * A slow reference parser built only from the zod schemas in `payloads.ts` and the dispatch rules
 * written there. The property test holds the hand-written hot-path parser to it: same verdict on
 * every frame, and the same records (built here from the schemas' own number conversions).
 */
import type { z } from 'zod';
import type { BinanceMarket, BinanceRecord } from '../../../src/sources/binance/parse.js';
import {
  AggTradePayload,
  BINANCE_EVENTS,
  canonicalFromBinance,
  DEFAULT_MAX_AHEAD_MS,
  EnvelopePayload,
  ErrorReplyPayload,
  ForceOrderPayload,
  KlinePayload,
  MarkPriceUpdatePayload,
  PARTIAL_DEPTH_STREAM,
  ReplyPayload,
  ServerShutdownPayload,
  SpotBookTickerPayload,
  SpotDepthPayload,
  SpotPartialDepthPayload,
  TradePayload,
  UsdmBookTickerPayload,
  UsdmDepthPayload,
} from '../../../src/sources/binance/payloads.js';

/** What a frame yields, in order: records, control kinds, and drops (reasons are the fast parser's business). */
export type Outcome = BinanceRecord | { readonly control: string } | 'drop';

type Json = Record<string, unknown>;

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function referenceParse(market: BinanceMarket, text: string, tsRecv: number, stream?: string): Outcome[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return ['drop'];
  }
  if (Array.isArray(value)) return value.flatMap((item) => payload(market, item, tsRecv, stream));
  if (!isPlainObject(value)) return ['drop'];
  if ('stream' in value) {
    const envelope = EnvelopePayload.safeParse(value);
    if (!envelope.success) return ['drop'];
    const { data } = envelope.data;
    if (Array.isArray(data)) return data.flatMap((item) => payload(market, item, tsRecv, envelope.data.stream));
    return payload(market, data, tsRecv, envelope.data.stream);
  }
  if ('id' in value && ('result' in value || 'error' in value)) {
    if ('error' in value) return ErrorReplyPayload.safeParse(value).success ? [{ control: 'error-reply' }] : ['drop'];
    return ReplyPayload.safeParse(value).success ? [{ control: 'reply' }] : ['drop'];
  }
  return payload(market, value, tsRecv, stream);
}

function payload(market: BinanceMarket, item: unknown, tsRecv: number, stream: string | undefined): Outcome[] {
  if (!isPlainObject(item)) return ['drop'];
  const limit = tsRecv + DEFAULT_MAX_AHEAD_MS;
  const venue = market === 'spot' ? 'binance' : 'binance-usdm';
  const inTime = (...times: number[]): boolean => times.every((time) => time <= limit);
  const e = item.e;
  if (e === undefined) {
    if (market === 'usdm') return ['drop'];
    if ('lastUpdateId' in item) {
      const parsed = SpotPartialDepthPayload.safeParse(item);
      if (!parsed.success || stream === undefined) return ['drop'];
      const symbol = canonicalFromBinance(stream.split('@')[0]?.toUpperCase() ?? '');
      if (symbol === undefined) return ['drop'];
      const d = parsed.data;
      return [
        {
          type: 'book-depth',
          venue,
          symbol,
          tsEvent: tsRecv,
          tsRecv,
          firstUpdateId: d.lastUpdateId,
          lastUpdateId: d.lastUpdateId,
          bids: d.bids.map(([price, qty]) => [price, qty] as const),
          asks: d.asks.map(([price, qty]) => [price, qty] as const),
          snapshot: true,
        },
      ];
    }
    if ('u' in item) {
      const parsed = SpotBookTickerPayload.safeParse(item);
      if (!parsed.success) return ['drop'];
      const t = parsed.data;
      return [bookTop(venue, symbolOf(t.s), tsRecv, tsRecv, t)];
    }
    return ['drop'];
  }
  if (e === 'serverShutdown') {
    const parsed = ServerShutdownPayload.safeParse(item);
    return parsed.success && inTime(parsed.data.E) ? [{ control: 'server-shutdown' }] : ['drop'];
  }
  const table: Readonly<Record<string, z.ZodType>> = BINANCE_EVENTS[market];
  if (typeof e !== 'string' || !Object.hasOwn(table, e)) return ['drop'];
  switch (e) {
    case 'trade': {
      const parsed = TradePayload.safeParse(item);
      if (!parsed.success || !inTime(parsed.data.E, parsed.data.T)) return ['drop'];
      const t = parsed.data;
      return [{ type: 'trade', venue, symbol: symbolOf(t.s), tsEvent: t.T, tsRecv, id: t.t, price: t.p, qty: t.q, side: t.m ? 'sell' : 'buy' }];
    }
    case 'aggTrade': {
      const parsed = AggTradePayload.safeParse(item);
      if (!parsed.success || !inTime(parsed.data.E, parsed.data.T)) return ['drop'];
      const t = parsed.data;
      return [{ type: 'trade', venue, symbol: symbolOf(t.s), tsEvent: t.T, tsRecv, id: t.a, price: t.p, qty: t.q, side: t.m ? 'sell' : 'buy' }];
    }
    case 'kline': {
      const parsed = KlinePayload.safeParse(item);
      if (!parsed.success || !inTime(parsed.data.E, parsed.data.k.t)) return ['drop'];
      const { E, s, k } = parsed.data;
      return [
        {
          type: 'candle',
          venue,
          symbol: symbolOf(s),
          tsEvent: E,
          tsRecv,
          interval: k.i,
          openTime: k.t,
          closeTime: k.T,
          open: k.o,
          high: k.h,
          low: k.l,
          close: k.c,
          volume: k.v,
          quoteVolume: k.q,
          trades: k.n,
          takerBuyVolume: k.V,
          closed: k.x,
        },
      ];
    }
    case 'bookTicker': {
      const parsed = UsdmBookTickerPayload.safeParse(item);
      if (!parsed.success || !inTime(parsed.data.E, parsed.data.T)) return ['drop'];
      return [bookTop(venue, symbolOf(parsed.data.s), parsed.data.T, tsRecv, parsed.data)];
    }
    case 'depthUpdate': {
      if (market === 'spot') {
        const parsed = SpotDepthPayload.safeParse(item);
        if (!parsed.success || !inTime(parsed.data.E)) return ['drop'];
        const d = parsed.data;
        return [
          {
            type: 'book-depth',
            venue,
            symbol: symbolOf(d.s),
            tsEvent: d.E,
            tsRecv,
            firstUpdateId: d.U,
            lastUpdateId: d.u,
            bids: d.b.map(([price, qty]) => [price, qty] as const),
            asks: d.a.map(([price, qty]) => [price, qty] as const),
            snapshot: false,
          },
        ];
      }
      const parsed = UsdmDepthPayload.safeParse(item);
      if (!parsed.success || !inTime(parsed.data.E, parsed.data.T)) return ['drop'];
      const d = parsed.data;
      return [
        {
          type: 'book-depth',
          venue,
          symbol: symbolOf(d.s),
          tsEvent: d.T,
          tsRecv,
          firstUpdateId: d.U,
          lastUpdateId: d.u,
          prevUpdateId: d.pu,
          bids: d.b.map(([price, qty]) => [price, qty] as const),
          asks: d.a.map(([price, qty]) => [price, qty] as const),
          snapshot: stream !== undefined && PARTIAL_DEPTH_STREAM.test(stream),
        },
      ];
    }
    case 'forceOrder': {
      const parsed = ForceOrderPayload.safeParse(item);
      if (!parsed.success || !inTime(parsed.data.E, parsed.data.o.T)) return ['drop'];
      const o = parsed.data.o;
      return [
        {
          type: 'liquidation',
          venue,
          symbol: symbolOf(o.s),
          tsEvent: o.T,
          tsRecv,
          side: o.S === 'SELL' ? 'sell' : 'buy',
          price: o.p,
          avgPrice: o.ap,
          qty: o.q,
          filledQty: o.z,
          status: o.X,
        },
      ];
    }
    case 'markPriceUpdate': {
      const parsed = MarkPriceUpdatePayload.safeParse(item);
      if (!parsed.success || !inTime(parsed.data.E)) return ['drop'];
      const m = parsed.data;
      return [
        {
          type: 'mark-price',
          venue,
          symbol: symbolOf(m.s),
          tsEvent: m.E,
          tsRecv,
          markPrice: m.p,
          ...(m.i === undefined || m.i === '' ? {} : { indexPrice: m.i }),
          ...(m.r === undefined || m.r === '' ? {} : { fundingRate: m.r }),
          ...(m.T === undefined || m.T === 0 ? {} : { nextFundingTime: m.T }),
        },
      ];
    }
    default:
      throw new Error(`the reference parser does not know event "${e}"`);
  }
}

function symbolOf(raw: string): string {
  const symbol = canonicalFromBinance(raw);
  if (symbol === undefined) throw new Error(`the schema accepted symbol "${raw}" but it has no canonical form`);
  return symbol;
}

function bookTop(
  venue: string,
  symbol: string,
  tsEvent: number,
  tsRecv: number,
  t: { u: number; b: number; B: number; a: number; A: number },
): BinanceRecord {
  return { type: 'book-top', venue, symbol, tsEvent, tsRecv, bidPrice: t.b, bidQty: t.B, askPrice: t.a, askQty: t.A, updateId: t.u };
}
