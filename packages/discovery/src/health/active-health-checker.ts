/**
 * A cluster's active health checking: one session per checked host (kept across endpoint updates
 * and config swaps, keyed by endpoint id), and the host set the balancer sees, with Envoy's rules
 * (ClusterImplBase and BaseDynamicClusterImpl::updateDynamicHostList):
 *
 * - every host starts failed; the cluster warms (`ready`) until each host it started with had its
 *   first check;
 * - a host added later is left out of balancing until its first check when
 *   `ignore_new_hosts_until_first_hc` (`/pending_active_hc`);
 * - a host discovery removes while it passes its checks (and is not failed by EDS) stays, marked
 *   `/pending_dynamic_removal`, until it fails one or comes back, unless `ignore_health_on_host_removal`;
 * - a host whose check answered `x-envoy-immediate-health-check-fail` is left out of balancing
 *   until it passes again.
 *
 * Failed hosts stay in the set (they count in the priority and panic arithmetic); `failedIds` names
 * them for the balancer to exclude, with the outlier ejections.
 */
import { isServing, type Clock, type Endpoint } from '@xmesh/core';
import type { HealthCheckConfig } from '@xmesh/xds';
import type { Dialer, ProbeFactory } from './probe.js';
import { HealthCheckSession, type HealthCheckCounters, type HealthTransition, type SessionParent } from './session.js';
import { createProbe } from './create-probe.js';

export interface ActiveHealthCheckerOptions {
  /** The cluster's name: Host / `:authority` of checks when neither the endpoint nor the check names one. */
  readonly cluster: string;
  readonly clock: Clock;
  /** Uniform in [0, 1), for the jitters. */
  readonly random?: () => number;
  /** How checks reach `endpoint` over the cluster's transport socket; undefined = plain TCP. */
  readonly dialerFor?: (endpoint: Endpoint, config: HealthCheckConfig) => Dialer | undefined;
  /** Called when the host set or the failed hosts changed (not for results that change neither). */
  readonly onChange: () => void;
  /** Called after every check result (outlier detection unejects a host that passes). */
  readonly onCheck?: (id: string, healthy: boolean, transition: HealthTransition) => void;
  /** Builds each host's probe; default: the HTTP, gRPC or TCP prober. */
  readonly probes?: ProbeFactory;
}

export class ActiveHealthChecker {
  readonly stats: HealthCheckCounters = { attempt: 0, success: 0, failure: 0, network_failure: 0, passive_failure: 0, verify_cluster: 0, healthy: 0, degraded: 0 };
  private readonly sessions = new Map<string, HealthCheckSession>();
  /** The endpoint each session checks, as last listed. */
  private readonly checked = new Map<string, Endpoint>();
  /** Hosts discovery removed that stay until they fail (`/pending_dynamic_removal`). */
  private readonly lingering = new Map<string, Endpoint>();
  private listed: readonly Endpoint[] = [];
  private readonly failed = new Set<string>();
  private traffic = false;
  private closed = false;
  /** Hosts of the first set still waiting for their first check; undefined once warm. */
  private warming: Set<string> | undefined = new Set();
  private readonly warmed: Promise<void>;
  private resolveWarm: () => void = () => undefined;
  private readonly parent: SessionParent;
  private readonly probes: ProbeFactory;

  constructor(
    private config: HealthCheckConfig,
    private readonly options: ActiveHealthCheckerOptions,
  ) {
    this.warmed = new Promise((resolve) => (this.resolveWarm = resolve));
    this.probes = options.probes ?? createProbe;
    const self = this;
    this.parent = {
      clock: options.clock,
      random: options.random ?? Math.random,
      config: () => self.config,
      hadTraffic: () => self.traffic,
      stats: this.stats,
      onResult: (session, transition, healthy) => self.onResult(session, transition, healthy),
    };
  }

  /** Resolves once every host of the first non-empty set had its first check (Envoy's cluster warming). */
  get ready(): Promise<void> {
    return this.warmed;
  }

  /** True until `ready`: picks wait meanwhile, as Envoy routes nothing to a warming cluster. */
  get isWarming(): boolean {
    return this.warming !== undefined;
  }

  /** Ids of hosts failing their checks (`/failed_active_hc`); a live view. */
  get failedIds(): ReadonlySet<string> {
    return this.failed;
  }

  /** The cluster had traffic: intervals leave their no-traffic values from the next check on. */
  noteTraffic(): void {
    this.traffic = true;
  }

  /** A new config for the same cluster: sessions restart (keeping each host's state until its first new result) when the check changed. */
  update(config: HealthCheckConfig): void {
    const changed = JSON.stringify(config) !== JSON.stringify(this.config);
    this.config = config;
    if (!changed || this.closed) return;
    for (const [id, old] of [...this.sessions]) {
      const endpoint = this.checked.get(id)!;
      old.stop();
      this.startSession(endpoint, false, old);
    }
  }

  /**
   * Discovery's endpoints now. Returns the hosts the balancer should see: these, plus hosts pending
   * removal, minus hosts left out until checked.
   */
  setEndpoints(endpoints: readonly Endpoint[]): readonly Endpoint[] {
    if (this.closed) return endpoints;
    const ids = new Set<string>();
    for (const e of endpoints) {
      ids.add(e.id);
      this.lingering.delete(e.id);
      if (e.healthCheck?.disabled === true) {
        this.stopSession(e.id);
        continue;
      }
      const session = this.sessions.get(e.id);
      const previous = this.checked.get(e.id);
      if (session !== undefined && previous !== undefined && sameCheckTarget(previous, e)) {
        this.checked.set(e.id, e);
        continue;
      }
      // A host whose check address changed is a new host to Envoy (it starts failed again).
      if (session !== undefined) this.stopSession(e.id);
      this.startSession(e, this.warming === undefined && this.config.ignoreNewHostsUntilFirstHc);
    }
    for (const [id, session] of [...this.sessions]) {
      if (ids.has(id)) continue;
      const endpoint = this.checked.get(id)!;
      const keep = !this.config.ignoreHealthOnHostRemoval && !session.failed && !failedByEds(endpoint);
      if (keep) this.lingering.set(id, endpoint);
      else this.stopSession(id);
    }
    this.listed = endpoints;
    if (this.warming !== undefined && this.warming.size === 0 && this.sessions.size === 0 && endpoints.length > 0) this.finishWarming();
    return this.view();
  }

  /** The hosts the balancer sees (see `setEndpoints`). */
  view(): readonly Endpoint[] {
    let out: Endpoint[] | undefined;
    for (const e of this.listed) {
      const s = this.sessions.get(e.id);
      if (s !== undefined && (s.pending || s.excludedImmediately)) {
        out ??= this.listed.slice(0, this.listed.indexOf(e));
        continue;
      }
      out?.push(e);
    }
    if (this.lingering.size === 0) return out ?? this.listed;
    out ??= [...this.listed];
    for (const e of this.lingering.values()) {
      const s = this.sessions.get(e.id);
      if (s === undefined || !(s.pending || s.excludedImmediately)) out.push(e);
    }
    return out;
  }

  /** Envoy's `health_flags` this checker owns for `id`, in Envoy's order. */
  flagsOf(id: string): string[] {
    const s = this.sessions.get(id);
    const flags: string[] = [];
    if (s?.failed === true) flags.push('/failed_active_hc');
    if (s?.degraded === true) flags.push('/degraded_active_hc');
    if (this.lingering.has(id)) flags.push('/pending_dynamic_removal');
    if (s?.pending === true) flags.push('/pending_active_hc');
    if (s?.excludedImmediately === true) flags.push('/excluded_via_immediate_hc_fail');
    if (s?.timedOut === true) flags.push('/active_hc_timeout');
    return flags;
  }

  /** True when `id` is listed only because it still passes its checks. */
  isPendingRemoval(id: string): boolean {
    return this.lingering.has(id);
  }

  /** Stops every session. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.sessions.keys()]) this.stopSession(id);
    this.lingering.clear();
    this.finishWarming();
  }

  private startSession(endpoint: Endpoint, pending: boolean, previous?: HealthCheckSession): void {
    const check = endpoint.healthCheck;
    const target = {
      host: check?.host ?? endpoint.host,
      port: check?.port ?? endpoint.port,
      authority: authorityOf(this.config, endpoint, this.options.cluster),
      dial: this.options.dialerFor?.(endpoint, this.config),
    };
    const session = new HealthCheckSession(endpoint.id, this.parent, this.probes(this.config, target, this.stats), pending, previous);
    this.sessions.set(endpoint.id, session);
    this.checked.set(endpoint.id, endpoint);
    if (session.failed) this.failed.add(endpoint.id);
    else this.failed.delete(endpoint.id);
    if (this.warming !== undefined && previous === undefined) this.warming.add(endpoint.id);
    session.start();
  }

  private stopSession(id: string): void {
    const session = this.sessions.get(id);
    if (session === undefined) return;
    session.stop();
    this.sessions.delete(id);
    this.checked.delete(id);
    this.lingering.delete(id);
    this.failed.delete(id);
    this.doneWarming(id);
  }

  private onResult(session: HealthCheckSession, transition: HealthTransition, healthy: boolean): void {
    if (this.sessions.get(session.id) !== session) return;
    if (session.failed) this.failed.add(session.id);
    else this.failed.delete(session.id);
    this.options.onCheck?.(session.id, healthy, transition);
    let changed = transition === 'changed';
    // A host pending removal goes once it fails (Envoy's EDS cluster removes it then).
    if (session.failed && this.lingering.has(session.id)) {
      this.stopSession(session.id);
      changed = true;
    }
    this.doneWarming(session.id);
    if (changed && !this.closed) this.options.onChange();
  }

  private doneWarming(id: string): void {
    const warming = this.warming;
    if (warming === undefined || !warming.delete(id)) return;
    if (warming.size === 0) this.finishWarming();
  }

  private finishWarming(): void {
    if (this.warming === undefined) return;
    this.warming = undefined;
    this.resolveWarm();
  }
}

/** Envoy's HealthCheckerFactory::getHostname: the endpoint's `health_check_config.hostname`, else the check's host, else the cluster name. */
function authorityOf(config: HealthCheckConfig, endpoint: Endpoint, cluster: string): string {
  const configured = config.checker.kind === 'http' ? config.checker.host : config.checker.kind === 'grpc' ? config.checker.authority : '';
  return endpoint.healthCheck?.hostname ?? (configured !== '' ? configured : cluster);
}

function sameCheckTarget(a: Endpoint, b: Endpoint): boolean {
  const x = a.healthCheck;
  const y = b.healthCheck;
  return (x?.host ?? a.host) === (y?.host ?? b.host) && (x?.port ?? a.port) === (y?.port ?? b.port) && x?.hostname === y?.hostname;
}

function failedByEds(endpoint: Endpoint): boolean {
  return !isServing(endpoint.healthStatus) && endpoint.healthStatus !== 'DEGRADED';
}
