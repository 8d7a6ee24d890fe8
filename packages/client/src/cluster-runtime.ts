/**
 * Per-cluster state that survives config swaps: the endpoint source, the balancer, the set of
 * endpoints it has registered with the transport pool, and the picks waiting for a picker.
 */
import { MeshError, type Clock, type Endpoint, type PickInput } from '@xmesh/core';
import type { ClusterConfig } from '@xmesh/xds';
import { computeHash, type Balancer } from '@xmesh/balancer';
import { ClusterGuard, type ClusterGuardOptions } from '@xmesh/breaker';
import type { EndpointSource, RegistryConnector } from '@xmesh/discovery';
import type { PipelineCall } from './pipeline-call.js';
import type { Invoke } from './pipeline.js';
import type { TransportPool } from './transport-pool.js';
import type { MeshComponents } from './components.js';

const NO_HINTS: PickInput = Object.freeze({ hash: undefined, tried: undefined });

interface Waiter {
  readonly call: PipelineCall;
  readonly next: Invoke<PipelineCall>;
  timer: unknown;
}

export interface ClusterRuntimeOptions {
  readonly pool: TransportPool;
  readonly clock: Clock;
  readonly components: MeshComponents;
  readonly onSourceError?: (error: MeshError) => void;
  /** Registry clients of the mesh, for registry-backed clusters. */
  readonly registries?: RegistryConnector;
  /** Shared resilience settings (events sink, bucket rotation, fail-fast flavour, queued admission). */
  readonly resilience?: Omit<ClusterGuardOptions, 'clock' | 'onEjectedChange'>;
}

const NO_EJECTIONS: ReadonlySet<string> = new Set();

export class ClusterRuntime {
  config: ClusterConfig;
  readonly pool: TransportPool;
  /** Thresholds, outlier detection and the fail-fast breaker; kept across config swaps. */
  readonly guard: ClusterGuard;
  private source: EndpointSource;
  private balancer: Balancer;
  private readonly clock: Clock;
  private readonly components: MeshComponents;
  private readonly onSourceError: ((error: MeshError) => void) | undefined;
  private readonly registries: RegistryConnector | undefined;
  /** Endpoint ids this cluster holds a membership for in the pool. */
  private members = new Set<string>();
  private waiters = new Set<Waiter>();
  /** True once the current source finished its first resolution. */
  private resolved = false;
  private closed = false;

  constructor(config: ClusterConfig, options: ClusterRuntimeOptions) {
    this.config = config;
    this.pool = options.pool;
    this.clock = options.clock;
    this.components = options.components;
    this.onSourceError = options.onSourceError;
    this.registries = options.registries;
    this.guard = new ClusterGuard(config, {
      ...options.resilience,
      clock: this.clock,
      onEjectedChange: (ejected) => this.balancer.setExcluded(ejected),
    });
    this.balancer = this.newBalancer(config);
    this.source = this.newSource(config);
  }

  get name(): string {
    return this.config.name;
  }

  /** The endpoints the current source lists (healthy or not), for admin output. */
  get endpoints(): readonly Endpoint[] {
    return this.source.endpoints;
  }

  /** Resolves once the current source has finished its first resolution. */
  get ready(): Promise<void> {
    return this.source.ready;
  }

  /** Applies a new config for the same cluster name: keeps the source when equivalent, the balancer when its policy is unchanged. */
  update(config: ClusterConfig): void {
    const previous = this.config;
    this.config = config;
    this.guard.update(config);
    if (balancerKey(previous) !== balancerKey(config)) {
      this.balancer.close();
      this.balancer = this.newBalancer(config);
      this.balancer.setEndpoints(this.source.endpoints);
    }
    if (!this.components.sameSource(previous, config)) {
      this.source.close();
      this.resolved = false;
      this.source = this.newSource(config);
    }
  }

  /** Picks for `call` and runs `next`, or waits for the next picker (bounded by the call's deadline). */
  pick<C extends PipelineCall>(call: C, next: Invoke<C>): void {
    if (this.closed) {
      call.fail(new MeshError('XMESH_NO_CLUSTER', `cluster "${this.name}" was removed`, { cluster: this.name }));
      return;
    }
    const result = this.balancer.picker.pick(this.pickInput(call));
    switch (result.type) {
      case 'complete':
        call.bind(this, result.endpoint, result.done);
        next(call);
        return;
      case 'queue':
        this.wait(call, next as Invoke<PipelineCall>);
        return;
      case 'fail':
        if (!this.resolved) this.wait(call, next as Invoke<PipelineCall>);
        else call.fail(result.error);
        return;
      case 'drop':
        call.fail(result.error);
        return;
    }
  }

  /** Stops the source and balancer, fails waiting picks, and gives up this cluster's endpoint memberships. */
  close(reason: MeshError): void {
    if (this.closed) return;
    this.closed = true;
    this.source.close();
    this.balancer.close();
    this.guard.close();
    for (const id of this.members) this.pool.leave(id);
    this.members.clear();
    for (const w of this.takeWaiters()) w.call.fail(reason);
  }

  private newBalancer(config: ClusterConfig): Balancer {
    const balancer = this.components.createBalancer(config, { clock: this.clock });
    balancer.setExcluded(this.guard.outlierDetector?.ejectedIds ?? NO_EJECTIONS);
    balancer.onPicker(() => this.retryWaiters());
    return balancer;
  }

  /** The route's `hash_policy` hash for consistent-hash balancers; no allocation when the route has none. */
  private pickInput(call: PipelineCall): PickInput {
    const policies = call.decision?.route.action.hashPolicy;
    const tried = call.tried;
    if (policies === undefined || policies.length === 0) return tried === undefined ? NO_HINTS : { hash: undefined, tried };
    return { hash: computeHash(policies, call.request), tried };
  }

  private newSource(config: ClusterConfig): EndpointSource {
    const source = this.components.createEndpointSource(config, {
      clock: this.clock,
      onError: (error) => this.onSourceError?.(error),
      ...(this.registries === undefined ? {} : { registries: this.registries }),
    });
    source.onChange((endpoints) => {
      if (this.source === source && !this.closed) this.setEndpoints(endpoints);
    });
    source.ready.then(() => {
      if (this.source !== source || this.closed) return;
      this.resolved = true;
      this.setEndpoints(source.endpoints);
      this.retryWaiters();
    }, () => undefined);
    if (source.endpoints.length > 0) this.setEndpoints(source.endpoints);
    return source;
  }

  /** Joins new endpoints to the pool before the balancer can pick them; leaves removed ones after. */
  private setEndpoints(endpoints: readonly Endpoint[]): void {
    const next = new Set<string>();
    for (const e of endpoints) {
      next.add(e.id);
      if (!this.members.has(e.id)) this.pool.join(e);
    }
    const previous = this.members;
    this.members = next;
    this.guard.setEndpoints(next);
    this.balancer.setEndpoints(endpoints);
    for (const id of previous) if (!next.has(id)) this.pool.leave(id);
  }

  private wait(call: PipelineCall, next: Invoke<PipelineCall>): void {
    if (call.cancelled) return;
    // A waiting call is pending in Envoy's sense: bounded by max_pending_requests.
    if (!this.guard.limits.tryAcquirePending()) {
      this.guard.events.emit('overflow', { cluster: this.name, resource: 'pending' });
      call.fail(new MeshError('XMESH_CIRCUIT_OPEN', `cluster "${this.name}" is at max_pending_requests`, { cluster: this.name }));
      return;
    }
    const now = this.clock.now();
    const bound = call.deadline !== Infinity ? call.deadline : now + this.waitBudget(call);
    const byDeadline = call.deadline !== Infinity && bound === call.deadline;
    const waiter: Waiter = { call, next, timer: undefined };
    waiter.timer = this.clock.setTimeout(() => {
      if (!this.waiters.delete(waiter)) return;
      this.guard.limits.releasePending();
      call.onCancel(undefined);
      call.fail(byDeadline
        ? new MeshError('XMESH_TIMEOUT', `deadline passed while waiting for an endpoint of cluster "${this.name}"`, { cluster: this.name })
        : new MeshError('XMESH_NO_HEALTHY_UPSTREAM', `no endpoint of cluster "${this.name}" became available`, { cluster: this.name }));
    }, Math.max(0, bound - now));
    this.waiters.add(waiter);
    call.onCancel(() => {
      if (!this.waiters.delete(waiter)) return;
      this.clock.clearTimeout(waiter.timer as never);
      this.guard.limits.releasePending();
    });
  }

  /** How long a call without a deadline may wait: its route timeout, else the cluster's connect timeout. */
  private waitBudget(call: PipelineCall): number {
    const routeTimeout = call.decision?.route.action.timeoutMs ?? 0;
    return routeTimeout > 0 ? routeTimeout : this.config.connectTimeoutMs;
  }

  private retryWaiters(): void {
    if (this.waiters.size === 0) return;
    for (const w of this.takeWaiters()) if (!w.call.cancelled) this.pick(w.call, w.next);
  }

  /** Removes every queued pick, releasing its timer, pending slot and cancel hook. */
  private takeWaiters(): Waiter[] {
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const w of waiting) {
      this.clock.clearTimeout(w.timer as never);
      this.guard.limits.releasePending();
      w.call.onCancel(undefined);
    }
    return waiting;
  }
}

/** Settings that need a new balancer when they change. */
function balancerKey(c: ClusterConfig): string {
  return JSON.stringify([c.lbPolicy, c.choiceCount, c.activeRequestBias, c.ringHash, c.maglev, c.healthyPanicThreshold, c.localityWeightedLb, c.xmesh.ewmaDecayMs, c.loadAssignment?.overprovisioningFactor]);
}
