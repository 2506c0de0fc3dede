import type { OperatorFunction } from 'rxjs';
import { z } from 'zod';
import { defineOperator, type NodeProblem } from '../../definitions.js';
import { ConfigError, InvariantError, quote, type ConfigIssue } from '../../errors.js';
import type { Candle, Features, Flow } from '../../model/index.js';
import { flowOperator } from '../flowOperator.js';
import { adx } from './adx.js';
import { atr } from './atr.js';
import { bollinger } from './bollinger.js';
import { ema } from './ema.js';
import type { CandleIndicator } from './indicator.js';
import { macd } from './macd.js';
import { createIndicator, indicatorOutputs, indicatorSpec, type IndicatorSpec, type IndicatorSpecInput } from './registry.js';
import { rsi } from './rsi.js';
import { sma } from './sma.js';
import { stochastic } from './stochastic.js';
import { vwap } from './vwap.js';

/**
 * The indicators a `features` node computes when none are given: what the built-in voters read
 * (sma20, sma50, ema20, ema50, rsi14, macd, bb.*, atr14, stoch.*, adx, vwap).
 */
export const DEFAULT_INDICATORS: readonly IndicatorSpecInput[] = Object.freeze(
  [sma(20), sma(50), ema(20), ema(50), rsi(14), macd(), bollinger(), atr(14), stochastic(), adx(14), vwap()].map((spec) => Object.freeze(spec)),
);

export interface FeaturesOptions {
  /**
   * Also feed forming candles (`closed: false`) and emit provisional features for them
   * (default false: forming candles are skipped).
   */
  readonly includeForming?: boolean;
}

/** A feature name that more than one indicator item writes. */
interface Duplicate {
  readonly index: number;
  readonly name: string;
  readonly firstIndex: number;
}

function duplicateOutputs(specs: readonly IndicatorSpec[]): Duplicate[] {
  const owners = new Map<string, number>();
  const duplicates: Duplicate[] = [];
  specs.forEach((spec, index) => {
    for (const name of indicatorOutputs(spec)) {
      const firstIndex = owners.get(name);
      if (firstIndex === undefined) owners.set(name, index);
      else duplicates.push({ index, name, firstIndex });
    }
  });
  return duplicates;
}

function duplicateMessage(duplicate: Duplicate): string {
  return `Feature "${duplicate.name}" is already computed by indicators[${duplicate.firstIndex}]; give this indicator another name (name: ...) or remove it`;
}

function pathOf(path: readonly PropertyKey[]): string {
  return path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('');
}

/** Parses indicator items for library use: every problem at once, as a ConfigError. */
function parseIndicators(specs: readonly IndicatorSpecInput[]): readonly IndicatorSpec[] {
  const result = z.array(indicatorSpec).safeParse(specs);
  if (!result.success) {
    const issues: ConfigIssue[] = result.error.issues.map((issue) => ({ path: `indicators${pathOf(issue.path)}`, message: issue.message }));
    throw new ConfigError(issues);
  }
  const duplicates = duplicateOutputs(result.data);
  if (duplicates.length > 0) {
    throw new ConfigError(duplicates.map((duplicate) => ({ path: `indicators[${duplicate.index}]`, message: duplicateMessage(duplicate) })));
  }
  return result.data;
}

function barName(bar: Candle): string {
  const at = Number.isFinite(bar.openTime) ? new Date(bar.openTime).toISOString() : quote(bar.openTime);
  return `${bar.venue} ${bar.symbol} ${bar.interval} candle at ${at}`;
}

/** Prices and volume an indicator can use; anything else is a bug upstream, not bad venue data. */
function checkCandle(bar: Candle): void {
  for (const field of ['open', 'high', 'low', 'close'] as const) {
    const value = bar[field];
    if (!(Number.isFinite(value) && value > 0)) {
      throw new InvariantError(`features: ${barName(bar)} has ${field} ${quote(value)}; prices must be finite and positive`);
    }
  }
  if (bar.high < bar.low) throw new InvariantError(`features: ${barName(bar)} has high ${quote(bar.high)} below low ${quote(bar.low)}`);
  if (!(Number.isFinite(bar.volume) && bar.volume >= 0)) {
    throw new InvariantError(`features: ${barName(bar)} has volume ${quote(bar.volume)}; volume must be finite and not negative`);
  }
}

/** The indicators of one venue, symbol and interval, and the open time of the last bar they saw. */
interface Series {
  readonly indicators: readonly CandleIndicator[];
  lastOpenTime: number;
}

/**
 * Computes indicator values from candles: one `features` record per closed candle, holding every
 * indicator's outputs by name (`null` while an indicator warms up), with the candle itself.
 *
 *   candles:  --a--b--c--|      (closed bars)
 *   features: --A--B--C--|      (A.values = { sma20: null, rsi14: null, ... } until warmed up)
 *
 * Each venue, symbol and interval has its own indicators, so several series may share a stream.
 * Forming candles (`closed: false`) are skipped unless `includeForming` is set; then each one
 * updates the indicators and emits provisional features (`closed: false`). The first update of a
 * bar adds it; later updates with the same open time (forming or final) replace it, so a bar's
 * final values equal those of adding its final version alone. A candle older than the last one of
 * its series, a non-finite or non-positive price, or high below low is a broken invariant: the
 * stream errors with an InvariantError. Control events pass through in order and do not reset the
 * indicators (they compute across a gap, as a chart does).
 *
 * @param specs indicator items, e.g. `[sma(20), rsi(14), { use: 'macd' }]` (default
 * {@link DEFAULT_INDICATORS}); invalid items or two items writing the same name throw a ConfigError.
 * @see docs/indicators.md for every indicator, its outputs and warm-up.
 */
export function features(
  specs: readonly IndicatorSpecInput[] = DEFAULT_INDICATORS,
  options: FeaturesOptions = {},
): OperatorFunction<Flow<Candle>, Flow<Features>> {
  const parsed = parseIndicators(specs);
  const includeForming = options.includeForming ?? false;
  return flowOperator<Candle, Features>({
    name: 'features',
    accepts: ['candle'],
    setup: (out) => {
      const series = new Map<string, Series>();
      return {
        next: (bar) => {
          checkCandle(bar);
          if (!bar.closed && !includeForming) return;
          const key = `${bar.venue}\u0000${bar.symbol}\u0000${bar.interval}`;
          let state = series.get(key);
          if (state === undefined) {
            state = { indicators: parsed.map(createIndicator), lastOpenTime: Number.NEGATIVE_INFINITY };
            series.set(key, state);
          }
          if (bar.openTime < state.lastOpenTime) {
            throw new InvariantError(
              `features: ${barName(bar)} arrived after the bar at ${new Date(state.lastOpenTime).toISOString()}; candles of a series must come in open-time order`,
            );
          }
          const replace = bar.openTime === state.lastOpenTime;
          state.lastOpenTime = bar.openTime;
          const values: Record<string, number | null> = {};
          for (const indicator of state.indicators) {
            indicator.update(bar, replace);
            indicator.write(values);
          }
          const record: Features = {
            type: 'features',
            venue: bar.venue,
            symbol: bar.symbol,
            tsEvent: bar.tsEvent,
            tsRecv: bar.tsRecv,
            interval: bar.interval,
            openTime: bar.openTime,
            closeTime: bar.closeTime,
            closed: bar.closed,
            candle: bar,
            values: Object.freeze(values),
          };
          out.next(Object.freeze(record));
        },
      };
    },
  });
}

export const featuresParams = z.strictObject({
  indicators: z.array(indicatorSpec).min(1).prefault([...DEFAULT_INDICATORS]),
  includeForming: z.boolean().default(false),
});

export const featuresOperator = defineOperator({
  kind: 'features',
  summary: 'Indicator values per closed candle (SMA, EMA, RSI, MACD, Bollinger, ATR, stochastic, ADX, Ichimoku, Fibonacci, VWAP, volume profile)',
  params: featuresParams,
  input: 'candle',
  output: 'features',
  check: (params): readonly NodeProblem[] =>
    duplicateOutputs(params.indicators).map((duplicate) => ({ path: `params.indicators[${duplicate.index}]`, message: duplicateMessage(duplicate) })),
  describe: (params, inputs) => {
    const interval = inputs[0]?.interval;
    return { features: params.indicators.flatMap(indicatorOutputs), ...(interval === undefined ? {} : { interval }) };
  },
  create: (params) => features(params.indicators, { includeForming: params.includeForming }),
});
