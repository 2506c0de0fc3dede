/**
 * How a source drops a record it cannot use: counted by reason, and logged as a warning with the
 * origin (`file:line` or the stream) and a sample, rate-limited so a flood of bad frames cannot
 * flood the log. A summary of what was suppressed is logged when the source ends.
 */
import type { NodeContext } from '../context.js';
import { METRIC } from '../metrics.js';

export interface DropReporter {
  /** Drops one record: `origin` says where (`data.csv:17`), `reason` why; `sample` is the raw input. */
  drop(origin: string, reason: string, sample?: unknown): void;
  /** Records dropped so far. */
  readonly count: number;
  /** Logs how many warnings were suppressed, if any. Call when the source ends. */
  summarize(): void;
}

const SAMPLE_CHARS = 200;

function sampleOf(raw: unknown): unknown {
  if (typeof raw === 'string') return raw.length > SAMPLE_CHARS ? `${raw.slice(0, SAMPLE_CHARS)}...` : raw;
  return raw;
}

/**
 * Creates a reporter for one subscription of a source. At most `warnLimit` warnings are logged
 * per reason in each `windowMs` of scheduler time; the rest are counted and summarized.
 */
export function createDropReporter(ctx: NodeContext, source: string, options: { warnLimit?: number; windowMs?: number } = {}): DropReporter {
  const warnLimit = options.warnLimit ?? 10;
  const windowMs = options.windowMs ?? 60_000;
  const counter = ctx.metrics.counter(METRIC.dropped, 'Records a source dropped, by source and reason');
  const windows = new Map<string, { start: number; logged: number; suppressed: number }>();
  const labels = new Set<string>();
  let count = 0;
  const reasonKey = (reason: string): string => {
    const label = reasonLabel(reason);
    if (labels.has(label)) return label;
    if (labels.size >= MAX_REASON_LABELS) return 'other';
    labels.add(label);
    return label;
  };
  return {
    get count() {
      return count;
    },
    drop(origin, reason, sample) {
      count++;
      const key = reasonKey(reason);
      counter.inc({ source, reason: key });
      const now = ctx.scheduler.now();
      let window = windows.get(key);
      if (window === undefined || now - window.start >= windowMs) {
        if (window !== undefined && window.suppressed > 0) {
          ctx.logger.warn({ source, reason: key, suppressed: window.suppressed }, 'more records dropped for the same reason');
        }
        window = { start: now, logged: 0, suppressed: 0 };
        windows.set(key, window);
      }
      if (window.logged < warnLimit) {
        window.logged++;
        ctx.logger.warn({ source, origin, reason, sample: sampleOf(sample) }, `dropped record at ${origin}: ${reason}`);
      } else {
        window.suppressed++;
      }
    },
    summarize() {
      for (const [reason, window] of windows) {
        if (window.suppressed > 0) ctx.logger.warn({ source, reason, suppressed: window.suppressed }, 'more records dropped for the same reason');
        window.suppressed = 0;
      }
      if (count > 0) ctx.logger.info({ source, dropped: count }, 'records dropped by this source (see alphaflow_dropped_total)');
    },
  };
}

/** Distinct reason labels one source may create; a feed inventing reasons cannot grow them further. */
const MAX_REASON_LABELS = 64;

/** The counter label for a reason: its text up to the first colon ("bad price: NaN" -> "bad price"). */
function reasonLabel(reason: string): string {
  const colon = reason.indexOf(':');
  return colon < 0 ? reason : reason.slice(0, colon);
}
