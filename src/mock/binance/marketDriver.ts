/**
 * Drives one mock market's time in one of three modes:
 *
 * - `realtime`: the exchange follows the injected clock, `speed` simulated ms per clock ms,
 *   advanced every `tickMs` (and before each REST answer, so REST sees the present);
 * - `firehose`: the exchange runs as fast as its clients read. Each turn of the event loop
 *   advances it until the frames produced reach a batch, hands them to the sockets, and yields
 *   with `setImmediate`; when a client's queue passes the high-water mark it waits for that
 *   socket's `drain`. With nobody subscribed it sleeps until a subscription arrives. Lossless:
 *   the slowest client sets the pace. For benchmarks;
 * - `manual`: nothing moves until the caller advances time (deterministic tests).
 */
import type { MockClock } from './mockClock.js';
import type { MockConnection } from './mockConnection.js';
import type { SimExchange } from './simExchange.js';
import { GRID_MS } from './simExchange.js';
import type { WsFrontEnd } from './wsServer.js';

export type ClockMode = 'realtime' | 'firehose' | 'manual';

export interface MarketDriverOptions {
  readonly mode: ClockMode;
  readonly exchange: SimExchange;
  readonly frontEnd: WsFrontEnd;
  readonly clock: MockClock;
  /** Simulated ms per clock ms (realtime). */
  readonly speed: number;
  /** Period of the realtime timer, ms. */
  readonly tickMs: number;
  /** Firehose: bytes queued for one client before the pump waits for it. */
  readonly highWaterMarkBytes: number;
}

/** Firehose: frames produced per turn of the event loop before yielding. */
const BATCH_FRAMES = 4_096;
/** Firehose: most grid steps per turn (bounds a turn when streams are quiet). */
const MAX_STEPS = 2_000;

export class MarketDriver {
  readonly #o: MarketDriverOptions;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #waitingOn: MockConnection | undefined;
  #stopped = false;
  #wallStart = 0;
  #simStart = 0;

  constructor(options: MarketDriverOptions) {
    this.#o = options;
  }

  start(): void {
    const { mode, clock, exchange } = this.#o;
    this.#wallStart = clock.now();
    this.#simStart = exchange.now();
    if (mode === 'realtime') {
      this.#timer = setInterval(() => {
        this.sync();
      }, this.#o.tickMs);
    } else if (mode === 'firehose') {
      this.kick();
    }
  }

  /** Realtime: advances the exchange to the clock's present. */
  sync(): void {
    if (this.#o.mode !== 'realtime' || this.#stopped) return;
    const target = this.#simStart + Math.floor((this.#o.clock.now() - this.#wallStart) * this.#o.speed);
    this.#o.exchange.advanceTo(target);
  }

  /** Firehose: resumes pumping (a subscription arrived). */
  kick(): void {
    if (this.#o.mode !== 'firehose' || this.#stopped || this.#immediate !== undefined || this.#waitingOn !== undefined) return;
    this.#immediate = setImmediate(() => {
      this.#immediate = undefined;
      this.#pump();
    });
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    this.#waitingOn = undefined;
  }

  #pump(): void {
    if (this.#stopped) return;
    const { exchange, frontEnd, highWaterMarkBytes } = this.#o;
    const clients = frontEnd.feeding();
    if (clients.length === 0) return;
    const playing = clients.filter((client) => client.playing);
    if (playing.length > 0) {
      this.#play(playing);
      return;
    }
    const blocked = clients.find((client) => client.backlog > highWaterMarkBytes);
    if (blocked !== undefined) {
      this.#waitingOn = blocked;
      blocked.whenWritable(() => {
        this.#waitingOn = undefined;
        this.kick();
      });
      return;
    }
    const sentBefore = totalSent(clients);
    for (let step = 0; step < MAX_STEPS; step++) {
      exchange.advanceTo(exchange.now() + GRID_MS);
      if (totalSent(clients) - sentBefore >= BATCH_FRAMES) break;
    }
    frontEnd.flushAll();
    this.kick();
  }

  /** Sends prerendered frames to the clients that have some left; the clock waits meanwhile. */
  #play(playing: readonly MockConnection[]): void {
    const { frontEnd, highWaterMarkBytes } = this.#o;
    const writable = playing.filter((client) => client.backlog <= highWaterMarkBytes);
    if (writable.length === 0) {
      const blocked = playing[0] as MockConnection;
      this.#waitingOn = blocked;
      blocked.whenWritable(() => {
        this.#waitingOn = undefined;
        this.kick();
      });
      return;
    }
    for (const client of writable) client.playbackStep(PLAYBACK_BYTES);
    frontEnd.flushAll();
    this.kick();
  }
}

/** Bytes of prerendered frames one client is given per turn (a combined client's are copied). */
const PLAYBACK_BYTES = 1024 * 1024;

function totalSent(clients: readonly MockConnection[]): number {
  let sum = 0;
  for (const client of clients) sum += client.sent;
  return sum;
}
