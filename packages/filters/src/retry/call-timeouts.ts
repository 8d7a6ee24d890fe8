/**
 * The deadlines of one call, on the mesh clock, from the route and the caller:
 * - the route `timeout` covers all attempts (0 = none);
 * - with `grpc_timeout_header_max` set, a gRPC caller's deadline replaces the route timeout,
 *   capped at that max (0 = no cap) and shortened by `grpc_timeout_header_offset`;
 * - `max_stream_duration` caps the whole call;
 * - the caller's own deadline always wins when it is shorter.
 * `per_try_timeout` bounds each attempt within the overall deadline.
 */
import type { RouteAction } from '@xmesh/xds';

/** Absolute overall deadline (ms on the mesh clock), or Infinity. */
export function overallDeadline(action: RouteAction, now: number, callerDeadline: number, grpc: boolean): number {
  let deadline = callerDeadline;
  const headerMax = action.grpcTimeoutHeaderMaxMs;
  if (grpc && headerMax !== undefined && callerDeadline !== Infinity) {
    let allowed = callerDeadline - now - (action.grpcTimeoutHeaderOffsetMs ?? 0);
    if (headerMax > 0) allowed = Math.min(allowed, headerMax);
    deadline = now + Math.max(0, allowed);
  } else if (action.timeoutMs > 0) {
    deadline = Math.min(deadline, now + action.timeoutMs);
  }
  const maxStream = action.maxStreamDurationMs;
  if (maxStream !== undefined && maxStream > 0) deadline = Math.min(deadline, now + maxStream);
  return deadline;
}

/** Absolute deadline of an attempt starting at `now`. */
export function attemptDeadline(perTryTimeoutMs: number | undefined, now: number, overall: number): number {
  return perTryTimeoutMs !== undefined && perTryTimeoutMs > 0 ? Math.min(overall, now + perTryTimeoutMs) : overall;
}
