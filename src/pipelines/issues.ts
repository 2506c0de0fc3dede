/**
 * Turns zod issues into config issues that name the path and quote the offending value, with a
 * "did you mean" for misspelt keys and kinds.
 */
import { z } from 'zod';
import type { ConfigIssue } from '../errors.js';
import { quote } from '../errors.js';

/** Renders a zod path as `nodes[2].params.period`, prefixed by `prefix`. */
export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** Edit distance between two short strings (Levenshtein). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

/** The closest candidate to `word`, if it is close enough to be a likely typo. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** Unwraps defaults, optionals and pipes to the schema that holds the shape. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (let i = 0; i < 10; i++) {
    if (current instanceof z.ZodDefault || current instanceof z.ZodOptional || current instanceof z.ZodNullable) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      return current;
    }
  }
  return current;
}

/** The keys an object schema at `path` allows, following arrays and discriminated unions by the input. */
function allowedKeysAt(schema: z.ZodType, path: readonly PropertyKey[], input: unknown): readonly string[] | undefined {
  let current = unwrap(schema);
  let value: unknown = input;
  for (const key of path) {
    if (current instanceof z.ZodObject) {
      const shape = current.shape as Record<string, z.ZodType>;
      const next = shape[String(key)];
      if (next === undefined) return undefined;
      current = unwrap(next);
    } else if (current instanceof z.ZodArray) {
      current = unwrap(current.element as z.ZodType);
    } else if (current instanceof z.ZodRecord) {
      current = unwrap(current.valueType as z.ZodType);
    } else {
      return undefined;
    }
    value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
    current = pickUnionOption(current, value);
  }
  current = pickUnionOption(current, value);
  return current instanceof z.ZodObject ? Object.keys(current.shape) : undefined;
}

function pickUnionOption(schema: z.ZodType, value: unknown): z.ZodType {
  if (!(schema instanceof z.ZodDiscriminatedUnion)) return schema;
  const discriminator = (schema.def as { discriminator: string }).discriminator;
  const tag = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[discriminator] : undefined;
  for (const option of schema.options as readonly z.ZodType[]) {
    const inner = unwrap(option);
    if (inner instanceof z.ZodObject) {
      const field = (inner.shape as Record<string, z.ZodType>)[discriminator];
      if (field instanceof z.ZodLiteral && field.values.has(tag as never)) return inner;
    }
  }
  return schema;
}

function describeInput(input: unknown): string {
  return input === undefined ? 'missing' : quote(input);
}

/** zod's own messages start like this; anything else was written by a schema and is kept as is. */
const ZOD_DEFAULT_MESSAGE = /^(Invalid|Too (small|big)|Unrecognized)/;

/** One config issue per zod issue, paths prefixed, values quoted. */
export function configIssuesFromZod(
  issues: readonly z.core.$ZodIssue[],
  options: { prefix?: string; schema?: z.ZodType; input?: unknown } = {},
): ConfigIssue[] {
  const prefix = options.prefix ?? '';
  return issues.map((issue) => {
    const path = formatPath(prefix, issue.path);
    const input = (issue as { input?: unknown }).input;
    if (issue.code !== 'unrecognized_keys' && !ZOD_DEFAULT_MESSAGE.test(issue.message)) return { path, message: issue.message };
    switch (issue.code) {
      case 'unrecognized_keys': {
        const allowed = options.schema === undefined ? undefined : allowedKeysAt(options.schema, issue.path, options.input);
        const messages = issue.keys.map((key) => {
          const hint = allowed === undefined ? undefined : didYouMean(key, allowed);
          const known = allowed === undefined ? '' : ` Allowed: ${allowed.join(', ')}.`;
          return `Unknown key "${key}".${hint === undefined ? '' : ` Did you mean "${hint}"?`}${known}`;
        });
        return { path, message: messages.join(' ') };
      }
      case 'invalid_type':
        return {
          path,
          message: input === undefined ? `Required: expected ${issue.expected}` : `Expected ${issue.expected}, got ${describeInput(input)}`,
        };
      case 'too_small':
        if (issue.origin === 'array' && Array.isArray(input)) {
          return { path, message: `Needs at least ${String(issue.minimum)} item${issue.minimum === 1 ? '' : 's'}, got ${input.length}` };
        }
        if (issue.origin === 'string' && typeof input === 'string') {
          return { path, message: `${describeInput(input)} is too short: at least ${String(issue.minimum)} character${issue.minimum === 1 ? '' : 's'}` };
        }
        return { path, message: `${describeInput(input)} is too small: must be ${issue.inclusive === true ? '>=' : '>'} ${String(issue.minimum)}` };
      case 'too_big':
        return { path, message: `${describeInput(input)} is too big: must be ${issue.inclusive === true ? '<=' : '<'} ${String(issue.maximum)}` };
      case 'invalid_value':
        return { path, message: `${describeInput(input)} is not allowed: expected one of ${issue.values.map((v) => quote(v)).join(' | ')}` };
      case 'invalid_union': {
        const union = issue as { discriminator?: string; options?: readonly unknown[] };
        if (union.discriminator !== undefined && union.options !== undefined) {
          const names = union.options.map(String);
          const given = input !== null && typeof input === 'object' ? (input as Record<string, unknown>)[union.discriminator] : input;
          const hint = typeof given === 'string' ? didYouMean(given, names) : undefined;
          return {
            path,
            message: `Unknown ${union.discriminator} ${describeInput(given)}.${hint === undefined ? '' : ` Did you mean "${hint}"?`} Available: ${names.join(', ')}`,
          };
        }
        return { path, message: `${describeInput(input)} matches none of the allowed forms` };
      }
      case 'invalid_format':
        return { path, message: `${describeInput(input)} is not a valid ${issue.format}` };
      default:
        return { path, message: input === undefined ? issue.message : `${issue.message} (got ${describeInput(input)})` };
    }
  });
}
