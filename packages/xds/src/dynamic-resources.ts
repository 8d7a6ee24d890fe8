/**
 * A bootstrap's `dynamic_resources`: where its listeners (`lds_config`) and clusters (`cds_config`) come
 * from. xmesh reads two kinds of ConfigSource: files (`path_config_source`, or the older `path`), whose
 * resources join the snapshot and which a mesh watches as Envoy does; and `ads: {}`, meaning the
 * bootstrap's `ads_config` server, which a mesh then follows exactly as `createMesh({ xds })` does. Other
 * sources (a non-aggregated gRPC API, `self`, xdstp locators) are refused with their path.
 */
import type { Reader } from './decode/reader.js';
import { oneOf, rejectUnsupported } from './decode/fields.js';

/** Where one resource type comes from. */
export type ResourceSource =
  | { readonly kind: 'file'; readonly path: string; readonly at: string }
  | { readonly kind: 'ads'; readonly at: string };

/**
 * The ADS server of a bootstrap, as an xDS bootstrap in gRPC's format (what `createMesh({ xds })` and
 * `xmesh sidecar --xds` take): one insecure server, the bootstrap's node, `xmesh_delta` for the
 * incremental protocol.
 */
export interface AdsBootstrap {
  readonly xds_servers: readonly [{ readonly server_uri: string; readonly channel_creds: readonly [{ readonly type: 'insecure' }]; readonly server_features: readonly string[] }];
  readonly node: { readonly id: string; readonly cluster?: string; readonly locality?: Readonly<Record<string, string>>; readonly metadata?: Readonly<Record<string, unknown>> };
}

export interface DynamicResources {
  readonly listeners: ResourceSource | undefined;
  readonly clusters: ResourceSource | undefined;
  /** The `ads_config` server, when a source is `ads`; undefined otherwise (or when it could not be read). */
  readonly ads: AdsBootstrap | undefined;
  /** The static cluster that is the connection to the ADS server (not part of the routing snapshot). */
  readonly adsCluster: string | undefined;
}

/** ConfigSource fields xmesh does not act on, with the reason. */
export const CONFIG_SOURCE_IGNORED: Readonly<Record<string, string>> = {
  initial_fetch_timeout: 'files are read before the mesh starts; over ADS the mesh waits for a whole config',
  resource_api_version: 'only v3 resources are read',
  authorities: 'xdstp authorities are not used',
};

/** PathConfigSource fields xmesh does not act on. */
export const PATH_CONFIG_SOURCE_IGNORED: Readonly<Record<string, string>> = {
  watched_directory: 'the file\'s own directory is watched for edits and moves, which covers Envoy\'s symlink-swap pattern',
};

/** ApiConfigSource (`ads_config`) fields xmesh does not act on. */
export const API_CONFIG_SOURCE_IGNORED: Readonly<Record<string, string>> = {
  transport_api_version: 'only v3 is spoken',
  set_node_on_first_message_only: 'the node is sent on a stream\'s first request, as the xDS protocol requires',
  rate_limit_settings: 'requests are sent when the mesh needs them; there is no client-side rate limit',
  request_timeout: 'applies to REST sources, which are refused',
  refresh_delay: 'applies to REST sources, which are refused',
};

/** GrpcService.EnvoyGrpc fields xmesh does not act on. */
export const ENVOY_GRPC_IGNORED: Readonly<Record<string, string>> = {
  retry_policy: 'reconnects use gRPC\'s backoff',
  max_receive_message_length: 'the ADS client\'s own receive limit applies',
  skip_envoy_headers: 'no x-envoy-* headers are sent',
};

/** GrpcService.GoogleGrpc fields xmesh does not act on. */
export const GOOGLE_GRPC_IGNORED: Readonly<Record<string, string>> = {
  stat_prefix: 'no stats are kept for the ADS connection',
  channel_args: 'the ADS channel uses grpc-js defaults',
};

/** GrpcService (the ADS server) fields xmesh does not act on. */
export const GRPC_SERVICE_IGNORED: Readonly<Record<string, string>> = {
  timeout: 'the ADS stream is long-lived; reconnects use gRPC\'s backoff',
  initial_metadata: 'no metadata is sent with the ADS stream',
  retry_policy: 'reconnects use gRPC\'s backoff',
};

const DELTA_FEATURE = 'xmesh_delta';
const API_TYPES = { 0: 'DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE', 1: 'REST', 2: 'GRPC', 3: 'DELTA_GRPC', 5: 'AGGREGATED_GRPC', 6: 'AGGREGATED_DELTA_GRPC' } as const;

/**
 * Reads the bootstrap's `dynamic_resources` `d`; `staticClusters` (to find the ADS server) and `node`
 * (which the ADS client sends) are the bootstrap's.
 */
export function decodeDynamicResources(d: Reader, staticClusters: readonly Reader[], node: unknown): DynamicResources {
  const listeners = configSource(d, 'lds_config');
  const clusters = configSource(d, 'cds_config');
  rejectUnsupported(d, {
    lds_resources_locator: 'xdstp resource locators are not supported; use lds_config',
    cds_resources_locator: 'xdstp resource locators are not supported; use cds_config',
  });
  const usesAds = listeners?.kind === 'ads' || clusters?.kind === 'ads';
  let ads: AdsBootstrap | undefined;
  let adsCluster: string | undefined;
  const adsConfig = d.obj('ads_config');
  if (adsConfig) {
    const server = readAdsConfig(adsConfig, staticClusters);
    adsCluster = server?.cluster;
    if (server?.serverUri !== undefined && usesAds) {
      ads = {
        xds_servers: [{ server_uri: server.serverUri, channel_creds: [{ type: 'insecure' }], server_features: server.delta ? [DELTA_FEATURE] : [] }],
        node: adsNode(node, d.issues),
      };
    }
  } else if (usesAds) {
    d.error('ads_config', `is required: ${listeners?.kind === 'ads' ? 'lds_config' : 'cds_config'} says "ads"`);
  }
  d.finish();
  return { listeners, clusters, ads, adsCluster };
}

/** One ConfigSource field of `d`; undefined when absent or unusable (reported). */
function configSource(d: Reader, key: string): ResourceSource | undefined {
  const c = d.obj(key);
  if (!c) return undefined;
  const which = oneOf(c, ['path_config_source', 'path', 'ads', 'api_config_source', 'self'], 'one of path_config_source, path, ads is required');
  rejectUnsupported(c, {
    api_config_source: 'only aggregated (ads: {}) or file sources are supported: give the server in ads_config and use ads: {}',
    self: 'a source on the same connection needs a management server; use ads: {} or files',
  });
  c.ignore(...Object.keys(CONFIG_SOURCE_IGNORED));
  let source: ResourceSource | undefined;
  if (which === 'path_config_source') {
    const p = c.obj('path_config_source');
    const path = p?.requiredStr('path') ?? '';
    p?.ignore(...Object.keys(PATH_CONFIG_SOURCE_IGNORED));
    p?.finish();
    if (path !== '') source = { kind: 'file', path, at: p!.at('path') };
  } else if (which === 'path') {
    const path = c.requiredStr('path');
    if (path !== '') source = { kind: 'file', path, at: c.at('path') };
  } else if (which === 'ads') {
    c.obj('ads')?.finish();
    source = { kind: 'ads', at: c.at('ads') };
  }
  c.get('path_config_source');
  c.get('path');
  c.get('ads');
  c.finish();
  return source;
}

/** `ads_config`: an aggregated gRPC API whose one service names a static cluster (or a target URI). */
function readAdsConfig(a: Reader, staticClusters: readonly Reader[]): { cluster: string | undefined; serverUri: string | undefined; delta: boolean } | undefined {
  const apiType = a.enumOf('api_type', Object.values(API_TYPES), 'DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE', API_TYPES);
  if (apiType === 'REST' || apiType === 'DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE') a.error('api_type', `must be GRPC or DELTA_GRPC for ADS, got ${apiType}`);
  const delta = apiType === 'DELTA_GRPC' || apiType === 'AGGREGATED_DELTA_GRPC';
  a.ignore(...Object.keys(API_CONFIG_SOURCE_IGNORED));
  rejectUnsupported(a, { config_validators: 'config validators are not supported', cluster_names: 'REST sources are not supported' });
  const services = a.objects('grpc_services');
  a.finish();
  if (services.length !== 1) {
    a.error('grpc_services', `must name exactly one ADS server, got ${services.length}`);
    return undefined;
  }
  const service = services[0]!;
  service.ignore(...Object.keys(GRPC_SERVICE_IGNORED));
  const envoyGrpc = service.obj('envoy_grpc');
  const googleGrpc = service.obj('google_grpc');
  service.finish();
  let serverUri: string | undefined;
  let cluster: string | undefined;
  if (envoyGrpc) {
    cluster = envoyGrpc.requiredStr('cluster_name');
    rejectUnsupported(envoyGrpc, { authority: 'the ADS connection uses the cluster\'s address as its authority' });
    envoyGrpc.ignore(...Object.keys(ENVOY_GRPC_IGNORED));
    envoyGrpc.finish();
    const found = staticClusters.find((c) => c.raw.name === cluster);
    if (!found) envoyGrpc.error('cluster_name', `names no static cluster ("${cluster}")`);
    else serverUri = serverOf(found, envoyGrpc);
  } else if (googleGrpc) {
    serverUri = googleGrpc.requiredStr('target_uri') || undefined;
    googleGrpc.ignore(...Object.keys(GOOGLE_GRPC_IGNORED));
    if (googleGrpc.has('channel_credentials') || googleGrpc.has('call_credentials')) {
      googleGrpc.get('channel_credentials');
      googleGrpc.get('call_credentials');
      googleGrpc.error('channel_credentials', 'is not supported: the ADS connection is plaintext');
    }
    googleGrpc.finish();
  } else {
    service.error('envoy_grpc', 'is required (or google_grpc)');
  }
  return { cluster, serverUri, delta };
}

/** `host:port` of the static cluster's one endpoint; reported when it has not exactly one, or speaks TLS. */
function serverOf(cluster: Reader, at: Reader): string | undefined {
  const raw = cluster.raw as { load_assignment?: { endpoints?: unknown }; transport_socket?: unknown };
  if (raw.transport_socket !== undefined) {
    at.error('cluster_name', 'names a cluster with a transport_socket: the ADS connection is plaintext');
    return undefined;
  }
  const addresses: string[] = [];
  const endpoints = Array.isArray(raw.load_assignment?.endpoints) ? raw.load_assignment.endpoints : [];
  for (const locality of endpoints as { lb_endpoints?: unknown }[]) {
    for (const lb of (Array.isArray(locality?.lb_endpoints) ? locality.lb_endpoints : []) as { endpoint?: { address?: { socket_address?: { address?: unknown; port_value?: unknown } } } }[]) {
      const s = lb?.endpoint?.address?.socket_address;
      if (typeof s?.address === 'string' && (typeof s.port_value === 'number' || typeof s.port_value === 'string')) {
        addresses.push(s.address.includes(':') ? `[${s.address}]:${s.port_value}` : `${s.address}:${s.port_value}`);
      }
    }
  }
  if (addresses.length !== 1) {
    at.error('cluster_name', `names a cluster with ${addresses.length} endpoints; the ADS server must be one host:port`);
    return undefined;
  }
  return addresses[0];
}

/** The bootstrap's `node` in gRPC bootstrap form (id required by xmesh's ADS client; Envoy defaults it from the command line). */
function adsNode(node: unknown, issues: { error(path: string, message: string): void }): AdsBootstrap['node'] {
  const n = (typeof node === 'object' && node !== null ? node : {}) as Record<string, unknown>;
  const id = typeof n.id === 'string' ? n.id : '';
  if (id === '') issues.error('node.id', 'is required to connect to the ADS server (Envoy takes it from --service-node otherwise)');
  return {
    id,
    ...(typeof n.cluster === 'string' ? { cluster: n.cluster } : {}),
    ...(typeof n.locality === 'object' && n.locality !== null ? { locality: n.locality as Record<string, string> } : {}),
    ...(typeof n.metadata === 'object' && n.metadata !== null ? { metadata: n.metadata as Record<string, unknown> } : {}),
  };
}
