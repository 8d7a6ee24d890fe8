/**
 * How a gRPC attempt's end is reported to load metrics, outlier detection and the fail-fast
 * breaker (`CallOutcome`), by Envoy's origin rules (`Upstream::Outlier::Result`): a connection
 * that could not be made (refused, connect timeout), a stream or connection reset and a local
 * timeout are local-origin failures (`local_error`); a status the upstream sent is external
 * (`upstream_error`). Unsplit, outlier detection counts a local-origin failure as a 503 (both 503
 * and Envoy's 504 for timeouts are 5xx and gateway failures); with
 * `split_external_local_origin_errors` it counts toward the local-origin detectors instead.
 *
 * The transports report these ends only as a status and its details, in their own words (grpc-js
 * and the lean transport); the patterns below are those words. A status the upstream sent with
 * the same words is taken as local too, which only matters when split.
 */
import { GrpcStatus, type CallOutcome } from '@xmesh/core';
import { isConnectFailure } from './grpc-status.js';

/**
 * A stream or connection reset before the status: RST_STREAM (both transports), a dropped or
 * failed connection (grpc-js "Connection dropped", lean "Connection error: …"), a refused stream,
 * or a stream that ended without a status or inside a message.
 */
const TRANSPORT_RESET = /^(?:Received RST_STREAM|Connection dropped|Connection error|Stream refused|Stream ended|Call ended without gRPC status)/;

/** A timeout on this side: the transport's deadline ("Deadline exceeded…") or the mesh's route / per-try timeout (XMESH_TIMEOUT). */
const LOCAL_TIMEOUT = /^(?:Deadline exceeded|XMESH_TIMEOUT\b)/;

/** True when the attempt ended on this side of the wire: no connection, a reset, or a local timeout. */
export function isLocalOriginEnd(code: number, details: string): boolean {
  if (code === GrpcStatus.OK || code === GrpcStatus.CANCELLED) return false;
  if (code === GrpcStatus.DEADLINE_EXCEEDED) return LOCAL_TIMEOUT.test(details);
  return TRANSPORT_RESET.test(details) || isConnectFailure(code, details);
}

/**
 * The outcome of a gRPC attempt that ended with `code` and `details` after `latencyMs`: an
 * upstream status keeps HTTP 200 (gRPC's), a local-origin end has no HTTP status (0).
 */
export function grpcAttemptOutcome(code: number, details: string, latencyMs: number): CallOutcome {
  if (code !== GrpcStatus.OK && isLocalOriginEnd(code, details)) return { kind: 'local_error', httpStatus: 0, grpcStatus: code, latencyMs };
  return { kind: code === GrpcStatus.OK ? 'success' : 'upstream_error', httpStatus: 200, grpcStatus: code, latencyMs };
}
