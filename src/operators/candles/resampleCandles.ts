import type { OperatorFunction } from 'rxjs';
import { z } from 'zod';
import { defineOperator, type NodeProblem } from '../../definitions.js';
import type { BoundCounter } from '../../metrics.js';
import { METRIC } from '../../metrics.js';
import type { Candle, Flow } from '../../model/index.js';
import { flowOperator } from '../flowOperator.js';
import { intervalParam } from './buildCandles.js';
import { CandleResampler } from './candleResampler.js';

export interface ResampleCandlesOptions {
  /** Also turn forming input candles into provisional bars (`closed: false`); default false: forming input is ignored. */
  readonly forming?: boolean;
  /** Decimal places volumes are exact to (default 8). */
  readonly volumeDecimals?: number;
  /** Counts candles that arrived after their bucket closed (or repeated a constituent) and were not used. */
  readonly lateCandles?: BoundCounter;
}

/**
 * Aggregates closed lower-timeframe candles into higher-timeframe bars (`1m` to `1h`), in UTC
 * epoch-aligned buckets: open of the first, highest high, lowest low, close of the last, volumes
 * summed exactly at the venue precision. State is kept per venue and symbol.
 *
 * A bar is emitted, closed, as soon as its last constituent closes; if that constituent is
 * missing, the first candle of a later bucket closes it with what it had. Each bar carries the
 * `tsEvent` of the candle that closed it. On completion a bucket whose interval has not ended is
 * not emitted. Control events (gaps, status) pass through in order.
 *
 *   1m candles: --a--b--c--d--e--|      (a, b, c = 00:00, 00:01, 00:02; d, e = 00:03, 00:04; target 3m)
 *   3m candles: --------X--------|      (X = 00:00 bar from a, b, c; d, e form 00:03, unfinished)
 *
 * With `forming: true`, forming input candles and every closed constituent also emit the forming
 * bucket as a provisional bar (`closed: false`), for indicators that use `replace`.
 *
 * The target interval must be a whole multiple of the input interval and larger; the first
 * candle that breaks this fails the stream with an InvariantError naming both intervals.
 *
 * ```yaml
 * - id: hourly
 *   kind: resample-candles
 *   from: [klines]
 *   params: { interval: 1h }
 * ```
 *
 * @see {@link buildCandles}
 */
export function resampleCandles(interval: string, options: ResampleCandlesOptions = {}): OperatorFunction<Flow<Candle>, Flow<Candle>> {
  // Validate now, so a bad interval fails where the pipeline is built, not on the first candle.
  new CandleResampler({ interval });
  const late = options.lateCandles;
  return flowOperator<Candle, Candle>({
    name: 'resampleCandles',
    accepts: ['candle'],
    setup: (out) => {
      const resampler = new CandleResampler({
        interval,
        ...(options.forming === undefined ? {} : { forming: options.forming }),
        ...(options.volumeDecimals === undefined ? {} : { volumeDecimals: options.volumeDecimals }),
      });
      return {
        next: (candle) => {
          const before = resampler.lateCandles;
          for (const bar of resampler.add(candle)) out.next(bar);
          if (resampler.lateCandles !== before) late?.inc();
        },
      };
    },
  });
}

export const resampleCandlesParams = z.strictObject({
  interval: intervalParam,
  forming: z.boolean().default(false),
  volumeDecimals: z.number().int().min(0).max(12).default(8),
});

export const resampleCandlesOperator = defineOperator({
  kind: 'resample-candles',
  summary: 'Higher-timeframe candles from closed lower-timeframe candles (UTC-aligned buckets, exact volume sums)',
  params: resampleCandlesParams,
  input: 'candle',
  output: 'candle',
  check: (params, inputs) => {
    const problems: NodeProblem[] = [];
    for (const input of inputs) {
      if (input.interval === undefined) continue;
      const problem = CandleResampler.mismatch(input.interval, params.interval);
      if (problem !== undefined) problems.push({ path: 'params.interval', message: problem });
    }
    return problems;
  },
  describe: (params) => ({ interval: params.interval }),
  create: (params, ctx) =>
    resampleCandles(params.interval, {
      forming: params.forming,
      volumeDecimals: params.volumeDecimals,
      lateCandles: ctx.metrics.counter(METRIC.skipped, 'Records an operator could not use').bind({ node: ctx.node, reason: 'late-candle' }),
    }),
});
