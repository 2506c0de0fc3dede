import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Level } from '../../../src/model/index.js';
import { BookDepthSchema } from '../../../src/model/index.js';
import type { BookSide } from '../../../src/sources/binance/orderBook.js';
import { levelDifferences, OrderBook } from '../../../src/sources/binance/orderBook.js';

/** The plain model: a Map per side, sorted on demand. */
class MapBook {
  readonly bids = new Map<number, number>();
  readonly asks = new Map<number, number>();
  readonly maxLevels: number;
  trimmed = 0;

  constructor(maxLevels = Infinity) {
    this.maxLevels = maxLevels;
  }

  set(side: BookSide, price: number, qty: number): void {
    const map = side === 'bid' ? this.bids : this.asks;
    if (qty === 0) {
      map.delete(price);
      return;
    }
    const isNew = !map.has(price);
    map.set(price, qty);
    if (isNew && map.size > this.maxLevels) {
      // The deepest level goes: the lowest bid, the highest ask.
      const deepest = side === 'bid' ? Math.min(...map.keys()) : Math.max(...map.keys());
      map.delete(deepest);
      this.trimmed++;
    }
  }

  levels(side: BookSide): Level[] {
    const map = side === 'bid' ? this.bids : this.asks;
    return [...map].sort((a, b) => (side === 'bid' ? b[0] - a[0] : a[0] - b[0]));
  }
}

describe('OrderBook', () => {
  it('does report an empty book as empty', () => {
    const book = new OrderBook();
    expect(book.size).toBe(0);
    expect(book.bestBid(), 'no bid yet').toBeUndefined();
    expect(book.bestAsk(), 'no ask yet').toBeUndefined();
    expect(book.bestBidPrice, 'NaN stands for no price').toBeNaN();
    expect(book.bestAskPrice).toBeNaN();
    expect(book.isCrossed(), 'an empty book is not crossed').toBe(false);
    expect(book.levels('bid')).toStrictEqual([]);
    expect(book.qty('ask', 100)).toBe(0);
  });

  it('does keep bids best (highest) first and asks best (lowest) first', () => {
    const book = new OrderBook();
    for (const price of [99, 101, 97, 100, 98]) book.set('bid', price, price / 100);
    for (const price of [104, 102, 106, 103]) book.set('ask', price, 1);
    expect(book.levels('bid')).toStrictEqual([
      [101, 1.01],
      [100, 1],
      [99, 0.99],
      [98, 0.98],
      [97, 0.97],
    ]);
    expect(book.levels('ask', 2), 'top N only').toStrictEqual([
      [102, 1],
      [103, 1],
    ]);
    expect(book.bestBid()).toStrictEqual([101, 1.01]);
    expect(book.bestAsk()).toStrictEqual([102, 1]);
    expect([book.bidCount, book.askCount, book.size]).toStrictEqual([5, 4, 9]);
  });

  it('does replace a quantity, remove a level at quantity 0, and ignore removing a level it does not hold', () => {
    const book = new OrderBook();
    book.set('bid', 100, 1);
    book.set('bid', 99, 2);
    book.set('bid', 100, 3);
    expect(book.qty('bid', 100), 'quantities are absolute').toBe(3);
    book.set('bid', 100, 0);
    expect(book.levels('bid')).toStrictEqual([[99, 2]]);
    book.set('bid', 42, 0);
    book.set('ask', 42, 0);
    expect(book.size, 'deleting an unknown level is normal (protocols.md §1.5)').toBe(1);
  });

  it('does apply a diff and load a snapshot that replaces everything', () => {
    const book = new OrderBook();
    book.load(
      [
        [100, 1],
        [99, 2],
        [98, 0],
      ],
      [
        [101, 1],
        [102, 2],
      ],
    );
    expect(book.levels('bid'), 'zero quantities in a snapshot are skipped').toStrictEqual([
      [100, 1],
      [99, 2],
    ]);
    book.apply(
      [
        [100, 0],
        [99.5, 4],
      ],
      [[101, 3]],
    );
    expect(book.levels('bid')).toStrictEqual([
      [99.5, 4],
      [99, 2],
    ]);
    expect(book.levels('ask')).toStrictEqual([
      [101, 3],
      [102, 2],
    ]);
    book.load([[50, 1]], [[60, 1]]);
    expect(book.levels('bid'), 'a snapshot replaces the book').toStrictEqual([[50, 1]]);
    expect(book.levels('ask')).toStrictEqual([[60, 1]]);
  });

  it('does load a snapshot in any order', () => {
    const book = new OrderBook();
    book.load(
      [
        [98, 3],
        [100, 1],
        [99, 2],
      ],
      [
        [103, 3],
        [101, 1],
      ],
    );
    expect(book.levels('bid')).toStrictEqual([
      [100, 1],
      [99, 2],
      [98, 3],
    ]);
    expect(book.levels('ask')).toStrictEqual([
      [101, 1],
      [103, 3],
    ]);
  });

  it('does detect a crossed or locked book', () => {
    const book = new OrderBook();
    book.set('bid', 100, 1);
    book.set('ask', 101, 1);
    expect(book.isCrossed()).toBe(false);
    book.set('bid', 101, 1);
    expect(book.isCrossed(), 'bid equal to ask is crossed too').toBe(true);
    book.set('bid', 101, 0);
    book.set('bid', 102, 1);
    expect(book.isCrossed()).toBe(true);
  });

  it('does clear every level', () => {
    const book = new OrderBook();
    book.set('bid', 1, 1);
    book.set('ask', 2, 1);
    book.clear();
    expect(book.size).toBe(0);
    expect(book.bestBid()).toBeUndefined();
  });

  it('does reject bad prices and quantities with a message naming them', () => {
    const book = new OrderBook();
    expect(() => {
      book.set('bid', 0, 1);
    }).toThrow('Book bid price "0" must be a finite number > 0');
    expect(() => {
      book.set('ask', Number.NaN, 1);
    }).toThrow('Book ask price "NaN" must be a finite number > 0');
    expect(() => {
      book.set('ask', 10, -1);
    }).toThrow('Book ask quantity "-1" at price "10" must be a finite number >= 0');
    expect(() => {
      book.apply([[10, Infinity]], []);
    }).toThrow('Book bid quantity "Infinity" at price "10"');
    expect(() => {
      book.load([], [[-5, 1]]);
    }).toThrow('Book ask price "-5"');
    expect(() => new OrderBook({ maxLevels: 0 })).toThrow('maxLevels "0" must be a positive integer');
    expect(() => book.levels('bid', -1)).toThrow('Book limit "-1" must be a number of levels >= 0');
  });

  it('does cap each side at maxLevels, dropping and counting the deepest levels', () => {
    const book = new OrderBook({ maxLevels: 3 });
    for (const price of [100, 99, 98]) book.set('bid', price, 1);
    book.set('bid', 97, 1);
    expect(book.levels('bid'), 'a level below the deepest of a full side is not kept').toStrictEqual([
      [100, 1],
      [99, 1],
      [98, 1],
    ]);
    book.set('bid', 99.5, 2);
    expect(book.levels('bid'), 'a better level pushes the deepest out').toStrictEqual([
      [100, 1],
      [99.5, 2],
      [99, 1],
    ]);
    book.set('bid', 100, 5);
    expect(book.bidCount, 'replacing a quantity does not trim').toBe(3);
    for (const price of [105, 106, 107, 104]) book.set('ask', price, 1);
    expect(book.levels('ask')).toStrictEqual([
      [104, 1],
      [105, 1],
      [106, 1],
    ]);
    expect(book.trimmedLevels, 'every dropped level is counted: 97, 98 and 107').toBe(3);
  });

  it('does turn the book into a valid snapshot record', () => {
    const book = new OrderBook();
    book.load(
      [
        [100, 1],
        [99, 2],
      ],
      [
        [101, 3],
        [102, 4],
      ],
    );
    const record = book.toDepth({ venue: 'binance', symbol: 'BTC-USDT', tsEvent: 1_700_000_000_000, tsRecv: 1_700_000_000_002, lastUpdateId: 1005, depth: 1 });
    expect(record).toStrictEqual({
      type: 'book-depth',
      venue: 'binance',
      symbol: 'BTC-USDT',
      tsEvent: 1_700_000_000_000,
      tsRecv: 1_700_000_000_002,
      firstUpdateId: 1005,
      lastUpdateId: 1005,
      bids: [[100, 1]],
      asks: [[101, 3]],
      snapshot: true,
    });
    expect(BookDepthSchema.safeParse(record).success, 'the record meets the model schema').toBe(true);
  });

  it('does agree with a plain Map book on random updates, with and without a cap', () => {
    const side = fc.constantFrom<BookSide>('bid', 'ask');
    // Integer ticks so that prices repeat and hit existing levels; 0 quantities delete.
    const update = fc.tuple(side, fc.integer({ min: 1, max: 400 }), fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 9 })));
    fc.assert(
      fc.property(fc.array(update, { maxLength: 600 }), fc.oneof(fc.constant(Infinity), fc.integer({ min: 1, max: 50 })), (updates, maxLevels) => {
        const book = new OrderBook({ maxLevels });
        const model = new MapBook(maxLevels);
        for (const [s, ticks, lots] of updates) {
          book.set(s, ticks / 100, lots / 10);
          model.set(s, ticks / 100, lots / 10);
        }
        expect(book.levels('bid')).toStrictEqual(model.levels('bid'));
        expect(book.levels('ask')).toStrictEqual(model.levels('ask'));
        expect(book.trimmedLevels).toBe(model.trimmed);
        for (const [s, ticks] of updates) expect(book.qty(s, ticks / 100)).toBe((s === 'bid' ? model.bids : model.asks).get(ticks / 100) ?? 0);
      }),
      { numRuns: 200 },
    );
  });
});

describe('levelDifferences', () => {
  const actual = {
    bids: [
      [100, 1],
      [99, 2],
      [98, 3],
      [97, 4],
    ] satisfies Level[],
    asks: [
      [101, 1],
      [102, 2],
    ] satisfies Level[],
  };

  it('does find nothing between equal books, whatever the order and zero levels', () => {
    const same = { bids: [[97, 4], [98, 3], [99, 2], [100, 1], [50, 0]] satisfies Level[], asks: [[102, 2], [101, 1]] satisfies Level[] };
    expect(levelDifferences(actual, same)).toStrictEqual([]);
  });

  it('does list every level that differs, bids then asks, best first', () => {
    const expected = {
      bids: [
        [100, 1],
        [99, 2.5],
        [98.5, 1],
      ] satisfies Level[],
      asks: [[101, 1]] satisfies Level[],
    };
    expect(levelDifferences(actual, expected)).toStrictEqual([
      { side: 'bid', price: 99, actual: 2, expected: 2.5 },
      { side: 'bid', price: 98.5, actual: 0, expected: 1 },
      { side: 'bid', price: 98, actual: 3, expected: 0 },
      { side: 'bid', price: 97, actual: 4, expected: 0 },
      { side: 'ask', price: 102, actual: 2, expected: 0 },
    ]);
  });

  it('does compare only the price range both books cover with range overlap', () => {
    // A snapshot of the top two bids and the top ask: deeper levels of the book are not compared.
    const topOnly = {
      bids: [
        [100, 1],
        [99, 2],
      ] satisfies Level[],
      asks: [[101, 1]] satisfies Level[],
    };
    expect(levelDifferences(actual, topOnly, { range: 'overlap' })).toStrictEqual([]);
    expect(levelDifferences(actual, topOnly), 'range all sees the deeper levels').toHaveLength(3);
    const wrongInside = { bids: [[100, 1]] satisfies Level[], asks: [[101.5, 1], [102, 2]] satisfies Level[] };
    expect(levelDifferences(actual, wrongInside, { range: 'overlap' })).toStrictEqual([
      { side: 'ask', price: 101, actual: 1, expected: 0 },
      { side: 'ask', price: 101.5, actual: 0, expected: 1 },
    ]);
    expect(levelDifferences(actual, { bids: [], asks: [] }, { range: 'overlap' }), 'an empty side has no overlap').toStrictEqual([]);
  });
});
