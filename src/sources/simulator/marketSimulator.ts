/**
 * A seeded market simulator for one symbol: realistic trades with a queryable ground truth.
 *
 * It is the embedded market of `npm start`, and the "true state" behind mock exchanges, RL
 * training and fault tests: every trade it makes is kept (compactly, up to `maxHistory`) and can
 * be read back by time or id, and as klines built with the same {@link CandleBuilder} that
 * `build-candles` uses, so a consumer's candles can be checked bar for bar.
 *
 * The model, in the order a trade is made:
 *
 * 1. **Arrivals.** Trades arrive as a Hawkes process (self-exciting: each trade raises the
 *    intensity by `excitation * excitationDecay` per second, decaying at `excitationDecay`),
 *    simulated exactly by Dassios and Zhao's method (2013). Its baseline rises with the current
 *    variance, `base = tradeRate * (1 - excitation) * (1 - rateVolCoupling + rateVolCoupling * h / h̄)`,
 *    which keeps the long-run mean at `tradeRate` (E[h] = h̄) while busy markets are volatile ones
 *    (the volume-volatility relation of Clark's mixture-of-distributions hypothesis).
 * 2. **Efficient price.** A latent price diffuses in log terms with a variance per second
 *    `h = g * m`. The fast part `g` follows GARCH(1,1) on one-second returns,
 *    `g ← ω + garchAlpha * r² / m + garchBeta * g`, with ω set so the long-run variance matches
 *    `volatility` after the share taken by jumps (volatility clustering). The slow part `m` is a
 *    log-normal regime of mean 1 (`log m` is an AR(1) with standard deviation `regimeSigma` and
 *    half-life `regimeHalfLife` minutes): calm and hectic hours, the slowly decaying clustering
 *    real BTC-USDT shows (a GARCH(1,1) alone clusters about half as strongly at one minute).
 *    Jumps arrive as a compound Poisson process (`jumpRate` a day, random sign, exponential size
 *    of mean `jumpSize` in log terms). `drift` adds a constant expected log-return.
 * 3. **Taker side.** With probability `sidePersistence` the taker repeats the previous side
 *    (order-flow autocorrelation: runs of buys and of sells); otherwise it buys when the efficient
 *    price rose since the last trade and sells when it fell, so the flow carries information.
 * 4. **Price.** The book is `spreadTicks` wide around the efficient price on the `tickSize` grid;
 *    buyers lift the ask, sellers hit the bid (bid-ask bounce).
 * 5. **Quantity.** Log-normal (median `qtyMedian`, log-sd `qtySigma`), with probability
 *    `qtyTailProbability` replaced by a Pareto draw of index `qtyTailIndex` starting at the body's
 *    99th percentile (block trades: a heavy tail), rounded to a positive multiple of `lotSize`.
 *
 * Time is the simulator's own clock, starting at `startTime`; nothing reads the wall clock, so the
 * same seed and params give the same trades on every run and every machine. `tsRecv` equals
 * `tsEvent`: the simulator is both the venue and the receiver, and a paced run keeps simulated
 * receive times so its output does not depend on how fast the machine is.
 *
 * ```ts
 * const sim = new MarketSimulator({ seed: 7 });
 * sim.advanceTo(sim.startTime + 3_600_000);           // one simulated hour of trades
 * sim.klines('1m', undefined, undefined, 5);         // the last 5 one-minute bars
 * sim.tradesFromId(1, 500);                          // like Binance aggTrades?fromId=1
 * ```
 */
import { z } from 'zod';
import { InvariantError, quote } from '../../errors.js';
import type { Candle, Trade } from '../../model/index.js';
import { bucketStart, intervalMs, tryCanonicalSymbol } from '../../model/index.js';
import { CandleBuilder } from '../../operators/candles/candleBuilder.js';
import { SeededRandom } from './seededRandom.js';
import { TradeHistory } from './tradeHistory.js';

const SECOND_MS = 1_000;
const DAY_MS = 86_400_000;
const YEAR_MS = 365 * DAY_MS;
const SECONDS_PER_YEAR = YEAR_MS / SECOND_MS;
/** Standard normal 99th percentile: where the heavy quantity tail takes over from the body. */
const Z_99 = 2.326_347_874;
/** Block trades are capped at this multiple of the tail's start, so one draw cannot be absurd. */
const TAIL_CAP = 1_000;
/** Most decimal places a tick or lot may have. */
const MAX_DECIMALS = 12;

/** About three days of trades at 15 a second (25 bytes each: 100 MB when full). */
export const DEFAULT_MAX_HISTORY = 4_000_000;

/** Decimal places of a grid step such as 0.01 (2) or 0.00001 (5), or undefined beyond 12. */
function decimalsOf(step: number): number | undefined {
  for (let d = 0; d <= MAX_DECIMALS; d++) {
    const scaled = step * 10 ** d;
    const units = Math.round(scaled);
    if (units >= 1 && Math.abs(scaled - units) < 1e-9 * scaled) return d;
  }
  return undefined;
}

function num(name: string, rule: string, ok: (value: number) => boolean): z.ZodNumber {
  return z
    .number({ error: (issue) => `${name} ${quote(issue.input)} must be a finite number` })
    .refine(ok, { error: (issue) => `${name} ${quote(issue.input)} must be ${rule}` });
}

function gridStep(name: string): z.ZodNumber {
  return num(name, `a positive step with at most ${MAX_DECIMALS} decimal places, e.g. 0.01`, (value) => value > 0 && decimalsOf(value) !== undefined);
}

/** ISO date or date-time (UTC unless it has an offset), or epoch ms. */
export const startTimeParam = z
  .union([z.iso.datetime({ offset: true }), z.iso.date(), z.number().int().nonnegative()], {
    error: (issue) => `startTime ${quote(issue.input)} must be an ISO date-time such as "2025-01-01T00:00:00Z", or epoch ms`,
  })
  .transform((value) => (typeof value === 'number' ? value : Date.parse(value)));

/**
 * The model's params, each with a realistic BTC-USDT default. Rates are per second unless
 * named otherwise; volatility and drift are annualised (365 days).
 *
 * The defaults were checked against Binance BTC-USDT spot klines of January 2025 (in
 * `../shared/data/binance-klines`). Over two-day windows Binance shows a realised volatility of
 * 0.33 to 0.89 (0.60 over the month), an excess kurtosis of one-minute returns of 3 to 53, an
 * autocorrelation of absolute one-minute returns of 0.15 to 0.39 at lag 1, and 0.32 BTC traded a
 * second. Two-day runs of seeds 1, 2, 3 and 42 give 0.38 to 0.65, 12 to 44, 0.15 to 0.51 and
 * 0.19 to 0.39; ten-day runs 0.49 to 0.58 of volatility and 13 to 16 trades a second. Binance
 * counted about 50 trades a second; 15 keeps the demo light (raise `tradeRate` for more).
 */
export const marketSimulatorShape = {
  /** PRNG seed: the same seed and params give the same trades. */
  seed: z
    .number()
    .refine((value) => Number.isSafeInteger(value) && value >= 0, { error: (issue) => `seed ${quote(issue.input)} must be an integer from 0 to 2^53 - 1` })
    .default(42),
  /** Canonical symbol of the trades (`BTCUSDT` and `btc/usdt` are accepted and canonicalised). */
  symbol: z
    .string()
    .refine((value) => tryCanonicalSymbol(value) !== undefined, { error: (issue) => `symbol ${quote(issue.input)} is not recognised: write it as BASE-QUOTE, e.g. "BTC-USDT"` })
    .transform((value) => tryCanonicalSymbol(value) ?? value)
    .default('BTC-USDT'),
  /** Venue name on the records. */
  venue: z.string().min(1, { error: 'venue must not be empty' }).default('sim'),
  /** Start of the simulator clock (default 2025-01-01T00:00:00Z). */
  startTime: startTimeParam.default(Date.UTC(2025, 0, 1)),
  /** First efficient price. */
  startPrice: num('startPrice', 'a positive number', (value) => value > 0).default(94_000),
  /** Annualised volatility of log returns, jumps included (0.55 = 55 %). */
  volatility: num('volatility', 'in (0, 20]', (value) => value > 0 && value <= 20).default(0.55),
  /** Annualised expected log return (0.1 = +10 % a year); 0 for none. */
  drift: num('drift', 'in [-10, 10]', (value) => value >= -10 && value <= 10).default(0),
  /** Long-run mean of trades per second. */
  tradeRate: num('tradeRate', 'in (0, 100000] trades a second', (value) => value > 0 && value <= 100_000).default(15),
  /** Hawkes branching ratio: the share of trades triggered by earlier trades (0 = Poisson arrivals). */
  excitation: num('excitation', 'in [0, 0.95]', (value) => value >= 0 && value <= 0.95).default(0.5),
  /** Decay rate of the excitation, per second (2 = a triggered trade follows within 0.5 s on average). */
  excitationDecay: num('excitationDecay', 'in (0, 1000] per second', (value) => value > 0 && value <= 1_000).default(2),
  /** How strongly the baseline trade rate follows the variance: 0 = not at all, 1 = proportionally. */
  rateVolCoupling: num('rateVolCoupling', 'in [0, 1]', (value) => value >= 0 && value <= 1).default(0.6),
  /** GARCH(1,1) reaction to the last one-second squared return. */
  garchAlpha: num('garchAlpha', 'in [0, 1)', (value) => value >= 0 && value < 1).default(0.015),
  /** GARCH(1,1) persistence of the variance, per second (0.9845 + 0.015: a shock halves in about 23 minutes). */
  garchBeta: num('garchBeta', 'in [0, 1)', (value) => value >= 0 && value < 1).default(0.9845),
  /** Standard deviation of the slow log-variance regime (0 for none; 1 moves volatility by a factor of 1.65 either way, one time in three). */
  regimeSigma: num('regimeSigma', 'in [0, 2]', (value) => value >= 0 && value <= 2).default(1),
  /** Half-life of the volatility regime, in minutes. */
  regimeHalfLife: num('regimeHalfLife', 'in (0, 100000] minutes', (value) => value > 0 && value <= 100_000).default(120),
  /** Expected jumps a day (0 for none). */
  jumpRate: num('jumpRate', 'in [0, 100000] a day', (value) => value >= 0 && value <= 100_000).default(4),
  /** Mean absolute size of a jump, as a log return (0.004 = about 0.4 %). */
  jumpSize: num('jumpSize', 'in (0, 0.5]', (value) => value > 0 && value <= 0.5).default(0.004),
  /** Probability that a taker repeats the previous taker's side. */
  sidePersistence: num('sidePersistence', 'in [0, 1)', (value) => value >= 0 && value < 1).default(0.6),
  /** Bid-ask spread in ticks. */
  spreadTicks: num('spreadTicks', 'an integer from 1 to 1000', (value) => Number.isInteger(value) && value >= 1 && value <= 1_000).default(1),
  /** Price grid step. */
  tickSize: gridStep('tickSize').default(0.01),
  /** Quantity grid step; every quantity is a positive multiple of it. */
  lotSize: gridStep('lotSize').default(0.00001),
  /** Median trade quantity (base units). */
  qtyMedian: num('qtyMedian', 'a positive number', (value) => value > 0).default(0.004),
  /** Standard deviation of the log quantity. */
  qtySigma: num('qtySigma', 'in [0, 5]', (value) => value >= 0 && value <= 5).default(1.6),
  /** Share of trades drawn from the heavy (Pareto) tail instead of the log-normal body. */
  qtyTailProbability: num('qtyTailProbability', 'in [0, 1]', (value) => value >= 0 && value <= 1).default(0.01),
  /** Pareto index of the tail: smaller is heavier (1.5: finite mean, infinite variance before the cap). */
  qtyTailIndex: num('qtyTailIndex', 'in (1, 10]', (value) => value > 1 && value <= 10).default(1.5),
};

/** The parsed model params. */
export interface MarketSimulatorParams {
  readonly seed: number;
  readonly symbol: string;
  readonly venue: string;
  readonly startTime: number;
  readonly startPrice: number;
  readonly volatility: number;
  readonly drift: number;
  readonly tradeRate: number;
  readonly excitation: number;
  readonly excitationDecay: number;
  readonly rateVolCoupling: number;
  readonly garchAlpha: number;
  readonly garchBeta: number;
  readonly regimeSigma: number;
  readonly regimeHalfLife: number;
  readonly jumpRate: number;
  readonly jumpSize: number;
  readonly sidePersistence: number;
  readonly spreadTicks: number;
  readonly tickSize: number;
  readonly lotSize: number;
  readonly qtyMedian: number;
  readonly qtySigma: number;
  readonly qtyTailProbability: number;
  readonly qtyTailIndex: number;
}

/** Annualised variance the jumps contribute: rate a year times E[J²] = 2 * jumpSize² (exponential sizes). */
function jumpVariancePerYear(params: Pick<MarketSimulatorParams, 'jumpRate' | 'jumpSize'>): number {
  return params.jumpRate * 365 * 2 * params.jumpSize * params.jumpSize;
}

/** Checks that involve several params; shared by every schema built on {@link marketSimulatorShape}. */
export function checkMarketSimulatorParams(params: MarketSimulatorParams, ctx: z.RefinementCtx): void {
  if (params.garchAlpha + params.garchBeta >= 1) {
    ctx.addIssue({
      code: 'custom',
      path: ['garchBeta'],
      message: `garchAlpha + garchBeta ("${params.garchAlpha}" + "${params.garchBeta}") must be below 1, or the variance has no long-run level`,
    });
  }
  const jumpVariance = jumpVariancePerYear(params);
  if (jumpVariance >= params.volatility * params.volatility) {
    ctx.addIssue({
      code: 'custom',
      path: ['jumpRate'],
      message: `jumps alone (jumpRate "${params.jumpRate}" a day of mean size "${params.jumpSize}") give an annualised volatility of ${Math.sqrt(jumpVariance).toFixed(3)}, which is not below volatility "${params.volatility}": lower jumpRate or jumpSize, or raise volatility`,
    });
  }
  const ticks = params.startPrice / params.tickSize;
  if (ticks < 10 || ticks > 1e12) {
    ctx.addIssue({
      code: 'custom',
      path: ['tickSize'],
      message: `startPrice "${params.startPrice}" is ${ticks.toPrecision(3)} ticks of "${params.tickSize}": use a tickSize that puts it between 10 and 1e12 ticks`,
    });
  }
}

export const marketSimulatorParams = z.strictObject(marketSimulatorShape).superRefine(checkMarketSimulatorParams);

/** Options as a library caller writes them: every model param is optional, plus the history bound. */
export type MarketSimulatorOptions = z.input<typeof marketSimulatorParams> & {
  /** Most trades kept for queries, the oldest dropped beyond it (default {@link DEFAULT_MAX_HISTORY}; 0 keeps none). */
  readonly maxHistory?: number;
};

/** A jump of the efficient price, as ground truth. */
export interface SimulatedJump {
  /** When it happened (simulator clock, epoch ms). */
  readonly time: number;
  /** Its size as a log return (0.01 = about +1 %). */
  readonly logReturn: number;
  /** Id of the first trade after it: the first price that shows it. */
  readonly tradeId: number;
}

/** What the history holds: the range of retained trades. */
export interface HistoryRange {
  readonly firstId: number;
  readonly lastId: number;
  readonly firstTime: number;
  readonly lastTime: number;
  /** Older trades dropped to respect `maxHistory`. */
  readonly dropped: number;
}

export class MarketSimulator {
  /** The resolved model params (defaults filled in). */
  readonly params: MarketSimulatorParams;
  readonly venue: string;
  readonly symbol: string;
  /** Start of the simulator clock, epoch ms. */
  readonly startTime: number;

  readonly #random: SeededRandom;
  readonly #history: TradeHistory;
  readonly #jumps: SimulatedJump[] = [];
  readonly #maxJumps: number;

  // Arrivals (rates per second).
  readonly #baseRate: number;
  readonly #coupling: number;
  readonly #decay: number;
  readonly #kick: number;
  #excess = 0;

  // Efficient price and its variance per second.
  /** The efficient (latent) price, and its log move since the last trade. */
  #price: number;
  #moveSinceTrade = 0;
  /** Variance per second of the diffusion now: the GARCH variance times the regime factor. */
  #variance: number;
  /** GARCH(1,1) variance per second, driven by regime-standardised one-second returns. */
  #garchVariance: number;
  readonly #longRunVariance: number;
  /** Log of the regime factor (an AR(1) per second), and the factor `exp(log - sigma² / 2)` (mean 1). */
  #regimeLog: number;
  #regimeFactor: number;
  readonly #regimePhi: number;
  readonly #regimeShock: number;
  readonly #regimeShift: number;
  readonly #omega: number;
  readonly #alpha: number;
  readonly #beta: number;
  readonly #driftPerMs: number;
  #clock: number;
  #secondEnd: number;
  #secondReturn = 0;

  // Jumps.
  readonly #jumpGapMs: number;
  readonly #jumpSize: number;
  #nextJumpAt: number;

  // Side, price and quantity grids.
  readonly #persistence: number;
  #lastBuy: boolean;
  readonly #priceScale: number;
  readonly #tickUnits: number;
  readonly #spreadUnits: number;
  readonly #lotScale: number;
  readonly #lotUnits: number;
  readonly #qtyMu: number;
  readonly #qtySigma: number;
  readonly #tailProbability: number;
  readonly #tailStart: number;
  readonly #tailExponent: number;

  #nextId = 1;
  #pending: Trade | undefined;
  #last: Trade | undefined;
  #advancedTo: number;

  constructor(options: MarketSimulatorOptions = {}) {
    const { maxHistory = DEFAULT_MAX_HISTORY, ...model } = options;
    if (!Number.isSafeInteger(maxHistory) || maxHistory < 0) throw new RangeError(`maxHistory ${quote(maxHistory)} must be an integer >= 0`);
    const parsed = marketSimulatorParams.safeParse(model);
    if (!parsed.success) throw new RangeError(`MarketSimulator options are invalid:\n${z.prettifyError(parsed.error)}`);
    const p: MarketSimulatorParams = parsed.data;
    this.params = p;
    this.venue = p.venue;
    this.symbol = p.symbol;
    this.startTime = p.startTime;
    this.#random = new SeededRandom(p.seed);
    this.#history = new TradeHistory(p.venue, p.symbol, maxHistory);
    this.#maxJumps = Math.max(1_000, Math.ceil(maxHistory / 1_000));

    this.#baseRate = p.tradeRate * (1 - p.excitation);
    this.#coupling = p.rateVolCoupling;
    this.#decay = p.excitationDecay;
    this.#kick = p.excitation * p.excitationDecay;

    const diffusionVariancePerYear = p.volatility * p.volatility - jumpVariancePerYear(p);
    this.#longRunVariance = diffusionVariancePerYear / SECONDS_PER_YEAR;
    this.#garchVariance = this.#longRunVariance;
    this.#regimePhi = 0.5 ** (1 / (p.regimeHalfLife * 60));
    this.#regimeShock = p.regimeSigma * Math.sqrt(1 - this.#regimePhi * this.#regimePhi);
    this.#regimeShift = (p.regimeSigma * p.regimeSigma) / 2;
    // Start in a regime drawn from its stationary law, so the start is not special.
    this.#regimeLog = p.regimeSigma * this.#random.normal();
    this.#regimeFactor = Math.exp(this.#regimeLog - this.#regimeShift);
    this.#variance = this.#garchVariance * this.#regimeFactor;
    this.#alpha = p.garchAlpha;
    this.#beta = p.garchBeta;
    this.#omega = this.#longRunVariance * (1 - p.garchAlpha - p.garchBeta);
    this.#driftPerMs = p.drift / YEAR_MS;
    this.#price = p.startPrice;
    this.#clock = p.startTime;
    this.#secondEnd = p.startTime + SECOND_MS;
    this.#advancedTo = p.startTime;

    this.#jumpGapMs = p.jumpRate > 0 ? DAY_MS / p.jumpRate : Number.POSITIVE_INFINITY;
    this.#jumpSize = p.jumpSize;
    this.#nextJumpAt = p.startTime + this.#random.exponential(this.#jumpGapMs);

    this.#persistence = p.sidePersistence;
    this.#lastBuy = this.#random.uniform() < 0.5;
    const priceDecimals = decimalsOf(p.tickSize) ?? MAX_DECIMALS;
    this.#priceScale = 10 ** priceDecimals;
    this.#tickUnits = Math.round(p.tickSize * this.#priceScale);
    this.#spreadUnits = p.spreadTicks * this.#tickUnits;
    const lotDecimals = decimalsOf(p.lotSize) ?? MAX_DECIMALS;
    this.#lotScale = 10 ** lotDecimals;
    this.#lotUnits = Math.round(p.lotSize * this.#lotScale);
    this.#qtyMu = Math.log(p.qtyMedian);
    this.#qtySigma = p.qtySigma;
    this.#tailProbability = p.qtyTailProbability;
    this.#tailStart = p.qtyMedian * Math.exp(Z_99 * p.qtySigma);
    this.#tailExponent = -1 / p.qtyTailIndex;
  }

  /** The simulator clock: the latest of the start time, the last trade and the last {@link advanceTo}. */
  now(): number {
    const last = this.#last?.tsEvent ?? this.startTime;
    return last > this.#advancedTo ? last : this.#advancedTo;
  }

  /** The last trade that happened, or undefined before the first. */
  lastTrade(): Trade | undefined {
    return this.#last;
  }

  /**
   * The trade that will happen next, without making it happen: it is not in the history and
   * the clock does not move. Calling it again returns the same record until {@link next}.
   */
  peek(): Trade {
    this.#pending ??= this.#generate();
    return this.#pending;
  }

  /** Makes the next trade happen: records it in the history and returns it. */
  next(): Trade {
    const trade = this.#pending ?? this.#generate();
    this.#pending = undefined;
    this.#history.push(trade);
    this.#last = trade;
    return trade;
  }

  /**
   * The next trade if it happens at or before `timeMs`; otherwise undefined, and the clock moves
   * to `timeMs` (the trade stays pending). Allocates nothing beyond the trade.
   */
  nextUntil(timeMs: number): Trade | undefined {
    if (this.peek().tsEvent <= timeMs) return this.next();
    if (timeMs > this.#advancedTo) this.#advancedTo = timeMs;
    return undefined;
  }

  /** Generates every trade up to and including `timeMs` and moves the clock there. */
  advanceTo(timeMs: number): Trade[] {
    const trades: Trade[] = [];
    for (let trade = this.nextUntil(timeMs); trade !== undefined; trade = this.nextUntil(timeMs)) trades.push(trade);
    return trades;
  }

  /** Jumps of the efficient price up to now, oldest first (the most recent thousands are kept). */
  jumps(): readonly SimulatedJump[] {
    const now = this.now();
    return this.#jumps.filter((jump) => jump.time <= now);
  }

  /** The retained trades, or undefined when none is (before the first trade, or `maxHistory: 0`). */
  historyRange(): HistoryRange | undefined {
    const history = this.#history;
    const firstId = history.firstId;
    const lastId = history.lastId;
    if (firstId === undefined || lastId === undefined) return undefined;
    return { firstId, lastId, firstTime: history.timeAt(0), lastTime: history.timeAt(history.size - 1), dropped: history.dropped };
  }

  /**
   * Trades with `fromMs <= tsEvent <= toMs`, oldest first, at most `limit` of them (Binance
   * aggTrades with startTime and endTime). Trades older than the retained history are not returned.
   */
  tradesBetween(fromMs: number, toMs: number, limit = Number.POSITIVE_INFINITY): Trade[] {
    const history = this.#history;
    const start = history.lowerBound(fromMs);
    const end = Math.min(history.upperBound(toMs), start + limit);
    const trades: Trade[] = [];
    for (let i = start; i < end; i++) trades.push(history.at(i));
    return trades;
  }

  /**
   * Up to `limit` trades from id `fromId` on, oldest first (Binance aggTrades with fromId). When
   * `fromId` is older than the retained history the result starts at the oldest retained trade:
   * compare the first id to tell.
   */
  tradesFromId(fromId: number, limit = 500): Trade[] {
    const history = this.#history;
    const start = history.indexOfId(fromId);
    const end = Math.min(history.size, start + limit);
    const trades: Trade[] = [];
    for (let i = start; i < end; i++) trades.push(history.at(i));
    return trades;
  }

  /**
   * Candles of `interval` built from the history with {@link CandleBuilder}, so they equal what
   * `build-candles` makes from the same trades (flat bars fill intervals without trades).
   * Bars with `startTime <= openTime <= endTime`, oldest first; with `limit`, the first `limit`
   * bars from `startTime`, or without `startTime` the last `limit` (Binance klines semantics).
   * The bar of the last trade is still forming and comes last with `closed: false`; a bar is final
   * only once a later trade exists, exactly as in `build-candles`. When old trades were dropped
   * from the history, the oldest (partial) bucket is left out.
   */
  klines(interval: string, startTime?: number, endTime?: number, limit?: number): Candle[] {
    const ms = intervalMs(interval);
    const history = this.#history;
    if (history.size === 0 || limit === 0) return [];
    let first = bucketStart(history.timeAt(0), ms);
    if (history.dropped > 0) first += ms;
    const lastBucket = bucketStart(history.timeAt(history.size - 1), ms);
    let lo = startTime === undefined ? first : Math.max(first, bucketStart(startTime + ms - 1, ms));
    let hi = endTime === undefined ? lastBucket : Math.min(lastBucket, bucketStart(endTime, ms));
    if (limit !== undefined) {
      if (startTime !== undefined) hi = Math.min(hi, lo + (limit - 1) * ms);
      else lo = Math.max(lo, hi - (limit - 1) * ms);
    }
    if (lo > hi) return [];

    // Start at the bucket of the last trade before `lo`, so flat bars before the first trade in
    // range get the right price.
    const firstInRange = history.lowerBound(lo);
    const from = firstInRange === 0 ? 0 : history.lowerBound(bucketStart(history.timeAt(firstInRange - 1), ms));
    const builder = new CandleBuilder({ interval });
    const bars: Candle[] = [];
    let last: Trade | undefined;
    for (let i = from; i < history.size; i++) {
      const trade = history.at(i);
      for (const bar of builder.add(trade)) {
        if (bar.openTime >= lo && bar.openTime <= hi) bars.push(bar);
      }
      if (bucketStart(trade.tsEvent, ms) > hi) return bars;
      last = trade;
    }
    const forming = last === undefined ? undefined : builder.forming(last);
    if (forming !== undefined && forming.openTime >= lo && forming.openTime <= hi) bars.push(forming);
    return bars;
  }

  /** Draws the next trade from the model state (the only place that consumes random numbers after construction). */
  #generate(): Trade {
    const random = this.#random;

    // 1. Waiting time (seconds) of a Hawkes process with a variance-dependent baseline.
    const base = this.#baseRate * (1 - this.#coupling + (this.#coupling * this.#variance) / this.#longRunVariance);
    // Two candidates: the next baseline arrival, and the next trade triggered by the decaying
    // excitation (which may never come: d <= 0). The decay factor exp(-decay * wait) of the
    // winner is d itself for a triggered trade, so one exp serves both the test and the decay.
    const decay = this.#decay;
    let wait = random.exponential() / base;
    let decayFactor = Math.exp(-decay * wait);
    const excess = this.#excess;
    if (excess > 0) {
      // Dassios and Zhao's D = 1 + decay * ln(U) / excess, with -ln(U) an exponential draw.
      const d = 1 - (decay * random.exponential()) / excess;
      if (d > decayFactor) {
        wait = -Math.log(d) / decay;
        decayFactor = d;
      }
    }
    this.#excess = excess * decayFactor + this.#kick;
    const target = this.#clock + wait * SECOND_MS;

    // 2. The efficient price moves to the trade time: jumps, then diffusion second by second.
    this.#moveSinceTrade = 0;
    while (this.#nextJumpAt <= target) this.#jump();
    while (this.#secondEnd <= target) {
      this.#diffuse(this.#secondEnd - this.#clock);
      this.#clock = this.#secondEnd;
      this.#endSecond();
      this.#secondEnd += SECOND_MS;
    }
    this.#diffuse(target - this.#clock);
    this.#clock = target;
    const innovation = this.#moveSinceTrade;

    // 3. Taker side: persistent, otherwise the direction of the move.
    const buy = random.uniform() < this.#persistence ? this.#lastBuy : innovation > 0;
    this.#lastBuy = buy;

    // 4. Price: the bid and ask around the efficient price, on the tick grid.
    const tickUnits = this.#tickUnits;
    const efficient = (this.#price * this.#priceScale) / tickUnits;
    let bidUnits = Math.round(efficient - this.#spreadUnits / (2 * tickUnits)) * tickUnits;
    if (bidUnits < tickUnits) bidUnits = tickUnits;
    const price = (buy ? bidUnits + this.#spreadUnits : bidUnits) / this.#priceScale;

    // 5. Quantity: log-normal body, Pareto tail, whole lots.
    let size: number;
    if (this.#tailProbability > 0 && random.uniform() < this.#tailProbability) {
      size = this.#tailStart * Math.min(TAIL_CAP, random.uniform() ** this.#tailExponent);
    } else {
      size = Math.exp(this.#qtyMu + this.#qtySigma * random.normal());
    }
    const lotUnits = this.#lotUnits;
    let lots = Math.round((size * this.#lotScale) / lotUnits);
    if (lots < 1) lots = 1;
    const qty = (lots * lotUnits) / this.#lotScale;

    const tsEvent = Math.floor(target);
    const trade: Trade = {
      type: 'trade',
      venue: this.venue,
      symbol: this.symbol,
      tsEvent,
      tsRecv: tsEvent,
      id: this.#nextId++,
      price,
      qty,
      side: buy ? 'buy' : 'sell',
    };
    if (!(price > 0 && qty > 0)) throw new InvariantError(`MarketSimulator made an invalid trade: ${JSON.stringify(trade)}`);
    return trade;
  }

  /** Closes a second: GARCH reacts to its return (standardised by the regime), the regime moves on. */
  #endSecond(): void {
    const r = this.#secondReturn;
    this.#garchVariance = this.#omega + (this.#alpha * r * r) / this.#regimeFactor + this.#beta * this.#garchVariance;
    this.#regimeLog = this.#regimePhi * this.#regimeLog + this.#regimeShock * this.#random.normal();
    this.#regimeFactor = Math.exp(this.#regimeLog - this.#regimeShift);
    this.#variance = this.#garchVariance * this.#regimeFactor;
    this.#secondReturn = 0;
  }

  /** Diffusion of the efficient price over `dtMs`; its part of this second's return feeds GARCH. */
  #diffuse(dtMs: number): void {
    const move = Math.sqrt((this.#variance * dtMs) / SECOND_MS) * this.#random.normal();
    const logReturn = move + this.#driftPerMs * dtMs;
    this.#moveSinceTrade += logReturn;
    // exp(x) by its Taylor series up to x^4 when |x| < 1e-3 (error below 1e-17, under a double's
    // rounding): diffusion steps are around 1e-5, and multiplication is cheaper and exact per IEEE 754.
    this.#price *=
      logReturn < 1e-3 && logReturn > -1e-3 ? 1 + logReturn * (1 + logReturn * (0.5 + logReturn * (1 / 6 + logReturn / 24))) : Math.exp(logReturn);
    this.#secondReturn += move;
  }

  #jump(): void {
    const random = this.#random;
    const logReturn = (random.uniform() < 0.5 ? -1 : 1) * random.exponential(this.#jumpSize);
    this.#moveSinceTrade += logReturn;
    this.#price *= Math.exp(logReturn);
    if (this.#jumps.length >= this.#maxJumps) this.#jumps.shift();
    this.#jumps.push({ time: Math.floor(this.#nextJumpAt), logReturn, tradeId: this.#nextId });
    this.#nextJumpAt += random.exponential(this.#jumpGapMs);
  }
}
