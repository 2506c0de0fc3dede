import type { OperatorFunction } from 'rxjs';
import { z } from 'zod';
import { defineOperator } from '../../definitions.js';
import type { BoundCounter } from '../../metrics.js';
import { METRIC } from '../../metrics.js';
import type { Candle, Flow, Trade } from '../../model/index.js';
import { tryIntervalMs } from '../../model/index.js';
import { flowOperator } from '../flowOperator.js';
import { CandleBuilder } from './candleBuilder.js';

export const intervalParam = z
  .string()
  .refine((value) => tryIntervalMs(value) !== undefined, {
    error: (issue) => `Interval ${JSON.stringify(issue.input)} is not valid: use <n>s, <n>m, <n>h or <n>d between 1s and 1d (e.g. 1m, 15m, 4h)`,
  });

export interface BuildCandlesOptions {
  /** Also emit the forming bar (`closed: false`) after every trade (default false). */
  readonly forming?: boolean;
  /** Emit flat zero-volume bars for intervals without trades (default true). */
  readonly fillEmpty?: boolean;
  /** Decimal places volumes are exact to (default 8). */
  readonly volumeDecimals?: number;
  /** Counts trades that arrived after their bar closed. */
  readonly lateTrades?: BoundCounter;
}

/**
 * Builds OHLCV candles from trades by event time.
 *
 * A bar closes when the first trade of a later bar arrives; the closed bar carries that trade's
 * `tsEvent`. Intervals without trades become flat zero-volume bars unless a gap event arrived in
 * between. On completion the forming bar is not emitted as closed: its interval has not ended by
 * event time. Control events pass through in order.
 *
 *   trades:  --a--b------c--|        (a, b in 00:00-00:01; c at 00:01:10; interval 1m)
 *   candles: ------------X--|        (X = bar 00:00 from a, b; closed by c)
 *
 * With `forming: true` every trade also emits the updated forming bar (`closed: false`), which
 * indicators consume with `replace`.
 *
 * @see {@link resampleCandles}
 */
export function buildCandles(interval: string, options: BuildCandlesOptions = {}): OperatorFunction<Flow<Trade>, Flow<Candle>> {
  // Validate now, so a bad interval fails where the pipeline is built, not on the first trade.
  new CandleBuilder({ interval });
  const forming = options.forming ?? false;
  return flowOperator<Trade, Candle>({
    name: 'buildCandles',
    accepts: ['trade'],
    setup: (out) => {
      const builder = new CandleBuilder({
        interval,
        ...(options.fillEmpty === undefined ? {} : { fillEmpty: options.fillEmpty }),
        ...(options.volumeDecimals === undefined ? {} : { volumeDecimals: options.volumeDecimals }),
      });
      const late = options.lateTrades;
      return {
        next: (trade) => {
          const before = builder.lateTrades;
          const closed = builder.add(trade);
          for (const candle of closed) out.next(candle);
          if (builder.lateTrades !== before) late?.inc();
          if (forming) {
            const bar = builder.forming(trade);
            if (bar !== undefined) out.next(bar);
          }
        },
        control: (event) => {
          if (event.type === 'gap') builder.gap(event);
        },
      };
    },
  });
}

export const buildCandlesParams = z.strictObject({
  interval: intervalParam.default('1m'),
  forming: z.boolean().default(false),
  fillEmpty: z.boolean().default(true),
  volumeDecimals: z.number().int().min(0).max(12).default(8),
});

export const buildCandlesOperator = defineOperator({
  kind: 'build-candles',
  summary: 'OHLCV candles from trades by event time (closed bars, optionally the forming bar too)',
  params: buildCandlesParams,
  input: 'trade',
  output: 'candle',
  describe: (params) => ({ interval: params.interval }),
  create: (params, ctx) =>
    buildCandles(params.interval, {
      forming: params.forming,
      fillEmpty: params.fillEmpty,
      volumeDecimals: params.volumeDecimals,
      lateTrades: ctx.metrics.counter(METRIC.skipped, 'Records an operator could not use').bind({ node: ctx.node, reason: 'late-trade' }),
    }),
});
