/**
 * What the sidecar protects itself with, beyond what the config's listener says:
 *
 * - `DownstreamProtection` (from `@xmesh/xds`) is the listener's HttpConnectionManager: timeouts,
 *   header limits, HTTP/1.1 and HTTP/2 options, with Envoy's defaults. The sidecar has one port for
 *   every listener, and a connection's limits are needed before any request names an authority, so
 *   it applies one listener's: the `listener` option's, else the only listener's, else Envoy's defaults.
 * - `SidecarLimits` are the process-wide limits Envoy keeps outside the listener (overload manager,
 *   runtime keys) or has no default for: the downstream connection limit, the gRPC message size on
 *   the proxy path, and the premature-reset check of CVE-2023-44487.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_DOWNSTREAM_PROTECTION, type DownstreamProtection, type ListenerConfig, type MeshSnapshot } from '@xmesh/xds';

export interface SidecarLimits {
  /**
   * Downstream connections open at once; further ones are closed at accept (existing ones are not
   * touched), as Envoy's `overload.global_downstream_max_connections`. Default: 10 000, at most
   * three quarters of the process's open-file limit so upstream connections always have descriptors.
   */
  readonly maxConnections: number;
  /**
   * Largest gRPC message relayed either way, by its length prefix (messages are never buffered):
   * a larger one ends its stream at once with RESOURCE_EXHAUSTED. Default 4 MiB, gRPC's receive default.
   */
  readonly maxGrpcMessageBytes: number;
  /**
   * Premature-reset check (Envoy's runtime `overload.premature_reset_total_stream_count`, default
   * 500): once this many streams of an HTTP/2 connection closed, the connection is closed when at
   * least half were reset by the client before a response; before that, as soon as half this many were.
   */
  readonly prematureResetTotalStreamCount: number;
  /**
   * A stream reset by the client counts as premature when it lived no more than this many whole
   * seconds and got no response (Envoy's `overload.premature_reset_min_stream_lifetime_seconds`, default 1).
   */
  readonly prematureResetMinStreamLifetimeSeconds: number;
  /**
   * HTTP/2 `max_concurrent_streams` when the listener sets none. Envoy's default (2^31 - 1) is no
   * limit at all; the sidecar's is 1024, the circuit breakers' default `max_requests`.
   */
  readonly defaultMaxConcurrentStreams: number;
}

/** gRPC's default receive limit. */
export const DEFAULT_MAX_GRPC_MESSAGE_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_CONNECTIONS = 10_000;

export function defaultSidecarLimits(): SidecarLimits {
  return {
    maxConnections: defaultMaxConnections(),
    maxGrpcMessageBytes: DEFAULT_MAX_GRPC_MESSAGE_BYTES,
    prematureResetTotalStreamCount: 500,
    prematureResetMinStreamLifetimeSeconds: 1,
    defaultMaxConcurrentStreams: 1024,
  };
}

/** 10 000, or three quarters of the soft open-file limit when that is lower (Linux; elsewhere 10 000). */
export function defaultMaxConnections(): number {
  const openFiles = openFileLimit();
  return openFiles === undefined ? DEFAULT_MAX_CONNECTIONS : Math.max(64, Math.min(DEFAULT_MAX_CONNECTIONS, Math.floor(openFiles * 0.75)));
}

function openFileLimit(): number | undefined {
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** The downstream protections the sidecar applies for `snapshot` (see the file comment). */
export function downstreamProtectionOf(snapshot: MeshSnapshot, listener: string | undefined): DownstreamProtection {
  return servedListenerOf(snapshot, listener)?.protection ?? DEFAULT_DOWNSTREAM_PROTECTION;
}

/** The listener whose HttpConnectionManager the sidecar's port serves: the named one, else the only one. */
export function servedListenerOf(snapshot: MeshSnapshot, listener: string | undefined): ListenerConfig | undefined {
  const named = listener === undefined ? undefined : snapshot.listeners[listener];
  if (named !== undefined) return named;
  const all = Object.values(snapshot.listeners);
  return all.length === 1 ? all[0] : undefined;
}
