/** What the control plane reports about its clients: one event per ACK/NACK, stream and snapshot change. */
import type { WireNode } from '@xmesh/discovery';

export type StreamMode = 'sotw' | 'delta';

export interface StreamInfo {
  /** Unique per server, increasing. */
  readonly streamId: number;
  readonly mode: StreamMode;
  /** From the stream's first request; '' until it arrives. */
  readonly nodeId: string;
  readonly peer: string;
}

export interface AckEvent extends StreamInfo {
  readonly typeUrl: string;
  /** SotW: the version the client now runs; delta: the system version it acknowledged. */
  readonly version: string;
  readonly nonce: string;
}

export interface NackEvent extends AckEvent {
  /** `error_detail.message`: the client's validation errors. */
  readonly message: string;
  readonly code: number;
}

export interface ResponseEvent extends StreamInfo {
  readonly typeUrl: string;
  readonly version: string;
  readonly nonce: string;
  /** Names of the resources sent. */
  readonly resources: readonly string[];
  /** Delta only: names sent in `removed_resources`. */
  readonly removed: readonly string[];
}

export interface ControlPlaneEvents {
  'stream-open': [StreamInfo & { node: WireNode | undefined }];
  'stream-close': [StreamInfo];
  ack: [AckEvent];
  nack: [NackEvent];
  /** A request whose `response_nonce` is not the latest one sent for its type: ignored, as the protocol says. */
  'stale-nonce': [StreamInfo & { typeUrl: string; nonce: string }];
  response: [ResponseEvent];
  snapshot: [{ version: string; nodeId: string | undefined }];
}

/** Where the control plane logs. Replace it to route lines to your logger; `silentLogger` drops them. */
export interface ControlPlaneLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const consoleLogger: ControlPlaneLogger = {
  info: (m) => console.log(`[xmesh control-plane] ${m}`),
  warn: (m) => console.warn(`[xmesh control-plane] ${m}`),
  error: (m) => console.error(`[xmesh control-plane] ${m}`),
};

export const silentLogger: ControlPlaneLogger = { info() {}, warn() {}, error() {} };

/** Short type name for log lines: `Listener`, `Cluster`, ... */
export function shortType(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
}
