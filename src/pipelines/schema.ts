/**
 * The pipeline config: a name and a list of nodes `{ id, use, from, params }`. This schema checks
 * the structure only; each node's params are checked against its definition in `validate.ts`.
 */
import { z } from 'zod';

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export const NodeIdSchema = z.string().refine((id) => KEBAB.test(id), {
  error: (issue) => `Node id ${JSON.stringify(issue.input)} must be kebab-case (lower-case letters, digits and single dashes), e.g. "btc-candles"`,
});

export const NodeConfigSchema = z.strictObject({
  /** Unique, kebab-case: other nodes refer to it in `from`. */
  id: NodeIdSchema,
  /** The kind of source, operator or sink (`alphaflow list` shows them all). */
  use: z.string().min(1),
  /** Upstream node id(s). Sources have none; fan-in operators (consensus) take several. */
  from: z.union([NodeIdSchema, z.array(NodeIdSchema).min(1)]).optional(),
  /** Params of the kind; validated by its schema, defaults filled in. */
  params: z.record(z.string(), z.unknown()).optional(),
  /** Free text for humans. */
  description: z.string().optional(),
});

export const PipelineConfigSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  nodes: z.array(z.unknown()).min(1),
});

/** A node as an author writes it. */
export type NodeConfigInput = z.input<typeof NodeConfigSchema>;

/** A pipeline as an author writes it (YAML or JSON, or an object in code). */
export interface PipelineConfigInput {
  readonly name: string;
  readonly description?: string;
  readonly nodes: readonly NodeConfigInput[];
}
