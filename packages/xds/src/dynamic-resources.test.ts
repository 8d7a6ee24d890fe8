import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot } from './snapshot.js';
import { loadConfigFile } from './config-files.js';
import { TypeUrl } from './type-urls.js';

const HCM = TypeUrl.HttpConnectionManager;
const listener = {
  name: 'l',
  filter_chains: [{ filters: [{ name: 'hcm', typed_config: {
    '@type': HCM, stat_prefix: 's', http_filters: [{ name: 'envoy.filters.http.router' }],
    route_config: { virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] },
  } }] }],
};
const cluster = { name: 'c', type: 'STATIC', load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 80 } } } }] }] } };
const xdsCluster = { name: 'xds', type: 'STRICT_DNS', load_assignment: { cluster_name: 'xds', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'cp.local', port_value: 18000 } } } }] }] } };
const fileBootstrap = { dynamic_resources: { lds_config: { path_config_source: { path: 'lds.yaml' } }, cds_config: { path: 'cds.yaml' } } };
const adsBootstrap = (extra: Record<string, unknown> = {}) => ({
  node: { id: 'n1', cluster: 'front' },
  dynamic_resources: { ads_config: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'xds' } }] }, lds_config: { ads: {} }, cds_config: { ads: {} } },
  static_resources: { clusters: [xdsCluster] },
  ...extra,
});

test('file sources: resources are read with the type known from lds_config / cds_config, in any of the shapes files have', () => {
  for (const [lds, cds] of [
    [{ resources: [{ '@type': TypeUrl.Listener, ...listener }] }, { resources: [{ '@type': TypeUrl.Cluster, ...cluster }] }],
    [{ resources: [listener] }, [cluster]],
    [listener, cluster],
  ] as const) {
    const r = buildSnapshot(fileBootstrap, { files: { 'lds.yaml': lds, 'cds.yaml': cds } });
    assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
    assert.deepEqual([Object.keys(r.snapshot.listeners), Object.keys(r.snapshot.clusters)], [['l'], ['c']]);
  }
});

test('file sources: errors carry the file; a resource of the wrong type is refused; an unread file is named', () => {
  const wrong = buildSnapshot(fileBootstrap, { files: { 'lds.yaml': [listener], 'cds.yaml': [{ '@type': TypeUrl.Listener, ...listener }] } });
  assert.ok(!wrong.ok);
  assert.deepEqual(wrong.errors.map((e) => e.path), ['(cds.yaml)[0].@type', '(lds.yaml)[0](inline route_config).virtual_hosts[0].routes[0].route.cluster']);
  const bad = buildSnapshot(fileBootstrap, { files: { 'lds.yaml': [listener], 'cds.yaml': [{ ...cluster, type: 'DNS' }] } });
  assert.ok(!bad.ok);
  assert.deepEqual(bad.errors.map((e) => e.path), ['(cds.yaml)[0].type']);
  const unread = buildSnapshot(fileBootstrap);
  assert.ok(!unread.ok);
  assert.deepEqual(unread.errors.map((e) => e.path), ['dynamic_resources.lds_config.path_config_source.path', 'dynamic_resources.cds_config.path']);
  assert.match(unread.errors[0]!.message, /the file "lds.yaml" was not read/);
});

test('ADS sources: refused by a plain build (it would route nothing), followed with allowAds; the ADS cluster is not routed to', () => {
  const plain = buildSnapshot(adsBootstrap());
  assert.ok(!plain.ok);
  assert.deepEqual(plain.errors.map((e) => e.path), ['dynamic_resources.lds_config.ads', 'dynamic_resources.cds_config.ads']);
  const allowed = buildSnapshot(adsBootstrap(), { allowAds: true });
  assert.ok(allowed.ok, allowed.ok ? '' : JSON.stringify(allowed.errors));
  assert.deepEqual(allowed.ads, { xds_servers: [{ server_uri: 'cp.local:18000', channel_creds: [{ type: 'insecure' }], server_features: [] }], node: { id: 'n1', cluster: 'front' } });
  assert.deepEqual(Object.keys(allowed.snapshot.clusters), []);
  const delta = buildSnapshot({ ...adsBootstrap(), dynamic_resources: { ...adsBootstrap().dynamic_resources, ads_config: { api_type: 'DELTA_GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'xds' } }] } } }, { allowAds: true });
  assert.ok(delta.ok);
  assert.deepEqual(delta.ads!.xds_servers[0].server_features, ['xmesh_delta']);
});

test('a bootstrap with only dynamic_resources gets errors that name what is unsupported, never "not a bootstrap"', () => {
  const r = buildSnapshot({ dynamic_resources: { lds_config: { api_config_source: { api_type: 'GRPC' } }, cds_config: { ads: {} } } }, { allowAds: true });
  assert.ok(!r.ok);
  assert.deepEqual(r.errors.map((e) => [e.path, e.message.split(':')[0]]), [
    ['dynamic_resources.lds_config.api_config_source', 'is not supported'],
    ['dynamic_resources.ads_config', 'is required'],
  ]);
});

test('ADS: static listeners or clusters next to it, an unknown ADS cluster and a missing node id are each reported', () => {
  const withStatic = buildSnapshot(adsBootstrap({ static_resources: { clusters: [xdsCluster, cluster] } }), { allowAds: true });
  assert.ok(!withStatic.ok);
  assert.deepEqual(withStatic.errors.map((e) => e.path), ['static_resources']);
  const unknown = buildSnapshot({ ...adsBootstrap(), static_resources: { clusters: [] } }, { allowAds: true });
  assert.ok(!unknown.ok);
  assert.deepEqual(unknown.errors.map((e) => e.path), ['dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name']);
  const noNode = buildSnapshot({ ...adsBootstrap(), node: undefined }, { allowAds: true });
  assert.ok(!noNode.ok);
  assert.deepEqual(noNode.errors.map((e) => e.path), ['node.id']);
});

test('resourceType reads a plain list of resources without @type (xmesh validate --type)', () => {
  const r = buildSnapshot([cluster, { ...cluster, name: 'd', load_assignment: { ...cluster.load_assignment, cluster_name: 'd' } }], { resourceType: TypeUrl.Cluster });
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  assert.deepEqual(Object.keys(r.snapshot.clusters), ['c', 'd']);
  const untyped = buildSnapshot([cluster]);
  assert.ok(!untyped.ok);
  assert.match(untyped.errors[0]!.message, /needs "@type"/);
});

test('loadConfigFile reads the named files and gives errors in them their file and line', async () => {
  const files: Record<string, string> = {
    'envoy.yaml': 'dynamic_resources:\n  lds_config: { path: lds.yaml }\n  cds_config: { path: cds.yaml }\n',
    'lds.yaml': JSON.stringify({ resources: [listener] }),
    'cds.yaml': 'resources:\n- name: c\n  type: STATIC\n  lb_policy: round_robinn\n',
  };
  const read = (path: string) => (path in files ? Promise.resolve(files[path]!) : Promise.reject(new Error('ENOENT')));
  const loaded = await loadConfigFile('envoy.yaml', read);
  assert.deepEqual(loaded.files, ['envoy.yaml', 'lds.yaml', 'cds.yaml']);
  assert.ok(!loaded.result.ok);
  const policy = loaded.result.errors.find((e) => e.path === '(cds.yaml).resources[0].lb_policy');
  assert.ok(policy, JSON.stringify(loaded.result.errors));
  assert.equal(policy.line, 4);
  const missing = await loadConfigFile('envoy.yaml', (p) => (p === 'cds.yaml' ? Promise.reject(new Error('ENOENT')) : read(p)));
  assert.ok(!missing.result.ok);
  assert.deepEqual(missing.result.errors, [{ path: 'cds.yaml', message: 'cannot read: ENOENT' }]);
});
