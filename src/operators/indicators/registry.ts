/**
 * The built-in candle indicators, and the schema of an indicator item in a `features` config:
 * `{ use: rsi, period: 14 }`. Adding an indicator is a file and one line in each list below.
 */
import { z } from 'zod';
import { adxIndicator } from './adx.js';
import { atrIndicator } from './atr.js';
import { bollingerIndicator } from './bollinger.js';
import { emaIndicator } from './ema.js';
import { fibonacciIndicator } from './fibonacci.js';
import { ichimokuIndicator } from './ichimoku.js';
import type { CandleIndicator, IndicatorDefinition } from './indicator.js';
import { macdIndicator } from './macd.js';
import { rsiIndicator } from './rsi.js';
import { smaIndicator } from './sma.js';
import { stochasticIndicator } from './stochastic.js';
import { volumeProfileIndicator } from './volumeProfile.js';
import { vwapIndicator } from './vwap.js';

/** Every built-in indicator, alphabetical by kind. */
export const builtinIndicators: readonly IndicatorDefinition[] = Object.freeze([
  adxIndicator,
  atrIndicator,
  bollingerIndicator,
  emaIndicator,
  fibonacciIndicator,
  ichimokuIndicator,
  macdIndicator,
  rsiIndicator,
  smaIndicator,
  stochasticIndicator,
  volumeProfileIndicator,
  vwapIndicator,
]);

/** One indicator in a config: `use` picks the indicator, the other keys are its params. */
export const indicatorSpec = z.discriminatedUnion(
  'use',
  [
    adxIndicator.spec,
    atrIndicator.spec,
    bollingerIndicator.spec,
    emaIndicator.spec,
    fibonacciIndicator.spec,
    ichimokuIndicator.spec,
    macdIndicator.spec,
    rsiIndicator.spec,
    smaIndicator.spec,
    stochasticIndicator.spec,
    volumeProfileIndicator.spec,
    vwapIndicator.spec,
  ],
  {
    error: (issue) => {
      if (issue.note !== 'No matching discriminator') return undefined;
      const input: unknown = issue.input;
      const use = typeof input === 'object' && input !== null ? (input as { use?: unknown }).use : undefined;
      const available = builtinIndicators.map((definition) => definition.kind).join(', ');
      return use === undefined ? `Indicator needs "use"; available: ${available}` : `Unknown indicator ${JSON.stringify(use)}; available: ${available}`;
    },
  },
);
/** An indicator item as an author writes it (defaults not applied). */
export type IndicatorSpecInput = z.input<typeof indicatorSpec>;
/** An indicator item with defaults applied. */
export type IndicatorSpec = z.output<typeof indicatorSpec>;

const byKind: ReadonlyMap<string, IndicatorDefinition> = new Map(builtinIndicators.map((definition) => [definition.kind, definition]));

function definitionOf(spec: IndicatorSpec): IndicatorDefinition {
  const definition = byKind.get(spec.use);
  if (definition === undefined) throw new RangeError(`Unknown indicator "${spec.use}"`);
  return definition;
}

/** The feature names an indicator item writes. */
export function indicatorOutputs(spec: IndicatorSpec): readonly string[] {
  return definitionOf(spec).outputs(spec);
}

/** Bars an indicator item needs before every output is non-null. */
export function indicatorWarmup(spec: IndicatorSpec): number {
  return definitionOf(spec).warmup(spec);
}

/** A fresh indicator for a parsed item. */
export function createIndicator(spec: IndicatorSpec): CandleIndicator {
  return definitionOf(spec).create(spec);
}
