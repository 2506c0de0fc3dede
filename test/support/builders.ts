/**
 * Frozen test records with sensible defaults: `trade({ price: 101 })`, `candle({ close: 99 })`.
 * Freezing makes any operator that mutates its input fail loudly.
 */
import type {
  Candle,
  Consensus,
  Features,
  FeatureValues,
  Gap,
  Signal,
  Status,
  Trade,
  Vote,
  VoteSummary,
} from '../../src/model/index.js';

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** 2025-01-01T00:00:00Z */
export const T0 = Date.UTC(2025, 0, 1);
export const MINUTE = 60_000;
export const HOUR = 3_600_000;

export function trade(overrides: Partial<Trade> = {}): Trade {
  const tsEvent = overrides.tsEvent ?? T0;
  return deepFreeze({
    type: 'trade',
    venue: 'binance',
    symbol: 'BTC-USDT',
    tsEvent,
    tsRecv: overrides.tsRecv ?? tsEvent,
    id: 1,
    price: 100,
    qty: 1,
    side: 'buy',
    ...overrides,
  });
}

export function candle(overrides: Partial<Candle> = {}): Candle {
  const openTime = overrides.openTime ?? T0;
  const close = overrides.close ?? 100;
  const open = overrides.open ?? close;
  const closeTime = overrides.closeTime ?? openTime + MINUTE - 1;
  return deepFreeze({
    type: 'candle',
    venue: 'binance',
    symbol: 'BTC-USDT',
    tsEvent: closeTime + 1,
    tsRecv: closeTime + 1,
    interval: '1m',
    openTime,
    closeTime,
    open,
    high: Math.max(open, close) + 1,
    low: Math.min(open, close) - 1,
    close,
    volume: 10,
    closed: true,
    ...overrides,
  });
}

/** Candles one interval apart with the given closes (open = previous close). */
export function candles(closes: readonly number[], overrides: Partial<Candle> = {}): Candle[] {
  const step = overrides.interval === '1h' ? HOUR : MINUTE;
  const start = overrides.openTime ?? T0;
  return closes.map((close, i) =>
    candle({
      ...overrides,
      openTime: start + i * step,
      closeTime: start + (i + 1) * step - 1,
      tsEvent: start + (i + 1) * step,
      tsRecv: start + (i + 1) * step,
      open: i === 0 ? close : (closes[i - 1] ?? close),
      close,
    }),
  );
}

export function features(values: FeatureValues = {}, overrides: Partial<Features> = {}): Features {
  const bar = overrides.candle ?? candle();
  return deepFreeze({
    type: 'features',
    venue: bar.venue,
    symbol: bar.symbol,
    tsEvent: bar.tsEvent,
    tsRecv: bar.tsRecv,
    interval: bar.interval,
    openTime: bar.openTime,
    closeTime: bar.closeTime,
    closed: bar.closed,
    candle: bar,
    values,
    ...overrides,
  });
}

export function vote(overrides: Partial<Vote> = {}): Vote {
  const basis = overrides.features ?? features();
  return deepFreeze({
    type: 'vote',
    venue: basis.venue,
    symbol: basis.symbol,
    tsEvent: basis.tsEvent,
    tsRecv: basis.tsRecv,
    voter: 'trend',
    direction: 'long',
    confidence: 0.8,
    reasons: ['because'],
    interval: basis.interval,
    openTime: basis.openTime,
    closeTime: basis.closeTime,
    features: basis,
    ...overrides,
  });
}

export function voteSummary(overrides: Partial<VoteSummary> = {}): VoteSummary {
  return deepFreeze({ voter: 'trend', direction: 'long', confidence: 0.8, weight: 1, reasons: ['because'], ...overrides });
}

export function consensus(overrides: Partial<Consensus> = {}): Consensus {
  const basis = overrides.features ?? features({ atr14: 2 });
  return deepFreeze({
    type: 'consensus',
    venue: basis.venue,
    symbol: basis.symbol,
    tsEvent: basis.tsEvent,
    tsRecv: basis.tsRecv,
    interval: basis.interval,
    openTime: basis.openTime,
    closeTime: basis.closeTime,
    direction: 'long',
    confidence: 0.8,
    agreement: 1,
    agreeing: 3,
    quorum: 3,
    reason: '3 of 3 voters long (quorum 3)',
    votes: [voteSummary({ voter: 'trend' }), voteSummary({ voter: 'momentum' }), voteSummary({ voter: 'mean-reversion' })],
    features: basis,
    ...overrides,
  });
}

export function signal(overrides: Partial<Signal> = {}): Signal {
  return deepFreeze({
    type: 'signal',
    venue: 'binance',
    symbol: 'BTC-USDT',
    tsEvent: T0 + MINUTE,
    tsRecv: T0 + MINUTE,
    id: `binance:BTC-USDT:1m:${T0}:long`,
    interval: '1m',
    openTime: T0,
    closeTime: T0 + MINUTE - 1,
    direction: 'long',
    confidence: 0.8,
    entry: 100,
    stopLoss: 97,
    takeProfit: 106,
    riskReward: 2,
    size: 33.333333,
    notional: 3333.3333,
    riskAmount: 100,
    atr: 2,
    consensus: { agreement: 1, agreeing: 3, quorum: 3, reason: '3 of 3 voters long (quorum 3)' },
    votes: [voteSummary({ voter: 'trend' }), voteSummary({ voter: 'momentum' }), voteSummary({ voter: 'mean-reversion' })],
    ...overrides,
  });
}

export function gap(overrides: Partial<Gap> = {}): Gap {
  return deepFreeze({
    type: 'gap',
    venue: 'binance',
    symbol: 'BTC-USDT',
    tsEvent: T0,
    tsRecv: T0,
    stream: 'trade',
    recoverable: false,
    reason: 'test gap',
    ...overrides,
  });
}

export function status(overrides: Partial<Status> = {}): Status {
  return deepFreeze({
    type: 'status',
    venue: 'binance',
    symbol: 'BTC-USDT',
    tsEvent: T0,
    tsRecv: T0,
    state: 'live',
    detail: 'test status',
    ...overrides,
  });
}
