/**
 * Snapshots of the mock's counters as plain data: what reliability tests and benchmarks assert
 * on (reliability.md §7.1 "Report" columns, §7.7).
 */
import type { MockConnection, WsRoute } from './mockConnection.js';
import type { FaultKind, MockCounters } from './mockCounters.js';
import { FAULT_KINDS } from './mockCounters.js';
import type { SimExchange } from './simExchange.js';
import type { MockMarket } from './streamNames.js';
import type { WsFrontEnd } from './wsServer.js';

export interface ConnectionStats {
  /** Unique across both markets; fault targets name it. */
  readonly id: number;
  readonly market: MockMarket;
  /** The upgrade URL path and query. */
  readonly path: string;
  readonly route: WsRoute;
  readonly combined: boolean;
  readonly open: boolean;
  readonly openedAt: number;
  readonly closedAt: number | undefined;
  readonly closeCode: number | undefined;
  readonly closeReason: string;
  readonly closedBy: 'server' | 'client' | undefined;
  /** Subscriptions in order, and those of them that are silent (unlisted symbol, wrong route). */
  readonly streams: readonly string[];
  readonly silentStreams: readonly string[];
  readonly messagesSent: number;
  readonly injectedFrames: number;
  readonly suppressedFrames: number;
  /** Inbound messages that passed the rate limit, and the most seen in any one second. */
  readonly controlMessages: number;
  readonly peakControlRate: number;
}

export interface MarketStats {
  readonly connectionsOpen: number;
  readonly connectionsTotal: number;
  /** Frames written per stream, all connections together. */
  readonly messagesByStream: Readonly<Record<string, number>>;
}

export interface MockStatsSnapshot {
  readonly connectionsOpen: number;
  readonly connectionsTotal: number;
  readonly markets: Readonly<Record<MockMarket, MarketStats>>;
  /** Every connection so far, open and closed, in opening order. */
  readonly connections: readonly ConnectionStats[];
  readonly closes1008: number;
  readonly pongTimeouts: number;
  readonly maxAgeCloses: number;
  readonly serverShutdownNotices: number;
  readonly slowConsumerCloses: number;
  /** Upgrades refused by the fault injector, and by the connection-attempt limit. */
  readonly rejectedUpgrades: number;
  readonly throttledUpgrades: number;
  /** Effects per fault kind (see `faults.ts`). */
  readonly faultsInjected: Readonly<Record<FaultKind, number>>;
  readonly rest: {
    readonly requests: number;
    readonly byPath: Readonly<Record<string, number>>;
    readonly byStatus: Readonly<Record<string, number>>;
  };
}

export interface MockStats {
  snapshot(): MockStatsSnapshot;
}

export function connectionStats(connection: MockConnection): ConnectionStats {
  const subscriptions = [...connection.subscriptions.values()];
  return {
    id: connection.id,
    market: connection.market,
    path: connection.path,
    route: connection.route,
    combined: connection.combined,
    open: connection.open,
    openedAt: connection.openedAt,
    closedAt: connection.closedAt,
    closeCode: connection.closeCode,
    closeReason: connection.closeReason,
    closedBy: connection.closedBy,
    streams: subscriptions.map((sub) => sub.spec.name),
    silentStreams: subscriptions.filter((sub) => !sub.live).map((sub) => sub.spec.name),
    messagesSent: connection.sent,
    injectedFrames: connection.injected,
    suppressedFrames: connection.suppressed,
    controlMessages: connection.controlMessages,
    peakControlRate: connection.peakControlRate,
  };
}

export function createMockStats(counters: MockCounters, markets: readonly { readonly frontEnd: WsFrontEnd; readonly exchange: SimExchange }[]): MockStats {
  return {
    snapshot(): MockStatsSnapshot {
      const byMarket = {} as Record<MockMarket, MarketStats>;
      const connections: MockConnection[] = [];
      let open = 0;
      for (const { frontEnd, exchange } of markets) {
        byMarket[frontEnd.market] = {
          connectionsOpen: frontEnd.open.size,
          connectionsTotal: counters.connectionsTotal[frontEnd.market],
          messagesByStream: Object.fromEntries(exchange.deliveredByStream()),
        };
        open += frontEnd.open.size;
        connections.push(...frontEnd.history);
      }
      connections.sort((a, b) => a.id - b.id);
      const faultsInjected = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, counters.faults.get(kind) ?? 0])) as Record<FaultKind, number>;
      return {
        connectionsOpen: open,
        connectionsTotal: counters.connectionsTotal.spot + counters.connectionsTotal.usdm,
        markets: byMarket,
        connections: connections.map(connectionStats),
        closes1008: counters.closes1008,
        pongTimeouts: counters.pongTimeouts,
        maxAgeCloses: counters.maxAgeCloses,
        serverShutdownNotices: counters.serverShutdownNotices,
        slowConsumerCloses: counters.slowConsumerCloses,
        rejectedUpgrades: counters.rejectedUpgrades,
        throttledUpgrades: counters.throttledUpgrades,
        faultsInjected,
        rest: {
          requests: counters.restRequests,
          byPath: Object.fromEntries(counters.restByPath),
          byStatus: Object.fromEntries([...counters.restByStatus].map(([status, count]) => [String(status), count])),
        },
      };
    },
  };
}
