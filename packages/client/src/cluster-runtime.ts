/**
 * Per-cluster state that survives config swaps: the endpoint source, the balancer, the set of
 * endpoints it has registered with the transport pool, and the picks waiting for a picker.
 */
import { MeshError, type Clock, type Endpoint, type PickInput, type PickResult, type Picker } from '@xmesh/core';
import type { ClusterConfig } from '@xmesh/xds';
import { computeHash, type Balancer } from '@xmesh/balancer';
import { ClusterGuard, type ClusterGuardOptions } from '@xmesh/breaker';
import { ActiveHealthChecker, type Dialer, type EndpointSource, type HealthTransition, type RegistryConnector } from '@xmesh/discovery';
import type { ClientTls, ClusterTls } from '@xmesh/tls';
import type { PipelineCall } from './pipeline-call.js';
import type { Invoke } from './pipeline.js';
import { transportKey, type TransportPool } from './transport-pool.js';
import type { MeshComponents } from './components.js';

const NO_HINTS: PickInput = Object.freeze({ hash: undefined, selectionAttempt: 0 });

interface Waiter {
  readonly call: PipelineCall;
  readonly next: Invoke<PipelineCall>;
  timer: unknown;
  /** The route's circuit-breaker priority: its pending slot is released there. */
  readonly priority: 'high' | undefined;
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
  /**
   * Whether this mesh runs the active health checks of `cluster` (`health_checks`): false when every
   * call of the cluster goes to a sidecar, which checks instead. Default: always.
   */
  readonly runsHealthChecks?: (cluster: ClusterConfig) => boolean;
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
  /** Pool keys (`transportKey`) this cluster holds a membership for. */
  private members: ReadonlySet<string> = new Set<string>();
  /** How connections to each endpoint are secured; undefined = plaintext. */
  private tls: ClusterTls | undefined;
  private waiters = new Set<Waiter>();
  /** True once the current source finished its first resolution. */
  private resolved = false;
  private closed = false;
  /** Active health checking (`health_checks`), when configured and run by this mesh. */
  private health: ActiveHealthChecker | undefined = undefined;
  /** True while the health checker warms (first check of each host): picks wait, as Envoy routes nothing to a warming cluster. */
  private warming = false;
  /** True until the first pick of a health-checked cluster: its checks leave their no-traffic intervals then. */
  private trafficPending = false;
  /** The endpoints the source lists now (the balancer may see others: see ActiveHealthChecker.setEndpoints); a cluster without any does not warm. */
  private listed: readonly Endpoint[] = [];
  private readonly runsHealthChecks: (cluster: ClusterConfig) => boolean;

  constructor(config: ClusterConfig, options: ClusterRuntimeOptions, tls?: ClusterTls) {
    this.config = config;
    this.tls = tls;
    this.pool = options.pool;
    this.clock = options.clock;
    this.components = options.components;
    this.onSourceError = options.onSourceError;
    this.registries = options.registries;
    this.runsHealthChecks = options.runsHealthChecks ?? (() => true);
    this.guard = new ClusterGuard(config, {
      ...options.resilience,
      clock: this.clock,
      onEjectedChange: () => this.balancer.setExcluded(this.excluded()),
    });
    this.balancer = this.newBalancer(config);
    this.syncHealthChecker(config);
    this.source = this.newSource(config);
  }

  get name(): string {
    return this.config.name;
  }

  /** The endpoints the cluster has (healthy or not), for admin output: the source's, plus hosts pending removal. */
  get endpoints(): readonly Endpoint[] {
    const health = this.health;
    if (health === undefined) return this.source.endpoints;
    const all = [...this.source.endpoints];
    const listed = new Set(all.map((e) => e.id));
    for (const e of health.view()) if (!listed.has(e.id)) all.push(e);
    return all;
  }

  /** Resolves once the current source has finished its first resolution (and, with health checks, the cluster warmed). */
  get ready(): Promise<void> {
    return this.source.ready.then(() => (this.health !== undefined && this.warming && this.listed.length > 0 ? this.health.ready : undefined));
  }

  /** The active health checker, when this mesh runs the cluster's `health_checks`. */
  get healthChecker(): ActiveHealthChecker | undefined {
    return this.health;
  }

  /** Applies the mesh's decision on running this cluster's health checks (a mode change). */
  refreshHealthChecking(): void {
    if (this.closed) return;
    const had = this.health;
    this.syncHealthChecker(this.config);
    if (had !== this.health) this.setEndpoints(this.source.endpoints);
  }

  /** The TLS context of connections to `endpoint`; undefined = plaintext. */
  tlsFor(endpoint: Endpoint): ClientTls | undefined {
    return this.tls?.forEndpoint(endpoint);
  }

  /** The pool key of `endpoint`'s connections for this cluster. */
  transportKeyOf(endpoint: Endpoint): string {
    return transportKey(endpoint, this.tlsFor(endpoint));
  }

  /**
   * Applies a new config for the same cluster name: keeps the source when equivalent, the balancer when its policy
   * is unchanged. New transport security moves the memberships to the new connections; the old ones drain.
   */
  update(config: ClusterConfig, tls?: ClusterTls): void {
    const previous = this.config;
    this.config = config;
    if (tls !== this.tls) {
      this.tls = tls;
      this.setEndpoints(this.source.endpoints);
    }
    this.guard.update(config);
    const hadHealth = this.health;
    this.syncHealthChecker(config);
    if (balancerKey(previous) !== balancerKey(config)) {
      this.balancer.close();
      this.balancer = this.newBalancer(config);
      this.balancer.setEndpoints(this.health?.view() ?? this.source.endpoints);
    }
    if (hadHealth !== this.health) this.setEndpoints(this.source.endpoints);
    if (!this.components.sameSource(previous, config)) {
      this.source.close();
      this.resolved = false;
      this.source = this.newSource(config);
    }
  }

  /**
   * Picks for `call` and runs `next`, or waits for the next picker (bounded by the call's deadline).
   * A retry whose route has the previous_hosts predicate (`call.tried`) selects again when the
   * pick lands on a host already tried (see `selectAgain`).
   */
  pick<C extends PipelineCall>(call: C, next: Invoke<C>): void {
    if (this.closed) {
      call.fail(new MeshError('XMESH_NO_CLUSTER', `cluster "${this.name}" was removed`, { cluster: this.name }));
      return;
    }
    if (this.warming && this.listed.length > 0) {
      this.wait(call, next as Invoke<PipelineCall>);
      return;
    }
    const picker = this.balancer.picker;
    const input = this.pickInput(call);
    let result = picker.pick(input);
    const tried = call.tried;
    if (tried !== undefined && result.type === 'complete' && tried.has(result.endpoint.id)) result = selectAgain(picker, input, call, tried, result);
    switch (result.type) {
      case 'complete':
        if (this.trafficPending) this.noteTraffic();
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
    this.health?.close();
    this.health = undefined;
    this.balancer.close();
    this.guard.close();
    for (const id of this.members) this.pool.leave(id);
    this.members = new Set();
    for (const w of this.takeWaiters()) w.call.fail(reason);
  }

  private newBalancer(config: ClusterConfig): Balancer {
    const balancer = this.components.createBalancer(config, { clock: this.clock });
    balancer.setExcluded(this.excluded());
    balancer.onPicker(() => this.retryWaiters());
    return balancer;
  }

  /** The route's `hash_policy` hash for consistent-hash balancers; no allocation when the route has none. */
  private pickInput(call: PipelineCall): PickInput {
    const policies = call.decision?.route.action.hashPolicy;
    if (policies === undefined || policies.length === 0) return NO_HINTS;
    return { hash: computeHash(policies, call.request, call.state.services?.channelId), selectionAttempt: 0 };
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
      // A source whose endpoints were published at creation (a fixed list) is not published twice.
      if (this.listed !== source.endpoints) this.setEndpoints(source.endpoints);
      this.retryWaiters();
    }, () => undefined);
    if (source.endpoints.length > 0) this.setEndpoints(source.endpoints);
    return source;
  }

  /** The source's endpoints now: what the balancer sees is these as the health checker keeps them (see `publish`). */
  private setEndpoints(endpoints: readonly Endpoint[]): void {
    this.listed = endpoints;
    this.publish(this.health === undefined ? endpoints : this.health.setEndpoints(endpoints));
  }

  /** Hosts left out of picking though they count in the priority and panic arithmetic: outlier ejections and hosts failing health checks. */
  private excluded(): ReadonlySet<string> {
    const ejected = this.guard?.outlierDetector?.ejectedIds ?? NO_EJECTIONS;
    const failed = this.health?.failedIds;
    if (failed === undefined || failed.size === 0) return ejected;
    if (ejected.size === 0) return failed;
    return new Set([...ejected, ...failed]);
  }

  /**
   * Starts, updates or stops the health checker for `config` (and this mesh's decision to run it).
   * A new checker warms: hosts start failed and picks wait for their first checks.
   */
  private syncHealthChecker(config: ClusterConfig): void {
    const wanted = config.healthCheck !== undefined && this.runsHealthChecks(config);
    if (!wanted) {
      this.health?.close();
      this.health = undefined;
      this.trafficPending = false;
      if (this.warming) {
        this.warming = false;
        this.retryWaiters();
      }
      return;
    }
    if (this.health !== undefined) {
      this.health.update(config.healthCheck!);
      return;
    }
    const health = new ActiveHealthChecker(config.healthCheck!, {
      cluster: config.name,
      clock: this.clock,
      dialerFor: (endpoint, check) => this.dialerFor(endpoint, check),
      onChange: () => {
        if (this.health === health) this.publish(health.view());
      },
      onCheck: (id, healthy, transition) => this.afterCheck(id, healthy, transition),
    });
    this.health = health;
    this.trafficPending = true;
    this.warming = true;
    void health.ready.then(() => {
      if (this.health !== health) return;
      this.warming = false;
      this.retryWaiters();
    });
  }

  /** TLS connections for a health check: the cluster's transport socket (or the one its match criteria select), with its ALPN override. */
  private dialerFor(endpoint: Endpoint, check: NonNullable<ClusterConfig['healthCheck']>): Dialer | undefined {
    const criteria = check.transportSocketMatchCriteria;
    const tls = criteria === undefined ? this.tlsFor(endpoint) : this.tls?.forMatchCriteria(criteria);
    if (tls === undefined) return undefined;
    const alpn = check.alpnProtocols;
    return (host, port, transportAlpn) => tls.connect(host, port, transportAlpn, alpn);
  }

  /**
   * After each check: a host that passed is returned from an outlier ejection
   * (`successful_active_health_check_uneject_host`); a host that just failed has its connections
   * closed with `close_connections_on_host_health_failure`.
   */
  private afterCheck(id: string, healthy: boolean, transition: HealthTransition): void {
    const outlier = this.guard.outlierDetector;
    if (healthy && outlier !== undefined && this.config.outlierDetection?.successfulActiveHealthCheckUnejectHost === true && outlier.ejectedIds.has(id) && this.health?.failedIds.has(id) === false) {
      outlier.uneject(id);
    }
    if (!healthy && transition === 'changed' && this.config.healthCheck?.closeConnectionsOnHostHealthFailure === true) {
      const endpoint = this.health?.view().find((e) => e.id === id);
      if (endpoint !== undefined) this.pool.closeConnections(this.transportKeyOf(endpoint));
    }
  }

  private noteTraffic(): void {
    this.trafficPending = false;
    this.health?.noteTraffic();
  }

  /**
   * Joins new endpoints to the pool before the balancer can pick them; leaves removed ones after. Each call
   * makes new sets (the guard keeps the id set it is given; a plaintext cluster's is its `members`).
   */
  private publish(endpoints: readonly Endpoint[]): void {
    const next = new Set<string>();
    const members = this.members;
    let ids: Set<string>;
    if (this.tls === undefined) {
      // Plaintext: each pool key is the endpoint id.
      for (const e of endpoints) {
        const before = next.size;
        if (next.add(e.id).size !== before && !members.has(e.id)) this.pool.join(e, undefined);
      }
      ids = next;
    } else {
      ids = new Set<string>();
      for (const e of endpoints) {
        const tls = this.tlsFor(e);
        const key = transportKey(e, tls);
        next.add(key);
        ids.add(e.id);
        if (!members.has(key)) this.pool.join(e, tls);
      }
    }
    const previous = members;
    this.members = next;
    this.guard.setEndpoints(ids);
    if (this.health !== undefined) this.balancer.setExcluded(this.excluded());
    this.balancer.setEndpoints(endpoints);
    for (const key of previous) if (!next.has(key)) this.pool.leave(key);
  }

  private wait(call: PipelineCall, next: Invoke<PipelineCall>): void {
    if (call.cancelled) return;
    // A waiting call is pending in Envoy's sense: bounded by max_pending_requests.
    const priority = call.decision?.route.action.priority;
    if (!this.guard.limits.tryAcquirePending(priority)) {
      this.guard.events.emit('overflow', { cluster: this.name, resource: 'pending' });
      call.fail(new MeshError('XMESH_CIRCUIT_OPEN', `cluster "${this.name}" is at max_pending_requests`, { cluster: this.name }));
      return;
    }
    const now = this.clock.now();
    const bound = call.deadline !== Infinity ? call.deadline : now + this.waitBudget(call);
    const byDeadline = call.deadline !== Infinity && bound === call.deadline;
    const waiter: Waiter = { call, next, timer: undefined, priority };
    waiter.timer = this.clock.setTimeout(() => {
      if (!this.waiters.delete(waiter)) return;
      this.guard.limits.releasePending(priority);
      call.onCancel(undefined);
      call.fail(byDeadline
        ? new MeshError('XMESH_TIMEOUT', `deadline passed while waiting for an endpoint of cluster "${this.name}"`, { cluster: this.name })
        : new MeshError('XMESH_NO_HEALTHY_UPSTREAM', `no endpoint of cluster "${this.name}" became available`, { cluster: this.name }));
    }, Math.max(0, bound - now));
    this.waiters.add(waiter);
    call.onCancel(() => {
      if (!this.waiters.delete(waiter)) return;
      this.clock.clearTimeout(waiter.timer as never);
      this.guard.limits.releasePending(priority);
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
      this.guard.limits.releasePending(w.priority);
      w.call.onCancel(undefined);
    }
    return waiting;
  }
}

/**
 * Envoy's host selection for a retry under `retry_host_predicate` previous_hosts
 * (`LoadBalancerBase::chooseHost`): while the pick is a host the call already tried, select again,
 * up to the route's `host_selection_retry_max_attempts` times; when every selection is rejected,
 * the last one stands. A rejected pick is taken back (`undo`) so load metrics do not count it.
 */
function selectAgain(picker: Picker, input: PickInput, call: PipelineCall, tried: ReadonlySet<string>, rejected: PickResult & { type: 'complete' }): PickResult {
  const attempts = call.decision?.route.action.retryPolicy?.hostSelectionRetryMaxAttempts ?? 0;
  let result: PickResult = rejected;
  for (let n = 1; n <= attempts && result.type === 'complete' && tried.has(result.endpoint.id); n++) {
    result.undo?.();
    result = picker.pick({ hash: input.hash, selectionAttempt: n });
  }
  return result;
}

/** Settings that need a new balancer when they change. */
function balancerKey(c: ClusterConfig): string {
  return JSON.stringify([c.lbPolicy, c.choiceCount, c.activeRequestBias, c.ringHash, c.maglev, c.healthyPanicThreshold, c.localityWeightedLb, c.xmesh.ewmaDecayMs, c.loadAssignment?.overprovisioningFactor]);
}
