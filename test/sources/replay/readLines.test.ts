import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readLines } from '../../../src/sources/replay/readLines.js';

const dir = mkdtempSync(join(tmpdir(), 'alphaflow-lines-'));

async function all(path: string, chunkBytes?: number): Promise<{ lines: string[]; starts: number[] }> {
  const lines: string[] = [];
  const starts: number[] = [];
  for await (const batch of readLines(path, chunkBytes === undefined ? {} : { chunkBytes })) {
    expect(batch.firstLine, 'batches are numbered contiguously').toBe(lines.length + 1);
    starts.push(batch.firstLine);
    lines.push(...batch.lines);
  }
  return { lines, starts };
}

describe('readLines', () => {
  const text = 'alpha\r\nbeta\ngamma é\n\nlast-without-newline';
  const expected = ['alpha', 'beta', 'gamma é', '', 'last-without-newline'];

  it('splits plain text into numbered lines, whatever the chunk size', async () => {
    const path = join(dir, 'plain.txt');
    writeFileSync(path, text);
    expect((await all(path)).lines).toStrictEqual(expected);
    expect((await all(path, 3)).lines, 'multi-byte characters survive chunk boundaries').toStrictEqual(expected);
  });

  it('gunzips a gzip file by its magic bytes', async () => {
    const path = join(dir, 'packed.ndjson.gz');
    writeFileSync(path, gzipSync(text));
    expect((await all(path, 5)).lines).toStrictEqual(expected);
  });

  it('drops a UTF-8 byte order mark from the first line', async () => {
    const path = join(dir, 'bom.csv');
    writeFileSync(path, '\uFEFFopen_time,open\n1,2\n');
    expect((await all(path)).lines).toStrictEqual(['open_time,open', '1,2']);
  });

  it('names the file when it does not exist', async () => {
    await expect(all(join(dir, 'missing.csv'))).rejects.toThrow(`${join(dir, 'missing.csv')}: file not found`);
  });

  it('names the file when its gzip data is corrupt', async () => {
    const path = join(dir, 'broken.gz');
    const packed = gzipSync('x'.repeat(10_000));
    writeFileSync(path, Buffer.concat([packed.subarray(0, 20), Buffer.from('garbage-garbage-garbage')]));
    await expect(all(path)).rejects.toThrow(`${path}: corrupt gzip data`);
  });
});
