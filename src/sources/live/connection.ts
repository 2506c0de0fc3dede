/**
 * One logical WebSocket connection to a venue, kept alive whatever the network and the venue do
 * (reliability.md §5). Every live source runs its streams over these.
 *
 * States: `connecting` → `live` (every subscription acknowledged) → `reconnecting` after anything
 * it did not ask for (a close with any code, an error, a missed pong, a stalled stream) → `live`
 * again, and `closed` once stopped. `degraded` is reported while a stream or the connection is
 * unhealthy but still being worked on (a stalled stream being resubscribed, a subscription the
 * venue rejected, many failed attempts in a row).
 *
 * Each physical socket gets a new **epoch**. Only frames of the current epoch reach the handler;
 * a frame, timer or acknowledgement of an older socket is dropped and counted
 * (`staleFrames`), so a zombie socket can never feed downstream.
 *
 * - Reconnects wait full-jitter exponential backoff ({@link Backoff}), at least the server's
 *   `Retry-After`, and draw from the venue's connection-attempt budget ({@link AttemptBudget}).
 * - Liveness: `ws` answers the server's pings; a socket quiet for `pingIntervalMs` gets our own
 *   ping and must answer within `pongTimeoutMs`. Each stream has a stall deadline from the protocol
 *   (how often it normally speaks; none for streams that may be quiet, like trades on an
 *   illiquid symbol). A stream silent past its deadline is resubscribed first; only if it stays
 *   silent for another deadline is the socket recycled.
 * - Subscriptions: the active set is resubscribed exactly after every reconnect, bundled and
 *   paced under the venue's control-message rate ({@link ControlPacer}). Unacknowledged requests
 *   are sent again up to `maxSubscribeAttempts` times; rejected ones are reported with the
 *   venue's message and not retried.
 * - Planned renewal, make-before-break, `renewAfterMs` after a socket opened and at once on a
 *   server shutdown notice: a second socket subscribes the same set while the first keeps
 *   delivering; its frames are held until its subscriptions are acknowledged and it has spoken
 *   (or `renewSettleMs` passed), then it takes over: the held frames are delivered and the old
 *   socket is closed. The overlap is deduplicated downstream by id; at most two sockets are ever
 *   open.
 */
import { BehaviorSubject, type Observable } from 'rxjs';
import WebSocket from 'ws';
import { quote } from '../../errors.js';
import type { StatusState } from '../../model/index.js';
import { Backoff, retryAfterMs } from './backoff.js';
import { ControlPacer, REAL_TIMERS, type AttemptBudget, type Timers } from './rateLimit.js';
import type { ConnectionTiming } from './timing.js';

/** What the connection needs to know about a venue's wire protocol. */
export interface ConnectionProtocol {
  readonly venue: string;
  /** The URL each socket opens; streams are subscribed after the socket opens. */
  readonly url: string;
  /** Streams per control message at most. */
  readonly maxStreamsPerMessage: number;
  /** Inbound control messages per second the venue allows on one connection (pings included). */
  readonly controlPerSecond: number;
  /** The frame that subscribes `streams` as request `id`. */
  subscribeFrame(streams: readonly string[], id: number): string;
  /** The frame that unsubscribes `streams` as request `id`. */
  unsubscribeFrame(streams: readonly string[], id: number): string;
  /** The stream a data frame belongs to, cheaply and without parsing it fully; undefined for other frames. */
  streamOf(frame: string): string | undefined;
  /** The reply to a control request, when `frame` is one. */
  reply(frame: string): { readonly id: number; readonly error?: string } | undefined;
  /** True when `frame` announces that the server will close this connection soon. */
  isShutdownNotice(frame: string): boolean;
  /** How long `stream` may stay silent on a healthy connection, ms; undefined: no deadline. */
  stallDeadlineMs(stream: string): number | undefined;
}

export type ConnectionPhase = 'start' | 'reconnect' | 'renewal';

/** Where a connection delivers what it receives and what happens to it. */
export interface ConnectionHandler {
  /** A frame of the current epoch (never a control reply: those are handled here). */
  frame(text: string, tsRecv: number, epoch: number): void;
  /**
   * Every subscription of the socket of `epoch` is acknowledged. After `reconnect`, the frames
   * between `interruptedAt` (receive time of the last frame before the interruption) and now
   * were missed: recoverable streams should be backfilled.
   */
  live(event: { readonly epoch: number; readonly phase: ConnectionPhase; readonly interruptedAt?: number }): void;
  /** The socket of `epoch` was lost; data stops until a new socket is live. */
  interrupted(event: { readonly epoch: number; readonly reason: string; readonly lastFrameAt: number | undefined; readonly streams: readonly string[] }): void;
  /** A stream was silent past its deadline (it is being resubscribed, or the socket recycled). */
  stalled(event: { readonly epoch: number; readonly stream: string; readonly silentMs: number; readonly lastFrameAt: number | undefined }): void;
  /** The venue rejected these streams, or never acknowledged them: they are no longer active. */
  subscriptionFailed(streams: readonly string[], reason: string): void;
  /** Every frame sent and received and every socket opened and closed, for the recorder. */
  wire?(event: WireEvent): void;
}

export type WireEvent =
  | { readonly kind: 'open'; readonly epoch: number; readonly url: string; readonly ts: number }
  | { readonly kind: 'send' | 'recv'; readonly epoch: number; readonly data: string; readonly ts: number }
  | { readonly kind: 'close'; readonly epoch: number; readonly code: number; readonly reason: string; readonly ts: number };

export interface ConnectionStatus {
  readonly state: StatusState;
  readonly epoch: number;
  readonly detail: string;
  /** Wall-clock epoch ms. */
  readonly at: number;
}

export interface ConnectionOptions {
  readonly protocol: ConnectionProtocol;
  readonly handler: ConnectionHandler;
  readonly timing: ConnectionTiming;
  /** The venue's connection-attempt budget, shared by every connection to it in the run. */
  readonly budget: AttemptBudget;
  /** Name for logs and status details, e.g. `binance#0`. */
  readonly name: string;
  /** Wall clock for receive times (epoch ms): the pipeline scheduler's `now`. */
  readonly wallClock: () => number;
  readonly timers?: Timers;
  readonly random?: () => number;
  /** Largest inbound frame, bytes (the `ws` default of 100 MiB is far too large). */
  readonly maxPayload?: number;
}

/** Counters a connection keeps; tests and reports read them. */
export interface ConnectionStats {
  /** Socket opening attempts, successful or not. */
  attempts: number;
  /** Sockets that reached `live`. */
  lives: number;
  /** Unplanned interruptions. */
  interruptions: number;
  /** Planned renewals completed. */
  renewals: number;
  /** Frames of an old epoch dropped. */
  staleFrames: number;
  /** Streams resubscribed because they stalled. */
  streamResubscribes: number;
  /** Control messages sent (subscribe, unsubscribe, ping). */
  controlSent: number;
  /** Pongs missed (each recycled the socket). */
  missedPongs: number;
}

interface PendingRequest {
  readonly id: number;
  readonly streams: readonly string[];
  readonly subscribe: boolean;
  attempts: number;
  timer: unknown;
}

const DEFAULT_MAX_PAYLOAD = 16 * 1024 * 1024;
/** Frames held for a renewing socket before it takes over regardless. */
const MAX_HELD_FRAMES = 200_000;

/** One physical socket and everything tied to its epoch. */
class Socket {
  readonly epoch: number;
  readonly ws: WebSocket;
  readonly pacer: ControlPacer;
  readonly pending = new Map<number, PendingRequest>();
  /** Frames held while this socket is a renewal candidate. */
  held: { readonly text: string; readonly tsRecv: number }[] | undefined;
  opened = false;
  /** When the socket opened (monotonic). */
  openedAt = 0;
  acked = false;
  retryAfter: number | undefined;
  pingTimer: unknown;
  pongTimer: unknown;
  renewTimer: unknown;
  settleTimer: unknown;
  closedByUs = false;
  /** Last frame of any kind received (monotonic). */
  lastRecv = 0;
  /** Why the socket failed, when we know better than its close code. */
  lastError: string | undefined;

  constructor(epoch: number, ws: WebSocket, pacer: ControlPacer) {
    this.epoch = epoch;
    this.ws = ws;
    this.pacer = pacer;
  }
}

export class ManagedConnection {
  readonly name: string;
  readonly stats: ConnectionStats = {
    attempts: 0,
    lives: 0,
    interruptions: 0,
    renewals: 0,
    staleFrames: 0,
    streamResubscribes: 0,
    controlSent: 0,
    missedPongs: 0,
  };
  readonly #protocol: ConnectionProtocol;
  readonly #handler: ConnectionHandler;
  readonly #timing: ConnectionTiming;
  readonly #budget: AttemptBudget;
  readonly #wall: () => number;
  readonly #timers: Timers;
  readonly #backoff: Backoff;
  readonly #maxPayload: number;
  readonly #status$: BehaviorSubject<ConnectionStatus>;
  /** The streams the user wants, in subscription order. */
  readonly #active = new Set<string>();
  /** Per active stream: last frame (monotonic), and when it was last (re)subscribed. */
  readonly #lastSeen = new Map<string, number>();
  readonly #resubscribedAt = new Map<string, number>();
  #epochs = 0;
  #nextId = 1;
  /** The socket whose frames are delivered. */
  #current: Socket | undefined;
  /** A socket taking over from #current (planned renewal). */
  #candidate: Socket | undefined;
  #stopped = false;
  #started = false;
  #retryTimer: unknown;
  #stallTimer: unknown;
  #lastFrameWall: number | undefined;
  /** Wall time of the last frame before the current interruption, when interrupted. */
  #interruptedAt: number | undefined;
  #everLive = false;

  constructor(options: ConnectionOptions) {
    this.name = options.name;
    this.#protocol = options.protocol;
    this.#handler = options.handler;
    this.#timing = options.timing;
    this.#budget = options.budget;
    this.#wall = options.wallClock;
    this.#timers = options.timers ?? REAL_TIMERS;
    this.#backoff = new Backoff(options.timing.backoff, options.random);
    this.#maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.#status$ = new BehaviorSubject<ConnectionStatus>({ state: 'connecting', epoch: 0, detail: 'not started', at: this.#wall() });
  }

  /** Every state change; replays the current state to a new subscriber. Completes when stopped. */
  get status$(): Observable<ConnectionStatus> {
    return this.#status$.asObservable();
  }

  get status(): ConnectionStatus {
    return this.#status$.value;
  }

  /** The epoch whose frames are delivered now (0 before the first socket). */
  get epoch(): number {
    return this.#current?.epoch ?? 0;
  }

  /** The streams the user wants. */
  get streams(): readonly string[] {
    return [...this.#active];
  }

  /** Sockets open or opening (at most two, during a renewal). */
  get openSockets(): number {
    return (this.#current === undefined ? 0 : 1) + (this.#candidate === undefined ? 0 : 1);
  }

  /** Opens the first socket. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#connect('start');
  }

  /**
   * Adds streams; they are subscribed on the live socket and after every reconnect. Calls in the
   * same tick are bundled into as few requests as the venue allows.
   */
  subscribe(streams: readonly string[]): void {
    const now = this.#timers.now();
    for (const stream of streams) {
      if (this.#active.has(stream)) continue;
      this.#active.add(stream);
      this.#resubscribedAt.set(stream, now);
      this.#changes.set(stream, true);
    }
    this.#scheduleFlush();
  }

  /** Removes streams: no longer resubscribed, and unsubscribed on the live socket. */
  unsubscribe(streams: readonly string[]): void {
    for (const stream of streams) {
      if (!this.#active.delete(stream)) continue;
      this.#lastSeen.delete(stream);
      this.#resubscribedAt.delete(stream);
      this.#stalledStreams.delete(stream);
      this.#changes.set(stream, false);
    }
    this.#scheduleFlush();
  }

  /** Subscription changes not yet sent: stream -> subscribe (true) or unsubscribe (false). */
  readonly #changes = new Map<string, boolean>();
  #flushQueued = false;

  #scheduleFlush(): void {
    if (this.#flushQueued || this.#changes.size === 0) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      const added: string[] = [];
      const removed: string[] = [];
      for (const [stream, subscribe] of this.#changes) (subscribe ? added : removed).push(stream);
      this.#changes.clear();
      for (const socket of [this.#current, this.#candidate]) {
        // A socket still opening subscribes the whole active set when it opens.
        if (socket?.opened !== true || this.#stopped) continue;
        if (removed.length > 0) this.#request(socket, removed, false);
        if (added.length > 0) this.#request(socket, added, true);
      }
    });
  }

  /** Starts a planned renewal now (also triggered by a shutdown notice and by `renewAfterMs`). */
  renew(reason = 'requested'): void {
    const current = this.#current;
    if (this.#stopped || this.#candidate !== undefined || current === undefined || !current.opened) return;
    this.#setStatus('live', `renewing: ${reason}`);
    this.#candidate = this.#open();
  }

  /** Closes everything: no reconnect, no timer left. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#timers.clearTimeout(this.#retryTimer);
    this.#timers.clearTimeout(this.#stallTimer);
    for (const socket of [this.#current, this.#candidate]) if (socket !== undefined) this.#close(socket, 1000, 'stopped');
    this.#current = undefined;
    this.#candidate = undefined;
    this.#setStatus('closed', 'stopped');
    this.#status$.complete();
  }

  #setStatus(state: StatusState, detail: string): void {
    if (this.#status$.closed) return;
    const last = this.#status$.value;
    if (last.state === state && last.detail === detail && last.epoch === this.epoch) return;
    this.#status$.next({ state, epoch: this.epoch, detail: `${this.name}: ${detail}`, at: this.#wall() });
  }

  #connect(phase: ConnectionPhase): void {
    if (this.#stopped) return;
    const wait = this.#budget.waitMs(this.#timers.now());
    if (wait > 0) {
      this.#setStatus(phase === 'start' ? 'connecting' : 'reconnecting', `connection budget of ${this.#protocol.venue} used up: waiting ${Math.ceil(wait)} ms`);
      this.#retryTimer = this.#timers.setTimeout(() => { this.#connect(phase); }, wait);
      return;
    }
    this.#setStatus(phase === 'start' && !this.#everLive ? 'connecting' : 'reconnecting', `opening ${this.#protocol.url}`);
    this.#current = this.#open();
  }

  #open(): Socket {
    this.#budget.take(this.#timers.now());
    this.stats.attempts++;
    const epoch = ++this.#epochs;
    const ws = new WebSocket(this.#protocol.url, { maxPayload: this.#maxPayload, handshakeTimeout: this.#timing.connectTimeoutMs });
    const socket = new Socket(epoch, ws, new ControlPacer(this.#protocol.controlPerSecond, this.#timers));
    ws.on('unexpected-response', (_request, response) => {
      socket.retryAfter = retryAfterMs(response.headers['retry-after'], this.#wall());
      socket.lastError = `HTTP ${response.statusCode ?? '?'} on upgrade${socket.retryAfter === undefined ? '' : ` (Retry-After ${Math.round(socket.retryAfter)} ms)`}`;
      response.resume();
      ws.terminate();
    });
    ws.on('open', () => { this.#onOpen(socket); });
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => { this.#onMessage(socket, data, isBinary); });
    ws.on('pong', () => {
      socket.lastRecv = this.#timers.now();
      if (socket.pongTimer !== 'queued') this.#timers.clearTimeout(socket.pongTimer);
      socket.pongTimer = undefined;
    });
    ws.on('error', (error: Error) => {
      socket.lastError ??= error.message;
    });
    ws.on('close', (code: number, reason: Buffer) => { this.#onClose(socket, code, reason.toString()); });
    return socket;
  }

  #onOpen(socket: Socket): void {
    socket.opened = true;
    socket.openedAt = this.#timers.now();
    socket.lastRecv = socket.openedAt;
    this.#handler.wire?.({ kind: 'open', epoch: socket.epoch, url: this.#protocol.url, ts: this.#wall() });
    if (socket === this.#candidate) socket.held = [];
    this.#schedulePing(socket);
    const streams = [...this.#active];
    if (streams.length === 0) this.#acked(socket);
    else this.#request(socket, streams, true);
    if (this.#timing.renewAfterMs > 0) socket.renewTimer = this.#timers.setTimeout(() => { this.renew('maximum connection age'); }, this.#timing.renewAfterMs);
  }

  #send(socket: Socket, text: string): void {
    socket.pacer.enqueue(() => {
      if (socket.ws.readyState !== WebSocket.OPEN) return;
      this.stats.controlSent++;
      this.#handler.wire?.({ kind: 'send', epoch: socket.epoch, data: text, ts: this.#wall() });
      socket.ws.send(text);
    });
  }

  /** Sends (un)subscribe requests for `streams` in bundles, each tracked until acknowledged. */
  #request(socket: Socket, streams: readonly string[], subscribe: boolean): void {
    const size = this.#protocol.maxStreamsPerMessage;
    for (let i = 0; i < streams.length; i += size) {
      const request: PendingRequest = { id: this.#nextId++, streams: streams.slice(i, i + size), subscribe, attempts: 0, timer: undefined };
      socket.pending.set(request.id, request);
      this.#sendRequest(socket, request);
    }
  }

  #sendRequest(socket: Socket, request: PendingRequest): void {
    request.attempts++;
    const frame = request.subscribe ? this.#protocol.subscribeFrame(request.streams, request.id) : this.#protocol.unsubscribeFrame(request.streams, request.id);
    this.#send(socket, frame);
    // The ack clock starts when the request can have left: after the requests queued before it.
    const timeout = this.#timing.ackTimeoutMs + socket.pacer.pending * socket.pacer.spacingMs;
    request.timer = this.#timers.setTimeout(() => { this.#ackTimeout(socket, request); }, timeout);
  }

  #ackTimeout(socket: Socket, request: PendingRequest): void {
    if (!socket.pending.has(request.id) || !this.#isOpen(socket)) return;
    if (request.attempts < this.#timing.maxSubscribeAttempts) {
      socket.pending.delete(request.id);
      const retry: PendingRequest = { id: this.#nextId++, streams: request.streams, subscribe: request.subscribe, attempts: request.attempts, timer: undefined };
      socket.pending.set(retry.id, retry);
      this.#sendRequest(socket, retry);
      return;
    }
    socket.pending.delete(request.id);
    const what = request.subscribe ? 'subscribe' : 'unsubscribe';
    if (request.subscribe) this.#fail(request.streams, `${this.#protocol.venue} never acknowledged the ${what} request for ${quote(request.streams)} (${request.attempts} attempts, ${this.#timing.ackTimeoutMs} ms each)`);
    this.#checkAcked(socket);
  }

  #fail(streams: readonly string[], reason: string): void {
    for (const stream of streams) {
      this.#active.delete(stream);
      this.#lastSeen.delete(stream);
      this.#resubscribedAt.delete(stream);
    }
    this.#setStatus('degraded', reason);
    this.#handler.subscriptionFailed(streams, reason);
  }

  #onReply(socket: Socket, id: number, error: string | undefined): void {
    const request = socket.pending.get(id);
    if (request === undefined) return;
    this.#timers.clearTimeout(request.timer);
    socket.pending.delete(id);
    if (error !== undefined && request.subscribe) {
      this.#fail(request.streams, `${this.#protocol.venue} rejected the subscription to ${quote(request.streams)}: ${error}`);
    }
    this.#checkAcked(socket);
  }

  #checkAcked(socket: Socket): void {
    if (socket.acked) return;
    for (const request of socket.pending.values()) if (request.subscribe) return;
    this.#acked(socket);
  }

  /** Every subscription of `socket` is acknowledged (or failed for good). */
  #acked(socket: Socket): void {
    socket.acked = true;
    if (socket === this.#candidate) {
      if ((socket.held?.length ?? 0) > 0 || this.#active.size === 0) this.#takeOver(socket);
      else socket.settleTimer = this.#timers.setTimeout(() => { this.#takeOver(socket); }, this.#timing.renewSettleMs);
      return;
    }
    if (socket !== this.#current) return;
    this.#becomeLive(socket, this.#everLive ? 'reconnect' : 'start');
  }

  #becomeLive(socket: Socket, phase: ConnectionPhase): void {
    const now = this.#timers.now();
    this.#everLive = true;
    this.stats.lives++;
    this.#backoff.healthy(now);
    for (const stream of this.#active) this.#resubscribedAt.set(stream, now);
    const interruptedAt = this.#interruptedAt;
    this.#interruptedAt = undefined;
    this.#setStatus('live', phase === 'renewal' ? 'renewed' : `${this.#active.size} streams subscribed`);
    this.#scheduleStallCheck();
    this.#handler.live(interruptedAt === undefined ? { epoch: socket.epoch, phase } : { epoch: socket.epoch, phase, interruptedAt });
  }

  /** The renewal candidate takes over: its held frames are delivered and the old socket closed. */
  #takeOver(socket: Socket): void {
    if (socket !== this.#candidate || this.#stopped) return;
    this.#timers.clearTimeout(socket.settleTimer);
    const old = this.#current;
    this.#candidate = undefined;
    this.#current = socket;
    const held = socket.held ?? [];
    socket.held = undefined;
    if (old !== undefined) this.#close(old, 1000, 'renewed');
    this.stats.renewals++;
    this.#becomeLive(socket, 'renewal');
    for (const frame of held) this.#deliver(socket, frame.text, frame.tsRecv);
  }

  #onMessage(socket: Socket, data: WebSocket.RawData, isBinary: boolean): void {
    const tsRecv = this.#wall();
    socket.lastRecv = this.#timers.now();
    const text = isBinary ? undefined : textOf(data);
    if (text === undefined) {
      // A binary frame on a text protocol: the handler reports it as a bad frame.
      if (this.#isCurrent(socket)) this.#handler.frame(`<binary frame of ${rawLength(data)} bytes>`, tsRecv, socket.epoch);
      return;
    }
    this.#handler.wire?.({ kind: 'recv', epoch: socket.epoch, data: text, ts: tsRecv });
    const reply = this.#protocol.reply(text);
    if (reply !== undefined) {
      this.#onReply(socket, reply.id, reply.error);
      return;
    }
    if (this.#protocol.isShutdownNotice(text)) {
      if (socket === this.#current) this.renew('server shutdown notice');
      return;
    }
    if (socket === this.#candidate) {
      const held = socket.held;
      if (held !== undefined) {
        held.push({ text, tsRecv });
        if (socket.acked && held.length === 1) this.#takeOver(socket);
        else if (held.length >= MAX_HELD_FRAMES) this.#takeOver(socket);
      }
      return;
    }
    if (socket !== this.#current) {
      this.stats.staleFrames++;
      return;
    }
    this.#deliver(socket, text, tsRecv);
  }

  #deliver(socket: Socket, text: string, tsRecv: number): void {
    const stream = this.#protocol.streamOf(text);
    if (stream !== undefined) {
      this.#lastSeen.set(stream, this.#timers.now());
      if (this.#stalledStreams.size > 0 && this.#stalledStreams.delete(stream) && this.#stalledStreams.size === 0) this.#setStatus('live', `stalled stream ${quote(stream)} recovered`);
    }
    this.#lastFrameWall = tsRecv;
    this.#handler.frame(text, tsRecv, socket.epoch);
  }

  #isCurrent(socket: Socket): boolean {
    if (socket === this.#current) return true;
    this.stats.staleFrames++;
    return false;
  }

  #isOpen(socket: Socket): boolean {
    return !this.#stopped && socket.ws.readyState === WebSocket.OPEN && (socket === this.#current || socket === this.#candidate);
  }

  /**
   * Our liveness probe. A socket that received anything within the last interval has shown that
   * the link works: it is not pinged, which keeps pings out of the venue's control-message budget
   * on busy connections. A quiet socket is pinged (ahead of queued requests) and must answer
   * within `pongTimeoutMs`.
   */
  #schedulePing(socket: Socket): void {
    socket.pingTimer = this.#timers.setTimeout(() => {
      if (!this.#isOpen(socket)) return;
      const now = this.#timers.now();
      if (now - socket.lastRecv >= this.#timing.pingIntervalMs && socket.pongTimer === undefined) {
        socket.pongTimer = 'queued';
        socket.pacer.enqueue(() => {
          if (socket.ws.readyState !== WebSocket.OPEN) return;
          this.stats.controlSent++;
          socket.ws.ping();
          socket.pongTimer = this.#timers.setTimeout(() => {
            if (!this.#isOpen(socket)) return;
            this.stats.missedPongs++;
            socket.lastError = `no pong within ${this.#timing.pongTimeoutMs} ms`;
            socket.ws.terminate();
          }, this.#timing.pongTimeoutMs);
        }, true);
      }
      this.#schedulePing(socket);
    }, this.#timing.pingIntervalMs);
  }

  #scheduleStallCheck(): void {
    this.#timers.clearTimeout(this.#stallTimer);
    let shortest = Number.POSITIVE_INFINITY;
    for (const stream of this.#active) shortest = Math.min(shortest, this.#deadline(stream) ?? Number.POSITIVE_INFINITY);
    if (shortest === Number.POSITIVE_INFINITY || this.#stopped) return;
    this.#stallTimer = this.#timers.setTimeout(() => { this.#checkStalls(); }, Math.max(10, shortest / 4));
  }

  #deadline(stream: string): number | undefined {
    const deadline = this.#protocol.stallDeadlineMs(stream);
    return deadline === undefined ? undefined : deadline * this.#timing.stallScale;
  }

  #checkStalls(): void {
    const socket = this.#current;
    if (socket === undefined || !socket.acked || this.#stopped) {
      this.#scheduleStallCheck();
      return;
    }
    const now = this.#timers.now();
    const resubscribe: string[] = [];
    for (const stream of this.#active) {
      const deadline = this.#deadline(stream);
      if (deadline === undefined) continue;
      const since = Math.max(this.#lastSeen.get(stream) ?? Number.NEGATIVE_INFINITY, this.#resubscribedAt.get(stream) ?? now);
      const silent = now - since;
      if (silent <= deadline) continue;
      this.#handler.stalled({ epoch: socket.epoch, stream, silentMs: silent, lastFrameAt: this.#lastFrameWall });
      if (this.#stalledStreams.has(stream)) {
        // Resubscribed already and still silent: the socket is the problem.
        socket.lastError = `stream ${quote(stream)} still silent ${Math.round(silent)} ms after a resubscribe`;
        socket.ws.terminate();
        return;
      }
      resubscribe.push(stream);
    }
    if (resubscribe.length > 0) {
      this.#setStatus('degraded', `resubscribing stalled ${quote(resubscribe)}`);
      for (const stream of resubscribe) {
        this.#resubscribedAt.set(stream, now);
        this.#stalledStreams.add(stream);
      }
      this.stats.streamResubscribes += resubscribe.length;
      this.#request(socket, resubscribe, false);
      this.#request(socket, resubscribe, true);
    }
    this.#scheduleStallCheck();
  }

  /** Streams resubscribed because they stalled, not heard from since. */
  readonly #stalledStreams = new Set<string>();

  #close(socket: Socket, code: number, reason: string): void {
    socket.closedByUs = true;
    this.#clearSocketTimers(socket);
    if (socket.ws.readyState === WebSocket.OPEN) socket.ws.close(code, reason);
    else socket.ws.terminate();
    // A socket that ignores our close frame is cut after a second.
    const ws = socket.ws;
    const cut = this.#timers.setTimeout(() => { ws.terminate(); }, 1_000);
    ws.once('close', () => { this.#timers.clearTimeout(cut); });
  }

  #clearSocketTimers(socket: Socket): void {
    socket.pacer.clear();
    for (const timer of [socket.pingTimer, socket.pongTimer, socket.renewTimer, socket.settleTimer]) if (timer !== 'queued') this.#timers.clearTimeout(timer);
    for (const request of socket.pending.values()) this.#timers.clearTimeout(request.timer);
    socket.pending.clear();
  }

  #onClose(socket: Socket, code: number, reason: string): void {
    this.#clearSocketTimers(socket);
    this.#handler.wire?.({ kind: 'close', epoch: socket.epoch, code, reason, ts: this.#wall() });
    if (socket.closedByUs || this.#stopped) return;
    const detail = socket.lastError ?? `closed by ${this.#protocol.venue} with code ${code}${reason === '' ? '' : ` (${reason})`}`;
    if (socket === this.#candidate) {
      // The renewal failed; the old socket keeps delivering. Try again after a backoff.
      this.#candidate = undefined;
      const delay = this.#backoff.next(socket.retryAfter);
      this.#retryTimer = this.#timers.setTimeout(() => { this.renew('retrying a failed renewal'); }, delay);
      return;
    }
    if (socket !== this.#current) return;
    const candidate = this.#candidate;
    if (candidate?.opened === true) {
      // The old socket went first: the new one takes over now.
      this.#takeOver(candidate);
      return;
    }
    if (candidate !== undefined) {
      this.#candidate = undefined;
      this.#close(candidate, 1000, 'renewal abandoned');
    }
    this.#current = undefined;
    this.#stalledStreams.clear();
    const now = this.#timers.now();
    this.#backoff.check(now);
    if (socket.opened && socket.acked) {
      this.stats.interruptions++;
      this.#interruptedAt ??= this.#lastFrameWall ?? this.#wall();
      this.#handler.interrupted({ epoch: socket.epoch, reason: detail, lastFrameAt: this.#lastFrameWall, streams: [...this.#active] });
    }
    const delay = this.#backoff.next(socket.retryAfter);
    const failures = this.#backoff.failures;
    const state: StatusState = failures >= this.#timing.degradedAfterFailures ? 'degraded' : 'reconnecting';
    this.#setStatus(state, `${detail}; attempt ${failures} in ${Math.round(delay)} ms`);
    this.#retryTimer = this.#timers.setTimeout(() => { this.#connect('reconnect'); }, delay);
  }
}

/** The text of a text frame (`ws` hands it over as bytes). */
function textOf(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function rawLength(data: WebSocket.RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, part) => sum + part.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}
