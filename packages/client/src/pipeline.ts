/**
 * The per-call pipeline, written once. A layer is `(next) => invoke`; the list below is the order
 * of DESIGN.md's "a call's path". Filters, retry/timeout and admission are later insertions into
 * `LAYERS` between `route` and `pick`. The transport (gRPC channel or HTTP pool) is the terminal
 * invoke, supplied by each protocol front end.
 */
import { MeshError, grpcStatusFromHttp, isMeshError } from '@xmesh/core';
import type { PipelineCall } from './pipeline-call.js';
import { filtersLayer } from './filters-layer.js';
import { retryLayer } from './retry/retry-layer.js';
import { clusterRateLimitLayer } from './cluster-rate-limit-layer.js';
import { mirrorLayer } from './mirror/mirror-layer.js';

/** Runs one attempt onward. Synchronous; a layer that must wait keeps the call and resumes it later. */
export type Invoke<C extends PipelineCall> = (call: C) => void;
export type Layer = <C extends PipelineCall>(next: Invoke<C>) => Invoke<C>;

/** Route: virtual host, route and weighted cluster from the call's snapshot. */
export const routeLayer: Layer = (next) => (call) => {
  // The mode switch may have routed the call already (per-cluster modes); that decision stands.
  const decision = call.decision ?? call.state.router.route(call.request);
  if (isMeshError(decision)) {
    call.fail(decision);
    return;
  }
  call.decision = decision;
  next(call);
};

/**
 * Admission: the cluster's circuit-breaker thresholds and fail-fast breaker, before pick. A refusal
 * fails the attempt with XMESH_CIRCUIT_OPEN; an admitted attempt is released by `finish`.
 * Unknown clusters pass through for the pick layer to report.
 */
export const admissionLayer: Layer = (next) => (call) => {
  const cluster = call.state.clusters.get(call.decision!.cluster);
  if (cluster === undefined) {
    next(call);
    return;
  }
  const guard = cluster.guard;
  // The route's priority picks the thresholds (Envoy's RoutingPriority; HIGH calls are never queued).
  const priority = call.decision!.route.action.priority;
  if (guard.queued && priority === undefined) {
    // Queued admission (off by default): wait for a slot instead of failing at max_requests, but not
    // past the caller's deadline (no transport call enforces it while the call waits here).
    call.retry?.enforceDeadline();
    guard.admitQueued().then(
      (permit) => {
        if (call.cancelled) {
          guard.abandon(permit);
          return;
        }
        call.admit(guard, permit);
        next(call);
      },
      (error: unknown) => {
        if (!call.cancelled) call.fail(isMeshError(error) ? error : new MeshError('XMESH_CIRCUIT_OPEN', String(error), { cluster: guard.name }));
      },
    );
    return;
  }
  const admitted = guard.admit(priority);
  if (isMeshError(admitted)) {
    call.fail(admitted);
    return;
  }
  call.admit(guard, admitted);
  next(call);
};

/**
 * Pick: the cluster's current picker chooses an endpoint; queued picks wait for the next picker. A route
 * to a cluster that does not exist (a control plane's, deleted or never sent: gRFC A53) fails only its
 * own calls: 503 / UNAVAILABLE, or the route's `cluster_not_found_response_code`.
 */
export const pickLayer: Layer = (next) => (call) => {
  const name = call.decision!.cluster;
  const cluster = call.state.clusters.get(name);
  if (!cluster) {
    const status = call.decision!.route.action.clusterNotFoundStatus;
    const options = status === undefined ? { cluster: name } : { cluster: name, httpStatus: status, grpcStatus: grpcStatusFromHttp(status) };
    call.fail(new MeshError('XMESH_NO_CLUSTER', `cluster "${name}" does not exist`, options));
    return;
  }
  cluster.pick(call, next);
};

/** In order, outermost first. Mirroring runs once per call (before the retry layer), after the call went on. */
export const LAYERS: readonly Layer[] = [routeLayer, filtersLayer, clusterRateLimitLayer, mirrorLayer, retryLayer, admissionLayer, pickLayer];

/** What a mirror's copy runs through: admission and pick on the mirror cluster (no filters, retries or mirroring). */
export const SHADOW_LAYERS: readonly Layer[] = [admissionLayer, pickLayer];

/** Builds the invoke for one protocol: every layer of `LAYERS` around its transport. */
export function composePipeline<C extends PipelineCall>(transport: Invoke<C>, layers: readonly Layer[] = LAYERS): Invoke<C> {
  let invoke = transport;
  for (let i = layers.length - 1; i >= 0; i--) invoke = layers[i]!(invoke);
  return invoke;
}
