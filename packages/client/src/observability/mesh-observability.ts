/**
 * A mesh's stats exposition and admin server: Prometheus text through prom-client on this
 * mesh's own Registry, Envoy's `/stats` text, and the admin paths. Before each read it copies
 * the cluster guards' counters and gauges (breakers, outlier detection) into the store, so one
 * store shows every stat under Envoy's names.
 */
import type { FieldError } from '@xmesh/core';
import {
  PrometheusExporter,
  envoyStatsText,
  startAdminServer,
  type AdminServer,
  type AdminServerOptions,
  type ClusterStatus,
  type ConfigDumpQuery,
  type ConfigDumpResult,
  type MetricsRegistry,
  type StatStore,
} from '@xmesh/stats';
import type { EventEmitter } from 'eventemitter3';
import type { MeshSnapshot } from '@xmesh/xds';
import type { ClusterRuntime } from '../cluster-runtime.js';
import type { MeshEvents } from '../events.js';
import type { MeshServices } from '../mesh-services.js';
import { EnvoyConfigDump } from './envoy-config-dump.js';

/** What observability reads from its mesh. */
export interface ObservedMesh {
  readonly events: Pick<EventEmitter<MeshEvents>, 'on'>;
  /** The clusters serving now, or undefined before the first config. */
  currentClusters(): ReadonlyMap<string, ClusterRuntime> | undefined;
  currentSnapshot(): MeshSnapshot | undefined;
  /** The app's prom-client registry (`createMesh({ metrics: { registry } })`) that shows this mesh's metrics too. */
  readonly appRegistry?: MetricsRegistry | undefined;
}

/** Stats the cluster guard keeps and the upstream stats do not (copied at read time). */
const GUARD_STAT = /^(circuit_breakers\.|outlier_detection\.|upstream_rq_pending_|upstream_rq_retry_overflow$|upstream_cx_overflow$|xmesh\.)/;

export class MeshObservability {
  private exporter: PrometheusExporter | undefined = undefined;
  private admins = new Set<AdminServer>();
  private applied: { version: string; source: string; at: string } | undefined = undefined;
  private rejected: { source: string; at: string; errors: readonly FieldError[] } | undefined = undefined;
  private readonly envoyDump = new EnvoyConfigDump();

  constructor(
    private readonly services: MeshServices,
    private readonly mesh: ObservedMesh,
  ) {
    // With the app's registry, the families register as stats appear, so a scrape there sees them all.
    if (mesh.appRegistry !== undefined) this.prometheus();
    mesh.events.on('config.applied', (e) => {
      this.applied = { version: e.version, source: e.source, at: new Date().toISOString() };
      this.envoyDump.noteApplied(mesh.currentSnapshot(), this.applied.at);
      // The guard-kept stats of new clusters get their families now, before the app's registry is scraped.
      if (mesh.appRegistry !== undefined) this.collect();
    });
    mesh.events.on('config.rejected', (e) => {
      this.rejected = { source: e.source, at: new Date().toISOString(), errors: e.errors };
    });
  }

  /** The store behind every stat of this mesh (read-only use; values refresh on each read). */
  get store(): StatStore {
    this.collect();
    return this.services.stats;
  }

  /** Prometheus exposition (text format 0.0.4). */
  prometheusText(): Promise<string> {
    this.collect();
    return this.prometheus().metrics();
  }

  /** Envoy's plain `/stats` text. */
  statsText(filter?: RegExp): string {
    this.collect();
    return envoyStatsText(this.services.stats, filter);
  }

  /**
   * `/config_dump`: Envoy's ConfigDump of the applied config (see envoy-config-dump.ts), or for an
   * unknown `resource` the reason there is none. Secrets are redacted.
   */
  configDump(query: ConfigDumpQuery = { includeEds: false }): ConfigDumpResult {
    return this.envoyDump.build(this.mesh.currentSnapshot(), query);
  }

  /** `/xmesh/config_status`: the applied config's version, source and time, and the last rejected update with its errors. */
  configStatus(): unknown {
    return { applied: this.applied ?? null, last_rejected: this.rejected ?? null };
  }

  /** `/clusters`: endpoints with health, ejection, weight and active requests. */
  clusters(): ClusterStatus[] {
    const out: ClusterStatus[] = [];
    for (const [name, runtime] of this.mesh.currentClusters() ?? []) {
      const ejected = runtime.guard.outlierDetector?.ejectedIds;
      const health = runtime.healthChecker;
      const counters = runtime.guard.snapshot().endpoints;
      const source = this.mesh.currentSnapshot()?.sources?.clusters.find((c) => c.name === name);
      out.push({
        name,
        ...(source?.dynamic === true ? { addedViaApi: true } : {}),
        ...(runtime.config.edsServiceName === undefined ? {} : { edsServiceName: runtime.config.edsServiceName }),
        hosts: runtime.endpoints.map((e) => ({
          address: e.id,
          healthFlags: healthFlags(e.healthStatus, ejected?.has(e.id) ?? false, health?.flagsOf(e.id) ?? NO_FLAGS),
          weight: e.weight,
          priority: e.priority,
          zone: e.locality.zone,
          region: e.locality.region,
          subZone: e.locality.subZone,
          ...(e.hostname === undefined ? {} : { hostname: e.hostname }),
          edsHealthStatus: e.healthStatus,
          rqActive: runtime.pool.get(runtime.transportKeyOf(e))?.leases ?? 0,
          ejected: ejected?.has(e.id) ?? false,
          counters: hostCounters(counters[e.id]),
        })),
      });
    }
    return out;
  }

  /**
   * A cluster's hosts and how many are healthy or degraded (Envoy's `membership_total`, `membership_healthy` +
   * `membership_degraded`): a host failing its active health check, ejected, unhealthy or draining in EDS is neither.
   */
  clusterMembership(name: string): { readonly total: number; readonly available: number } | undefined {
    const runtime = this.mesh.currentClusters()?.get(name);
    if (runtime === undefined) return undefined;
    const ejected = runtime.guard.outlierDetector?.ejectedIds;
    const health = runtime.healthChecker;
    const endpoints = runtime.endpoints;
    let available = 0;
    for (const e of endpoints) {
      const flags = healthFlags(e.healthStatus, ejected?.has(e.id) ?? false, health?.flagsOf(e.id) ?? NO_FLAGS);
      if (!UNAVAILABLE_FLAGS.some((flag) => flags.includes(flag))) available++;
    }
    return { total: endpoints.length, available };
  }

  /** Starts an admin server (loopback, any free port by default); it closes with the mesh. */
  async startAdmin(options: AdminServerOptions = {}): Promise<AdminServer> {
    const self = this;
    const admin = await startAdminServer(
      {
        get store() {
          return self.store;
        },
        prometheus: { metrics: () => this.prometheusText(), contentType: this.prometheus().contentType },
        configDump: (query) => this.configDump(query),
        configStatus: () => this.configStatus(),
        clusters: () => this.clusters(),
        ready: () => this.applied !== undefined,
      },
      options,
    );
    this.admins.add(admin);
    const close = admin.close;
    return { ...admin, close: () => { this.admins.delete(admin); return close(); } };
  }

  async close(): Promise<void> {
    const admins = [...this.admins];
    this.admins.clear();
    await Promise.all(admins.map((a) => a.close()));
  }

  private prometheus(): PrometheusExporter {
    this.exporter ??= new PrometheusExporter(this.services.stats, undefined, {
      alsoRegisterIn: this.mesh.appRegistry === undefined ? [] : [this.mesh.appRegistry],
      beforeScrape: () => this.collect(),
    });
    return this.exporter;
  }

  /** Copies guard-kept stats and connection gauges into the store. */
  private collect(): void {
    for (const [name, runtime] of this.mesh.currentClusters() ?? []) {
      const scope = this.services.stats.cluster(name);
      const snapshot = runtime.guard.snapshot().cluster;
      for (const stat in snapshot) {
        if (!GUARD_STAT.test(stat)) continue;
        if (stat.endsWith('_overflow') || stat.endsWith('_total') || stat.startsWith('xmesh.') && !stat.endsWith('.open')) scope.counter(stat).value = snapshot[stat]!;
        else scope.gauge(stat).value = snapshot[stat]!;
      }
      const upstream = this.services.cluster(name);
      upstream.ejectionsActive.value = runtime.guard.outlierDetector?.ejectedIds.size ?? 0;
      const health = runtime.healthChecker?.stats;
      if (health !== undefined) {
        for (const stat of HEALTH_CHECK_COUNTERS) scope.counter(`health_check.${stat}`).value = health[stat];
        scope.gauge('health_check.healthy').value = health.healthy;
        scope.gauge('health_check.degraded').value = health.degraded;
      }
      let connected = 0;
      for (const e of runtime.endpoints) if (runtime.pool.get(runtime.transportKeyOf(e))?.hasGrpcChannel) connected++;
      upstream.cxActive.value = connected;
    }
  }
}

const NO_FLAGS: readonly string[] = Object.freeze([]);

/** A host's request counters as Envoy's `/clusters` names them. */
function hostCounters(counters: Readonly<Record<string, number>> | undefined): Record<string, number> {
  return { rq_total: counters?.['rq_total'] ?? 0, rq_success: counters?.['rq_success'] ?? 0, rq_error: counters?.['rq_error'] ?? 0 };
}

/** `health_flags` that make a host neither healthy nor degraded. */
const UNAVAILABLE_FLAGS = ['/failed_active_hc', '/failed_outlier_check', '/failed_eds_health', '/eds_status_draining'] as const;

/** Envoy's `cluster.<name>.health_check.*` counters (`healthy` and `degraded` are gauges). */
const HEALTH_CHECK_COUNTERS = ['attempt', 'success', 'failure', 'network_failure', 'passive_failure', 'verify_cluster'] as const;

/**
 * Envoy's `health_flags` (HostUtility::healthFlagsToString), in its order: the active health check's
 * flags (`activeHc`, already in order) around the outlier and EDS ones; `healthy` when none is set.
 */
export function healthFlags(status: string, ejected: boolean, activeHc: readonly string[]): string {
  let out = '';
  const failedActive = activeHc.includes('/failed_active_hc');
  if (failedActive) out += '/failed_active_hc';
  if (ejected) out += '/failed_outlier_check';
  if (status === 'UNHEALTHY' || status === 'TIMEOUT') out += '/failed_eds_health';
  if (activeHc.includes('/degraded_active_hc')) out += '/degraded_active_hc';
  if (status === 'DEGRADED') out += '/degraded_eds_health';
  for (const flag of activeHc) if (flag !== '/failed_active_hc' && flag !== '/degraded_active_hc') out += flag;
  if (status === 'DRAINING') out += '/eds_status_draining';
  return out === '' ? 'healthy' : out;
}
