import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/sources/simulator/seededRandom.js';

/**
 * sfc32 written again from PractRand's description with BigInt arithmetic (no 32-bit tricks), and
 * PractRand's 64-bit seeding: a = 0, b and c the halves of the seed, counter 1, then discarded rounds.
 */
function referenceSfc32(seed: bigint, count: number): number[] {
  const mask = 0xffff_ffffn;
  let a = 0n;
  let b = seed & mask;
  let c = (seed >> 32n) & mask;
  let counter = 1n;
  const step = (): bigint => {
    const t = (a + b + counter) & mask;
    counter = (counter + 1n) & mask;
    a = b ^ (b >> 9n);
    b = (c + (c << 3n)) & mask;
    c = ((((c << 21n) & mask) | (c >> 11n)) + t) & mask;
    return t;
  };
  for (let i = 0; i < 15; i++) step();
  return Array.from({ length: count }, () => Number(step()));
}

/**
 * The standard normal distribution function from erf, by Abramowitz and Stegun 7.1.26
 * (absolute error below 1.5e-7): independent of the generator under test.
 */
function standardNormalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.327_591_1 * x);
  const poly = t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

function draws(count: number, draw: () => number): number[] {
  return Array.from({ length: count }, draw);
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

function variance(values: readonly number[]): number {
  const m = mean(values);
  return values.reduce((sum, value) => sum + (value - m) ** 2, 0) / values.length;
}

describe('SeededRandom', () => {
  it('does produce the sfc32 sequence of an independent reference implementation', () => {
    for (const seed of [0, 1, 42, 2 ** 32 + 7, Number.MAX_SAFE_INTEGER]) {
      const random = new SeededRandom(seed);
      const ours = draws(1_000, () => random.nextUint32());
      expect(ours, `seed ${seed}`).toStrictEqual(referenceSfc32(BigInt(seed), 1_000));
    }
  });

  it('does repeat a sequence for the same seed and not for a different one', () => {
    const a = new SeededRandom(7);
    const b = new SeededRandom(7);
    const c = new SeededRandom(8);
    const first = draws(100, () => a.normal());
    expect(draws(100, () => b.normal()), 'same seed, same draws').toStrictEqual(first);
    expect(draws(100, () => c.normal()), 'next seed, other draws').not.toStrictEqual(first);
  });

  it('does give nearby seeds unrelated streams', () => {
    // The first uniform of seeds 0..1999 should look uniform: mean 0.5 with standard error 0.0065.
    const firsts = Array.from({ length: 2_000 }, (_, seed) => new SeededRandom(seed).uniform());
    expect(Math.abs(mean(firsts) - 0.5), 'mean of first draws over consecutive seeds').toBeLessThan(0.03);
    expect(new Set(firsts).size, 'no two seeds start alike').toBe(2_000);
  });

  it('does reject seeds that are not integers from 0 to 2^53 - 1', () => {
    for (const seed of [-1, 1.5, Number.NaN, 2 ** 53]) expect(() => new SeededRandom(seed), String(seed)).toThrow(`Seed "${seed}" must be an integer`);
  });

  it('does draw uniforms strictly inside (0, 1) with mean 1/2 and variance 1/12', () => {
    const random = new SeededRandom(1);
    const values = draws(1_000_000, () => random.uniform());
    expect(values.every((value) => value > 0 && value < 1), 'never 0 or 1, so logs stay finite').toBe(true);
    // Standard errors: 0.00029 for the mean, 0.00007 for the variance.
    expect(mean(values)).toBeCloseTo(0.5, 2);
    expect(variance(values)).toBeCloseTo(1 / 12, 3);
  });

  it('does draw exponentials with the given mean', () => {
    const random = new SeededRandom(2);
    const values = draws(500_000, () => random.exponential(2));
    // Standard error of the mean: 2 / sqrt(500000) = 0.0028; the variance of Exp(mean 2) is 4.
    expect(Math.abs(mean(values) - 2), 'mean').toBeLessThan(0.015);
    expect(Math.abs(variance(values) - 4), 'variance').toBeLessThan(0.1);
  });

  it('does draw standard normals: mean 0, variance 1, kurtosis 3, symmetric', () => {
    const random = new SeededRandom(3);
    const values = draws(1_000_000, () => random.normal());
    const m = mean(values);
    const v = variance(values);
    const kurtosis = mean(values.map((value) => (value - m) ** 4)) / (v * v);
    // Standard errors: 0.001 (mean), 0.0014 (variance), 0.005 (kurtosis).
    expect(Math.abs(m), 'mean').toBeLessThan(0.006);
    expect(Math.abs(v - 1), 'variance').toBeLessThan(0.008);
    expect(Math.abs(kurtosis - 3), 'kurtosis').toBeLessThan(0.03);
    // P(|Z| > 1.96) = 0.05 for a standard normal.
    expect(Math.abs(values.filter((value) => Math.abs(value) > 1.96).length / values.length - 0.05), 'two-sided 5 % tail').toBeLessThan(0.002);
  });

  it('does follow the normal and exponential distribution functions, tails included', () => {
    const random = new SeededRandom(8);
    const count = 2_000_000;
    const normals = draws(count, () => random.normal());
    const exponentials = draws(count, () => random.exponential());
    // Standard error of a frequency here is at most 0.00035; 0.002 is about six of them.
    for (const z of [-3, -2, -1, -0.5, 0, 0.5, 1, 2, 3]) {
      expect(Math.abs(normals.filter((x) => x <= z).length / count - standardNormalCdf(z)), `P(Z <= ${z})`).toBeLessThan(0.002);
    }
    for (const x of [0.01, 0.1, 0.5, 1, 2, 5]) {
      expect(Math.abs(exponentials.filter((e) => e <= x).length / count - (1 - Math.exp(-x))), `P(E <= ${x})`).toBeLessThan(0.002);
    }
    // Beyond the ziggurats' base layers (3.44 and 7.70) the tails are drawn separately.
    const normalTail = normals.filter((x) => Math.abs(x) > 3.6).length;
    const expectedNormalTail = 2 * (1 - standardNormalCdf(3.6)) * count;
    // About 640 and 670 expected: Poisson standard errors of 4 %.
    expect(normalTail / expectedNormalTail, `|Z| > 3.6: ${normalTail} against ${expectedNormalTail.toFixed(0)} expected`).toBeGreaterThan(0.85);
    expect(normalTail / expectedNormalTail, `|Z| > 3.6: ${normalTail} against ${expectedNormalTail.toFixed(0)} expected`).toBeLessThan(1.15);
    const exponentialTail = exponentials.filter((e) => e > 8).length;
    const expectedExponentialTail = Math.exp(-8) * count;
    expect(exponentialTail / expectedExponentialTail, `E > 8: ${exponentialTail} against ${expectedExponentialTail.toFixed(0)} expected`).toBeGreaterThan(0.85);
    expect(exponentialTail / expectedExponentialTail, `E > 8: ${exponentialTail} against ${expectedExponentialTail.toFixed(0)} expected`).toBeLessThan(1.15);
  });

  it('does draw log-normals around their median exp(mu)', () => {
    const random = new SeededRandom(4);
    const values = draws(200_000, () => random.logNormal(Math.log(3), 0.7));
    expect(values.every((value) => value > 0), 'positive').toBe(true);
    // Half the mass lies below the median; standard error 0.0011.
    expect(Math.abs(values.filter((value) => value < 3).length / values.length - 0.5)).toBeLessThan(0.006);
    // The mean of a log-normal is exp(mu + sigma^2 / 2).
    expect(mean(values) / (3 * Math.exp(0.7 ** 2 / 2))).toBeCloseTo(1, 2);
  });

  it.each([0.5, 3, 9.5, 10, 30, 250, 10_000])('does draw Poisson(%d) with the right mean, variance and frequencies', (lambda) => {
    const random = new SeededRandom(5);
    const count = 200_000;
    const values = draws(count, () => random.poisson(lambda));
    expect(values.every((value) => Number.isInteger(value) && value >= 0), 'non-negative integers').toBe(true);
    // Mean and variance are both lambda; standard errors sqrt(lambda / n) and about lambda * sqrt(2 / n).
    expect(Math.abs(mean(values) - lambda), 'mean').toBeLessThan(6 * Math.sqrt(lambda / count));
    expect(Math.abs(variance(values) / lambda - 1), 'variance / mean').toBeLessThan(6 * Math.sqrt(2 / count) + 6 / Math.sqrt(lambda * count));
    // Frequencies near the mode against the exact probabilities (by the recurrence p(k) = p(k-1) * lambda / k, in logs).
    const mode = Math.floor(lambda);
    let logP = -lambda;
    for (let k = 1; k <= mode; k++) logP += Math.log(lambda / k);
    const p = Math.exp(logP);
    const frequency = values.filter((value) => value === mode).length / count;
    expect(Math.abs(frequency - p), `P(X = ${mode}) = ${p.toFixed(5)}`).toBeLessThan(6 * Math.sqrt(p / count));
  });

  it('does return 0 for Poisson(0) and reject a negative or infinite mean', () => {
    const random = new SeededRandom(6);
    expect(random.poisson(0)).toBe(0);
    expect(() => random.poisson(-1)).toThrow('Poisson mean "-1" must be a finite number >= 0');
    expect(() => random.poisson(Number.POSITIVE_INFINITY)).toThrow('Poisson mean "Infinity"');
  });
});
