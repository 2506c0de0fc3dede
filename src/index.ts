/**
 * alphaflow: a reactive dataflow engine for real-time crypto market data and trading signals.
 *
 * Sources, operators and sinks are exported for direct use with `.pipe()`; `compilePipeline`
 * builds them from a declarative config.
 */
export type { LoggerSettings, NodeContext } from './context.js';
export { createContext, createLogger, nodeContext } from './context.js';
export type {
  Definition,
  NodeProblem,
  OperatorDefinition,
  PortInfo,
  PortType,
  Registry,
  Role,
  SinkDefinition,
  SourceDefinition,
} from './definitions.js';
export { createRegistry, defineOperator, defineSink, defineSource, PORT_TYPES } from './definitions.js';
export type { ConfigIssue } from './errors.js';
export { ConfigError, DuplicateKindError, InvariantError, SourceDataError } from './errors.js';
export type { Labels, MetricSample } from './metrics.js';
export { BoundCounter, Counter, METRIC, Metrics } from './metrics.js';
export * from './model/index.js';
export * from './operators/index.js';
export * from './pipelines/index.js';
export * from './sinks/index.js';
export * from './sources/index.js';
