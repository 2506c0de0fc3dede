/**
 * The mock's counters: what tests and benchmarks assert on. One instance per mock; everything is
 * a plain number or map so a snapshot is a cheap copy.
 */
import type { MockMarket } from './streamNames.js';

/** Every kind of fault the injector can produce. */
export const FAULT_KINDS = [
  'terminate',
  'close',
  'silence',
  'no-pong',
  'no-ping',
  'stall-stream',
  'ignore-subscribe',
  'reject-subscribe',
  'malformed',
  'duplicate',
  'reorder',
  'skip',
  'rest-status',
  'reject-upgrade',
  'slow-rest',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export class MockCounters {
  /** Connection ids are unique across both markets, so a fault can name one. */
  #nextConnectionId = 1;
  readonly connectionsTotal: Record<MockMarket, number> = { spot: 0, usdm: 0 };
  closes1008 = 0;
  pongTimeouts = 0;
  maxAgeCloses = 0;
  serverShutdownNotices = 0;
  slowConsumerCloses = 0;
  rejectedUpgrades = 0;
  throttledUpgrades = 0;
  restRequests = 0;
  readonly restByPath = new Map<string, number>();
  readonly restByStatus = new Map<number, number>();
  readonly faults = new Map<FaultKind, number>();

  nextConnectionId(): number {
    return this.#nextConnectionId++;
  }

  fault(kind: FaultKind, count = 1): void {
    this.faults.set(kind, (this.faults.get(kind) ?? 0) + count);
  }

  rest(path: string, status: number): void {
    this.restRequests++;
    this.restByPath.set(path, (this.restByPath.get(path) ?? 0) + 1);
    this.restByStatus.set(status, (this.restByStatus.get(status) ?? 0) + 1);
  }
}
