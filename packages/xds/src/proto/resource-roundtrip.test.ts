/**
 * encode → decode round trips of realistic resources: the decoded JSON must equal the canonical input.
 * Also: non-canonical input (camelCase, "1.5s", explicit defaults) decodes to the canonical form, and
 * bytes written by protobufjs itself (not by encodeResource) decode correctly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadEnvoyProtos } from './load.js';
import { decodeResource, encodeResource } from './resource.js';
import { TypeUrl } from '../type-urls.js';


const CLUSTER = {
  '@type': TypeUrl.Cluster,
  name: 'backend',
  type: 'STRICT_DNS',
  connect_timeout: '1.500s',
  lb_policy: 'LEAST_REQUEST',
  least_request_lb_config: { choice_count: 3 },
  common_lb_config: { healthy_panic_threshold: { value: 40 } },
  dns_lookup_family: 'V4_ONLY',
  circuit_breakers: {
    thresholds: [
      { max_connections: 100, max_pending_requests: 10, max_requests: 200, max_retries: 0 },
      {
        priority: 'HIGH',
        max_requests: 500,
        retry_budget: { budget_percent: { value: 25.5 }, min_retry_concurrency: 2 },
        track_remaining: true,
      },
    ],
  },
  outlier_detection: {
    consecutive_5xx: 3,
    interval: '5s',
    base_ejection_time: '30s',
    max_ejection_percent: 20,
    enforcing_consecutive_5xx: 100,
    success_rate_stdev_factor: 1900,
    max_ejection_time: '300s',
  },
  load_assignment: {
    cluster_name: 'backend',
    endpoints: [
      {
        locality: { region: 'eu-west-1', zone: 'eu-west-1a', sub_zone: 'rack-7' },
        lb_endpoints: [
          {
            endpoint: { address: { socket_address: { address: 'backend-a.internal', port_value: 8080 } }, hostname: 'a' },
            health_status: 'HEALTHY',
            metadata: {
              filter_metadata: {
                'envoy.lb': { canary: true, version: 'v2', weight: 1.5, tags: ['blue', 'green'], extra: { none: null } },
              },
            },
            load_balancing_weight: 5,
          },
        ],
        load_balancing_weight: 3,
      },
      {
        locality: { zone: 'eu-west-1b' },
        lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'backend-b.internal', port_value: 8080 } } } }],
        priority: 1,
      },
    ],
    policy: { drop_overloads: [{ category: 'throttle', drop_percentage: { numerator: 5, denominator: 'MILLION' } }], overprovisioning_factor: 140 },
  },
  typed_extension_protocol_options: {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': TypeUrl.HttpProtocolOptions,
      common_http_protocol_options: { idle_timeout: '60s', max_requests_per_connection: 1000 },
      explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 100 } },
    },
  },
};

const LOCAL_RATE_LIMIT_ROUTE = {
  '@type': TypeUrl.LocalRateLimit,
  stat_prefix: 'per_route',
  token_bucket: { max_tokens: 5, tokens_per_fill: 5, fill_interval: '1s' },
  filter_enabled: { default_value: { numerator: 100 }, runtime_key: 'rl_enabled' },
  filter_enforced: { default_value: { numerator: 50, denominator: 'TEN_THOUSAND' }, runtime_key: 'rl_enforced' },
  descriptors: [{ entries: [{ key: 'client', value: 'mobile' }], token_bucket: { max_tokens: 1, fill_interval: '60s' } }],
};

const LISTENER = {
  '@type': TypeUrl.Listener,
  name: 'egress',
  address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
  filter_chains: [
    {
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': TypeUrl.HttpConnectionManager,
            codec_type: 'HTTP2',
            stat_prefix: 'egress_http',
            // The tracer and request id configs Istio and Envoy's examples send over ADS.
            tracing: {
              random_sampling: { value: 1 },
              provider: { name: 'envoy.tracers.zipkin', typed_config: { '@type': 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig', collector_cluster: 'zipkin', collector_endpoint: '/api/v2/spans', collector_endpoint_version: 'HTTP_JSON', trace_id_128bit: true } },
            },
            request_id_extension: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig', pack_trace_reason: false } },
            route_config: {
              name: 'inline',
              virtual_hosts: [
                {
                  name: 'all',
                  domains: ['*'],
                  routes: [
                    {
                      match: { prefix: '/' },
                      route: { cluster: 'backend', timeout: '2s' },
                      typed_per_filter_config: {
                        'envoy.filters.http.local_ratelimit': LOCAL_RATE_LIMIT_ROUTE,
                        'envoy.filters.http.fault': {
                          '@type': TypeUrl.FilterConfig,
                          config: { '@type': TypeUrl.HttpFault, abort: { grpc_status: 14, percentage: { numerator: 1 } } },
                          is_optional: true,
                        },
                      },
                    },
                  ],
                },
              ],
            },
            http_filters: [
              {
                name: 'envoy.filters.http.local_ratelimit',
                typed_config: { '@type': TypeUrl.LocalRateLimit, stat_prefix: 'http_local_rate_limiter', status: { code: 'TooManyRequests' } },
              },
              {
                name: 'envoy.filters.http.fault',
                typed_config: {
                  '@type': TypeUrl.HttpFault,
                  delay: { fixed_delay: '0.100s', percentage: { numerator: 10 } },
                  abort: { http_status: 503, percentage: { numerator: 5, denominator: 'TEN_THOUSAND' } },
                  headers: [{ name: 'x-fault', present_match: true }],
                  max_active_faults: 100,
                },
              },
              { name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } },
            ],
          },
        },
      ],
    },
  ],
};

const ROUTE_CONFIGURATION = {
  '@type': TypeUrl.RouteConfiguration,
  name: 'api_routes',
  virtual_hosts: [
    {
      name: 'api',
      domains: ['api.example.com', '*.api.example.com'],
      routes: [
        {
          name: 'canary',
          match: {
            safe_regex: { regex: '^/api/v[0-9]+/.*$' },
            headers: [
              { name: 'x-canary', string_match: { exact: 'true' } },
              { name: 'x-tier', string_match: { prefix: 'gold', ignore_case: true }, invert_match: true },
              { name: 'x-build', range_match: { start: '100', end: '9007199254740993' } },
              { name: 'x-absent', present_match: false },
            ],
            grpc: {},
          },
          route: {
            weighted_clusters: { clusters: [{ name: 'stable', weight: 90 }, { name: 'canary', weight: 10 }] },
            timeout: '0s',
            retry_policy: {
              retry_on: '5xx,reset,connect-failure',
              num_retries: 3,
              per_try_timeout: '0.250s',
              retry_back_off: { base_interval: '0.025s', max_interval: '0.250s' },
              retriable_status_codes: [503, 504],
            },
            hash_policy: [
              { header: { header_name: 'x-user' }, terminal: true },
              { cookie: { name: 'sid', ttl: '3600s' } },
              { connection_properties: { source_ip: true } },
            ],
          },
        },
        {
          match: { path: '/v1/Echo', case_sensitive: false },
          direct_response: { status: 404, body: { inline_bytes: 'bm90IGhlcmU=' } },
        },
      ],
    },
  ],
};

const CLUSTER_LOAD_ASSIGNMENT = {
  '@type': TypeUrl.ClusterLoadAssignment,
  cluster_name: 'eds_backend',
  endpoints: [
    {
      locality: { region: 'us-east-1', zone: 'us-east-1a' },
      lb_endpoints: [
        { endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 9000 } } }, load_balancing_weight: 2 },
        { endpoint: { address: { socket_address: { address: '10.0.0.2', port_value: 9000 } } }, health_status: 'DRAINING' },
      ],
      load_balancing_weight: 80,
    },
    {
      locality: { region: 'us-east-1', zone: 'us-east-1b' },
      lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.1.1', port_value: 9000 } } } }],
      load_balancing_weight: 20,
      priority: 1,
    },
  ],
  policy: { overprovisioning_factor: 200, endpoint_stale_after: '30s' },
};

const protos = loadEnvoyProtos();

for (const [name, resource] of Object.entries({ CLUSTER, LISTENER, ROUTE_CONFIGURATION, CLUSTER_LOAD_ASSIGNMENT })) {
  test(`${name} survives encode → decode unchanged`, () => {
    const any = encodeResource(protos, resource);
    assert.equal(any.type_url, resource['@type']);
    assert.ok(any.value.length > 50);
    assert.deepEqual(decodeResource(protos, any), resource);
  });
}

test('encoding is canonical: re-encoding the decoded JSON gives the same bytes', () => {
  const first = encodeResource(protos, LISTENER);
  const second = encodeResource(protos, decodeResource(protos, first));
  assert.deepEqual(Buffer.from(second.value), Buffer.from(first.value));
});

test('non-canonical input decodes to the canonical form', () => {
  const any = encodeResource(protos, {
    '@type': CLUSTER['@type'],
    name: 'c',
    connectTimeout: '0.25s', // camelCase key, short fraction
    lbPolicy: 'ROUND_ROBIN', // enum default: omitted
    perConnectionBufferLimitBytes: 0, // wrapper at 0: kept (it has presence)
    respect_dns_ttl: false, // scalar default: omitted
    circuitBreakers: { thresholds: [{ maxRequests: '7' }] }, // integer as a string
    outlierDetection: null, // null: unset
  });
  assert.deepEqual(decodeResource(protos, any), {
    '@type': CLUSTER['@type'],
    name: 'c',
    connect_timeout: '0.250s',
    per_connection_buffer_limit_bytes: 0,
    circuit_breakers: { thresholds: [{ max_requests: 7 }] },
  });
});

test('bytes written by protobufjs Type.encode from fromObject decode to proto3 JSON', () => {
  const root = protos.root;
  const options = root.lookupType('envoy.extensions.upstreams.http.v3.HttpProtocolOptions');
  const optionsBytes = options.encode(options.fromObject({ common_http_protocol_options: { idle_timeout: { seconds: 90 } } })).finish();
  const Cluster = root.lookupType('envoy.config.cluster.v3.Cluster');
  const message = Cluster.fromObject({
    name: 'independent',
    type: 'EDS',
    eds_cluster_config: { service_name: 'svc', eds_config: { ads: {}, resource_api_version: 'V3' } },
    connect_timeout: { seconds: 2, nanos: 5_000_000 },
    lb_policy: 'RING_HASH',
    ring_hash_lb_config: { minimum_ring_size: { value: '9007199254740993' }, hash_function: 'MURMUR_HASH_2' },
    circuit_breakers: { thresholds: [{ max_connections: { value: 0 }, max_retries: { value: 9 } }] },
    metadata: { filter_metadata: { team: { fields: { owner: { stringValue: 'payments' }, tier: { numberValue: 1 } } } } },
    typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { type_url: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', value: optionsBytes } },
  });
  const bytes = Cluster.encode(message).finish();
  assert.deepEqual(decodeResource(protos, { type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', value: bytes }), {
    '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
    name: 'independent',
    type: 'EDS',
    eds_cluster_config: { service_name: 'svc', eds_config: { ads: {}, resource_api_version: 'V3' } },
    connect_timeout: '2.005s',
    lb_policy: 'RING_HASH',
    ring_hash_lb_config: { minimum_ring_size: '9007199254740993', hash_function: 'MURMUR_HASH_2' },
    circuit_breakers: { thresholds: [{ max_connections: 0, max_retries: 9 }] },
    metadata: { filter_metadata: { team: { owner: 'payments', tier: 1 } } },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        common_http_protocol_options: { idle_timeout: '90s' },
      },
    },
  });
});

test('loads the Envoy and discovery protos once per loader, in well under a few seconds', () => {
  assert.ok(protos.loadMs > 0 && protos.loadMs < 5000, `load took ${protos.loadMs} ms`);
  assert.ok(protos.root.lookupType('envoy.service.discovery.v3.DiscoveryResponse'));
  assert.ok(protos.root.lookupType('envoy.service.discovery.v3.DeltaDiscoveryRequest'));
  assert.ok(protos.root.lookupService('envoy.service.discovery.v3.AggregatedDiscoveryService'));
  assert.notEqual(loadEnvoyProtos().root, protos.root, 'each loader owns its root');
});
