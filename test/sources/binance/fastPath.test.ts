/**
 * The fast path of the Binance parser (`tradeFrameScanner.ts`, used by `FrameParser.#fastTrade`)
 * against its `JSON.parse` path. Whatever the fast path takes must come out exactly as the
 * `JSON.parse` path would deliver it: the same records with the same keys in the same order and
 * the same values (0 and -0 differ), the same drops and controls. Checked on every frame of the
 * real captures, on seeded mutants of trade frames, with deliberately broken scanners, and at the
 * edges the scanner declines.
 *
 * Outcomes are compared by a serialisation written here ({@link canonical}), not only by the
 * `fastPathMismatch` under test, and the share of frames the fast path took is asserted, so that
 * no test can pass by the fast path declining everything.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../../src/errors.js';
import type { BinanceMarket, BinanceParser, BinanceParserOptions, BinanceRecord, FrameOutcome } from '../../../src/sources/binance/parse.js';
import { createBinanceParser, createBinanceParserWithScanner, fastPathMismatch } from '../../../src/sources/binance/parse.js';
import { DEFAULT_MAX_AHEAD_MS, EARLIEST_EVENT_TIME } from '../../../src/sources/binance/payloads.js';
import { TradeFrameScanner } from '../../../src/sources/binance/tradeFrameScanner.js';
import { createCryptofeedReader } from '../../../src/sources/replay/cryptofeedReader.js';
import { hasSharedData, sharedData } from '../../support/data.js';

const DAY = 86_400_000;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** What `parser` delivers for one frame, in order. A drop must carry the frame it came from. */
function outcomesOf(parser: BinanceParser, frame: string, tsRecv: number, stream?: string): FrameOutcome[] {
  const outcomes: FrameOutcome[] = [];
  parser.parse(
    frame,
    tsRecv,
    {
      record: (record) => outcomes.push({ kind: 'record', record }),
      control: (message) => outcomes.push({ kind: 'control', message }),
      drop: (reason, text) => {
        if (text !== frame) throw new Error(`a drop carried ${JSON.stringify(text)} instead of its frame`);
        outcomes.push({ kind: 'drop', reason });
      },
    },
    stream,
  );
  return outcomes;
}

/**
 * A serialisation that keeps what the two paths must agree on: key order, -0 against 0, NaN,
 * undefined values, and the type of every value.
 */
function canonical(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? 'number:-0' : `number:${String(value)}`;
  if (typeof value === 'string') return `string:${JSON.stringify(value)}`;
  if (typeof value !== 'object' || value === null) return `${typeof value}:${String(value)}`;
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([key, inner]) => `${JSON.stringify(key)}:${canonical(inner)}`)
    .join(',')}}`;
}

/** The fast path on, the fast path off, and both checked against each other, with the same options. */
class Parsers {
  readonly fast: BinanceParser;
  readonly slow: BinanceParser;
  readonly verify: BinanceParser;

  constructor(options: BinanceParserOptions) {
    this.fast = createBinanceParser({ ...options, fastPath: true });
    this.slow = createBinanceParser({ ...options, fastPath: false });
    this.verify = createBinanceParser({ ...options, verifyFastPath: true });
  }

  /**
   * Runs the frame through all three; returns undefined when they agree, else what differs. `took`
   * tells whether the fast path decoded the frame.
   */
  compare(frame: string, tsRecv: number, stream?: string): { readonly problem: string | undefined; readonly took: boolean; readonly slow: FrameOutcome[] } {
    const before = this.fast.fastPathFrames;
    const fast = outcomesOf(this.fast, frame, tsRecv, stream);
    const took = this.fast.fastPathFrames !== before;
    const slow = outcomesOf(this.slow, frame, tsRecv, stream);
    let verified: FrameOutcome[];
    try {
      verified = outcomesOf(this.verify, frame, tsRecv, stream);
    } catch (err) {
      return { problem: `verifyFastPath threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, took, slow };
    }
    const fastText = canonical(fast);
    const slowText = canonical(slow);
    if (fastText !== slowText) return { problem: `fast path ${fastText} vs JSON.parse ${slowText}`, took, slow };
    if (fastPathMismatch(fast, slow) !== undefined) return { problem: `fastPathMismatch reports a difference on equal outcomes: ${fastPathMismatch(fast, slow)}`, took, slow };
    if (canonical(verified) !== slowText) return { problem: `verifyFastPath delivered ${canonical(verified)} instead of the JSON.parse outcomes ${slowText}`, took, slow };
    if (took && (slow.length !== 1 || slow[0]?.kind !== 'record' || slow[0].record.type !== 'trade')) return { problem: `the fast path took a frame that is not one trade: ${slowText}`, took, slow };
    return { problem: undefined, took, slow };
  }
}

/** The payload of a frame, read the plain way: the `data` of an envelope, else the frame itself. */
function payloadOf(frame: string): Record<string, unknown> | undefined {
  const value: unknown = JSON.parse(frame);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const object = value as Record<string, unknown>;
  const data = object.data;
  if (typeof object.stream === 'string' && typeof data === 'object' && data !== null && !Array.isArray(data)) return data as Record<string, unknown>;
  return object;
}

// ---------------------------------------------------------------------------------------------
// 1. Golden: every frame of the real captures
// ---------------------------------------------------------------------------------------------

const CRYPTOFEED_SPOT = ['ws-messages/cryptofeed/binance-spot_BTCUSDT-ETHUSDT-DOTUSDT_2021-04-04.jsonl.gz', 'ws-messages/cryptofeed/binance-spot_NKNUSDT-BLZETH-LRCBTC-RUNEEUR_2021-10-12.jsonl.gz'];
/** Not parsed by alphaflow (its symbols are dated or `_PERP`), but its frames are real Binance text all the same. */
const CRYPTOFEED_COINM = 'ws-messages/cryptofeed/binance-coinm-futures_multi_2021-07-22.jsonl.gz';
const TARDIS = ['binance-spot', 'binance-usdm-futures', 'binance-coinm-futures'].map((name) => `ws-messages/tardis-node-fixtures/${name}.messages.json`);
/** The tardis fixtures span 2019 to April 2021: received just after the latest of them. */
const TARDIS_RECV = 1_620_000_000_000;

const goldenData = hasSharedData(...CRYPTOFEED_SPOT, CRYPTOFEED_COINM, ...TARDIS);

interface CapturedFrame {
  readonly frame: string;
  readonly tsRecv: number;
  readonly stream?: string;
}

/** The received frames of a cryptofeed capture, as replay reads them (re-encoded with `JSON.stringify`). */
function cryptofeedFrames(file: string): CapturedFrame[] {
  const read = createCryptofeedReader();
  const frames: CapturedFrame[] = [];
  gunzipSync(readFileSync(sharedData(file)))
    .toString('utf8')
    .split('\n')
    .forEach((text, index) => {
      const entry = read(text, index + 1);
      if (entry === undefined) return;
      if (entry.kind === 'invalid') throw new Error(`${file}:${entry.line}: ${entry.reason}`);
      if (entry.kind !== 'recv') return;
      frames.push(entry.stream === undefined ? { frame: entry.frame, tsRecv: entry.time } : { frame: entry.frame, tsRecv: entry.time, stream: entry.stream });
    });
  return frames;
}

/** Each tardis message in its combined envelope, re-encoded as a frame (as fixtures.test.ts does). */
function tardisFrames(file: string): CapturedFrame[] {
  return (JSON.parse(readFileSync(sharedData(file), 'utf8')) as unknown[]).map((message) => ({ frame: JSON.stringify(message), tsRecv: TARDIS_RECV }));
}

interface GoldenRun {
  readonly frames: number;
  readonly problems: string[];
  /** Trade records from trade and aggTrade frames, counted from the `JSON.parse` path's outcomes. */
  readonly tradeRecords: number;
  readonly tradeFrames: number;
  readonly fastPathFrames: number;
  readonly verifyFastPathFrames: number;
  readonly slowFastPathFrames: number;
}

function golden(frames: readonly CapturedFrame[], market: BinanceMarket): GoldenRun {
  const parsers = new Parsers({ market });
  const problems: string[] = [];
  let tradeRecords = 0;
  let tradeFrames = 0;
  for (const { frame, tsRecv, stream } of frames) {
    const { problem, slow } = parsers.compare(frame, tsRecv, stream);
    if (problem !== undefined) problems.push(`${frame}: ${problem}`);
    const e = payloadOf(frame)?.e;
    if (e !== 'trade' && e !== 'aggTrade') continue;
    tradeFrames++;
    if (slow.length === 1 && slow[0]?.kind === 'record' && slow[0].record.type === 'trade') tradeRecords++;
  }
  return {
    frames: frames.length,
    problems: problems.slice(0, 5),
    tradeRecords,
    tradeFrames,
    fastPathFrames: parsers.fast.fastPathFrames,
    verifyFastPathFrames: parsers.verify.fastPathFrames,
    slowFastPathFrames: parsers.slow.fastPathFrames,
  };
}

describe.skipIf(!goldenData)('the Binance fast path on real captures', () => {
  it.each(CRYPTOFEED_SPOT)('does deliver exactly what JSON.parse delivers on every frame of %s, and takes every aggTrade', (file) => {
    const frames = cryptofeedFrames(file);
    const run = golden(frames, 'spot');
    expect(run.problems, 'the fast path agrees with JSON.parse on every real frame').toStrictEqual([]);
    expect(run.tradeRecords, 'every real aggTrade frame is a trade record').toBe(run.tradeFrames);
    expect(run.tradeRecords, 'the capture has trades to take').toBeGreaterThan(0);
    expect(run.fastPathFrames, 'the fast path took every trade frame that became a record').toBe(run.tradeRecords);
    expect(run.verifyFastPathFrames, 'verifyFastPath ran the fast path on the same frames').toBe(run.tradeRecords);
    expect(run.slowFastPathFrames, 'fastPath: false never takes the fast path').toBe(0);
  });

  it('does take the 1,912 aggTrades of the two spot captures, the bulk of their trade traffic', () => {
    const runs = CRYPTOFEED_SPOT.map((file) => golden(cryptofeedFrames(file), 'spot'));
    expect(runs.reduce((sum, run) => sum + run.fastPathFrames, 0)).toBe(1_912);
    expect(runs.reduce((sum, run) => sum + run.frames, 0), 'all received frames were compared').toBe(4_981);
  });

  it('does agree with JSON.parse on the spot captures read as USD-M too (venue and dispatch differ)', () => {
    for (const file of CRYPTOFEED_SPOT) {
      const run = golden(cryptofeedFrames(file), 'usdm');
      expect(run.problems, file).toStrictEqual([]);
      expect(run.fastPathFrames, file).toBe(run.tradeRecords);
      expect(run.tradeRecords, file).toBe(run.tradeFrames);
    }
  });

  it.each(['spot', 'usdm'] as const)('does agree with JSON.parse on every COIN-M capture frame, read as %s, and takes no unrecognised symbol', (market) => {
    const run = golden(cryptofeedFrames(CRYPTOFEED_COINM), market);
    expect(run.problems).toStrictEqual([]);
    expect(run.frames, 'the capture has frames').toBeGreaterThan(4_000);
    expect(run.tradeFrames, 'the capture has aggTrades').toBe(51);
    expect(run.tradeRecords, 'COIN-M symbols have no canonical form: every aggTrade is dropped').toBe(0);
    expect(run.fastPathFrames, 'a frame the JSON.parse path drops is never taken').toBe(0);
  });

  it.each([
    [TARDIS[0] as string, 'spot', 2],
    [TARDIS[1] as string, 'usdm', 2],
    [TARDIS[2] as string, 'usdm', 0],
  ] as const)('does agree with JSON.parse on every message of %s (%s) and take its %i trade records', (file, market, trades) => {
    const run = golden(tardisFrames(file), market);
    expect(run.problems).toStrictEqual([]);
    expect(run.tradeRecords, 'trade records in the fixture, read off the file by hand').toBe(trades);
    expect(run.fastPathFrames, 'the fast path took every trade frame that became a record').toBe(trades);
    expect(run.verifyFastPathFrames).toBe(trades);
    // The other market reads the same text: the fast path must still agree.
    const other = golden(tardisFrames(file), market === 'spot' ? 'usdm' : 'spot');
    expect(other.problems).toStrictEqual([]);
    expect(other.fastPathFrames).toBe(other.tradeRecords);
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Differential fuzz
// ---------------------------------------------------------------------------------------------

/** mulberry32: small, seedable, good enough to pick mutations. */
class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** `count` decimal digits, the first one not 0 unless `count` is 1. */
  digits(count: number): string {
    let text = count === 1 ? String(this.int(10)) : String(1 + this.int(9));
    while (text.length < count) text += String(this.int(10));
    return text;
  }
}

const SEED = parseSeed(process.env.FAST_PATH_SEED) ?? 0x5eed_f457;
const MUTANTS = 24_000;
/** Receive time of every mutant: 2023-11-14. Generated event times lie up to 30 days before it. */
const TS_RECV = 1_700_000_000_000;

function parseSeed(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) throw new Error(`FAST_PATH_SEED ${JSON.stringify(text)} is not an integer`);
  return seed;
}

/** One member of a payload: the key and the value's JSON text, written as is. */
interface Member {
  key: string;
  value: string;
}

interface Shape {
  readonly name: string;
  readonly market: BinanceMarket;
  readonly event: 'aggTrade' | 'trade';
  /** The keys in the order Binance sends them on this market. */
  readonly keys: readonly string[];
}

const SHAPES: readonly Shape[] = [
  { name: 'spot aggTrade', market: 'spot', event: 'aggTrade', keys: ['e', 'E', 's', 'a', 'p', 'q', 'f', 'l', 'T', 'm', 'M'] },
  { name: 'usdm aggTrade', market: 'usdm', event: 'aggTrade', keys: ['e', 'E', 'a', 's', 'p', 'q', 'f', 'l', 'T', 'm'] },
  { name: 'usdm aggTrade with nq', market: 'usdm', event: 'aggTrade', keys: ['e', 'E', 'a', 's', 'p', 'q', 'nq', 'f', 'l', 'T', 'm'] },
  { name: 'spot trade', market: 'spot', event: 'trade', keys: ['e', 'E', 's', 't', 'p', 'q', 'T', 'm', 'M'] },
  { name: 'old spot trade', market: 'spot', event: 'trade', keys: ['e', 'E', 's', 't', 'p', 'q', 'b', 'a', 'T', 'm', 'M'] },
  { name: 'usdm trade', market: 'usdm', event: 'trade', keys: ['e', 'E', 'T', 's', 't', 'p', 'q', 'X', 'm'] },
  { name: 'usdm trade without X', market: 'usdm', event: 'trade', keys: ['e', 'E', 'T', 's', 't', 'p', 'q', 'm'] },
];

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'DOTUSDT', 'ETHBTC', 'BNBBTC', 'LRCBTC', 'RUNEEUR', '1000PEPEUSDT', 'btcusdt'];

const json = (text: string): string => JSON.stringify(text);

/** Values that are wrong, odd or at an edge, as JSON text (some of it is not valid JSON). */
const INTEGER_SPECIALS = [
  '0',
  '-0',
  '-1',
  '00',
  '01',
  '007',
  '+1',
  '.5',
  '0.5',
  '1.',
  '1e',
  '1e3',
  '1E3',
  '1e+3',
  '1.0',
  '1617566591326.0',
  '1.617566591326e12',
  '16175665913260e-1',
  '-1617566591326',
  '1234567890123456',
  '12345678901234567',
  '1234567890123456789',
  '12345678901234567890',
  '99999999999999999999',
  '9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '18014398509481984',
  '0x10',
  'Infinity',
  'NaN',
  json('123'),
  'null',
  'true',
  'false',
  '{}',
  '[]',
  '[1]',
  '{"a":1}',
  ' 1',
  '1 ',
  `${EARLIEST_EVENT_TIME}`,
  `${EARLIEST_EVENT_TIME - 1}`,
  `${TS_RECV + DEFAULT_MAX_AHEAD_MS}`,
  `${TS_RECV + DEFAULT_MAX_AHEAD_MS + 1}`,
  `${TS_RECV}`,
  `0${TS_RECV}`,
  `${TS_RECV}.0`,
  `${TS_RECV / 1000}e3`,
  `${Math.floor(TS_RECV / 1000)}`,
];

const DECIMAL_SPECIALS = [
  json(''),
  json('0'),
  json('0.0'),
  json('0.00000000'),
  json('1.'),
  json('.5'),
  json('1e5'),
  json('1E5'),
  json('-1'),
  json('+1'),
  json('-0'),
  json('NaN'),
  json('Infinity'),
  json('00.1'),
  json('01'),
  json('0001.50000000'),
  json(' 1'),
  json('1 '),
  json('1,5'),
  json('1.2.3'),
  json('0x10'),
  json('9'.repeat(30)),
  json(`${'9'.repeat(400)}.5`),
  json('1'.repeat(309)),
  json('123456789012345678.123'),
  json('9007199254740993'),
  json('9007199254740991'),
  json('900719925474099.1'),
  json('0.0000000000000000000001'),
  json('0.00000000000000000000001'),
  json('1.00000000000000000000001'),
  '"\\u0031.5"',
  '"1\\u002e5"',
  json('１'),
  json('1½'),
  '1.5',
  '1',
  'null',
  'true',
  '[]',
  '{}',
  '["1"]',
];

const BOOLEAN_SPECIALS = ['"true"', '"false"', '1', '0', 'null', 'True', 'FALSE', 'tru', 'truex', 'falsey', 'true1', '[]', '{}', '"m"'];
const EVENT_SPECIALS = ['"aggTrade"', '"trade"', '"aggtrade"', '"AggTrade"', '"trade "', '"\\u0074rade"', '"aggTrad\\u0065"', '"depthUpdate"', '"kline"', 'null', '5', '"tradeX"', '"aggTradee"', '""', '"aggTrade\\\\"', '["trade"]'];
const SYMBOL_SPECIALS = ['"btcusdt"', '""', '"BTCUSDT_240927"', '"BTC\\u0055SDT"', json('BTCÜSDT'), '"FOOBAR"', '"BTC-USDT"', '"USDT"', '42', 'null', '"BTCUSDT "', '"\\"BTCUSDT"', '"BTCUSD_PERP"', '"ETHBTC"'];
const STATUS_SPECIALS = ['"MARKET"', '"INSURANCE_FUND"', '"ADL"', 'null', '"market"', '"MARKET "', '"MARK\\u0045T"', '"MARKETS"', '1', '""', '"NA"'];
/** Any value, for fields alphaflow does not read (and, duplicated or swapped in, for those it does). */
const ANY_VALUES = [
  '1',
  '-1',
  '0',
  '-0',
  '1.5',
  '-0.0e-0',
  '1e400',
  '123456789012345678901234567890',
  'true',
  'false',
  'null',
  '"x"',
  '""',
  '"\\u0041"',
  '"\\\\\\""',
  '"\\n"',
  json('é'),
  json('😀'),
  '"\ud800"',
  '"\u0001"',
  '"\u007f"',
  '"tab\there"',
  '{}',
  '[]',
  '{"a":1}',
  '[1,"2",[3]]',
  '"MARKET"',
  '01',
  '1.',
  '-',
  '.1',
  'nul',
  '"unterminated',
];
const EXTRA_KEYS = ['f', 'l', 'M', 'nq', 'st', 'ps', 'b', 'X', 'x', 'Z', 'zz', 'E2', 'ee', '', ' ', 'k'.repeat(40), 'stream', 'id', 'result', 'error', 'data', '__proto__', 'constructor', 'toString', 'streams', 'ids', 'i', 'd'];
/** Keys a key may be renamed to; JSON text, so some are escaped or broken. */
const KEY_SPECIALS = ['"stream"', '"id"', '"result"', '"error"', '"__proto__"', '"data"', '"E"', '"e"', '"T"', '"t"', '"a"', '"\\u0045"', '"E "', '"EE"', json('É'), '"\u0001"', '""', 'E', "'E'", '"E"\u0020'];

const ALPHABET = ['{', '}', '[', ']', '"', ':', ',', '.', '-', '+', 'e', 'E', '0', '1', '5', '9', ' ', '\t', '\n', '\\', 'a', 't', 'n', 'u', 'x', '/', 'é', '€', '\u0000', '\ud83d'];

class Generator {
  readonly #random: Random;

  constructor(random: Random) {
    this.#random = random;
  }

  time(): string {
    const r = this.#random;
    if (r.chance(0.05)) return r.pick([`${EARLIEST_EVENT_TIME}`, `${TS_RECV + DEFAULT_MAX_AHEAD_MS}`, `${TS_RECV + DEFAULT_MAX_AHEAD_MS - 1}`, `${TS_RECV}`]);
    return String(TS_RECV - r.int(30 * DAY));
  }

  id(): string {
    const r = this.#random;
    const roll = r.next();
    if (roll < 0.05) return '0';
    if (roll < 0.15) return r.pick([String(Number.MAX_SAFE_INTEGER), String(Number.MAX_SAFE_INTEGER - 1), '1000000000000000', '9007199254740990']);
    if (roll < 0.25) return String(r.int(Number.MAX_SAFE_INTEGER));
    return String(r.int(2 ** 34));
  }

  /** A positive dec-string as Binance writes it: `43210.15000000`, `0.00426990`, `7`. */
  decimal(): string {
    const r = this.#random;
    const whole = r.chance(0.3) ? '0' : r.digits(1 + r.int(r.chance(0.1) ? 15 : 6));
    const decimals = r.pick([0, 1, 2, 3, 5, 8, 8, 8, r.int(23)]);
    let fraction = '';
    for (let k = 0; k < decimals; k++) fraction += String(r.int(10));
    if (whole === '0' && !/[1-9]/.test(fraction)) return String(1 + r.int(9));
    return decimals === 0 ? whole : `${whole}.${fraction}`;
  }

  /** A valid value for a key of the payload. */
  valid(key: string, shape: Shape, symbol: string): string {
    const r = this.#random;
    switch (key) {
      case 'e':
        return json(shape.event);
      case 'E':
      case 'T':
        return this.time();
      case 's':
        return json(symbol);
      case 'a':
      case 't':
      case 'f':
      case 'l':
      case 'b':
        return this.id();
      case 'p':
      case 'q':
      case 'nq':
        return json(this.decimal());
      case 'm':
      case 'M':
        return r.chance(0.5) ? 'true' : 'false';
      case 'X':
        return '"MARKET"';
      default:
        return r.pick(ANY_VALUES.slice(0, 13));
    }
  }

  /** A wrong or odd value for `key`. */
  special(key: string): string {
    const r = this.#random;
    if (r.chance(0.15)) return r.pick(ANY_VALUES);
    switch (key) {
      case 'e':
        return r.pick(EVENT_SPECIALS);
      case 'E':
      case 'T':
      case 'a':
      case 't':
      case 'f':
      case 'l':
      case 'b':
        return r.pick(INTEGER_SPECIALS);
      case 'p':
      case 'q':
      case 'nq':
        return r.pick(DECIMAL_SPECIALS);
      case 'm':
      case 'M':
        return r.pick(BOOLEAN_SPECIALS);
      case 's':
        return r.pick(SYMBOL_SPECIALS);
      case 'X':
        return r.pick(STATUS_SPECIALS);
      default:
        return r.pick(ANY_VALUES);
    }
  }

  /** A valid frame: the shape's keys, sometimes reordered or with unknown fields, maybe in an envelope. */
  base(): { shape: Shape; symbol: string; members: Member[]; stream: string | undefined } {
    const r = this.#random;
    const shape = r.pick(SHAPES);
    const symbol = r.pick(SYMBOLS);
    const members = shape.keys.map((key) => ({ key, value: this.valid(key, shape, symbol) }));
    if (r.chance(0.2)) shuffle(r, members);
    if (r.chance(0.25)) {
      const present = new Set(members.map((member) => member.key));
      const extras = ['f', 'l', 'M', 'nq', 'st', 'ps', 'b', 'x', 'zz', 'k'.repeat(40), 'result', 'error', 'data', '__proto__'].filter((key) => !present.has(key));
      for (let n = 1 + r.int(3); n > 0 && extras.length > 0; n--) {
        const [key] = extras.splice(r.int(extras.length), 1);
        if (key !== undefined) members.splice(r.int(members.length + 1), 0, { key, value: this.valid(key, shape, symbol) });
      }
    }
    const stream = r.chance(0.5) ? `${symbol.toLowerCase()}@${shape.event}` : undefined;
    return { shape, symbol, members, stream };
  }
}

function shuffle(random: Random, items: unknown[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const a = items[i];
    items[i] = items[j];
    items[j] = a;
  }
}

/** Writes members as a payload; `rawKeys` holds keys already written as JSON text (renamed keys). */
function payloadText(members: readonly Member[], rawKeys: ReadonlySet<Member>): string {
  return `{${members.map((member) => `${rawKeys.has(member) ? member.key : json(member.key)}:${member.value}`).join(',')}}`;
}

function frameText(payload: string, stream: string | undefined): string {
  return stream === undefined ? payload : `{"stream":${json(stream)},"data":${payload}}`;
}

/** Keys alphaflow reads: most mutations aim at them. */
const READ_KEYS = ['e', 'E', 'T', 's', 'a', 't', 'p', 'q', 'm', 'X'];

interface Mutant {
  readonly frame: string;
  readonly market: BinanceMarket;
  readonly mutations: readonly string[];
}

/** A valid trade frame with 0 to 3 mutations. */
function mutant(random: Random, generator: Generator): Mutant {
  const r = random;
  const { shape, symbol, members, stream: baseStream } = generator.base();
  let stream = baseStream;
  const rawKeys = new Set<Member>();
  const mutations: string[] = [];
  const count = r.chance(0.1) ? 0 : 1 + r.int(3);
  const target = (): Member | undefined => {
    const wanted = r.chance(0.8) ? members.filter((member) => READ_KEYS.includes(member.key)) : members;
    return wanted.length === 0 ? undefined : r.pick(wanted);
  };
  const textMutations: ((frame: string) => string)[] = [];
  for (let n = 0; n < count; n++) {
    const roll = r.int(18);
    switch (roll) {
      case 0: {
        const member = target();
        if (member === undefined) break;
        members.splice(members.indexOf(member), 1);
        mutations.push(`delete ${member.key}`);
        break;
      }
      case 1: {
        const member = target();
        if (member === undefined) break;
        const copy = { key: member.key, value: r.chance(0.5) ? generator.valid(member.key, shape, symbol) : generator.special(member.key) };
        members.splice(r.int(members.length + 1), 0, copy);
        mutations.push(`duplicate ${member.key}=${copy.value}`);
        break;
      }
      case 2: {
        const i = r.int(members.length);
        const j = r.int(members.length);
        const a = members[i];
        const b = members[j];
        if (a === undefined || b === undefined) break;
        members[i] = b;
        members[j] = a;
        mutations.push(`swap ${a.key} ${b.key}`);
        break;
      }
      case 3:
        shuffle(r, members);
        mutations.push('shuffle');
        break;
      case 4:
      case 5:
      case 6: {
        const member = target();
        if (member === undefined) break;
        member.value = generator.special(member.key);
        mutations.push(`${member.key}=${member.value}`);
        break;
      }
      case 7:
      case 13: {
        // A valid value that differs: the fast path should still take the frame.
        const member = target();
        if (member === undefined) break;
        member.value = generator.valid(member.key, shape, symbol);
        mutations.push(`valid ${member.key}=${member.value}`);
        break;
      }
      case 8: {
        const key = r.pick(EXTRA_KEYS);
        const value = r.chance(0.6) ? r.pick(ANY_VALUES.slice(0, 13)) : r.pick(ANY_VALUES);
        members.splice(r.int(members.length + 1), 0, { key, value });
        mutations.push(`extra ${json(key)}:${value}`);
        break;
      }
      case 9: {
        const member = target();
        if (member === undefined) break;
        mutations.push(`rename ${member.key}`);
        member.key = r.pick(KEY_SPECIALS);
        rawKeys.add(member);
        mutations.push(`to ${member.key}`);
        break;
      }
      case 10: {
        // Around MAX_LONG_KEYS (16) fields with names longer than one character.
        const many = 14 + r.int(6);
        for (let k = 0; k < many; k++) members.push({ key: `x${k}`, value: String(k) });
        mutations.push(`${many} long keys`);
        break;
      }
      case 11: {
        // A frame close to MAX_FRAME (1024 characters) on either side.
        mutations.push('pad');
        textMutations.push((frame) => pad(frame, 1_021 + r.int(7)));
        break;
      }
      case 12: {
        const envelope = r.pick(['none', 'odd stream', 'escaped stream', 'non-ASCII stream', 'number stream', 'empty stream']);
        mutations.push(`envelope ${envelope}`);
        if (envelope === 'none') stream = undefined;
        else if (envelope === 'odd stream') stream = 'x@y"z';
        else if (envelope === 'escaped stream') textMutations.push((frame) => (frame.startsWith('{"stream":"') ? `{"stream":"\\u0062${frame.slice('{"stream":"'.length)}` : frame));
        else if (envelope === 'non-ASCII stream') stream = 'btcusdt@aggTrade€';
        else if (envelope === 'number stream') textMutations.push((frame) => `{"stream":1,"data":${frame}}`);
        else stream = '';
        break;
      }
      default: {
        const kind = r.pick(['delete', 'insert', 'replace', 'whitespace', 'truncate', 'trailing', 'tail', 'leading', 'wrap', 'array']);
        mutations.push(`text ${kind}`);
        textMutations.push((frame) => textMutation(r, kind, frame));
      }
    }
  }
  let frame = frameText(payloadText(members, rawKeys), stream);
  for (const mutate of textMutations) frame = mutate(frame);
  return { frame, market: shape.market, mutations };
}

/** Adds an unknown string field to reach `length` characters, when the frame ends with `}`. */
function pad(frame: string, length: number): string {
  const filler = ',"pad":""';
  const missing = length - frame.length - filler.length;
  if (missing < 0 || !frame.endsWith('}')) return frame;
  const at = frame.endsWith('}}') && frame.startsWith('{"stream":') ? frame.length - 2 : frame.length - 1;
  return `${frame.slice(0, at)},"pad":"${'_'.repeat(missing)}"${frame.slice(at)}`;
}

function textMutation(random: Random, kind: string, frame: string): string {
  const r = random;
  const at = r.int(frame.length + 1);
  switch (kind) {
    case 'delete':
      return frame.slice(0, at) + frame.slice(at + 1);
    case 'insert':
      return frame.slice(0, at) + r.pick(ALPHABET) + frame.slice(at);
    case 'replace':
      return frame.slice(0, at) + r.pick(ALPHABET) + frame.slice(at + 1);
    case 'whitespace':
      return frame.slice(0, at) + r.pick([' ', '\t', '\n', '\r', '  ', '\u00a0']) + frame.slice(at);
    case 'truncate':
      return frame.slice(0, at);
    case 'trailing':
      return frame + r.pick([' ', '\n', 'x', '}', ',', '{}', '\u0000', 'null']);
    case 'tail': {
      // One of the closing braces replaced, dropped or doubled.
      const end = frame.length - 1 - r.int(2);
      return frame.slice(0, end) + r.pick(['', '}}', ']', ',', '"', ' ', 'x', '\u0000']) + frame.slice(end + 1);
    }
    case 'leading':
      return r.pick([' ', '\n', '\ufeff']) + frame;
    case 'wrap':
      return `{"stream":"btcusdt@aggTrade","data":${frame}}`;
    default:
      return `[${frame}]`;
  }
}

describe('the Binance fast path against JSON.parse on mutated trade frames', () => {
  it(`does deliver what JSON.parse delivers on ${MUTANTS} mutants of seed ${SEED} (FAST_PATH_SEED to change)`, () => {
    const random = new Random(SEED);
    const generator = new Generator(random);
    const parsers = { spot: new Parsers({ market: 'spot' }), usdm: new Parsers({ market: 'usdm' }) };
    const failures: string[] = [];
    let mutated = 0;
    let mutatedTaken = 0;
    let unmutated = 0;
    let unmutatedTaken = 0;
    let records = 0;
    let drops = 0;
    for (let n = 0; n < MUTANTS; n++) {
      const { frame, market, mutations } = mutant(random, generator);
      const { problem, took, slow } = parsers[market].compare(frame, TS_RECV);
      if (problem !== undefined && failures.length < 10) failures.push(`mutant ${n} of seed ${SEED} (${market}; ${mutations.join('; ')}) ${JSON.stringify(frame)}: ${problem}`);
      if (mutations.length === 0) {
        unmutated++;
        if (took) unmutatedTaken++;
      } else {
        mutated++;
        if (took) mutatedTaken++;
      }
      if (slow.some((outcome) => outcome.kind === 'record')) records++;
      if (slow.some((outcome) => outcome.kind === 'drop')) drops++;
    }
    const summary = `seed ${SEED}: ${mutated} mutated frames, ${mutatedTaken} taken by the fast path; ${unmutated} valid frames, ${unmutatedTaken} taken; ${records} with a record, ${drops} with a drop`;
    expect(failures, summary).toStrictEqual([]);
    expect(unmutatedTaken, `every generated valid frame that is not 1024+ characters is taken (${summary})`).toBe(unmutated);
    expect(mutatedTaken, `the fast path took a substantial share of mutants (${summary})`).toBeGreaterThan(mutated / 6);
    expect(mutated - mutatedTaken, `and declined many (${summary})`).toBeGreaterThan(mutated / 3);
    expect(records, `both outcomes are well represented (${summary})`).toBeGreaterThan(MUTANTS / 5);
    expect(drops, `both outcomes are well represented (${summary})`).toBeGreaterThan(MUTANTS / 5);
    expect(parsers.spot.fast.fastPathFrames + parsers.usdm.fast.fastPathFrames, summary).toBe(mutatedTaken + unmutatedTaken);
    expect(parsers.spot.verify.fastPathFrames + parsers.usdm.verify.fastPathFrames, 'verifyFastPath ran the fast path on the same frames').toBe(mutatedTaken + unmutatedTaken);
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Broken scanners are caught by verifyFastPath
// ---------------------------------------------------------------------------------------------

const AGG_TRADE = '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1699999999123,"s":"BTCUSDT","a":26129,"p":"43210.15","q":"0.25000000","f":100,"l":105,"T":1699999999120,"m":true,"M":true}}';
const INSURANCE_TRADE = '{"e":"trade","E":1699999999123,"T":1699999999120,"s":"ETHUSDT","t":73701056,"p":"2366.55","q":"0.070","X":"INSURANCE_FUND","m":true}';

/** Wraps the real scanner and breaks what it reports for the frames it accepts. */
class BrokenScanner extends TradeFrameScanner {
  readonly #breakIt: (scanner: TradeFrameScanner) => void;

  constructor(breakIt: (scanner: TradeFrameScanner) => void) {
    super();
    this.#breakIt = breakIt;
  }

  override scan(frame: string): boolean {
    if (!super.scan(frame)) return false;
    this.#breakIt(this);
    return true;
  }
}

const BREAKAGES: readonly (readonly [name: string, market: BinanceMarket, frame: string, breakIt: (scanner: TradeFrameScanner) => void, path: string])[] = [
  [
    'flips buyerIsMaker',
    'spot',
    AGG_TRADE,
    (s) => {
      s.buyerIsMaker = !s.buyerIsMaker;
    },
    'outcome 0 differs at .record.side',
  ],
  [
    'ends the price one character early',
    'spot',
    AGG_TRADE,
    (s) => {
      s.priceEnd -= 1;
    },
    'outcome 0 differs at .record.price',
  ],
  [
    'reads the quantity as the price',
    'spot',
    AGG_TRADE,
    (s) => {
      s.priceStart = s.qtyStart;
      s.priceEnd = s.qtyEnd;
    },
    'outcome 0 differs at .record.price',
  ],
  [
    'reads the id one off',
    'spot',
    AGG_TRADE,
    (s) => {
      s.id += 1;
    },
    'outcome 0 differs at .record.id',
  ],
  [
    'takes the event time for the trade time',
    'spot',
    AGG_TRADE,
    (s) => {
      s.tradeTime = s.eventTime;
    },
    'outcome 0 differs at .record.tsEvent',
  ],
  [
    'misses the status of an insurance-fund trade',
    'usdm',
    INSURANCE_TRADE,
    (s) => {
      s.status = 'absent';
    },
    'outcome 0 differs at .kind',
  ],
];

describe('verifyFastPath with a deliberately broken scanner', () => {
  it.each(BREAKAGES)('does throw an InvariantError naming the frame when the scanner %s', (_name, market, frame, breakIt, path) => {
    // Without verification the broken record goes out: the comparison of the fuzz test would see it.
    const unchecked = createBinanceParserWithScanner({ market }, new BrokenScanner(breakIt));
    const slow = createBinanceParser({ market, fastPath: false });
    expect(canonical(outcomesOf(unchecked, frame, 1_700_000_000_000)), 'the breakage changes what the fast path delivers').not.toBe(canonical(outcomesOf(slow, frame, 1_700_000_000_000)));
    expect(unchecked.fastPathFrames).toBe(1);

    const parser = createBinanceParserWithScanner({ market, verifyFastPath: true }, new BrokenScanner(breakIt));
    const delivered: FrameOutcome[] = [];
    let caught: unknown;
    try {
      parser.parse(frame, 1_700_000_000_000, {
        record: (record) => delivered.push({ kind: 'record', record }),
        control: (message) => delivered.push({ kind: 'control', message }),
        drop: (reason) => delivered.push({ kind: 'drop', reason }),
      });
    } catch (err) {
      caught = err;
    }
    expect(caught, 'verifyFastPath catches the disagreement').toBeInstanceOf(InvariantError);
    const message = caught instanceof Error ? caught.message : '';
    expect(message, 'the message names the whole frame').toContain(JSON.stringify(frame));
    expect(message, 'and where the outcomes differ').toContain(path);
    expect(delivered, 'nothing is delivered from a frame the paths disagree on').toStrictEqual([]);
  });

  it('does not throw when a broken scanner declines: declining is always allowed', () => {
    class DecliningScanner extends TradeFrameScanner {
      override scan(): boolean {
        return false;
      }
    }
    const parser = createBinanceParserWithScanner({ market: 'spot', verifyFastPath: true }, new DecliningScanner());
    const outcomes = outcomesOf(parser, AGG_TRADE, 1_700_000_000_000);
    expect(outcomes.map((outcome) => (outcome.kind === 'record' ? outcome.record.type : outcome.kind))).toStrictEqual(['trade']);
    expect(parser.fastPathFrames).toBe(0);
  });

  it('does accept the unbroken scanner through the seam', () => {
    const parser = createBinanceParserWithScanner({ market: 'spot', verifyFastPath: true }, new BrokenScanner(() => undefined));
    expect(outcomesOf(parser, AGG_TRADE, 1_700_000_000_000)).toStrictEqual([
      {
        kind: 'record',
        record: { type: 'trade', venue: 'binance', symbol: 'BTC-USDT', tsEvent: 1_699_999_999_120, tsRecv: 1_700_000_000_000, id: 26_129, price: 43_210.15, qty: 0.25, side: 'sell' },
      },
    ]);
    expect(parser.fastPathFrames).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// 4. fastPathMismatch
// ---------------------------------------------------------------------------------------------

function tradeRecord(overrides: Record<string, unknown> = {}): BinanceRecord {
  return { type: 'trade', venue: 'binance', symbol: 'BTC-USDT', tsEvent: 1_699_999_999_120, tsRecv: 1_700_000_000_000, id: 1, price: 2, qty: 3, side: 'buy', ...overrides };
}

const record = (value: BinanceRecord): FrameOutcome => ({ kind: 'record', record: value });

describe('fastPathMismatch', () => {
  it('does report nothing for the same outcomes, as distinct objects', () => {
    expect(fastPathMismatch([], [])).toBeUndefined();
    expect(fastPathMismatch([record(tradeRecord())], [record(tradeRecord())])).toBeUndefined();
    expect(fastPathMismatch([{ kind: 'drop', reason: 'x' }, record(tradeRecord())], [{ kind: 'drop', reason: 'x' }, record(tradeRecord())])).toBeUndefined();
    expect(fastPathMismatch([record(tradeRecord({ price: NaN }))], [record(tradeRecord({ price: NaN }))]), 'NaN is NaN (Object.is)').toBeUndefined();
    const depth: BinanceRecord = { type: 'book-depth', venue: 'binance', symbol: 'BTC-USDT', tsEvent: 1, tsRecv: 2, firstUpdateId: 3, lastUpdateId: 4, bids: [[1, 2]], asks: [], snapshot: false };
    expect(fastPathMismatch([record(depth)], [record(structuredClone(depth))])).toBeUndefined();
    expect(fastPathMismatch([{ kind: 'control', message: { kind: 'reply', id: 1, result: null } }], [{ kind: 'control', message: { kind: 'reply', id: 1, result: null } }])).toBeUndefined();
  });

  it('does name the path of a different value', () => {
    expect(fastPathMismatch([record(tradeRecord({ price: 2 }))], [record(tradeRecord({ price: 2.5 }))])).toMatch(/^outcome 0 differs at \.record\.price: fast .*, JSON\.parse /);
    expect(fastPathMismatch([record(tradeRecord({ side: 'sell' }))], [record(tradeRecord())])).toContain('outcome 0 differs at .record.side');
    expect(fastPathMismatch([record(tradeRecord({ id: '1' }))], [record(tradeRecord())]), 'a string is not the number').toContain('.record.id');
    expect(fastPathMismatch([record(tradeRecord()), record(tradeRecord({ qty: 4 }))], [record(tradeRecord()), record(tradeRecord())])).toContain('outcome 1 differs at .record.qty');
    const depth = (bids: [number, number][]): BinanceRecord => ({ type: 'book-depth', venue: 'binance', symbol: 'BTC-USDT', tsEvent: 1, tsRecv: 2, firstUpdateId: 3, lastUpdateId: 4, bids, asks: [], snapshot: false });
    expect(fastPathMismatch([record(depth([[1, 2]]))], [record(depth([[1, 3]]))])).toContain('outcome 0 differs at .record.bids.0.1');
  });

  it('does tell -0 from 0', () => {
    expect(fastPathMismatch([record(tradeRecord({ price: -0 }))], [record(tradeRecord({ price: 0 }))])).toContain('outcome 0 differs at .record.price');
  });

  it('does name a different key order, a missing key and an extra key', () => {
    const { type, venue, symbol, tsEvent, tsRecv, id, price, qty, side } = tradeRecord() as BinanceRecord & { id: number; price: number; qty: number; side: string };
    const reordered = { type, venue, symbol, tsRecv, tsEvent, id, price, qty, side } as BinanceRecord;
    expect(fastPathMismatch([record(reordered)], [record(tradeRecord())])).toContain('outcome 0 differs at .record (keys ["type","venue","symbol","tsRecv","tsEvent"');
    const missing = { type, venue, symbol, tsEvent, tsRecv, id, price, qty } as BinanceRecord;
    expect(fastPathMismatch([record(missing)], [record(tradeRecord())])).toContain('outcome 0 differs at .record (keys');
    const extra = tradeRecord({ extra: undefined });
    expect(fastPathMismatch([record(extra)], [record(tradeRecord())]), 'a key holding undefined is still a key').toContain('outcome 0 differs at .record (keys');
  });

  it('does name a different kind, reason or control', () => {
    expect(fastPathMismatch([record(tradeRecord())], [{ kind: 'drop', reason: 'bad' }])).toContain('outcome 0 differs at .kind');
    expect(fastPathMismatch([{ kind: 'drop', reason: 'a' }], [{ kind: 'drop', reason: 'b' }])).toContain('outcome 0 differs at .reason');
    expect(fastPathMismatch([{ kind: 'control', message: { kind: 'reply', id: 1, result: [] } }], [{ kind: 'control', message: { kind: 'reply', id: 1, result: {} } }]), 'an array is not an object').toContain('outcome 0 differs at .message.result');
  });

  it('does count the outcomes on both sides', () => {
    expect(fastPathMismatch([record(tradeRecord())], [record(tradeRecord()), record(tradeRecord())])).toMatch(/^the fast path delivered 1 outcomes, JSON\.parse 2: /);
    expect(fastPathMismatch([record(tradeRecord())], [])).toMatch(/^the fast path delivered 1 outcomes, JSON\.parse 0: /);
  });
});

// ---------------------------------------------------------------------------------------------
// 5. Frames the scanner declines still parse, through JSON.parse
// ---------------------------------------------------------------------------------------------

const PAYLOAD = '{"e":"aggTrade","E":1699999999123,"s":"BTCUSDT","a":26129,"p":"43210.15","q":"0.25000000","f":100,"l":105,"T":1699999999120,"m":false,"M":true}';
const EXPECTED_TRADE: BinanceRecord = { type: 'trade', venue: 'binance', symbol: 'BTC-USDT', tsEvent: 1_699_999_999_120, tsRecv: 1_700_000_000_000, id: 26_129, price: 43_210.15, qty: 0.25, side: 'buy' };

/** PAYLOAD with an unknown string field `x` added, the frame being `length` characters long. */
function padded(length: number): string {
  const head = `${PAYLOAD.slice(0, -1)},"x":"`;
  return `${head}${'y'.repeat(length - head.length - 2)}"}`;
}

describe('frames the fast path declines', () => {
  const declined: readonly (readonly [string, string])[] = [
    ['1025 characters', padded(1_025)],
    ['4000 characters', padded(4_000)],
    ['a non-ASCII unknown field', `${PAYLOAD.slice(0, -1)},"x":"é"}`],
    ['an emoji in an unknown field', `${PAYLOAD.slice(0, -1)},"x":"😀"}`],
    ['a lone surrogate in an unknown field', `${PAYLOAD.slice(0, -1)},"x":"\ud800"}`],
    ['a non-ASCII stream name', `{"stream":"btcusdt@aggTrade€","data":${PAYLOAD}}`],
    ['an escaped unknown field', `${PAYLOAD.slice(0, -1)},"x":"\\u00e9"}`],
    ['a blank after a colon', PAYLOAD.replace('"p":', '"p": ')],
    ['an exponent in the id', PAYLOAD.replace('"a":26129', '"a":2.6129e4')],
  ];

  it.each(declined)('does parse a frame with %s through JSON.parse, to the same record', (_name, frame) => {
    const { fast, slow, verify } = new Parsers({ market: 'spot' });
    expect(outcomesOf(fast, frame, 1_700_000_000_000)).toStrictEqual([{ kind: 'record', record: EXPECTED_TRADE }]);
    expect(fast.fastPathFrames, 'the fast path declined it').toBe(0);
    expect(outcomesOf(slow, frame, 1_700_000_000_000)).toStrictEqual([{ kind: 'record', record: EXPECTED_TRADE }]);
    expect(outcomesOf(verify, frame, 1_700_000_000_000)).toStrictEqual([{ kind: 'record', record: EXPECTED_TRADE }]);
    expect(verify.fastPathFrames).toBe(0);
  });

  it('does take a frame of exactly 1024 characters, and the same text without padding', () => {
    const { fast } = new Parsers({ market: 'spot' });
    for (const frame of [PAYLOAD, padded(1_024), `{"stream":"btcusdt@aggTrade","data":${PAYLOAD}}`]) {
      expect(outcomesOf(fast, frame, 1_700_000_000_000), frame).toStrictEqual([{ kind: 'record', record: EXPECTED_TRADE }]);
    }
    expect(padded(1_024)).toHaveLength(1_024);
    expect(fast.fastPathFrames, 'every one was taken by the fast path').toBe(3);
  });

  it('does take an ASCII frame after declining a non-ASCII one (no state left in the scanner)', () => {
    const { fast } = new Parsers({ market: 'spot' });
    outcomesOf(fast, padded(4_000).replace('yyy', '€€€'), 1_700_000_000_000);
    outcomesOf(fast, `${PAYLOAD.slice(0, -1)},"x":"é"}`, 1_700_000_000_000);
    expect(fast.fastPathFrames).toBe(0);
    expect(outcomesOf(fast, PAYLOAD, 1_700_000_000_000)).toStrictEqual([{ kind: 'record', record: EXPECTED_TRADE }]);
    // A shorter frame after longer ones: the scanner's buffer still holds their bytes.
    expect(outcomesOf(fast, PAYLOAD.slice(0, -1), 1_700_000_000_000)).toMatchObject([{ kind: 'drop' }]);
    expect(fast.fastPathFrames).toBe(1);
  });
});
