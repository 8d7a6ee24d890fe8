import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError, hasCode } from '@xmesh/core';
import { buildSnapshotOrThrow } from '@xmesh/xds';
import { Router } from './router.js';
import { request, seededRandom } from '../test/fixtures.js';

const staticCluster = (name: string) => ({
  name,
  type: 'STATIC',
  load_assignment: {
    cluster_name: name,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9000 } } } }] }],
  },
});

/** An Istio-shaped outbound listener on 9080 with an RDS-less inline route config. */
const bootstrap = {
  static_resources: {
    listeners: [
      {
        name: '0.0.0.0_9080',
        address: { socket_address: { address: '0.0.0.0', port_value: 9080 } },
        filter_chains: [
          {
            filters: [
              {
                name: 'envoy.filters.network.http_connection_manager',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                  stat_prefix: 'outbound_9080',
                  route_config: {
                    name: '9080',
                    virtual_hosts: [
                      {
                        name: 'reviews',
                        domains: ['reviews', 'reviews:9080', 'reviews.default.svc.cluster.local', 'reviews.default.svc.cluster.local:9080'],
                        routes: [
                          {
                            match: { prefix: '/', headers: [{ name: 'end-user', string_match: { exact: 'jason' } }] },
                            route: { cluster: 'reviews-v2' },
                          },
                          {
                            match: { safe_regex: { regex: '/reviews/[0-9]+' } },
                            route: {
                              weighted_clusters: {
                                clusters: [
                                  { name: 'reviews-v1', weight: 80 },
                                  { name: 'reviews-v3', weight: 20 },
                                ],
                              },
                            },
                          },
                        ],
                      },
                    ],
                  },
                  http_filters: [
                    { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
                  ],
                },
              },
            ],
          },
        ],
      },
    ],
    clusters: ['reviews-v1', 'reviews-v2', 'reviews-v3'].map(staticCluster),
  },
};

test('routes a decoded Envoy bootstrap: header canary, regex route, 80/20 split', (t) => {
  let snapshot;
  try {
    snapshot = buildSnapshotOrThrow(bootstrap);
  } catch (error) {
    if (hasCode(error, 'XMESH_CONFIG_INVALID')) assert.fail(`bootstrap rejected:\n${error.errors.map((e) => `${e.path}: ${e.message}`).join('\n')}`);
    throw error;
  }
  const router = new Router(snapshot, { random: seededRandom(11) });
  const jason = router.route(request('reviews:9080', '/reviews/1', { 'end-user': 'jason' }));
  assert.ok(!(jason instanceof MeshError), String(jason));
  assert.equal(jason.cluster, 'reviews-v2');
  assert.equal(jason.listener?.name, '0.0.0.0_9080');

  let v3 = 0;
  for (let i = 0; i < 5000; i++) {
    const d = router.route(request('reviews.default.svc.cluster.local:9080', '/reviews/42?x=1'));
    assert.ok(!(d instanceof MeshError), String(d));
    if (d.cluster === 'reviews-v3') v3++;
  }
  assert.ok(Math.abs(v3 / 5000 - 0.2) <= 0.03, `v3 share ${v3 / 5000}`);
  assert.ok(hasCode(router.route(request('reviews:9080', '/ratings')), 'XMESH_NO_ROUTE'));
  t.diagnostic(`snapshot version ${snapshot.version}`);
});

test('header exact_match "" (Envoy: any value of a present header) routes end to end', () => {
  const snap = buildSnapshotOrThrow({
    resources: [
      {
        '@type': 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
        name: 'rc',
        virtual_hosts: [{
          name: 'v',
          domains: ['*'],
          routes: [
            { match: { prefix: '/', headers: [{ name: 'x-tenant', exact_match: '' }] }, route: { cluster: 'tenant' } },
            { match: { prefix: '/', headers: [{ name: 'x-other', exact_match: '', invert_match: true }] }, route: { cluster: 'inverted' } },
            { match: { prefix: '/' }, route: { cluster: 'rest' } },
          ],
        }],
      },
      ...['tenant', 'inverted', 'rest'].map((name) => ({
        '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
        name,
        type: 'STATIC',
        load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 1 } } } }] }] },
      })),
    ],
  });
  const router = new Router(snap);
  const cluster = (headers: Record<string, string>) => {
    const d = router.route(request('svc', '/', headers));
    assert.ok(!(d instanceof MeshError), String(d));
    return d.cluster;
  };
  assert.equal(cluster({ 'x-tenant': 'acme' }), 'tenant');
  assert.equal(cluster({ 'x-tenant': '' }), 'tenant');
  // a missing header never matches a non-presence matcher, inverted or not
  assert.equal(cluster({}), 'rest');
  assert.equal(cluster({ 'x-other': 'x' }), 'rest');
});

test('strip_any_host_port and strip_matching_host_port from an HCM config decide which authorities reach a port-less domain', () => {
  const routerWith = (hcm: Record<string, unknown>) => new Router(buildSnapshotOrThrow({
    static_resources: {
      listeners: [{
        name: 'out',
        address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
        filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
          stat_prefix: 'out',
          http_filters: [{ name: 'envoy.filters.http.router' }],
          route_config: { virtual_hosts: [
            { name: 'reviews', domains: ['reviews'], routes: [{ match: { prefix: '/' }, route: { cluster: 'reviews' } }] },
            { name: 'other', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'other' } }] },
          ] },
          ...hcm,
        } }] }],
      }],
      clusters: [staticCluster('reviews'), staticCluster('other')],
    },
  }));
  const clusterFor = (router: Router, authority: string) => {
    const d = router.route(request(authority, '/'));
    assert.ok(!(d instanceof MeshError));
    return d.cluster;
  };
  assert.equal(clusterFor(routerWith({}), 'reviews:9080'), 'other', 'by default host:port is matched whole');
  assert.equal(clusterFor(routerWith({ strip_any_host_port: true }), 'reviews:9080'), 'reviews');
  const matching = routerWith({ strip_matching_host_port: true });
  assert.equal(clusterFor(matching, 'reviews:15001'), 'reviews', 'the listener\'s own port is stripped');
  assert.equal(clusterFor(matching, 'reviews:9080'), 'other', 'another port is kept');
});
