import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshError, type FieldError } from '@xmesh/core';
import { buildSnapshot, buildSnapshotOrThrow } from './snapshot.js';
import { TypeUrl } from './type-urls.js';

const hcm = (routeConfig: unknown) => ({
  name: 'envoy.filters.network.http_connection_manager',
  typed_config: {
    '@type': TypeUrl.HttpConnectionManager,
    stat_prefix: 'out',
    ...(routeConfig as object),
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
  },
});
const listener = (name: string, routeConfig: unknown) => ({
  '@type': TypeUrl.Listener,
  name,
  filter_chains: [{ filters: [hcm(routeConfig)] }],
});
const routeConfig = (name: string, cluster: string) => ({
  '@type': TypeUrl.RouteConfiguration,
  name,
  virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster } }] }],
});
const staticCluster = (name: string, port = 9000) => ({
  '@type': TypeUrl.Cluster,
  name,
  type: 'STATIC',
  load_assignment: {
    cluster_name: name,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }],
  },
});
const edsCluster = (name: string, service?: string) => ({
  '@type': TypeUrl.Cluster,
  name,
  type: 'EDS',
  ...(service ? { eds_cluster_config: { service_name: service } } : {}),
});
const cla = (name: string) => ({
  '@type': TypeUrl.ClusterLoadAssignment,
  cluster_name: name,
  endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } } }] }],
});

function errorsOf(input: unknown): FieldError[] {
  const r = buildSnapshot(input);
  assert.equal(r.ok, false, 'expected the input to be rejected');
  return r.ok ? [] : [...r.errors];
}

function hasError(errors: FieldError[], path: string, fragment: string): void {
  assert.ok(
    errors.some((e) => e.path === path && e.message.includes(fragment)),
    `no error at ${path} containing "${fragment}"; got:\n${errors.map((e) => `${e.path}: ${e.message}`).join('\n')}`,
  );
}

test('a resource list with RDS and EDS resolves into one frozen snapshot', () => {
  const r = buildSnapshot([
    listener('out', { rds: { route_config_name: 'rc' } }),
    routeConfig('rc', 'svc'),
    edsCluster('svc', 'svc-eds'),
    cla('svc-eds'),
  ], { version: 'v1' });
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  const s = r.snapshot;
  assert.equal(s.version, 'v1');
  assert.equal(s.listeners.out!.routeConfigName, 'rc');
  assert.equal(s.clusters.svc!.loadAssignment!.localities[0]!.endpoints[0]!.id, '10.0.0.1:80');
  assert.ok(Object.isFrozen(s) && Object.isFrozen(s.clusters.svc) && Object.isFrozen(s.clusters.svc!.loadAssignment!.localities));
  assert.throws(() => {
    (s.clusters as Record<string, unknown>).x = 1;
  }, TypeError);
});

test('DiscoveryResponse-shaped input and a single resource are accepted', () => {
  const r1 = buildSnapshot({ version_info: '7', resources: [staticCluster('a')] });
  assert.ok(r1.ok);
  const r2 = buildSnapshot(staticCluster('a'));
  assert.ok(r2.ok);
  assert.deepEqual(Object.keys(r2.ok ? r2.snapshot.clusters : {}), ['a']);
});

test('the default version is a content hash: same input, same version', () => {
  const a = buildSnapshotOrThrow([staticCluster('a')]);
  const b = buildSnapshotOrThrow([staticCluster('a')]);
  const c = buildSnapshotOrThrow([staticCluster('a', 9001)]);
  assert.equal(a.version, b.version);
  assert.notEqual(a.version, c.version);
});

test('dangling references are named with their paths', () => {
  const errors = errorsOf([listener('out', { rds: { route_config_name: 'missing' } }), routeConfig('rc', 'nope')]);
  hasError(errors, '[0]', 'route configuration "missing", which is not defined');
  hasError(errors, '[1].virtual_hosts[0].routes[0].route.cluster', 'cluster "nope" is not defined');
});

test('a weighted cluster naming an unknown cluster is reported at its entry', () => {
  const rc = {
    '@type': TypeUrl.RouteConfiguration,
    name: 'rc',
    virtual_hosts: [{
      name: 'vh',
      domains: ['*'],
      routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: 1 }, { name: 'ghost', weight: 1 }] } } }],
    }],
  };
  hasError(errorsOf([rc, staticCluster('a')]), '[0].virtual_hosts[0].routes[0].route.weighted_clusters.clusters[1].name', 'cluster "ghost" is not defined');
});

test('a mirror policy naming an unknown cluster is reported at its entry', () => {
  const rc = {
    '@type': TypeUrl.RouteConfiguration,
    name: 'rc',
    virtual_hosts: [{
      name: 'vh',
      domains: ['*'],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'a', request_mirror_policies: [{ cluster: 'a' }, { cluster: 'shadow' }] } }],
    }],
  };
  const errors = errorsOf([rc, staticCluster('a')]);
  hasError(errors, '[0].virtual_hosts[0].routes[0].route.request_mirror_policies[1].cluster', 'cluster "shadow" is not defined');
  assert.equal(errors.length, 1, JSON.stringify(errors));
});

test('a virtual host\'s or route config\'s mirror policy naming an unknown cluster is reported where it is written, once', () => {
  const rc = {
    '@type': TypeUrl.RouteConfiguration,
    name: 'rc',
    request_mirror_policies: [{ cluster: 'ghost-rc' }],
    virtual_hosts: [
      { name: 'vh', domains: ['vh'], request_mirror_policies: [{ cluster: 'ghost-vh' }], routes: [{ match: { prefix: '/' }, route: { cluster: 'a' } }, { match: { prefix: '/x' }, route: { cluster: 'a' } }] },
      { name: 'other', domains: ['other'], routes: [{ match: { prefix: '/' }, route: { cluster: 'a' } }] },
    ],
  };
  const errors = errorsOf([rc, staticCluster('a')]);
  hasError(errors, '[0].request_mirror_policies[0].cluster', 'cluster "ghost-rc" is not defined');
  hasError(errors, '[0].virtual_hosts[0].request_mirror_policies[0].cluster', 'cluster "ghost-vh" is not defined');
  assert.equal(errors.length, 2, JSON.stringify(errors));
});

test('duplicate resource names are rejected', () => {
  hasError(errorsOf([staticCluster('a'), staticCluster('a')]), '[1].name', 'duplicate cluster name "a"');
});

test('endpoints for no EDS cluster are rejected', () => {
  hasError(errorsOf([staticCluster('a'), cla('orphan')]), '[1].cluster_name', 'no EDS cluster uses endpoints "orphan"');
});

test('a resource without @type, or of an unknown type, is rejected', () => {
  const errors = errorsOf([{ name: 'x' }, { '@type': 'type.googleapis.com/envoy.config.core.v3.Secret', name: 'y' }]);
  hasError(errors, '[0]', 'needs "@type"');
  hasError(errors, '[1].@type', 'unsupported resource type');
});

test('input that is no config at all says what it expected', () => {
  hasError(errorsOf({ foo: 1 }), '(root)', 'expected an Envoy bootstrap');
  hasError(errorsOf('text'), '(root)', 'must be an object');
});

test('unknown bootstrap fields are errors, Envoy-only ones are ignored and listed', () => {
  hasError(errorsOf({ static_resources: { clusters: [] }, bogus: 1 }), 'bogus', 'unknown or unsupported bootstrap field');
  const r = buildSnapshot({ static_resources: { clusters: [] }, admin: { address: {} }, node: { id: 'n' } });
  assert.ok(r.ok);
  assert.deepEqual(r.ok ? [...r.snapshot.ignored] : [], ['node', 'admin']);
});

test('every error is reported, not just the first', () => {
  const errors = errorsOf([
    listener('out', { rds: { route_config_name: 'missing' } }),
    routeConfig('rc', 'nope'),
    staticCluster('a'),
    staticCluster('a'),
  ]);
  assert.ok(errors.length >= 3, `got ${errors.length}`);
});

test('buildSnapshotOrThrow throws a MeshError with every error attached', () => {
  try {
    buildSnapshotOrThrow([routeConfig('rc', 'x'), routeConfig('rc2', 'y')]);
    assert.fail('should throw');
  } catch (err) {
    assert.ok(isMeshError(err));
    assert.equal(err.code, 'XMESH_CONFIG_INVALID');
    assert.equal(err.errors.length, 2);
  }
});

// ---------------------------------------------------------------- leniencies Envoy has

const inlineRoutes = (name: string, cluster: string) => ({ route_config: { name, virtual_hosts: routeConfig(name, cluster).virtual_hosts } });
const bootstrap = (listeners: unknown[], clusters: unknown[]) => ({
  static_resources: {
    listeners: listeners.map((l) => { const { '@type': _t, ...rest } = l as Record<string, unknown>; return rest; }),
    clusters: clusters.map((c) => { const { '@type': _t, ...rest } = c as Record<string, unknown>; return rest; }),
  },
});

test('unnamed listeners get a name from their address, else their position, never one already taken', () => {
  const unnamed = (port?: number) => {
    const { name: _n, ...rest } = listener('', inlineRoutes('local_route', 'svc'));
    return port === undefined ? rest : { ...rest, address: { socket_address: { address: '0.0.0.0', port_value: port } } };
  };
  const s = buildSnapshotOrThrow(bootstrap([unnamed(10000), unnamed(), listener('0.0.0.0:10001', inlineRoutes('r', 'svc')), unnamed(10001)], [staticCluster('svc')]));
  assert.deepEqual(Object.keys(s.listeners).sort(), ['0.0.0.0:10000', '0.0.0.0:10001', '0.0.0.0:10001#2', 'listener_1']);
});

test('inline route configurations of the same name on two listeners are independent (front-proxy envoy.yaml)', () => {
  const s = buildSnapshotOrThrow(bootstrap(
    [listener('a', inlineRoutes('local_route', 'one')), listener('b', inlineRoutes('local_route', 'two'))],
    [staticCluster('one', 9001), staticCluster('two', 9002)],
  ));
  const clusterOf = (l: string) => s.routeConfigs[s.listeners[l]!.routeConfigName]!.virtualHosts[0]!.routes[0]!.action.clusters[0]!.name;
  assert.equal(clusterOf('a'), 'one');
  assert.equal(clusterOf('b'), 'two');
  assert.equal(s.routeConfigs[s.listeners.a!.routeConfigName]!.name, 'local_route');
});

test('an inline route configuration never takes the key of an RDS one', () => {
  const s = buildSnapshotOrThrow([
    listener('a', inlineRoutes('x', 'one')),
    listener('b', { rds: { route_config_name: 'a (inline)' } }),
    { ...routeConfig('a (inline)', 'two') },
    staticCluster('one', 9001),
    staticCluster('two', 9002),
  ]);
  assert.notEqual(s.listeners.a!.routeConfigName, s.listeners.b!.routeConfigName);
  assert.equal(s.routeConfigs[s.listeners.b!.routeConfigName]!.virtualHosts[0]!.routes[0]!.action.clusters[0]!.name, 'two');
});

test('a listener without a supported network filter gets that error only, not one about its routes', () => {
  const redis = { '@type': TypeUrl.Listener, name: 'redis', filter_chains: [{ filters: [{ name: 'envoy.filters.network.redis_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy' } }] }] };
  const errors = errorsOf([redis, staticCluster('svc')]);
  assert.deepEqual(errors.map((e) => e.path), ['[0].filter_chains[0].filters[0].typed_config.@type']);
});

test('a tcp_proxy listener routes nothing (no route configuration needed); its clusters must exist', () => {
  const tcp = (cluster: string) => ({ '@type': TypeUrl.Listener, name: 'tcp', filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'tcp', cluster } }] }] });
  const s = buildSnapshotOrThrow([tcp('svc'), staticCluster('svc')]);
  assert.deepEqual(s.listeners.tcp!.filterChains?.map((c) => c.network.kind), ['tcp_proxy']);
  assert.deepEqual(errorsOf([tcp('missing'), staticCluster('svc')]).map((e) => `${e.path}: ${e.message}`), ['[0].filter_chains("filter_chains[0]").tcp_proxy: cluster "missing" is not defined']);
});

test('enum values are read case-insensitively, by number or decimal string, as Envoy loads JSON/YAML', () => {
  const cluster = (type: unknown, lb: unknown) => ({ ...staticCluster('svc'), type, lb_policy: lb, load_assignment: { ...staticCluster('svc').load_assignment, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'svc.local', port_value: 80 } } } }] }] } });
  for (const [type, lb, want] of [['strict_dns', 'round_robin', ['STRICT_DNS', 'ROUND_ROBIN']], ['Logical_Dns', 'least_request', ['LOGICAL_DNS', 'LEAST_REQUEST']], [1, '3', ['STRICT_DNS', 'RANDOM']]] as const) {
    const s = buildSnapshotOrThrow([listener('l', inlineRoutes('r', 'svc')), cluster(type, lb)]);
    assert.deepEqual([s.clusters.svc!.type, s.clusters.svc!.lbPolicy], want);
  }
});

test('an invalid cluster type is the only error: no rule of a type it does not have is checked', () => {
  const bad = { ...staticCluster('svc'), type: 'DNS', load_assignment: { cluster_name: 'svc', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'svc.local', port_value: 80 } } } }] }] } };
  const errors = errorsOf([listener('l', inlineRoutes('r', 'svc')), bad]);
  assert.deepEqual(errors.map((e) => e.path), ['[1].type']);
});

test('an ORIGINAL_DST cluster (golang-network example) is refused once, not also told it lacks a load_assignment', () => {
  const { load_assignment: _la, ...rest } = staticCluster('svc');
  const errors = errorsOf([listener('l', inlineRoutes('r', 'svc')), { ...rest, type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' }]);
  assert.deepEqual(errors.map((e) => e.path), ['[1].type', '[1].lb_policy']);
});
