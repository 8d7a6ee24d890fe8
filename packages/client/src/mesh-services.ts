/**
 * Per-mesh services the pipeline layers read through `MeshState.services`: the stat store, the
 * HTTP filter chain, compiled route policies, retry admission and attempt accounting.
 * One instance per Mesh; nothing here is module-global.
 */
import { randomBytes } from 'node:crypto';
import type { CallOutcome, Clock } from '@xmesh/core';
import { FilterChain, type SideCalls } from '@xmesh/filters';
import { StatStore, UpstreamStats, attemptEndChannel, attemptStartChannel } from '@xmesh/stats';
import type { PipelineCall } from './pipeline-call.js';
import type { RetryAdmission } from './retry/retry-admission.js';
import { RoutePolicies } from './retry/route-policy.js';
import { DeadlineScheduler } from './retry/deadline-scheduler.js';
import type { ClusterRateLimit } from './cluster-rate-limit-layer.js';
import type { ShadowCall } from './mirror/shadow-call.js';

export interface MeshServicesOptions {
  readonly clock: Clock;
  /** Uniform in [0, 1) for fractions and back-off jitter; default Math.random. */
  readonly random?: () => number;
  /** The cluster-wide (Redis) rate limit tier; undefined = off. */
  readonly clusterRateLimit?: ClusterRateLimit;
  /** Cluster retry admission; default: a `max_retries` / retry-budget counter per cluster. */
  readonly retryAdmission?: (call: PipelineCall) => RetryAdmission | undefined;
  /** Whether every caller's x-envoy-* timeout and retry headers are honoured (the app in embedded mode); default true. */
  readonly trustsCallerHeaders?: boolean;
  /** How filters call their own services (ext_authz): through the mesh's clusters. */
  readonly sideCalls?: SideCalls;
}

export class MeshServices {
  readonly clock: Clock;
  readonly random: () => number;
  readonly stats = new StatStore();
  readonly filters: FilterChain;
  readonly policies = new RoutePolicies();
  /** Route-timeout deadlines of the calls in flight, on one clock timer. */
  readonly deadlines: DeadlineScheduler;
  readonly clusterRateLimit: ClusterRateLimit | undefined;
  /** See MeshServicesOptions.trustsCallerHeaders. */
  readonly trustsCallerHeaders: boolean;
  /**
   * What a route's `io.grpc.channel_id` hash policy hashes (gRFC A42): random, one per mesh, so every
   * call of this mesh lands on the same ring-hash host, as a gRPC channel's calls do.
   */
  readonly channelId = randomBytes(8).toString('hex');
  /** Runs a mirror's copy (admission and pick on the mirror cluster, then the copy's transport); set by the mesh. */
  shadowInvoke: ((call: ShadowCall) => void) | undefined = undefined;
  /** Mirror copies under way (see `MAX_OUTSTANDING_MIRRORS`). */
  outstandingMirrors = 0;
  private readonly clusterStats = new Map<string, UpstreamStats>();
  private sidecarStats: UpstreamStats | undefined = undefined;
  private readonly routeStats = new WeakMap<object, UpstreamStats>();
  private readonly customAdmission: ((call: PipelineCall) => RetryAdmission | undefined) | undefined;

  constructor(options: MeshServicesOptions) {
    this.clock = options.clock;
    this.random = options.random ?? Math.random;
    this.deadlines = new DeadlineScheduler(this.clock);
    this.filters = new FilterChain({ clock: this.clock, stats: this.stats, random: this.random, ...(options.sideCalls === undefined ? {} : { sideCalls: options.sideCalls }) });
    this.customAdmission = options.retryAdmission;
    this.clusterRateLimit = options.clusterRateLimit;
    this.trustsCallerHeaders = options.trustsCallerHeaders ?? true;
  }

  /** Requests bound to an endpoint and not finished yet, over every cluster and the sidecar (`upstream_rq_active`). */
  activeRequests(): number {
    let active = this.sidecarStats?.rqActive.value ?? 0;
    for (const stats of this.clusterStats.values()) active += stats.rqActive.value;
    return active;
  }

  /** `cluster.<name>.` upstream stats. */
  cluster(name: string): UpstreamStats {
    let stats = this.clusterStats.get(name);
    if (stats === undefined) this.clusterStats.set(name, (stats = new UpstreamStats(this.stats.cluster(name))));
    return stats;
  }

  /**
   * `xmesh.sidecar.upstream_rq_*`: calls the app handed to the sidecar (mode switch), as the app
   * saw them; their policies and per-cluster stats live in the sidecar.
   */
  sidecarCalls(): UpstreamStats {
    this.sidecarStats ??= new UpstreamStats(this.stats.root.scope('xmesh.sidecar', 'xmesh_sidecar', { xmesh_mode: 'sidecar' }));
    return this.sidecarStats;
  }

  /** `vhost.<vhost>.route.<stat_prefix>.` upstream stats of a routed call; none when its route has no `stat_prefix` (Envoy). */
  route(call: PipelineCall): UpstreamStats | undefined {
    const decision = call.decision;
    const statPrefix = decision?.route.statPrefix;
    if (decision === undefined || statPrefix === undefined) return undefined;
    let stats = this.routeStats.get(decision.route);
    if (stats === undefined) {
      stats = new UpstreamStats(this.stats.route(decision.virtualHost.name, statPrefix));
      this.routeStats.set(decision.route, stats);
    }
    return stats;
  }

  /** Retry slots of the call's cluster. */
  retryAdmission(call: PipelineCall): RetryAdmission | undefined {
    const custom = this.customAdmission?.(call);
    if (custom !== undefined) return custom;
    const name = call.decision?.cluster;
    // The cluster guard's thresholds (`@xmesh/breaker`) count retries with the cluster's other resources.
    return name === undefined ? undefined : call.state.clusters.get(name)?.guard.limits;
  }

  /** An attempt was bound to an endpoint. */
  attemptBound(call: PipelineCall): void {
    if (call.mode === 'sidecar') {
      this.sidecarCalls().rqActive.inc();
      if (attemptStartChannel.hasSubscribers) attemptStartChannel.publish({ authority: call.request.authority, path: call.request.path, cluster: undefined, endpoint: call.endpoint?.id, mode: call.mode });
      return;
    }
    const cluster = call.cluster;
    if (cluster === undefined) return;
    this.cluster(cluster.name).rqActive.inc();
    if (attemptStartChannel.hasSubscribers) {
      attemptStartChannel.publish({ authority: call.request.authority, path: call.request.path, cluster: cluster.name, endpoint: call.endpoint?.id });
    }
  }

  /**
   * A bound attempt finished: charges `upstream_rq_total`, `upstream_rq_<code>` / `_<class>xx` and
   * `upstream_rq_time` to its cluster and route. An attempt with no HTTP status charges 503, as
   * Envoy charges resets and connect failures.
   */
  attemptFinished(call: PipelineCall, outcome: CallOutcome): void {
    if (call.mode === 'sidecar') {
      const stats = this.sidecarCalls();
      stats.rqActive.dec();
      stats.chargeResponse(outcome.httpStatus > 0 ? outcome.httpStatus : 503, outcome.latencyMs);
      if (attemptEndChannel.hasSubscribers) attemptEndChannel.publish({ authority: call.request.authority, path: call.request.path, cluster: call.decision?.cluster, endpoint: call.endpoint?.id, outcome, mode: call.mode });
      return;
    }
    const cluster = call.cluster;
    if (cluster === undefined) return;
    const status = outcome.httpStatus > 0 ? outcome.httpStatus : 503;
    const stats = this.cluster(cluster.name);
    stats.rqActive.dec();
    stats.chargeResponse(status, outcome.latencyMs);
    this.route(call)?.chargeResponse(status, outcome.latencyMs);
    if (attemptEndChannel.hasSubscribers) {
      attemptEndChannel.publish({ authority: call.request.authority, path: call.request.path, cluster: cluster.name, endpoint: call.endpoint?.id, outcome });
    }
  }
}
