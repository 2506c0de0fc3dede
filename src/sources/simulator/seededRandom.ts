/**
 * A small, fast, seeded pseudo-random generator with the draws the market simulator needs.
 *
 * The core is sfc32, Chris Doty-Humphrey's "small fast counting" generator from PractRand
 * (public domain): 128 bits of state, a counter that rules out short cycles (period at least
 * 2^32, about 2^127 on average), and only additions, shifts and xors, so it is exact in 32-bit
 * JavaScript integer arithmetic and gives the same sequence on every platform. It passes
 * PractRand and BigCrush, which is far more than a market simulation needs.
 *
 * Seeding follows PractRand's 64-bit seeding: `a = 0`, `b` and `c` the low and high 32 bits of
 * the seed, counter 1, then 15 discarded rounds so that nearby seeds give unrelated streams.
 * Normal and exponential draws use Marsaglia and Tsang's ziggurat (2000): one 32-bit draw, a
 * table look-up and a multiplication in about 99 % of cases, several times cheaper than
 * Box-Muller's logarithm and square root. The layer index and the value come from disjoint bits of
 * the draw (Doornik's 2005 remark on the original). The tables are built per instance.
 *
 * State lives in the instance: two generators never share anything.
 */

const TWO_POW_32 = 4_294_967_296;
/** Ziggurat values have 24 (exponential) or 25 (normal, with sign) bits; the rest pick the layer. */
const TWO_POW_24 = 16_777_216;
/** Right edge of the normal ziggurat's base layer (128 layers) and the common layer area. */
const NORMAL_R = 3.442_619_855_899;
const NORMAL_V = 9.912_563_035_262_17e-3;
/** The same for the exponential ziggurat (256 layers). */
const EXPONENTIAL_R = 7.697_117_470_131_487;
const EXPONENTIAL_V = 3.949_659_822_581_572e-3;

interface ZigguratTables {
  /** Fast-path thresholds on the integer value, per layer. */
  readonly k: Float64Array;
  /** Integer value to x, per layer. */
  readonly w: Float64Array;
  /** Density at the layer's right edge, per layer. */
  readonly f: Float64Array;
}

/** Marsaglia and Tsang's normal tables for 128 layers, scaled to 24-bit magnitudes. */
function normalTables(): ZigguratTables {
  const k = new Float64Array(128);
  const w = new Float64Array(128);
  const f = new Float64Array(128);
  let d = NORMAL_R;
  let t = d;
  const q = NORMAL_V / Math.exp(-0.5 * d * d);
  k[0] = (d / q) * TWO_POW_24;
  k[1] = 0;
  w[0] = q / TWO_POW_24;
  w[127] = d / TWO_POW_24;
  f[0] = 1;
  f[127] = Math.exp(-0.5 * d * d);
  for (let i = 126; i >= 1; i--) {
    d = Math.sqrt(-2 * Math.log(NORMAL_V / d + Math.exp(-0.5 * d * d)));
    k[i + 1] = (d / t) * TWO_POW_24;
    t = d;
    f[i] = Math.exp(-0.5 * d * d);
    w[i] = d / TWO_POW_24;
  }
  return { k, w, f };
}

/** Marsaglia and Tsang's exponential tables for 256 layers, scaled to 24-bit values. */
function exponentialTables(): ZigguratTables {
  const k = new Float64Array(256);
  const w = new Float64Array(256);
  const f = new Float64Array(256);
  let d = EXPONENTIAL_R;
  let t = d;
  const q = EXPONENTIAL_V / Math.exp(-d);
  k[0] = (d / q) * TWO_POW_24;
  k[1] = 0;
  w[0] = q / TWO_POW_24;
  w[255] = d / TWO_POW_24;
  f[0] = 1;
  f[255] = Math.exp(-d);
  for (let i = 254; i >= 1; i--) {
    d = -Math.log(EXPONENTIAL_V / d + Math.exp(-d));
    k[i + 1] = (d / t) * TWO_POW_24;
    t = d;
    f[i] = Math.exp(-d);
    w[i] = d / TWO_POW_24;
  }
  return { k, w, f };
}
const MAX_SEED = Number.MAX_SAFE_INTEGER;

/** log(k!) for k < 10, exact enough; larger k use Stirling's series. */
const LOG_FACTORIALS = [0, 0, Math.log(2), Math.log(6), Math.log(24), Math.log(120), Math.log(720), Math.log(5040), Math.log(40320), Math.log(362880)];

function logFactorial(k: number): number {
  if (k < LOG_FACTORIALS.length) return LOG_FACTORIALS[k] ?? 0;
  // Stirling's series: error below 1e-12 for k >= 10.
  const inv = 1 / k;
  const inv2 = inv * inv;
  return (k + 0.5) * Math.log(k) - k + 0.5 * Math.log(2 * Math.PI) + inv * (1 / 12 - inv2 * (1 / 360 - inv2 / 1260));
}

export class SeededRandom {
  #a: number;
  #b: number;
  #c: number;
  #counter: number;
  readonly #normal = normalTables();
  readonly #exponential = exponentialTables();

  /** `seed` is an integer from 0 to 2^53 - 1; the same seed always gives the same sequence. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0 || seed > MAX_SEED) {
      throw new RangeError(`Seed "${seed}" must be an integer from 0 to ${MAX_SEED}`);
    }
    this.#a = 0;
    this.#b = seed >>> 0;
    this.#c = Math.floor(seed / TWO_POW_32) >>> 0;
    this.#counter = 1;
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  /** The next raw 32-bit output, an integer in [0, 2^32). */
  nextUint32(): number {
    const a = this.#a;
    const b = this.#b;
    const c = this.#c;
    const t = (((a + b) | 0) + this.#counter) | 0;
    this.#counter = (this.#counter + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    this.#c = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** Uniform in the open interval (0, 1): never 0, so `Math.log(uniform())` is always finite. */
  uniform(): number {
    return (this.nextUint32() + 0.5) / TWO_POW_32;
  }

  /** Exponential with the given mean (the waiting time of a Poisson process of rate 1 / mean). */
  exponential(mean = 1): number {
    const { k, w, f } = this.#exponential;
    for (;;) {
      const bits = this.nextUint32();
      const layer = bits & 255;
      const value = bits >>> 8;
      const x = value * (w[layer] ?? 0);
      // Inside the layer's rectangle: accept at once (about 99 % of draws).
      if (value < (k[layer] ?? 0)) return x * mean;
      // The base layer's tail beyond R is exponential again, shifted by R.
      if (layer === 0) return (EXPONENTIAL_R - Math.log(this.uniform())) * mean;
      // The wedge between the rectangle and the curve: accept under the density.
      const fx = f[layer] ?? 0;
      if (fx + this.uniform() * ((f[layer - 1] ?? 0) - fx) < Math.exp(-x)) return x * mean;
    }
  }

  /** Standard normal, by the ziggurat. */
  normal(): number {
    const { k, w, f } = this.#normal;
    for (;;) {
      const bits = this.nextUint32();
      const layer = bits & 127;
      // A signed 25-bit value from the other bits.
      const value = (bits | 0) >> 7;
      const x = value * (w[layer] ?? 0);
      if (Math.abs(value) < (k[layer] ?? 0)) return x;
      if (layer === 0) {
        // The tail beyond R, by Marsaglia's method (1964).
        let tail: number;
        let y: number;
        do {
          tail = -Math.log(this.uniform()) / NORMAL_R;
          y = -Math.log(this.uniform());
        } while (y + y < tail * tail);
        return value > 0 ? NORMAL_R + tail : -NORMAL_R - tail;
      }
      const fx = f[layer] ?? 0;
      if (fx + this.uniform() * ((f[layer - 1] ?? 0) - fx) < Math.exp(-0.5 * x * x)) return x;
    }
  }

  /** Log-normal: `exp(mu + sigma * N(0, 1))`; its median is `exp(mu)`. */
  logNormal(mu: number, sigma: number): number {
    return Math.exp(mu + sigma * this.normal());
  }

  /**
   * Poisson with mean `lambda`: Knuth's product of uniforms below 10, Hörmann's transformed
   * rejection (PTRS, 1993; the method NumPy uses) from 10 up, which costs O(1) draws on average.
   */
  poisson(lambda: number): number {
    if (!(lambda >= 0 && Number.isFinite(lambda))) throw new RangeError(`Poisson mean "${lambda}" must be a finite number >= 0`);
    if (lambda === 0) return 0;
    if (lambda < 10) {
      const limit = Math.exp(-lambda);
      let k = 0;
      let product = this.uniform();
      while (product > limit) {
        k++;
        product *= this.uniform();
      }
      return k;
    }
    const logLambda = Math.log(lambda);
    const b = 0.931 + 2.53 * Math.sqrt(lambda);
    const a = -0.059 + 0.02483 * b;
    const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = this.uniform() - 0.5;
      const v = this.uniform();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (Math.log(v) + Math.log(invAlpha) - Math.log(a / (us * us) + b) <= -lambda + k * logLambda - logFactorial(k)) return k;
    }
  }
}
