#!/usr/bin/env node
/**
 * `alphaflow`: a thin shell over the library. Parses flags, loads the config, calls `launch`.
 *
 *   alphaflow run <config> [--set node.param=value]... [--log-level info] [--trace]
 *   alphaflow record <config> --out <file.ndjson.gz> [--set node.param=value]... [--log-level info]
 *   alphaflow validate <config> [--set node.param=value]...
 *   alphaflow list [--json]
 *   alphaflow mock-exchange [--symbols BTC-USDT,ETH-USDT] [--seed N] [--port-spot P] [--port-usdm P]
 *                           [--mode realtime|firehose] [--timing production|test]
 *   alphaflow mock-exchange --recording <file.ndjson[.gz]> [--speed <factor>|max] [--port-spot P] [--port-usdm P]
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Logger } from 'pino';
import { asyncScheduler } from 'rxjs';
import { createLogger } from '../context.js';
import { ConfigError, SourceDataError, quote } from '../errors.js';
import { startMockBinance, type MockBinance } from '../mock/binance/index.js';
import { startRecordingMock, type RecordingMock, type ReplaySpeed } from '../mock/binance/recordingServer.js';
import { tryCanonicalSymbol } from '../model/index.js';
import { isRecordable, Recorder, RecordingFileError, recordingRegistry } from '../sources/live/recorder.js';
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
  out: { type: 'string', help: 'record: the recording to write (gzipped when it ends in .gz; never overwritten)' },
  symbols: { type: 'string', help: 'mock-exchange: symbols to list, comma-separated (default BTC-USDT,ETH-USDT)' },
  seed: { type: 'string', help: 'mock-exchange: simulator seed, an integer >= 0 (default 42)' },
  'port-spot': { type: 'string', help: 'mock-exchange: spot port (default 0: any free port)' },
  'port-usdm': { type: 'string', help: 'mock-exchange: USD-M futures port (default 0: any free port)' },
  mode: { type: 'string', help: 'mock-exchange: realtime (follows the clock) or firehose (as fast as clients read); default realtime' },
  timing: { type: 'string', help: 'mock-exchange: production (Binance\'s pings and limits) or test (the fast profile); default production' },
  recording: { type: 'string', help: 'mock-exchange: serve this recording (.ndjson[.gz]) instead of the simulator' },
  speed: { type: 'string', help: 'mock-exchange --recording: replay speed factor (default 1; 0 or max: as fast as clients read)' },
  help: { type: 'boolean', short: 'h', help: 'show help' },
  version: { type: 'boolean', short: 'v', help: 'show the version' },
} as const satisfies Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string; help: string }>;

const COMMANDS = {
  run: { args: '<config>', flags: ['set', 'log-level', 'trace'], help: 'run a pipeline until its sources end or Ctrl-C' },
  record: { args: '<config>', flags: ['out', 'set', 'log-level', 'trace'], help: 'run a pipeline and record every frame and REST answer of its live sources to --out' },
  validate: { args: '<config>', flags: ['set'], help: 'check a pipeline config and show its graph; exit 2 when invalid' },
  list: { args: '', flags: ['json'], help: 'list every source, operator, indicator and sink with its params' },
  'mock-exchange': {
    args: '',
    flags: ['symbols', 'seed', 'port-spot', 'port-usdm', 'mode', 'timing', 'recording', 'speed'],
    help: 'serve a simulated Binance (spot and USD-M, WebSocket and REST) on loopback until Ctrl-C',
  },
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
  const values = parsed.values as Values;
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
  if (command === 'mock-exchange') {
    if (rest.length > 0) {
      process.stderr.write(`"alphaflow mock-exchange" takes no arguments, only flags (got ${rest.map((arg) => quote(arg)).join(', ')}).\n\n${usage()}`);
      return EXIT.invalidConfig;
    }
    return mockExchange(values);
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
  if (command === 'record') return record(raw, { logger, file, baseDir, out: values.out, trace: values.trace === true });
  return launch(raw, { logger, file, baseDir, ...(values.trace === true ? { trace: true } : {}) });
}

interface Values {
  set?: string[];
  'log-level'?: string;
  trace?: boolean;
  json?: boolean;
  help?: boolean;
  version?: boolean;
  out?: string;
  symbols?: string;
  seed?: string;
  'port-spot'?: string;
  'port-usdm'?: string;
  mode?: string;
  timing?: string;
  recording?: string;
  speed?: string;
}

/**
 * `alphaflow record`: the pipeline runs as with `run`, its live sources tapped by a recorder
 * writing `out`. On Ctrl-C the pipeline stops, then the recording is flushed and closed. Exit 2
 * before anything starts when the config is invalid, has no live source or `out` cannot be
 * created; 1 when the run failed or the recording is incomplete.
 */
async function record(raw: unknown, options: { logger: Logger; file: string; baseDir: string; out: string | undefined; trace: boolean }): Promise<number> {
  const { logger, file, out } = options;
  if (out === undefined) {
    process.stderr.write(`"alphaflow record" needs --out <file.ndjson.gz>: where the recording goes.\n\n${usage()}`);
    return EXIT.invalidConfig;
  }
  const registry = builtinRegistry();
  let graph;
  try {
    graph = validatePipeline(raw, registry, { file });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT.invalidConfig;
    }
    throw err;
  }
  const sources = graph.nodes.filter((node) => isRecordable(node.definition)).map((node) => node.id);
  if (sources.length === 0) {
    const recordable = [...registry.values()].filter((definition) => isRecordable(definition)).map((definition) => definition.kind);
    process.stderr.write(`${file} has no live source to record (it uses ${graph.nodes.map((node) => node.kind).join(', ')}); sources that can be recorded: ${recordable.join(', ')}\n`);
    return EXIT.invalidConfig;
  }
  let recorder: Recorder;
  try {
    recorder = await Recorder.open({
      path: resolve(process.cwd(), out),
      clock: () => asyncScheduler.now(),
      logger: logger.child({ recorder: out }),
      info: { pipeline: graph.name, config: file, sources, alphaflow: version() },
    });
  } catch (err) {
    if (err instanceof RecordingFileError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT.invalidConfig;
    }
    throw err;
  }
  logger.info({ path: recorder.path, sources }, `recording ${sources.map((id) => quote(id)).join(', ')} to ${recorder.path}`);
  const code = await launch(raw, { logger, file, baseDir: options.baseDir, registry: recordingRegistry(registry, recorder), ...(options.trace ? { trace: true } : {}) });
  const stats = await recorder.close();
  if (code === EXIT.invalidConfig) {
    // Nothing ran: leave no recording behind.
    rmSync(recorder.path, { force: true });
    return code;
  }
  if (stats.error !== undefined || stats.dropped + stats.failed > 0) return EXIT.failed;
  return code;
}

const MOCK_MODES = ['realtime', 'firehose'] as const;
const MOCK_TIMINGS = ['production', 'test'] as const;

/** The mock-exchange flags, checked; every problem is listed at once. */
function mockOptions(values: Values): { symbols: string[]; seed: number; spotPort: number; usdmPort: number; mode: (typeof MOCK_MODES)[number]; timing: (typeof MOCK_TIMINGS)[number] } | string[] {
  const problems: string[] = [];
  const symbols: string[] = [];
  for (const item of (values.symbols ?? 'BTC-USDT,ETH-USDT').split(',')) {
    const symbol = tryCanonicalSymbol(item.trim());
    if (symbol === undefined) problems.push(`--symbols: ${quote(item.trim())} is not a symbol: write BASE-QUOTE, e.g. BTC-USDT,ETH-USDT`);
    else if (!symbols.includes(symbol)) symbols.push(symbol);
  }
  const seed = integerFlag(problems, 'seed', values.seed, 42, Number.MAX_SAFE_INTEGER, 'an integer >= 0');
  const { spotPort, usdmPort } = portFlags(problems, values);
  if (values.speed !== undefined) problems.push(`--speed ${quote(values.speed)} applies only with --recording`);
  const mode = values.mode ?? 'realtime';
  const timing = values.timing ?? 'production';
  if (!isOneOf(MOCK_MODES, mode)) problems.push(`--mode ${quote(mode)} is not one of ${MOCK_MODES.join(', ')}`);
  if (!isOneOf(MOCK_TIMINGS, timing)) problems.push(`--timing ${quote(timing)} is not one of ${MOCK_TIMINGS.join(', ')}`);
  if (problems.length > 0 || !isOneOf(MOCK_MODES, mode) || !isOneOf(MOCK_TIMINGS, timing)) return problems;
  return { symbols, seed, spotPort, usdmPort, mode, timing };
}

function integerFlag(problems: string[], flag: string, text: string | undefined, fallback: number, max: number, what: string): number {
  if (text === undefined) return fallback;
  const value = /^[0-9]+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!(Number.isSafeInteger(value) && value <= max)) problems.push(`--${flag} ${quote(text)} is not ${what}`);
  return value;
}

function portFlags(problems: string[], values: Values): { spotPort: number; usdmPort: number } {
  const spotPort = integerFlag(problems, 'port-spot', values['port-spot'], 0, 65_535, 'a port from 0 to 65535 (0: any free port)');
  const usdmPort = integerFlag(problems, 'port-usdm', values['port-usdm'], 0, 65_535, 'a port from 0 to 65535 (0: any free port)');
  if (spotPort !== 0 && spotPort === usdmPort) problems.push(`--port-spot and --port-usdm are both ${spotPort}: each market needs its own port`);
  return { spotPort, usdmPort };
}

/** The mock-exchange --recording flags, checked; every problem is listed at once. */
function recordingOptions(values: Values, path: string): { path: string; speed: ReplaySpeed; spotPort: number; usdmPort: number } | string[] {
  const problems: string[] = [];
  let isFile: boolean;
  try {
    isFile = path !== '' && statSync(path).isFile();
  } catch {
    isFile = false;
  }
  if (!isFile) problems.push(`--recording ${quote(path)} is not a file that exists`);
  let speed: ReplaySpeed = 1;
  if (values.speed !== undefined) {
    const text = values.speed.trim();
    const factor = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/.test(text) ? Number(text) : Number.NaN;
    if (text === 'max' || factor === 0) speed = 'max';
    else if (Number.isFinite(factor)) speed = factor;
    else problems.push(`--speed ${quote(values.speed)} is not a positive number, 0 or max (as fast as clients read)`);
  }
  for (const flag of ['symbols', 'seed', 'mode', 'timing'] as const) {
    if (values[flag] !== undefined) problems.push(`--${flag} does not apply with --recording: the recording decides the data and its pace`);
  }
  const { spotPort, usdmPort } = portFlags(problems, values);
  return problems.length > 0 ? problems : { path, speed, spotPort, usdmPort };
}

function badMockOptions(problems: readonly string[]): number {
  process.stderr.write(`alphaflow mock-exchange: ${problems.length === 1 ? 'a bad option' : `${problems.length} bad options`}:\n${problems.map((problem) => `  ${problem}`).join('\n')}\n\n${usage()}`);
  return EXIT.invalidConfig;
}

/** The port in a listen error, or undefined when the error is not about a port. */
function portProblem(err: unknown): string | undefined {
  const code = (err as { code?: unknown }).code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return undefined;
  const port = (err as { port?: unknown }).port;
  return `alphaflow mock-exchange: cannot listen on port ${String(port)}: ${code === 'EADDRINUSE' ? 'it is in use' : 'permission denied'} (choose another with --port-spot / --port-usdm, or 0 for any free port)\n`;
}

/** Resolves with the first SIGINT or SIGTERM. */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise<NodeJS.Signals>((resolveSignal) => {
    const onSignal = (received: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolveSignal(received);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** `alphaflow mock-exchange --recording`: the recording served until SIGINT or SIGTERM, then closed cleanly. */
async function mockExchangeRecording(values: Values, file: string): Promise<number> {
  const options = recordingOptions(values, file);
  if (Array.isArray(options)) return badMockOptions(options);
  const logger = createLogger({ level: 'info' });
  let mock: RecordingMock;
  try {
    mock = await startRecordingMock({ path: options.path, speed: options.speed, spotPort: options.spotPort, usdmPort: options.usdmPort, logger });
  } catch (err) {
    const port = portProblem(err);
    if (port === undefined && !(err instanceof SourceDataError)) throw err;
    process.stderr.write(port ?? `alphaflow mock-exchange: ${(err as Error).message}\n`);
    return EXIT.invalidConfig;
  }
  const sets = [`spot.wsUrl=${mock.spotWsUrl}`, `spot.restUrl=${mock.spotRestUrl}`];
  if (mock.usdmWsUrl !== undefined && mock.usdmRestUrl !== undefined) sets.push(`futures.wsUrl=${mock.usdmWsUrl}`, `futures.restUrl=${mock.usdmRestUrl}`);
  process.stdout.write(
    [
      `Mock Binance on loopback replaying ${options.path} at speed ${options.speed === 'max' ? 'max (as fast as clients read)' : `${options.speed}x`}`,
      `  spot  WebSocket ${mock.spotWsUrl}  REST ${mock.spotRestUrl}`,
      ...(mock.usdmWsUrl === undefined ? [] : [`  usdm  WebSocket ${mock.usdmWsUrl}  REST ${mock.usdmRestUrl ?? ''}`]),
      'Run the live pipeline against it:',
      `  alphaflow run pipelines/binance-live.yaml ${sets.map((set) => `--set ${set}`).join(' ')}`,
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
  const signal = await stopSignal();
  await mock.close();
  process.stderr.write(`alphaflow mock-exchange: ${signal}: every connection and server closed (${mock.framesSent()} frames sent)\n`);
  return EXIT.ok;
}

function isOneOf<T extends string>(list: readonly T[], value: string): value is T {
  return (list as readonly string[]).includes(value);
}

/** `alphaflow mock-exchange`: the mock Binance until SIGINT or SIGTERM, then closed cleanly. */
async function mockExchange(values: Values): Promise<number> {
  if (values.recording !== undefined) return mockExchangeRecording(values, values.recording);
  const options = mockOptions(values);
  if (Array.isArray(options)) return badMockOptions(options);
  let mock: MockBinance;
  try {
    mock = await startMockBinance({
      symbols: options.symbols,
      seed: options.seed,
      mode: options.mode,
      timing: options.timing,
      spot: { port: options.spotPort },
      usdm: { port: options.usdmPort },
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`alphaflow mock-exchange: ${err.message}\n`);
      return EXIT.invalidConfig;
    }
    const port = portProblem(err);
    if (port === undefined) throw err;
    process.stderr.write(port);
    return EXIT.invalidConfig;
  }
  const sets = [
    `spot.wsUrl=${mock.spotWsUrl}`,
    `spot.restUrl=${mock.spotRestUrl}`,
    `futures.wsUrl=${mock.usdmWsUrl}`,
    `futures.restUrl=${mock.usdmRestUrl}`,
  ];
  process.stdout.write(
    [
      `Mock Binance on loopback: ${options.symbols.join(', ')}; seed ${options.seed}, ${options.mode}, ${options.timing} timing`,
      `  spot  WebSocket ${mock.spotWsUrl}  REST ${mock.spotRestUrl}`,
      `  usdm  WebSocket ${mock.usdmWsUrl}  REST ${mock.usdmRestUrl}`,
      'Run the live pipeline against it:',
      `  alphaflow run pipelines/binance-live.yaml ${sets.map((set) => `--set ${set}`).join(' ')}`,
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
  const signal = await stopSignal();
  await mock.close();
  process.stderr.write(`alphaflow mock-exchange: ${signal}: every connection and server closed\n`);
  return EXIT.ok;
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
