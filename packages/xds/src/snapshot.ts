/**
 * Builds one MeshSnapshot from Envoy resources in proto3 JSON shape: a bootstrap
 * (`static_resources`), a list of resources each with `@type`, or a DiscoveryResponse-like
 * `{resources: [...]}`. All-or-nothing: any error rejects the whole input, with every error listed.
 */
import { createHash } from 'node:crypto';
import { MeshError, type FieldError } from '@xmesh/core';
import type { ClusterConfig, ListenerConfig, LoadAssignment, MeshSnapshot, RouteConfig } from './model.js';
import { Issues, Reader, describe } from './decode/reader.js';
import { decodeCluster } from './decode/cluster.js';
import { decodeLoadAssignment } from './decode/endpoints.js';
import { decodeListener } from './decode/listener.js';
import { decodeRouteConfig } from './decode/route.js';
import { TypeUrl } from './type-urls.js';
import { deepFreeze } from './freeze.js';
import { guardConfigValue, messageOf, resolveLimits, type ConfigLimits } from './input-guard.js';

export type BuildResult =
  | { readonly ok: true; readonly snapshot: MeshSnapshot }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

export interface BuildOptions {
  /** Version label; defaults to a hash of the input. */
  readonly version?: string;
  /** Overrides of DEFAULT_CONFIG_LIMITS (depth, values; `maxBytes` for text). */
  readonly limits?: Partial<ConfigLimits>;
}

/** Bootstrap fields outside `static_resources` that configure Envoy itself, not routing: ignored. */
const BOOTSTRAP_IGNORED = [
  'node', 'admin', 'layered_runtime', 'stats_config', 'stats_sinks', 'stats_flush_interval', 'watchdog', 'watchdogs',
  'overload_manager', 'cluster_manager', 'tracing', 'dynamic_resources', 'hds_config', 'flags_path',
  'enable_dispatcher_stats', 'header_prefix', 'use_tcp_for_dns_lookups', 'bootstrap_extensions',
  'fatal_actions', 'default_socket_interface', 'inline_headers', 'application_log_config',
];

interface Collected {
  listeners: { r: Reader }[];
  routes: { r: Reader }[];
  clusters: { r: Reader }[];
  assignments: { r: Reader }[];
}

/**
 * Never throws: `input` is first copied as plain data within the config limits (see input-guard.ts), so a
 * cycle, a throwing getter, a proxy or an oversized object becomes an error with its path.
 */
export function buildSnapshot(untrusted: unknown, options: BuildOptions = {}): BuildResult {
  const guarded = guardConfigValue(untrusted, resolveLimits(options.limits));
  if (!guarded.ok) return guarded;
  try {
    return buildFromPlainData(guarded.value, options);
  } catch (error) {
    // A decoder that throws has a bug, not the config: still an outcome, never an exception.
    return { ok: false, errors: [{ path: '(root)', message: `internal error while decoding (a bug in xmesh, please report it): ${messageOf(error)}` }] };
  }
}

function buildFromPlainData(input: unknown, options: BuildOptions): BuildResult {
  const issues = new Issues();
  const found: Collected = { listeners: [], routes: [], clusters: [], assignments: [] };
  collect(input, issues, found);

  const listeners = new Map<string, { config: ListenerConfig; path: string }>();
  const routeConfigs = new Map<string, { config: RouteConfig; path: string }>();
  const clusters = new Map<string, { config: ClusterConfig; path: string }>();
  const assignments = new Map<string, { config: LoadAssignment; path: string }>();

  const add = <T>(map: Map<string, { config: T; path: string }>, kind: string, name: string, config: T, path: string) => {
    const prior = map.get(name);
    if (prior) issues.error(`${path}.name`, `duplicate ${kind} name "${name}" (first at ${prior.path})`);
    else map.set(name, { config, path });
  };

  for (const { r } of found.clusters) {
    const c = decodeCluster(r);
    if (c.name) add(clusters, 'cluster', c.name, c, r.path);
  }
  for (const { r } of found.assignments) {
    const a = decodeLoadAssignment(r);
    if (a.clusterName) add(assignments, 'cluster load assignment', a.clusterName, a, r.path);
  }
  for (const { r } of found.routes) {
    const rc = decodeRouteConfig(r);
    if (rc.name) add(routeConfigs, 'route configuration', rc.name, rc, r.path);
  }
  for (const { r } of found.listeners) {
    const { listener, inlineRoutes } = decodeListener(r);
    if (!listener.name) continue;
    add(listeners, 'listener', listener.name, listener, r.path);
    if (inlineRoutes) add(routeConfigs, 'route configuration', inlineRoutes.name, inlineRoutes, `${r.path}(inline route_config)`);
  }

  // EDS endpoints given alongside their clusters are attached to them.
  const resolvedClusters: Record<string, ClusterConfig> = Object.create(null);
  for (const [name, { config, path }] of clusters) {
    let cluster = config;
    if (config.type === 'EDS') {
      const serviceName = config.edsServiceName ?? name;
      const cla = assignments.get(serviceName);
      if (cla) cluster = { ...config, loadAssignment: cla.config };
    } else if (!config.loadAssignment) {
      issues.error(`${path}.load_assignment`, `is required for a ${config.type} cluster`);
    }
    resolvedClusters[name] = cluster;
  }
  const used = new Set(Object.values(resolvedClusters).map((c) => c.edsServiceName ?? c.name));
  for (const [name, { path }] of assignments) {
    if (!used.has(name)) issues.error(`${path}.cluster_name`, `no EDS cluster uses endpoints "${name}"`);
  }

  for (const [name, { config, path }] of listeners) {
    if (!routeConfigs.has(config.routeConfigName)) {
      issues.error(`${path}`, `listener "${name}" refers to route configuration "${config.routeConfigName}", which is not defined`);
    }
  }
  for (const { config, path } of routeConfigs.values()) checkRouteRefs(config, path, clusters, issues);

  if (issues.errors.length > 0) return { ok: false, errors: issues.errors };

  const snapshot: MeshSnapshot = {
    version: options.version ?? contentVersion(input),
    listeners: toRecord(listeners),
    routeConfigs: toRecord(routeConfigs),
    clusters: resolvedClusters,
    ignored: issues.ignored,
  };
  return { ok: true, snapshot: deepFreeze(snapshot) };
}

/** As buildSnapshot, but throws MeshError XMESH_CONFIG_INVALID listing every error. */
export function buildSnapshotOrThrow(input: unknown, options: BuildOptions = {}): MeshSnapshot {
  const result = buildSnapshot(input, options);
  if (result.ok) return result.snapshot;
  throw invalidConfig(result.errors);
}

export function invalidConfig(errors: readonly FieldError[]): MeshError {
  const head = errors.slice(0, 3).map((e) => `${e.path}: ${e.message}`).join('; ');
  const more = errors.length > 3 ? ` (and ${errors.length - 3} more)` : '';
  return new MeshError('XMESH_CONFIG_INVALID', `invalid config: ${head}${more}`, { errors });
}

function checkRouteRefs(rc: RouteConfig, path: string, clusters: Map<string, unknown>, issues: Issues): void {
  rc.virtualHosts.forEach((vh, i) => {
    vh.routes.forEach((route, j) => {
      const single = route.action.clusters.length === 1 && route.action.clusters[0]!.weight === 1;
      route.action.clusters.forEach((wc, k) => {
        if (clusters.has(wc.name)) return;
        const at = single
          ? `${path}.virtual_hosts[${i}].routes[${j}].route.cluster`
          : `${path}.virtual_hosts[${i}].routes[${j}].route.weighted_clusters.clusters[${k}].name`;
        issues.error(at, `cluster "${wc.name}" is not defined`);
      });
    });
  });
}

function collect(input: unknown, issues: Issues, out: Collected): void {
  if (Array.isArray(input)) {
    input.forEach((item, i) => collectResource(item, `[${i}]`, issues, out));
    return;
  }
  const root = Reader.of(input, '', issues);
  if (!root) return;
  if (root.has('static_resources')) {
    const sr = root.obj('static_resources');
    if (sr) {
      for (const r of sr.objects('listeners')) out.listeners.push({ r });
      for (const r of sr.objects('clusters')) out.clusters.push({ r });
      sr.ignore('secrets');
      sr.finish();
    }
    root.ignore(...BOOTSTRAP_IGNORED);
    root.finish('bootstrap field');
    return;
  }
  if (root.has('resources')) {
    root.get('version_info');
    root.ignore('type_url', 'nonce', 'control_plane', 'canary');
    root.list('resources').forEach(({ value, path }) => collectResource(value, path, issues, out));
    root.finish();
    return;
  }
  if (root.has('@type')) {
    collectResource(input, '', issues, out);
    return;
  }
  issues.error('(root)', 'expected an Envoy bootstrap (static_resources), a list of resources with "@type", or {resources: [...]}');
}

function collectResource(value: unknown, path: string, issues: Issues, out: Collected): void {
  const r = Reader.of(value, path, issues);
  if (!r) return;
  const type = r.raw['@type'];
  switch (type) {
    case TypeUrl.Listener: out.listeners.push({ r }); return;
    case TypeUrl.RouteConfiguration: out.routes.push({ r }); return;
    case TypeUrl.Cluster: out.clusters.push({ r }); return;
    case TypeUrl.ClusterLoadAssignment: out.assignments.push({ r }); return;
    case undefined: issues.error(path || '(root)', 'a resource needs "@type"'); return;
    default: issues.error(`${path ? `${path}.` : ''}@type`, `unsupported resource type ${describe(type)}`);
  }
}

function toRecord<T>(map: Map<string, { config: T }>): Record<string, T> {
  const out: Record<string, T> = Object.create(null);
  for (const [k, { config }] of map) out[k] = config;
  return out;
}

function contentVersion(input: unknown): string {
  return createHash('sha256').update(JSON.stringify(input)).digest('hex').slice(0, 12);
}
