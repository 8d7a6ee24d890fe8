/**
 * What a resource (proto3 JSON, as decoded from its Any) refers to: a listener's RDS name or inline
 * routes, a route config's clusters, a cluster's EDS service name. Read leniently: a malformed resource
 * refers to nothing here and is rejected by the full decoder when the snapshot is built.
 */
import { TypeUrl } from '@xmesh/xds';

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const list = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObj) : []);
/** camelCase spellings of the snake_case field names read here (a fixed set). */
const camelNames = new Map<string, string>();
const camel = (snake: string): string => {
  let name = camelNames.get(snake);
  if (name === undefined) camelNames.set(snake, (name = snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())));
  return name;
};
const field = (o: Json, snake: string): unknown => o[snake] ?? o[camel(snake)];

export interface ListenerRefs {
  /** RDS route config name, when routes come from RDS. */
  readonly rds: string | undefined;
  /** Inline route config (its clusters are referenced directly). */
  readonly inlineRoutes: Json | undefined;
}

function hcmOf(listener: Json): Json | undefined {
  const api = field(listener, 'api_listener');
  if (isObj(api)) {
    const any = field(api, 'api_listener');
    if (isObj(any) && any['@type'] === TypeUrl.HttpConnectionManager) return any;
  }
  const chains = [...list(field(listener, 'filter_chains'))];
  const fallback = field(listener, 'default_filter_chain');
  if (isObj(fallback)) chains.push(fallback);
  for (const chain of chains) {
    for (const filter of list(field(chain, 'filters'))) {
      const tc = field(filter, 'typed_config');
      if (isObj(tc) && tc['@type'] === TypeUrl.HttpConnectionManager) return tc;
    }
  }
  return undefined;
}

export function listenerRefs(listener: Json): ListenerRefs {
  const hcm = hcmOf(listener);
  if (!hcm) return { rds: undefined, inlineRoutes: undefined };
  const rds = field(hcm, 'rds');
  if (isObj(rds)) {
    const name = field(rds, 'route_config_name');
    return { rds: typeof name === 'string' ? name : undefined, inlineRoutes: undefined };
  }
  const inline = field(hcm, 'route_config');
  return { rds: undefined, inlineRoutes: isObj(inline) ? inline : undefined };
}

/** Cluster names a route configuration routes to (`cluster` and `weighted_clusters`). */
export function routeConfigClusters(routeConfig: Json): string[] {
  const out = new Set<string>();
  for (const vh of list(field(routeConfig, 'virtual_hosts'))) {
    for (const route of list(field(vh, 'routes'))) {
      const action = field(route, 'route');
      if (!isObj(action)) continue;
      const single = field(action, 'cluster');
      if (typeof single === 'string') out.add(single);
      const weighted = field(action, 'weighted_clusters');
      if (isObj(weighted)) {
        for (const wc of list(field(weighted, 'clusters'))) {
          const name = field(wc, 'name');
          if (typeof name === 'string') out.add(name);
        }
      }
    }
  }
  return [...out];
}

/** For an EDS cluster, the ClusterLoadAssignment name it needs (`eds_cluster_config.service_name` or its name). */
export function clusterEdsName(cluster: Json): string | undefined {
  const type = field(cluster, 'type');
  if (type !== 'EDS' && type !== 3) return undefined;
  const eds = field(cluster, 'eds_cluster_config');
  const serviceName = isObj(eds) ? field(eds, 'service_name') : undefined;
  if (typeof serviceName === 'string' && serviceName !== '') return serviceName;
  const name = field(cluster, 'name');
  return typeof name === 'string' ? name : undefined;
}

/**
 * Per resource object, its ADS secret names: an ADS client asks for them on every response, for every
 * listener and cluster it holds, and held resources are never changed in place (a change is a new object).
 */
const secretNamesOf = new WeakMap<Json, readonly string[]>();

/**
 * Names of the `Secret`s a cluster's or listener's TLS contexts take from the control plane (`SdsSecretConfig`
 * with `sds_config.ads` or `self`): the cluster's `transport_socket` and `transport_socket_matches`, or the
 * listener's filter chains.
 */
export function adsSecretNames(resource: Json): readonly string[] {
  let names = secretNamesOf.get(resource);
  if (names === undefined) secretNamesOf.set(resource, (names = findAdsSecretNames(resource)));
  return names;
}

function findAdsSecretNames(resource: Json): string[] {
  const sockets: unknown[] = [field(resource, 'transport_socket')];
  for (const m of list(field(resource, 'transport_socket_matches'))) sockets.push(field(m, 'transport_socket'));
  const chains = [...list(field(resource, 'filter_chains'))];
  const fallback = field(resource, 'default_filter_chain');
  if (isObj(fallback)) chains.push(fallback);
  for (const chain of chains) sockets.push(field(chain, 'transport_socket'));
  const out = new Set<string>();
  for (const socket of sockets) {
    const context = isObj(socket) ? field(socket, 'typed_config') : undefined;
    const common = isObj(context) ? field(context, 'common_tls_context') : undefined;
    if (!isObj(common)) continue;
    const configs = [...list(field(common, 'tls_certificate_sds_secret_configs')), field(common, 'validation_context_sds_secret_config')];
    const combined = field(common, 'combined_validation_context');
    if (isObj(combined)) configs.push(field(combined, 'validation_context_sds_secret_config'));
    for (const config of configs) {
      if (!isObj(config)) continue;
      const source = field(config, 'sds_config');
      const name = field(config, 'name');
      if (typeof name === 'string' && name !== '' && isObj(source) && (isObj(field(source, 'ads')) || isObj(field(source, 'self')))) out.add(name);
    }
  }
  return [...out];
}

/** The xDS name of a decoded resource of `typeUrl`. */
export function nameOf(typeUrl: string, json: Json): string | undefined {
  const name = typeUrl === TypeUrl.ClusterLoadAssignment ? field(json, 'cluster_name') : field(json, 'name');
  return typeof name === 'string' && name !== '' ? name : undefined;
}
