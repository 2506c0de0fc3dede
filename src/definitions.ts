/**
 * One definition shape for every registrable unit (STYLE.md R2): a kebab-case `kind`, a one-line
 * `summary`, a strict zod `params` schema and `create(params, ctx)`. Sources create Observables,
 * operators create OperatorFunctions, sinks create OperatorFunctions that end in deliveries.
 *
 * Ports are structural: `output` of the upstream node must be accepted by `input` of this one.
 * The compiler reads these declared properties and never switches on a kind.
 */
import type { Observable, OperatorFunction } from 'rxjs';
import type { z } from 'zod';
import type { NodeContext } from './context.js';
import { DuplicateKindError } from './errors.js';
import type { Delivery } from './model/index.js';
import { DATA_TYPES } from './model/index.js';

export const PORT_TYPES = [...DATA_TYPES, 'any'] as const;

/** The record type on an edge; `any` accepts (or emits) every type. */
export type PortType = (typeof PORT_TYPES)[number];

/** What the compiler knows about the stream on an edge. */
export interface PortInfo {
  readonly type: PortType;
  /** Candle interval on `candle` and `features` ports, when known. */
  readonly interval?: string;
  /** Feature names computed upstream: on a `features` port, and passed along by voters and consensus. */
  readonly features?: readonly string[];
}

/** A problem a definition finds with its params or inputs; `path` is relative to the node (`params.fast`). */
export interface NodeProblem {
  readonly path: string;
  readonly message: string;
}

interface DefinitionBase<S extends z.ZodType> {
  /** Registry name, kebab-case and unique across roles: `build-candles`. */
  readonly kind: string;
  /** One line for `alphaflow list`. */
  readonly summary: string;
  /** Strict schema with defaults; the compiler parses params with it before anything starts. */
  readonly params: S;
}

export interface SourceDefinition<S extends z.ZodType = z.ZodType, Out = unknown> extends DefinitionBase<S> {
  readonly role: 'source';
  readonly output: PortType;
  /** Port details that depend on params, e.g. the interval of a kline file. */
  describe?(params: z.output<S>): Partial<PortInfo>;
  /** A cold Observable: nothing opens until it is subscribed, and unsubscribing releases it all. */
  create(params: z.output<S>, ctx: NodeContext): Observable<Out>;
}

export interface OperatorDefinition<S extends z.ZodType = z.ZodType, In = never, Out = unknown> extends DefinitionBase<S> {
  readonly role: 'operator';
  /** Accepted port types. */
  readonly input: PortType | readonly PortType[];
  readonly output: PortType;
  /** `many` for fan-in operators (consensus) that take several upstream nodes, merged. */
  readonly arity?: 'one' | 'many';
  /** Problems the port types alone cannot show (a feature a voter needs is not computed upstream). */
  check?(params: z.output<S>, inputs: readonly PortInfo[]): readonly NodeProblem[];
  /** Port details of the output, from params and inputs. */
  describe?(params: z.output<S>, inputs: readonly PortInfo[]): Partial<PortInfo>;
  create(params: z.output<S>, ctx: NodeContext): OperatorFunction<In, Out>;
}

export interface SinkDefinition<S extends z.ZodType = z.ZodType, In = never> extends DefinitionBase<S> {
  readonly role: 'sink';
  readonly input: PortType | readonly PortType[];
  /** Side effects happen inside the stream: one delivery out per record in. */
  create(params: z.output<S>, ctx: NodeContext): OperatorFunction<In, Delivery>;
}

export type Definition = SourceDefinition | OperatorDefinition | SinkDefinition;
export type Role = Definition['role'];

/** Infers the types of a source definition. */
export function defineSource<S extends z.ZodType, Out>(definition: Omit<SourceDefinition<S, Out>, 'role'>): SourceDefinition<S, Out> {
  return { ...definition, role: 'source' };
}

/** Infers the types of an operator definition. */
export function defineOperator<S extends z.ZodType, In, Out>(
  definition: Omit<OperatorDefinition<S, In, Out>, 'role'>,
): OperatorDefinition<S, In, Out> {
  return { ...definition, role: 'operator' };
}

/** Infers the types of a sink definition. */
export function defineSink<S extends z.ZodType, In>(definition: Omit<SinkDefinition<S, In>, 'role'>): SinkDefinition<S, In> {
  return { ...definition, role: 'sink' };
}

/** Every kind, across roles, to its definition. */
export type Registry = ReadonlyMap<string, Definition>;

/** Builds a registry; a kind registered twice throws {@link DuplicateKindError}. */
export function createRegistry(definitions: readonly Definition[]): Registry {
  const registry = new Map<string, Definition>();
  for (const definition of definitions) {
    if (registry.has(definition.kind)) throw new DuplicateKindError(definition.kind, definition.role);
    registry.set(definition.kind, definition);
  }
  return registry;
}

/** The accepted port types of an input declaration, as a list. */
export function acceptedPorts(input: PortType | readonly PortType[]): readonly PortType[] {
  return typeof input === 'string' ? [input] : input;
}

/** True when a stream of `output` may feed an input that accepts `accepted`. */
export function portAccepts(accepted: PortType | readonly PortType[], output: PortType): boolean {
  const list = acceptedPorts(accepted);
  return list.includes('any') || list.includes(output);
}
