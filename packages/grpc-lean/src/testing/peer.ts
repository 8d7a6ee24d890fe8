import type { PeerEvents } from './echo-behaviour.js';

/** A running echo server the interop suite talks to. */
export interface EchoPeer {
  readonly name: string;
  readonly port: number;
  readonly events: PeerEvents;
  /** Sends GOAWAY on every open connection (graceful: in-flight streams finish). */
  goawayAll(): void;
  close(): Promise<void>;
  /** Drops every connection at once. */
  kill(): void;
}

export interface PeerLimits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS the server announces. */
  maxConcurrentStreams?: number;
  /** Responses are gzip-compressed when the client accepts it. */
  compressResponses?: boolean;
  /** grpc-js only: GOAWAY each connection after this age. */
  maxConnectionAgeMs?: number;
}
