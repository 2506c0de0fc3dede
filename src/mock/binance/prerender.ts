/**
 * Frames made before the servers open, for benchmarks that need the mock to send faster than it
 * can simulate (PERFORMANCE.md B8: "a loopback server flooding pre-framed frames").
 *
 * {@link prerender} runs the exchange forward with nobody connected and keeps every frame of the
 * chosen streams, framed for a raw connection, in large buffers. In firehose mode a connection
 * that subscribes to such a stream is first sent those frames (slices of the buffers, no copy; a
 * combined connection gets each payload wrapped), then the live frames from the exchange's present
 * on, so ids stay contiguous. While any connection of the market is still being sent prerendered
 * frames, the market's clock does not move; once it has moved, the prerendered frames are history
 * and later connections get live frames only.
 */
import { quote } from '../../errors.js';
import type { SimExchange } from './simExchange.js';
import { GRID_MS } from './simExchange.js';
import type { StreamChannel, StreamSubscriber } from './streamChannel.js';
import type { StreamSpec } from './streamNames.js';

const CHUNK_BYTES = 4 * 1024 * 1024;

/** The prerendered frames of one stream. */
export class PrerenderedStream {
  readonly name: string;
  readonly channel: StreamChannel;
  /** Buffers of raw frames (header and payload), and where each frame starts in its buffer. */
  readonly chunks: Buffer[] = [];
  readonly starts: Uint32Array[] = [];
  frames = 0;
  bytes = 0;
  /** The exchange clock when the frames were made: they lead into the live ones only until it moves. */
  endTime = 0;
  #chunk: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  #used = 0;
  #offsets: number[] = [];

  constructor(channel: StreamChannel) {
    this.name = channel.name;
    this.channel = channel;
  }

  /** Appends one payload as a raw text frame. */
  add(payload: string): void {
    const length = payload.length;
    const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
    if (this.#used + header + length > this.#chunk.length) {
      this.seal();
      this.#chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, header + length));
    }
    const chunk = this.#chunk;
    let at = this.#used;
    this.#offsets.push(at);
    chunk[at++] = 0x81;
    if (header === 2) {
      chunk[at++] = length;
    } else if (header === 4) {
      chunk[at++] = 126;
      chunk[at++] = length >>> 8;
      chunk[at++] = length & 0xff;
    } else {
      chunk[at++] = 127;
      chunk.writeUInt32BE(Math.floor(length / 4_294_967_296), at);
      chunk.writeUInt32BE(length >>> 0, at + 4);
      at += 8;
    }
    this.#used = at + chunk.write(payload, at, 'latin1');
    this.frames++;
    this.bytes += header + length;
  }

  /** Closes the buffer being filled. */
  seal(): void {
    if (this.#offsets.length === 0) return;
    this.chunks.push(this.#chunk.subarray(0, this.#used));
    this.starts.push(Uint32Array.from(this.#offsets));
    this.#offsets = [];
    this.#used = 0;
  }
}

/** Where a connection is in a prerendered stream. */
export interface Playback {
  readonly stream: PrerenderedStream;
  /** Next buffer, and next frame in it. */
  chunk: number;
  frame: number;
}

/** Header length of the raw frame starting at `start`. */
export function headerLength(chunk: Buffer, start: number): number {
  const length = (chunk[start + 1] ?? 0) & 0x7f;
  return length < 126 ? 2 : length === 126 ? 4 : 10;
}

/**
 * Runs `exchange` forward until the `specs` streams together have at least `frames` frames, and
 * returns them per stream name.
 */
export function prerender(exchange: SimExchange, specs: readonly StreamSpec[], frames: number): Map<string, PrerenderedStream> {
  const out = new Map<string, PrerenderedStream>();
  let total = 0;
  const capture: StreamSubscriber = {
    deliver(channel, payload) {
      out.get(channel.name)?.add(payload);
      total++;
    },
  };
  for (const spec of specs) {
    if (!exchange.subscribe(spec, capture)) throw new RangeError(`Cannot prerender ${quote(spec.name)}: its symbol is not listed on the mock ${exchange.market} exchange`);
    const channel = exchange.channel(spec.name);
    if (channel === undefined) throw new RangeError(`Cannot prerender ${quote(spec.name)}: no channel`);
    out.set(spec.name, new PrerenderedStream(channel));
  }
  // Streams can be quiet for a while (a 1m kline), but not forever: give up after a simulated year.
  const limit = exchange.now() + 365 * 86_400_000;
  while (total < frames && exchange.now() < limit) exchange.advanceTo(exchange.now() + GRID_MS);
  for (const spec of specs) exchange.unsubscribe(spec, capture);
  for (const stream of out.values()) {
    stream.seal();
    stream.endTime = exchange.now();
  }
  return out;
}
