/**
 * Collects what a Binance parser delivers for one frame, for assertions.
 */
import type { BinanceControl, BinanceParser, BinanceRecord } from '../../../src/sources/binance/parse.js';

export interface Parsed {
  readonly records: BinanceRecord[];
  readonly controls: BinanceControl[];
  readonly drops: string[];
}

export function parseFrame(parser: BinanceParser, frame: string, tsRecv: number, stream?: string): Parsed {
  const parsed: Parsed = { records: [], controls: [], drops: [] };
  parser.parse(
    frame,
    tsRecv,
    {
      record: (record) => parsed.records.push(record),
      control: (message) => parsed.controls.push(message),
      drop: (reason, text) => {
        if (text !== frame) throw new Error('a drop must carry the frame it came from');
        parsed.drops.push(reason);
      },
    },
    stream,
  );
  return parsed;
}

/** Wraps a payload in the combined-stream envelope. */
export function combined(stream: string, data: unknown): string {
  return JSON.stringify({ stream, data });
}
