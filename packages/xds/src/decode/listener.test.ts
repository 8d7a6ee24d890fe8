import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Issues, Reader } from './reader.js';
import { decodeListener } from './listener.js';
import { TypeUrl } from '../type-urls.js';
import { DEFAULT_DOWNSTREAM_PROTECTION } from './listener.js';

function decode(input: unknown) {
  const issues = new Issues();
  return { ...decodeListener(Reader.of(input, 'x', issues)!), issues };
}

const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } };
const ROUTES = { virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] };

/** A listener whose single HCM is `hcm` merged over a minimal valid one. */
function withHcm(hcm: Record<string, unknown>, listener: Record<string, unknown> = {}): unknown {
  return {
    name: 'l',
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: { '@type': TypeUrl.HttpConnectionManager, stat_prefix: 'ingress', route_config: ROUTES, http_filters: [ROUTER], ...hcm },
      }],
    }],
    ...listener,
  };
}

const HCM_PATH = 'x.filter_chains[0].filters[0].typed_config';
const dict = (entries: Record<string, unknown> = {}): Record<string, unknown> => Object.assign(Object.create(null), entries);

test('a fully specified listener decodes to the exact model', () => {
  const { listener, inlineRoutes, issues } = decode({
    name: 'ingress',
    address: { socket_address: { address: '127.0.0.1', port_value: 10000, protocol: 'TCP' } },
    per_connection_buffer_limit_bytes: 1024,
    filter_chains: [{
      name: 'main',
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': TypeUrl.HttpConnectionManager,
          codec_type: 'AUTO',
          stat_prefix: 'ingress_http',
          strip_any_host_port: true,
          access_log: [],
          use_remote_address: true,
          xff_num_trusted_hops: 1,
          stream_idle_timeout: '300s',
          generate_request_id: false,
          tracing: { random_sampling: { value: 10 }, provider: { name: 'envoy.tracers.opentelemetry' } },
          route_config: { ...ROUTES },
          http_filters: [
            {
              name: 'envoy.filters.http.fault',
              typed_config: { '@type': TypeUrl.HttpFault, max_active_faults: 3 },
            },
            {
              name: 'envoy.filters.http.local_ratelimit',
              typed_config: {
                '@type': TypeUrl.LocalRateLimit,
                stat_prefix: 'rl',
                token_bucket: { max_tokens: 10, tokens_per_fill: 5, fill_interval: '1s' },
                filter_enabled: { default_value: { numerator: 100 } },
                filter_enforced: { default_value: { numerator: 100 } },
              },
            },
            { name: 'envoy.filters.http.grpc_stats', is_optional: true, typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig' } },
            { name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router, suppress_envoy_headers: true } },
          ],
        },
      }],
    }],
  });
  assert.deepEqual(issues.errors, []);
  const { filterChains, ...own } = listener;
  // One chain, named: its HCM is the listener's own.
  assert.deepEqual(filterChains?.map((c) => [c.name, c.isDefault, c.tls, c.network.kind]), [['main', false, undefined, 'http']]);
  assert.deepEqual(filterChains?.[0]?.network.kind === 'http' ? filterChains[0].network.listener : undefined, own);
  assert.deepEqual(own, {
    name: 'ingress',
    address: { address: '127.0.0.1', port: 10000 },
    statPrefix: 'ingress_http',
    routeConfigName: 'ingress',
    rds: false,
    httpFilters: [
      {
        kind: 'fault',
        name: 'envoy.filters.http.fault',
        config: { delay: undefined, abort: undefined, upstreamCluster: undefined, headers: [], downstreamNodes: [], maxActiveFaults: 3 },
      },
      {
        kind: 'local_ratelimit',
        name: 'envoy.filters.http.local_ratelimit',
        config: {
          statPrefix: 'rl', status: 429, tokenBucket: { maxTokens: 10, tokensPerFill: 5, fillIntervalMs: 1000 },
          filterEnabled: { numerator: 100, denominator: 100 }, filterEnforced: { numerator: 100, denominator: 100 },
          descriptors: [], stage: 0, requestHeadersToAddWhenNotEnforced: [], responseHeadersToAdd: [],
          enableXRatelimitHeaders: false, alwaysConsumeDefaultTokenBucket: true,
          localRateLimitPerDownstreamConnection: false, rateLimitedAsResourceExhausted: false,
        },
      },
      { kind: 'router', name: 'envoy.filters.http.router', config: { suppressEnvoyHeaders: true, respectExpectedRqTimeout: false, strictCheckHeaders: [] } },
    ],
    stripHostPort: 'any',
    generateRequestId: false,
    tracing: { kind: 'w3c', sampling: { client: 100, random: 10, overall: 100 } },
    perConnectionBufferLimitBytes: 1024,
    callerTrust: { useRemoteAddress: true, xffNumTrustedHops: 1, internalCidrs: [] },
    protection: { ...DEFAULT_DOWNSTREAM_PROTECTION, streamIdleTimeoutMs: 300_000 },
  });
  // The inline route config takes the listener's name when it has none.
  assert.equal(inlineRoutes?.name, 'ingress');
  assert.deepEqual(inlineRoutes?.virtualHosts[0]?.routes[0]?.action.clusters, [{ name: 'c', weight: 1, typedPerFilterConfig: dict() }]);
  assert.deepEqual(issues.ignored, [
    `${HCM_PATH}.http_filters[2]`,
    `${HCM_PATH}.codec_type`,
    `${HCM_PATH}.access_log`,
  ]);
});

test('upgrade_configs: CONNECT is an upgrade type like WebSocket (lower-cased), enabled by default', () => {
  const { listener, issues } = decode(withHcm({ upgrade_configs: [{ upgrade_type: 'CONNECT' }, { upgrade_type: 'websocket', enabled: false }] }));
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(listener.upgradeConfigs, [{ upgradeType: 'connect', enabled: true }, { upgradeType: 'websocket', enabled: false }]);
});

test('rds: the route config name comes from rds, config_source is ignored', () => {
  const { listener, inlineRoutes, issues } = decode(withHcm({ route_config: undefined, rds: { route_config_name: 'routes-a', config_source: { ads: {} } } }));
  assert.deepEqual(issues.errors, []);
  assert.equal(listener.routeConfigName, 'routes-a');
  assert.equal(listener.rds, true);
  assert.equal(inlineRoutes, undefined);
  assert.deepEqual(issues.ignored, [`${HCM_PATH}.rds.config_source`]);
});

test('an inline route config keeps its own name; default_filter_chain is used when it is the only chain', () => {
  const input = withHcm({ route_config: { name: 'own', ...ROUTES } }) as Record<string, unknown>;
  const { listener, inlineRoutes, issues } = decode({ name: 'l', default_filter_chain: (input['filter_chains'] as unknown[])[0] });
  assert.deepEqual(issues.errors, []);
  assert.equal(listener.routeConfigName, 'own');
  assert.equal(inlineRoutes?.name, 'own');
  assert.equal(listener.address, undefined);
});

test('api_listener (gRPC xDS clients) carries the HCM directly; camelCase keys are accepted', () => {
  const { listener, issues } = decode({
    name: 'svc.example.com:443',
    apiListener: {
      apiListener: {
        '@type': TypeUrl.HttpConnectionManager,
        statPrefix: 'svc',
        rds: { routeConfigName: 'svc-routes', configSource: { ads: {} } },
        httpFilters: [{ name: 'router', typedConfig: { '@type': TypeUrl.Router } }],
      },
    },
  });
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(listener, {
    name: 'svc.example.com:443', address: undefined, statPrefix: 'svc', routeConfigName: 'svc-routes', rds: true,
    httpFilters: [{ kind: 'router', name: 'router' }], stripHostPort: 'none', generateRequestId: true, tracing: false,
    perConnectionBufferLimitBytes: 1024 * 1024,
    callerTrust: { useRemoteAddress: false, xffNumTrustedHops: 0, internalCidrs: [] },
    protection: DEFAULT_DOWNSTREAM_PROTECTION,
  });
});

test('downstream protections: Envoy\'s defaults when unset', () => {
  assert.deepEqual(decode(withHcm({})).listener.protection, {
    streamIdleTimeoutMs: 300_000, requestTimeoutMs: 0, requestHeadersTimeoutMs: 0, maxRequestHeadersBytes: 60 * 1024,
    idleTimeoutMs: 3_600_000, maxConnectionDurationMs: 0, maxHeadersCount: 100, maxStreamDurationMs: 0, maxRequestsPerConnection: 0,
    headersWithUnderscores: 'allow', allowAbsoluteUrl: true, acceptHttp10: false, defaultHostForHttp10: undefined, http1Trailers: false,
    maxConcurrentStreams: undefined, initialStreamWindowSize: undefined, initialConnectionWindowSize: undefined, hpackTableSize: 4096,
    protocolDetectionTimeoutMs: 15_000, continueOnProtocolDetectionTimeout: false,
  });
});

test('downstream protections: every HCM timeout, limit and protocol option is decoded; tuning Envoy leaves to the codec is ignored', () => {
  const { listener, issues } = decode(withHcm({
    stream_idle_timeout: '10s',
    request_timeout: '20s',
    request_headers_timeout: '2s',
    max_request_headers_kb: 8,
    common_http_protocol_options: {
      idle_timeout: '30s', max_connection_duration: '600s', max_headers_count: 20, max_stream_duration: '60s',
      max_requests_per_connection: 1000, headers_with_underscores_action: 'REJECT_REQUEST',
    },
    http_protocol_options: { allow_absolute_url: false, accept_http_10: true, default_host_for_http_10: 'legacy.svc', enable_trailers: true, header_key_format: { proper_case_words: {} } },
    http2_protocol_options: {
      max_concurrent_streams: 100, initial_stream_window_size: 65_536, initial_connection_window_size: 1_048_576, hpack_table_size: 0,
      max_outbound_frames: 10_000, connection_keepalive: { interval: '30s', timeout: '5s' },
    },
  }, { listener_filters_timeout: '5s', continue_on_listener_filters_timeout: true }));
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(listener.protection, {
    streamIdleTimeoutMs: 10_000, requestTimeoutMs: 20_000, requestHeadersTimeoutMs: 2000, maxRequestHeadersBytes: 8 * 1024,
    idleTimeoutMs: 30_000, maxConnectionDurationMs: 600_000, maxHeadersCount: 20, maxStreamDurationMs: 60_000, maxRequestsPerConnection: 1000,
    headersWithUnderscores: 'reject', allowAbsoluteUrl: false, acceptHttp10: true, defaultHostForHttp10: 'legacy.svc', http1Trailers: true,
    maxConcurrentStreams: 100, initialStreamWindowSize: 65_536, initialConnectionWindowSize: 1_048_576, hpackTableSize: 0,
    protocolDetectionTimeoutMs: 5000, continueOnProtocolDetectionTimeout: true,
  });
  assert.deepEqual(issues.ignored, [
    `${HCM_PATH}.http_protocol_options.header_key_format`,
    `${HCM_PATH}.http2_protocol_options.max_outbound_frames`,
    `${HCM_PATH}.http2_protocol_options.connection_keepalive`,
  ]);
  // Zero disables the timeouts Envoy lets one disable.
  const off = decode(withHcm({ stream_idle_timeout: '0s', common_http_protocol_options: { idle_timeout: '0s' } })).listener.protection;
  assert.equal(off.streamIdleTimeoutMs, 0);
  assert.equal(off.idleTimeoutMs, 0);
});

const OTHER_FILTER = { name: 'envoy.filters.http.grpc_web', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb' } };
const FAULT = { name: 'fault', typed_config: { '@type': TypeUrl.HttpFault } };

const INVALID: { name: string; input: unknown; path: string; fragment: string }[] = [
  { name: 'router missing', input: withHcm({ http_filters: [FAULT] }), path: `${HCM_PATH}.http_filters`, fragment: 'must be the last filter, and there is none' },
  { name: 'no http filters', input: withHcm({ http_filters: [] }), path: `${HCM_PATH}.http_filters`, fragment: 'must be the last filter' },
  { name: 'router not last', input: withHcm({ http_filters: [ROUTER, FAULT] }), path: `${HCM_PATH}.http_filters[0]`, fragment: 'the router must be the last filter' },
  { name: 'unknown HTTP filter', input: withHcm({ http_filters: [OTHER_FILTER, ROUTER] }), path: `${HCM_PATH}.http_filters[0].typed_config.@type`, fragment: 'unsupported HTTP filter "type.googleapis.com/envoy.extensions.filters.' },
  { name: 'filter without typed_config', input: withHcm({ http_filters: [{ name: 'x' }, ROUTER] }), path: `${HCM_PATH}.http_filters[0].typed_config`, fragment: 'is required: no HTTP filter xmesh implements is named "x"' },
  { name: 'only filter without typed_config (no second error about the router)', input: withHcm({ http_filters: [{ name: 'envoy.filters.http.routr' }] }), path: `${HCM_PATH}.http_filters[0].typed_config`, fragment: 'is required' },
  { name: 'optional ext_authz is not skipped', input: withHcm({ http_filters: [{ name: 'authz', is_optional: true, typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz' } }, ROUTER] }), path: `${HCM_PATH}.http_filters[0].typed_config`, fragment: 'one of grpc_service, http_service is required' },
  { name: 'optional filter xmesh does not know that could deny is not skipped', input: withHcm({ http_filters: [{ name: 'jwt', is_optional: true, typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication' } }, ROUTER] }), path: `${HCM_PATH}.http_filters[0].typed_config.@type`, fragment: 'is_optional does not skip it' },
  { name: 'other network filter without typed_config', input: { name: 'l', filter_chains: [{ filters: [{ name: 'envoy.filters.network.redis_proxy' }] }] }, path: 'x.filter_chains[0].filters[0].name', fragment: 'only envoy.filters.network.http_connection_manager and envoy.filters.network.tcp_proxy are supported' },
  { name: 'scoped_routes', input: withHcm({ route_config: undefined, scoped_routes: { name: 's' } }), path: `${HCM_PATH}.scoped_routes`, fragment: 'scoped routes are not implemented' },
  { name: 'rds and route_config', input: withHcm({ rds: { route_config_name: 'r' } }), path: HCM_PATH, fragment: 'got rds and route_config' },
  { name: 'no routes', input: withHcm({ route_config: undefined }), path: HCM_PATH, fragment: 'one of rds, route_config is required' },
  { name: 'unknown tracing field', input: withHcm({ tracing: { sampler: {} } }), path: `${HCM_PATH}.tracing.sampler`, fragment: 'unsupported' },
  { name: 'generate_request_id not a boolean', input: withHcm({ generate_request_id: 'yes' }), path: `${HCM_PATH}.generate_request_id`, fragment: 'must be a boolean' },
  { name: 'no stat_prefix', input: withHcm({ stat_prefix: undefined }), path: `${HCM_PATH}.stat_prefix`, fragment: 'is required' },
  { name: 'two filter chains not told apart', input: { ...(withHcm({}) as object), filter_chains: [(withHcm({}) as { filter_chains: unknown[] }).filter_chains[0], (withHcm({}) as { filter_chains: unknown[] }).filter_chains[0]] }, path: 'x.filter_chains', fragment: 'multiple filter chains with the same matching rules: "filter_chains[0]" and "filter_chains[1]" both match every connection' },
  { name: 'no filter chain', input: { name: 'l' }, path: 'x.filter_chains', fragment: 'needs a filter chain' },
  { name: 'max_request_headers_kb 0', input: withHcm({ max_request_headers_kb: 0 }), path: `${HCM_PATH}.max_request_headers_kb`, fragment: 'in [1, 8192]' },
  { name: 'max_request_headers_kb over 8192', input: withHcm({ max_request_headers_kb: 9000 }), path: `${HCM_PATH}.max_request_headers_kb`, fragment: 'in [1, 8192]' },
  { name: 'negative stream_idle_timeout', input: withHcm({ stream_idle_timeout: '-1s' }), path: `${HCM_PATH}.stream_idle_timeout`, fragment: 'must not be negative' },
  { name: 'max_headers_count 0', input: withHcm({ common_http_protocol_options: { max_headers_count: 0 } }), path: `${HCM_PATH}.common_http_protocol_options.max_headers_count`, fragment: 'in [1, ' },
  { name: 'unknown underscores action', input: withHcm({ common_http_protocol_options: { headers_with_underscores_action: 'SHOUT' } }), path: `${HCM_PATH}.common_http_protocol_options.headers_with_underscores_action`, fragment: 'must be one of' },
  { name: 'unknown common option', input: withHcm({ common_http_protocol_options: { idle: '1s' } }), path: `${HCM_PATH}.common_http_protocol_options.idle`, fragment: 'unsupported' },
  { name: 'max_concurrent_streams 0', input: withHcm({ http2_protocol_options: { max_concurrent_streams: 0 } }), path: `${HCM_PATH}.http2_protocol_options.max_concurrent_streams`, fragment: 'in [1, 2147483647]' },
  { name: 'stream window under 65535', input: withHcm({ http2_protocol_options: { initial_stream_window_size: 1000 } }), path: `${HCM_PATH}.http2_protocol_options.initial_stream_window_size`, fragment: 'in [65535, 2147483647]' },
  { name: 'connection window over 2^31-1', input: withHcm({ http2_protocol_options: { initial_connection_window_size: 2_147_483_648 } }), path: `${HCM_PATH}.http2_protocol_options.initial_connection_window_size`, fragment: 'in [65535, 2147483647]' },
  { name: 'allow_connect', input: withHcm({ http2_protocol_options: { allow_connect: true } }), path: `${HCM_PATH}.http2_protocol_options.allow_connect`, fragment: 'extended CONNECT (RFC 8441' },
  { name: 'custom SETTINGS', input: withHcm({ http2_protocol_options: { custom_settings_parameters: [{ identifier: 8, value: 1 }] } }), path: `${HCM_PATH}.http2_protocol_options.custom_settings_parameters`, fragment: 'not supported' },
  { name: 'allow_chunked_length', input: withHcm({ http_protocol_options: { allow_chunked_length: true } }), path: `${HCM_PATH}.http_protocol_options.allow_chunked_length`, fragment: 'Content-Length and Transfer-Encoding' },
  { name: 'HTTP/1.0 default host without HTTP/1.0', input: withHcm({ http_protocol_options: { default_host_for_http_10: 'h' } }), path: `${HCM_PATH}.http_protocol_options.default_host_for_http_10`, fragment: 'needs accept_http_10' },
  { name: 'negative listener_filters_timeout', input: withHcm({}, { listener_filters_timeout: '-2s' }), path: 'x.listener_filters_timeout', fragment: 'must not be negative' },
  { name: 'other network filter', input: { name: 'l', filter_chains: [{ filters: [{ name: 'redis', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy' } }] }] }, path: 'x.filter_chains[0].filters[0].typed_config.@type', fragment: 'only envoy.filters.network.http_connection_manager and envoy.filters.network.tcp_proxy are supported' },
  { name: 'pipe address', input: withHcm({}, { address: { pipe: { path: '/tmp/s' } } }), path: 'x.address.pipe', fragment: 'only socket addresses' },
  { name: 'port out of range', input: withHcm({}, { address: { socket_address: { address: '0.0.0.0', port_value: 70000 } } }), path: 'x.address.socket_address.port_value', fragment: 'in [0, 65535]' },
  { name: 'disabled filter', input: withHcm({ http_filters: [{ ...FAULT, disabled: true }, ROUTER] }), path: `${HCM_PATH}.http_filters[0].disabled`, fragment: 'is not supported' },
  { name: 'bad filter config inside', input: withHcm({ http_filters: [{ name: 'rl', typed_config: { '@type': TypeUrl.LocalRateLimit, stat_prefix: 'rl', token_bucket: { max_tokens: 0, fill_interval: '1s' } } }, ROUTER] }), path: `${HCM_PATH}.http_filters[0].typed_config.token_bucket.max_tokens`, fragment: 'in [1, ' },
  { name: 'unknown HCM field', input: withHcm({ bogus_field: 1 }), path: `${HCM_PATH}.bogus_field`, fragment: 'unknown or unsupported field' },
  { name: 'escaped slashes redirected', input: withHcm({ path_with_escaped_slashes_action: 'UNESCAPE_AND_REDIRECT' }), path: `${HCM_PATH}.path_with_escaped_slashes_action`, fragment: 'UNESCAPE_AND_REDIRECT is not supported' },
  { name: 'upgrade_configs with upgrade filters', input: withHcm({ upgrade_configs: [{ upgrade_type: 'websocket', filters: [{ name: 'x' }] }] }), path: `${HCM_PATH}.upgrade_configs[0].filters`, fragment: 'upgraded requests run the listener\'s HTTP filters' },
  { name: 'path_normalization_options', input: withHcm({ path_normalization_options: {} }), path: `${HCM_PATH}.path_normalization_options`, fragment: 'not implemented' },
  { name: 'via', input: withHcm({ via: 'proxy-1' }), path: `${HCM_PATH}.via`, fragment: 'no Via header' },
  { name: 'strip_trailing_host_dot', input: withHcm({ strip_trailing_host_dot: true }), path: `${HCM_PATH}.strip_trailing_host_dot`, fragment: 'trailing dot' },
];

for (const { name, input, path, fragment } of INVALID) {
  test(`invalid listener: ${name}`, () => {
    const { errors } = decode(input).issues;
    assert.equal(errors.length, 1, `expected one error, got ${JSON.stringify(errors)}`);
    assert.equal(errors[0]!.path, path);
    assert.ok(errors[0]!.message.includes(fragment), errors[0]!.message);
  });
}

test('errors in the listener, its filters and its inline routes are all reported', () => {
  const { errors } = decode(withHcm({
    stat_prefix: '',
    route_config: { virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, filter_action: {} }] }] },
    http_filters: [ROUTER, OTHER_FILTER],
  }, { address: { socket_address: { port_value: 1 } } })).issues;
  assert.deepEqual(errors.map((e) => e.path), [
    'x.address.socket_address.address',
    `${HCM_PATH}.stat_prefix`,
    `${HCM_PATH}.route_config.virtual_hosts[0].routes[0].filter_action`,
    `${HCM_PATH}.http_filters[1].typed_config.@type`,
    `${HCM_PATH}.http_filters[0]`,
  ]);
});

test('a listener without a name decodes (the snapshot names it, as Envoy does)', () => {
  const { listener, issues } = decode(withHcm({}, { name: undefined }));
  assert.deepEqual(issues.errors, []);
  assert.equal(listener.name, '');
});

test('filters without typed_config are found by their registered name, as Envoy does (envoy-demo.yaml)', () => {
  const { listener, issues } = decode({
    name: 'l',
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': TypeUrl.HttpConnectionManager, stat_prefix: 'in', route_config: ROUTES,
      http_filters: [{ name: 'envoy.filters.http.fault' }, { name: 'envoy.filters.http.router' }],
    } }] }],
  });
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(listener.httpFilters.map((f) => f.kind), ['fault', 'router']);
});

test('filter_chains[].filters given as one mapping is a one-element list (protobuf JSON legacy syntax, dynamic-config-fs lds.yaml)', () => {
  const { listener, issues } = decode({
    name: 'l',
    filter_chains: [{ filters: { name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': TypeUrl.HttpConnectionManager, stat_prefix: 'in', route_config: ROUTES, http_filters: ROUTER,
    } } }],
  });
  assert.deepEqual(issues.errors, []);
  assert.equal(listener.statPrefix, 'in');
  assert.deepEqual(listener.httpFilters.map((f) => f.kind), ['router']);
});

test('an HCM named without typed_config is an HCM with defaults: its required fields are reported', () => {
  const { issues } = decode({ name: 'l', filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager' }] }] });
  assert.deepEqual(issues.errors.map((e) => e.path), [`${HCM_PATH}.stat_prefix`, HCM_PATH, `${HCM_PATH}.http_filters`]);
});

test('a listener whose only network filter is not supported gets that one error, none about its routes', () => {
  const { hasRoutes, issues } = decode({ name: 'l', filter_chains: [{ filters: [{ name: 'redis', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy' } }] }] });
  assert.equal(issues.errors.length, 1);
  assert.equal(hasRoutes, false);
});

test('path normalization: absent when off, else what normalize_path, merge_slashes and the escaped-slashes action say', () => {
  assert.equal(decode(withHcm({ normalize_path: false, merge_slashes: false, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' })).listener.pathNormalization, undefined);
  const { listener, issues } = decode(withHcm({ normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: 'unescape_and_forward' }));
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(listener.pathNormalization, { normalizePath: true, mergeSlashes: true, escapedSlashes: 'UNESCAPE_AND_FORWARD' });
  assert.deepEqual(decode(withHcm({ path_with_escaped_slashes_action: 2 })).listener.pathNormalization, { normalizePath: false, mergeSlashes: false, escapedSlashes: 'REJECT_REQUEST' });
});

test('strip_any_host_port and strip_matching_host_port cannot both be set', () => {
  const { issues } = decode(withHcm({ strip_any_host_port: true, strip_matching_host_port: true, http_filters: [ROUTER] }));
  assert.deepEqual(issues.errors.map((e) => [e.path, e.message]), [[`${HCM_PATH}.strip_any_host_port`, 'cannot be set together with strip_matching_host_port']]);
});

test('metadata.filter_metadata.xmesh.protocol: bolt marks a Bolt listener; other filter_metadata is recorded as ignored', () => {
  const marked = decode(withHcm({}, { metadata: { filter_metadata: { xmesh: { protocol: 'bolt' }, 'envoy.lb': { canary: true } } } }));
  assert.deepEqual(marked.issues.errors, []);
  assert.equal(marked.listener.protocol, 'bolt');
  assert.deepEqual(marked.issues.ignored, ['x.metadata.filter_metadata["envoy.lb"]']);
  const http = decode(withHcm({}, { metadata: { filter_metadata: { xmesh: { protocol: 'http' } } } }));
  assert.equal(http.listener.protocol, undefined);
  assert.equal(decode(withHcm({})).listener.protocol, undefined);
});

test('a bad Bolt marker is an error naming its path', () => {
  const wrong = decode(withHcm({}, { metadata: { filter_metadata: { xmesh: { protocol: 'dubbo', extra: 1 } } } }));
  const paths = wrong.issues.errors.map((e) => e.path);
  assert.ok(paths.includes('x.metadata.filter_metadata.xmesh.protocol'), paths.join(', '));
  assert.ok(paths.includes('x.metadata.filter_metadata.xmesh.extra'), paths.join(', '));
});

test('a UDP listener address is refused by path (by name or number); TCP, the default, is accepted', () => {
  const at = (protocol: unknown) => decode(withHcm({}, { address: { socket_address: { address: '127.0.0.1', port_value: 10000, ...(protocol === undefined ? {} : { protocol }) } } })).issues.errors;
  assert.deepEqual(at(undefined), []);
  assert.deepEqual(at('TCP'), []);
  assert.deepEqual(at('tcp'), []);
  for (const udp of ['UDP', 1]) {
    const errors = at(udp);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.equal(errors[0]!.path, 'x.address.socket_address.protocol');
    assert.match(errors[0]!.message, /UDP listeners are not supported/);
  }
});
