/**
 * Two-phase validation of a pipeline config (STYLE.md R6). Every problem is collected before
 * anything starts, each with its config path and the offending value:
 *
 * 1. Structure: strict keys, kebab-case unique ids, known kinds (listing the valid ones), every
 *    `from` naming an existing node, no cycles.
 * 2. Per node: params parsed by the kind's schema (defaults filled in), the role's input rules
 *    (sources take none, single-input operators take one), ports matching along every edge, and
 *    the definition's own checks (a voter's feature missing upstream).
 */
import type { Definition, PortInfo, Registry, Role } from '../definitions.js';
import { acceptedPorts, portAccepts } from '../definitions.js';
import type { ConfigIssue } from '../errors.js';
import { ConfigError, quote } from '../errors.js';
import { configIssuesFromZod, didYouMean } from './issues.js';
import { NodeConfigSchema, PipelineConfigSchema } from './schema.js';

export interface ValidatedNode {
  /** Position in the config's `nodes`, for error paths. */
  readonly index: number;
  readonly id: string;
  readonly kind: string;
  readonly definition: Definition;
  readonly from: readonly string[];
  /** Params after parsing: defaults filled in. */
  readonly params: unknown;
  /** What the node emits; undefined for sinks. */
  readonly port: PortInfo | undefined;
}

export interface ValidatedPipeline {
  readonly name: string;
  readonly description: string | undefined;
  /** Nodes in topological order: every node after the nodes it reads from. */
  readonly nodes: readonly ValidatedNode[];
}

interface ParsedNode {
  readonly index: number;
  readonly id: string;
  readonly use: string;
  readonly from: readonly string[];
  readonly params: Record<string, unknown>;
}

const ROLE_LABEL: Record<Role, string> = { source: 'sources', operator: 'operators', sink: 'sinks' };

function availableKinds(registry: Registry): string {
  const groups = new Map<Role, string[]>();
  for (const definition of registry.values()) {
    const list = groups.get(definition.role) ?? [];
    list.push(definition.kind);
    groups.set(definition.role, list);
  }
  return (['source', 'operator', 'sink'] as const)
    .filter((role) => groups.has(role))
    .map((role) => `${ROLE_LABEL[role]}: ${(groups.get(role) ?? []).sort().join(', ')}`)
    .join('; ');
}

function portLabel(port: PortInfo): string {
  return port.type === 'any' ? 'records of any type' : `${port.type} records`;
}

/** Validates `raw` against `registry`; throws one ConfigError listing every problem. */
export function validatePipeline(raw: unknown, registry: Registry, options: { file?: string } = {}): ValidatedPipeline {
  const issues: ConfigIssue[] = [];
  const fail = (): never => {
    throw new ConfigError(issues, options.file === undefined ? {} : { file: options.file });
  };

  // Phase 1: structure.
  const top = PipelineConfigSchema.safeParse(raw, { reportInput: true });
  if (!top.success) {
    issues.push(...configIssuesFromZod(top.error.issues, { schema: PipelineConfigSchema, input: raw }));
    const nodesValue = raw !== null && typeof raw === 'object' ? (raw as { nodes?: unknown }).nodes : undefined;
    if (!Array.isArray(nodesValue)) fail();
  }
  const rawNodes: readonly unknown[] = top.success ? top.data.nodes : ((raw as { nodes: unknown[] }).nodes);

  const parsed: ParsedNode[] = [];
  const firstIndexOf = new Map<string, number>();
  rawNodes.forEach((rawNode, index) => {
    const result = NodeConfigSchema.safeParse(rawNode, { reportInput: true });
    if (!result.success) {
      issues.push(...configIssuesFromZod(result.error.issues, { prefix: `nodes[${index}]`, schema: NodeConfigSchema, input: rawNode }));
      const id = rawNode !== null && typeof rawNode === 'object' ? (rawNode as { id?: unknown }).id : undefined;
      // Keep the id known, so nodes that read from it are not reported as dangling too.
      if (typeof id === 'string' && !firstIndexOf.has(id)) firstIndexOf.set(id, index);
      return;
    }
    const node = result.data;
    const first = firstIndexOf.get(node.id);
    if (first !== undefined) {
      issues.push({ path: `nodes[${index}].id`, message: `Duplicate node id "${node.id}" (already used by nodes[${first}])` });
      return;
    }
    firstIndexOf.set(node.id, index);
    const from = node.from === undefined ? [] : typeof node.from === 'string' ? [node.from] : node.from;
    parsed.push({ index, id: node.id, use: node.use, from, params: node.params ?? {} });
  });

  const ids = [...firstIndexOf.keys()];
  const byId = new Map(parsed.map((node) => [node.id, node]));
  for (const node of parsed) {
    node.from.forEach((ref, j) => {
      const path = `nodes[${node.index}].from${node.from.length === 1 && j === 0 ? '' : `[${j}]`}`;
      if (ref === node.id) {
        issues.push({ path, message: `Node "${node.id}" reads from itself` });
      } else if (!firstIndexOf.has(ref)) {
        const hint = didYouMean(ref, ids);
        issues.push({
          path,
          message: `Node "${node.id}" reads from "${ref}", which does not exist.${hint === undefined ? '' : ` Did you mean "${hint}"?`} Nodes: ${ids.join(', ')}`,
        });
      }
    });
    if (!registry.has(node.use)) {
      const hint = didYouMean(node.use, [...registry.keys()]);
      issues.push({
        path: `nodes[${node.index}].use`,
        message: `Unknown kind "${node.use}" (node "${node.id}").${hint === undefined ? '' : ` Did you mean "${hint}"?`} Available ${availableKinds(registry)}`,
      });
    }
  }

  const order = topologicalOrder(parsed, byId, issues);

  // Phase 2: per node, in topological order so that every node sees its inputs' ports.
  const ports = new Map<string, PortInfo>();
  const validated: ValidatedNode[] = [];
  for (const node of order) {
    const definition = registry.get(node.use);
    if (definition === undefined) continue;
    const paramsResult = definition.params.safeParse(node.params, { reportInput: true });
    if (!paramsResult.success) {
      issues.push(...configIssuesFromZod(paramsResult.error.issues, { prefix: `nodes[${node.index}].params`, schema: definition.params, input: node.params }));
    }
    const roleOk = checkRole(node, definition, issues);
    const inputPorts = node.from.map((ref) => ports.get(ref));
    const inputsKnown = inputPorts.every((port) => port !== undefined);
    if (!paramsResult.success || !roleOk) continue;
    const params: unknown = paramsResult.data;

    let port: PortInfo | undefined;
    if (definition.role === 'source') {
      port = { type: definition.output, ...definition.describe?.(params) };
    } else if (inputsKnown) {
      const inputs: readonly PortInfo[] = inputPorts;
      let portsOk = true;
      for (const [j, input] of inputs.entries()) {
        if (!portAccepts(definition.input, input.type)) {
          portsOk = false;
          const upstream = byId.get(node.from[j] ?? '');
          const accepts = acceptedPorts(definition.input).join(' or ');
          const advice = input.type === 'any' ? ' (filter them with a "select" node, or set "types" on the source)' : '';
          issues.push({
            path: `nodes[${node.index}].from${node.from.length === 1 ? '' : `[${j}]`}`,
            message: `Node "${node.id}" (${definition.kind}) takes ${accepts} records, but "${upstream?.id ?? ''}" (${upstream?.use ?? ''}) emits ${portLabel(input)}${advice}`,
          });
        }
      }
      if (!portsOk) continue;
      const problems = definition.role === 'operator' ? (definition.check?.(params, inputs) ?? []) : [];
      for (const problem of problems) issues.push({ path: `nodes[${node.index}]${problem.path === '' ? '' : `.${problem.path}`}`, message: problem.message });
      if (problems.length > 0) continue;
      if (definition.role === 'operator') port = { type: definition.output, ...definition.describe?.(params, inputs) };
    } else {
      continue;
    }
    if (port !== undefined) ports.set(node.id, port);
    validated.push({ index: node.index, id: node.id, kind: node.use, definition, from: node.from, params, port });
  }

  if (issues.length > 0) fail();
  const description = raw !== null && typeof raw === 'object' ? (raw as { description?: unknown }).description : undefined;
  return {
    name: (raw as { name: string }).name,
    description: typeof description === 'string' ? description : undefined,
    nodes: validated,
  };
}

function checkRole(node: ParsedNode, definition: Definition, issues: ConfigIssue[]): boolean {
  const path = `nodes[${node.index}].from`;
  if (definition.role === 'source') {
    if (node.from.length > 0) {
      issues.push({ path, message: `Node "${node.id}" is a source (${definition.kind}) and takes no input: remove "from"` });
      return false;
    }
    return true;
  }
  if (node.from.length === 0) {
    issues.push({ path, message: `Node "${node.id}" (${definition.kind}) needs an input: set "from" to the id of the node it reads` });
    return false;
  }
  const arity = definition.role === 'operator' ? (definition.arity ?? 'one') : 'one';
  if (arity === 'one' && node.from.length > 1) {
    issues.push({
      path,
      message: `Node "${node.id}" (${definition.kind}) takes one input, got ${node.from.length}: ${node.from.map((id) => quote(id)).join(', ')}`,
    });
    return false;
  }
  return true;
}

/** Every node, ordered so that each follows its inputs where it can; a cycle is reported once with its path. */
function topologicalOrder(nodes: readonly ParsedNode[], byId: ReadonlyMap<string, ParsedNode>, issues: ConfigIssue[]): ParsedNode[] {
  const state = new Map<string, 'visiting' | 'done'>();
  const order: ParsedNode[] = [];
  const reported = new Set<string>();
  const visit = (node: ParsedNode, trail: readonly string[]): void => {
    const seen = state.get(node.id);
    if (seen === 'done') return;
    if (seen === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(node.id)), node.id];
      const key = [...cycle].slice(0, -1).sort().join(',');
      if (!reported.has(key)) {
        reported.add(key);
        issues.push({ path: `nodes[${node.index}].from`, message: `Cycle: ${cycle.join(' → ')}` });
      }
      return;
    }
    state.set(node.id, 'visiting');
    for (const ref of node.from) {
      const upstream = byId.get(ref);
      if (upstream !== undefined && ref !== node.id) visit(upstream, [...trail, node.id]);
    }
    state.set(node.id, 'done');
    order.push(node);
  };
  for (const node of nodes) visit(node, []);
  // Nodes on a cycle are still in the list, so their params are checked; their ports never
  // become known, so no port problem is reported for them on top of the cycle.
  return order;
}
