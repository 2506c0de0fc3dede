/**
 * The fault injector of the mock (reliability.md §6, §7.1, §7.2): seeded, scriptable by time
 * (`afterMs`) or by message index (`atMessage`, the number of data frames the connection has
 * been sent; a `[min, max]` pair draws one, seeded), and targeted by market, connection id or
 * stream.
 *
 * | method | fault | rows |
 * |---|---|---|
 * | `terminate` | TCP cut without a close frame (client sees 1006) | R-01 |
 * | `close(code, reason)` | close frame 1000/1001/1008/1011/... | R-01 |
 * | `silence` / `unsilence` | no data frames; pings and replies continue | R-02 variant, R-03 |
 * | `setAutoPong(false)` | client pings go unanswered | R-02 |
 * | `setPings(false)` | the server stops pinging | R-02 variant |
 * | `stallStream` / `resumeStream` | one stream stops, the others flow | R-03 |
 * | `ignoreSubscribe` / `rejectSubscribe` | next SUBSCRIBEs get no ack / an error reply | R-05 |
 * | `rejectUpgrades` | next upgrades answered 429/503 with Retry-After | R-07 |
 * | `malformed` | truncated, trailing garbage, binary, 19-digit id, invalid UTF-8, oversized | D-01 |
 * | `skipDepthUpdates` / `skipAggTrades` / `skip` | sequence gaps (`U > last+1`, `pu` mismatch, `a` jump) | D-03 |
 * | `duplicate` | the next n frames sent twice | D-05 |
 * | `reorder` | the next k frames sent shuffled | D-06 |
 * | `restStatus` | next k REST calls on a path answered 429/418/5xx with Retry-After | R-09 |
 * | `slowRest` | REST answers delayed | D-07 |
 *
 * Connection faults apply to the connections open when they take effect (now, or after
 * `afterMs`); with no connection open they are not stored for later, and an immediate one throws
 * so a test that mistargets fails loudly. Subscribe, upgrade and REST faults are queued and
 * consumed by the next matching requests. `stats().faultsInjected` counts effects: one per
 * connection for connection faults, one per frame for frame faults, one per request for HTTP
 * faults.
 */
import { quote } from '../../errors.js';
import { SeededRandom } from '../../sources/simulator/seededRandom.js';
import type { FrameFilter, FrameRule, MalformedKind, MockConnection } from './mockConnection.js';
import { MALFORMED_KINDS } from './mockConnection.js';
import type { MockCounters } from './mockCounters.js';
import type { RestFault, RestFaultSource } from './restServer.js';
import type { MockMarket, StreamKind } from './streamNames.js';
import type { SubscribeFault, UpgradeRejection, WsFaultSource, WsFrontEnd } from './wsServer.js';

/** Which connections a fault applies to (default: every open one, both markets). */
export interface ConnectionTarget {
  readonly market?: MockMarket;
  readonly connection?: number;
}

/** When a fault takes effect (default: now). */
export interface FaultTiming {
  /** After this many ms (real time). */
  readonly afterMs?: number;
  /** Once the connection has been sent this many data frames (a `[min, max]` pair draws one per connection). */
  readonly atMessage?: number | readonly [number, number];
}

export interface FrameFaultOptions extends ConnectionTarget, FaultTiming {
  /** Only frames of this stream (exact name); default: any stream the fault applies to. */
  readonly stream?: string;
}

interface QueuedSubscribeFault {
  readonly fault: SubscribeFault;
  readonly market: MockMarket | undefined;
  readonly connection: number | undefined;
  remaining: number;
}

interface QueuedRestFault {
  readonly fault: RestFault;
  readonly market: MockMarket | undefined;
  readonly path: string;
  remaining: number;
}

interface QueuedDelay {
  readonly delayMs: number;
  readonly market: MockMarket | undefined;
  readonly path: string | undefined;
  remaining: number;
}

interface QueuedUpgrade {
  readonly rejection: UpgradeRejection;
  readonly market: MockMarket | undefined;
  remaining: number;
}

export class FaultInjector implements WsFaultSource, RestFaultSource {
  readonly #random: SeededRandom;
  readonly #counters: MockCounters;
  readonly #frontEnds: readonly WsFrontEnd[];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #subscribe: QueuedSubscribeFault[] = [];
  readonly #rest: QueuedRestFault[] = [];
  readonly #delays: QueuedDelay[] = [];
  readonly #upgrades: QueuedUpgrade[] = [];

  constructor(seed: number, counters: MockCounters, frontEnds: readonly WsFrontEnd[]) {
    this.#random = new SeededRandom(seed);
    this.#counters = counters;
    this.#frontEnds = frontEnds;
  }

  /** Cuts the TCP connection without a close frame: the client sees 1006. */
  terminate(options: ConnectionTarget & FaultTiming = {}): void {
    this.#connectionFault('terminate', options, (connection) => {
      connection.terminate();
    });
  }

  /** Closes with a close frame (1000, 1001, 1008, 1011, ...). */
  close(code: number, reason = '', options: ConnectionTarget & FaultTiming = {}): void {
    if (!(Number.isInteger(code) && (code === 1000 || (code >= 1001 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999)))) {
      throw new RangeError(`Close code ${quote(code)} cannot be sent in a close frame: use 1000, 1001, 1002, 1003, 1007-1014 or 3000-4999`);
    }
    if (Buffer.byteLength(reason) > 123) throw new RangeError(`Close reason ${quote(reason)} is longer than the 123 bytes a close frame holds`);
    this.#connectionFault('close', options, (connection) => {
      connection.close(code, reason);
    });
  }

  /** Stops every data frame; pings, pongs and control replies continue. */
  silence(options: ConnectionTarget & FaultTiming = {}): void {
    this.#connectionFault('silence', options, (connection) => {
      connection.setSilenced(true);
    });
  }

  unsilence(options: ConnectionTarget = {}): void {
    for (const connection of this.#targets(options)) connection.setSilenced(false);
  }

  /** Whether client pings are answered with pongs (R-02: a half-open server). */
  setAutoPong(enabled: boolean, options: ConnectionTarget & FaultTiming = {}): void {
    this.#connectionFault(enabled ? undefined : 'no-pong', options, (connection) => {
      connection.answerPings = enabled;
    });
  }

  /** Whether the server sends pings. */
  setPings(enabled: boolean, options: ConnectionTarget & FaultTiming = {}): void {
    this.#connectionFault(enabled ? undefined : 'no-ping', options, (connection) => {
      connection.setPinging(enabled);
    });
  }

  /** Stops one stream on the targeted connections; the others keep flowing. */
  stallStream(stream: string, options: ConnectionTarget & FaultTiming = {}): void {
    this.#connectionFault('stall-stream', options, (connection) => {
      connection.setStalled(stream, true);
    });
  }

  resumeStream(stream: string, options: ConnectionTarget = {}): void {
    for (const connection of this.#targets(options)) connection.setStalled(stream, false);
  }

  /** The next `count` SUBSCRIBE requests get no reply and subscribe nothing. */
  ignoreSubscribe(count: number, options: ConnectionTarget = {}): void {
    this.#subscribe.push({ fault: { mode: 'ignore' }, market: options.market, connection: options.connection, remaining: positive('count', count) });
  }

  /** The next `count` SUBSCRIBE requests get an error reply and subscribe nothing. */
  rejectSubscribe(count: number, options: ConnectionTarget & { readonly code?: number; readonly msg?: string } = {}): void {
    const fault: SubscribeFault = { mode: 'reject', code: options.code ?? 2, msg: options.msg ?? 'Invalid request: subscription rejected by the mock' };
    this.#subscribe.push({ fault, market: options.market, connection: options.connection, remaining: positive('count', count) });
  }

  /** The next `count` WebSocket upgrades are refused with `status` (429 or 503) and `Retry-After`. */
  rejectUpgrades(options: { readonly count: number; readonly status?: number; readonly retryAfterSec?: number; readonly market?: MockMarket }): void {
    const status = options.status ?? 429;
    if (!(Number.isInteger(status) && status >= 400 && status <= 599)) throw new RangeError(`Upgrade rejection status ${quote(status)} must be an HTTP error status, e.g. 429 or 503`);
    this.#upgrades.push({ rejection: { status, retryAfterSec: options.retryAfterSec }, market: options.market, remaining: positive('count', options.count) });
  }

  /** Inserts `count` malformed frames, each before the next matching data frame (which is still sent). */
  malformed(kind: MalformedKind, options: FrameFaultOptions & { readonly count?: number; readonly bytes?: number } = {}): void {
    if (!MALFORMED_KINDS.includes(kind)) throw new RangeError(`Malformed frame kind ${quote(kind)} is unknown. Available: ${MALFORMED_KINDS.join(', ')}`);
    const kinds: readonly StreamKind[] | undefined = kind === 'bigint-id' ? ['trade', 'aggTrade'] : undefined;
    const bytes = options.bytes ?? 2 * 1024 * 1024;
    this.#frameFault(options, (atMessage, filter) => ({
      kind: 'malformed',
      malformed: kind,
      filter: kinds === undefined ? filter : (channel) => kinds.includes(channel.spec.kind) && filter(channel),
      atMessage,
      remaining: positive('count', options.count ?? 1),
      random: this.#fork(),
      bytes,
    }));
  }

  /** Sends each of the next `count` matching frames twice. */
  duplicate(count: number, options: FrameFaultOptions = {}): void {
    this.#frameFault(options, (atMessage, filter) => ({ kind: 'duplicate', filter, atMessage, remaining: positive('count', count) }));
  }

  /** Holds the next `window` matching frames and sends them shuffled (never in their order). */
  reorder(window: number, options: FrameFaultOptions = {}): void {
    if (!(Number.isInteger(window) && window >= 2)) throw new RangeError(`Reorder window ${quote(window)} must be an integer >= 2`);
    this.#frameFault(options, (atMessage, filter) => ({ kind: 'reorder', filter, atMessage, remaining: window, random: this.#fork(), held: [] }));
  }

  /** Does not send the next `count` matching frames. */
  skip(count: number, options: FrameFaultOptions = {}): void {
    this.#frameFault(options, (atMessage, filter) => ({ kind: 'skip', filter, atMessage, remaining: positive('count', count) }));
  }

  /** Skips the next `count` diff-depth events: a sequence gap (spot `U > last u + 1`, USD-M `pu` mismatch). */
  skipDepthUpdates(count: number, options: FrameFaultOptions = {}): void {
    this.#frameFault(options, (atMessage, filter) => ({
      kind: 'skip',
      filter: (channel) => channel.spec.kind === 'diffDepth' && filter(channel),
      atMessage,
      remaining: positive('count', count),
    }));
  }

  /** Skips the next `count` aggTrade frames: a jump in aggregate ids, recoverable from REST. */
  skipAggTrades(count: number, options: FrameFaultOptions = {}): void {
    this.#frameFault(options, (atMessage, filter) => ({
      kind: 'skip',
      filter: (channel) => channel.spec.kind === 'aggTrade' && filter(channel),
      atMessage,
      remaining: positive('count', count),
    }));
  }

  /** The next `count` REST calls on `path` are answered `status` (429, 418, 5xx) with `Retry-After`. */
  restStatus(options: { readonly path: string; readonly status: number; readonly count?: number; readonly retryAfterSec?: number; readonly market?: MockMarket }): void {
    const { status } = options;
    if (!(Number.isInteger(status) && status >= 400 && status <= 599)) throw new RangeError(`REST fault status ${quote(status)} must be an HTTP error status, e.g. 429, 418 or 503`);
    this.#rest.push({ fault: { status, retryAfterSec: options.retryAfterSec }, market: options.market, path: options.path, remaining: positive('count', options.count ?? 1) });
  }

  /** Delays REST answers by `delayMs` (the next `count` calls, on `path` if given; default every call). */
  slowRest(options: { readonly delayMs: number; readonly count?: number; readonly path?: string; readonly market?: MockMarket }): void {
    if (!(options.delayMs >= 0 && Number.isFinite(options.delayMs))) throw new RangeError(`slowRest delayMs ${quote(options.delayMs)} must be a finite number >= 0`);
    const remaining = options.count === undefined ? Number.POSITIVE_INFINITY : positive('count', options.count);
    this.#delays.push({ delayMs: options.delayMs, market: options.market, path: options.path, remaining });
  }

  /** Forgets queued faults (subscribe, upgrade, REST) and cancels delayed ones. Rules already on connections stay. */
  clear(): void {
    this.#subscribe.length = 0;
    this.#rest.length = 0;
    this.#delays.length = 0;
    this.#upgrades.length = 0;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  takeSubscribeFault(market: MockMarket, connectionId: number): SubscribeFault | undefined {
    const queued = takeFirst(this.#subscribe, (q) => (q.market === undefined || q.market === market) && (q.connection === undefined || q.connection === connectionId));
    return queued?.fault;
  }

  takeUpgradeRejection(market: MockMarket): UpgradeRejection | undefined {
    return takeFirst(this.#upgrades, (q) => q.market === undefined || q.market === market)?.rejection;
  }

  takeRestFault(market: MockMarket, path: string): RestFault | undefined {
    const queued = takeFirst(this.#rest, (q) => (q.market === undefined || q.market === market) && q.path === path);
    if (queued !== undefined) this.#counters.fault('rest-status');
    return queued?.fault;
  }

  restDelayMs(market: MockMarket, path: string): number {
    const queued = takeFirst(this.#delays, (q) => (q.market === undefined || q.market === market) && (q.path === undefined || q.path === path));
    if (queued === undefined || queued.delayMs === 0) return 0;
    this.#counters.fault('slow-rest');
    return queued.delayMs;
  }

  #targets(target: ConnectionTarget): MockConnection[] {
    const out: MockConnection[] = [];
    for (const frontEnd of this.#frontEnds) {
      if (target.market !== undefined && frontEnd.market !== target.market) continue;
      for (const connection of frontEnd.open.values()) {
        if (connection.open && (target.connection === undefined || connection.id === target.connection)) out.push(connection);
      }
    }
    return out;
  }

  /** Applies `action` to the targets now, after `afterMs`, or once each has sent `atMessage` frames. */
  #connectionFault(kind: 'terminate' | 'close' | 'silence' | 'no-pong' | 'no-ping' | 'stall-stream' | undefined, options: ConnectionTarget & FaultTiming, action: (connection: MockConnection) => void): void {
    const apply = (connection: MockConnection): void => {
      if (kind !== undefined) this.#counters.fault(kind);
      action(connection);
    };
    this.#whenTargets(options, (connections) => {
      for (const connection of connections) {
        if (options.atMessage === undefined) apply(connection);
        else connection.addTrigger(this.#atMessage(options.atMessage), apply);
      }
    });
  }

  #frameFault(options: FrameFaultOptions, rule: (atMessage: number, filter: FrameFilter) => FrameRule): void {
    const stream = options.stream;
    const filter: FrameFilter = stream === undefined ? () => true : (channel) => channel.name === stream;
    this.#whenTargets(options, (connections) => {
      for (const connection of connections) {
        const at = options.atMessage === undefined ? 0 : this.#atMessage(options.atMessage);
        connection.addRule(rule(at, filter));
      }
    });
  }

  #whenTargets(options: ConnectionTarget & FaultTiming, run: (connections: MockConnection[]) => void): void {
    const afterMs = options.afterMs;
    if (afterMs === undefined) {
      const connections = this.#targets(options);
      if (connections.length === 0) throw new RangeError(`No open connection matches ${quote({ market: options.market, connection: options.connection })}`);
      run(connections);
      return;
    }
    if (!(afterMs >= 0 && Number.isFinite(afterMs))) throw new RangeError(`afterMs ${quote(afterMs)} must be a finite number >= 0`);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      run(this.#targets(options));
    }, afterMs);
    this.#timers.add(timer);
  }

  #atMessage(at: number | readonly [number, number]): number {
    if (typeof at === 'number') {
      if (!(Number.isInteger(at) && at >= 0)) throw new RangeError(`atMessage ${quote(at)} must be an integer >= 0`);
      return at;
    }
    const [min, max] = at;
    if (!(Number.isInteger(min) && Number.isInteger(max) && min >= 0 && max >= min)) throw new RangeError(`atMessage range ${quote(at)} must be [min, max] integers with 0 <= min <= max`);
    return min + Math.floor(this.#random.uniform() * (max - min + 1));
  }

  /** A generator of its own for one rule, so rules do not disturb each other's draws. */
  #fork(): SeededRandom {
    return new SeededRandom(this.#random.nextUint32());
  }
}

function positive(name: string, value: number): number {
  if (!(Number.isInteger(value) && value >= 1)) throw new RangeError(`${name} ${quote(value)} must be an integer >= 1`);
  return value;
}

/** Finds the first queued item matching, counts one use, drops it when used up. */
function takeFirst<T extends { remaining: number }>(queue: T[], matches: (item: T) => boolean): T | undefined {
  const index = queue.findIndex(matches);
  const item = queue[index];
  if (item === undefined) return undefined;
  item.remaining--;
  if (item.remaining <= 0) queue.splice(index, 1);
  return item;
}
