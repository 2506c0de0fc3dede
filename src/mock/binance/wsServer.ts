/**
 * The WebSocket front-end of one mock market (protocols.md §1.2, §1.3, §2.1).
 *
 * Paths: `/ws` (subscribe later), `/ws/<stream>` (raw frames), `/stream?streams=a/b` (combined
 * `{stream,data}` frames); on USD-M the same under `/public/...` (book streams) and `/market/...`
 * (everything else). A stream on the wrong USD-M route is acknowledged and silent, as on Binance;
 * on the legacy un-routed paths the `futuresLegacyRoutes` policy decides (2026: book streams
 * only). Unknown paths are refused with 404, bad stream names in the URL with 400.
 *
 * Control messages: SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY and GET_PROPERTY
 * (`combined`), with Binance's replies `{"result":...,"id":...}` and errors
 * `{"error":{"code":...,"msg":"..."},"id":...}` (0 unknown property, 1 bad value type, 2 invalid
 * request, 3 invalid JSON). A stream name of a known shape with an unlisted symbol is
 * acknowledged and silent, as on Binance.
 */
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { quote } from '../../errors.js';
import { FrameWriter } from './frameWriter.js';
import type { MockClock } from './mockClock.js';
import type { ConnectionHooks, ConnectionSettings, WsRoute } from './mockConnection.js';
import { MockConnection } from './mockConnection.js';
import type { MockCounters } from './mockCounters.js';
import type { PrerenderedStream } from './prerender.js';
import type { SimExchange } from './simExchange.js';
import type { MockMarket, StreamSpec } from './streamNames.js';
import { parseStreamName } from './streamNames.js';

/** What USD-M's legacy `/ws` and `/stream` paths serve: everything, book streams only (2026), or nothing. */
export type LegacyRoutePolicy = 'all' | 'public' | 'none';

/** A SUBSCRIBE the injector wants ignored (no ack) or rejected (error reply). */
export type SubscribeFault = { readonly mode: 'ignore' } | { readonly mode: 'reject'; readonly code: number; readonly msg: string };

/** An upgrade the injector wants refused with an HTTP status. */
export interface UpgradeRejection {
  readonly status: number;
  readonly retryAfterSec: number | undefined;
}

/** The faults the front-end asks for at the moments they apply. */
export interface WsFaultSource {
  takeSubscribeFault(market: MockMarket, connectionId: number): SubscribeFault | undefined;
  takeUpgradeRejection(market: MockMarket): UpgradeRejection | undefined;
}

export interface WsFrontEndOptions {
  readonly market: MockMarket;
  readonly exchange: SimExchange;
  readonly settings: ConnectionSettings;
  readonly clock: MockClock;
  readonly counters: MockCounters;
  readonly faults: WsFaultSource;
  readonly legacyRoutes: LegacyRoutePolicy;
  /** Largest inbound message, bytes (ws closes with 1009 beyond it). */
  readonly maxPayload: number;
  /** Upgrades allowed per `connectionWindowMs` (Binance: 300 per 5 minutes per IP); more get 429. */
  readonly connectionAttempts: number;
  readonly connectionWindowMs: number;
  /** Frames made before opening, sent first to the connections that subscribe to their streams. */
  readonly prerendered: ReadonlyMap<string, PrerenderedStream>;
  /** Called when a connection gains a live subscription (the firehose driver wakes up). */
  readonly onSubscribed: () => void;
}

interface WsTarget {
  readonly route: WsRoute;
  readonly combined: boolean;
  readonly streams: readonly StreamSpec[];
}

type JsonObject = Record<string, unknown>;

const REQUEST_ID = /^[A-Za-z0-9_-]{1,36}$/;
/** 2^63: ids must be signed 64-bit integers (a double cannot hold 2^63 - 1 exactly). */
const INT64_LIMIT = 2 ** 63;

export class WsFrontEnd {
  readonly market: MockMarket;
  /** Open connections by id, and every connection ever opened (for stats). */
  readonly open = new Map<number, MockConnection>();
  readonly history: MockConnection[] = [];
  readonly #o: WsFrontEndOptions;
  readonly #wss: WebSocketServer;
  readonly #hooks: ConnectionHooks;
  #dirty: MockConnection[] = [];
  #flushImmediate: NodeJS.Immediate | undefined;
  readonly #refused = new Set<Duplex>();
  /** Times of the upgrade attempts inside the current window, oldest first. */
  readonly #attempts: number[] = [];

  constructor(options: WsFrontEndOptions) {
    this.market = options.market;
    this.#o = options;
    this.#wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: options.maxPayload, autoPong: false, clientTracking: false });
    this.#hooks = {
      clock: options.clock,
      settings: options.settings,
      counters: options.counters,
      onControl: (connection, text, binary) => {
        this.#onControl(connection, text, binary);
      },
      markDirty: (connection) => {
        this.#dirty.push(connection);
        this.#flushImmediate ??= setImmediate(() => {
          this.flushAll();
        });
      },
      onClosed: (connection) => {
        this.#onClosed(connection);
      },
    };
  }

  /** Connections with at least one live subscription: the ones the firehose must feed. */
  feeding(): MockConnection[] {
    const out: MockConnection[] = [];
    for (const connection of this.open.values()) {
      if (connection.open && [...connection.subscriptions.values()].some((sub) => sub.live)) out.push(connection);
    }
    return out;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const market = this.market;
    const now = this.#o.clock.now();
    const attempts = this.#attempts;
    while (attempts.length > 0 && now - (attempts[0] as number) >= this.#o.connectionWindowMs) attempts.shift();
    if (attempts.length >= this.#o.connectionAttempts) {
      this.#o.counters.throttledUpgrades++;
      const retry = Math.max(1, Math.ceil(((attempts[0] as number) + this.#o.connectionWindowMs - now) / 1_000));
      this.#refuse(socket, 429, JSON.stringify({ code: -1003, msg: `Too many connection attempts: more than ${this.#o.connectionAttempts} in ${this.#o.connectionWindowMs} ms.` }), retry);
      return;
    }
    attempts.push(now);
    const rejection = this.#o.faults.takeUpgradeRejection(market);
    if (rejection !== undefined) {
      this.#o.counters.rejectedUpgrades++;
      this.#o.counters.fault('reject-upgrade');
      const msg = rejection.status === 429 ? 'Too many connection attempts.' : 'Service unavailable.';
      this.#refuse(socket, rejection.status, JSON.stringify({ code: -1003, msg }), rejection.retryAfterSec);
      return;
    }
    const target = this.#parseTarget(req.url ?? '/');
    if (!('route' in target)) {
      this.#refuse(socket, target.status, JSON.stringify({ code: 2, msg: target.msg }), undefined);
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#onOpen(ws, socket, req.url ?? '/', target);
    });
  }

  flushAll(): void {
    if (this.#flushImmediate !== undefined) clearImmediate(this.#flushImmediate);
    this.#flushImmediate = undefined;
    const dirty = this.#dirty;
    this.#dirty = [];
    for (const connection of dirty) connection.flush();
  }

  /** Cuts every connection and stops accepting new ones. */
  close(): void {
    if (this.#flushImmediate !== undefined) clearImmediate(this.#flushImmediate);
    this.#flushImmediate = undefined;
    for (const connection of [...this.open.values()]) connection.terminate();
    for (const socket of this.#refused) socket.destroy();
    this.#refused.clear();
    this.#wss.close();
  }

  #refuse(socket: Duplex, status: number, body: string, retryAfterSec: number | undefined): void {
    const retry = retryAfterSec === undefined ? '' : `Retry-After: ${retryAfterSec}\r\n`;
    const head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json;charset=UTF-8\r\n${retry}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    this.#refused.add(socket);
    socket.once('close', () => this.#refused.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.end(head + body);
  }

  #parseTarget(url: string): WsTarget | { status: number; msg: string } {
    const parsed = new URL(url, 'http://mock');
    const timeUnit = parsed.searchParams.get('timeUnit');
    if (timeUnit !== null && timeUnit.toUpperCase() !== 'MILLISECOND') {
      return { status: 400, msg: `timeUnit ${quote(timeUnit)} is not supported by the mock: only MILLISECOND` };
    }
    let path = parsed.pathname;
    let route: WsRoute = 'legacy';
    if (this.market === 'usdm') {
      for (const prefix of ['public', 'market'] as const) {
        if (path === `/${prefix}` || path.startsWith(`/${prefix}/`)) {
          route = prefix;
          path = path.slice(prefix.length + 1);
        }
      }
    }
    let names: string[];
    let combined: boolean;
    if (path === '/ws' || path === '/ws/') {
      names = [];
      combined = false;
    } else if (path.startsWith('/ws/')) {
      names = [decodeURIComponent(path.slice(4))];
      combined = false;
    } else if (path === '/stream' || path === '/stream/') {
      const streams = parsed.searchParams.get('streams');
      names = streams === null || streams === '' ? [] : streams.split('/');
      combined = true;
    } else {
      const routes = this.market === 'usdm' ? '/public/ws, /public/stream, /market/ws, /market/stream, /ws, /stream' : '/ws, /ws/<stream>, /stream?streams=';
      return { status: 404, msg: `No WebSocket endpoint at ${quote(parsed.pathname)}. Available: ${routes}` };
    }
    const streams: StreamSpec[] = [];
    for (const name of names) {
      const spec = parseStreamName(this.market, name);
      if (typeof spec === 'string') return { status: 400, msg: `Invalid request: ${spec}` };
      if (!streams.some((known) => known.name === spec.name)) streams.push(spec);
    }
    if (streams.length > this.#o.settings.maxStreams) {
      return { status: 400, msg: `Invalid request: ${streams.length} streams exceed the limit of ${this.#o.settings.maxStreams} per connection` };
    }
    return { route, combined, streams };
  }

  #onOpen(ws: WebSocket, socket: Duplex, path: string, target: WsTarget): void {
    const id = this.#o.counters.nextConnectionId();
    const connection = new MockConnection({ id, market: this.market, path, route: target.route, combined: target.combined, ws, writer: new FrameWriter(socket), hooks: this.#hooks });
    this.open.set(id, connection);
    this.history.push(connection);
    this.#o.counters.connectionsTotal[this.market]++;
    let live = false;
    for (const spec of target.streams) live = this.#subscribe(connection, spec) || live;
    if (live) this.#o.onSubscribed();
  }

  #onClosed(connection: MockConnection): void {
    this.open.delete(connection.id);
    // The list stays on the connection for its stats; the exchange stops feeding it.
    for (const subscription of connection.subscriptions.values()) {
      if (subscription.live) this.#o.exchange.unsubscribe(subscription.spec, connection);
    }
  }

  #serves(route: WsRoute, spec: StreamSpec): boolean {
    if (this.market === 'spot') return true;
    if (route === 'public' || route === 'market') return spec.tier === route;
    const policy = this.#o.legacyRoutes;
    return policy === 'all' || (policy === 'public' && spec.tier === 'public');
  }

  /** True when the subscription is live (fed). */
  #subscribe(connection: MockConnection, spec: StreamSpec): boolean {
    const known = connection.subscriptions.get(spec.name);
    if (known !== undefined) return known.live;
    const live = this.#serves(connection.route, spec) && this.#o.exchange.subscribe(spec, connection);
    connection.subscriptions.set(spec.name, { spec, live });
    const prerendered = this.#o.prerendered.get(spec.name);
    if (live && prerendered !== undefined && prerendered.endTime === this.#o.exchange.now()) connection.startPlayback(prerendered);
    return live;
  }

  #unsubscribe(connection: MockConnection, name: string): void {
    const subscription = connection.subscriptions.get(name);
    if (subscription === undefined) return;
    connection.subscriptions.delete(name);
    if (subscription.live) this.#o.exchange.unsubscribe(subscription.spec, connection);
  }

  #onControl(connection: MockConnection, text: string, binary: boolean): void {
    const reply = (result: unknown, id: unknown): void => {
      connection.sendText(`{"result":${JSON.stringify(result)},"id":${JSON.stringify(id)}}`);
    };
    const error = (code: number, msg: string, id: unknown): void => {
      connection.sendText(`{"error":${JSON.stringify({ code, msg })},"id":${JSON.stringify(id)}}`);
    };
    if (binary) {
      error(3, 'Invalid JSON: control messages must be text frames', null);
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch (err) {
      error(3, `Invalid JSON: ${err instanceof Error ? err.message : String(err)}`, null);
      return;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      error(2, `Invalid request: expected a JSON object, got ${quote(message)}`, null);
      return;
    }
    const request = message as JsonObject;
    const id = request.id ?? null;
    if (!isRequestId(id)) {
      error(2, `Invalid request: request id ${quote(id)} must be an integer, a string of up to 36 letters, digits, "-" or "_", or null`, null);
      return;
    }
    const method = request.method;
    const params = request.params;
    switch (method) {
      case 'SUBSCRIBE':
      case 'UNSUBSCRIBE': {
        if (!Array.isArray(params) || !params.every((p): p is string => typeof p === 'string')) {
          error(2, `Invalid request: "params" of ${method} must be an array of stream names, got ${quote(params)}`, id);
          return;
        }
        const specs: StreamSpec[] = [];
        for (const name of params) {
          const spec = parseStreamName(this.market, name);
          if (typeof spec === 'string') {
            error(2, `Invalid request: ${spec}`, id);
            return;
          }
          specs.push(spec);
        }
        if (method === 'UNSUBSCRIBE') {
          for (const spec of specs) this.#unsubscribe(connection, spec.name);
          reply(null, id);
          return;
        }
        const fault = this.#o.faults.takeSubscribeFault(this.market, connection.id);
        if (fault !== undefined) {
          if (fault.mode === 'ignore') {
            this.#o.counters.fault('ignore-subscribe');
            return;
          }
          this.#o.counters.fault('reject-subscribe');
          error(fault.code, fault.msg, id);
          return;
        }
        const added = new Set(specs.filter((spec) => !connection.subscriptions.has(spec.name)).map((spec) => spec.name));
        const total = connection.subscriptions.size + added.size;
        if (total > this.#o.settings.maxStreams) {
          error(2, `Invalid request: ${total} streams would exceed the limit of ${this.#o.settings.maxStreams} per connection`, id);
          return;
        }
        let live = false;
        for (const spec of specs) live = this.#subscribe(connection, spec) || live;
        reply(null, id);
        if (live) this.#o.onSubscribed();
        return;
      }
      case 'LIST_SUBSCRIPTIONS':
        reply(connection.streamNames(), id);
        return;
      case 'SET_PROPERTY': {
        if (!Array.isArray(params) || params.length !== 2) {
          error(2, `Invalid request: "params" of SET_PROPERTY must be [property, value], got ${quote(params)}`, id);
          return;
        }
        const [property, value] = params as unknown[];
        if (property !== 'combined') {
          error(0, `Unknown property ${quote(property)}`, id);
          return;
        }
        if (typeof value !== 'boolean') {
          error(1, `Invalid value type: expected Boolean, got ${quote(value)}`, id);
          return;
        }
        connection.combined = value;
        reply(null, id);
        return;
      }
      case 'GET_PROPERTY': {
        if (!Array.isArray(params) || params.length !== 1) {
          error(2, `Invalid request: "params" of GET_PROPERTY must be [property], got ${quote(params)}`, id);
          return;
        }
        if (params[0] !== 'combined') {
          error(0, `Unknown property ${quote(params[0])}`, id);
          return;
        }
        reply(connection.combined, id);
        return;
      }
      default:
        error(2, `Invalid request: unknown method ${quote(method)}; expected SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY or GET_PROPERTY`, id);
    }
  }
}

function isRequestId(id: unknown): boolean {
  if (id === null) return true;
  if (typeof id === 'number') return Number.isInteger(id) && id >= -INT64_LIMIT && id < INT64_LIMIT;
  return typeof id === 'string' && REQUEST_ID.test(id);
}
