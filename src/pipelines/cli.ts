#!/usr/bin/env node
/**
 * `alphaflow`: a thin shell over the library. Parses flags, loads the config, calls `launch`.
 *
 *   alphaflow run <config> [--set node.param=value]... [--log-level info] [--trace]
 *   alphaflow validate <config> [--set node.param=value]...
 *   alphaflow list [--json]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createLogger } from '../context.js';
import { ConfigError } from '../errors.js';
import { builtinRegistry } from './builtins.js';
import { builtinCatalog } from './catalog.js';
import { describeRegistry, formatCatalog, formatGraph } from './describe.js';
import { EXIT, launch } from './launch.js';
import { applyOverrides, loadPipelineFile } from './load.js';
import { validatePipeline } from './validate.js';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

/** Every flag, typed once; commands pick theirs. Adding a flag means deciding its help text here. */
const FLAGS = {
  set: { type: 'string', multiple: true, help: 'override a param: <node-id>.<param>=<value> (repeatable)' },
  'log-level': { type: 'string', help: `log level on stderr: ${LOG_LEVELS.join(', ')} (default info)` },
  trace: { type: 'boolean', help: 'log every record every node emits (implies --log-level trace)' },
  json: { type: 'boolean', help: 'machine-readable output' },
  help: { type: 'boolean', short: 'h', help: 'show help' },
  version: { type: 'boolean', short: 'v', help: 'show the version' },
} as const satisfies Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string; help: string }>;

const COMMANDS = {
  run: { args: '<config>', flags: ['set', 'log-level', 'trace'], help: 'run a pipeline until its sources end or Ctrl-C' },
  validate: { args: '<config>', flags: ['set'], help: 'check a pipeline config and show its graph; exit 2 when invalid' },
  list: { args: '', flags: ['json'], help: 'list every source, operator, indicator and sink with its params' },
} as const satisfies Record<string, { args: string; flags: readonly (keyof typeof FLAGS)[]; help: string }>;
type Command = keyof typeof COMMANDS;

function usage(): string {
  const commands = Object.entries(COMMANDS).map(([name, command]) => `  alphaflow ${`${name} ${command.args}`.padEnd(20)} ${command.help}`);
  const flags = Object.entries(FLAGS).map(([name, flag]) => `  --${name.padEnd(12)} ${flag.help}`);
  return ['Usage:', ...commands, '', 'Flags:', ...flags, ''].join('\n');
}

function version(): string {
  const path = fileURLToPath(new URL('../../package.json', import.meta.url));
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

function isCommand(value: string | undefined): value is Command {
  return value !== undefined && Object.hasOwn(COMMANDS, value);
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const options = Object.fromEntries(
    Object.entries(FLAGS).map(([name, flag]) => [name, { type: flag.type, ...('multiple' in flag ? { multiple: true } : {}), ...('short' in flag ? { short: flag.short } : {}) }]),
  ) as ParseArgsConfig['options'];
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage()}`);
    return EXIT.invalidConfig;
  }
  const values = parsed.values as { set?: string[]; 'log-level'?: string; trace?: boolean; json?: boolean; help?: boolean; version?: boolean };
  const [command, ...rest] = parsed.positionals;
  if (values.version === true) {
    process.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  if (values.help === true || command === undefined || command === 'help') {
    process.stdout.write(usage());
    return command === undefined && values.help !== true ? EXIT.invalidConfig : EXIT.ok;
  }
  if (!isCommand(command)) {
    process.stderr.write(`Unknown command "${command}".\n\n${usage()}`);
    return EXIT.invalidConfig;
  }
  const allowed = new Set<string>(COMMANDS[command].flags);
  const misplaced = Object.keys(values).filter((flag) => !allowed.has(flag) && flag !== 'help' && flag !== 'version');
  if (misplaced.length > 0) {
    process.stderr.write(`"alphaflow ${command}" does not take ${misplaced.map((flag) => `--${flag}`).join(', ')}.\n\n${usage()}`);
    return EXIT.invalidConfig;
  }

  if (command === 'list') {
    const kinds = describeRegistry(builtinRegistry(), builtinCatalog());
    process.stdout.write(values.json === true ? `${JSON.stringify(kinds, null, 2)}\n` : `${formatCatalog(kinds)}\n`);
    return EXIT.ok;
  }

  const file = rest[0];
  if (file === undefined || rest.length > 1) {
    process.stderr.write(`"alphaflow ${command}" takes exactly one config file.\n\n${usage()}`);
    return EXIT.invalidConfig;
  }
  let raw: unknown;
  let baseDir: string;
  try {
    const loaded = await loadPipelineFile(file);
    raw = applyOverrides(loaded.raw, values.set ?? []);
    baseDir = loaded.baseDir;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT.invalidConfig;
    }
    throw err;
  }

  if (command === 'validate') {
    try {
      const graph = validatePipeline(raw, builtinRegistry(), { file });
      process.stdout.write(`${formatGraph(graph, file)}\n`);
      return EXIT.ok;
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`);
        return EXIT.invalidConfig;
      }
      throw err;
    }
  }

  const requested = values['log-level'];
  if (requested !== undefined && !(LOG_LEVELS as readonly string[]).includes(requested)) {
    process.stderr.write(`--log-level "${requested}" is not one of ${LOG_LEVELS.join(', ')}\n`);
    return EXIT.invalidConfig;
  }
  const level: LogLevel = values.trace === true ? 'trace' : ((requested as LogLevel | undefined) ?? 'info');
  const logger = createLogger({ level });
  return launch(raw, { logger, file, baseDir, ...(values.trace === true ? { trace: true } : {}) });
}

/** Runs the CLI for this process: sets the exit code, never hangs on a leaked handle. */
export function runCli(argv: readonly string[] = process.argv.slice(2)): void {
  main(argv).then(
    (code) => {
      process.exitCode = code;
      // Everything has been released; if a handle still holds the loop open, do not hang forever.
      setTimeout(() => {
        process.stderr.write('alphaflow: forcing exit, a handle was still open after the pipeline stopped\n');
        process.exit(code);
      }, 3_000).unref();
    },
    (err: unknown) => {
      process.stderr.write(`alphaflow: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = EXIT.failed;
    },
  );
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) runCli();
