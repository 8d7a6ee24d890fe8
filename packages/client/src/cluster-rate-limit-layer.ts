/**
 * The cluster-wide rate limit: calls with a key take a token from that key's bucket shared by
 * every mesh on the same Redis (`@xmesh/ratelimit`'s `RedisRateLimiter`), after the local filters.
 * The only layer that waits on I/O; the limiter bounds the wait (`commandTimeoutMs`) and applies
 * its failure mode. Stats as Envoy's global rate limit filter: `cluster.<name>.ratelimit.ok`,
 * `.over_limit`, `.error`, `.failure_mode_allowed`. Off (no cost) unless the mesh was given one.
 */
import { GrpcStatus, MeshError } from '@xmesh/core';
import type { ClusterVerdict } from '@xmesh/ratelimit';
import type { RouteDecision, RouteRequest } from '@xmesh/router';
import type { Layer } from './pipeline.js';
import type { PipelineCall } from './pipeline-call.js';

export interface ClusterRateLimit {
  readonly limiter: { consume(key: string): Promise<ClusterVerdict> };
  /** The bucket a call draws from, or undefined to skip it (e.g. by route name or a header). */
  readonly key: (request: RouteRequest, decision: RouteDecision) => string | undefined;
}

export const clusterRateLimitLayer: Layer = (next) => (call) => {
  const services = call.state.services;
  const tier = services?.clusterRateLimit;
  const decision = call.decision;
  const key = tier === undefined || decision === undefined ? undefined : tier.key(call.request, decision);
  if (key === undefined) {
    next(call);
    return;
  }
  const scope = services!.stats.cluster(decision!.cluster);
  tier!.limiter.consume(key).then((verdict) => {
    if (call.cancelled) return;
    if (verdict.source === 'failure') scope.counter(verdict.allowed ? 'ratelimit.failure_mode_allowed' : 'ratelimit.error').inc();
    else scope.counter(verdict.allowed ? 'ratelimit.ok' : 'ratelimit.over_limit').inc();
    if (verdict.allowed) next(call);
    else call.fail(overLimit(call as PipelineCall, verdict));
  }, (error: unknown) => {
    if (!call.cancelled) call.fail(new MeshError('XMESH_RATE_LIMITED', `cluster rate limit failed: ${String(error)}`, { cluster: decision!.cluster, cause: error }));
  });
};

function overLimit(call: PipelineCall, verdict: ClusterVerdict): MeshError {
  const why = verdict.source === 'failure' ? `rate limit service unavailable (${verdict.error?.message ?? 'error'})` : 'cluster-wide rate limit exceeded';
  return new MeshError('XMESH_RATE_LIMITED', why, { cluster: call.decision?.cluster, httpStatus: 429, grpcStatus: GrpcStatus.UNAVAILABLE, cause: verdict.error });
}
