/**
 * Reads a text file as batches of lines, gunzipping it when it starts with the gzip magic bytes.
 * A chunked splitter: about 40 % faster than `readline` on NDJSON (PERFORMANCE.md, B7).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { SourceDataError } from '../../errors.js';

export interface LineBatch {
  /** The lines, without their line breaks. */
  readonly lines: readonly string[];
  /** 1-based number of the first line in the batch. */
  readonly firstLine: number;
}

const GZIP_MAGIC = [0x1f, 0x8b] as const;

async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  } finally {
    await handle.close();
  }
}

function describe(err: unknown, path: string): Error {
  const code = (err as { code?: unknown }).code;
  if (code === 'ENOENT') return new SourceDataError(path, 'file not found', { cause: err });
  if (code === 'EACCES') return new SourceDataError(path, 'permission denied', { cause: err });
  if (code === 'EISDIR') return new SourceDataError(path, 'is a directory, not a file', { cause: err });
  if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') return new SourceDataError(path, `corrupt gzip data (${code})`, { cause: err });
  return new SourceDataError(path, err instanceof Error ? err.message : String(err), { cause: err });
}

/** Batches of lines of `path`; the file is opened on first pull and closed when iteration ends. */
export async function* readLines(path: string, options: { chunkBytes?: number } = {}): AsyncGenerator<LineBatch, void, undefined> {
  let gzip: boolean;
  try {
    gzip = await isGzip(path);
  } catch (err) {
    throw describe(err, path);
  }
  const file = createReadStream(path, { highWaterMark: options.chunkBytes ?? 1 << 20 });
  const stream = gzip ? file.pipe(createGunzip()) : file;
  if (gzip) file.on('error', (err) => stream.destroy(err));
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let lineNo = 1;
  let first = true;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let text = rest + decoder.write(chunk);
      if (first) {
        first = false;
        // A UTF-8 byte order mark (spreadsheet exports) is not part of the first line.
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i] as string;
        if (line.endsWith('\r')) lines[i] = line.slice(0, -1);
      }
      if (lines.length > 0) {
        yield { lines, firstLine: lineNo };
        lineNo += lines.length;
      }
    }
    const last = rest + decoder.end();
    if (last.length > 0) yield { lines: [last.endsWith('\r') ? last.slice(0, -1) : last], firstLine: lineNo };
  } catch (err) {
    throw describe(err, path);
  } finally {
    file.destroy();
    if (gzip) stream.destroy();
  }
}
