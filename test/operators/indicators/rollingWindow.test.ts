import { describe, expect, it } from 'vitest';
import { RollingWindow } from '../../../src/operators/indicators/rollingWindow.js';

function contents(window: RollingWindow): (number | undefined)[] {
  return Array.from({ length: window.size }, (_, index) => window.at(index));
}

describe('RollingWindow', () => {
  it('does keep the newest `capacity` values, oldest first', () => {
    const window = new RollingWindow(3);
    for (const value of [1, 2, 3, 4, 5]) window.update(value, false);
    expect(contents(window)).toStrictEqual([3, 4, 5]);
    expect(window.back(0), 'newest').toBe(5);
    expect(window.back(2), 'oldest').toBe(3);
    expect(window.back(3), 'not held').toBeUndefined();
  });

  it('does overwrite only the newest value on replace, also after the window wrapped', () => {
    const window = new RollingWindow(3);
    for (const value of [1, 2, 3, 4]) window.update(value, false);
    window.update(40, true);
    window.update(41, true);
    expect(contents(window)).toStrictEqual([2, 3, 41]);
    expect(window.sum(), '2 + 3 + 41').toBe(46);
  });

  it('does take max and min over the newest values only', () => {
    const window = new RollingWindow(4);
    for (const value of [9, 1, 5, 3]) window.update(value, false);
    expect(window.maxOfLast(2), 'of 5 and 3').toBe(5);
    expect(window.minOfLast(3), 'of 1, 5 and 3').toBe(1);
    expect(window.maxOfLast(10), 'all held values').toBe(9);
  });

  it('does treat a replace on an empty window as an append', () => {
    const window = new RollingWindow(2);
    window.update(7, true);
    expect(contents(window)).toStrictEqual([7]);
  });

  it('does refuse a capacity that is not a positive integer', () => {
    expect(() => new RollingWindow(0)).toThrow('Window capacity "0" must be a positive integer');
  });
});
