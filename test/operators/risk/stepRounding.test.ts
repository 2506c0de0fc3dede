import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ceilToStep, floorToStep, stepDecimals } from '../../../src/operators/risk/stepRounding.js';

describe('stepRounding', () => {
  it.each([
    [0.01, 2],
    [5, 0],
    [0.5, 1],
    [1e-8, 8],
    [2.5e-7, 8],
    [0.00001, 5],
  ])('does count the decimals of step %s as %s', (step, decimals) => {
    expect(stepDecimals(step)).toBe(decimals);
  });

  it('does land on the decimal grid despite binary floating point', () => {
    expect(floorToStep(0.3, 0.1), '0.3 / 0.1 is 2.9999999999999996 in doubles, still 3 steps').toBe(0.3);
    expect(ceilToStep(0.3, 0.1), 'already on the grid').toBe(0.3);
    expect(floorToStep(33.33333, 0.01)).toBe(33.33);
    expect(ceilToStep(102.85, 0.5)).toBe(103);
    expect(floorToStep(97.15, 0.5)).toBe(97);
    expect(floorToStep(0.107, 0.00001), 'lot step of BTC-USDT').toBe(0.107);
    expect(floorToStep(0.33, 1), 'below one step is zero').toBe(0);
  });

  it('does stay on the right side of the value, within a step', () => {
    const step = fc.constantFrom(0.5, 0.1, 0.01, 0.001, 1e-5, 1e-8, 1, 5, 25);
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), step, (value, size) => {
        const down = floorToStep(value, size);
        const up = ceilToStep(value, size);
        const slack = size * 1e-6;
        expect(down, 'floor is not above the value').toBeLessThanOrEqual(value + slack);
        expect(value - down, 'floor is within a step').toBeLessThan(size + slack);
        expect(up, 'ceil is not below the value').toBeGreaterThanOrEqual(value - slack);
        expect(up - value, 'ceil is within a step').toBeLessThan(size + slack);
      }),
    );
  });
});
