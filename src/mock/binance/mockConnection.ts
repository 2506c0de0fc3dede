/**
 * One client WebSocket of the mock: its subscriptions, its send path (through a
 * {@link FrameWriter}), Binance's connection rules (server pings with a pong deadline, the inbound
 * message rate limit, the maximum age with an optional `serverShutdown` notice) and the faults
 * injected into it.
 *
 * Frame faults are rules consumed by the data frames that match them, one rule per frame, in the
 * order they were added: skip (the frame is not sent), duplicate (sent twice), reorder (held until
 * `k` are collected, then sent shuffled) and malformed (junk inserted before the frame, which
 * itself is still sent, so no data is lost). Triggers fire once the connection has sent a given
 * number of data frames (terminate, close).
 */
import type { WebSocket } from 'ws';
import type { SeededRandom } from '../../sources/simulator/seededRandom.js';
import type { FrameWriter } from './frameWriter.js';
import { OPCODE_BINARY, OPCODE_TEXT } from './frameWriter.js';
import type { MockClock } from './mockClock.js';
import type { FaultKind, MockCounters } from './mockCounters.js';
import { serverShutdownPayload } from './payloads.js';
import type { Playback, PrerenderedStream } from './prerender.js';
import { headerLength } from './prerender.js';
import type { StreamChannel, StreamSubscriber } from './streamChannel.js';
import type { MockMarket, StreamSpec } from './streamNames.js';

/** Where a USD-M connection was opened (`/public/...`, `/market/...`, or the legacy root). Spot is always `legacy`. */
export type WsRoute = 'legacy' | 'public' | 'market';

export interface ConnectionSettings {
  /** Server ping period, ms (0: no pings). */
  readonly pingIntervalMs: number;
  /** A ping not answered within this is a dead client: the socket is cut. */
  readonly pongTimeoutMs: number;
  /** Connection lifetime, ms (undefined: forever). */
  readonly maxAgeMs: number | undefined;
  /** Send `serverShutdown` this long before the max-age close (undefined: no notice). */
  readonly shutdownNoticeMs: number | undefined;
  readonly maxAgeCloseCode: number;
  /** Inbound messages allowed per second; one more closes the connection with 1008. */
  readonly controlRateLimit: number;
  readonly maxStreams: number;
  /** A client this far behind (bytes queued) is cut as a slow consumer. */
  readonly maxBufferedBytes: number;
}

export interface ConnectionHooks {
  readonly clock: MockClock;
  readonly settings: ConnectionSettings;
  readonly counters: MockCounters;
  /** A text control message passed the rate limit. */
  onControl(connection: MockConnection, text: string, binary: boolean): void;
  /** The connection has frames to flush. */
  markDirty(connection: MockConnection): void;
  onClosed(connection: MockConnection): void;
}

export interface Subscription {
  readonly spec: StreamSpec;
  /** False for a silent subscription: acknowledged but never fed (unknown symbol, wrong route). */
  readonly live: boolean;
}

/** Malformed frames the injector can insert (reliability.md D-01). */
export const MALFORMED_KINDS = ['truncated', 'garbage', 'binary', 'bigint-id', 'invalid-utf8', 'oversized'] as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[number];

/** Which data frames a rule applies to. */
export type FrameFilter = (channel: StreamChannel) => boolean;

interface RuleBase {
  readonly filter: FrameFilter;
  /** The rule waits until the connection has sent this many data frames. */
  readonly atMessage: number;
  remaining: number;
}

export type FrameRule =
  | (RuleBase & { readonly kind: 'skip' | 'duplicate' })
  | (RuleBase & { readonly kind: 'reorder'; readonly random: SeededRandom; readonly held: { channel: StreamChannel; payload: string }[] })
  | (RuleBase & { readonly kind: 'malformed'; readonly malformed: MalformedKind; readonly random: SeededRandom; readonly bytes: number });

interface Trigger {
  readonly atMessage: number;
  readonly fire: (connection: MockConnection) => void;
}

/** 19 digits: larger than any safe integer, so a lossy parser shows it. */
const BIG_ID_BASE = 1_000_000_000_000_000_000n;

export class MockConnection implements StreamSubscriber {
  readonly id: number;
  readonly market: MockMarket;
  readonly path: string;
  readonly route: WsRoute;
  readonly openedAt: number;
  combined: boolean;
  readonly subscriptions = new Map<string, Subscription>();

  /** Data frames sent, junk frames injected, data frames withheld by silence or a stall. */
  sent = 0;
  injected = 0;
  suppressed = 0;
  controlMessages = 0;
  peakControlRate = 0;
  closedAt: number | undefined;
  closeCode: number | undefined;
  closeReason = '';
  /** Who started the close: the server (a rule, a fault, shutdown) or the client. */
  closedBy: 'server' | 'client' | undefined;

  // Fault state.
  silenced = false;
  answerPings = true;
  sendPings = true;
  readonly stalled = new Set<string>();
  readonly #rules: FrameRule[] = [];
  readonly #triggers: Trigger[] = [];
  #faulty = false;
  /** Prerendered streams still to send, in subscription order (firehose). */
  readonly #playbacks: Playback[] = [];

  readonly #ws: WebSocket;
  readonly #writer: FrameWriter;
  readonly #hooks: ConnectionHooks;
  #dirty = false;
  #closing = false;
  readonly #inbound: number[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  #pingTimer: NodeJS.Timeout | undefined;
  #pongTimer: NodeJS.Timeout | undefined;
  /** Unanswered pings: payload and send time, oldest first. */
  readonly #pings: { readonly payload: string; readonly at: number }[] = [];
  #pingSeq = 0;

  constructor(init: { id: number; market: MockMarket; path: string; route: WsRoute; combined: boolean; ws: WebSocket; writer: FrameWriter; hooks: ConnectionHooks }) {
    this.id = init.id;
    this.market = init.market;
    this.path = init.path;
    this.route = init.route;
    this.combined = init.combined;
    this.#ws = init.ws;
    this.#writer = init.writer;
    this.#hooks = init.hooks;
    this.openedAt = init.hooks.clock.now();
    const ws = init.ws;
    ws.on('message', (data, binary) => {
      if (!this.#countInbound()) return;
      this.controlMessages++;
      this.#hooks.onControl(this, Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]).toString('utf8'), binary);
    });
    ws.on('ping', (data) => {
      if (!this.#countInbound()) return;
      if (this.answerPings && ws.readyState === ws.OPEN) ws.pong(data);
    });
    ws.on('pong', (data) => {
      this.#onPong(data.toString('latin1'));
    });
    ws.on('error', () => {
      // A protocol error from the client: ws closes the socket and 'close' follows.
    });
    ws.on('close', (code, reason) => {
      this.#onClose(code, reason.toString('utf8'));
    });
    this.#startTimers();
  }

  get open(): boolean {
    return !this.#closing && this.#ws.readyState === this.#ws.OPEN;
  }

  /** Bytes queued for this client: framed here and not yet written, plus the socket's buffer. */
  get backlog(): number {
    return this.#writer.pending + this.#ws.bufferedAmount;
  }

  /** Streams in subscription order. */
  streamNames(): string[] {
    return [...this.subscriptions.keys()];
  }

  deliver(channel: StreamChannel, payload: string): void {
    if (this.#closing) return;
    if (this.#faulty) {
      this.#deliverWithFaults(channel, payload);
      return;
    }
    this.#writeData(channel, payload);
  }

  /** Sends a control reply (or any text) now, after the data already queued. */
  sendText(text: string): void {
    if (this.#closing) return;
    this.#writer.text(text);
    this.flush();
  }

  flush(): void {
    this.#dirty = false;
    if (this.#closing || this.#ws.readyState !== this.#ws.OPEN) {
      this.#writer.discard();
      return;
    }
    this.#writer.flush();
    if (this.#ws.bufferedAmount > this.#hooks.settings.maxBufferedBytes) {
      this.#hooks.counters.slowConsumerCloses++;
      this.terminate();
    }
  }

  /** True while prerendered frames remain to be sent. */
  get playing(): boolean {
    return this.#playbacks.length > 0 && !this.#closing;
  }

  /** Queues a prerendered stream to be sent before the live frames (see `prerender.ts`). */
  startPlayback(stream: PrerenderedStream): void {
    if (stream.frames > 0) this.#playbacks.push({ stream, chunk: 0, frame: 0 });
  }

  /**
   * Frames about `budget` bytes of prerendered frames (whole buffers, uncopied, on a raw
   * connection; wrapped one by one on a combined one). Returns the frames written.
   */
  playbackStep(budget: number): number {
    const playback = this.#playbacks[0];
    if (playback === undefined || this.#closing) return 0;
    const { stream } = playback;
    const chunk = stream.chunks[playback.chunk] as Buffer;
    const starts = stream.starts[playback.chunk] as Uint32Array;
    let written = 0;
    if (!this.combined) {
      this.#writer.framed(chunk.subarray(starts[playback.frame]));
      written = starts.length - playback.frame;
      playback.frame = starts.length;
    } else {
      const prefix = stream.channel.combinedPrefix;
      let bytes = 0;
      while (playback.frame < starts.length && bytes < budget) {
        const start = starts[playback.frame] as number;
        const end = playback.frame + 1 < starts.length ? (starts[playback.frame + 1] as number) : chunk.length;
        const payload = chunk.toString('latin1', start + headerLength(chunk, start), end);
        this.#writer.asciiText(prefix, payload, '}');
        bytes += end - start + prefix.length + 1;
        playback.frame++;
        written++;
      }
    }
    if (playback.frame >= starts.length) {
      playback.chunk++;
      playback.frame = 0;
      if (playback.chunk >= stream.chunks.length) this.#playbacks.shift();
    }
    this.sent += written;
    stream.channel.delivered += written;
    if (!this.#dirty) {
      this.#dirty = true;
      this.#hooks.markDirty(this);
    }
    return written;
  }

  /** Flushes, then calls `callback` once the socket has drained (or closed): firehose backpressure. */
  whenWritable(callback: () => void): void {
    this.flush();
    this.#writer.whenDrained(callback);
  }

  /** Closes with a close frame after the data already queued. */
  close(code: number, reason: string): void {
    if (this.#closing) return;
    this.flush();
    this.#closing = true;
    this.closedBy ??= 'server';
    this.closeCode ??= code;
    this.closeReason ||= reason;
    if (code === 1008) this.#hooks.counters.closes1008++;
    this.#clearTimers();
    this.#ws.close(code, reason);
  }

  /** Cuts the TCP connection without a close frame (the client sees 1006). */
  terminate(): void {
    if (this.#ws.readyState === this.#ws.CLOSED) return;
    if (!this.#closing) this.#writer.flush();
    this.#closing = true;
    this.closedBy ??= 'server';
    this.closeCode ??= 1006;
    this.#clearTimers();
    this.#ws.terminate();
  }

  /** Sends `serverShutdown` (raw, or under `!serverShutdown` on a combined connection). */
  sendShutdownNotice(): void {
    const payload = serverShutdownPayload(this.#hooks.clock.now());
    this.sendText(this.combined ? `{"stream":"!serverShutdown","data":${payload}}` : payload);
    this.#hooks.counters.serverShutdownNotices++;
  }

  addRule(rule: FrameRule): void {
    this.#rules.push(rule);
    this.#updateFaulty();
  }

  /** Runs `fire` once this connection has sent `atMessage` data frames (at once if it has). */
  addTrigger(atMessage: number, fire: (connection: MockConnection) => void): void {
    if (this.sent >= atMessage) {
      fire(this);
      return;
    }
    this.#triggers.push({ atMessage, fire });
    this.#updateFaulty();
  }

  setSilenced(silenced: boolean): void {
    this.silenced = silenced;
    this.#updateFaulty();
  }

  setStalled(stream: string, stalled: boolean): void {
    if (stalled) this.stalled.add(stream);
    else this.stalled.delete(stream);
    this.#updateFaulty();
  }

  /** Starts or stops server pings. */
  setPinging(enabled: boolean): void {
    this.sendPings = enabled;
  }

  #updateFaulty(): void {
    this.#faulty = this.silenced || this.stalled.size > 0 || this.#rules.length > 0 || this.#triggers.length > 0;
  }

  #writeData(channel: StreamChannel, payload: string): void {
    if (this.combined) this.#writer.asciiText(channel.combinedPrefix, payload, '}');
    else this.#writer.asciiText('', payload, '');
    this.sent++;
    channel.delivered++;
    if (!this.#dirty) {
      this.#dirty = true;
      this.#hooks.markDirty(this);
    }
  }

  #fault(kind: FaultKind, count = 1): void {
    this.#hooks.counters.fault(kind, count);
  }

  #deliverWithFaults(channel: StreamChannel, payload: string): void {
    if (this.silenced || this.stalled.has(channel.name)) {
      this.suppressed++;
      return;
    }
    const index = this.#rules.findIndex((rule) => this.sent >= rule.atMessage && rule.filter(channel));
    const rule = this.#rules[index];
    if (rule === undefined) {
      this.#writeData(channel, payload);
    } else {
      rule.remaining--;
      if (rule.remaining <= 0) this.#rules.splice(index, 1);
      switch (rule.kind) {
        case 'skip':
          this.#fault('skip');
          break;
        case 'duplicate':
          this.#writeData(channel, payload);
          this.#writeData(channel, payload);
          this.#fault('duplicate');
          break;
        case 'reorder':
          rule.held.push({ channel, payload });
          if (rule.remaining <= 0) this.#releaseShuffled(rule.held, rule.random);
          break;
        case 'malformed':
          this.#writeMalformed(rule, channel, payload);
          this.#writeData(channel, payload);
          break;
      }
    }
    this.#updateFaulty();
    this.#checkTriggers();
  }

  #releaseShuffled(held: { channel: StreamChannel; payload: string }[], random: SeededRandom): void {
    const order = held.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random.uniform() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    // A shuffle that changed nothing is no fault: reverse instead.
    if (order.every((value, i) => value === i)) order.reverse();
    for (const i of order) {
      const frame = held[i];
      if (frame !== undefined) this.#writeData(frame.channel, frame.payload);
    }
    this.#fault('reorder', held.length);
  }

  #writeMalformed(rule: FrameRule & { kind: 'malformed' }, channel: StreamChannel, payload: string): void {
    const text = this.combined ? `${channel.combinedPrefix}${payload}}` : payload;
    const writer = this.#writer;
    switch (rule.malformed) {
      case 'truncated':
        writer.asciiText('', text.slice(0, Math.max(1, Math.floor(text.length / 2))), '');
        break;
      case 'garbage':
        writer.asciiText('', text, '}garbage');
        break;
      case 'binary': {
        const junk = new Uint8Array(16);
        for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(rule.random.uniform() * 256);
        writer.bytes(OPCODE_BINARY, junk);
        break;
      }
      case 'bigint-id':
        writer.asciiText('', withBigId(text), '');
        break;
      case 'invalid-utf8':
        writer.bytes(OPCODE_TEXT, Uint8Array.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]));
        break;
      case 'oversized':
        writer.asciiText('{"e":"junk","pad":"', 'x'.repeat(Math.max(0, rule.bytes - 22)), '"}');
        break;
    }
    this.injected++;
    this.#fault('malformed');
    if (!this.#dirty) {
      this.#dirty = true;
      this.#hooks.markDirty(this);
    }
  }

  #checkTriggers(): void {
    for (let i = 0; i < this.#triggers.length; i++) {
      const trigger = this.#triggers[i] as Trigger;
      if (this.sent < trigger.atMessage) continue;
      this.#triggers.splice(i, 1);
      this.#updateFaulty();
      trigger.fire(this);
      return;
    }
  }

  /** Counts an inbound message against the rate limit; false (and a 1008 close) when over it. */
  #countInbound(): boolean {
    if (this.#closing) return false;
    const now = this.#hooks.clock.now();
    const inbound = this.#inbound;
    inbound.push(now);
    while (inbound.length > 0 && now - (inbound[0] as number) >= 1_000) inbound.shift();
    if (inbound.length > this.peakControlRate) this.peakControlRate = inbound.length;
    if (inbound.length <= this.#hooks.settings.controlRateLimit) return true;
    this.close(1008, 'Too many requests');
    return false;
  }

  #onPong(payload: string): void {
    const pings = this.#pings;
    const index = pings.findIndex((ping) => ping.payload === payload);
    if (index < 0) {
      // Unsolicited: tolerated, counted as inbound, keeps nothing alive.
      this.#countInbound();
      return;
    }
    pings.splice(0, index + 1);
    if (this.#pongTimer !== undefined) clearTimeout(this.#pongTimer);
    this.#pongTimer = undefined;
    this.#armPongDeadline();
  }

  #armPongDeadline(): void {
    const oldest = this.#pings[0];
    if (oldest === undefined || this.#pongTimer !== undefined) return;
    const wait = Math.max(0, oldest.at + this.#hooks.settings.pongTimeoutMs - this.#hooks.clock.now());
    this.#pongTimer = setTimeout(() => {
      this.#pongTimer = undefined;
      this.#hooks.counters.pongTimeouts++;
      this.terminate();
    }, wait);
  }

  #startTimers(): void {
    const settings = this.#hooks.settings;
    if (settings.pingIntervalMs > 0) {
      this.#pingTimer = setInterval(() => {
        if (!this.sendPings || !this.open) return;
        const payload = String(++this.#pingSeq);
        this.#pings.push({ payload, at: this.#hooks.clock.now() });
        this.#ws.ping(payload);
        this.#armPongDeadline();
      }, settings.pingIntervalMs);
    }
    const maxAge = settings.maxAgeMs;
    if (maxAge !== undefined) {
      const notice = settings.shutdownNoticeMs;
      if (notice !== undefined) {
        this.#timers.push(
          setTimeout(() => {
            this.sendShutdownNotice();
          }, Math.max(0, maxAge - notice)),
        );
      }
      this.#timers.push(
        setTimeout(() => {
          this.#hooks.counters.maxAgeCloses++;
          this.close(settings.maxAgeCloseCode, 'Connection reached its maximum age');
        }, maxAge),
      );
    }
  }

  #clearTimers(): void {
    if (this.#pingTimer !== undefined) clearInterval(this.#pingTimer);
    if (this.#pongTimer !== undefined) clearTimeout(this.#pongTimer);
    this.#pingTimer = undefined;
    this.#pongTimer = undefined;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.length = 0;
  }

  #onClose(code: number, reason: string): void {
    this.#closing = true;
    this.#clearTimers();
    this.#writer.discard();
    this.closedBy ??= 'client';
    this.closedAt = this.#hooks.clock.now();
    // A close the server started keeps the code it sent; the client's echo may differ.
    this.closeCode ??= code;
    this.closeReason ||= reason;
    this.#hooks.onClosed(this);
  }
}

/** The frame with its first trade or aggregate id (`"t":` or `"a":`) replaced by a 19-digit one. */
function withBigId(text: string): string {
  const match = /"([at])":([0-9]+)/.exec(text);
  if (match === null) return text;
  const big = (BIG_ID_BASE + BigInt(match[2] ?? '0')).toString();
  return `${text.slice(0, match.index)}"${match[1] ?? 'a'}":${big}${text.slice(match.index + match[0].length)}`;
}
