/**
 * `envoy.config.cluster.v3.Cluster` → ClusterConfig with Envoy's defaults. Every Cluster field is decoded, ignored
 * with a documented reason (IGNORED_FIELDS), or reported as unsupported.
 */
import type { ClusterConfig, DiscoveryType, LbPolicy } from '../model.js';
import { decodeCircuitBreakers } from './circuit-breakers.js';
import { decodeClusterExtensions } from './cluster-extensions.js';
import { decodeLoadAssignment } from './endpoints.js';
import { decodeHealthChecks } from './health-check.js';
import { ignoreListed, Messages } from './ignored-fields.js';
import { oneOf, rejectUnsupported } from './fields.js';
import { decodeLbSettings } from './lb-config.js';
import { decodeOutlierDetection } from './outlier-detection.js';
import { decodeHttp2 } from './protocol-options.js';
import { describe, protoEnumName, Reader } from './reader.js';
import { decodeTransportSocket, decodeTransportSocketMatches, refuseAutoSni } from './transport-socket.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_DNS_REFRESH_RATE_MS = 5_000;
export const DEFAULT_HEALTHY_PANIC_THRESHOLD = 50;

/** Rejected rather than ignored: ignoring them would change where or how traffic goes. */
const UNSUPPORTED_FIELDS = {
  cluster_type: 'custom cluster types; use type (STATIC, STRICT_DNS, LOGICAL_DNS or EDS)',
  load_balancing_policy: 'use lb_policy (ignoring it would change how traffic is balanced)',
};

/** `Cluster.DiscoveryType`, every member (ORIGINAL_DST is refused by name). */
const DISCOVERY_TYPES = { 0: 'STATIC', 1: 'STRICT_DNS', 2: 'LOGICAL_DNS', 3: 'EDS', 4: 'ORIGINAL_DST' } as const;
const DNS_LOOKUP_FAMILIES = ['AUTO', 'V4_ONLY', 'V6_ONLY', 'V4_PREFERRED', 'ALL'] as const;
/** When `type` is invalid no type-specific rule is checked (its error is the only one reported); the model says STATIC. */
const FALLBACK_TYPE: DiscoveryType = 'STATIC';

export function decodeCluster(r: Reader): ClusterConfig {
  const name = r.requiredStr('name');
  const declaredType = decodeDiscoveryType(r);
  const type = declaredType ?? FALLBACK_TYPE;
  const xmeshReader = decodeMetadata(r.obj('metadata'));
  const { extensions, peakEwma, registry } = decodeClusterExtensions(xmeshReader);
  const edsServiceName = decodeEdsConfig(r, declaredType, registry !== undefined);
  const lb = decodeLbSettings(r);
  const connectTimeoutMs = r.positiveDuration('connect_timeout') ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const dnsRefreshRateMs = decodeDnsRefreshRate(r);
  const dnsLookupFamily = r.enumOf('dns_lookup_family', DNS_LOOKUP_FAMILIES, 'AUTO', { ...DNS_LOOKUP_FAMILIES });
  const respectDnsTtl = r.bool('respect_dns_ttl', false);
  const circuitBreakers = decodeCircuitBreakers(r.obj('circuit_breakers'));
  const outlierDetection = decodeOutlierDetection(r.obj('outlier_detection'));
  const common = decodeCommonLbConfig(r.obj('common_lb_config'));
  const http2 = decodeHttp2(r);
  const healthCheck = decodeHealthChecks(r, {
    http2,
    ignoreNewHostsUntilFirstHc: common.ignoreNewHostsUntilFirstHc,
    ignoreHealthOnHostRemoval: r.bool('ignore_health_on_host_removal', false),
    closeConnectionsOnHostHealthFailure: r.bool('close_connections_on_host_health_failure', false),
  });
  if (registry !== undefined && declaredType !== undefined && declaredType !== 'EDS') {
    xmeshReader!.error('registry', `is only valid on an EDS cluster (its endpoints come from the registry), this one is ${declaredType}`);
  }
  const service = edsServiceName ?? name;
  if (registry !== undefined && (service === '' || service.includes('/'))) {
    xmeshReader!.error('registry', `the registry service name (eds_cluster_config.service_name, else the cluster name) must be non-empty without "/", got ${JSON.stringify(service)}`);
  }
  if (peakEwma && lb.envoyLbPolicy !== 'ROUND_ROBIN' && lb.envoyLbPolicy !== 'LEAST_REQUEST') {
    xmeshReader!.error(
      'lb_policy',
      `PEAK_EWMA needs Envoy lb_policy ROUND_ROBIN or LEAST_REQUEST (what Envoy itself then uses), got ${lb.envoyLbPolicy}`,
    );
  }
  const loadAssignment = decodeInlineAssignment(r, declaredType);
  const tls = decodeTransportSocket(r.obj('transport_socket'), 'upstream');
  const transportSocketMatches = decodeTransportSocketMatches(r);
  refuseAutoSni(r, tls !== undefined || transportSocketMatches.some((m) => m.tls !== undefined));

  rejectUnsupported(r, UNSUPPORTED_FIELDS);
  checkLrsServer(r);
  refuseDnsResolvers(r);
  ignoreListed(r, Messages.CLUSTER);
  r.finish();

  const { envoyLbPolicy, ...lbSettings } = lb;
  const lbPolicy: LbPolicy = peakEwma ? 'PEAK_EWMA' : envoyLbPolicy;
  return {
    name,
    type,
    edsServiceName,
    lbPolicy,
    ...lbSettings,
    connectTimeoutMs,
    dnsRefreshRateMs,
    dnsLookupFamily,
    respectDnsTtl,
    circuitBreakers,
    outlierDetection,
    healthyPanicThreshold: common.healthyPanicThreshold,
    localityWeightedLb: common.localityWeightedLb,
    http2,
    loadAssignment,
    xmesh: extensions,
    ...(tls === undefined ? {} : { tls }),
    ...(transportSocketMatches.length === 0 ? {} : { transportSocketMatches }),
    ...(healthCheck === undefined ? {} : { healthCheck }),
    // The members are filled in by the snapshot, from the cluster `etcd_cluster` names.
    ...(registry === undefined ? {} : { registry: { ...registry, service, endpoints: [] } }),
  };
}

/** The cluster's type, or undefined (reported) when it is not one xmesh supports. */
function decodeDiscoveryType(r: Reader): DiscoveryType | undefined {
  const v = r.get('type');
  if (v === undefined) return 'STATIC';
  const name = protoEnumName(v, DISCOVERY_TYPES);
  if (name === 'ORIGINAL_DST') r.error('type', 'ORIGINAL_DST is not supported; use STATIC, STRICT_DNS, LOGICAL_DNS or EDS');
  else if (name === undefined) r.error('type', `must be one of STATIC, STRICT_DNS, LOGICAL_DNS, EDS, got ${describe(v)}`);
  else return name;
  return undefined;
}

/**
 * `eds_cluster_config.service_name`, or undefined when unset or empty (the cluster name is used then).
 * An EDS cluster needs `eds_cluster_config` (Envoy: "cannot create an EDS cluster without an EDS
 * config"), unless its endpoints come from a registry (`xmesh.registry`, `xmesh.zookeeper`: the
 * cluster name is the service name then); a gRPC client also needs its `eds_config` to be `ads` or
 * `self` (gRFC A27).
 */
function decodeEdsConfig(r: Reader, type: DiscoveryType | undefined, fromRegistry: boolean): string | undefined {
  const eds = r.obj('eds_cluster_config');
  if (!eds) {
    if (type === 'EDS' && !fromRegistry) r.error('eds_cluster_config', 'is required for an EDS cluster (Envoy: "cannot create an EDS cluster without an EDS config")');
    return undefined;
  }
  if (type !== undefined && type !== 'EDS') r.error('eds_cluster_config', `is only valid for an EDS cluster, this one is ${type}`);
  const serviceName = eds.str('service_name');
  if (r.issues.rules === 'grpc' && type === 'EDS') {
    const source = eds.get('eds_config');
    if (!(source !== null && typeof source === 'object' && ('ads' in source || 'self' in source))) {
      eds.error('eds_config', 'must be ads or self: a gRPC client takes endpoints from its ADS server (gRFC A27)');
    }
  }
  ignoreListed(eds, Messages.EDS_CONFIG);
  eds.finish();
  return serviceName === '' ? undefined : serviceName;
}

/** gRFC A27: a gRPC client reports load only to its ADS server (`lrs_server` `self`); xmesh reports none. */
function checkLrsServer(r: Reader): void {
  const lrs = r.raw['lrs_server'] ?? r.raw['lrsServer'];
  if (lrs === undefined || lrs === null || r.issues.rules !== 'grpc') return;
  if (!(typeof lrs === 'object' && 'self' in lrs)) r.error('lrs_server', 'must be self for a gRPC client (gRFC A27)');
}

/** Envoy requires at least 1 ms. */
function decodeDnsRefreshRate(r: Reader): number {
  const ms = r.duration('dns_refresh_rate');
  if (ms === undefined) return DEFAULT_DNS_REFRESH_RATE_MS;
  if (ms < 1) {
    r.error('dns_refresh_rate', 'must be at least 1ms');
    return DEFAULT_DNS_REFRESH_RATE_MS;
  }
  return ms;
}

type CommonLbSettings = Pick<ClusterConfig, 'healthyPanicThreshold' | 'localityWeightedLb'> & { readonly ignoreNewHostsUntilFirstHc: boolean };

function decodeCommonLbConfig(r: Reader | undefined): CommonLbSettings {
  if (!r) return { healthyPanicThreshold: DEFAULT_HEALTHY_PANIC_THRESHOLD, localityWeightedLb: false, ignoreNewHostsUntilFirstHc: false };
  const healthyPanicThreshold = r.percent('healthy_panic_threshold') ?? DEFAULT_HEALTHY_PANIC_THRESHOLD;
  oneOf(r, ['zone_aware_lb_config', 'locality_weighted_lb_config']);
  const localityWeighted = r.obj('locality_weighted_lb_config');
  localityWeighted?.finish();
  refuseHashingChanges(r.raw['consistent_hashing_lb_config'] ?? r.raw['consistentHashingLbConfig'], r);
  const ignoreNewHostsUntilFirstHc = r.bool('ignore_new_hosts_until_first_hc', false);
  ignoreListed(r, Messages.COMMON_LB);
  r.finish();
  return { healthyPanicThreshold, localityWeightedLb: localityWeighted !== undefined, ignoreNewHostsUntilFirstHc };
}

/**
 * Reads `metadata`: `filter_metadata.xmesh` is returned for the extensions decoder; other filter_metadata entries
 * are recorded as ignored (they configure other filters, not the cluster).
 */
function decodeMetadata(r: Reader | undefined): Reader | undefined {
  if (!r) return undefined;
  let xmesh: Reader | undefined;
  for (const { key, value, path } of r.entries('filter_metadata')) {
    if (key === 'xmesh') xmesh = Reader.of(value, path, r.issues);
    else r.issues.ignored.push(path);
  }
  ignoreListed(r, Messages.METADATA);
  r.finish();
  return xmesh;
}

/**
 * Envoy ignores `load_assignment` on EDS clusters; xmesh rejects it so endpoints never silently vanish.
 * Without one, a STATIC or STRICT_DNS cluster has no endpoints (Envoy accepts it: calls to it get "no
 * healthy upstream"); a LOGICAL_DNS cluster needs exactly one endpoint (Envoy refuses it otherwise).
 */
function decodeInlineAssignment(r: Reader, type: DiscoveryType | undefined): ClusterConfig['loadAssignment'] {
  const la = r.obj('load_assignment');
  if (!la) {
    // Only a cluster whose type was read can need one: an invalid type is the only error reported.
    if (type === 'LOGICAL_DNS') r.error('load_assignment', 'is required for a LOGICAL_DNS cluster (one locality with one endpoint)');
    return undefined;
  }
  if (type === 'EDS') {
    r.error('load_assignment', 'must not be set on an EDS cluster (its endpoints come from EDS; Envoy would ignore these)');
    return undefined;
  }
  return decodeLoadAssignment(la, { clusterType: type ?? 'unknown' });
}

/**
 * `consistent_hashing_lb_config` is ignored only at its defaults: `use_hostname_for_hashing` and
 * `hash_balance_factor` would move keys to other hosts (where requests go), and are refused.
 */
function refuseHashingChanges(raw: unknown, r: Reader): void {
  if (typeof raw !== 'object' || raw === null) return;
  const c = raw as Record<string, unknown>;
  const at = `${r.at('consistent_hashing_lb_config')}`;
  if ((c['use_hostname_for_hashing'] ?? c['useHostnameForHashing']) === true) r.issues.error(`${at}.use_hostname_for_hashing`, 'is not supported: keys are hashed onto endpoint addresses');
  const factor = c['hash_balance_factor'] ?? c['hashBalanceFactor'];
  if (factor !== undefined && factor !== null && factor !== 0) r.issues.error(`${at}.hash_balance_factor`, 'is not supported: bounded-load consistent hashing is not implemented');
}

/**
 * DNS resolver settings are ignored (node:dns resolves) unless they name the servers to ask, which
 * could answer differently: `dns_resolution_config.resolvers` and a `typed_dns_resolver_config`
 * listing `resolvers` are refused.
 */
function refuseDnsResolvers(r: Reader): void {
  const listsResolvers = (raw: unknown): boolean => {
    if (typeof raw !== 'object' || raw === null) return false;
    const resolvers = (raw as Record<string, unknown>)['resolvers'];
    return Array.isArray(resolvers) && resolvers.length > 0;
  };
  const legacy = r.raw['dns_resolution_config'] ?? r.raw['dnsResolutionConfig'];
  if (listsResolvers(legacy)) r.issues.error(`${r.at('dns_resolution_config')}.resolvers`, 'is not supported: hosts are resolved by the system resolver (node:dns)');
  const typed = (r.raw['typed_dns_resolver_config'] ?? r.raw['typedDnsResolverConfig']) as Record<string, unknown> | undefined;
  const typedConfig = typeof typed === 'object' && typed !== null ? (typed['typed_config'] ?? typed['typedConfig']) : undefined;
  if (listsResolvers(typedConfig)) r.issues.error(`${r.at('typed_dns_resolver_config')}.typed_config.resolvers`, 'is not supported: hosts are resolved by the system resolver (node:dns)');
}
