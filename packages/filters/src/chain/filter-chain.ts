/**
 * Runs a listener's HTTP filters (fault, local rate limit) for one routed call, in chain order,
 * with each filter's per-route config. Synchronous unless a fault delays the call; then a clock
 * timer resumes the chain at the same filter (whose abort is decided after the delay, as Envoy).
 * Filter state (buckets, active-fault counts) is kept per config object, so it lives as long as
 * the snapshot that holds it. One instance per mesh.
 */
import { MeshError, type Clock } from '@xmesh/core';
import type { HeaderSource, RouteDecision } from '@xmesh/router';
import { compileDescriptors, LocalRateLimiter, type Descriptor, type DescriptorBuilder } from '@xmesh/ratelimit';
import type { StatStore, Counter, Gauge } from '@xmesh/stats';
import { faultChannel, rateLimitChannel } from '@xmesh/stats';
import type { FaultConfig, HeaderValueOption, LocalRateLimitConfig, RateLimit } from '@xmesh/xds';
import { FaultFilter } from '../fault/fault-filter.js';
import { activeFilterConfig } from './per-filter-config.js';

const NO_DESCRIPTORS: readonly Descriptor[] = Object.freeze([]);

/** What the chain reads from a call; `PipelineCall` fits. */
export interface FilterCall {
  readonly request: HeaderSource & { readonly grpc: boolean };
  readonly decision: RouteDecision | undefined;
  readonly cancelled: unknown;
  onCancel(hook: (() => void) | undefined): void;
  /** The caller's deadline on the mesh clock (ms), or Infinity: a fault delay does not outlast it. */
  readonly deadline?: number;
  /** Downstream peer, for `remote_address` descriptors. */
  readonly remoteAddress?: string | undefined;
  /** Headers for the upstream request (`request_headers_to_add_when_not_enforced`). */
  addRequestHeaders?(headers: readonly HeaderValueOption[]): void;
  /** Headers for the response the caller sees (`x-ratelimit-*`). */
  addResponseHeaders?(headers: Readonly<Record<string, string>>): void;
}

export interface FilterChainOptions {
  readonly clock: Clock;
  readonly stats: StatStore;
  /** Uniform in [0, 1); default Math.random. */
  readonly random?: () => number;
}

interface FaultStats {
  readonly delaysInjected: Counter;
  readonly abortsInjected: Counter;
  readonly faultsOverflow: Counter;
  readonly activeFaults: Gauge;
}

export class FilterChain {
  private readonly clock: Clock;
  private readonly stats: StatStore;
  private readonly random: () => number;
  private readonly faults = new WeakMap<FaultConfig, FaultFilter>();
  private readonly limiters = new WeakMap<LocalRateLimitConfig, LocalRateLimiter>();
  private readonly descriptorBuilders = new WeakMap<readonly RateLimit[], Map<number, DescriptorBuilder>>();
  private readonly faultStats = new Map<string, FaultStats>();

  constructor(options: FilterChainOptions) {
    this.clock = options.clock;
    this.stats = options.stats;
    this.random = options.random ?? Math.random;
  }

  /**
   * Runs the filters for `call` (routed: `decision` set). Calls `pass(call)` to continue or
   * `fail(call, error)` to end it with a local reply; neither when the caller cancelled during a delay.
   */
  run<C extends FilterCall>(call: C, pass: (call: C) => void, fail: (call: C, error: MeshError) => void): void {
    this.runFrom(call, 0, false, pass, fail);
  }

  /** The limiter state for a config (exposed for headers and tests). */
  rateLimiter(config: LocalRateLimitConfig): LocalRateLimiter {
    let limiter = this.limiters.get(config);
    if (limiter === undefined) {
      const scope = this.stats.localRateLimit(config.statPrefix);
      limiter = new LocalRateLimiter(config, {
        clock: this.clock,
        random: this.random,
        stats: { enabled: scope.counter('enabled'), enforced: scope.counter('enforced'), ok: scope.counter('ok'), rateLimited: scope.counter('rate_limited') },
      });
      this.limiters.set(config, limiter);
    }
    return limiter;
  }

  faultFilter(config: FaultConfig): FaultFilter {
    let filter = this.faults.get(config);
    if (filter === undefined) {
      filter = new FaultFilter(config, this.random);
      this.faults.set(config, filter);
    }
    return filter;
  }

  private runFrom<C extends FilterCall>(call: C, start: number, delayed: boolean, pass: (call: C) => void, fail: (call: C, error: MeshError) => void): void {
    const decision = call.decision!;
    const filters = decision.listener?.httpFilters;
    if (filters === undefined) {
      pass(call);
      return;
    }
    for (let i = start; i < filters.length; i++) {
      const active = activeFilterConfig(filters[i]!, decision);
      if (active === undefined) continue;
      if (active.kind === 'local_ratelimit') {
        const error = this.rateLimit(call, active.config, decision);
        if (error !== undefined) {
          fail(call, error);
          return;
        }
        continue;
      }
      const fault = this.faultFilter(active.config);
      if (!fault.applies(call.request, decision.cluster)) continue;
      const stats = this.faultStatsFor(decision);
      if (!(delayed && i === start)) {
        const delayMs = fault.delayMs(call.request);
        if (delayMs > 0) {
          if (!fault.hasRoom()) {
            stats.faultsOverflow.inc();
          } else {
            this.delay(call, fault, stats, delayMs, i, pass, fail);
            return;
          }
        }
      }
      if (!fault.hasRoom()) continue;
      const abort = fault.abort(call.request, call.request.grpc, decision.cluster);
      if (abort !== undefined) {
        stats.abortsInjected.inc();
        if (faultChannel.hasSubscribers) faultChannel.publish({ authority: call.request.authority, path: call.request.path, cluster: decision.cluster, kind: 'abort', status: abort.httpStatus });
        fail(call, abort);
        return;
      }
    }
    pass(call);
  }

  private delay<C extends FilterCall>(call: C, fault: FaultFilter, stats: FaultStats, delayMs: number, index: number, pass: (call: C) => void, fail: (call: C, error: MeshError) => void): void {
    fault.active++;
    stats.activeFaults.inc();
    stats.delaysInjected.inc();
    if (faultChannel.hasSubscribers) faultChannel.publish({ authority: call.request.authority, path: call.request.path, cluster: call.decision!.cluster, kind: 'delay', delayMs });
    const release = (): void => {
      fault.active--;
      stats.activeFaults.dec();
    };
    // The caller gives up at its deadline, delay or not (a gRPC client's deadline runs in the client).
    const untilDeadline = (call.deadline ?? Infinity) - this.clock.now();
    const cut = untilDeadline < delayMs;
    const timer = this.clock.setTimeout(() => {
      call.onCancel(undefined);
      release();
      if (call.cancelled) return;
      if (cut) fail(call, new MeshError('XMESH_TIMEOUT', `deadline exceeded during a ${delayMs} ms fault delay`, { cluster: call.decision?.cluster, httpStatus: 504 }));
      else this.runFrom(call, index, true, pass, fail);
    }, cut ? Math.max(0, untilDeadline) : delayMs);
    call.onCancel(() => {
      this.clock.clearTimeout(timer);
      release();
    });
  }

  private rateLimit(call: FilterCall, config: LocalRateLimitConfig, decision: RouteDecision): MeshError | undefined {
    const limiter = this.rateLimiter(config);
    const action = decision.route.action;
    const rateLimits = action.rateLimits.length > 0 ? action.rateLimits : decision.virtualHost.rateLimits;
    // No `rate_limits` on the route or virtual host: no descriptors, and no input object to build them from.
    const descriptors = rateLimits.length === 0 ? NO_DESCRIPTORS : this.descriptorsFor(rateLimits, config.stage)({ request: call.request, remoteAddress: call.remoteAddress, cluster: decision.cluster });
    const verdict = limiter.check(descriptors);
    if (verdict === 'disabled') return undefined;
    if (config.enableXRatelimitHeaders && verdict !== 'limited') {
      const headers = limiter.xRateLimitHeaders();
      if (headers !== undefined) call.addResponseHeaders?.(headers);
    }
    if (verdict === 'ok') return undefined;
    if (verdict === 'shadow_limited' && limiter.headersWhenNotEnforced.length > 0) call.addRequestHeaders?.(limiter.headersWhenNotEnforced);
    if (rateLimitChannel.hasSubscribers) rateLimitChannel.publish({ authority: call.request.authority, path: call.request.path, statPrefix: config.statPrefix, verdict });
    return verdict === 'limited' ? limiter.rejection(decision.cluster) : undefined;
  }

  private descriptorsFor(rateLimits: readonly RateLimit[], stage: number): DescriptorBuilder {
    let byStage = this.descriptorBuilders.get(rateLimits);
    if (byStage === undefined) this.descriptorBuilders.set(rateLimits, (byStage = new Map()));
    let builder = byStage.get(stage);
    if (builder === undefined) byStage.set(stage, (builder = compileDescriptors(rateLimits, stage, 'rate_limits')));
    return builder;
  }

  private faultStatsFor(decision: RouteDecision): FaultStats {
    const prefix = decision.listener?.statPrefix ?? '';
    let stats = this.faultStats.get(prefix);
    if (stats === undefined) {
      const scope = this.stats.http(prefix);
      stats = {
        delaysInjected: scope.counter('fault.delays_injected'),
        abortsInjected: scope.counter('fault.aborts_injected'),
        faultsOverflow: scope.counter('fault.faults_overflow'),
        activeFaults: scope.gauge('fault.active_faults'),
      };
      this.faultStats.set(prefix, stats);
    }
    return stats;
  }
}
