/**
 * Reads cryptofeed captures converted to JSON lines (`../shared/data/ws-messages/cryptofeed`):
 * `{"local_ts": <float s>, "kind": "ws_open"|"ws_send"|"ws_recv"|"http_get"|"config", "url": ..., "data": <payload>}`.
 *
 * Each line becomes a recording entry: the feed comes from the URL's host, the connection id from
 * the URL (one id per distinct URL, its epoch counting the `ws_open`s), and the receive time is
 * `local_ts` floored to the millisecond. The capture stores payloads decoded, so a frame is
 * re-encoded with `JSON.stringify`: the same JSON value, not necessarily the same bytes (which is
 * why alphaflow's own format stores frames verbatim). `config` lines describe the capture and
 * are skipped.
 */
import { quote } from '../../errors.js';
import { binanceFeedOfUrl, binanceRawStream } from '../binance/binanceUrls.js';
import type { InvalidLine, ReadEntry } from './recording.js';

/** A per-file reader: connection ids and epochs are numbered in the order the file opens them. */
export function createCryptofeedReader(): (text: string, line: number) => ReadEntry | undefined {
  const connections = new Map<string, { id: string; epoch: number }>();
  const feeds = new Map<string, string>();

  function connectionOf(url: string): { id: string; epoch: number } {
    let connection = connections.get(url);
    if (connection === undefined) {
      connection = { id: `cf${connections.size + 1}`, epoch: 0 };
      connections.set(url, connection);
    }
    return connection;
  }

  function feedOf(url: string): string {
    let feed = feeds.get(url);
    if (feed === undefined) {
      feed = binanceFeedOfUrl(url) ?? hostOf(url);
      feeds.set(url, feed);
    }
    return feed;
  }

  return (text, line) => {
    if (text.trim() === '') return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return invalid(line, `not JSON: ${err instanceof Error ? err.message : String(err)}`, text);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid(line, `not a JSON object: ${quote(value)}`, text);
    const { local_ts: seconds, kind, url, data } = value as Record<string, unknown>;
    if (typeof seconds !== 'number' || !(seconds >= 0) || !Number.isFinite(seconds)) {
      return invalid(line, `field "local_ts" is not a time in seconds: ${quote(seconds)}`, text);
    }
    if (kind === 'config') return undefined;
    if (typeof url !== 'string' || url === '') return invalid(line, `field "url" is not a URL: ${quote(url)}`, text);
    // Round to the microsecond first: 1617566591.326 * 1000 is 1617566591325.9998 in binary.
    const time = Math.floor(Math.round(seconds * 1e6) / 1e3);
    const feed = feedOf(url);
    switch (kind) {
      case 'ws_open': {
        const connection = connectionOf(url);
        connection.epoch++;
        return { kind: 'open', time, feed, conn: connection.id, epoch: connection.epoch, url, line };
      }
      case 'ws_recv':
      case 'ws_send': {
        if (data === undefined) return invalid(line, `${kind} line has no "data"`, text);
        const connection = connectionOf(url);
        const frame = typeof data === 'string' ? data : JSON.stringify(data);
        const entryKind = kind === 'ws_recv' ? 'recv' : 'send';
        const stream = binanceRawStream(url);
        return stream === undefined
          ? { kind: entryKind, time, feed, conn: connection.id, epoch: connection.epoch, frame, line }
          : { kind: entryKind, time, feed, conn: connection.id, epoch: connection.epoch, stream, frame, line };
      }
      case 'http_get': {
        if (data === undefined) return invalid(line, 'http_get line has no "data"', text);
        // cryptofeed logs only successful answers, without their status.
        const body = typeof data === 'string' ? data : JSON.stringify(data);
        return { kind: 'rest', time, feed, conn: 'rest', epoch: 0, url, status: 200, body, line };
      }
      default:
        return invalid(line, kind === undefined ? 'field "kind" is missing' : `unknown kind: ${quote(kind)}`, text);
    }
  };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function invalid(line: number, reason: string, text: string): InvalidLine {
  return { kind: 'invalid', line, reason, text };
}
