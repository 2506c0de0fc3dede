/**
 * One named stream of one market (`btcusdt@aggTrade`) and the connections subscribed to it. The
 * exchange serializes each payload once and hands the same string to every subscriber; a
 * combined-stream subscriber wraps it with the pre-built {@link StreamChannel.combinedPrefix}.
 */
import type { StreamSpec } from './streamNames.js';

/** What a channel delivers to: a connection. */
export interface StreamSubscriber {
  deliver(channel: StreamChannel, payload: string): void;
}

export class StreamChannel {
  readonly name: string;
  readonly spec: StreamSpec;
  /** `{"stream":"<name>","data":` ; the combined frame is this, the payload and `}`. */
  readonly combinedPrefix: string;
  readonly subscribers = new Set<StreamSubscriber>();
  /** Frames of this stream written to connections, all connections together. */
  delivered = 0;

  constructor(spec: StreamSpec) {
    this.name = spec.name;
    this.spec = spec;
    this.combinedPrefix = `{"stream":${JSON.stringify(spec.name)},"data":`;
  }

  get active(): boolean {
    return this.subscribers.size > 0;
  }

  publish(payload: string): void {
    for (const subscriber of this.subscribers) subscriber.deliver(this, payload);
  }
}
