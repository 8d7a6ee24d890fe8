/**
 * What a health check session asks of its checker kind (HTTP, gRPC, TCP): run one check against its
 * host and say how it went, in the terms Envoy's HealthCheckerImplBase uses (a success, possibly
 * degraded; an active failure, retriable or not; a network failure).
 */
import type { Duplex } from 'node:stream';
import type { HealthCheckConfig } from '@xmesh/xds';

export type ProbeOutcome =
  | { readonly kind: 'success'; readonly degraded: boolean }
  /**
   * `active`: the host answered and the answer is a failure (it fails the host at once unless
   * `retriable`); `network`: no usable answer (it counts toward `unhealthy_threshold`).
   * `immediateFail`: the answer carried `x-envoy-immediate-health-check-fail`.
   */
  | { readonly kind: 'failure'; readonly type: 'active' | 'network'; readonly retriable: boolean; readonly immediateFail?: boolean };

export const SUCCESS: ProbeOutcome = Object.freeze({ kind: 'success', degraded: false });
export const DEGRADED: ProbeOutcome = Object.freeze({ kind: 'success', degraded: true });
export const NETWORK_FAILURE: ProbeOutcome = Object.freeze({ kind: 'failure', type: 'network', retriable: false });
export const ACTIVE_FAILURE: ProbeOutcome = Object.freeze({ kind: 'failure', type: 'active', retriable: false });

/** One host's checks of one kind; keeps its connection between checks when `reuse_connection`. */
export interface Probe {
  /** Starts one check; `done` is called once, unless `abort` came first. Never synchronously. */
  start(done: (outcome: ProbeOutcome) => void): void;
  /** The check timed out: it is stopped and its connection closed; its `done` is not called. */
  abort(): void;
  /** The host's session ended: every connection closes. Idempotent. */
  close(): void;
}

/** Opens a connection to `host:port` secured as the cluster's transport socket says (TLS); undefined = plain TCP. */
export type Dialer = (host: string, port: number, alpn: 'h2' | 'http/1.1') => Duplex;

/** Where and how one host is checked. */
export interface ProbeTarget {
  /** Address checks connect to: the endpoint's, or its `health_check_config` address and port. */
  readonly host: string;
  readonly port: number;
  /** Host / `:authority` of HTTP and gRPC checks. */
  readonly authority: string;
  /** TLS connections when the cluster's transport socket is TLS; undefined = plaintext. */
  readonly dial: Dialer | undefined;
}

/** Counters a probe adds to (Envoy's `health_check.verify_cluster`). */
export interface ProbeStats {
  verify_cluster: number;
}

export type ProbeFactory = (config: HealthCheckConfig, target: ProbeTarget, stats: ProbeStats) => Probe;

/**
 * Envoy's PayloadMatcher: each segment must be found in `data`, in order, each after the end of
 * the previous one.
 */
export function payloadMatches(expected: readonly Buffer[], data: Buffer): boolean {
  let from = 0;
  for (const segment of expected) {
    const at = data.indexOf(segment, from);
    if (at < 0) return false;
    from = at + segment.length;
  }
  return true;
}
