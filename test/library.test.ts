/**
 * The library examples of the README, as a user would write them against the package's entry
 * point. If this file changes, the README's examples change with it.
 */
import { pino } from 'pino';
import { connect, filter, lastValueFrom, merge, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  adx,
  atr,
  bollinger,
  buildCandles,
  compilePipeline,
  createContext,
  features,
  macd,
  meanReversionVoter,
  momentumVoter,
  planRisk,
  rsi,
  type Signal,
  SignalSchema,
  simulatorTrades,
  sma,
  stochastic,
  trendVoter,
  voteConsensus,
} from '../src/index.js';

describe('the library API (README examples)', () => {
  it('compiles a config in code and subscribes to its signals', async () => {
    const config = {
      name: 'embedded',
      nodes: [
        { id: 'trades', use: 'simulator-trades', params: { seed: 7, duration: '12h' } },
        { id: 'candles', use: 'build-candles', from: 'trades', params: { interval: '1m' } },
        { id: 'features', use: 'features', from: 'candles' },
        { id: 'trend', use: 'trend-voter', from: 'features' },
        { id: 'momentum', use: 'momentum-voter', from: 'features' },
        { id: 'mean-reversion', use: 'mean-reversion-voter', from: 'features' },
        { id: 'consensus', use: 'consensus', from: ['trend', 'momentum', 'mean-reversion'] },
        { id: 'risk', use: 'risk-plan', from: 'consensus', params: { equity: 25_000, maxLeverage: 3 } },
      ],
    };
    const pipeline = compilePipeline(config, { logger: pino({ level: 'silent' }) });
    const signals = await lastValueFrom(pipeline.signals$.pipe(toArray()));

    expect(signals.length, 'half a simulated day yields signals').toBeGreaterThan(0);
    for (const signal of signals) expect(SignalSchema.parse(signal).votes).toHaveLength(3);
  });

  it('composes sources and operators directly with pipe()', async () => {
    const ctx = createContext({ logger: pino({ level: 'silent' }) });
    const signals$ = simulatorTrades({ seed: 7, duration: '12h' }, ctx).pipe(
      buildCandles('1m'),
      features([sma(20), sma(50), rsi(14), macd(), bollinger(), atr(14), stochastic(), adx(14)]),
      // Every voter sees every bar: connect() subscribes all branches before the bars flow.
      connect((bars$) => merge(bars$.pipe(trendVoter()), bars$.pipe(momentumVoter()), bars$.pipe(meanReversionVoter()))),
      voteConsensus({ voters: ['trend-voter', 'momentum-voter', 'mean-reversion-voter'] }),
      planRisk({ equity: 25_000, maxLeverage: 3 }),
      filter((record): record is Signal => record.type === 'signal'),
    );
    const direct = await lastValueFrom(signals$.pipe(toArray()));

    // The same chain from the config above gives the same signals.
    const pipeline = compilePipeline(
      {
        name: 'same',
        nodes: [
          { id: 'trades', use: 'simulator-trades', params: { seed: 7, duration: '12h' } },
          { id: 'candles', use: 'build-candles', from: 'trades' },
          { id: 'features', use: 'features', from: 'candles', params: { indicators: [sma(20), sma(50), rsi(14), macd(), bollinger(), atr(14), stochastic(), adx(14)] } },
          { id: 'trend-voter', use: 'trend-voter', from: 'features' },
          { id: 'momentum-voter', use: 'momentum-voter', from: 'features' },
          { id: 'mean-reversion-voter', use: 'mean-reversion-voter', from: 'features' },
          { id: 'consensus', use: 'consensus', from: ['trend-voter', 'momentum-voter', 'mean-reversion-voter'] },
          { id: 'risk', use: 'risk-plan', from: 'consensus', params: { equity: 25_000, maxLeverage: 3 } },
        ],
      },
      { logger: pino({ level: 'silent' }) },
    );
    const compiled = await lastValueFrom(pipeline.signals$.pipe(toArray()));
    expect(direct.length).toBeGreaterThan(0);
    expect(direct, 'code and config build the same graph').toStrictEqual(compiled);
  });
});
