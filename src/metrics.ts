/**
 * Counters per pipeline (never module-level): dropped frames by reason, skipped lines, events per
 * source. Every drop in alphaflow is a counter with a reason, so nothing is lost silently.
 */

export type Labels = Readonly<Record<string, string>>;

export interface MetricSample {
  readonly name: string;
  readonly help: string;
  readonly labels: Labels;
  readonly value: number;
}

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return keys.map((key) => `${key}=${labels[key] ?? ''}`).join(',');
}

/** A counter bound to one label set: `inc()` is a field increment, cheap enough for hot paths. */
export class BoundCounter {
  readonly labels: Labels;
  value = 0;

  constructor(labels: Labels) {
    this.labels = labels;
  }

  inc(by = 1): void {
    this.value += by;
  }
}

/** A monotonically increasing count, split by labels. */
export class Counter {
  readonly name: string;
  readonly help: string;
  readonly #children = new Map<string, BoundCounter>();

  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }

  /** The child for `labels`, created at zero on first use. Keep it for hot paths. */
  bind(labels: Labels = {}): BoundCounter {
    const key = labelKey(labels);
    let child = this.#children.get(key);
    if (child === undefined) {
      child = new BoundCounter({ ...labels });
      this.#children.set(key, child);
    }
    return child;
  }

  inc(labels: Labels = {}, by = 1): void {
    this.bind(labels).inc(by);
  }

  /** Current value for `labels` (0 when never incremented). */
  get(labels: Labels = {}): number {
    return this.#children.get(labelKey(labels))?.value ?? 0;
  }

  /** Sum over every label set. */
  total(): number {
    let sum = 0;
    for (const child of this.#children.values()) sum += child.value;
    return sum;
  }

  samples(): MetricSample[] {
    return [...this.#children.values()].map((child) => ({ name: this.name, help: this.help, labels: child.labels, value: child.value }));
  }
}

/** The counters of one pipeline run. */
export class Metrics {
  readonly #counters = new Map<string, Counter>();

  /** The counter called `name`, created on first use. */
  counter(name: string, help: string): Counter {
    let counter = this.#counters.get(name);
    if (counter === undefined) {
      counter = new Counter(name, help);
      this.#counters.set(name, counter);
    }
    return counter;
  }

  /** Every non-zero sample, sorted by name. */
  snapshot(): MetricSample[] {
    return [...this.#counters.values()]
      .flatMap((counter) => counter.samples())
      .filter((sample) => sample.value !== 0)
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}

/** Names of the counters alphaflow itself keeps. */
export const METRIC = {
  /** Records a source dropped, by `source` and `reason`. */
  dropped: 'alphaflow_dropped_total',
  /** Records a source delivered downstream, by `source`. */
  received: 'alphaflow_received_total',
  /** Sink deliveries, by `sink` and `status`. */
  deliveries: 'alphaflow_deliveries_total',
  /** Records an operator could not use and skipped, by `node` and `reason`. */
  skipped: 'alphaflow_skipped_total',
} as const;
