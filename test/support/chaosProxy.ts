/**
 * `ChaosProxy` (reliability.md §6): a `node:net` TCP relay between the engine and the mock
 * exchange, for network-level faults the server cannot produce itself.
 *
 * - `blackHole(true)`: nothing is forwarded in either direction, every socket stays open (a
 *   half-open link). Bytes are held, not dropped: the relay stops reading, so TCP flow control
 *   keeps them in the kernel buffers as a real partition with retransmits would; new connections
 *   are accepted but held too. `blackHole(false)` lets everything through again.
 * - `resetAll()`: every connection is destroyed with a TCP RST on both sides.
 * - `resetMidFrame()`: waits for server-to-client bytes on an upgraded WebSocket, forwards a
 *   chunk only up to the middle of one of its frames, then RSTs both sides: the client sees a
 *   truncated frame followed by ECONNRESET.
 * - `latency(ms)`: each chunk is delivered `ms` after it was read, in order, both directions.
 * - `close()`: destroys every connection and closes the listener.
 */
import net from 'node:net';

export interface ChaosTarget {
  readonly host: string;
  readonly port: number;
}

/** What `resetMidFrame` did: the cut lies strictly inside a frame of `frameLength` bytes. */
export interface MidFrameCut {
  /** Bytes of the chunk forwarded to the client before the RST. */
  readonly forwarded: number;
  readonly chunkLength: number;
  /** Offset of the cut frame's header in the chunk, and the frame's length (header + payload). */
  readonly frameStart: number;
  readonly frameLength: number;
}

export interface ChaosProxy {
  readonly port: number;
  /** `ws://127.0.0.1:<port><path>`. */
  url(path?: string): string;
  blackHole(on: boolean): void;
  resetAll(): void;
  resetMidFrame(): Promise<MidFrameCut>;
  latency(ms: number): void;
  /** Connections accepted since start, and open now. */
  stats(): { readonly accepted: number; readonly open: number; readonly resets: number };
  close(): Promise<void>;
}

interface Frame {
  /** Offset of the frame header in the chunk; negative when it began in an earlier chunk. */
  readonly start: number;
  readonly length: number;
}

/**
 * Finds WebSocket frame boundaries in one direction of a connection: skips the HTTP upgrade
 * response, then walks frame headers (RFC 6455 §5.2) across chunk boundaries.
 */
class FrameTracker {
  #streamPos = 0;
  /** Absolute position of the next frame header; -1 while still inside the HTTP head. */
  #nextFrame = -1;
  #httpTail: Buffer = Buffer.alloc(0);
  /** Bytes from `#nextFrame` on that came in earlier chunks (an incomplete header). */
  #pending: Buffer = Buffer.alloc(0);

  feed(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    if (this.#nextFrame < 0) {
      const joined = Buffer.concat([this.#httpTail, chunk]);
      const end = joined.indexOf('\r\n\r\n');
      if (end < 0) {
        this.#httpTail = joined.subarray(Math.max(0, joined.length - 3));
        this.#streamPos += chunk.length;
        return frames;
      }
      this.#nextFrame = this.#streamPos - this.#httpTail.length + end + 4;
      this.#httpTail = Buffer.alloc(0);
    }
    const buf = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    const base = this.#streamPos - this.#pending.length;
    this.#pending = Buffer.alloc(0);
    for (;;) {
      const at = this.#nextFrame - base;
      if (at >= buf.length) break;
      const header = FrameTracker.#header(buf, at);
      if (header === undefined) {
        this.#pending = Buffer.from(buf.subarray(at));
        break;
      }
      frames.push({ start: this.#nextFrame - this.#streamPos, length: header });
      this.#nextFrame += header;
    }
    this.#streamPos += chunk.length;
    return frames;
  }

  /** Total frame length (header + payload) of the frame at `at`, or undefined if the header is incomplete. */
  static #header(buf: Buffer, at: number): number | undefined {
    if (buf.length < at + 2) return undefined;
    const second = buf[at + 1] as number;
    const mask = (second & 0x80) !== 0 ? 4 : 0;
    const short = second & 0x7f;
    if (short < 126) return 2 + mask + short;
    if (short === 126) return buf.length < at + 4 ? undefined : 4 + mask + buf.readUInt16BE(at + 2);
    return buf.length < at + 10 ? undefined : 10 + mask + Number(buf.readBigUInt64BE(at + 2));
  }
}

interface Settings {
  held: boolean;
  latencyMs: number;
}

/** One direction of a connection: reads `from`, writes `to`, in order, with optional delay. */
class Pipe {
  readonly #queue: { chunk: Buffer; due: number }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #ended = false;
  #draining = false;
  #stopped = false;
  /** Set while `resetMidFrame` is armed: sees each chunk (and its frames) first and may take it over. */
  intercept: ((chunk: Buffer, frames: readonly Frame[]) => boolean) | undefined;

  readonly from: net.Socket;
  readonly to: net.Socket;
  readonly settings: Settings;
  readonly frames: FrameTracker | undefined;

  constructor(from: net.Socket, to: net.Socket, settings: Settings, frames: FrameTracker | undefined) {
    this.from = from;
    this.to = to;
    this.settings = settings;
    this.frames = frames;
  }

  push(chunk: Buffer): void {
    if (this.#stopped) return;
    this.#queue.push({ chunk, due: performance.now() + this.settings.latencyMs });
    this.pump();
  }

  end(): void {
    this.#ended = true;
    this.pump();
  }

  /** Reading from `from` is allowed unless held by the black hole or waiting for `to` to drain. */
  get canRead(): boolean {
    return !this.settings.held && !this.#draining;
  }

  pump(): void {
    if (this.#stopped || this.#timer !== undefined || this.settings.held || this.to.destroyed) return;
    while (this.#queue.length > 0) {
      const head = this.#queue[0] as { chunk: Buffer; due: number };
      const wait = head.due - performance.now();
      if (wait > 0) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.pump();
        }, wait);
        return;
      }
      this.#queue.shift();
      const frames = this.frames?.feed(head.chunk) ?? [];
      if (this.intercept?.(head.chunk, frames) === true) return;
      if (!this.to.write(head.chunk) && !this.#draining) {
        this.#draining = true;
        this.from.pause();
        this.to.once('drain', () => {
          this.#draining = false;
          if (this.canRead && !this.from.destroyed) this.from.resume();
        });
      }
    }
    if (this.#ended && !this.to.writableEnded) this.to.end();
  }

  /** Forwards nothing more (the connection is being reset or closed). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
    this.intercept = undefined;
  }
}

class Relay {
  readonly upstream: net.Socket;
  readonly up: Pipe;
  readonly down: Pipe;
  readonly client: net.Socket;
  readonly #onClose: (relay: Relay) => void;
  #connected = false;

  constructor(client: net.Socket, target: ChaosTarget, settings: Settings, onClose: (relay: Relay) => void) {
    this.client = client;
    this.#onClose = onClose;
    this.upstream = net.connect({ host: target.host, port: target.port });
    this.up = new Pipe(client, this.upstream, settings, undefined);
    this.down = new Pipe(this.upstream, client, settings, new FrameTracker());
    for (const socket of [client, this.upstream]) {
      socket.setNoDelay(true);
      // Resets are the point of this proxy: an error is the expected end of a socket here.
      socket.on('error', () => undefined);
    }
    this.upstream.once('connect', () => {
      this.#connected = true;
      this.sync();
    });
    this.#wire(this.up);
    this.#wire(this.down);
    this.sync();
  }

  #wire(pipe: Pipe): void {
    pipe.from.on('data', (chunk: Buffer) => {
      pipe.push(chunk);
    });
    pipe.from.on('end', () => {
      pipe.end();
    });
    pipe.from.on('close', (hadError: boolean) => {
      if (hadError) this.reset();
      else pipe.end();
      if (this.client.destroyed && this.upstream.destroyed) this.#closed();
    });
  }

  /** Applies the black hole and backpressure state: reads only when forwarding is allowed. */
  sync(): void {
    const reading = (pipe: Pipe): void => {
      if (pipe.from.destroyed) return;
      if (this.#connected && pipe.canRead) pipe.from.resume();
      else pipe.from.pause();
    };
    reading(this.up);
    reading(this.down);
    this.up.pump();
    this.down.pump();
  }

  reset(): void {
    this.up.stop();
    this.down.stop();
    for (const socket of [this.client, this.upstream]) if (!socket.destroyed) socket.resetAndDestroy();
  }

  destroy(): void {
    this.up.stop();
    this.down.stop();
    this.client.destroy();
    this.upstream.destroy();
  }

  #done = false;
  #closed(): void {
    if (this.#done) return;
    this.#done = true;
    this.up.stop();
    this.down.stop();
    this.#onClose(this);
  }
}

export async function startChaosProxy(target: ChaosTarget): Promise<ChaosProxy> {
  const settings: Settings = { held: false, latencyMs: 0 };
  const relays = new Set<Relay>();
  let accepted = 0;
  let resets = 0;
  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    accepted += 1;
    relays.add(new Relay(client, target, settings, (relay) => relays.delete(relay)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('chaos proxy: no TCP address');
  const port = address.port;

  /** Resolvers of pending `resetMidFrame` calls, disarmed on `close()`. */
  const armed = new Set<(error: Error) => void>();

  return {
    port,
    url: (path = '') => `ws://127.0.0.1:${port}${path}`,
    blackHole(on) {
      settings.held = on;
      for (const relay of relays) relay.sync();
    },
    resetAll() {
      for (const relay of relays) {
        resets += 1;
        relay.reset();
      }
    },
    resetMidFrame() {
      return new Promise<MidFrameCut>((resolve, reject) => {
        const arm = (relay: Relay): void => {
          relay.down.intercept = (chunk, frames) => {
            // A frame with at least two bytes in this chunk: cut inside it, keep the rest back.
            const frame = frames.find((entry) => entry.start >= 0 && Math.min(entry.length, chunk.length - entry.start) >= 2);
            if (frame === undefined) return false;
            const inChunk = Math.min(frame.length, chunk.length - frame.start);
            const forwarded = frame.start + Math.max(1, Math.floor(inChunk / 2));
            disarm();
            resets += 1;
            relay.up.stop();
            relay.down.stop();
            relay.upstream.pause();
            relay.client.pause();
            relay.client.write(chunk.subarray(0, forwarded), () => {
              relay.reset();
            });
            resolve({ forwarded, chunkLength: chunk.length, frameStart: frame.start, frameLength: frame.length });
            return true;
          };
        };
        // Connections opened while armed are candidates too (the server's own listener ran first).
        const onConnection = (): void => {
          for (const relay of relays) if (relay.down.intercept === undefined) arm(relay);
        };
        const disarm = (): void => {
          for (const relay of relays) relay.down.intercept = undefined;
          server.off('connection', onConnection);
          armed.delete(reject);
        };
        armed.add(reject);
        server.on('connection', onConnection);
        for (const relay of relays) arm(relay);
      });
    },
    latency(ms) {
      settings.latencyMs = Math.max(0, ms);
    },
    stats: () => ({ accepted, open: relays.size, resets }),
    async close() {
      for (const reject of armed) reject(new Error('chaos proxy closed'));
      armed.clear();
      for (const relay of relays) relay.destroy();
      relays.clear();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}
