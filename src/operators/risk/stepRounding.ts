/**
 * Rounding prices to a tick size and quantities to a lot step, as venues require. Dividing by a
 * decimal step in binary floating point lands a hair off the grid (0.3 / 0.1 is
 * 2.9999999999999996), so the step count is taken with a tolerance of 1e-9 of a step, and the
 * result is cut to the step's decimals so that 0.1 * 3 comes back as 0.3.
 */

const TOLERANCE = 1e-9;

/** Decimal places of a step: 0.01 -> 2, 5 -> 0, 1e-8 -> 8, 2.5e-7 -> 8. */
export function stepDecimals(step: number): number {
  const [mantissa = '', exponent] = step.toString().split('e');
  const dot = mantissa.indexOf('.');
  const decimals = dot < 0 ? 0 : mantissa.length - dot - 1;
  return Math.max(0, decimals - (exponent === undefined ? 0 : Number(exponent)));
}

function onGrid(steps: number, step: number): number {
  return Number((steps * step).toFixed(Math.min(100, stepDecimals(step))));
}

/** The largest multiple of `step` not above `value`. */
export function floorToStep(value: number, step: number): number {
  return onGrid(Math.floor(value / step + TOLERANCE), step);
}

/** The smallest multiple of `step` not below `value`. */
export function ceilToStep(value: number, step: number): number {
  return onGrid(Math.ceil(value / step - TOLERANCE), step);
}
