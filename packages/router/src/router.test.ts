import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GrpcStatus, MeshError, hasCode } from '@xmesh/core';
import { Router } from './router.js';
import type { RouteDecision } from './types.js';
import { header, listener, request, route, routeConfig, seededRandom, snapshot, vhost } from '../test/fixtures.js';

function decided(result: RouteDecision | MeshError): RouteDecision {
  if (result instanceof MeshError) assert.fail(`expected a decision, got ${result.code}: ${result.message}`);
  return result;
}

test('weighted clusters split 80/20 within ±3 % over 5 000 routes', () => {
  const snap = snapshot([routeConfig('rc', [vhost('v', ['*'], [route('r', {}, { stable: 80, canary: 20 })])])]);
  const router = new Router(snap, { random: seededRandom(7) });
  let canary = 0;
  for (let i = 0; i < 5000; i++) if (decided(router.route(request('svc'))).cluster === 'canary') canary++;
  assert.ok(Math.abs(canary / 5000 - 0.2) <= 0.03, `canary share ${canary / 5000}`);
});

test('a weighted pick uses one draw and respects the cumulative boundaries', () => {
  const snap = snapshot([routeConfig('rc', [vhost('v', ['*'], [route('r', {}, { a: 1, zero: 0, b: 3 })])])]);
  let draws = 0;
  let next = 0;
  const router = new Router(snap, { random: () => (draws++, next) });
  next = 0.2499;
  assert.equal(decided(router.route(request('svc'))).cluster, 'a');
  next = 0.25;
  assert.equal(decided(router.route(request('svc'))).cluster, 'b');
  next = 0.9999;
  assert.equal(decided(router.route(request('svc'))).cluster, 'b');
  assert.equal(draws, 3);
});

test('a header route sends x-canary traffic to the canary, the rest to stable', () => {
  const canaryRoute = route(
    'canary',
    { headers: [header('x-canary', { kind: 'string', match: { kind: 'exact', value: 'true', ignoreCase: false } })] },
    'reviews-v2',
  );
  const snap = snapshot([routeConfig('rc', [vhost('reviews', ['reviews'], [canaryRoute, route('default', {}, 'reviews-v1')])])]);
  const router = new Router(snap);
  const canary = decided(router.route(request('reviews', '/', { 'x-canary': 'true' })));
  assert.equal(canary.cluster, 'reviews-v2');
  assert.equal(canary.route.name, 'canary');
  assert.equal(decided(router.route(request('reviews', '/', { 'x-canary': 'false' }))).cluster, 'reviews-v1');
  assert.equal(decided(router.route(request('reviews'))).cluster, 'reviews-v1');
});

test('first matching route wins and the query string is not part of the path', () => {
  const snap = snapshot([
    routeConfig('rc', [
      vhost('v', ['*'], [
        route('exact', { path: { kind: 'path', value: '/helloworld.Greeter/SayHello' } }, 'exact'),
        route('prefix', { path: { kind: 'prefix', value: '/helloworld.' } }, 'prefix'),
        route('all', {}, 'all'),
      ]),
    ]),
  ]);
  const router = new Router(snap);
  assert.equal(decided(router.route(request('x', '/helloworld.Greeter/SayHello?a=1'))).cluster, 'exact');
  assert.equal(decided(router.route(request('x', '/helloworld.Greeter/SayHello#frag'))).cluster, 'exact');
  assert.equal(decided(router.route(request('x', '/helloworld.Greeter/SayHello#frag?a=1'))).cluster, 'exact');
  assert.equal(decided(router.route(request('x', '/helloworld.Greeter/SayHelloAgain'))).cluster, 'prefix');
  assert.equal(decided(router.route(request('x', '/other'))).cluster, 'all');
});

test('decisions are shared and frozen (no allocation per routed call)', () => {
  const snap = snapshot([routeConfig('rc', [vhost('v', ['*'], [route('r', {}, 'c')])])]);
  const router = new Router(snap);
  const a = decided(router.route(request('x', '/a')));
  const b = decided(router.route(request('y', '/b')));
  assert.equal(a, b);
  assert.ok(Object.isFrozen(a));
  assert.equal(a.weightedEntry.name, 'c');
  assert.equal(a.routeConfig.name, 'rc');
  assert.equal(a.virtualHost.name, 'v');
});

test('virtual host precedence through the router, with ports', () => {
  const snap = snapshot([
    routeConfig('rc', [
      vhost('any', ['*'], [route('r', {}, 'any')]),
      vhost('prefix', ['api.*'], [route('r', {}, 'prefix')]),
      vhost('suffix', ['*.example.com'], [route('r', {}, 'suffix')]),
      vhost('exact', ['api.example.com', 'api.example.com:8443'], [route('r', {}, 'exact')]),
    ]),
  ]);
  const router = new Router(snap);
  const cluster = (authority: string) => decided(router.route(request(authority))).cluster;
  assert.equal(cluster('API.example.com'), 'exact');
  assert.equal(cluster('api.example.com:8443'), 'exact');
  assert.equal(cluster('api.example.com:9999'), 'prefix', 'as Envoy: host:port is matched whole, so only api.* matches');
  assert.equal(cluster('web.example.com:80'), 'any', 'as Envoy: *.example.com does not match web.example.com:80');
  assert.equal(cluster('web.example.com'), 'suffix');
  assert.equal(cluster('api.internal'), 'prefix');
  assert.equal(cluster('elsewhere'), 'any');
});

test('the port is stripped before domain matching only where the config says so', () => {
  const vhosts = [vhost('any', ['*'], [route('r', {}, 'any')]), vhost('reviews', ['reviews'], [route('r', {}, 'reviews')])];
  const cluster = (router: Router, authority: string) => decided(router.route(request(authority))).cluster;
  const plain = new Router(snapshot([routeConfig('rc', vhosts)]));
  assert.equal(cluster(plain, 'reviews:9080'), 'any');
  const ignorePort = new Router(snapshot([routeConfig('rc', vhosts, true)]));
  assert.equal(cluster(ignorePort, 'reviews:9080'), 'reviews');
  const stripAny = new Router(snapshot([routeConfig('rc', vhosts)], [listener('l', 'rc', 15001, 'any')]));
  assert.equal(cluster(stripAny, 'reviews:9080'), 'reviews');
  const stripMatching = new Router(snapshot([routeConfig('rc', vhosts)], [listener('l', 'rc', 15001, 'matching')]));
  assert.equal(cluster(stripMatching, 'reviews:15001'), 'reviews', 'the listener port is stripped');
  assert.equal(cluster(stripMatching, 'reviews:9080'), 'any', 'another port is kept');
});

test('listener selection: name, then port, then options.listener, then the only one, then every route config', () => {
  const rcs = ['by-name', 'by-port', 'chosen', 'other'].map((n) => routeConfig(n, [vhost(n, ['*'], [route('r', {}, n)])]));
  const listeners = [
    listener('greeter.example:50051', 'by-name', 50051),
    listener('0.0.0.0_9080', 'by-port', 9080),
    listener('chosen', 'chosen', 7000),
    listener('other', 'other', 7001),
  ];
  const router = new Router(snapshot(rcs, listeners), { listener: 'chosen' });
  const via = (authority: string) => decided(router.route(request(authority)));
  assert.equal(via('greeter.example:50051').cluster, 'by-name');
  assert.equal(via('greeter.example:50051').listener?.name, 'greeter.example:50051');
  assert.equal(via('reviews:9080').cluster, 'by-port');
  assert.equal(via('reviews:9080').listener?.name, '0.0.0.0_9080');
  assert.equal(via('reviews').cluster, 'chosen');
  assert.equal(via('reviews:1234').cluster, 'chosen');

  const onlyOne = new Router(snapshot(rcs, [listener('single', 'other')]));
  assert.equal(decided(onlyOne.route(request('anything:1'))).cluster, 'other');

  // several listeners, none fits: every route config is searched (first config wins '*')
  const none = new Router(snapshot(rcs, listeners.slice(2)));
  const d = decided(none.route(request('reviews:1')));
  assert.equal(d.listener, undefined);
  assert.equal(d.cluster, 'by-name');
});

test('a bare list of route configs (no listener) still routes by domain', () => {
  const snap = snapshot([
    routeConfig('a', [vhost('a', ['a.svc'], [route('r', {}, 'ca')])]),
    routeConfig('b', [vhost('b', ['b.svc'], [route('r', {}, 'cb')])]),
  ]);
  const router = new Router(snap);
  assert.equal(decided(router.route(request('b.svc'))).cluster, 'cb');
  assert.ok(hasCode(router.route(request('b.svc:80')), 'XMESH_NO_ROUTE'), 'b.svc:80 is not b.svc');
  assert.equal(decided(router.route(request('a.svc'))).routeConfig.name, 'a');
});

test('no route: XMESH_NO_ROUTE naming authority and path, UNIMPLEMENTED / 404', () => {
  const snap = snapshot([routeConfig('rc', [vhost('v', ['known'], [route('r', { path: { kind: 'prefix', value: '/api' } }, 'c')])])]);
  const router = new Router(snap);
  const noVhost = router.route(request('unknown:80', '/api/x'));
  assert.ok(hasCode(noVhost, 'XMESH_NO_ROUTE'));
  assert.match(noVhost.message, /unknown:80\/api\/x/);
  assert.equal(noVhost.grpcStatus, GrpcStatus.UNIMPLEMENTED);
  assert.equal(noVhost.httpStatus, 404);
  const noRoute = router.route(request('known', '/web'));
  assert.ok(hasCode(noRoute, 'XMESH_NO_ROUTE'));
  assert.match(noRoute.message, /known\/web.*virtual host "v"/);
});

test('a listener whose route config is missing gives no route, naming it', () => {
  const router = new Router(snapshot([], [listener('l', 'not-yet')]));
  const result = router.route(request('svc'));
  assert.ok(hasCode(result, 'XMESH_NO_ROUTE'));
  assert.match(result.message, /route config "not-yet" not known/);
});

test('gRPC-only and case-insensitive routes through the router', () => {
  const snap = snapshot([
    routeConfig('rc', [
      vhost('v', ['*'], [
        route('grpc', { grpcOnly: true }, 'grpc'),
        route('ci', { path: { kind: 'prefix', value: '/Static' }, caseSensitive: false }, 'static'),
      ]),
    ]),
  ]);
  const router = new Router(snap);
  assert.equal(decided(router.route(request('x', '/pkg.S/M', {}, true))).cluster, 'grpc');
  assert.equal(decided(router.route(request('x', '/STATIC/a.css'))).cluster, 'static');
  assert.ok(hasCode(router.route(request('x', '/pkg.S/M')), 'XMESH_NO_ROUTE'));
});

test('a "?" inside the fragment starts no query string', () => {
  const withQuery = route('q', { path: { kind: 'prefix', value: '/' }, queryParameters: [{ name: 'a', match: undefined }] }, 'query');
  const snap = snapshot([routeConfig('rc', [vhost('v', ['*'], [withQuery, route('all', {}, 'all')])])]);
  const router = new Router(snap);
  assert.equal(decided(router.route(request('x', '/p?a=1#f'))).cluster, 'query');
  assert.equal(decided(router.route(request('x', '/p#f?a=1'))).cluster, 'all');
});

test('virtual hosts are found per authority as sent, beyond the cached authorities too', () => {
  const snap = snapshot([routeConfig('rc', [vhost('one', ['svc-1.ns:80'], [route('r1', {}, 'c1')]), vhost('rest', ['*.ns:80'], [route('r2', {}, 'c2')])])]);
  const router = new Router(snap);
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 1500; i++) {
      const expected = i === 1 ? 'c1' : 'c2';
      assert.equal(decided(router.route(request(`svc-${i}.ns:80`))).cluster, expected);
    }
    // Case differences are the same virtual host, whether or not the spelling was seen before.
    assert.equal(decided(router.route(request('SVC-1.NS:80'))).cluster, 'c1');
    assert.ok(router.route(request('svc-1.other:80')) instanceof MeshError);
  }
});

test('a request naming its listener (an xds:/// target) uses that listener only: never another one\'s routes, UNAVAILABLE when it is missing', () => {
  const snap = snapshot(
    [routeConfig('r1', [vhost('v1', ['*'], [route('one', {}, 'c1')])]), routeConfig('r2', [vhost('v2', ['api.local'], [route('two', { path: { kind: 'prefix', value: '/api' } }, 'c2')])])],
    [listener('listener1', 'r1'), listener('listener2', 'r2')],
  );
  // Authority routing would pick listener1 (named like the authority); the named listener wins.
  const router = new Router(snap, { listener: 'listener1' });
  assert.equal(decided(router.route({ ...request('api.local', '/api/x'), listener: 'listener2' })).cluster, 'c2');
  assert.equal(decided(router.route({ ...request('listener1', '/x'), listener: 'listener1' })).cluster, 'c1');
  const missing = router.route({ ...request('listener1'), listener: 'listener3' });
  assert.ok(hasCode(missing, 'XMESH_NO_ROUTE'));
  assert.equal(missing.grpcStatus, GrpcStatus.UNAVAILABLE);
  assert.equal(missing.httpStatus, 503);
  assert.match(missing.message, /listener "listener3" does not exist/);
  // No virtual host or route of the named listener matches: no fallback either, and a gRPC client's status.
  const noHost = router.route({ ...request('other.local', '/api'), listener: 'listener2' });
  assert.ok(hasCode(noHost, 'XMESH_NO_ROUTE'));
  assert.equal(noHost.grpcStatus, GrpcStatus.UNAVAILABLE);
  // The same authority without a named listener keeps authority routing (here the router's own listener).
  assert.equal(decided(router.route(request('other.local'))).cluster, 'c1');
});
