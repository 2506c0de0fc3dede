import { describe, expect, it } from 'vitest';
import { select, selectOperator } from '../../src/operators/select.js';
import { candle, gap, status, trade } from '../support/builders.js';
import { testDefinitionContract } from '../support/contracts.js';
import { marbles } from '../support/marbles.js';

const t = trade({ symbol: 'BTC-USDT' });
const e = trade({ symbol: 'ETH-USDT', venue: 'coinbase' });
const c = candle();
const g = gap();
const s = status();

describe('select', () => {
  it(
    'keeps the records of the given types and always passes control events',
    marbles((m) => {
      const records$ = m.cold('  t-c-g-e-s-|', { t, c, g, e, s });
      m.expect(records$.pipe(select({ types: ['trade'] }))).toBeObservable('t---g-e-s-|', { t, g, e, s });
    }),
  );

  it(
    'filters by symbol and venue too',
    marbles((m) => {
      const records$ = m.cold('  t-e-|', { t, e });
      m.expect(records$.pipe(select({ types: ['trade'], symbols: ['ETH-USDT'] }))).toBeObservable('--e-|', { e });
      m.expect(records$.pipe(select({ types: ['trade'], venues: ['binance'] }))).toBeObservable('t---|', { t });
    }),
  );

  it(
    'propagates errors, completes on empty, stays silent on never, and unsubscribes early',
    marbles((m) => {
      m.expect(m.cold('t-#', { t }).pipe(select({ types: ['trade'] }))).toBeObservable('t-#', { t });
      m.expect(m.cold('|').pipe(select({ types: ['trade'] }))).toBeObservable('|');
      m.expect(m.cold('-').pipe(select({ types: ['trade'] }))).toBeObservable('-');
      const hot$ = m.hot('t-t-t-|', { t });
      m.expect(hot$.pipe(select({ types: ['trade'] })), '^--!').toBeObservable('t-t', { t });
      m.expect(hot$).toHaveSubscriptions('^--!');
    }),
  );

  it('declares the selected type as its output port', () => {
    const params = selectOperator.params.parse({ types: ['candle'] });
    expect(selectOperator.describe?.(params, [{ type: 'any', interval: '1m' }])).toStrictEqual({ type: 'candle', interval: '1m' });
    expect(selectOperator.describe?.(selectOperator.params.parse({ types: ['candle', 'trade'] }), [{ type: 'any' }])).toStrictEqual({ type: 'any' });
  });
});

testDefinitionContract(selectOperator, { params: { types: ['trade'] }, input: () => [t, c, e] });
