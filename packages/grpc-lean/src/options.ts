import { DEFAULT_MAX_MESSAGE_SIZE } from '@xmesh/codec';
import { GRPC_CONNECTION_BACKOFF, type BackoffOptions } from '@xmesh/core';

/** Message compression the transport can send and receive. */
export type LeanCompression = 'identity' | 'gzip';

/** Resolved transport options; every field has its default applied. */
export interface LeanTransportOptions {
  /** Interval between keepalive PINGs; Infinity disables them (grpc-js default). */
  readonly keepaliveTimeMs: number;
  /** How long a PING may go unanswered before the connection is closed. */
  readonly keepaliveTimeoutMs: number;
  /** Ping even when no call is active. */
  readonly keepalivePermitWithoutCalls: boolean;
  /** Largest message (uncompressed) this side sends; Infinity = unlimited. */
  readonly maxSendMessageLength: number;
  /** Largest message (uncompressed) this side accepts; Infinity = unlimited. */
  readonly maxReceiveMessageLength: number;
  /** Compression applied to sent messages. */
  readonly sendCompression: LeanCompression;
  /** Most HTTP/2 connections opened to one endpoint when streams hit the server's limit. */
  readonly maxSessions: number;
  /** Reconnect backoff. */
  readonly backoff: BackoffOptions;
  /** `user-agent` header. */
  readonly userAgent: string;
  /** `:authority` override; the endpoint's host:port when undefined. */
  readonly authority: string | undefined;
}

/** grpc-js channel option names this transport honours (plus `xmesh.lean.*`). */
export type LeanChannelOptions = Readonly<Record<string, string | number | undefined>>;

const DEFAULT_MAX_SESSIONS = 8;
const GRPC_COMPRESSION_GZIP = 2;

function numberOption(options: LeanChannelOptions, name: string): number | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) throw new TypeError(`channel option ${name}: expected a number, got ${String(value)}`);
  return n;
}

/** grpc-js convention: -1 means unlimited. */
function sizeLimit(value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  return value < 0 ? Infinity : value;
}

/**
 * Resolves options from grpc-js channel option names:
 * `grpc.keepalive_time_ms`, `grpc.keepalive_timeout_ms`, `grpc.keepalive_permit_without_calls`,
 * `grpc.max_send_message_length`, `grpc.max_receive_message_length`,
 * `grpc.default_compression_algorithm` (0 identity, 2 gzip), `grpc.initial_reconnect_backoff_ms`,
 * `grpc.max_reconnect_backoff_ms`, `grpc.primary_user_agent`, `grpc.default_authority`;
 * and `xmesh.lean.max_sessions`, `xmesh.lean.min_connect_timeout_ms`.
 */
export function resolveLeanOptions(options: LeanChannelOptions = {}): LeanTransportOptions {
  const keepaliveTime = numberOption(options, 'grpc.keepalive_time_ms');
  const compression = numberOption(options, 'grpc.default_compression_algorithm') ?? 0;
  if (compression !== 0 && compression !== GRPC_COMPRESSION_GZIP) {
    throw new TypeError(`channel option grpc.default_compression_algorithm: ${compression} is not supported (0 identity, 2 gzip)`);
  }
  const initialBackoff = numberOption(options, 'grpc.initial_reconnect_backoff_ms') ?? GRPC_CONNECTION_BACKOFF.initialMs;
  const userAgentPrefix = options['grpc.primary_user_agent'];
  const authority = options['grpc.default_authority'];
  return Object.freeze({
    keepaliveTimeMs: keepaliveTime === undefined || keepaliveTime <= 0 ? Infinity : keepaliveTime,
    keepaliveTimeoutMs: numberOption(options, 'grpc.keepalive_timeout_ms') ?? 20_000,
    keepalivePermitWithoutCalls: (numberOption(options, 'grpc.keepalive_permit_without_calls') ?? 0) !== 0,
    maxSendMessageLength: sizeLimit(numberOption(options, 'grpc.max_send_message_length'), Infinity),
    maxReceiveMessageLength: sizeLimit(numberOption(options, 'grpc.max_receive_message_length'), DEFAULT_MAX_MESSAGE_SIZE),
    sendCompression: compression === GRPC_COMPRESSION_GZIP ? 'gzip' : 'identity',
    maxSessions: Math.max(1, numberOption(options, 'xmesh.lean.max_sessions') ?? DEFAULT_MAX_SESSIONS),
    backoff: Object.freeze({
      ...GRPC_CONNECTION_BACKOFF,
      initialMs: initialBackoff,
      maxMs: numberOption(options, 'grpc.max_reconnect_backoff_ms') ?? GRPC_CONNECTION_BACKOFF.maxMs,
      minConnectTimeoutMs: numberOption(options, 'xmesh.lean.min_connect_timeout_ms') ?? GRPC_CONNECTION_BACKOFF.minConnectTimeoutMs,
    }),
    userAgent: `${userAgentPrefix === undefined ? '' : `${String(userAgentPrefix)} `}xmesh-grpc-lean/0.1`,
    authority: authority === undefined ? undefined : String(authority),
  });
}
