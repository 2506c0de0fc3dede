/**
 * Human and JSON descriptions of what a registry holds, for `alphaflow list`, and of a validated
 * graph, for `alphaflow validate`.
 */
import { z } from 'zod';
import type { Definition, Registry, Role } from '../definitions.js';
import { acceptedPorts } from '../definitions.js';
import type { ValidatedPipeline } from './validate.js';

export interface ParamDescription {
  readonly name: string;
  readonly type: string;
  readonly required: boolean;
  readonly default?: unknown;
  readonly description?: string;
}

export interface KindDescription {
  readonly kind: string;
  readonly role: Role | 'indicator';
  readonly summary: string;
  readonly input?: string;
  readonly output?: string;
  readonly params: readonly ParamDescription[];
}

/** A catalog entry that is not a pipeline node (e.g. an indicator inside `features`). */
export interface CatalogEntry {
  readonly kind: string;
  readonly summary: string;
  readonly params: z.ZodType;
}

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

function typeOf(schema: JsonSchema): string {
  if (schema.enum !== undefined) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const union = schema.anyOf ?? schema.oneOf;
  if (union !== undefined) return [...new Set(union.map(typeOf))].join(' | ');
  if (schema.type === 'array') {
    const item = schema.items === undefined ? 'unknown' : typeOf(schema.items);
    return item.includes('|') ? `(${item})[]` : `${item}[]`;
  }
  if (Array.isArray(schema.type)) return schema.type.join(' | ');
  return schema.type ?? 'unknown';
}

/** The params of a schema: name, type, whether required, default. */
export function describeParams(params: z.ZodType): ParamDescription[] {
  let json: JsonSchema;
  try {
    json = z.toJSONSchema(params, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  } catch {
    return [];
  }
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, schema]) => ({
    name,
    type: typeOf(schema),
    required: required.has(name) && schema.default === undefined,
    ...(schema.default === undefined ? {} : { default: schema.default }),
    ...(schema.description === undefined ? {} : { description: schema.description }),
  }));
}

function describeDefinition(definition: Definition): KindDescription {
  const ports =
    definition.role === 'source'
      ? { output: definition.output }
      : definition.role === 'operator'
        ? { input: acceptedPorts(definition.input).join(' | '), output: definition.output }
        : { input: acceptedPorts(definition.input).join(' | ') };
  return { kind: definition.kind, role: definition.role, summary: definition.summary, ...ports, params: describeParams(definition.params) };
}

/** Every kind of the registry (and extra catalogs such as indicators), grouped by role. */
export function describeRegistry(registry: Registry, indicators: readonly CatalogEntry[] = []): KindDescription[] {
  const order: Record<string, number> = { source: 0, operator: 1, indicator: 2, sink: 3 };
  return [
    ...[...registry.values()].map(describeDefinition),
    ...indicators.map((entry) => ({ kind: entry.kind, role: 'indicator' as const, summary: entry.summary, params: describeParams(entry.params) })),
  ].sort((a, b) => (order[a.role] ?? 9) - (order[b.role] ?? 9) || a.kind.localeCompare(b.kind));
}

const HEADINGS: Record<KindDescription['role'], string> = {
  source: 'Sources',
  operator: 'Operators',
  indicator: 'Indicators (inside a "features" node: indicators: [{ use: <kind>, ...params }])',
  sink: 'Sinks',
};

/** A default as JSON, with lists of `{ use, ...params }` items shortened to `sma(period=20)`. */
function formatDefault(value: unknown): string {
  if (Array.isArray(value) && value.every((item) => item !== null && typeof item === 'object' && 'use' in item)) {
    return `[${value
      .map((item: Record<string, unknown>) => {
        const params = Object.entries(item).filter(([key]) => key !== 'use');
        return `${String(item.use)}(${params.map(([key, v]) => `${key}=${JSON.stringify(v)}`).join(', ')})`;
      })
      .join(', ')}]`;
  }
  return JSON.stringify(value);
}

/** The `alphaflow list` text. */
export function formatCatalog(kinds: readonly KindDescription[]): string {
  const lines: string[] = [];
  let role: string | undefined;
  for (const kind of kinds) {
    if (kind.role !== role) {
      role = kind.role;
      lines.push('', HEADINGS[kind.role], '');
    }
    const ports = [kind.input === undefined ? '' : `in: ${kind.input}`, kind.output === undefined ? '' : `out: ${kind.output}`].filter((p) => p !== '').join(', ');
    lines.push(`  ${kind.kind}${ports === '' ? '' : `  (${ports})`}`, `      ${kind.summary}`);
    for (const param of kind.params) {
      const value = param.required ? 'required' : param.default === undefined ? 'optional' : `default ${formatDefault(param.default)}`;
      lines.push(`      - ${param.name}: ${param.type}  [${value}]${param.description === undefined ? '' : `  ${param.description}`}`);
    }
  }
  return lines.join('\n').trimStart();
}

/** The `alphaflow validate` text: every node with its kind, inputs and output port. */
export function formatGraph(graph: ValidatedPipeline, file: string): string {
  const width = Math.max(...graph.nodes.map((node) => node.id.length));
  const lines = graph.nodes.map((node) => {
    const from = node.from.length === 0 ? '' : ` ← ${node.from.join(', ')}`;
    const port = node.port === undefined ? '' : ` → ${node.port.type}${node.port.interval === undefined ? '' : ` ${node.port.interval}`}`;
    return `  ${node.id.padEnd(width)}  ${node.kind}${from}${port}`;
  });
  return [`✓ ${file} is valid: pipeline "${graph.name}", ${graph.nodes.length} nodes`, ...lines].join('\n');
}
