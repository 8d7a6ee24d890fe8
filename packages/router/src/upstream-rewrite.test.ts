// Route rewrites and header mutations as Envoy applies them, from real config shapes through buildSnapshot and the Router.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshError, type Endpoint } from '@xmesh/core';
import { buildSnapshotOrThrow } from '@xmesh/xds';
import { Router } from './router.js';
import type { RouteDecision } from './types.js';
import { RecordHeaders } from './header-mutation.js';
import { canonicalPath } from './path-normalization.js';
import { request } from '../test/fixtures.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const cluster = (name: string) => ({
  name,
  type: 'STATIC',
  load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9000 } } } }] }] },
});

/** A bootstrap with one listener whose HCM is `hcm` (merged) and whose inline route config is `routeConfig`. */
function routerFor(routeConfig: Record<string, unknown>, hcm: Record<string, unknown> = {}): Router {
  return new Router(buildSnapshotOrThrow({
    static_resources: {
      listeners: [{
        name: 'l',
        address: { socket_address: { address: '0.0.0.0', port_value: 10000 } },
        filter_chains: [{ filters: [{ name: 'hcm', typed_config: { '@type': HCM, stat_prefix: 's', http_filters: [ROUTER], route_config: routeConfig, ...hcm } }] }],
      }],
      clusters: [cluster('a'), cluster('b')],
    },
  }));
}

function decide(router: Router, path: string, headers: Record<string, string> = {}): RouteDecision {
  const d = router.route(request('svc', path, headers));
  if (isMeshError(d)) throw d;
  return d;
}

const oneRoute = (route: Record<string, unknown>, vhost: Record<string, unknown> = {}, rc: Record<string, unknown> = {}) => ({
  name: 'rc',
  virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'a' }, ...route }], ...vhost }],
  ...rc,
});

const add = (key: string, value: string, more: Record<string, unknown> = {}) => ({ header: { key, value }, ...more });

test('a route without rewrites or mutations has no UpstreamRewrite: the hot path skips it with one field read', () => {
  assert.equal(decide(routerFor(oneRoute({})), '/x').rewrite, undefined);
});

test('prefix_rewrite replaces the matched prefix and keeps the rest and the query', () => {
  const router = routerFor({
    name: 'rc',
    virtual_hosts: [{
      name: 'vh', domains: ['*'], routes: [
        { match: { prefix: '/api/v1/' }, route: { cluster: 'a', prefix_rewrite: '/' } },
        { match: { path: '/exact' }, route: { cluster: 'a', prefix_rewrite: '/other' } },
        { match: { prefix: '/CI/', case_sensitive: false }, route: { cluster: 'a', prefix_rewrite: '/ci/' } },
        { match: { safe_regex: { regex: '/re/.*' } }, route: { cluster: 'a', prefix_rewrite: '/whole' } },
      ],
    }],
  });
  assert.equal(decide(router, '/api/v1/users?id=7').rewrite!.upstreamPath('/api/v1/users?id=7'), '/users?id=7');
  assert.equal(decide(router, '/exact?q').rewrite!.upstreamPath('/exact?q'), '/other?q');
  assert.equal(decide(router, '/ci/x').rewrite!.upstreamPath('/ci/x'), '/ci/x');
  assert.equal(decide(router, '/Ci/y').rewrite!.upstreamPath('/Ci/y'), '/ci/y');
  assert.equal(decide(router, '/re/z?k=v').rewrite!.upstreamPath('/re/z?k=v'), '/whole?k=v');
});

test('regex_rewrite substitutes every match in the path (RE2 groups), keeps the query, and leaves the path when the result is empty', () => {
  // Modelled on Envoy's route_components.proto regex_rewrite examples.
  const router = routerFor(oneRoute({ route: { cluster: 'a', regex_rewrite: { pattern: { regex: '^/service/([^/]+)(/.*)$' }, substitution: '\\2/instance/\\1' } } }));
  const rewrite = decide(router, '/service/foo/v1/api').rewrite!;
  assert.equal(rewrite.upstreamPath('/service/foo/v1/api?x=1'), '/v1/api/instance/foo?x=1');
  assert.equal(rewrite.upstreamPath('/other'), '/other');
  const everyMatch = decide(routerFor(oneRoute({ route: { cluster: 'a', regex_rewrite: { pattern: { regex: 'one' }, substitution: 'two' } } })), '/').rewrite!;
  assert.equal(everyMatch.upstreamPath('/xxx/one/yyy/one/zzz'), '/xxx/two/yyy/two/zzz');
  const emptied = decide(routerFor(oneRoute({ route: { cluster: 'a', regex_rewrite: { pattern: { regex: '.*' }, substitution: '' } } })), '/').rewrite!;
  assert.equal(emptied.upstreamPath('/keep?q'), '/keep?q');
});

test('request header mutations: weighted cluster first, then route, virtual host, route configuration (the last one evaluated wins)', () => {
  const router = routerFor(oneRoute(
    {
      request_headers_to_add: [add('x-level', 'route', { append: false }), add('x-route', '1')],
      request_headers_to_remove: ['x-drop'],
      route: { weighted_clusters: { clusters: [{ name: 'a', weight: 1, request_headers_to_add: [add('x-level', 'cluster', { append: false }), add('x-order', 'cluster')] }] } },
    },
    { request_headers_to_add: [add('x-level', 'vhost', { append: false }), add('x-order', 'vhost')] },
    { request_headers_to_add: [add('x-level', 'config', { append: false }), add('x-order', 'config')] },
  ));
  const headers: Record<string, string | string[]> = { 'x-drop': 'yes', 'x-order': 'caller' };
  decide(router, '/').rewrite!.requestHeaders(new RecordHeaders(headers), request('svc', '/'));
  assert.deepEqual(headers, { 'x-order': ['caller', 'cluster', 'vhost', 'config'], 'x-level': 'config', 'x-route': '1' });
});

test('most_specific_header_mutations_wins reverses the route levels (the weighted cluster still goes first)', () => {
  const router = routerFor(oneRoute(
    { request_headers_to_add: [add('x-level', 'route', { append: false })] },
    { request_headers_to_add: [add('x-level', 'vhost', { append: false })] },
    { most_specific_header_mutations_wins: true, request_headers_to_add: [add('x-level', 'config', { append: false })] },
  ));
  const headers: Record<string, string | string[]> = {};
  decide(router, '/').rewrite!.requestHeaders(new RecordHeaders(headers), request('svc', '/'));
  assert.deepEqual(headers, { 'x-level': 'route' });
});

test('append actions: each looks at the headers before its level adds anything; empty values need keep_empty_value', () => {
  const router = routerFor(oneRoute({
    request_headers_to_add: [
      add('x-append', 'b'),
      add('x-if-absent', 'new', { append_action: 'ADD_IF_ABSENT' }),
      add('x-absent', 'added', { append_action: 'ADD_IF_ABSENT' }),
      add('x-overwrite-existing', 'new', { append_action: 'OVERWRITE_IF_EXISTS' }),
      add('x-overwrite-missing', 'new', { append_action: 'OVERWRITE_IF_EXISTS' }),
      add('x-set', 'new', { append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }),
      add('x-twice', '1', { append_action: 'ADD_IF_ABSENT' }),
      add('x-twice', '2', { append_action: 'ADD_IF_ABSENT' }),
      add('x-empty', ''),
      add('x-kept-empty', '', { keep_empty_value: true }),
    ],
  }));
  const headers: Record<string, string | string[]> = { 'x-append': 'a', 'x-if-absent': 'old', 'x-overwrite-existing': 'old', 'x-set': 'old' };
  decide(router, '/').rewrite!.requestHeaders(new RecordHeaders(headers), request('svc', '/'));
  assert.deepEqual(headers, {
    'x-append': ['a', 'b'],
    'x-if-absent': 'old',
    'x-absent': 'added',
    'x-overwrite-existing': 'new',
    'x-set': 'new',
    'x-twice': ['1', '2'],
    'x-kept-empty': '',
  });
});

test('%REQ(a?b):n%, %% and %HOSTNAME% in values; %REQ% of a missing header is empty', () => {
  const router = routerFor(oneRoute({
    request_headers_to_add: [add('x-copy', 'id=%REQ(x-id?x-alt):3%;100%%'), add('x-none', '%REQ(x-missing)%'), add('x-path', '%REQ(:path)%')],
    response_headers_to_add: [add('x-echo', '%REQ(x-id)%/%RESP(server)%'), add('x-host', '%HOSTNAME%')],
  }));
  const req = request('svc', '/p?q', { 'x-id': 'abcdef' });
  const headers: Record<string, string | string[]> = { 'x-alt': 'zzz' };
  const rewrite = decide(router, '/p?q').rewrite!;
  rewrite.requestHeaders(new RecordHeaders(headers), req);
  assert.deepEqual(headers, { 'x-alt': 'zzz', 'x-copy': 'id=zzz;100%', 'x-path': '/p?q' });
  const response: Record<string, string | string[]> = { server: 'upstream' };
  rewrite.responseHeaders(new RecordHeaders(response), req);
  assert.equal(response['x-echo'], 'abcdef/upstream');
  assert.ok(typeof response['x-host'] === 'string' && response['x-host'].length > 0);
});

test('host: the route literal beats the weighted cluster\'s; auto_host_rewrite uses the endpoint\'s hostname when it has one; x-forwarded-host on request', () => {
  const endpoint = (hostname?: string): Endpoint => ({
    id: '10.0.0.1:80', host: '10.0.0.1', port: 80, weight: 1, healthStatus: 'HEALTHY', priority: 0,
    locality: { region: '', zone: '', subZone: '' }, localityWeight: undefined, metadata: {}, ...(hostname ? { hostname } : {}),
  });
  const weighted = { weighted_clusters: { clusters: [{ name: 'a', weight: 1, host_rewrite_literal: 'cluster.internal' }] } };
  const clusterOnly = decide(routerFor(oneRoute({ route: weighted })), '/').rewrite!;
  assert.equal(clusterOnly.upstreamAuthority('svc:80', endpoint(), undefined), 'cluster.internal');
  const routeWins = decide(routerFor(oneRoute({ route: { ...weighted, host_rewrite_literal: 'route.internal', append_x_forwarded_host: true } })), '/').rewrite!;
  const headers: Record<string, string | string[]> = {};
  assert.equal(routeWins.upstreamAuthority('svc:80', endpoint(), new RecordHeaders(headers)), 'route.internal');
  assert.deepEqual(headers, { 'x-forwarded-host': 'svc:80' });
  const auto = decide(routerFor(oneRoute({ route: { cluster: 'a', auto_host_rewrite: true } })), '/').rewrite!;
  assert.equal(auto.upstreamAuthority('svc:80', endpoint('service1'), undefined), 'service1');
  assert.equal(auto.upstreamAuthority('svc:80', endpoint(), undefined), 'svc:80', 'no hostname: Host unchanged, as Envoy');
});

test('normalize_path and merge_slashes: /a//b/../c is routed and forwarded as /a/c; the query is untouched', () => {
  const router = routerFor({
    name: 'rc',
    virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { path: '/a/c' }, route: { cluster: 'b' } }, { match: { prefix: '/' }, route: { cluster: 'a' } }] }],
  }, { normalize_path: true, merge_slashes: true });
  const d = decide(router, '/a//b/../c?x=/../y');
  assert.equal(d.cluster, 'b', 'matched against the normalized path');
  assert.equal(d.rewrite!.upstreamPath('/a//b/../c?x=/../y'), '/a/c?x=/../y');
  const plain = decide(routerFor({ name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { path: '/a/c' }, route: { cluster: 'b' } }, { match: { prefix: '/' }, route: { cluster: 'a' } }] }] }), '/a//b/../c');
  assert.equal(plain.cluster, 'a', 'without normalization the path is matched as sent');
  assert.equal(plain.rewrite, undefined);
});

test('escaped slashes: REJECT_REQUEST answers 400, UNESCAPE_AND_FORWARD unescapes before normalization; KEEP_UNCHANGED keeps them', () => {
  const reject = routerFor(oneRoute({}), { path_with_escaped_slashes_action: 'REJECT_REQUEST' });
  const refused = reject.route(request('svc', '/a%2Fb'));
  assert.ok(isMeshError(refused));
  assert.equal(refused.httpStatus, 400);
  const forward = routerFor(oneRoute({}), { path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD', normalize_path: true });
  assert.equal(decide(forward, '/a%2f..%5Cb').rewrite!.upstreamPath('/a%2f..%5Cb'), '/b');
  assert.equal(decide(routerFor(oneRoute({}), { merge_slashes: true }), '/a%2Fb').rewrite!.upstreamPath('/a%2Fb//c'), '/a%2Fb/c');
});

test('canonicalPath: dot segments (also escaped), unreserved escapes decoded, others upper-cased, invalid escapes refused', () => {
  assert.equal(canonicalPath('/a/./b/../../c/'), '/c/');
  assert.equal(canonicalPath('/a/%2e%2E/b'), '/b');
  assert.equal(canonicalPath('/%7euser/%41%2f'), '/~user/A%2F');
  assert.equal(canonicalPath('/../../x'), '/x');
  assert.equal(canonicalPath('/a b'), '/a%20b');
  assert.equal(canonicalPath('/a%zz'), undefined);
  assert.equal(canonicalPath('relative'), '/relative');
});
