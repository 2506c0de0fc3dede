/**
 * fast-check generators of valid candle series: positive finite prices from 1e-6 to 1e7, high and
 * low around the body, flat bars and zero-volume bars included.
 */
import fc from 'fast-check';
import type { Candle } from '../../../src/model/index.js';
import { candle, MINUTE, T0 } from '../../support/builders.js';

export interface BarShape {
  /** Close over open - 1. */
  readonly move: number;
  /** High above the body and low below it, as fractions. */
  readonly up: number;
  readonly down: number;
  readonly volume: number;
}

const flat: BarShape = { move: 0, up: 0, down: 0, volume: 0 };

export const barShape: fc.Arbitrary<BarShape> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(flat) },
  {
    weight: 6,
    arbitrary: fc.record({
      move: fc.double({ min: -0.3, max: 0.3, noNaN: true }),
      up: fc.double({ min: 0, max: 0.2, noNaN: true }),
      down: fc.double({ min: 0, max: 0.2, noNaN: true }),
      volume: fc.oneof(fc.constant(0), fc.double({ min: 1e-8, max: 1e9, noNaN: true })),
    }),
  },
);

export const startPrice: fc.Arbitrary<number> = fc.oneof(fc.constant(1e-6), fc.constant(93_000), fc.double({ min: 1e-6, max: 1e7, noNaN: true }));

/** The candle at `index` of a minute series, opening at `open`. */
export function shapeBar(index: number, open: number, shape: BarShape): Candle {
  const close = open * (1 + shape.move);
  return candle({
    openTime: T0 + index * MINUTE,
    closeTime: T0 + (index + 1) * MINUTE - 1,
    open,
    close,
    high: Math.max(open, close) * (1 + shape.up),
    low: Math.min(open, close) * (1 - shape.down),
    volume: shape.volume,
  });
}

/** A series of bars, each opening at the previous close. */
export function barSeries(start: number, shapes: readonly BarShape[]): Candle[] {
  const bars: Candle[] = [];
  let open = start;
  shapes.forEach((shape, index) => {
    const bar = shapeBar(index, open, shape);
    bars.push(bar);
    open = bar.close;
  });
  return bars;
}

export const candleSeries = (maxLength: number): fc.Arbitrary<Candle[]> =>
  fc.tuple(startPrice, fc.array(barShape, { minLength: 1, maxLength })).map(([start, shapes]) => barSeries(start, shapes));
