/**
 * One readable line (or a few) per record, for people watching a terminal. Machines get NDJSON.
 */
import type { AnyEvent, Candle, Consensus, Signal, VoteSummary } from '../model/index.js';

export interface FormatOptions {
  /** ANSI colours (green long, red short, yellow warnings). */
  readonly color: boolean;
}

const ANSI = { reset: '\u001b[0m', bold: '\u001b[1m', dim: '\u001b[2m', red: '\u001b[31m', green: '\u001b[32m', yellow: '\u001b[33m', cyan: '\u001b[36m' };

type Paint = (text: string, ...styles: (keyof typeof ANSI)[]) => string;

function painter(color: boolean): Paint {
  return (text, ...styles) => (color ? `${styles.map((style) => ANSI[style]).join('')}${text}${ANSI.reset}` : text);
}

/** `2025-01-01 03:45:00Z` */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

/** A price or quantity with digits suited to its magnitude: 94,101.2, 0.03984, 3.1415. */
export function formatNumber(value: number, significant = 6): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = value === 0 ? 0 : Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.min(8, Math.max(2, significant - 1 - magnitude));
  return value.toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: decimals });
}

function direction(dir: string, paint: Paint): string {
  if (dir === 'long') return paint('▲ LONG ', 'bold', 'green');
  if (dir === 'short') return paint('▼ SHORT', 'bold', 'red');
  return paint('· NEUTRAL', 'dim');
}

function voteLines(votes: readonly VoteSummary[], paint: Paint): string[] {
  const width = Math.max(...votes.map((vote) => vote.voter.length), 5);
  return votes.map((vote) => {
    const dir = vote.direction === 'long' ? paint('long ', 'green') : vote.direction === 'short' ? paint('short', 'red') : paint('---  ', 'dim');
    return `    ${vote.voter.padEnd(width)}  ${dir}  ${vote.confidence.toFixed(2)}  ${paint(vote.reasons.join('; '), 'dim')}`;
  });
}

function signalText(signal: Signal, paint: Paint): string {
  const head = [
    paint(formatTime(signal.closeTime + 1), 'dim'),
    direction(signal.direction, paint),
    paint(`${signal.symbol} ${signal.interval}`, 'bold'),
    `(${signal.venue})`,
    `conf ${signal.confidence.toFixed(2)}`,
    `entry ${formatNumber(signal.entry)}`,
    `stop ${formatNumber(signal.stopLoss)}`,
    `target ${formatNumber(signal.takeProfit)}`,
    `R:R ${signal.riskReward.toFixed(2)}`,
    `size ${formatNumber(signal.size)}`,
    paint(`(risk ${formatNumber(signal.riskAmount)}, notional ${formatNumber(signal.notional)})`, 'dim'),
  ].join('  ');
  return [head, `    ${paint(signal.consensus.reason, 'cyan')}`, ...voteLines(signal.votes, paint)].join('\n');
}

function consensusText(consensus: Consensus, paint: Paint): string {
  return `${paint(formatTime(consensus.closeTime + 1), 'dim')}  consensus ${direction(consensus.direction, paint)}  ${consensus.symbol} ${consensus.interval}  ${consensus.reason}`;
}

function candleText(candle: Candle, paint: Paint): string {
  const state = candle.closed ? '' : paint(' (forming)', 'dim');
  return `${paint(formatTime(candle.openTime), 'dim')}  ${candle.symbol} ${candle.interval}  O ${formatNumber(candle.open)}  H ${formatNumber(candle.high)}  L ${formatNumber(candle.low)}  C ${formatNumber(candle.close)}  V ${formatNumber(candle.volume)}${state}`;
}

/** The human-readable text of `record`, without a trailing newline. */
export function formatRecord(record: AnyEvent, options: FormatOptions): string {
  const paint = painter(options.color);
  switch (record.type) {
    case 'signal':
      return signalText(record, paint);
    case 'alert': {
      const style = record.severity === 'critical' ? 'red' : record.severity === 'warning' ? 'yellow' : 'cyan';
      return `${paint(formatTime(record.tsEvent), 'dim')}  ${paint(`ALERT ${record.severity.toUpperCase()}`, 'bold', style)}  ${record.symbol}  ${record.message}  ${paint(`[${record.rule}]`, 'dim')}`;
    }
    case 'gap': {
      const span = record.from === undefined ? '' : ` ${record.from}${record.to === undefined ? '' : `..${record.to}`}`;
      const fate = record.recoverable ? 'recoverable' : 'lost';
      return `${paint(formatTime(record.tsEvent), 'dim')}  ${paint('GAP', 'bold', 'yellow')}  ${record.venue} ${record.symbol} ${record.stream}${span} (${fate}): ${record.reason}`;
    }
    case 'status':
      return `${paint(formatTime(record.tsEvent), 'dim')}  ${paint(`STATUS ${record.state}`, 'yellow')}  ${record.venue} ${record.symbol}: ${record.detail}`;
    case 'consensus':
      return consensusText(record, paint);
    case 'candle':
      return candleText(record, paint);
    case 'trade':
      return `${paint(formatTime(record.tsEvent), 'dim')}  ${record.symbol}  ${record.side === 'buy' ? paint('buy ', 'green') : paint('sell', 'red')}  ${formatNumber(record.qty)} @ ${formatNumber(record.price)}`;
    case 'vote':
      return `${paint(formatTime(record.closeTime + 1), 'dim')}  vote ${record.voter} ${direction(record.direction, paint)} ${record.confidence.toFixed(2)}  ${record.symbol}  ${record.reasons.join('; ')}`;
    default:
      return JSON.stringify(record);
  }
}
