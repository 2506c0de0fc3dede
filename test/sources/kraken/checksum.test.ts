import { describe, expect, it } from 'vitest';
import type { KrakenLevel } from '../../../src/sources/kraken/checksum.js';
import { checksumToken, decimalText, krakenChecksum, krakenChecksumInput, krakenCrc32 } from '../../../src/sources/kraken/checksum.js';

/** Levels from `[price, qty]` texts, as the parser delivers them. */
function levels(pairs: readonly (readonly [string, string])[]): KrakenLevel[] {
  return pairs.map(([price, qty]) => ({ price: Number(price), qty: Number(qty), priceText: price, qtyText: qty }));
}

/** The same levels as bare numbers, as a replayed `book-depth` record carries them. */
function numbers(pairs: readonly (readonly [number, number])[]): KrakenLevel[] {
  return pairs.map(([price, qty]) => ({ price, qty }));
}

describe('krakenCrc32', () => {
  it('does compute the standard CRC-32 check value', () => {
    expect(krakenCrc32('123456789'), 'the IEEE 802.3 check value of "123456789"').toBe(0xcbf43926);
    expect(krakenCrc32('')).toBe(0);
  });
});

describe('decimalText', () => {
  it('does pad to the precision, keeping every digit exact', () => {
    expect(decimalText(2, 8)).toBe('2.00000000');
    expect(decimalText('0.001', 8)).toBe('0.00100000');
    expect(decimalText(50_000, 1)).toBe('50000.0');
    expect(decimalText(1e-7, 8), 'exponent form from String(1e-7)').toBe('0.00000010');
    expect(decimalText('4.8E-7', 8)).toBe('0.00000048');
    expect(decimalText(1e21, 0)).toBe('1000000000000000000000');
    expect(decimalText('0.0015e2', 2)).toBe('0.15');
  });

  it('does keep the text as sent when no precision is given', () => {
    expect(decimalText('0.00001000')).toBe('0.00001000');
    expect(decimalText('50000.0')).toBe('50000.0');
    expect(decimalText(0.1)).toBe('0.1');
  });

  it('does round half up when the value has more decimals than the precision', () => {
    expect(decimalText('1.005', 2)).toBe('1.01');
    expect(decimalText('1.004', 2)).toBe('1.00');
    expect(decimalText('9.995', 2)).toBe('10.00');
    expect(decimalText('0.5', 0)).toBe('1');
  });

  it('does reject what is not a finite non-negative decimal, naming the value', () => {
    expect(() => decimalText(-1, 2)).toThrowErrorMatchingInlineSnapshot(`[RangeError: Decimal "-1" is not a finite non-negative number]`);
    expect(() => decimalText(Number.NaN)).toThrowErrorMatchingInlineSnapshot(`[RangeError: Decimal "NaN" is not a finite non-negative number]`);
    expect(() => decimalText('1,5')).toThrowErrorMatchingInlineSnapshot(`[RangeError: Decimal "1,5" is not a non-negative decimal number]`);
    expect(() => decimalText('1e999')).toThrowErrorMatchingInlineSnapshot(`[RangeError: Decimal "1e999" has an exponent beyond 400]`);
    expect(() => decimalText(1, 1.5)).toThrowErrorMatchingInlineSnapshot(`[RangeError: Precision "1.5" must be an integer from 0 to 30]`);
  });
});

describe('checksumToken', () => {
  it('does remove the point and the leading zeros (protocols.md §4.6 step 3)', () => {
    expect(checksumToken('0.00100000')).toBe('100000');
    expect(checksumToken('50000.0')).toBe('500000');
    expect(checksumToken(0.001, 8)).toBe('100000');
    expect(checksumToken('45285.2')).toBe('452852');
  });
});

describe('krakenChecksum: documented vectors', () => {
  // protocols.md §4.6, precision 1 / 8: the snapshot of §4.4 and the update after it.
  const snapshotAsks = numbers([
    [50_001.0, 0.5],
    [50_002.5, 1.25],
  ]);
  const snapshotBids = numbers([
    [50_000.0, 2.0],
    [49_999.9, 0.001],
  ]);

  it('does match the §4.6 snapshot vector from JSON numbers with the pair precision', () => {
    const precision = { price: 1, qty: 8 };
    expect(krakenChecksumInput(snapshotAsks, snapshotBids, precision)).toBe('50001050000000500025125000000500000200000000499999100000');
    expect(krakenChecksum(snapshotAsks, snapshotBids, precision)).toBe(3_008_123_608);
  });

  it('does match the §4.6 update vector (ask 50001.0 removed, bid 50000.5 x 0.3 added)', () => {
    const asks = numbers([[50_002.5, 1.25]]);
    const bids = numbers([
      [50_000.5, 0.3],
      [50_000.0, 2.0],
      [49_999.9, 0.001],
    ]);
    expect(krakenChecksumInput(asks, bids, { price: 1, qty: 8 })).toBe('50002512500000050000530000000500000200000000499999100000');
    expect(krakenChecksum(asks, bids, { price: 1, qty: 8 })).toBe(4_156_532_984);
  });

  it('does match the same vector from the text as sent, without a precision', () => {
    const asks = levels([
      ['50001.0', '0.50000000'],
      ['50002.5', '1.25000000'],
    ]);
    const bids = levels([
      ['50000.0', '2.00000000'],
      ['49999.9', '0.00100000'],
    ]);
    expect(krakenChecksum(asks, bids)).toBe(3_008_123_608);
  });

  it('does lose the vector when the trailing zeros are lost: why the text matters', () => {
    expect(krakenChecksum(snapshotAsks, snapshotBids), 'bare numbers render as 50001 and 0.5').not.toBe(3_008_123_608);
  });

  // Kraken's "Book checksum (WebSocket v1)" guide example; the string algorithm is the one v2 uses
  // (also pinned by bmoscon/orderbook tests/test_checksums.py).
  it('does match the checksum of Kraken documentation example (974947235)', () => {
    const asks = levels([
      ['0.05005', '0.00000500'],
      ['0.05010', '0.00000500'],
      ['0.05015', '0.00000500'],
      ['0.05020', '0.00000500'],
      ['0.05025', '0.00000500'],
      ['0.05030', '0.00000500'],
      ['0.05035', '0.00000500'],
      ['0.05040', '0.00000500'],
      ['0.05045', '0.00000500'],
      ['0.05050', '0.00000500'],
    ]);
    const bids = levels([
      ['0.05000', '0.00000500'],
      ['0.04995', '0.00000500'],
      ['0.04990', '0.00000500'],
      ['0.04980', '0.00000500'],
      ['0.04975', '0.00000500'],
      ['0.04970', '0.00000500'],
      ['0.04965', '0.00000500'],
      ['0.04960', '0.00000500'],
      ['0.04955', '0.00000500'],
      ['0.04950', '0.00000500'],
    ]);
    expect(krakenChecksum(asks, bids)).toBe(974_947_235);
    expect(krakenChecksum(asks, bids, { price: 5, qty: 8 }), 'the same with the pair precision').toBe(974_947_235);
  });

  // Recorded books from bmoscon/orderbook tests/test_checksums.py: fewer than 10 levels on a side,
  // more than 10 (only the top 10 count), and tiny quantities (0.00000048).
  it('does match recorded vectors with short and long sides', () => {
    const short = krakenChecksum(
      levels([
        ['0.620000', '40.00000000'],
        ['0.830000', '380.86649128'],
        ['1.500000', '333.33333333'],
      ]),
      levels([
        ['0.520300', '3943.09454867'],
        ['0.403200', '454.31671175'],
        ['0.403100', '1522.68122054'],
        ['0.403000', '43.31058726'],
        ['0.353200', '49.38467346'],
        ['0.261600', '66.67686034'],
        ['0.111000', '99.09909910'],
        ['0.110000', '909.09090909'],
        ['0.000600', '3333.33333333'],
        ['0.000400', '5000.00000000'],
        ['0.000100', '1000000.00000000'],
      ]),
    );
    expect(short).toBe(577_149_452);
  });

  it('does match the recorded vector with tiny quantities, from text and from numbers with precision', () => {
    const asks = [
      ['0.000017680', '38663.54992198'],
      ['0.000017690', '20623.74841086'],
      ['0.000017700', '103797.62636430'],
      ['0.000017710', '40745.97057228'],
      ['0.000017720', '13296.04740856'],
      ['0.000017730', '42078.86085768'],
      ['0.000017740', '64.38065876'],
      ['0.000017760', '1131.70427847'],
      ['0.000017780', '43891.46024565'],
      ['0.000017790', '43908.00000000'],
      ['0.000017810', '0.00005437'],
    ] as const;
    const bids = [
      ['0.000017670', '0.00000048'],
      ['0.000017660', '50.29884341'],
      ['0.000017650', '16958.37856622'],
      ['0.000017640', '16735.08043085'],
      ['0.000017630', '61895.21671233'],
      ['0.000017620', '86958.66158205'],
      ['0.000017610', '8564.64738216'],
      ['0.000017600', '59539.93801826'],
      ['0.000017580', '52578.63046424'],
      ['0.000017570', '46812.60266777'],
      ['0.000017560', '640.09877588'],
    ] as const;
    expect(krakenChecksum(levels(asks), levels(bids))).toBe(1_611_253_991);
    const asNumbers = (pairs: typeof asks | typeof bids): KrakenLevel[] => numbers(pairs.map(([p, q]) => [Number(p), Number(q)] as const));
    expect(krakenChecksum(asNumbers(asks), asNumbers(bids), { price: 9, qty: 8 }), 'String(4.8e-7) is exponent form').toBe(1_611_253_991);
  });
});
