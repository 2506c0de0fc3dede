/**
 * Compiles a validated pipeline into one Observable graph. This is the only place that
 * multicasts: a node with more than one consumer is made connectable, and every connection is
 * made after all consumers have subscribed, so even a synchronous source reaches every branch
 * exactly once. Everything else stays cold.
 */
import {
  connectable,
  defer,
  filter,
  finalize,
  merge,
  type Connectable,
  type Observable,
  type OperatorFunction,
  Observable as RxObservable,
  share,
  Subject,
  tap,
} from 'rxjs';
import { createContext, nodeContext, type NodeContext } from '../context.js';
import type { Registry } from '../definitions.js';
import type { Metrics } from '../metrics.js';
import type { Alert, Delivery, Signal } from '../model/index.js';
import { builtinRegistry } from './builtins.js';
import { validatePipeline, type ValidatedNode, type ValidatedPipeline } from './validate.js';

/** What a running pipeline emits: every sink delivery, and every signal and alert. */
export type PipelineOutput = Delivery | Signal | Alert;

export interface CompileOptions {
  /** Registry to resolve kinds in (default: every built-in source, operator and sink). */
  readonly registry?: Registry;
  /** The config's file name, for error messages. */
  readonly file?: string;
  /** Log every record every node emits at trace level. */
  readonly trace?: boolean;
}

export interface CompiledPipeline {
  readonly name: string;
  readonly description: string | undefined;
  /** The validated graph: nodes in topological order with their parsed params and ports. */
  readonly graph: ValidatedPipeline;
  /** The context the nodes share (its `metrics` hold this run's counters). */
  readonly context: NodeContext;
  readonly metrics: Metrics;
  /**
   * Runs the pipeline: sinks deliver, and signals and alerts are emitted too. Subscribing starts
   * every source; unsubscribing releases every socket, timer and file.
   */
  readonly run$: Observable<PipelineOutput>;
  /** Signals of the run; shares one execution with the other views while subscribed together. */
  readonly signals$: Observable<Signal>;
  /** Alerts of the run. */
  readonly alerts$: Observable<Alert>;
  /** Sink deliveries of the run. */
  readonly deliveries$: Observable<Delivery>;
}

const TAPPED_TYPES = new Set(['signal', 'alert']);

/**
 * Validates `config` (throwing a ConfigError listing every problem) and builds its graph.
 * Nothing starts until `run$` (or a view of it) is subscribed.
 */
export function compilePipeline(config: unknown, ctx: Partial<NodeContext> = {}, options: CompileOptions = {}): CompiledPipeline {
  const registry = options.registry ?? builtinRegistry();
  const graph = validatePipeline(config, registry, options.file === undefined ? {} : { file: options.file });
  const root = createContext({ ...ctx, pipeline: graph.name });
  const logger = root.logger.child({ pipeline: graph.name });
  const context: NodeContext = { ...root, logger };

  const consumers = new Map<string, number>();
  for (const node of graph.nodes) {
    for (const ref of node.from) consumers.set(ref, (consumers.get(ref) ?? 0) + 1);
    if (node.port !== undefined && TAPPED_TYPES.has(node.port.type)) consumers.set(node.id, (consumers.get(node.id) ?? 0) + 1);
  }

  const outputs = new Map<string, Observable<unknown>>();
  const shared: Connectable<unknown>[] = [];
  const terminals: Observable<PipelineOutput>[] = [];

  for (const node of graph.nodes) {
    const nodeCtx = nodeContext(context, node.id, node.kind, node.from);
    let output$ = build(node, nodeCtx, outputs);
    if (options.trace === true) {
      output$ = output$.pipe(
        tap((record) => {
          nodeCtx.logger.trace({ record }, 'emit');
        }),
      );
    }
    if (node.definition.role !== 'operator') output$ = withLifecycleLogs(output$, nodeCtx);
    if ((consumers.get(node.id) ?? 0) > 1) {
      const multicast$ = connectable(output$, { connector: () => new Subject<unknown>(), resetOnDisconnect: true });
      shared.push(multicast$);
      output$ = multicast$;
    }
    outputs.set(node.id, output$);

    if (node.definition.role === 'sink') {
      terminals.push(output$ as Observable<Delivery>);
    } else if (node.port !== undefined && TAPPED_TYPES.has(node.port.type)) {
      terminals.push(output$.pipe(filter((record): record is Signal | Alert => isTapped(record))));
    } else if ((consumers.get(node.id) ?? 0) === 0) {
      nodeCtx.logger.warn({ node: node.id }, `node "${node.id}" feeds no sink and no other node: it will not run`);
    }
  }

  const running$ = new RxObservable<PipelineOutput>((subscriber) => {
    const subscription = merge(...terminals).subscribe(subscriber);
    // Downstream first: a shared node connects only after everything reading it has subscribed.
    for (let i = shared.length - 1; i >= 0 && !subscription.closed; i--) {
      subscription.add((shared[i] as Connectable<unknown>).connect());
    }
    return subscription;
  });
  // Views subscribed together share one run; the run restarts for a later subscriber.
  const run$ = running$.pipe(share());

  return {
    name: graph.name,
    description: graph.description,
    graph,
    context,
    metrics: context.metrics,
    run$,
    signals$: run$.pipe(filter((record): record is Signal => record.type === 'signal')),
    alerts$: run$.pipe(filter((record): record is Alert => record.type === 'alert')),
    deliveries$: run$.pipe(filter((record): record is Delivery => record.type === 'delivery')),
  };
}

function isTapped(record: unknown): record is Signal | Alert {
  const type = (record as { type?: unknown }).type;
  return type === 'signal' || type === 'alert';
}

function build(node: ValidatedNode, ctx: NodeContext, outputs: ReadonlyMap<string, Observable<unknown>>): Observable<unknown> {
  const { definition } = node;
  if (definition.role === 'source') return definition.create(node.params, ctx);
  const inputs = node.from.map((ref) => outputs.get(ref) as Observable<unknown>);
  const input$ = inputs.length === 1 ? (inputs[0] as Observable<unknown>) : merge(...inputs);
  // The registry erases each kind's record types; validation has matched the ports of this edge.
  const operator = definition.create(node.params, ctx) as OperatorFunction<unknown, unknown>;
  return input$.pipe(operator);
}

/** Debug logs when an I/O node (source or sink) is subscribed and released. */
function withLifecycleLogs<T>(node$: Observable<T>, ctx: NodeContext): Observable<T> {
  return defer(() => {
    ctx.logger.debug('subscribed');
    return node$;
  }).pipe(
    finalize(() => {
      ctx.logger.debug('released');
    }),
  );
}
