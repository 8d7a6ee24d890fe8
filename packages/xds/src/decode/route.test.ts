import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Issues, Reader } from './reader.js';
import { decodeRouteConfig } from './route.js';
import { compileRegex } from './matchers.js';
import { TypeUrl } from '../type-urls.js';
import type { RouteConfig } from '../model.js';

/** A map as the decoders build them: null prototype. */
const dict = (entries: Record<string, unknown> = {}): Record<string, unknown> => Object.assign(Object.create(null), entries);

function decode(input: unknown): { rc: RouteConfig; issues: Issues } {
  const issues = new Issues();
  const rc = decodeRouteConfig(Reader.of(input, 'x', issues)!);
  return { rc, issues };
}

/** A route config with one vhost and one route whose `match`/`route` are merged with the given parts. */
function oneRoute(route: Record<string, unknown>, vhost: Record<string, unknown> = {}): unknown {
  return {
    name: 'rc',
    virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' }, ...route }], ...vhost }],
  };
}

function errorsOf(input: unknown): { path: string; message: string }[] {
  return decode(input).issues.errors;
}

function assertOneError(input: unknown, path: string, fragment: string | RegExp): void {
  const errors = errorsOf(input);
  assert.equal(errors.length, 1, `expected one error, got ${JSON.stringify(errors)}`);
  assert.equal(errors[0]!.path, path);
  if (typeof fragment === 'string') assert.ok(errors[0]!.message.includes(fragment), errors[0]!.message);
  else assert.match(errors[0]!.message, fragment);
}

test('defaults are Envoy\'s: timeout 15 s, case_sensitive, no retries without a policy', () => {
  const { rc, issues } = decode(oneRoute({}));
  assert.deepEqual(issues.errors, []);
  const route = rc.virtualHosts[0]!.routes[0]!;
  assert.equal(route.name, 'vh/0');
  assert.deepEqual(route.match, {
    path: { kind: 'prefix', value: '/' }, caseSensitive: true, headers: [], queryParameters: [], runtimeFraction: undefined, grpcOnly: false,
  });
  assert.deepEqual(route.action, {
    clusters: [{ name: 'c', weight: 1, typedPerFilterConfig: dict() }],
    totalWeight: 1,
    timeoutMs: 15_000,
    idleTimeoutMs: undefined,
    retryPolicy: undefined,
    hashPolicy: [],
    rateLimits: [],
    prefixRewrite: undefined,
    hostRewriteLiteral: undefined,
    maxStreamDurationMs: undefined,
    grpcTimeoutHeaderMaxMs: undefined,
    grpcTimeoutHeaderOffsetMs: undefined,
  });
});

test('stat_prefix names the route\'s stats; without it the route keeps none', () => {
  assert.equal(decode(oneRoute({ stat_prefix: 'checkout' })).rc.virtualHosts[0]!.routes[0]!.statPrefix, 'checkout');
  assert.equal(decode(oneRoute({})).rc.virtualHosts[0]!.routes[0]!.statPrefix, undefined);
  assert.equal(decode(oneRoute({ stat_prefix: '' })).rc.virtualHosts[0]!.routes[0]!.statPrefix, undefined);
  assert.deepEqual(errorsOf(oneRoute({ stat_prefix: 7 })).map((e) => e.path), ['x.virtual_hosts[0].routes[0].stat_prefix']);
});

test('retry policy defaults: num_retries 1, back-off 25/250 ms, host selection 1', () => {
  const { rc, issues } = decode(oneRoute({ route: { cluster: 'c', retry_policy: { retry_on: '5xx' } } }));
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(rc.virtualHosts[0]!.routes[0]!.action.retryPolicy, {
    retryOn: ['5xx'],
    numRetries: 1,
    perTryTimeoutMs: undefined,
    perTryIdleTimeoutMs: undefined,
    backOff: { baseIntervalMs: 25, maxIntervalMs: 250 },
    retriableStatusCodes: [],
    retriableHeaders: [],
    hostSelectionRetryMaxAttempts: 1,
    avoidPreviousHosts: false,
  });
});

test('max_interval defaults to 10 × base_interval; timeout 0 means none', () => {
  const { rc, issues } = decode(oneRoute({ route: { cluster: 'c', timeout: '0s', retry_policy: { retry_back_off: { base_interval: '0.1s' } } } }));
  assert.deepEqual(issues.errors, []);
  const action = rc.virtualHosts[0]!.routes[0]!.action;
  assert.equal(action.timeoutMs, 0);
  assert.deepEqual(action.retryPolicy!.backOff, { baseIntervalMs: 100, maxIntervalMs: 1000 });
});

test('the route retry policy replaces the virtual host one; without one the vhost policy applies', () => {
  const { rc, issues } = decode({
    name: 'rc',
    virtual_hosts: [{
      name: 'vh',
      domains: ['a'],
      retry_policy: { retry_on: 'reset', num_retries: 4 },
      routes: [
        { match: { prefix: '/a' }, route: { cluster: 'c', retry_policy: { retry_on: 'unavailable' } } },
        { match: { prefix: '/' }, route: { cluster: 'c' } },
      ],
    }],
  });
  assert.deepEqual(issues.errors, []);
  const [a, b] = rc.virtualHosts[0]!.routes;
  assert.deepEqual(a!.action.retryPolicy!.retryOn, ['unavailable']);
  assert.equal(a!.action.retryPolicy!.numRetries, 1);
  assert.deepEqual(b!.action.retryPolicy!.retryOn, ['reset']);
  assert.equal(b!.action.retryPolicy!.numRetries, 4);
  assert.equal(b!.action.retryPolicy, rc.virtualHosts[0]!.retryPolicy);
});

test('request_mirror_policies decode with Envoy\'s defaults; exactly one of cluster and cluster_header, refused by path otherwise', () => {
  const { rc, issues } = decode(oneRoute({
    route: {
      cluster: 'c',
      request_mirror_policies: [
        { cluster: 'm1' },
        { cluster: 'm2', runtime_fraction: { default_value: { numerator: 30, denominator: 'HUNDRED' }, runtime_key: 'k' }, trace_sampled: false, disable_shadow_host_suffix_append: true },
      ],
    },
  }));
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(rc.virtualHosts[0]!.routes[0]!.action.requestMirrorPolicies, [
    { cluster: 'm1', runtimeFraction: undefined, traceSampled: undefined, disableShadowHostSuffixAppend: false },
    { cluster: 'm2', runtimeFraction: { numerator: 30, denominator: 100 }, traceSampled: false, disableShadowHostSuffixAppend: true },
  ]);
  assert.equal(decode(oneRoute({})).rc.virtualHosts[0]!.routes[0]!.action.requestMirrorPolicies, undefined);
  const at = 'x.virtual_hosts[0].routes[0].route';
  assertOneError(oneRoute({ route: { cluster: 'c', request_mirror_policies: [{ runtime_fraction: { default_value: { numerator: 1 } } }] } }), `${at}.request_mirror_policies[0].cluster`, 'required');
  const byHeader = decode(oneRoute({ route: { cluster: 'c', request_mirror_policies: [{ cluster_header: 'X-Mirror-Cluster' }] } }));
  assert.deepEqual(byHeader.issues.errors, []);
  assert.deepEqual(byHeader.rc.virtualHosts[0]!.routes[0]!.action.requestMirrorPolicies, [
    { cluster: '', clusterHeader: 'x-mirror-cluster', runtimeFraction: undefined, traceSampled: undefined, disableShadowHostSuffixAppend: false },
  ]);
  assertOneError(oneRoute({ route: { cluster: 'c', request_mirror_policies: [{ cluster: 'm', cluster_header: 'x-mirror' }] } }), `${at}.request_mirror_policies[0].cluster_header`, 'only one of cluster ("m") and cluster_header');
  assertOneError(oneRoute({ route: { cluster: 'c', request_mirror_policies: [{ cluster_header: 'x mirror' }] } }), `${at}.request_mirror_policies[0].cluster_header`, 'is not a header name');
  assertOneError(oneRoute({ route: { cluster: 'c', request_mirror_policies: [{ cluster_header: 'x-mirror\n' }] } }), `${at}.request_mirror_policies[0].cluster_header`, 'is not a header name');
});

test('connect_matcher with a route terminating CONNECT (connect_config), as envoy/configs/terminate_http1_connect.yaml', () => {
  const { rc, issues } = decode(oneRoute({ match: { connect_matcher: {}, headers: [{ name: 'x-tenant', present_match: true }] }, route: { cluster: 'tcp', upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] } }));
  assert.deepEqual(issues.errors, []);
  const route = rc.virtualHosts[0]!.routes[0]!;
  assert.deepEqual(route.match.path, { kind: 'connect' });
  assert.equal(route.match.headers.length, 1);
  assert.deepEqual(route.action.upgradeConfigs, [{ upgradeType: 'connect', enabled: true, terminateConnect: true }]);
});

test('hedge_policy: hedge_on_per_try_timeout decoded on routes and virtual hosts, the route\'s policy replacing its virtual host\'s whole; fields Envoy never reads accepted at defaults only', () => {
  const vhAt = 'x.virtual_hosts[0].hedge_policy';
  const routeAt = 'x.virtual_hosts[0].routes[0].route.hedge_policy';
  const hedgeOf = (input: unknown) => {
    const { rc, issues } = decode(input);
    assert.deepEqual(issues.errors, []);
    return rc.virtualHosts[0]!.routes[0]!.action.hedgeOnPerTryTimeout ?? false;
  };
  assert.equal(hedgeOf(oneRoute({ route: { cluster: 'c', hedge_policy: { hedge_on_per_try_timeout: true } } })), true);
  assert.equal(hedgeOf(oneRoute({}, { hedge_policy: { hedge_on_per_try_timeout: true } })), true, 'a route without a hedge_policy takes its virtual host\'s');
  // Envoy's buildHedgePolicy: a route's own hedge_policy wins, even one that leaves the field at false.
  assert.equal(hedgeOf(oneRoute({ route: { cluster: 'c', hedge_policy: {} } }, { hedge_policy: { hedge_on_per_try_timeout: true } })), false);
  assert.equal(hedgeOf(oneRoute({ route: { cluster: 'c', hedge_policy: { hedge_on_per_try_timeout: true } } }, { hedge_policy: { hedge_on_per_try_timeout: false } })), true);
  assert.equal(hedgeOf(oneRoute({})), false);
  const defaults = { initial_requests: 1, additional_request_chance: { numerator: 0, denominator: 'HUNDRED' }, hedge_on_per_try_timeout: false };
  const accepted = decode(oneRoute({ route: { cluster: 'c', hedge_policy: defaults } }, { hedge_policy: { initial_requests: { value: 1 } } }));
  assert.deepEqual(accepted.issues.errors, []);
  for (const field of ['initial_requests', 'additional_request_chance']) assert.ok(accepted.issues.ignored.includes(`${routeAt}.${field}`), field);
  assert.ok(!accepted.issues.ignored.includes(`${routeAt}.hedge_on_per_try_timeout`), 'implemented, not ignored');
  assert.ok(accepted.issues.ignored.includes(`${vhAt}.initial_requests`));
  // Fields Envoy never reads: any value but the default is refused, so no mode differs from an Envoy sidecar silently.
  assertOneError(oneRoute({}, { hedge_policy: { initial_requests: 2 } }), `${vhAt}.initial_requests`, 'Envoy\'s router never reads it');
  assertOneError(oneRoute({ route: { cluster: 'c', hedge_policy: { additional_request_chance: { numerator: 10 } } } }), `${routeAt}.additional_request_chance`, 'Envoy\'s router never reads it');
  assertOneError(oneRoute({ route: { cluster: 'c', hedge_policy: { initial_requests: 2, hedge_on_per_try_timeout: true } } }), `${routeAt}.initial_requests`, 'Envoy\'s router never reads it');
  assertOneError(oneRoute({ route: { cluster: 'c', hedge_policy: { initial_requests: 0 } } }), `${routeAt}.initial_requests`, 'in [1, ');
  assertOneError(oneRoute({ route: { cluster: 'c', hedge_policy: { hedge_on_per_try_timeout: 'yes' } } }), `${routeAt}.hedge_on_per_try_timeout`, 'must be a boolean');
  assertOneError(oneRoute({ route: { cluster: 'c', hedge_policy: { hedge_on_retry: true } } }), `${routeAt}.hedge_on_retry`, 'unknown or unsupported field');
});

test('request_mirror_policies of a route, else its virtual host, else the route config: the most specific non-empty list, not merged', () => {
  const input = {
    name: 'rc',
    request_mirror_policies: [{ cluster: 'from-config' }],
    virtual_hosts: [
      {
        name: 'a', domains: ['a'], request_mirror_policies: [{ cluster: 'from-vhost' }],
        routes: [
          { match: { prefix: '/own' }, route: { cluster: 'c', request_mirror_policies: [{ cluster: 'own' }] } },
          { match: { prefix: '/empty' }, route: { cluster: 'c', request_mirror_policies: [] } },
          { match: { prefix: '/' }, route: { cluster: 'c' } },
        ],
      },
      { name: 'b', domains: ['b'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] },
    ],
  };
  const { rc, issues } = decode(input);
  assert.deepEqual(issues.errors, []);
  const clustersOf = (vh: number, route: number) => rc.virtualHosts[vh]!.routes[route]!.action.requestMirrorPolicies?.map((p) => p.cluster);
  assert.deepEqual(clustersOf(0, 0), ['own']);
  assert.deepEqual(clustersOf(0, 1), ['from-vhost'], 'an empty list is no list');
  assert.deepEqual(clustersOf(0, 2), ['from-vhost']);
  assert.deepEqual(clustersOf(1, 0), ['from-config']);
  assert.deepEqual(rc.virtualHosts[0]!.requestMirrorPolicies?.map((p) => p.cluster), ['from-vhost']);
  assert.equal(rc.virtualHosts[1]!.requestMirrorPolicies, undefined);
  assert.deepEqual(rc.requestMirrorPolicies?.map((p) => p.cluster), ['from-config']);
});

test('per_request_buffer_limit_bytes: the route\'s, else the virtual host\'s, else none (the listener\'s limit then applies)', () => {
  const { rc, issues } = decode({
    name: 'rc',
    virtual_hosts: [
      {
        name: 'vh',
        domains: ['a'],
        per_request_buffer_limit_bytes: 2048,
        routes: [
          { match: { prefix: '/a' }, route: { cluster: 'c' }, per_request_buffer_limit_bytes: { value: 16 } },
          { match: { prefix: '/' }, route: { cluster: 'c' } },
        ],
      },
      { name: 'plain', domains: ['b'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] },
    ],
  });
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(issues.ignored, []);
  const [a, b] = rc.virtualHosts[0]!.routes;
  assert.equal(a!.perRequestBufferLimitBytes, 16);
  assert.equal(b!.perRequestBufferLimitBytes, 2048);
  assert.equal(rc.virtualHosts[1]!.routes[0]!.perRequestBufferLimitBytes, undefined);
  assertOneError(oneRoute({ per_request_buffer_limit_bytes: -1 }), 'x.virtual_hosts[0].routes[0].per_request_buffer_limit_bytes', 'uint32');
});

const FULL_ROUTE_CONFIG = {
  name: 'main',
  validate_clusters: false,
  ignore_port_in_host_matching: true,
  response_headers_to_add: [{ header: { key: 'x', value: 'y' } }],
  virtual_hosts: [
    {
      name: 'api',
      domains: ['api.example.com', '*.api.example.com', 'api.*'],
      request_headers_to_add: [{ header: { key: 'x', value: 'y' } }],
      retry_policy: { retry_on: 'connect-failure', num_retries: 2 },
      rate_limits: [{ actions: [{ remote_address: {} }] }],
      typed_per_filter_config: {
        'envoy.filters.http.fault': { '@type': TypeUrl.FilterConfig, disabled: true },
      },
      routes: [
        {
          name: 'orders',
          match: {
            safe_regex: { google_re2: {}, regex: '/orders/[0-9]+' },
            case_sensitive: false,
            headers: [
              { name: 'X-Tenant', exact_match: 'acme' },
              { name: 'x-re', safe_regex_match: { regex: 'a+' } },
              { name: 'x-range', range_match: { start: 10, end: '20' } },
              { name: 'x-present', present_match: true },
              { name: 'x-prefix', prefix_match: 'pre' },
              { name: 'x-suffix', suffix_match: 'suf' },
              { name: 'x-contains', contains_match: 'mid' },
              { name: 'x-string', string_match: { suffix: '.com', ignore_case: true }, invert_match: true, treat_missing_header_as_empty: true },
            ],
            query_parameters: [
              { name: 'debug', present_match: true },
              { name: 'v', string_match: { exact: '2' } },
            ],
            runtime_fraction: { default_value: { numerator: 25, denominator: 'TEN_THOUSAND' }, runtime_key: 'r' },
            grpc: {},
          },
          route: {
            weighted_clusters: {
              clusters: [
                { name: 'orders-v1', weight: 90 },
                {
                  name: 'orders-v2',
                  weight: { value: 10 },
                  typed_per_filter_config: {
                    'envoy.filters.http.fault': {
                      '@type': TypeUrl.HttpFault,
                      abort: { http_status: 503, percentage: { numerator: 5 } },
                    },
                  },
                },
              ],
              total_weight: 100,
            },
            timeout: '2.5s',
            idle_timeout: { seconds: 30 },
            retry_policy: {
              retry_on: '5xx, reset,retriable-status-codes,unavailable',
              num_retries: { value: 3 },
              per_try_timeout: '0.5s',
              per_try_idle_timeout: '0.2s',
              retry_back_off: { base_interval: '0.01s', max_interval: '1s' },
              retriable_status_codes: [409, 429],
              retriable_headers: [{ name: 'X-Retry', exact_match: 'yes' }],
              host_selection_retry_max_attempts: '3',
              retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
            },
            hash_policy: [
              { header: { header_name: 'X-User' } },
              { cookie: { name: 'session', ttl: '60s', path: '/' }, terminal: true },
              { connection_properties: { source_ip: true } },
              { query_parameter: { name: 'shard' } },
            ],
            rate_limits: [
              {
                stage: 1,
                actions: [
                  { request_headers: { header_name: 'X-Client', descriptor_key: 'client', skip_if_absent: true } },
                  { remote_address: {} },
                  { generic_key: { descriptor_value: 'orders' } },
                  { generic_key: { descriptor_value: 'v', descriptor_key: 'k' } },
                  { header_value_match: { descriptor_value: 'post', headers: [{ name: ':method', exact_match: 'POST' }] } },
                  { header_value_match: { descriptor_key: 'hk', descriptor_value: 'get', expect_match: false, headers: [{ name: ':method', exact_match: 'GET' }] } },
                  { destination_cluster: {} },
                  { source_cluster: {} },
                ],
              },
            ],
            prefix_rewrite: '/v2/orders',
            host_rewrite_literal: 'orders.internal',
            max_stream_duration: { max_stream_duration: '60s', grpc_timeout_header_max: '0s', grpc_timeout_header_offset: '0.05s' },
            max_internal_redirects: 3,
          },
          typed_per_filter_config: {
            'envoy.filters.http.local_ratelimit': {
              '@type': TypeUrl.LocalRateLimit,
              stat_prefix: 'orders',
              token_bucket: { max_tokens: 10, fill_interval: '1s' },
            },
          },
          decorator: { operation: 'orders' },
        },
        { match: { path: '/exact' }, route: { cluster: 'c' } },
        { match: { path_separated_prefix: '/api' }, route: { cluster: 'c' } },
      ],
    },
  ],
};

test('a fully specified route configuration decodes to the exact model', () => {
  const { rc, issues } = decode(FULL_ROUTE_CONFIG);
  assert.deepEqual(issues.errors, []);
  const str = (kind: 'exact' | 'prefix' | 'suffix' | 'contains', value: string, ignoreCase = false) => ({ kind, value, ignoreCase });
  const header = (name: string, match: unknown) => ({ name, match, invertMatch: false, treatMissingHeaderAsEmpty: false });
  const routeRetry = {
    retryOn: ['5xx', 'reset', 'retriable-status-codes', 'unavailable'],
    numRetries: 3,
    perTryTimeoutMs: 500,
    perTryIdleTimeoutMs: 200,
    backOff: { baseIntervalMs: 10, maxIntervalMs: 1000 },
    retriableStatusCodes: [409, 429],
    retriableHeaders: [header('x-retry', { kind: 'string', match: str('exact', 'yes') })],
    hostSelectionRetryMaxAttempts: 3,
    avoidPreviousHosts: true,
  };
  const vhostRetry = {
    retryOn: ['connect-failure'], numRetries: 2, perTryTimeoutMs: undefined, perTryIdleTimeoutMs: undefined,
    backOff: { baseIntervalMs: 25, maxIntervalMs: 250 }, retriableStatusCodes: [], retriableHeaders: [],
    hostSelectionRetryMaxAttempts: 1, avoidPreviousHosts: false,
  };
  const plainAction = {
    clusters: [{ name: 'c', weight: 1, typedPerFilterConfig: dict() }], totalWeight: 1, timeoutMs: 15_000, idleTimeoutMs: undefined,
    retryPolicy: vhostRetry, hashPolicy: [], rateLimits: [], prefixRewrite: undefined, hostRewriteLiteral: undefined,
    maxStreamDurationMs: undefined, grpcTimeoutHeaderMaxMs: undefined, grpcTimeoutHeaderOffsetMs: undefined,
  };
  const plainMatch = { caseSensitive: true, headers: [], queryParameters: [], runtimeFraction: undefined, grpcOnly: false };
  const addXy = { add: [{ name: 'x', value: 'y', format: [{ kind: 'text', text: 'y' }], appendAction: 'APPEND_IF_EXISTS_OR_ADD', keepEmptyValue: false }], remove: [] };
  const expected = {
    name: 'main',
    ignorePortInHostMatching: true,
    responseHeaders: addXy,
    virtualHosts: [
      {
        name: 'api',
        domains: ['api.example.com', '*.api.example.com', 'api.*'],
        requestHeaders: addXy,
        retryPolicy: vhostRetry,
        rateLimits: [{ stage: 0, actions: [{ kind: 'remote_address' }] }],
        typedPerFilterConfig: dict({ 'envoy.filters.http.fault': { kind: 'disabled' } }),
        routes: [
          {
            name: 'orders',
            match: {
              path: { kind: 'safe_regex', regex: '/orders/[0-9]+' },
              caseSensitive: false,
              headers: [
                header('x-tenant', { kind: 'string', match: str('exact', 'acme') }),
                header('x-re', { kind: 'string', match: { kind: 'safe_regex', regex: 'a+' } }),
                header('x-range', { kind: 'range', start: 10, end: 20 }),
                header('x-present', { kind: 'present', present: true }),
                header('x-prefix', { kind: 'string', match: str('prefix', 'pre') }),
                header('x-suffix', { kind: 'string', match: str('suffix', 'suf') }),
                header('x-contains', { kind: 'string', match: str('contains', 'mid') }),
                { name: 'x-string', match: { kind: 'string', match: str('suffix', '.com', true) }, invertMatch: true, treatMissingHeaderAsEmpty: true },
              ],
              queryParameters: [
                { name: 'debug', match: undefined },
                { name: 'v', match: str('exact', '2') },
              ],
              runtimeFraction: { numerator: 25, denominator: 10_000 },
              grpcOnly: true,
            },
            action: {
              clusters: [
                { name: 'orders-v1', weight: 90, typedPerFilterConfig: dict() },
                {
                  name: 'orders-v2',
                  weight: 10,
                  typedPerFilterConfig: dict({
                    'envoy.filters.http.fault': {
                      kind: 'fault',
                      config: {
                        delay: undefined,
                        abort: { kind: 'http', httpStatus: 503, percentage: { numerator: 5, denominator: 100 } },
                        upstreamCluster: undefined, headers: [], downstreamNodes: [], maxActiveFaults: undefined,
                      },
                    },
                  }),
                },
              ],
              totalWeight: 100,
              timeoutMs: 2500,
              idleTimeoutMs: 30_000,
              retryPolicy: routeRetry,
              hashPolicy: [
                { kind: 'header', headerName: 'x-user', terminal: false },
                { kind: 'cookie', name: 'session', ttlMs: 60_000, path: '/', terminal: true },
                { kind: 'source_ip', terminal: false },
                { kind: 'query_parameter', name: 'shard', terminal: false },
              ],
              rateLimits: [{
                stage: 1,
                actions: [
                  { kind: 'request_headers', headerName: 'x-client', descriptorKey: 'client', skipIfAbsent: true },
                  { kind: 'remote_address' },
                  { kind: 'generic_key', descriptorKey: 'generic_key', descriptorValue: 'orders' },
                  { kind: 'generic_key', descriptorKey: 'k', descriptorValue: 'v' },
                  { kind: 'header_value_match', descriptorKey: 'header_match', descriptorValue: 'post', expectMatch: true, headers: [header(':method', { kind: 'string', match: str('exact', 'POST') })] },
                  { kind: 'header_value_match', descriptorKey: 'hk', descriptorValue: 'get', expectMatch: false, headers: [header(':method', { kind: 'string', match: str('exact', 'GET') })] },
                  { kind: 'destination_cluster' },
                  { kind: 'source_cluster' },
                ],
              }],
              prefixRewrite: '/v2/orders',
              hostRewriteLiteral: 'orders.internal',
              maxStreamDurationMs: 60_000,
              grpcTimeoutHeaderMaxMs: 0,
              grpcTimeoutHeaderOffsetMs: 50,
            },
            typedPerFilterConfig: dict({
              'envoy.filters.http.local_ratelimit': {
                kind: 'local_ratelimit',
                config: {
                  statPrefix: 'orders', status: 429, tokenBucket: { maxTokens: 10, tokensPerFill: 1, fillIntervalMs: 1000 },
                  filterEnabled: { numerator: 0, denominator: 100 }, filterEnforced: { numerator: 0, denominator: 100 },
                  descriptors: [], stage: 0, requestHeadersToAddWhenNotEnforced: [], responseHeadersToAdd: [],
                  enableXRatelimitHeaders: false, alwaysConsumeDefaultTokenBucket: true,
                  localRateLimitPerDownstreamConnection: false, rateLimitedAsResourceExhausted: false,
                },
              },
            }),
          },
          { name: 'api/1', match: { path: { kind: 'path', value: '/exact' }, ...plainMatch }, action: plainAction, typedPerFilterConfig: dict() },
          { name: 'api/2', match: { path: { kind: 'path_separated_prefix', value: '/api' }, ...plainMatch }, action: plainAction, typedPerFilterConfig: dict() },
        ],
      },
    ],
  };
  assert.deepEqual(rc, expected);
  assert.deepEqual(issues.ignored, [
    'x.virtual_hosts[0].routes[0].match.safe_regex.google_re2',
    'x.virtual_hosts[0].routes[0].match.runtime_fraction.runtime_key',
    'x.virtual_hosts[0].routes[0].route.weighted_clusters.total_weight',
    'x.virtual_hosts[0].routes[0].route.max_internal_redirects',
    'x.virtual_hosts[0].routes[0].decorator',
    'x.validate_clusters',
  ]);
});

test('camelCase keys and protobuf-decoded shapes (durations, wrappers, enum numbers) are accepted', () => {
  const { rc, issues } = decode({
    name: 'rc',
    virtualHosts: [{
      name: 'vh',
      domains: ['*'],
      routes: [{
        match: { prefix: '/', caseSensitive: { value: false }, runtimeFraction: { defaultValue: { numerator: 3, denominator: 2 } } },
        route: {
          weightedClusters: { clusters: [{ name: 'a', weight: { value: 1 } }, { name: 'b', weight: 3 }] },
          timeout: { seconds: '1', nanos: 500_000_000 },
          retryPolicy: { retryOn: 'gateway-error', numRetries: { value: 0 }, retryBackOff: { baseInterval: { nanos: 5_000_000 } } },
          maxStreamDuration: { grpcTimeoutHeaderMax: { seconds: 10 } },
        },
      }],
    }],
  });
  assert.deepEqual(issues.errors, []);
  const route = rc.virtualHosts[0]!.routes[0]!;
  assert.equal(route.match.caseSensitive, false);
  assert.deepEqual(route.match.runtimeFraction, { numerator: 3, denominator: 1_000_000 });
  assert.deepEqual(route.action.clusters.map((c) => [c.name, c.weight]), [['a', 1], ['b', 3]]);
  assert.equal(route.action.totalWeight, 4);
  assert.equal(route.action.timeoutMs, 1500);
  assert.equal(route.action.retryPolicy!.numRetries, 0);
  assert.deepEqual(route.action.retryPolicy!.backOff, { baseIntervalMs: 5, maxIntervalMs: 50 });
  assert.equal(route.action.grpcTimeoutHeaderMaxMs, 10_000);
});

test('compileRegex compiles RE2 with full-match semantics and rejects backreferences', () => {
  const re = compileRegex('/orders/[0-9]+');
  assert.equal(re.matches('/orders/12'), true);
  assert.equal(re.matches('/orders/12/x'), false);
  assert.throws(() => compileRegex('(a)\\1'), /invalid escape sequence/);
});

const R = 'x.virtual_hosts[0].routes[0]';

const INVALID: { name: string; input: unknown; path: string; fragment: string | RegExp }[] = [
  { name: 'invalid regex', input: oneRoute({ match: { safe_regex: { regex: '[a-' } } }), path: `${R}.match.safe_regex.regex`, fragment: 'invalid RE2 regex: ' },
  { name: 'backreference regex', input: oneRoute({ match: { safe_regex: { regex: '(a)\\1' } } }), path: `${R}.match.safe_regex.regex`, fragment: 'invalid RE2 regex' },
  { name: 'lookahead in a header regex', input: oneRoute({ match: { prefix: '/', headers: [{ name: 'h', safe_regex_match: { regex: 'a(?=b)' } }] } }), path: `${R}.match.headers[0].safe_regex_match.regex`, fragment: 'invalid RE2 regex' },
  { name: 'two path specifiers', input: oneRoute({ match: { prefix: '/', path: '/a' } }), path: `${R}.match`, fragment: 'got prefix and path' },
  { name: 'no path specifier', input: oneRoute({ match: {} }), path: `${R}.match`, fragment: 'one of prefix, path, safe_regex, path_separated_prefix, connect_matcher is required' },
  { name: 'path_separated_prefix ending in /', input: oneRoute({ match: { path_separated_prefix: '/api/' } }), path: `${R}.match.path_separated_prefix`, fragment: 'not end with "/"' },
  { name: 'no domains', input: oneRoute({}, { domains: [] }), path: 'x.virtual_hosts[0].domains', fragment: 'at least one domain' },
  { name: 'weighted total 0', input: oneRoute({ route: { weighted_clusters: { clusters: [{ name: 'a', weight: 0 }, { name: 'b' }] } } }), path: `${R}.route.weighted_clusters.clusters`, fragment: 'sum to more than 0' },
  { name: 'negative weight', input: oneRoute({ route: { weighted_clusters: { clusters: [{ name: 'a', weight: -1 }, { name: 'b', weight: 1 }] } } }), path: `${R}.route.weighted_clusters.clusters[0].weight`, fragment: 'must be a uint32' },
  { name: 'cluster and weighted_clusters', input: oneRoute({ route: { cluster: 'a', weighted_clusters: { clusters: [{ name: 'b', weight: 1 }] } } }), path: `${R}.route`, fragment: 'got cluster and weighted_clusters' },
  { name: 'cluster_header', input: oneRoute({ route: { cluster_header: 'x-cluster' } }), path: `${R}.route.cluster_header`, fragment: 'is not supported' },
  { name: 'retry_on typo', input: oneRoute({ route: { cluster: 'c', retry_policy: { retry_on: '5xxx,reset' } } }), path: `${R}.route.retry_policy.retry_on`, fragment: 'unknown retry condition "5xxx"' },
  { name: 'max_interval < base_interval', input: oneRoute({ route: { cluster: 'c', retry_policy: { retry_back_off: { base_interval: '1s', max_interval: '0.5s' } } } }), path: `${R}.route.retry_policy.retry_back_off.max_interval`, fragment: 'must be at least base_interval (1000ms)' },
  { name: 'a retry host predicate other than previous_hosts', input: oneRoute({ route: { cluster: 'c', retry_policy: { retry_host_predicate: [{ name: 'envoy.retry_host_predicates.omit_canary_hosts' }] } } }), path: `${R}.route.retry_policy.retry_host_predicate[0].name`, fragment: 'unsupported retry host predicate "envoy.retry_host_predicates.omit_canary_hosts"' },
  { name: 'back-off without base_interval', input: oneRoute({ route: { cluster: 'c', retry_policy: { retry_back_off: { max_interval: '1s' } } } }), path: `${R}.route.retry_policy.retry_back_off.base_interval`, fragment: 'is required' },
  { name: 'retriable status code 600', input: oneRoute({ route: { cluster: 'c', retry_policy: { retriable_status_codes: [503, 600] } } }), path: `${R}.route.retry_policy.retriable_status_codes[1]`, fragment: 'in [100, 599]' },
  { name: 'filter_action', input: { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, filter_action: {} }] }] }, path: `${R}.filter_action`, fragment: 'only "route", "redirect" and "direct_response" actions are supported' },
  { name: 'direct_response without status', input: { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: {} }] }] }, path: `${R}.direct_response.status`, fragment: 'is required' },
  { name: 'direct_response status out of range', input: { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 99 } }] }] }, path: `${R}.direct_response.status`, fragment: '200' },
  { name: 'direct_response body over max_direct_response_body_size_bytes', input: { name: 'rc', max_direct_response_body_size_bytes: 4, virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'hello' } } }] }] }, path: `${R}.direct_response.body`, fragment: 'more than max_direct_response_body_size_bytes (4)' },
  { name: 'direct_response body_format', input: { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body_format: { text_format: 'x' } } }] }] }, path: `${R}.direct_response.body_format`, fragment: 'formatted bodies are not implemented' },
  { name: 'redirect with path_redirect and prefix_rewrite', input: { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, redirect: { path_redirect: '/b', prefix_rewrite: '/c' } }] }] }, path: `${R}.redirect`, fragment: 'only one of path_redirect, prefix_rewrite, regex_rewrite' },
  { name: 'redirect regex_rewrite with a group the pattern lacks', input: { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, redirect: { regex_rewrite: { pattern: { regex: '^/a' }, substitution: '\\1' } } }] }] }, path: `${R}.redirect.regex_rewrite.substitution`, fragment: 'refers to group' },
  { name: 'no action', input: { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' } }] }] }, path: R, fragment: 'one of route, redirect, direct_response is required' },
  { name: 'max_grpc_timeout', input: oneRoute({ route: { cluster: 'c', max_grpc_timeout: '1s' } }), path: `${R}.route.max_grpc_timeout`, fragment: 'use max_stream_duration' },
  { name: 'filter_state hash policy', input: oneRoute({ route: { cluster: 'c', hash_policy: [{ filter_state: { key: 'k' } }] } }), path: `${R}.route.hash_policy[0].filter_state`, fragment: 'is not supported' },
  { name: 'per-route local_ratelimit without token_bucket', input: oneRoute({ typed_per_filter_config: { rl: { '@type': TypeUrl.LocalRateLimit, stat_prefix: 's' } } }), path: `${R}.typed_per_filter_config.rl.token_bucket`, fragment: 'is required in a per-route' },
  { name: 'unsupported rate limit action', input: oneRoute({ route: { cluster: 'c', rate_limits: [{ actions: [{ metadata: {} }] }] } }), path: `${R}.route.rate_limits[0].actions[0].metadata`, fragment: 'is not supported' },
  { name: 'rate limit without actions', input: oneRoute({ route: { cluster: 'c', rate_limits: [{ stage: 1 }] } }), path: `${R}.route.rate_limits[0].actions`, fragment: 'at least one action' },
  { name: 'rate limit stage 11', input: oneRoute({ route: { cluster: 'c', rate_limits: [{ stage: 11, actions: [{ remote_address: {} }] }] } }), path: `${R}.route.rate_limits[0].stage`, fragment: 'in [0, 10]' },
  { name: 'empty prefix_match', input: oneRoute({ match: { prefix: '/', headers: [{ name: 'h', prefix_match: '' }] } }), path: `${R}.match.headers[0].prefix_match`, fragment: 'must not be empty' },
  { name: 'unknown route field', input: oneRoute({ bogus: 1 }), path: `${R}.bogus`, fragment: 'unknown or unsupported field "bogus"' },
  { name: 'negative timeout', input: oneRoute({ route: { cluster: 'c', timeout: '-1s' } }), path: `${R}.route.timeout`, fragment: 'must not be negative' },
  { name: 'timeout beyond Duration range (was Infinity)', input: oneRoute({ route: { cluster: 'c', timeout: `${'9'.repeat(400)}s` } }), path: `${R}.route.timeout`, fragment: 'seconds within ±315576000000' },
  { name: 'timeout one second beyond Duration range', input: oneRoute({ route: { cluster: 'c', timeout: '315576000001s' } }), path: `${R}.route.timeout`, fragment: 'seconds within ±315576000000' },
  { name: 'timeout nanos of 1e9 or more', input: oneRoute({ route: { cluster: 'c', timeout: { seconds: 1, nanos: 5_000_000_000_000 } } }), path: `${R}.route.timeout`, fragment: 'nanos within ±999999999' },
  { name: 'timeout seconds and nanos of opposite signs', input: oneRoute({ route: { cluster: 'c', timeout: { seconds: 1, nanos: -5 } } }), path: `${R}.route.timeout`, fragment: 'with the sign of seconds' },
];

INVALID.push({ name: 'RDS route config without a name', input: { virtual_hosts: [] }, path: 'x.name', fragment: 'is required' });

// Header mutations and rewrites: Envoy's own refusals, and what xmesh does not implement, each at its path.
const hdr = (key: string, value: string, more: Record<string, unknown> = {}) => ({ header: { key, value }, ...more });
INVALID.push(
  { name: 'adding a pseudo-header', input: oneRoute({ request_headers_to_add: [hdr(':path', '/x')] }), path: `${R}.request_headers_to_add[0].header.key`, fragment: 'the pseudo-header ":path" may not be modified' },
  { name: 'adding host', input: oneRoute({}, { request_headers_to_add: [hdr('Host', 'x')] }), path: 'x.virtual_hosts[0].request_headers_to_add[0].header.key', fragment: '"host" may not be modified' },
  { name: 'removing host', input: oneRoute({ request_headers_to_remove: ['x-a', 'host'] }), path: `${R}.request_headers_to_remove[1]`, fragment: '"host" may not be removed' },
  { name: 'append and append_action', input: oneRoute({ response_headers_to_add: [hdr('x', 'y', { append: false, append_action: 'ADD_IF_ABSENT' })] }), path: `${R}.response_headers_to_add[0].append_action`, fragment: 'cannot be set together with the deprecated "append"' },
  { name: 'unknown append_action', input: oneRoute({ response_headers_to_add: [hdr('x', 'y', { append_action: 'PREPEND' })] }), path: `${R}.response_headers_to_add[0].append_action`, fragment: 'must be one of' },
  { name: 'unimplemented value command', input: oneRoute({ request_headers_to_add: [hdr('x-ip', '%DOWNSTREAM_REMOTE_ADDRESS%')] }), path: `${R}.request_headers_to_add[0].header.value`, fragment: 'uses the substitution command %DOWNSTREAM_REMOTE_ADDRESS%, which xmesh does not implement' },
  { name: 'unescaped percent', input: oneRoute({ request_headers_to_add: [hdr('x-p', '100%')] }), path: `${R}.request_headers_to_add[0].header.value`, fragment: 'unescaped "%"' },
  { name: 'REQ without a name', input: oneRoute({ request_headers_to_add: [hdr('x-p', '%REQ()%')] }), path: `${R}.request_headers_to_add[0].header.value`, fragment: 'needs a header name' },
  { name: 'weighted cluster removing a pseudo-header', input: oneRoute({ route: { weighted_clusters: { clusters: [{ name: 'a', weight: 1, request_headers_to_remove: [':authority'] }] } } }), path: `${R}.route.weighted_clusters.clusters[0].request_headers_to_remove[0]`, fragment: 'may not be removed' },
  { name: 'prefix_rewrite and regex_rewrite', input: oneRoute({ route: { cluster: 'c', prefix_rewrite: '/a', regex_rewrite: { pattern: { regex: 'x' }, substitution: 'y' } } }), path: `${R}.route.regex_rewrite`, fragment: 'cannot be set together with prefix_rewrite' },
  { name: 'regex_rewrite naming a missing group', input: oneRoute({ route: { cluster: 'c', regex_rewrite: { pattern: { regex: '^/(a)/(b)$' }, substitution: '/\\3' } } }), path: `${R}.route.regex_rewrite.substitution`, fragment: 'refers to group \\3, but the pattern has 2 groups' },
  { name: 'regex_rewrite with an invalid pattern', input: oneRoute({ route: { cluster: 'c', regex_rewrite: { pattern: { regex: '(a' }, substitution: 'b' } } }), path: `${R}.route.regex_rewrite.pattern.regex`, fragment: 'invalid RE2 regex' },
  { name: 'host_rewrite_literal and auto_host_rewrite', input: oneRoute({ route: { cluster: 'c', host_rewrite_literal: 'a', auto_host_rewrite: true } }), path: `${R}.route`, fragment: 'got host_rewrite_literal and auto_host_rewrite' },
  { name: 'connect_config on a WebSocket upgrade', input: oneRoute({ route: { cluster: 'c', upgrade_configs: [{ upgrade_type: 'websocket', connect_config: {} }] } }), path: `${R}.route.upgrade_configs[0].connect_config`, fragment: 'is for CONNECT only, not the "websocket" upgrade' },
  { name: 'connect_config with a PROXY protocol header', input: oneRoute({ route: { cluster: 'c', upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: { proxy_protocol_config: { version: 'V2' } } }] } }), path: `${R}.route.upgrade_configs[0].connect_config.proxy_protocol_config`, fragment: 'PROXY protocol header' },
  { name: 'connect_config allow_post', input: oneRoute({ route: { cluster: 'c', upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: { allow_post: true } }] } }), path: `${R}.route.upgrade_configs[0].connect_config.allow_post`, fragment: 'POST requests are not terminated' },
  { name: 'connect_matcher on a route that forwards CONNECT', input: oneRoute({ match: { connect_matcher: {} }, route: { cluster: 'c', upgrade_configs: [{ upgrade_type: 'CONNECT' }] } }), path: `${R}.match.connect_matcher`, fragment: 'forwarding CONNECT requests to the upstream is not implemented' },
  { name: 'connect_matcher with a field', input: oneRoute({ match: { connect_matcher: { x: 1 } }, route: { cluster: 'c', upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] } }), path: `${R}.match.connect_matcher.x`, fragment: 'unknown' },
  { name: 'internal redirects handled', input: oneRoute({ route: { cluster: 'c', internal_redirect_action: 'HANDLE_INTERNAL_REDIRECT' } }), path: `${R}.route.internal_redirect_action`, fragment: 'internal redirects are not followed' },
  { name: 'require_tls', input: oneRoute({}, { require_tls: 'ALL' }), path: 'x.virtual_hosts[0].require_tls', fragment: 'redirect plaintext requests to https' },
);

for (const { name, input, path, fragment } of INVALID) {
  test(`invalid: ${name}`, () => assertOneError(input, path, fragment));
}

test('header mutations, rewrites and their Envoy defaults decode on every level', () => {
  const { rc, issues } = decode({
    name: 'rc',
    most_specific_header_mutations_wins: true,
    request_headers_to_add: [hdr('X-Global', 'g')],
    virtual_hosts: [{
      name: 'vh',
      domains: ['*'],
      response_headers_to_remove: ['Server'],
      routes: [{
        match: { prefix: '/api/' },
        request_headers_to_add: [
          hdr('x-a', '1'),
          hdr('x-b', '%REQ(x-in?x-alt):4%-%%-%HOSTNAME%', { append: false }),
          hdr('x-c', '', { append_action: 'ADD_IF_ABSENT', keep_empty_value: true }),
          hdr('x-d', '2', { append_action: 3 }),
        ],
        route: {
          weighted_clusters: { clusters: [{ name: 'a', weight: 1, host_rewrite_literal: 'a.internal', response_headers_to_add: [hdr('x-w', 'a')] }] },
          regex_rewrite: { pattern: { google_re2: {}, regex: '^/api/(v\\d)/(.*)$' }, substitution: '/\\2?version=\\1' },
          auto_host_rewrite: true,
          append_x_forwarded_host: true,
          internal_redirect_action: 'PASS_THROUGH_INTERNAL_REDIRECT',
        },
      }],
    }],
  });
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(rc.requestHeaders, { add: [{ name: 'x-global', value: 'g', format: [{ kind: 'text', text: 'g' }], appendAction: 'APPEND_IF_EXISTS_OR_ADD', keepEmptyValue: false }], remove: [] });
  assert.equal(rc.mostSpecificHeaderMutationsWins, true);
  const vh = rc.virtualHosts[0]!;
  assert.deepEqual(vh.responseHeaders, { add: [], remove: ['server'] });
  const route = vh.routes[0]!;
  assert.deepEqual(route.requestHeaders!.add.map((h) => [h.name, h.appendAction, h.keepEmptyValue]), [
    ['x-a', 'APPEND_IF_EXISTS_OR_ADD', false],
    ['x-b', 'OVERWRITE_IF_EXISTS_OR_ADD', false],
    ['x-c', 'ADD_IF_ABSENT', true],
    ['x-d', 'OVERWRITE_IF_EXISTS', false],
  ]);
  assert.deepEqual(route.requestHeaders!.add[1]!.format, [
    { kind: 'request_header', names: ['x-in', 'x-alt'], maxLength: 4 },
    { kind: 'text', text: '-%-' },
    { kind: 'hostname' },
  ]);
  assert.deepEqual(route.action.regexRewrite, { regex: '^/api/(v\\d)/(.*)$', substitution: '/\\2?version=\\1' });
  assert.equal(route.action.autoHostRewrite, true);
  assert.equal(route.action.appendXForwardedHost, true);
  const entry = route.action.clusters[0]!;
  assert.equal(entry.hostRewriteLiteral, 'a.internal');
  assert.deepEqual(entry.responseHeaders!.add.map((h) => h.name), ['x-w']);
});

test('a per-filter config of a filter xmesh does not implement is ignored: only the filter itself, in a chain, is refused', () => {
  const { rc, issues } = decode(oneRoute({ typed_per_filter_config: { 'envoy.filters.http.lua': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute', name: 'script' } } }));
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(issues.ignored, ['x.virtual_hosts[0].routes[0].typed_per_filter_config.envoy.filters.http.lua']);
  assert.deepEqual(Object.keys(rc.virtualHosts[0]!.routes[0]!.typedPerFilterConfig), []);
});

test('a domain with "*" in the middle, or more than one "*", is a domain as Envoy reads it (exact unless it starts or ends with "*")', () => {
  const { rc, issues } = decode(oneRoute({}, { domains: ['a.*.foo', '*.*.foo', 'foo.*.*'] }));
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(rc.virtualHosts[0]!.domains, ['a.*.foo', '*.*.foo', 'foo.*.*']);
});

test('a domain appearing twice across the vhosts of one route config is an error', () => {
  const errors = errorsOf({
    name: 'rc',
    virtual_hosts: [
      { name: 'a', domains: ['*', 'foo.com'], routes: [] },
      { name: 'b', domains: ['FOO.com', '*'], routes: [] },
    ],
  });
  assert.deepEqual(errors, [
    { path: 'x.virtual_hosts[1].domains[0]', message: 'duplicate domain "FOO.com" (first at x.virtual_hosts[0].domains[1])' },
    { path: 'x.virtual_hosts[1].domains[1]', message: 'duplicate domain "*" (first at x.virtual_hosts[0].domains[0])' },
  ]);
});

test('several errors in one input are all reported', () => {
  const errors = errorsOf({
    name: 'rc',
    virtual_hosts: [{
      name: 'vh',
      domains: ['*', '*'],
      routes: [
        { match: { safe_regex: { regex: '(x' } }, route: { cluster: 'c', retry_policy: { retry_on: 'oops' } } },
        { match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: 0 }] }, max_grpc_timeout: '1s' } },
      ],
    }],
  });
  assert.deepEqual(errors.map((e) => e.path), [
    'x.virtual_hosts[0].domains[1]',
    'x.virtual_hosts[0].routes[0].match.safe_regex.regex',
    'x.virtual_hosts[0].routes[0].route.retry_policy.retry_on',
    'x.virtual_hosts[0].routes[1].route.max_grpc_timeout',
    'x.virtual_hosts[0].routes[1].route.weighted_clusters.clusters',
  ]);
});

test('header names are lower-cased and a header matcher without a specifier means present', () => {
  const { rc, issues } = decode(oneRoute({ match: { prefix: '/', headers: [{ name: 'X-Thing' }, { name: 'x-gone', present_match: false }] } }));
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(rc.virtualHosts[0]!.routes[0]!.match.headers.map((h) => [h.name, h.match]), [
    ['x-thing', { kind: 'present', present: true }],
    ['x-gone', { kind: 'present', present: false }],
  ]);
});

test('FilterConfig may wrap a fault or local_ratelimit config; a disabled one wins over its config', () => {
  const { rc, issues } = decode(oneRoute({
    typed_per_filter_config: {
      a: { '@type': TypeUrl.FilterConfig, config: { '@type': TypeUrl.HttpFault, delay: { fixed_delay: '1s' } } },
      b: { '@type': TypeUrl.FilterConfig, disabled: true, config: { '@type': TypeUrl.HttpFault } },
      c: { '@type': TypeUrl.FilterConfig, is_optional: true, config: { '@type': 'type.googleapis.com/some.Other' } },
    },
  }));
  assert.deepEqual(issues.errors, []);
  const overrides = rc.virtualHosts[0]!.routes[0]!.typedPerFilterConfig;
  assert.deepEqual(Object.keys(overrides), ['a', 'b']);
  assert.deepEqual(overrides['a'], {
    kind: 'fault',
    config: {
      delay: { kind: 'fixed', delayMs: 1000, percentage: { numerator: 0, denominator: 100 } },
      abort: undefined, upstreamCluster: undefined, headers: [], downstreamNodes: [], maxActiveFaults: undefined,
    },
  });
  assert.deepEqual(overrides['b'], { kind: 'disabled' });
  assert.deepEqual(issues.ignored, [`${R}.typed_per_filter_config.c.config`]);
});

test('an empty exact_match matches any value of a present header; string_match exact "" only the empty value', () => {
  const { rc, issues } = decode(oneRoute({
    match: { prefix: '/', headers: [{ name: 'x-a', exact_match: '' }, { name: 'x-b', string_match: { exact: '' } }, { name: 'x-c', exact_match: 'v' }] },
  }));
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(rc.virtualHosts[0]!.routes[0]!.match.headers.map((h) => h.match), [
    { kind: 'string', match: { kind: 'prefix', value: '', ignoreCase: false } },
    { kind: 'string', match: { kind: 'exact', value: '', ignoreCase: false } },
    { kind: 'string', match: { kind: 'exact', value: 'v', ignoreCase: false } },
  ]);
});

test('Duration edges: "-0s" is 0 (not -0), the largest Duration is accepted', () => {
  const timeoutOf = (timeout: unknown) => {
    const { rc, issues } = decode(oneRoute({ route: { cluster: 'c', timeout } }));
    assert.deepEqual(issues.errors, []);
    return rc.virtualHosts[0]!.routes[0]!.action.timeoutMs;
  };
  assert.ok(Object.is(timeoutOf('-0s'), 0));
  assert.ok(Object.is(timeoutOf({ seconds: '-0', nanos: 0 }), 0));
  assert.equal(timeoutOf('315576000000s'), 315_576_000_000_000);
  assert.equal(timeoutOf({ seconds: 2, nanos: 999_999_999 }), 2999.999999);
});

test('range_match accepts the whole int64 range (INT64_MAX is a common open upper bound)', () => {
  const { rc, issues } = decode(oneRoute({
    match: { prefix: '/', headers: [{ name: 'x-n', range_match: { start: '-9223372036854775808', end: '9223372036854775807' } }] },
  }));
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(rc.virtualHosts[0]!.routes[0]!.match.headers[0]!.match, { kind: 'range', start: -(2 ** 63), end: 2 ** 63 });
  assert.deepEqual(
    errorsOf(oneRoute({ match: { prefix: '/', headers: [{ name: 'x-n', range_match: { start: 0, end: '1e3' } }] } })).map((e) => e.path),
    [`${R}.match.headers[0].range_match.end`],
  );
});

test('retry policy fields that would change where or when a retry goes are refused with their path', () => {
  const { issues } = decode({
    name: 'rc',
    virtual_hosts: [{
      name: 'v', domains: ['*'], routes: [{
        match: { prefix: '/' },
        route: {
          cluster: 'c',
          retry_policy: {
            retry_on: '5xx',
            retry_priority: { name: 'envoy.retry_priorities.previous_priorities' },
            rate_limited_retry_back_off: { reset_headers: [{ name: 'retry-after' }] },
          },
        },
      }],
    }],
  });
  assert.deepEqual(issues.errors.map((e) => e.path), [
    'x.virtual_hosts[0].routes[0].route.retry_policy.retry_priority',
    'x.virtual_hosts[0].routes[0].route.retry_policy.rate_limited_retry_back_off',
  ]);
});

test('route priority: HIGH is kept, DEFAULT (name or number) is the absence of one', () => {
  const route = (priority: unknown) => decode({ name: 'rc', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c', priority } }] }] });
  assert.equal(route('HIGH').rc.virtualHosts[0]!.routes[0]!.action.priority, 'high');
  assert.equal(route(1).rc.virtualHosts[0]!.routes[0]!.action.priority, 'high');
  assert.equal('priority' in route('DEFAULT').rc.virtualHosts[0]!.routes[0]!.action, false);
  assert.deepEqual(route('URGENT').issues.errors.map((e) => e.path), ['x.virtual_hosts[0].routes[0].route.priority']);
});
