// The admin endpoint in Envoy's formats, read with Envoy's own admin protos (envoy.admin.v3 from
// @grpc/grpc-js-xds, through protobufjs): /config_dump is a ConfigDump every field of which the protos
// know (static sections from a bootstrap, dynamic ones from a resource list, EDS with include_eds),
// ?resource= and ?mask= select as Envoy's do, secrets never appear; /clusters?format=json is a
// Clusters message; /server_info a ServerInfo.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMesh, type Mesh } from '@xmesh/client';
import { decodeResource, encodeResource, loadEnvoyProtos, type EnvoyProtos } from '@xmesh/xds';
import type { AdminServer } from '@xmesh/stats';
import { bootstrap } from '../support/mesh-config.js';
import { standardPki } from '../support/pki.js';

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';
const TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const pki = standardPki();
let protos: EnvoyProtos;

/** `json` as the admin message `type`, through Envoy's protos: throws listing every field they do not know. Returns the canonical JSON back. */
function asEnvoy(type: string, json: unknown): Record<string, unknown> {
  return decodeResource(protos, encodeResource(protos, { '@type': `${ADMIN}${type}`, ...(json as object) })) as Record<string, unknown>;
}

/** Key material of the PKI's client key (its base64 lines), none of which may appear. */
const keyLines = pki.client.key.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));

function assertNoSecrets(text: string): void {
  assert.doesNotMatch(text, /PRIVATE KEY/);
  for (const line of keyLines) assert.ok(!text.includes(line), 'a line of the private key appears');
}

describe('admin in Envoy\'s formats', () => {
  let mesh: Mesh;
  let admin: AdminServer;
  const get = async (path: string) => {
    const res = await fetch(admin.url + path);
    return { status: res.status, text: await res.text() };
  };

  before(async () => {
    protos = loadEnvoyProtos(['envoy/admin/v3/config_dump.proto', 'envoy/admin/v3/clusters.proto', 'envoy/admin/v3/server_info.proto']);
    const config = bootstrap({ routes: [{ prefix: '/', cluster: 'backend' }], clusters: { backend: ['127.0.0.1:9'] } }) as {
      static_resources: { clusters: Record<string, unknown>[]; secrets?: unknown[] };
    };
    Object.assign(config.static_resources.clusters[0]!, {
      health_checks: [{ timeout: '1s', interval: '5s', unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {} }],
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': TLS_TYPE,
          common_tls_context: { tls_certificates: [{ certificate_chain: { inline_string: pki.client.cert }, private_key: { inline_string: pki.client.key } }] },
        },
      },
    });
    config.static_resources.secrets = [{ name: 'client-cert', tls_certificate: { certificate_chain: { inline_string: pki.client.cert }, private_key: { inline_bytes: Buffer.from(pki.client.key).toString('base64') } } }];
    mesh = await createMesh({ config });
    admin = await mesh.observability.startAdmin();
  });

  after(async () => {
    await mesh.close();
    pki.dispose();
  });

  test('/config_dump is a ConfigDump: bootstrap, clusters, listeners, routes, secrets, each an Any with static sections and last_updated', async () => {
    const { status, text } = await get('/config_dump');
    assert.equal(status, 200);
    assertNoSecrets(text);
    const dump = asEnvoy('ConfigDump', JSON.parse(text));
    const configs = dump.configs as Record<string, unknown>[];
    assert.deepEqual(configs.map((c) => c['@type']), ['BootstrapConfigDump', 'ClustersConfigDump', 'ListenersConfigDump', 'RoutesConfigDump', 'SecretsConfigDump'].map((t) => `${ADMIN}${t}`));
    const [boot, clusters, listeners, routes, secrets] = configs as Record<string, any>[];
    assert.ok(boot!.bootstrap.static_resources.clusters.length === 1);
    assert.match(boot!.last_updated, /^\d{4}-\d\d-\d\dT/);
    const cluster = clusters!.static_clusters[0];
    assert.equal(cluster.cluster['@type'], 'type.googleapis.com/envoy.config.cluster.v3.Cluster');
    assert.equal(cluster.cluster.name, 'backend');
    assert.equal(cluster.cluster.health_checks[0].interval, '5s');
    assert.match(cluster.last_updated, /^\d{4}-/);
    assert.equal(cluster.cluster.transport_socket.typed_config.common_tls_context.tls_certificates[0].private_key.inline_string, '[redacted]');
    assert.match(cluster.cluster.transport_socket.typed_config.common_tls_context.tls_certificates[0].certificate_chain.inline_string, /BEGIN CERTIFICATE/);
    assert.equal(listeners!.static_listeners[0].listener.name, 'mesh');
    assert.equal(routes!.static_route_configs[0].route_config.name, 'mesh', 'the inline route configuration, as Envoy lists it');
    assert.equal(secrets!.static_secrets[0].name, 'client-cert');
    assert.equal(Buffer.from(secrets!.static_secrets[0].secret.tls_certificate.private_key.inline_bytes, 'base64').toString(), '[redacted]');
  });

  test('?resource= returns each element as an Any; ?mask= keeps the fields named; an unknown resource is 404', async () => {
    const byResource = JSON.parse((await get('/config_dump?resource=static_clusters&mask=cluster.name')).text);
    const parsed = asEnvoy('ConfigDump', byResource);
    assert.deepEqual(parsed.configs, [{ '@type': `${ADMIN}ClustersConfigDump.StaticCluster`, cluster: { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', name: 'backend' } }]);
    const masked = asEnvoy('ConfigDump', JSON.parse((await get('/config_dump?mask=static_listeners')).text));
    const listeners = (masked.configs as Record<string, unknown>[]).find((c) => c['@type'] === `${ADMIN}ListenersConfigDump`)!;
    assert.deepEqual(Object.keys(listeners).sort(), ['@type', 'static_listeners']);
    assert.deepEqual((masked.configs as Record<string, unknown>[]).find((c) => c['@type'] === `${ADMIN}ClustersConfigDump`), { '@type': `${ADMIN}ClustersConfigDump` });
    assert.equal((await get('/config_dump?resource=no_such_field')).status, 404);
  });

  test('dynamic resources (a resource list) fill the dynamic sections with version_info; include_eds adds the EndpointsConfigDump', async () => {
    const resources = [
      { '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', name: 'in', api_listener: { api_listener: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
        stat_prefix: 'in', rds: { route_config_name: 'routes', config_source: { ads: {} } },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
      } } },
      { '@type': 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration', name: 'routes', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'eds' } }] }] },
      { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', name: 'eds', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } },
      { '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment', cluster_name: 'eds', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9 } } } }] }] },
    ];
    const dynamic = await createMesh({ config: resources });
    try {
      const result = dynamic.observability.configDump({ includeEds: true });
      assert.ok(result.ok);
      const text = JSON.stringify(result.dump);
      const dump = asEnvoy('ConfigDump', JSON.parse(text));
      const configs = dump.configs as Record<string, any>[];
      const version = dynamic.snapshot.version;
      const of = (type: string) => configs.find((c) => c['@type'] === `${ADMIN}${type}`)!;
      assert.equal(of('ClustersConfigDump').version_info, version);
      assert.equal(of('ClustersConfigDump').dynamic_active_clusters[0].version_info, version);
      assert.equal(of('ClustersConfigDump').dynamic_active_clusters[0].cluster.name, 'eds');
      assert.equal(of('ListenersConfigDump').dynamic_listeners[0].name, 'in');
      assert.equal(of('ListenersConfigDump').dynamic_listeners[0].active_state.listener.name, 'in');
      assert.equal(of('RoutesConfigDump').dynamic_route_configs[0].route_config.name, 'routes');
      const eds = of('EndpointsConfigDump').dynamic_endpoint_configs[0];
      assert.equal(eds.endpoint_config.cluster_name, 'eds');
      assert.equal(eds.version_info, version);
      assert.equal(configs.some((c) => c['@type'] === `${ADMIN}EndpointsConfigDump`), true);
      const without = dynamic.observability.configDump({ includeEds: false });
      assert.ok(without.ok && !JSON.stringify(without.dump).includes('EndpointsConfigDump'));
    } finally {
      await dynamic.close();
    }
  });

  test('last_updated changes only for a resource that changed', async () => {
    const before = mesh.observability.configDump({ resource: 'static_listeners', includeEds: false });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const next = bootstrap({ routes: [{ prefix: '/', cluster: 'backend' }], clusters: { backend: ['127.0.0.1:9', '127.0.0.1:10'] } });
    const other = await createMesh({ config: next });
    try {
      // A second mesh is a different history; the same mesh updated keeps the listener's time.
      const first = other.observability.configDump({ resource: 'static_listeners', includeEds: false });
      await new Promise((resolve) => setTimeout(resolve, 20));
      await other.update(bootstrap({ routes: [{ prefix: '/', cluster: 'backend' }], clusters: { backend: ['127.0.0.1:11'] } }));
      const second = other.observability.configDump({ resource: 'static_listeners', includeEds: false });
      const clusters = other.observability.configDump({ resource: 'static_clusters', includeEds: false });
      assert.ok(first.ok && second.ok && clusters.ok && before.ok);
      const at = (d: unknown) => (d as { configs: { last_updated: string }[] }).configs[0]!.last_updated;
      assert.equal(at(second.dump), at(first.dump), 'the listener did not change');
      assert.ok(at(clusters.dump) > at(first.dump), 'the cluster did');
    } finally {
      await other.close();
    }
  });

  test('/clusters?format=json is a Clusters message with Envoy\'s health status fields; /server_info a ServerInfo; /help lists the paths', async () => {
    const clusters = asEnvoy('Clusters', JSON.parse((await get('/clusters?format=json')).text));
    const host = (clusters.cluster_statuses as any[])[0].host_statuses[0];
    assert.deepEqual(host.address, { socket_address: { address: '127.0.0.1', port_value: 9 } });
    assert.equal(host.health_status.failed_active_health_check, true, 'nothing listens on port 9: the TCP check failed');
    assert.equal(host.health_status.eds_health_status ?? 'UNKNOWN', 'UNKNOWN');
    assert.ok(host.stats.some((s: { name: string }) => s.name === 'rq_active'));
    const info = asEnvoy('ServerInfo', JSON.parse((await get('/server_info')).text));
    assert.equal(info.state ?? 'LIVE', 'LIVE');
    assert.match(String(info.version), /^xmesh\//);
    assert.match((await get('/help')).text, /\/config_dump: /);
  });
});
