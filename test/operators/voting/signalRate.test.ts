/**
 * The three voters, the consensus and the risk plan on a month of real 1-minute klines, with their
 * default params: signals must be rare but present, in both directions. The features are computed
 * here with trading-signals under the default feature names (the `features` operator is built
 * elsewhere), so this test pins the voting logic, not the indicator code.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { merge, Subject } from 'rxjs';
import { ADX, ATR, BollingerBands, EMA, MACD, RSI, SMA, StochasticOscillator } from 'trading-signals';
import { describe, expect, it } from 'vitest';
import type { Candle, Features, FeatureValues, Signal, Vote } from '../../../src/model/index.js';
import { SignalSchema } from '../../../src/model/index.js';
import { planRisk } from '../../../src/operators/risk/planRisk.js';
import { meanReversionVoter } from '../../../src/operators/voting/meanReversionVoter.js';
import { momentumVoter } from '../../../src/operators/voting/momentumVoter.js';
import { trendVoter } from '../../../src/operators/voting/trendVoter.js';
import { voteConsensus } from '../../../src/operators/voting/voteConsensus.js';
import { hasSharedData, sharedData } from '../../support/data.js';

const FILES = ['binance-klines/BTCUSDT-1m-2025-01-01_2025-02-04.csv.gz', 'binance-klines/ETHUSDT-1m-2025-01-01_2025-02-04.csv.gz'];

/** `timestamp,open,high,low,close,volume` rows, timestamp the UTC open time. */
function readCandles(file: string, symbol: string): Candle[] {
  const lines = gunzipSync(readFileSync(sharedData(file))).toString('utf8').trim().split('\n').slice(1);
  return lines.map((line) => {
    const [time = '', open, high, low, close, volume] = line.split(',');
    const openTime = Date.parse(`${time.replace(' ', 'T')}Z`);
    return {
      type: 'candle',
      venue: 'binance',
      symbol,
      tsEvent: openTime + 60_000,
      tsRecv: openTime + 60_000,
      interval: '1m',
      openTime,
      closeTime: openTime + 59_999,
      open: Number(open),
      high: Number(high),
      low: Number(low),
      close: Number(close),
      volume: Number(volume),
      closed: true,
    };
  });
}

/** The default feature bundle, named as the `features` operator names it. */
function computeFeatures(candles: readonly Candle[]): Features[] {
  const sma20 = new SMA(20);
  const sma50 = new SMA(50);
  const rsi = new RSI(14);
  const macd = new MACD(new EMA(12), new EMA(26), new EMA(9));
  const bollinger = new BollingerBands(20, 2);
  const atr = new ATR(14);
  const stoch = new StochasticOscillator({ kPeriod: 14, kSlowingPeriod: 3, dPeriod: 3 });
  const adx = new ADX(14);
  return candles.map((bar) => {
    const m = macd.add(bar.close);
    const bands = bollinger.add(bar.close);
    const k = stoch.add(bar);
    const values: FeatureValues = {
      sma20: sma20.add(bar.close),
      sma50: sma50.add(bar.close),
      rsi14: rsi.add(bar.close),
      macd: m?.macd ?? null,
      'macd.signal': m?.signal ?? null,
      'macd.histogram': m?.histogram ?? null,
      'bb.percentB': bands === null ? null : bands.upper === bands.lower ? 0.5 : (bar.close - bands.lower) / (bands.upper - bands.lower),
      atr14: atr.add(bar),
      'stoch.k': k?.stochK ?? null,
      'stoch.d': k?.stochD ?? null,
      adx: adx.add(bar),
    };
    return { type: 'features', venue: bar.venue, symbol: bar.symbol, tsEvent: bar.tsEvent, tsRecv: bar.tsRecv, interval: bar.interval, openTime: bar.openTime, closeTime: bar.closeTime, closed: true, candle: bar, values };
  });
}

/** Runs the voting graph as a pipeline does: three voters on one hot features stream, merged. */
function run(bars: readonly Features[]): { signals: Signal[]; votes: Vote[] } {
  const features$ = new Subject<Features>();
  const signals: Signal[] = [];
  const votes: Vote[] = [];
  const votes$ = merge(features$.pipe(trendVoter({ name: 'trend' })), features$.pipe(momentumVoter({ name: 'momentum' })), features$.pipe(meanReversionVoter({ name: 'mean-reversion' })));
  votes$.subscribe((vote) => {
    if (vote.type === 'vote') votes.push(vote);
  });
  votes$.pipe(voteConsensus({ voters: ['trend', 'momentum', 'mean-reversion'] }), planRisk({ tickSize: 0.01, qtyStep: 0.00001 })).subscribe((record) => {
    if (record.type === 'signal') signals.push(record);
  });
  for (const bar of bars) features$.next(bar);
  features$.complete();
  return { signals, votes };
}

describe.skipIf(!hasSharedData(...FILES))('voting on real 1-minute klines', () => {
  it.each([
    { file: FILES[0] ?? '', symbol: 'BTC-USDT' },
    { file: FILES[1] ?? '', symbol: 'ETH-USDT' },
  ])('does produce a few signals per thousand $symbol candles, long and short', ({ file, symbol }) => {
    const bars = computeFeatures(readCandles(file, symbol));
    expect(bars.length, 'the file holds 50,000 one-minute bars').toBe(50_000);
    const { signals, votes } = run(bars);

    const perThousand = (signals.length / bars.length) * 1000;
    expect(perThousand, 'signals happen: the three voters can agree').toBeGreaterThan(0.5);
    expect(perThousand, 'signals are rare: not every bar').toBeLessThan(10);
    expect(signals.some((signal) => signal.direction === 'long'), 'some long signals').toBe(true);
    expect(signals.some((signal) => signal.direction === 'short'), 'some short signals').toBe(true);
    for (const signal of signals) {
      expect(SignalSchema.safeParse(signal).success, 'every signal matches the schema').toBe(true);
      expect(signal.votes.every((vote) => vote.direction === signal.direction), 'quorum 3 of 3: every voter agreed').toBe(true);
    }

    expect(votes.length, 'exactly one vote per voter and bar').toBe(3 * bars.length);
    for (const voter of ['trend', 'momentum', 'mean-reversion']) {
      const mine = votes.filter((vote) => vote.voter === voter);
      const sides = mine.filter((vote) => vote.direction !== 'neutral').length / mine.length;
      expect(sides, `${voter} takes a side on some bars`).toBeGreaterThan(0.1);
      expect(sides, `${voter} abstains on some bars`).toBeLessThan(0.9);
    }
  });
});
