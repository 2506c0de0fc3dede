/**
 * Loads a pipeline config from a YAML or JSON file, and applies `--set node.param=value`
 * overrides. Syntax errors and bad overrides are config errors, reported with their location.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYamlValue, parseDocument } from 'yaml';
import type { ConfigIssue } from '../errors.js';
import { ConfigError } from '../errors.js';

export interface LoadedConfig {
  /** The parsed document, not yet validated. */
  readonly raw: unknown;
  /** The file as given, for messages. */
  readonly file: string;
  /** The file's directory: relative paths in params resolve against it. */
  readonly baseDir: string;
}

/** Reads and parses `path` (YAML, of which JSON is a subset). */
export async function loadPipelineFile(path: string, cwd: string = process.cwd()): Promise<LoadedConfig> {
  const absolute = resolve(cwd, path);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const reason = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new ConfigError([{ path: '', message: `Cannot read ${path}: ${reason}` }], { file: path, cause: err });
  }
  return { raw: parseConfigText(text, path), file: path, baseDir: dirname(absolute) };
}

/** Parses YAML or JSON text; syntax errors name the line and column. */
export function parseConfigText(text: string, file?: string): unknown {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const issues: ConfigIssue[] = document.errors.map((error) => {
      const where = error.linePos?.[0];
      // With prettyErrors the message ends in " at line L, column C:" and a source excerpt.
      const reason = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      const location = where === undefined ? '' : ` at line ${where.line}, column ${where.col}`;
      return { path: '', message: `YAML syntax error${location}: ${reason}` };
    });
    throw new ConfigError(issues, file === undefined ? {} : { file });
  }
  return document.toJS() as unknown;
}

/**
 * Applies overrides such as `trades.seed=7` or `risk.equity=25000`: the node id, then the param
 * path; the value is read as YAML (`7` is a number, `true` a boolean, `[a, b]` a list).
 */
export function applyOverrides(raw: unknown, overrides: readonly string[]): unknown {
  if (overrides.length === 0) return raw;
  const issues: ConfigIssue[] = [];
  const config = structuredClone(raw) as { nodes?: unknown };
  const nodes = Array.isArray(config.nodes) ? (config.nodes as unknown[]) : [];
  for (const override of overrides) {
    const match = /^([a-z0-9-]+)\.([A-Za-z0-9_.-]+)=(.*)$/s.exec(override);
    if (match === null) {
      issues.push({ path: '--set', message: `Override "${override}" must look like <node-id>.<param>=<value>, e.g. trades.seed=7` });
      continue;
    }
    const [, id = '', paramPath = '', text = ''] = match;
    const node = nodes.find((candidate): candidate is { id: string; params?: Record<string, unknown> } => (candidate as { id?: unknown }).id === id);
    if (node === undefined) {
      const known = nodes.map((candidate) => String((candidate as { id?: unknown }).id)).join(', ');
      issues.push({ path: '--set', message: `Override "${override}" names node "${id}", which does not exist. Nodes: ${known}` });
      continue;
    }
    let value: unknown;
    try {
      value = parseYamlValue(text) as unknown;
    } catch {
      value = text;
    }
    node.params ??= {};
    const keys = paramPath.split('.');
    let target: Record<string, unknown> = node.params;
    for (const key of keys.slice(0, -1)) {
      const next = target[key];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) target[key] = {};
      target = target[key] as Record<string, unknown>;
    }
    target[keys[keys.length - 1] ?? ''] = value;
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}
