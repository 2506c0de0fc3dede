/**
 * The benchmark input of PERFORMANCE.md: deterministic Binance combined-stream aggTrade frames
 * (mulberry32, seed 42), a random-walk price in cent ticks, log-uniform quantities and
 * exponential gaps with a 60 ms mean (about 16.7 trades/s, so 1M trades span about 16.5 hours
 * and close about 990 one-minute candles). Each frame has a receive time 1-3 ms after its
 * event time, as a recording would.
 */

export interface RecordedFrames {
  readonly frames: readonly string[];
  /** Receive time of each frame, epoch ms. */
  readonly tsRecv: readonly number[];
  readonly bytes: number;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function aggTradeFrames(count: number, seed = 42): RecordedFrames {
  const random = mulberry32(seed);
  let cents = 4_300_000;
  let time = 1_700_000_000_000;
  let aggId = 2_987_654_321;
  let tradeId = 3_456_789_012;
  const lines: string[] = [];
  const tsRecv: number[] = [];
  for (let i = 0; i < count; i++) {
    time += Math.round(-Math.log(1 - random()) * 60);
    cents = Math.max(100, cents + Math.round((random() - 0.5) * 8));
    const qty = 10 ** (-5 + 5 * random());
    const first = tradeId + 1;
    tradeId += 1 + Math.floor(random() * 3);
    aggId += 1;
    const maker = random() < 0.5;
    lines.push(
      `{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":${time},"s":"BTCUSDT","a":${aggId},"p":"${(cents / 100).toFixed(8)}","q":"${qty.toFixed(8)}","f":${first},"l":${tradeId},"T":${time},"m":${maker},"M":true}}`,
    );
    tsRecv.push(time + 1 + Math.floor(random() * 3));
  }
  // One flat string split into slices, as frames read from a socket or file would be.
  const joined = lines.join('\n');
  return { frames: joined.split('\n'), tsRecv, bytes: joined.length - count + 1 };
}
