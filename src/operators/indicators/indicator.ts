/**
 * The shape every candle indicator has: a pure, synchronous accumulator that the `features`
 * operator feeds bar by bar, and a definition that describes its params, outputs and warm-up.
 *
 * An indicator never sees the future: the values it writes after `update(bar)` depend only on that
 * bar and the bars before it. Replace semantics: `update(bar, true)` overwrites the last bar fed
 * (a forming bar's later version, or its final version), so that a sequence of updates of one bar
 * ends in exactly the state that adding only its last version gives.
 */
import { z } from 'zod';
import type { Candle } from '../../model/index.js';

/** A streaming indicator over candles. State lives in the instance; create one per series. */
export interface CandleIndicator {
  /**
   * Feeds a bar. `replace: false` adds a new bar; `replace: true` overwrites the last bar fed
   * (same open time). A replace before any bar was added acts as an add.
   */
  update(bar: Candle, replace: boolean): void;
  /** Writes the current outputs under the indicator's output names; `null` while warming up. */
  write(values: Record<string, number | null>): void;
}

/** Every indicator's params carry an optional `name` that renames its outputs. */
export type IndicatorShape = z.core.$ZodShape & { readonly name: z.ZodOptional<z.ZodString> };

/** Parsed params of an indicator (defaults applied). */
export type IndicatorParams<Shape extends IndicatorShape> = z.output<z.ZodObject<Shape, z.core.$strict>>;

export interface IndicatorDefinitionInput<K extends string, Shape extends IndicatorShape> {
  /** The `use` value in a config, kebab-case: `rsi`, `volume-profile`. */
  readonly kind: K;
  /** One line for docs and `alphaflow list`. */
  readonly summary: string;
  /** Strict params with defaults, without `use`; must include the optional `name`. */
  readonly params: z.ZodObject<Shape, z.core.$strict>;
  /** The feature names this indicator writes, in order. */
  outputs(params: IndicatorParams<Shape>): readonly string[];
  /** Bars fed before every output is non-null (0 when the first bar already gives values). */
  warmup(params: IndicatorParams<Shape>): number;
  /** A fresh indicator with its own state. */
  create(params: IndicatorParams<Shape>): CandleIndicator;
}

/** Infers the types of an indicator definition and derives its config item schema, `spec`. */
export function defineIndicator<const K extends string, Shape extends IndicatorShape>(definition: IndicatorDefinitionInput<K, Shape>) {
  // The config item: `{ use: kind, ...params }`, strict like the params.
  const spec = definition.params.extend({ use: z.literal(definition.kind) });
  return { ...definition, spec };
}

/** A defined indicator: its input plus `spec`, the schema of its config item. */
export type IndicatorDefinition<K extends string = string, Shape extends IndicatorShape = IndicatorShape> = ReturnType<
  typeof defineIndicator<K, Shape>
>;

/** The optional `name` param: renames a single output, or the prefix before the dot of several. */
export const nameParam = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, { error: (issue) => `Feature name ${JSON.stringify(issue.input)} must start with a letter or _ and hold only letters, digits, _ and -` })
  .optional();

/** A period in bars: a positive integer up to 10,000 (windows are held in memory). */
export function periodParam(defaultValue: number): z.ZodDefault<z.ZodNumber> {
  return z.number().int().min(1).max(10_000).default(defaultValue);
}
