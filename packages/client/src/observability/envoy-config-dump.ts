/**
 * Envoy's `/config_dump` (`envoy.admin.v3.ConfigDump`) from the resources a snapshot was built from:
 * BootstrapConfigDump, ClustersConfigDump, EndpointsConfigDump (with `include_eds`),
 * ListenersConfigDump, RoutesConfigDump and SecretsConfigDump, each packed as an Any (`@type`), with
 * static and dynamic sections, `version_info` on dynamic resources and `last_updated` (when each
 * resource last changed). `?resource=` returns the elements of one repeated field, each as an Any;
 * `?mask=` keeps the fields of a FieldMask (of each top-level dump, or of each element with
 * `resource`). Resources appear as they were given (proto3 JSON), with every sensitive field
 * (private keys, passwords, generic secrets, session ticket keys) `[redacted]`, as Envoy redacts them.
 */
import type { MeshSnapshot, SourceResource } from '@xmesh/xds';

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';
const ROUTE_CONFIG_TYPE = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
const CLA_TYPE = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** The repeated fields `?resource=` may name, with the message of their elements. */
const RESOURCE_TYPES: Readonly<Record<string, string>> = {
  static_clusters: 'ClustersConfigDump.StaticCluster',
  dynamic_active_clusters: 'ClustersConfigDump.DynamicCluster',
  dynamic_warming_clusters: 'ClustersConfigDump.DynamicCluster',
  static_endpoint_configs: 'EndpointsConfigDump.StaticEndpointConfig',
  dynamic_endpoint_configs: 'EndpointsConfigDump.DynamicEndpointConfig',
  static_listeners: 'ListenersConfigDump.StaticListener',
  dynamic_listeners: 'ListenersConfigDump.DynamicListener',
  static_route_configs: 'RoutesConfigDump.StaticRouteConfig',
  dynamic_route_configs: 'RoutesConfigDump.DynamicRouteConfig',
  static_secrets: 'SecretsConfigDump.StaticSecret',
  dynamic_active_secrets: 'SecretsConfigDump.DynamicSecret',
  dynamic_warming_secrets: 'SecretsConfigDump.DynamicSecret',
};

/** Envoy's sensitive fields (`udpa.annotations.sensitive`) of the resources xmesh reads. */
const SENSITIVE: ReadonlySet<string> = new Set(['private_key', 'privateKey', 'password', 'pkcs12', 'secret', 'keys', 'private_key_provider', 'privateKeyProvider']);
/** Where `secret` and `keys` are sensitive: a GenericSecret's `secret`, TlsSessionTicketKeys' `keys`. */
const SENSITIVE_PARENTS: Readonly<Record<string, ReadonlySet<string>>> = {
  secret: new Set(['generic_secret', 'genericSecret']),
  keys: new Set(['session_ticket_keys', 'sessionTicketKeys']),
};
const REDACTED = '[redacted]';
/** `[redacted]` as protobuf JSON bytes (base64), as Envoy shows a redacted bytes field. */
const REDACTED_BYTES = Buffer.from(REDACTED).toString('base64');

export interface ConfigDumpQuery {
  readonly resource?: string;
  readonly mask?: string;
  readonly includeEds: boolean;
}

export type ConfigDumpResult = { readonly ok: true; readonly dump: unknown } | { readonly ok: false; readonly status: number; readonly message: string };

type Json = Record<string, unknown>;

/** The kind `last_updated` of the bootstrap is kept under. */
const BOOTSTRAP = 'bootstrap';

/** A resource as last applied; `before`: its value and time when it was last known to have changed, while not compared yet. */
interface Noted {
  readonly value: unknown;
  readonly at: string;
  readonly before?: { readonly value: unknown; readonly at: string };
}

/** Keeps when each resource last changed, across snapshots (`last_updated`). */
export class EnvoyConfigDump {
  /**
   * Per resource: the value it was last seen as and when it last changed. Snapshots share the objects of
   * unchanged resources, so an update only notes which objects changed; whether their content did (a file
   * reload gives equal resources as new objects) is decided when a dump asks (see `lastUpdated`).
   */
  private updated = new Map<string, Map<string, Noted>>();
  /** Per kind, the source list last noted: an update that kept a kind's list (an endpoint update keeps all but one) skips it. */
  private lists = new Map<string, readonly SourceResource[]>();

  /** A snapshot was applied at `at`: resources whose content changed get `at` as their `last_updated`. */
  noteApplied(snapshot: MeshSnapshot | undefined, at: string): void {
    const sources = snapshot?.sources;
    const lists = new Map(Object.entries(sources === undefined ? {} : resourceLists(sources)));
    const next = new Map<string, Map<string, Noted>>();
    const note = (kind: string, name: string, value: unknown): void => {
      let noted = next.get(kind);
      if (noted === undefined) next.set(kind, (noted = new Map()));
      const prior = this.updated.get(kind)?.get(name);
      if (prior === undefined) noted.set(name, { value, at });
      else if (prior.value === value) noted.set(name, prior);
      // Compared with the last content a dump could have shown, when asked.
      else noted.set(name, { value, at, before: prior.before ?? { value: prior.value, at: prior.at } });
    };
    for (const [kind, list] of lists) {
      const prior = this.updated.get(kind);
      if (prior !== undefined && this.lists.get(kind) === list) next.set(kind, prior);
      else for (const r of list) note(kind, r.name, r.resource);
    }
    if (sources !== undefined) note(BOOTSTRAP, '', sources.bootstrap ?? {});
    this.updated = next;
    this.lists = lists;
  }

  build(snapshot: MeshSnapshot | undefined, query: ConfigDumpQuery): ConfigDumpResult {
    const configs = this.dumps(snapshot, query.includeEds);
    if (query.resource !== undefined) {
      const element = RESOURCE_TYPES[query.resource];
      if (element === undefined) return { ok: false, status: 404, message: `The resource ${query.resource} was not found: name a repeated field of a config dump (${Object.keys(RESOURCE_TYPES).join(', ')})` };
      const items: Json[] = [];
      for (const dump of configs) {
        const list = dump[query.resource];
        if (Array.isArray(list)) for (const item of list as Json[]) items.push(masked({ '@type': `${ADMIN}${element}`, ...item }, query.mask));
      }
      return { ok: true, dump: { configs: items } };
    }
    return { ok: true, dump: { configs: configs.map((c) => masked(c, query.mask)) } };
  }

  /** When a resource last changed content: one noted as a new object with equal content keeps its earlier time. */
  private lastUpdated(kind: string, name: string): string {
    const noted = this.updated.get(kind);
    let resource = noted?.get(name);
    if (resource === undefined) return new Date(0).toISOString();
    if (resource.before !== undefined) {
      const same = JSON.stringify(resource.before.value) === JSON.stringify(resource.value);
      resource = { value: resource.value, at: same ? resource.before.at : resource.at };
      noted!.set(name, resource);
    }
    return resource.at;
  }

  private dumps(snapshot: MeshSnapshot | undefined, includeEds: boolean): Json[] {
    const sources = snapshot?.sources;
    const version = snapshot?.version ?? '';
    const listeners = sources?.listeners ?? [];
    const clusters = sources?.clusters ?? [];
    const routes = sources?.routeConfigs ?? [];
    const secrets = sources?.secrets ?? [];
    const at = (kind: string, r: SourceResource) => this.lastUpdated(kind, r.name);
    const dynamicVersion = (list: readonly SourceResource[]) => (list.some((r) => r.dynamic) ? { version_info: version } : {});

    const inlineRoutes = listeners.flatMap((l) => inlineRouteConfigs(l.resource).map((route) => ({ route_config: redacted(route), last_updated: at('listeners', l) })));
    const out: Json[] = [
      { '@type': `${ADMIN}BootstrapConfigDump`, bootstrap: redacted(sources?.bootstrap ?? {}), last_updated: this.lastUpdated(BOOTSTRAP, '') },
      {
        '@type': `${ADMIN}ClustersConfigDump`,
        ...dynamicVersion(clusters),
        static_clusters: clusters.filter((c) => !c.dynamic).map((c) => ({ cluster: redacted(c.resource), last_updated: at('clusters', c) })),
        dynamic_active_clusters: clusters.filter((c) => c.dynamic).map((c) => ({ version_info: version, cluster: redacted(c.resource), last_updated: at('clusters', c) })),
      },
    ];
    if (includeEds) {
      const inline = clusters.filter((c) => isObject(c.resource['load_assignment'] ?? c.resource['loadAssignment']));
      out.push({
        '@type': `${ADMIN}EndpointsConfigDump`,
        static_endpoint_configs: inline.map((c) => ({ endpoint_config: { '@type': CLA_TYPE, ...(c.resource['load_assignment'] ?? c.resource['loadAssignment']) as Json }, last_updated: at('clusters', c) })),
        dynamic_endpoint_configs: (sources?.endpoints ?? []).map((e) => ({ version_info: version, endpoint_config: e.resource, last_updated: at('endpoints', e) })),
      });
    }
    out.push(
      {
        '@type': `${ADMIN}ListenersConfigDump`,
        ...dynamicVersion(listeners),
        static_listeners: listeners.filter((l) => !l.dynamic).map((l) => ({ listener: redacted(l.resource), last_updated: at('listeners', l) })),
        dynamic_listeners: listeners.filter((l) => l.dynamic).map((l) => ({
          name: l.name,
          active_state: { version_info: version, listener: redacted(l.resource), last_updated: at('listeners', l) },
        })),
      },
      {
        '@type': `${ADMIN}RoutesConfigDump`,
        static_route_configs: [...inlineRoutes, ...routes.filter((r) => !r.dynamic).map((r) => ({ route_config: redacted(r.resource), last_updated: at('routeConfigs', r) }))],
        dynamic_route_configs: routes.filter((r) => r.dynamic).map((r) => ({ version_info: version, route_config: redacted(r.resource), last_updated: at('routeConfigs', r) })),
      },
      {
        '@type': `${ADMIN}SecretsConfigDump`,
        static_secrets: secrets.filter((s) => !s.dynamic).map((s) => ({ name: s.name, last_updated: at('secrets', s), secret: redacted(s.resource) })),
        dynamic_active_secrets: secrets.filter((s) => s.dynamic).map((s) => ({ name: s.name, version_info: version, last_updated: at('secrets', s), secret: redacted(s.resource) })),
      },
    );
    return out;
  }
}

function resourceLists(sources: NonNullable<MeshSnapshot['sources']>): Record<string, readonly SourceResource[]> {
  return { listeners: sources.listeners, routeConfigs: sources.routeConfigs, clusters: sources.clusters, endpoints: sources.endpoints, secrets: sources.secrets };
}

/** Route configurations given inline in a listener's HttpConnectionManagers (Envoy lists them as static route configs). */
function inlineRouteConfigs(listener: Json): Json[] {
  const out: Json[] = [];
  const chains = [...asList(listener['filter_chains'] ?? listener['filterChains']), listener['default_filter_chain'] ?? listener['defaultFilterChain']];
  for (const chain of chains) {
    if (!isObject(chain)) continue;
    for (const filter of asList(chain['filters'])) {
      const config = isObject(filter) ? filter['typed_config'] ?? filter['typedConfig'] : undefined;
      if (!isObject(config) || config['@type'] !== HCM_TYPE) continue;
      const route = config['route_config'] ?? config['routeConfig'];
      if (isObject(route)) out.push({ '@type': ROUTE_CONFIG_TYPE, ...route });
    }
  }
  return out;
}

/** A deep copy of `value` with Envoy's sensitive fields redacted: each string in them `[redacted]`, bytes too. */
export function redacted(value: unknown, parentKey = '', sensitive = false): unknown {
  if (Array.isArray(value)) return value.map((v) => redacted(v, parentKey, sensitive));
  if (isObject(value)) {
    const out: Json = {};
    for (const [key, v] of Object.entries(value)) {
      const isSensitive = sensitive || (SENSITIVE.has(key) && (SENSITIVE_PARENTS[key] === undefined || SENSITIVE_PARENTS[key]!.has(parentKey)));
      out[key] = redacted(v, key, isSensitive);
    }
    return out;
  }
  if (!sensitive) return value;
  if (typeof value === 'string') return parentKey === 'inline_bytes' || parentKey === 'inlineBytes' ? REDACTED_BYTES : REDACTED;
  return undefined;
}

/**
 * Keeps the fields a FieldMask (comma-separated paths) names; no mask keeps all. Paths go through
 * Any fields into the packed message, which keeps its `@type` (as Envoy unpacks and repacks them).
 */
export function masked(message: Json, mask: string | undefined): Json {
  if (mask === undefined || mask === '') return message;
  const paths = mask.split(',').map((p) => p.trim()).filter((p) => p !== '').map((p) => p.split('.'));
  return trim(message, paths) as Json;
}

function trim(value: unknown, paths: readonly (readonly string[])[]): unknown {
  if (paths.some((p) => p.length === 0)) return value;
  if (Array.isArray(value)) return value.map((v) => trim(v, paths));
  if (!isObject(value)) return value;
  const out: Json = value['@type'] === undefined ? {} : { '@type': value['@type'] };
  for (const [key, v] of Object.entries(value)) {
    const under = paths.filter((p) => p[0] === key).map((p) => p.slice(1));
    if (under.length > 0) out[key] = trim(v, under);
  }
  return out;
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
