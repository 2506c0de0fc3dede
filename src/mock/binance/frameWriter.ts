/**
 * Writes WebSocket frames for one connection and hands them to the socket in batches: the mock's
 * send path.
 *
 * `ws` does the handshake, reads the client's frames, and sends pings, pongs and the close frame.
 * Data frames are framed here (RFC 6455 §5.2: a server's frames are unmasked, so a frame is a 2,
 * 4 or 10 byte header and the payload) and written to the upgraded socket directly, many frames
 * per `write`, which is what lets one process send hundreds of thousands of frames a second.
 * This is safe because `ws` writes synchronously to the same socket when neither
 * permessage-deflate nor Blob payloads are in use (the server disables the first and never sends
 * the second), so frames from both writers reach the socket in call order.
 *
 * ASCII frames (every market-data payload) are collected as latin1 string pieces, header bytes
 * included, joined once per batch and converted by the socket in one pass. Frames that are not
 * ASCII (UTF-8 replies, binary junk) go out as buffers, in order.
 */
import type { Duplex } from 'node:stream';

/** A batch is handed to the socket once it holds this many bytes, without waiting for the flush. */
const BATCH_BYTES = 256 * 1024;

export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;

export class FrameWriter {
  readonly #socket: Duplex;
  /** Framed ASCII bytes as latin1 pieces, and earlier segments when other frames came between. */
  #text: string[] = [];
  #textBytes = 0;
  readonly #parts: (string | Buffer)[] = [];
  #partBytes = 0;

  constructor(socket: Duplex) {
    this.#socket = socket;
  }

  /** Bytes framed and not yet handed to the socket. */
  get pending(): number {
    return this.#textBytes + this.#partBytes;
  }

  /** A text frame of `prefix + payload + suffix`, all ASCII. */
  asciiText(prefix: string, payload: string, suffix: string): void {
    const length = prefix.length + payload.length + suffix.length;
    const head = header(OPCODE_TEXT, length);
    const text = this.#text;
    text.push(head);
    if (prefix.length > 0) text.push(prefix);
    text.push(payload);
    if (suffix.length > 0) text.push(suffix);
    this.#textBytes += head.length + length;
    if (this.#textBytes >= BATCH_BYTES) this.flush();
  }

  /** A text frame of any string, written as UTF-8. */
  text(payload: string): void {
    this.bytes(OPCODE_TEXT, Buffer.from(payload, 'utf8'));
  }

  /** A frame of raw bytes: a UTF-8 text, binary junk, or text bytes that are not valid UTF-8. */
  bytes(opcode: number, payload: Uint8Array): void {
    this.#seal();
    const head = Buffer.from(header(opcode, payload.length), 'latin1');
    this.#parts.push(Buffer.concat([head, payload]));
    this.#partBytes += head.length + payload.length;
  }

  /** Bytes that are already whole frames (prerendered), sent as they are. */
  framed(bytes: Buffer): void {
    this.#seal();
    this.#parts.push(bytes);
    this.#partBytes += bytes.length;
  }

  /** Hands the framed bytes to the socket. */
  flush(): void {
    this.#seal();
    const parts = this.#parts;
    if (parts.length === 0) return;
    const socket = this.#socket;
    if (parts.length > 1) socket.cork();
    for (const part of parts) {
      if (typeof part === 'string') socket.write(part, 'latin1');
      else socket.write(part);
    }
    if (parts.length > 1) socket.uncork();
    parts.length = 0;
    this.#partBytes = 0;
  }

  /** Forgets frames not yet flushed (the connection is being cut). */
  discard(): void {
    this.#text = [];
    this.#textBytes = 0;
    this.#parts.length = 0;
    this.#partBytes = 0;
  }

  /** Calls `callback` once the socket has drained its buffer (or closed). */
  whenDrained(callback: () => void): void {
    const socket = this.#socket;
    if (socket.destroyed || !socket.writableNeedDrain) {
      setImmediate(callback);
      return;
    }
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      callback();
    };
    socket.on('drain', done);
    socket.on('close', done);
  }

  /** Moves the ASCII batch into the list of parts. */
  #seal(): void {
    if (this.#textBytes === 0) return;
    this.#parts.push(this.#text.join(''));
    this.#partBytes += this.#textBytes;
    this.#text = [];
    this.#textBytes = 0;
  }
}

/** The frame header (FIN set, unmasked) as a latin1 string. */
function header(opcode: number, length: number): string {
  const first = 0x80 | opcode;
  if (length < 126) return String.fromCharCode(first, length);
  if (length < 65_536) return String.fromCharCode(first, 126, length >>> 8, length & 0xff);
  const high = Math.floor(length / 4_294_967_296);
  const low = length >>> 0;
  return String.fromCharCode(first, 127, high >>> 24, (high >>> 16) & 0xff, (high >>> 8) & 0xff, high & 0xff, low >>> 24, (low >>> 16) & 0xff, (low >>> 8) & 0xff, low & 0xff);
}
