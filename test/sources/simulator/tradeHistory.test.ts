import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../../src/errors.js';
import type { Trade } from '../../../src/model/index.js';
import { TradeHistory } from '../../../src/sources/simulator/tradeHistory.js';
import { T0, trade } from '../../support/builders.js';

/** Trade `id` at `T0 + 10 * floor(id / 2)`: pairs share a millisecond. */
function tradeNo(id: number): Trade {
  const tsEvent = T0 + 10 * Math.floor(id / 2);
  return trade({ venue: 'sim', id, tsEvent, tsRecv: tsEvent, price: 100 + id / 100, qty: id / 1000, side: id % 3 === 0 ? 'sell' : 'buy' });
}

function filled(maxSize: number, count: number): TradeHistory {
  const history = new TradeHistory('sim', 'BTC-USDT', maxSize);
  for (let id = 1; id <= count; id++) history.push(tradeNo(id));
  return history;
}

function all(history: TradeHistory): Trade[] {
  return Array.from({ length: history.size }, (_, i) => history.at(i));
}

describe('TradeHistory', () => {
  it('does give back the records it was given, across growth', () => {
    const history = filled(10_000, 3_000);
    expect(history.size).toBe(3_000);
    expect(all(history), 'rebuilt records equal the pushed ones').toStrictEqual(Array.from({ length: 3_000 }, (_, i) => tradeNo(i + 1)));
    expect([history.firstId, history.lastId, history.dropped]).toStrictEqual([1, 3_000, 0]);
  });

  it('does drop the oldest beyond maxSize, keeping the newest in order', () => {
    const history = filled(1_500, 4_000);
    expect(history.size).toBe(1_500);
    expect([history.firstId, history.lastId, history.dropped]).toStrictEqual([2_501, 4_000, 2_500]);
    expect(all(history), 'the last 1500 trades, oldest first').toStrictEqual(Array.from({ length: 1_500 }, (_, i) => tradeNo(2_501 + i)));
  });

  it('does keep nothing with maxSize 0, and still check ids', () => {
    const history = filled(0, 5);
    expect([history.size, history.firstId, history.lastId, history.dropped]).toStrictEqual([0, undefined, undefined, 5]);
    expect(() => {
      history.push(tradeNo(9));
    }).toThrow(InvariantError);
  });

  it('does refuse an id that does not follow the previous one', () => {
    const history = filled(10, 3);
    expect(() => {
      history.push(tradeNo(5));
    }).toThrow('expected id 4, got 5');
  });

  it('does find trades by time, with several trades in one millisecond', () => {
    const history = filled(100, 20);
    // Trades 2 and 3 share T0 + 10, trades 4 and 5 share T0 + 20 (see tradeNo).
    expect(history.lowerBound(T0 + 10), 'first trade at T0 + 10').toBe(1);
    expect(history.upperBound(T0 + 10), 'first trade after T0 + 10').toBe(3);
    expect(history.lowerBound(T0 + 11)).toBe(3);
    expect(history.lowerBound(T0 - 1)).toBe(0);
    expect(history.lowerBound(T0 + 1_000), 'none at or after').toBe(20);
  });

  it('does find trades by id, clamped to what is retained', () => {
    const history = filled(10, 30);
    expect(history.indexOfId(25)).toBe(4);
    expect(history.indexOfId(3), 'older than retained: the oldest').toBe(0);
    expect(history.indexOfId(99), 'newer than retained: the end').toBe(10);
  });

  it('does refuse a position outside the history', () => {
    const history = filled(10, 3);
    expect(() => history.at(3)).toThrow('History index 3 is outside [0, 3)');
  });
});
