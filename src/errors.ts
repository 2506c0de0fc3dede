/**
 * The four kinds of error (STYLE.md R7). Each sets `name`, accepts `{ cause }` and quotes the
 * offending value in its message.
 */

/** One problem found in a pipeline config: where (`nodes[2].params.period`) and what. */
export interface ConfigIssue {
  /** Config path, e.g. `nodes[2].params.period`; empty for the whole config. */
  readonly path: string;
  readonly message: string;
}

/** A config is invalid. Holds every issue found, so they can all be reported at once. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];
  /** The config file, when the config came from one. */
  readonly file: string | undefined;

  constructor(issues: readonly ConfigIssue[], options: { file?: string; cause?: unknown } = {}) {
    super(formatConfigIssues(issues, options.file), options.cause === undefined ? {} : { cause: options.cause });
    this.issues = issues;
    this.file = options.file;
  }
}

/** Renders issues one per line, in the order found: `✖ message\n  → at path`. */
export function formatConfigIssues(issues: readonly ConfigIssue[], file?: string): string {
  const header = `${file === undefined ? 'Pipeline config' : file} is invalid (${issues.length} ${issues.length === 1 ? 'problem' : 'problems'}):`;
  const lines = issues.map((issue) => (issue.path === '' ? `✖ ${issue.message}` : `✖ ${issue.message}\n  → at ${issue.path}`));
  return [header, ...lines].join('\n');
}

/** A venue or file delivered something that cannot be used. Sources drop the record and count it. */
export class SourceDataError extends Error {
  override readonly name = 'SourceDataError';
  /** Where it came from, e.g. `data/klines.csv:17` or `binance btcusdt@aggTrade`. */
  readonly origin: string;

  constructor(origin: string, message: string, options: { cause?: unknown } = {}) {
    super(`${origin}: ${message}`, options.cause === undefined ? {} : { cause: options.cause });
    this.origin = origin;
  }
}

/** A rule the engine relies on was broken (a bug or corrupt state). The stream errors. */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
  }
}

/** A kind was registered twice in one registry. */
export class DuplicateKindError extends Error {
  override readonly name = 'DuplicateKindError';

  constructor(kind: string, role: string) {
    super(`The ${role} kind "${kind}" is registered twice`);
  }
}

/** Quotes a value for an error message: strings in double quotes, others as JSON, long values cut. */
export function quote(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) text = `"${String(value)}"`;
  else {
    try {
      text = JSON.stringify(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
