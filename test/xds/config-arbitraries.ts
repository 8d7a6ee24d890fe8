/**
 * fast-check arbitraries for config fuzzing: Envoy-shaped bootstraps and resources (listeners, routes,
 * clusters, endpoints, filters) whose fields take plausible values, implausible ones (wrong types, huge
 * and negative numbers, malformed durations, catastrophic regexes) and unknown siblings; mutations of
 * real configs (test/fixtures/every-field.yaml, the examples); YAML rendering with anchors and aliases
 * for shared subtrees (alias bombs included); and raw or mutated text.
 */
import fc from 'fast-check';
import { TypeUrl } from '@xmesh/xds';

type Json = unknown;

// ---------------------------------------------------------------- leaves

const HOSTILE_NUMBERS = [0, -1, 1, 2 ** 31, 2 ** 32, 2 ** 53 + 2, -(2 ** 63), 1e308, -1e308, 0.5, Number.MIN_VALUE, Number.NaN, Infinity, -Infinity];
const HOSTILE_STRINGS = [
  '', ' ', '0', '-1', '1e999', '5s', '-5s', '0.000000001s', '1.0000000001s', '315576000001s', 'NaN', 'true', 'null',
  '__proto__', 'constructor', 'toString', '@type', '*', '.*', '(a+)+$', '((', '\u0000', 'é', '\u{1F600}', 'x'.repeat(5000),
];

export const hostileScalar: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom(...HOSTILE_NUMBERS),
  fc.constantFrom(...HOSTILE_STRINGS),
  fc.string({ maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);

const KNOWN_KEYS = ['name', 'type', '@type', 'value', 'seconds', 'nanos', 'cluster', 'prefix', 'routes', 'endpoints', 'typed_config', '__proto__', 'static_resources', 'resources'];
const anyKey = fc.oneof(fc.constantFrom(...KNOWN_KEYS), fc.string({ maxLength: 10 }));

/** Any JSON-like value, a few levels deep. */
export const anyJson: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileScalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(anyKey, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A field's value: mostly plausible, sometimes hostile. */
function field<T>(plausible: fc.Arbitrary<T>): fc.Arbitrary<T | Json> {
  return fc.oneof({ weight: 6, arbitrary: plausible }, { weight: 1, arbitrary: hostileScalar }, { weight: 1, arbitrary: anyJson });
}

/** An object with any subset of `fields`, plus now and then unknown ones. */
function message(fields: Record<string, fc.Arbitrary<Json>>, required: string[] = []): fc.Arbitrary<Record<string, Json>> {
  const known = fc.record(fields, { requiredKeys: required });
  const unknown = fc.oneof({ weight: 8, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 2 }) });
  return fc.tuple(known, unknown).map(([k, u]) => ({ ...u, ...k }) as Record<string, Json>);
}

const u32 = field(fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.constantFrom(0, 2 ** 32 - 1, 2 ** 32)));
const bool = field(fc.boolean());
const text = field(fc.string({ maxLength: 12 }));
const duration = field(fc.oneof(
  fc.constantFrom('0s', '0.25s', '1s', '5s', '15s', '3600s', '-1s', '1.5s'),
  fc.record({ seconds: fc.integer({ min: -2, max: 1_000_000 }), nanos: fc.integer({ min: -1, max: 1_000_000_000 }) }, { requiredKeys: [] }),
));
const percent = message({ value: field(fc.double({ min: -10, max: 200, noNaN: true })) });
const fraction = message({ numerator: u32, denominator: field(fc.constantFrom('HUNDRED', 'TEN_THOUSAND', 'MILLION', 'BILLION')) });
const clusterName = field(fc.constantFrom('a', 'b', 'c', ''));
const regex = field(fc.oneof(fc.constantFrom('^/a$', '.*', '(a+)+$', '((', '[', '\\p{L}+', '(?i)abc', 'a{1000}{1000}', '^(?:a|b)*c$', '\\'), fc.string({ maxLength: 16 })));

// ---------------------------------------------------------------- endpoints and clusters

const socketAddress = message({
  address: field(fc.constantFrom('127.0.0.1', '::1', 'localhost', '0.0.0.0', 'example.com', '', '999.1.1.1')),
  port_value: field(fc.integer({ min: -1, max: 70_000 })),
  protocol: field(fc.constantFrom('TCP', 'UDP')),
});
const address = message({ socket_address: socketAddress });

const lbEndpoint = message({
  endpoint: message({ address, hostname: text }),
  health_status: field(fc.constantFrom('HEALTHY', 'UNHEALTHY', 'DRAINING', 'UNKNOWN', 'TIMEOUT', 'DEGRADED')),
  load_balancing_weight: u32,
  metadata: message({ filter_metadata: fc.dictionary(fc.string({ maxLength: 6 }), anyJson, { maxKeys: 2 }) }),
}, ['endpoint']);

export const loadAssignment = message({
  cluster_name: clusterName,
  endpoints: fc.array(message({
    locality: message({ region: text, zone: text, sub_zone: text }),
    lb_endpoints: fc.array(lbEndpoint, { maxLength: 3 }),
    load_balancing_weight: u32,
    priority: field(fc.integer({ min: 0, max: 130 })),
  }), { maxLength: 3 }),
  policy: message({ overprovisioning_factor: u32, drop_overloads: fc.array(message({ category: text, drop_percentage: fraction }), { maxLength: 2 }) }),
});

const thresholds = message({
  priority: field(fc.constantFrom('DEFAULT', 'HIGH', 'LOW')),
  max_connections: u32, max_pending_requests: u32, max_requests: u32, max_retries: u32,
  retry_budget: message({ budget_percent: percent, min_retry_concurrency: u32 }),
  track_remaining: bool,
});

export const cluster = message({
  name: clusterName,
  type: field(fc.constantFrom('STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST', 'BOGUS')),
  lb_policy: field(fc.constantFrom('ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV', 'CLUSTER_PROVIDED', 'ROUND_ROBINN')),
  connect_timeout: duration,
  dns_refresh_rate: duration,
  load_assignment: loadAssignment,
  eds_cluster_config: message({ service_name: clusterName, eds_config: fc.constant({ ads: {} }) }),
  circuit_breakers: message({ thresholds: fc.array(thresholds, { maxLength: 3 }) }),
  outlier_detection: message({
    consecutive_5xx: u32, consecutive_gateway_failure: u32, interval: duration, base_ejection_time: duration,
    max_ejection_time: duration, max_ejection_percent: u32, enforcing_consecutive_5xx: u32, success_rate_minimum_hosts: u32,
    split_external_local_origin_errors: bool, consecutive_local_origin_failure: u32,
  }),
  common_lb_config: message({ healthy_panic_threshold: percent }),
  least_request_lb_config: message({ choice_count: u32 }),
  ring_hash_lb_config: message({ minimum_ring_size: field(fc.integer({ min: 0, max: 4096 })), hash_function: field(fc.constantFrom('XX_HASH', 'MURMUR_HASH_2', 'X')) }),
  http2_protocol_options: field(fc.constant({})),
  metadata: message({ filter_metadata: fc.dictionary(fc.constantFrom('xmesh', 'envoy.lb', 'x'), anyJson, { maxKeys: 2 }) }),
});

// ---------------------------------------------------------------- routes

const stringMatch = message({ exact: text, prefix: text, suffix: text, contains: text, safe_regex: message({ regex }), ignore_case: bool });
const headerMatcher = message({
  name: field(fc.constantFrom('x-a', ':path', ':authority', '', 'X-Upper', 'content-type')),
  exact_match: text, string_match: stringMatch, present_match: bool, safe_regex_match: message({ regex }),
  range_match: message({ start: field(fc.integer()), end: field(fc.integer()) }), invert_match: bool,
});
const routeMatch = message({
  prefix: field(fc.constantFrom('/', '', '/svc', 'no-slash')), path: text, safe_regex: message({ regex }),
  path_separated_prefix: text, case_sensitive: bool, headers: fc.array(headerMatcher, { maxLength: 3 }),
  query_parameters: fc.array(message({ name: text, string_match: stringMatch, present_match: bool }), { maxLength: 2 }),
  grpc: field(fc.constant({})),
  runtime_fraction: message({ default_value: fraction, runtime_key: text }),
});
const retryPolicy = message({
  retry_on: field(fc.constantFrom('5xx', 'connect-failure,reset', 'unavailable,cancelled', 'retriable-status-codes', 'bogus', '')),
  num_retries: u32, per_try_timeout: duration, per_try_idle_timeout: duration,
  retry_back_off: message({ base_interval: duration, max_interval: duration }),
  retriable_status_codes: fc.array(field(fc.integer({ min: 0, max: 1000 })), { maxLength: 3 }),
  retry_host_predicate: fc.array(message({ name: field(fc.constantFrom('envoy.retry_host_predicates.previous_hosts', 'x')) }), { maxLength: 2 }),
  host_selection_retry_max_attempts: field(fc.integer({ min: -1, max: 100 })),
});
const routeAction = message({
  cluster: clusterName,
  weighted_clusters: message({ clusters: fc.array(message({ name: clusterName, weight: field(fc.integer({ min: 0, max: 2 ** 32 })) }), { maxLength: 3 }), total_weight: u32 }),
  timeout: duration, idle_timeout: duration, retry_policy: retryPolicy,
  hash_policy: fc.array(message({ header: message({ header_name: text }), cookie: message({ name: text, ttl: duration }), terminal: bool }), { maxLength: 2 }),
  prefix_rewrite: text, host_rewrite_literal: text,
  max_stream_duration: message({ max_stream_duration: duration, grpc_timeout_header_max: duration, grpc_timeout_header_offset: duration }),
});
const route = message({ name: text, match: routeMatch, route: routeAction, typed_per_filter_config: fc.dictionary(fc.string({ maxLength: 30 }), anyJson, { maxKeys: 1 }) }, ['match']);
const virtualHost = message({
  name: field(fc.constantFrom('v', 'w', '')),
  domains: fc.array(field(fc.constantFrom('*', 'a.com', '*.a.com', 'a.*', 'a.com:80', '')), { maxLength: 3 }),
  routes: fc.array(route, { maxLength: 4 }),
  retry_policy: retryPolicy,
});
export const routeConfig = message({ name: field(fc.constantFrom('r', 'r2', '')), virtual_hosts: fc.array(virtualHost, { maxLength: 3 }), ignore_port_in_host_matching: bool });

// ---------------------------------------------------------------- listeners and filters

const tokenBucket = message({ max_tokens: u32, tokens_per_fill: u32, fill_interval: duration });
const httpFilter = fc.oneof(
  fc.constant({ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }),
  message({
    name: field(fc.constantFrom('envoy.filters.http.local_ratelimit', 'envoy.filters.http.fault', 'envoy.filters.http.router', 'envoy.filters.http.bogus')),
    is_optional: bool,
    typed_config: message({
      '@type': field(fc.constantFrom(TypeUrl.LocalRateLimit, TypeUrl.HttpFault, TypeUrl.Router, 'type.googleapis.com/x.Y')),
      stat_prefix: text, token_bucket: tokenBucket,
      filter_enabled: message({ default_value: fraction }), filter_enforced: message({ default_value: fraction }),
      delay: message({ fixed_delay: duration, percentage: fraction }),
      abort: message({ http_status: field(fc.integer({ min: 0, max: 1000 })), grpc_status: u32, percentage: fraction }),
      max_active_faults: u32,
    }),
  }),
);
const hcm = message({
  '@type': field(fc.constant(TypeUrl.HttpConnectionManager)),
  stat_prefix: text,
  route_config: routeConfig,
  rds: message({ route_config_name: field(fc.constantFrom('r', 'r2', '')), config_source: fc.constant({ ads: {} }) }),
  http_filters: fc.array(httpFilter, { maxLength: 3 }),
  generate_request_id: bool,
  stream_idle_timeout: duration,
});
export const listener = message({
  name: field(fc.constantFrom('l', 'l2', '')),
  address,
  filter_chains: fc.array(message({ filters: fc.array(message({ name: field(fc.constant('envoy.filters.network.http_connection_manager')), typed_config: hcm }), { maxLength: 2 }) }), { maxLength: 2 }),
  api_listener: message({ api_listener: hcm }),
});

// ---------------------------------------------------------------- whole configs

const typed = (arb: fc.Arbitrary<Record<string, Json>>, typeUrl: string) =>
  fc.tuple(arb, fc.oneof({ weight: 9, arbitrary: fc.constant(typeUrl) }, { weight: 1, arbitrary: hostileScalar })).map(([r, t]) => ({ '@type': t, ...r }));
const resource = fc.oneof(
  typed(listener, TypeUrl.Listener), typed(routeConfig, TypeUrl.RouteConfiguration),
  typed(cluster, TypeUrl.Cluster), typed(loadAssignment, TypeUrl.ClusterLoadAssignment),
);

/** A bootstrap, a resource list or a DiscoveryResponse-like object, and now and then anything at all. */
export const envoyConfig: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: message({ static_resources: message({ listeners: fc.array(listener, { maxLength: 2 }), clusters: fc.array(cluster, { maxLength: 3 }) }), node: anyJson, admin: anyJson }, ['static_resources']) },
  { weight: 2, arbitrary: fc.array(resource, { maxLength: 5 }) },
  { weight: 1, arbitrary: message({ version_info: text, resources: fc.array(resource, { maxLength: 5 }) }) },
  { weight: 1, arbitrary: anyJson },
);

// ---------------------------------------------------------------- mutations of real configs

interface Mutation {
  readonly at: number;
  readonly kind: 'replace' | 'delete' | 'unknown' | 'share' | 'deepen' | 'camel' | 'laughs';
  readonly value: Json;
  readonly size: number;
}

export const mutations: fc.Arbitrary<Mutation[]> = fc.array(
  fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('replace', 'delete', 'unknown', 'share', 'deepen', 'camel', 'laughs'),
    value: anyJson,
    size: fc.integer({ min: 2, max: 12 }),
  }) as fc.Arbitrary<Mutation>,
  { minLength: 1, maxLength: 4 },
);

interface Slot {
  readonly parent: Record<string, Json> | Json[];
  readonly key: string | number;
}

function slots(root: Json): Slot[] {
  const out: Slot[] = [];
  const seen = new Set<unknown>();
  const walk = (v: Json) => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    const entries: [string | number, Json][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
    for (const [key, child] of entries) {
      out.push({ parent: v as Record<string, Json>, key });
      walk(child);
    }
  };
  walk(root);
  return out;
}

/** Nested lists `size` wide, `depth` deep, each level one shared object: size^depth values once expanded. */
export function laughs(size: number, depth: number): Json {
  let level: Json = 'lol';
  for (let i = 0; i < depth; i++) level = Array(size).fill(level);
  return level;
}

/** Applies `list` to a deep copy of `base`; may create shared subtrees and cycles (as YAML aliases can). */
export function mutate(base: Json, list: readonly Mutation[]): Json {
  const root = { root: structuredClone(base) } as Record<string, Json>;
  for (const m of list) {
    const all = slots(root['root']);
    if (all.length === 0) break;
    const { parent, key } = all[m.at % all.length]!;
    const p = parent as Record<string | number, Json>;
    switch (m.kind) {
      case 'replace': p[key] = m.value; break;
      case 'delete': if (Array.isArray(parent)) parent.splice(key as number, 1); else delete p[key]; break;
      case 'unknown': if (typeof p[key] === 'object' && p[key] !== null && !Array.isArray(p[key])) (p[key] as Record<string, Json>)['zz_unknown'] = m.value; break;
      case 'share': p[key] = all[(m.at >> 3) % all.length]!.parent; break; // may be an ancestor: a cycle
      case 'deepen': { let v = m.value; for (let i = 0; i < m.size * 12; i++) v = { k: v }; p[key] = v; break; }
      case 'camel': if (!Array.isArray(parent) && typeof key === 'string' && key.includes('_')) {
        const camel = key.replace(/_([a-z])/g, (_s, c: string) => c.toUpperCase());
        p[camel] = p[key];
        if (m.size % 2 === 0) delete p[key]; // else both spellings: a duplicate field
      } break;
      case 'laughs': p[key] = laughs(m.size, m.size); break;
    }
  }
  return root['root'];
}

// ---------------------------------------------------------------- rendering and text

/**
 * YAML flow text for `value`: objects reached more than once get an anchor on first use and an alias
 * after (a cycle becomes a recursive alias), as a YAML writer would emit shared data.
 */
export function toYaml(value: Json): string {
  const refs = new Map<object, number>();
  const count = (v: Json) => {
    if (typeof v !== 'object' || v === null) return;
    const n = refs.get(v) ?? 0;
    refs.set(v, n + 1);
    if (n === 0) for (const child of Array.isArray(v) ? v : Object.values(v)) count(child);
  };
  count(value);
  const anchors = new Map<object, string>();
  const emit = (v: Json): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'number') return Number.isNaN(v) ? '.nan' : v === Infinity ? '.inf' : v === -Infinity ? '-.inf' : String(v);
    if (typeof v === 'string') return JSON.stringify(v);
    if (typeof v !== 'object') return JSON.stringify(String(v));
    const anchor = anchors.get(v);
    if (anchor) return `*${anchor}`;
    let prefix = '';
    if ((refs.get(v) ?? 0) > 1) {
      const name = `a${anchors.size + 1}`;
      anchors.set(v, name);
      prefix = `&${name} `;
    }
    if (Array.isArray(v)) return `${prefix}[${v.map(emit).join(', ')}]`;
    return `${prefix}{${Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => `${JSON.stringify(k)}: ${emit(x)}`).join(', ')}}`;
  };
  return `${emit(value)}\n`;
}

/** Values in `value` with shared subtrees counted each time, up to `budget` (then `budget + 1`). */
function expandedSize(value: Json, budget: number): number {
  let n = 0;
  const walk = (v: Json): boolean => {
    if (++n > budget) return false;
    if (typeof v !== 'object' || v === null) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (!walk(child)) return false;
    return true;
  };
  walk(value);
  return n;
}

/**
 * JSON text, or undefined when the value cannot be JSON text of a sane size: a cycle, a shared subtree
 * that expands to more than 10,000 values (JSON has no aliases: such text is long and slow to parse, and
 * the alias form covers the case), nesting too deep for the engine.
 */
export function toJson(value: Json): string | undefined {
  try {
    return expandedSize(value, 10_000) > 10_000 ? undefined : JSON.stringify(value);
  } catch {
    return undefined;
  }
}

const TEXT_EDITS = ['{', '}', '[', ']', ':', '- ', '&a ', '*a', '\n', '  ', '"', "'", '#', '!!binary ', '\t', '%YAML 1.1\n', '---\n', '? ', '|\n', '>-\n', '\\', '<<: ', '*'];

/** Text with random edits at random offsets. */
export const editedText = (base: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(base, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...TEXT_EDITS), fc.boolean()), { minLength: 1, maxLength: 8 })).map(([t, edits]) => {
    let out = t;
    for (const [at, piece, remove] of edits) {
      const i = out.length === 0 ? 0 : at % out.length;
      out = remove ? out.slice(0, i) + out.slice(i + 1) : out.slice(0, i) + piece + out.slice(i);
    }
    return out;
  });

/** Raw garbage: bytes read as UTF-8 or Latin-1, any code units, and deep or long structure. */
export const garbageText: fc.Arbitrary<string> = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b).toString('utf8')),
  fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.string({ unit: 'binary', maxLength: 512 }),
  fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('[', '{"a":', '- ', '? ', '&a [')).map(([n, open]) => open.repeat(n)),
);
