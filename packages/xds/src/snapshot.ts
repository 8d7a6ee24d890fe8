/**
 * Builds one MeshSnapshot from Envoy resources in proto3 JSON shape: a bootstrap
 * (`static_resources`), a list of resources each with `@type`, or a DiscoveryResponse-like
 * `{resources: [...]}`. All-or-nothing: any error rejects the whole input, with every error listed.
 */
import { createHash } from 'node:crypto';
import { MeshError, type FieldError } from '@xmesh/core';
import type { ClusterConfig, ClusterRegistry, ListenerConfig, LoadAssignment, MeshSnapshot, OverloadConfig, RequestMirrorPolicy, RouteConfig, SnapshotSources, SourceResource } from './model.js';
import type { ListenerFilterChain } from './filter-model.js';
import type { SecretConfig } from './tls-model.js';
import { Issues, Reader, describe, type ClientRules } from './decode/reader.js';
import { decodeCluster } from './decode/cluster.js';
import { decodeLoadAssignment } from './decode/endpoints.js';
import { decodeListener } from './decode/listener.js';
import { decodeOverload } from './decode/overload.js';
import { decodeRouteConfig } from './decode/route.js';
import { decodeSecret } from './decode/tls-context.js';
import { checkListenerSecretRefs, checkSecretRefs } from './decode/secret-refs.js';
import { TypeUrl, type ResourceTypeUrl } from './type-urls.js';
import { decodeDynamicResources, type AdsBootstrap } from './dynamic-resources.js';
import { deepFreeze } from './freeze.js';
import { guardConfigValue, messageOf, resolveLimits, type ConfigLimits } from './input-guard.js';

export type BuildResult =
  | {
      readonly ok: true;
      readonly snapshot: MeshSnapshot;
      /** Set (with `allowAds`) when the bootstrap's listeners and clusters come from its ADS server: follow it; `snapshot` is the rest. */
      readonly ads?: AdsBootstrap;
    }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

export interface BuildOptions {
  /** Version label; defaults to a hash of the input. */
  readonly version?: string;
  /**
   * Resources given without `@type` are of this type: a file that `lds_config` / `cds_config` names, or
   * `xmesh validate --type`. A list of them, `{resources: [...]}` or one resource may be given.
   */
  readonly resourceType?: ResourceTypeUrl;
  /**
   * Parsed contents of the files a bootstrap's `dynamic_resources` names (`path_config_source`, `path`),
   * by the path as written there. Their resources join the snapshot; error paths start with `(<file>)`.
   */
  readonly files?: Readonly<Record<string, unknown>>;
  /**
   * When true, a bootstrap whose listeners or clusters come from ADS (`ads: {}`) builds its static part and
   * returns `ads`; otherwise that is an error (the snapshot alone would route nothing).
   */
  readonly allowAds?: boolean;
  /**
   * Whose rules the resources are read by (see ClientRules): Envoy's (the default), or a gRPC client's,
   * for the resources a gRPC-style ADS client received.
   */
  readonly rules?: ClientRules;
  /**
   * What a route naming a cluster the input lacks is: an error (`reject`, the default, as Envoy validates
   * static routes), or a route whose calls fail UNAVAILABLE naming the cluster (`unavailable`: an xDS
   * client's cluster that does not exist or was deleted fails only its own calls, gRFC A53/A74, as
   * Envoy answers RDS routes to unknown clusters with `cluster_not_found_response_code`).
   */
  readonly missingClusters?: 'reject' | 'unavailable';
  /** Overrides of DEFAULT_CONFIG_LIMITS (depth, values; `maxBytes` for text). */
  readonly limits?: Partial<ConfigLimits>;
}

/**
 * Bootstrap fields outside `static_resources` and `dynamic_resources` that configure the Envoy process,
 * not where requests go, what is sent or whether they are allowed: ignored, with the reason.
 */
export const BOOTSTRAP_IGNORED: Readonly<Record<string, string>> = {
  node: 'the identity an ADS client sends (read for dynamic_resources); it routes nothing (its cluster names the local cluster in health check answers)',
  admin: 'the admin endpoint is the sidecar\'s --admin address (and the mesh\'s own admin server)',
  layered_runtime: 'there is no runtime layer: runtime_key fields take their default_value; only overload.global_downstream_max_connections in a static layer is read (the sidecar\'s connection limit)',
  stats_config: 'stats are named as xmesh names them',
  stats_sinks: 'stats are read from the admin endpoint or Prometheus exposition',
  stats_flush_interval: 'stats are read from the admin endpoint or Prometheus exposition',
  watchdog: 'process watchdogs concern Envoy\'s event loops',
  watchdogs: 'process watchdogs concern Envoy\'s event loops',
  cluster_manager: 'its local_cluster_name feeds zone-aware routing, which is not implemented (zone_aware_lb_config is ignored); the rest are event logs, load reports and socket binding',
  tracing: 'the tracer is each HCM\'s tracing.provider; a bootstrap tracing.http (Envoy\'s fallback for an HCM tracing that names none) is refused',
  hds_config: 'health discovery: xmesh runs no health checks from a management server',
  flags_path: 'Envoy process flags',
  enable_dispatcher_stats: 'event loop stats of Envoy',
  use_tcp_for_dns_lookups: 'DNS is resolved with the system resolver (node:dns)',
  bootstrap_extensions: 'extensions of the Envoy process',
  fatal_actions: 'crash handling of the Envoy process',
  default_socket_interface: 'the socket implementation of the Envoy process',
  inline_headers: 'a header-map performance hint of Envoy',
  application_log_config: 'Envoy\'s own log format',
};

/** A resource found in the input: `dynamic` unless it is one of a bootstrap's `static_resources`. */
interface Found {
  readonly r: Reader;
  readonly dynamic?: boolean;
}

interface Collected {
  listeners: Found[];
  routes: Found[];
  clusters: Found[];
  assignments: Found[];
  ads: AdsBootstrap | undefined;
  secrets: Found[];
  overload?: OverloadConfig;
  localCluster?: string;
  /** The bootstrap, when the input is one. */
  bootstrap?: Readonly<Record<string, unknown>>;
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
  const issues = new Issues(options.rules);
  const found: Collected = { listeners: [], routes: [], clusters: [], assignments: [], secrets: [], ads: undefined };
  collect(input, issues, found, options);

  const listeners = new Map<string, { config: ListenerConfig; path: string }>();
  const routeConfigs = new Map<string, { config: RouteConfig; path: string }>();
  const clusters = new Map<string, { config: ClusterConfig; path: string }>();
  const assignments = new Map<string, { config: LoadAssignment; path: string }>();
  /** Listeners whose HttpConnectionManager could not be read (reported): they refer to no routes. */
  const routeless = new Set<string>();

  const add = <T>(map: Map<string, { config: T; path: string }>, kind: string, name: string, config: T, path: string) => {
    const prior = map.get(name);
    if (prior) issues.error(`${path}.name`, `duplicate ${kind} name "${name}" (first at ${prior.path})`);
    else map.set(name, { config, path });
  };

  const secrets = new Map<string, { config: SecretConfig; path: string }>();
  for (const { r } of found.secrets) {
    const secret = decodeSecret(r);
    if (secret) add(secrets, 'secret', secret.name, secret, r.path);
  }
  for (const { r } of found.clusters) {
    const c = decodeCluster(r);
    if (c.name) add(clusters, 'cluster', c.name, c, r.path);
  }
  for (const { r } of found.assignments) {
    const a = decodeLoadAssignment(r);
    if (a.clusterName) add(assignments, 'cluster load assignment', a.clusterName, a, r.path);
  }
  // A route configuration a gRPC client's listener (api_listener) names is read by a gRPC client's rules.
  const grpcRoutes = apiListenerRouteNames(found.listeners);
  for (const { r } of found.routes) {
    const rc = grpcRoutes.has(String(r.raw['name'])) ? issues.withRules('grpc', () => decodeRouteConfig(r)) : decodeRouteConfig(r);
    if (rc.name) add(routeConfigs, 'route configuration', rc.name, rc, r.path);
  }
  const decodedListeners = found.listeners.map(({ r }) => ({ r, ...decodeListener(r) }));
  const listenerNames = unnamedListenersNamed(decodedListeners.map(({ listener }) => listener));
  decodedListeners.forEach(({ r, listener: decoded, inlineRoutes, chainRoutes, hasRoutes, mainChain }, i) => {
    const name = listenerNames[i]!;
    let listener = decoded.name === name ? decoded : { ...decoded, name };
    // Inline route configurations belong to their listener (and chain): two listeners may each have one named alike.
    if (inlineRoutes) {
      const key = inlineRouteKey(name, routeConfigs);
      listener = { ...listener, routeConfigName: key };
      routeConfigs.set(key, { config: inlineRoutes, path: `${r.path}(inline route_config)` });
    }
    const chainKeys = new Map<string, string>();
    for (const [chain, routes] of chainRoutes) {
      const key = inlineRouteKey(`${name}/${chain}`, routeConfigs);
      chainKeys.set(chain, key);
      routeConfigs.set(key, { config: routes, path: `${r.path}.filter_chains("${chain}")(inline route_config)` });
    }
    if (listener.filterChains !== undefined) listener = withChainListeners(listener, mainChain, chainKeys);
    add(listeners, 'listener', name, listener, r.path);
    if (!hasRoutes) routeless.add(name);
  });

  // EDS endpoints given alongside their clusters are attached to them (decodeCluster requires the others to have theirs).
  const resolvedClusters: Record<string, ClusterConfig> = Object.create(null);
  for (const [name, { config, path }] of clusters) {
    let cluster = config;
    if (config.type === 'EDS') {
      const serviceName = config.edsServiceName ?? name;
      const cla = assignments.get(serviceName);
      if (cla && config.registry) issues.error(`${cla.path}.cluster_name`, `cluster "${name}" takes its endpoints from the registry, not from a ClusterLoadAssignment`);
      else if (cla) cluster = { ...config, loadAssignment: cla.config };
    }
    if (config.registry) cluster = withRegistryMembers(cluster, config.registry, path, clusters, issues);
    resolvedClusters[name] = cluster;
  }
  const used = new Set(Object.values(resolvedClusters).map((c) => c.edsServiceName ?? c.name));
  for (const [name, { path }] of assignments) {
    if (!used.has(name)) issues.error(`${path}.cluster_name`, `no EDS cluster uses endpoints "${name}"`);
  }

  for (const [name, { config, path }] of listeners) {
    if (!routeless.has(name) && !routeConfigs.has(config.routeConfigName)) {
      issues.error(`${path}`, `listener "${name}" refers to route configuration "${config.routeConfigName}", which is not defined`);
    }
    for (const chain of config.filterChains ?? []) {
      if (chain.network.kind !== 'http' || chain.network.listener.name === name) continue;
      const chainRoutes = chain.network.listener.routeConfigName;
      if (!routeConfigs.has(chainRoutes)) issues.error(`${path}.filter_chains("${chain.name}")`, `refers to route configuration "${chainRoutes}", which is not defined`);
    }
    checkListenerClusterRefs(config, path, clusters, issues);
  }
  if (options.missingClusters !== 'unavailable') for (const { config, path } of routeConfigs.values()) checkRouteRefs(config, path, clusters, issues);
  for (const { config, path } of clusters.values()) checkSecretRefs(config, path, secrets, issues);
  for (const { config, path } of listeners.values()) checkListenerSecretRefs(config, path, secrets, issues);

  if (issues.errors.length > 0) return { ok: false, errors: issues.errors };

  const snapshot: MeshSnapshot = {
    version: options.version ?? contentVersion(input),
    listeners: toRecord(listeners),
    routeConfigs: toRecord(routeConfigs),
    clusters: resolvedClusters,
    ignored: issues.ignored,
    ...(secrets.size === 0 ? {} : { secrets: toRecord(secrets) }),
    ...(found.overload === undefined ? {} : { overload: found.overload }),
    ...(found.localCluster === undefined ? {} : { localCluster: found.localCluster }),
  };
  withSources(snapshot, sourcesOf(found, listenerNames));
  return found.ads === undefined ? { ok: true, snapshot: deepFreeze(snapshot) } : { ok: true, snapshot: deepFreeze(snapshot), ads: found.ads };
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

/**
 * Fills in a registry-backed cluster's registry members: the endpoints (`host:port`) of the STATIC or DNS
 * cluster its `etcd_cluster` / `zookeeper_cluster` names, which must not speak TLS (the registry
 * clients are plaintext).
 */
function withRegistryMembers(
  cluster: ClusterConfig,
  registry: ClusterRegistry,
  path: string,
  clusters: ReadonlyMap<string, { config: ClusterConfig }>,
  issues: Issues,
): ClusterConfig {
  const name = registry.kind === 'etcd' ? 'etcd' : 'ZooKeeper';
  const at = `${path}.metadata.filter_metadata.xmesh.registry.${registry.kind}_cluster`;
  const members = clusters.get(registry.cluster)?.config;
  if (members === undefined) {
    issues.error(at, `names no cluster ("${registry.cluster}"): list the ${name} members in a STATIC or STRICT_DNS cluster`);
    return cluster;
  }
  if (members.type === 'EDS') {
    issues.error(at, `names the EDS cluster "${registry.cluster}": list the ${name} members in a STATIC or STRICT_DNS cluster`);
    return cluster;
  }
  if (members.tls !== undefined || members.transportSocketMatches !== undefined) {
    issues.error(at, `names the cluster "${registry.cluster}", which has a transport_socket: the ${name} client speaks plaintext only, and TLS is never dropped silently`);
    return cluster;
  }
  const endpoints = (members.loadAssignment?.localities ?? []).flatMap((l) => l.endpoints.map((e) => e.id));
  if (endpoints.length === 0) {
    issues.error(at, `names the cluster "${registry.cluster}", which lists no endpoint`);
    return cluster;
  }
  return { ...cluster, registry: { ...registry, endpoints: [...new Set(endpoints)] } };
}

/**
 * A listener's chain listeners: the main chain's is the listener itself (its routes and name); the others are
 * named `<listener>/<chain>` and route with their own inline configurations (keyed in `chainKeys`) or RDS.
 */
function withChainListeners(listener: ListenerConfig, mainChain: string | undefined, chainKeys: ReadonlyMap<string, string>): ListenerConfig {
  const { filterChains, ...own } = listener;
  const chains = filterChains!.map((chain): ListenerFilterChain => {
    if (chain.network.kind !== 'http') return chain;
    if (chain.name === mainChain) return { ...chain, network: { kind: 'http', listener: own } };
    const key = chainKeys.get(chain.name);
    return { ...chain, network: { kind: 'http', listener: { ...chain.network.listener, name: `${listener.name}/${chain.name}`, ...(key === undefined ? {} : { routeConfigName: key }) } } };
  });
  return { ...listener, filterChains: chains };
}

/** The clusters a listener names outside its routes — tcp_proxy's, ext_authz's — must be defined. */
function checkListenerClusterRefs(listener: ListenerConfig, path: string, clusters: ReadonlyMap<string, { config: ClusterConfig }>, issues: Issues): void {
  const filterLists = new Set([listener.httpFilters]);
  for (const chain of listener.filterChains ?? []) {
    if (chain.network.kind === 'http') {
      filterLists.add(chain.network.listener.httpFilters);
      continue;
    }
    for (const { name } of chain.network.tcpProxy.clusters) {
      if (!clusters.has(name)) issues.error(`${path}.filter_chains("${chain.name}").tcp_proxy`, `cluster "${name}" is not defined`);
    }
  }
  for (const filters of filterLists) {
    for (const filter of filters) {
      if (filter.kind === 'ext_authz' && !clusters.has(filter.config.service.cluster)) {
        issues.error(`${path}.http_filters("${filter.name}")`, `the authorization service's cluster "${filter.config.service.cluster}" is not defined`);
      }
    }
  }
}

function checkRouteRefs(rc: RouteConfig, path: string, clusters: ReadonlyMap<string, { config: ClusterConfig }>, issues: Issues): void {
  // Mirror policies are checked where they are written: a route's own, its virtual host's, the route config's.
  checkMirrorClusters(rc.requestMirrorPolicies, path, clusters, issues);
  rc.virtualHosts.forEach((vh, i) => {
    checkMirrorClusters(vh.requestMirrorPolicies, `${path}.virtual_hosts[${i}]`, clusters, issues);
    const inherited = vh.requestMirrorPolicies ?? rc.requestMirrorPolicies;
    vh.routes.forEach((route, j) => {
      const single = route.action.clusters.length === 1 && route.action.clusters[0]!.weight === 1;
      route.action.clusters.forEach((wc, k) => {
        if (clusters.has(wc.name)) return;
        const at = single
          ? `${path}.virtual_hosts[${i}].routes[${j}].route.cluster`
          : `${path}.virtual_hosts[${i}].routes[${j}].route.weighted_clusters.clusters[${k}].name`;
        issues.error(at, `cluster "${wc.name}" is not defined`);
      });
      const own = route.action.requestMirrorPolicies;
      if (own !== inherited) checkMirrorClusters(own, `${path}.virtual_hosts[${i}].routes[${j}].route`, clusters, issues);
    });
  });
}

function checkMirrorClusters(policies: readonly RequestMirrorPolicy[] | undefined, at: string, clusters: ReadonlyMap<string, unknown>, issues: Issues): void {
  policies?.forEach((mirror, k) => {
    if (mirror.cluster !== '' && !clusters.has(mirror.cluster)) issues.error(`${at}.request_mirror_policies[${k}].cluster`, `cluster "${mirror.cluster}" is not defined`);
  });
}

function collect(input: unknown, issues: Issues, out: Collected, options: BuildOptions): void {
  if (Array.isArray(input)) {
    input.forEach((item, i) => collectResource(item, `[${i}]`, issues, out, options.resourceType));
    return;
  }
  const root = Reader.of(input, '', issues);
  if (!root) return;
  if (root.has('static_resources') || root.has('dynamic_resources')) {
    collectBootstrap(root, issues, out, options);
    return;
  }
  if (root.has('resources') || root.has('@type') || options.resourceType !== undefined) {
    collectTyped(input, '', issues, out, options.resourceType);
    return;
  }
  issues.error('(root)', 'expected an Envoy bootstrap (static_resources, dynamic_resources), a list of resources with "@type", or {resources: [...]}');
}

/** A bootstrap: its static resources, and the resources its dynamic_resources name (files, or the ADS server). */
function collectBootstrap(root: Reader, issues: Issues, out: Collected, options: BuildOptions): void {
  out.bootstrap = root.raw;
  const sr = root.obj('static_resources');
  const staticListeners = sr ? sr.objects('listeners') : [];
  const staticClusters = sr ? sr.objects('clusters') : [];
  if (sr) {
    for (const r of sr.objects('secrets')) out.secrets.push({ r, dynamic: false });
    sr.finish();
  }
  const d = root.obj('dynamic_resources');
  const dynamic = d ? decodeDynamicResources(d, staticClusters, root.raw.node) : undefined;
  const usesAds = dynamic?.listeners?.kind === 'ads' || dynamic?.clusters?.kind === 'ads';
  for (const r of staticListeners) out.listeners.push({ r, dynamic: false });
  // The connection to the ADS server is not a cluster the mesh routes to: it is left out (ads_config checked it).
  for (const r of staticClusters) if (!usesAds || r.raw.name !== dynamic?.adsCluster) out.clusters.push({ r, dynamic: false });
  if (dynamic) {
    for (const [source, type] of [[dynamic.listeners, TypeUrl.Listener], [dynamic.clusters, TypeUrl.Cluster]] as const) {
      if (source === undefined) continue;
      if (source.kind === 'ads') {
        if (!options.allowAds) {
          issues.error(source.at, 'resources come from the ADS server in ads_config: give this bootstrap to createMesh({ config }), `xmesh sidecar --config` or `xmesh validate`, which follow that server');
        }
        continue;
      }
      if (usesAds) {
        issues.error(source.at, 'is not supported together with an ADS source: take listeners and clusters from one place');
        continue;
      }
      const contents = options.files?.[source.path];
      if (contents === undefined) {
        issues.error(source.at, `the file "${source.path}" was not read: load the bootstrap from its file (createMesh({ config: path }), xmesh validate), which reads the files it names`);
        continue;
      }
      collectTyped(contents, `(${source.path})`, issues, out, type);
    }
    if (usesAds) {
      if (staticListeners.length > 0 || out.clusters.length > 0) {
        issues.error('static_resources', 'listeners and clusters next to an ADS source are not supported: the mesh takes them all from the control plane (only the ADS server\'s cluster may be static)');
      }
      if (options.allowAds) out.ads = dynamic.ads;
    }
  }
  // node stays ignored (BOOTSTRAP_IGNORED) but for its cluster: the local cluster health checks are answered for.
  const node = root.raw['node'];
  const localCluster = node !== null && typeof node === 'object' ? (node as { cluster?: unknown }).cluster : undefined;
  if (typeof localCluster === 'string' && localCluster !== '') out.localCluster = localCluster;
  // layered_runtime stays ignored (BOOTSTRAP_IGNORED) but for its connection limit.
  const overload = decodeOverload(root.obj('overload_manager'), root.obj('layered_runtime'));
  if (overload !== undefined) out.overload = overload;
  // header_prefix renames every x-envoy-* header the mesh reads and sends; only the default is implemented.
  const headerPrefix = root.str('header_prefix');
  if (headerPrefix !== undefined && headerPrefix !== '' && headerPrefix !== 'x-envoy') root.error('header_prefix', `is not supported: the x-envoy-* request and response headers keep their names (got ${JSON.stringify(headerPrefix)})`);
  // Envoy falls back to the bootstrap's tracer for an HCM whose tracing names no provider: not implemented, so refused.
  const tracing = root.obj('tracing');
  if (tracing?.has('http') === true) tracing.error('http', 'is not supported: name the tracer in each HttpConnectionManager\'s tracing.provider (envoy.tracers.opentelemetry or envoy.tracers.zipkin); Envoy\'s fallback to the bootstrap tracer is not implemented');
  root.ignore(...Object.keys(BOOTSTRAP_IGNORED));
  root.finish('bootstrap field');
}

/**
 * Resources of a known type (or each with its `@type`): a list, a DiscoveryResponse-shaped
 * `{resources: [...]}` (Envoy's path_config_source files), or one resource. `prefix` starts their paths.
 */
function collectTyped(value: unknown, prefix: string, issues: Issues, out: Collected, type: ResourceTypeUrl | undefined): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => collectResource(item, `${prefix}[${i}]`, issues, out, type));
    return;
  }
  const r = Reader.of(value, prefix, issues);
  if (!r) return;
  if (!r.has('resources')) {
    collectResource(value, prefix, issues, out, type);
    return;
  }
  r.get('version_info');
  r.ignore('nonce', 'control_plane', 'canary');
  const declared = r.str('type_url');
  if (declared !== undefined && type !== undefined && declared !== type) r.error('type_url', `is ${JSON.stringify(declared)}, but this file must hold ${shortType(type)} resources`);
  r.list('resources').forEach(({ value: item, path }) => collectResource(item, path, issues, out, type ?? declared));
  r.finish();
}

function collectResource(value: unknown, path: string, issues: Issues, out: Collected, knownType?: string): void {
  const r = Reader.of(value, path, issues);
  if (!r) return;
  const declared = r.raw['@type'];
  if (declared !== undefined && knownType !== undefined && declared !== knownType) {
    issues.error(`${path ? `${path}.` : ''}@type`, `is ${describe(declared)}, but ${shortType(knownType)} resources are expected here`);
    return;
  }
  const type = declared ?? knownType;
  switch (type) {
    case TypeUrl.Listener: out.listeners.push({ r }); return;
    case TypeUrl.RouteConfiguration: out.routes.push({ r }); return;
    case TypeUrl.Cluster: out.clusters.push({ r }); return;
    case TypeUrl.ClusterLoadAssignment: out.assignments.push({ r }); return;
    case TypeUrl.Secret: out.secrets.push({ r }); return;
    case undefined: issues.error(path || '(root)', 'a resource needs "@type"'); return;
    default: issues.error(`${path ? `${path}.` : ''}@type`, `unsupported resource type ${describe(type)}`);
  }
}

/** The RDS route configuration names of the listeners with an `api_listener` (read leniently: a malformed one is reported by its decoder). */
function apiListenerRouteNames(listeners: readonly { r: Reader }[]): Set<string> {
  const names = new Set<string>();
  const field = (o: unknown, snake: string): unknown => {
    if (o === null || typeof o !== 'object') return undefined;
    const obj = o as Record<string, unknown>;
    return obj[snake] ?? obj[snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())];
  };
  for (const { r } of listeners) {
    const name = field(field(field(field(r.raw, 'api_listener'), 'api_listener'), 'rds'), 'route_config_name');
    if (typeof name === 'string') names.add(name);
  }
  return names;
}

/**
 * Attaches `sources` to `snapshot` (not frozen yet) as a non-enumerable property: what the config
 * dump shows, never serialized with the snapshot (it holds secrets as given) nor compared with it.
 */
export function withSources<T extends MeshSnapshot>(snapshot: T, sources: SnapshotSources): T {
  Object.defineProperty(snapshot, 'sources', { value: deepFreeze(sources), enumerable: false, writable: false, configurable: false });
  return snapshot;
}

/** Sources of dynamic resources given as one list (an xDS client's resources, each with `@type`). */
export function dynamicSources(resources: readonly Readonly<Record<string, unknown>>[]): SnapshotSources {
  const pick = (type: string, nameKey = 'name'): SourceResource[] => resources
    .filter((r) => r['@type'] === type)
    .map((r) => ({ name: String(r[nameKey] ?? r[nameKey === 'name' ? 'name' : 'clusterName'] ?? ''), dynamic: true, resource: r }));
  return {
    listeners: pick(TypeUrl.Listener),
    routeConfigs: pick(TypeUrl.RouteConfiguration),
    clusters: pick(TypeUrl.Cluster),
    endpoints: pick(TypeUrl.ClusterLoadAssignment, 'cluster_name'),
    secrets: pick(TypeUrl.Secret),
  };
}

/** The resources as given, for `/config_dump` (names as the snapshot has them; unnamed listeners get theirs). */
function sourcesOf(found: Collected, listenerNames: readonly string[]): SnapshotSources {
  const of = (list: readonly Found[], type: string, nameKey = 'name', names?: readonly string[]): SourceResource[] =>
    list.map(({ r, dynamic }, i) => {
      const name = names?.[i] ?? (typeof r.raw[nameKey] === 'string' ? (r.raw[nameKey] as string) : '');
      return { name, dynamic: dynamic !== false, resource: r.raw['@type'] === undefined ? { '@type': type, ...r.raw } : r.raw };
    });
  return {
    ...(found.bootstrap === undefined ? {} : { bootstrap: found.bootstrap }),
    listeners: of(found.listeners, TypeUrl.Listener, 'name', listenerNames),
    routeConfigs: of(found.routes, TypeUrl.RouteConfiguration),
    clusters: of(found.clusters, TypeUrl.Cluster),
    endpoints: of(found.assignments, TypeUrl.ClusterLoadAssignment, 'cluster_name'),
    secrets: of(found.secrets, TypeUrl.Secret),
  };
}

function shortType(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
}

/**
 * Each listener's name: its own, or for an unnamed one a name made from its address (`0.0.0.0:10000`,
 * as Envoy names none itself but allocates an internal UUID), else from its position; never one another
 * listener has.
 */
function unnamedListenersNamed(listeners: readonly ListenerConfig[]): string[] {
  const taken = new Set(listeners.map((l) => l.name).filter((n) => n !== ''));
  return listeners.map((l, i) => {
    if (l.name !== '') return l.name;
    const base = l.address ? `${l.address.address}:${l.address.port}` : `listener_${i}`;
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}#${n}`;
    taken.add(name);
    return name;
  });
}

/** The key of a listener's inline route configuration in `MeshSnapshot.routeConfigs`: never an RDS name or another listener's. */
function inlineRouteKey(listener: string, taken: ReadonlyMap<string, unknown>): string {
  const base = `${listener} (inline)`;
  let key = base;
  for (let n = 2; taken.has(key); n++) key = `${base}#${n}`;
  return key;
}

function toRecord<T>(map: Map<string, { config: T }>): Record<string, T> {
  const out: Record<string, T> = Object.create(null);
  for (const [k, { config }] of map) out[k] = config;
  return out;
}

function contentVersion(input: unknown): string {
  return createHash('sha256').update(JSON.stringify(input)).digest('hex').slice(0, 12);
}
