// A bootstrap's dynamic_resources, as Envoy runs them, in embedded and sidecar mode:
// - files (modelled on envoyproxy/examples dynamic-config-fs: lds.yaml with `filters:` as one mapping,
//   cds.yaml with a STRICT_DNS cluster): editing cds.yaml the way `sed -i` does (write, then rename)
//   moves traffic to the new upstream, with no restart;
// - ADS (modelled on envoyproxy/examples dynamic-config-cp): `lds_config: {ads: {}}` and
//   `cds_config: {ads: {}}` with `ads_config` naming a static cluster serve the routes of the
//   control plane `xmesh control-plane` runs (its file source), and follow its edits.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { createMesh, type Mesh } from '@xmesh/client';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { ControlPlane, serveFile, silentLogger, type FileSource } from '@xmesh/control-plane';

/** An HTTP upstream answering with its name. */
async function startNamed(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.end(name));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

function closeServer(server: Server | undefined): Promise<void> {
  return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
}

/** Replaces `file` as `sed -i` does: a new file renamed over the old one. */
function replaceFile(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/** Asks `ask` until it answers `want`, for at most 10 s (file watches and ADS pushes are asynchronous). */
async function eventually(ask: () => Promise<string>, want: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  let last = '';
  while (Date.now() < deadline) {
    last = await ask().catch((e: Error) => `error: ${e.message}`);
    if (last === want) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`expected "${want}" within 10 s, last answer "${last}"`);
}

const LDS = `resources:
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: listener_0
  address:
    socket_address:
      address: 0.0.0.0
      port_value: 10000
  filter_chains:
  - filters:
      name: envoy.filters.network.http_connection_manager
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
        stat_prefix: ingress_http
        http_filters:
        - name: envoy.filters.http.router
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
        route_config:
          name: local_route
          virtual_hosts:
          - name: local_service
            domains:
            - "*"
            routes:
            - match:
                prefix: "/"
              route:
                cluster: example_proxy_cluster
`;

/** cds.yaml as the example has it, minus @type (read with the type known from cds_config). */
const cds = (port: number) => `resources:
- name: example_proxy_cluster
  type: STRICT_DNS
  dns_lookup_family: V4_ONLY
  load_assignment:
    cluster_name: example_proxy_cluster
    endpoints:
    - lb_endpoints:
      - endpoint:
          address:
            socket_address:
              address: localhost
              port_value: ${port}
`;

const fsBootstrap = (dir: string) => `node:
  id: id_1
  cluster: test
dynamic_resources:
  cds_config:
    path_config_source:
      path: ${join(dir, 'cds.yaml')}
  lds_config:
    path: ${join(dir, 'lds.yaml')}
admin:
  address:
    socket_address:
      address: 0.0.0.0
      port_value: 19000
`;

describe('dynamic_resources from files (dynamic-config-fs)', () => {
  let service1: Awaited<ReturnType<typeof startNamed>>;
  let service2: Awaited<ReturnType<typeof startNamed>>;
  let mesh: Mesh;
  let sidecar: Sidecar;
  let dir: string;

  before(async () => {
    service1 = await startNamed('service1');
    service2 = await startNamed('service2');
    dir = mkdtempSync(join(tmpdir(), 'xmesh-dynamic-fs-'));
    writeFileSync(join(dir, 'lds.yaml'), LDS);
    writeFileSync(join(dir, 'cds.yaml'), cds(service1.port));
    writeFileSync(join(dir, 'envoy.yaml'), fsBootstrap(dir));
    mesh = await createMesh({ config: join(dir, 'envoy.yaml'), env: {} });
    sidecar = await startSidecar({ config: join(dir, 'envoy.yaml'), listen: '127.0.0.1:0', admin: false });
  });

  after(async () => {
    await mesh?.close();
    await sidecar?.close();
    await closeServer(service1?.server);
    await closeServer(service2?.server);
  });

  const viaMesh = async () => (await mesh.fetch('http://localhost:10000/')).text();
  const viaSidecar = async () => (await request(`http://${sidecar.target}/`, { headers: { host: 'localhost:10000' } })).body.text();

  test('the listener and cluster come from lds.yaml and cds.yaml', async () => {
    assert.deepEqual(Object.keys(mesh.snapshot.listeners), ['listener_0']);
    assert.equal(await viaMesh(), 'service1');
    assert.equal(await viaSidecar(), 'service1');
  });

  test('editing cds.yaml (sed -i: write and rename) moves traffic in both modes; a bad edit changes nothing', async () => {
    replaceFile(join(dir, 'cds.yaml'), cds(service2.port));
    await eventually(viaMesh, 'service2');
    await eventually(viaSidecar, 'service2');
    const rejected = new Promise<unknown>((resolve) => mesh.once('config.rejected', resolve));
    replaceFile(join(dir, 'cds.yaml'), cds(service1.port).replace('STRICT_DNS', 'STRICT_DNZ'));
    await rejected;
    assert.equal(await viaMesh(), 'service2');
  });
});

describe('dynamic_resources from ADS (dynamic-config-cp) served by the control plane', () => {
  let service1: Awaited<ReturnType<typeof startNamed>>;
  let service2: Awaited<ReturnType<typeof startNamed>>;
  let plane: ControlPlane;
  let source: FileSource;
  let mesh: Mesh;
  let sidecar: Sidecar;
  let dir: string;

  /** The control plane's resource file: a listener with an inline route to one STATIC cluster. */
  const resources = (port: number) => `- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: listener_0
  address: { socket_address: { address: 0.0.0.0, port_value: 10000 } }
  filter_chains:
  - filters:
    - name: envoy.filters.network.http_connection_manager
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
        stat_prefix: ingress_http
        http_filters:
        - name: envoy.filters.http.health_check
          typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck, pass_through_mode: false, headers: [{ name: ":path", string_match: { exact: /healthz } }] }
        - { name: envoy.filters.http.router, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router } }
        route_config:
          name: local_route
          virtual_hosts: [{ name: all, domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: example_proxy_cluster } }] }]
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: example_proxy_cluster
  type: STATIC
  load_assignment:
    cluster_name: example_proxy_cluster
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${port} } } } }] }]
`;

  const adsBootstrap = (port: number) => `node:
  cluster: test-cluster
  id: test-id
dynamic_resources:
  ads_config:
    api_type: GRPC
    grpc_services:
    - envoy_grpc:
        cluster_name: xds_cluster
  cds_config:
    ads: {}
  lds_config:
    ads: {}
static_resources:
  clusters:
  - type: STRICT_DNS
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config:
          http2_protocol_options: {}
    name: xds_cluster
    load_assignment:
      cluster_name: xds_cluster
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address:
                address: 127.0.0.1
                port_value: ${port}
`;

  before(async () => {
    service1 = await startNamed('service1');
    service2 = await startNamed('service2');
    dir = mkdtempSync(join(tmpdir(), 'xmesh-dynamic-ads-'));
    writeFileSync(join(dir, 'resources.yaml'), resources(service1.port));
    plane = new ControlPlane({ logger: silentLogger });
    source = await serveFile(plane, join(dir, 'resources.yaml'), { debounceMs: 20 });
    const port = await plane.listen(0);
    writeFileSync(join(dir, 'envoy.yaml'), adsBootstrap(port));
    mesh = await createMesh({ config: join(dir, 'envoy.yaml'), env: {} });
    sidecar = await startSidecar({ config: join(dir, 'envoy.yaml'), listen: '127.0.0.1:0', admin: false });
  });

  after(async () => {
    await mesh?.close();
    await sidecar?.close();
    source?.close();
    await plane?.close();
    await closeServer(service1?.server);
    await closeServer(service2?.server);
  });

  const viaMesh = async () => (await mesh.fetch('http://app.local:10000/')).text();
  const viaSidecar = async () => (await request(`http://${sidecar.target}/`, { headers: { host: 'app.local:10000' } })).body.text();

  test('routes come from the control plane, as with createMesh({ xds })', async () => {
    assert.deepEqual(Object.keys(mesh.snapshot.listeners), ['listener_0']);
    assert.deepEqual(Object.keys(mesh.snapshot.clusters), ['example_proxy_cluster'], 'the xds_cluster is the ADS connection, not a routing cluster');
    assert.equal(await viaMesh(), 'service1');
    assert.equal(await viaSidecar(), 'service1');
  });

  test('a health check filter from the control plane answers naming the bootstrap\'s node.cluster, in both modes', async () => {
    const embedded = await mesh.fetch('http://app.local:10000/healthz');
    assert.deepEqual([embedded.status, embedded.headers.get('x-envoy-upstream-healthchecked-cluster'), await embedded.text()], [200, 'test-cluster', '']);
    const proxied = await request(`http://${sidecar.target}/healthz`, { headers: { host: 'app.local:10000' } });
    assert.deepEqual([proxied.statusCode, proxied.headers['x-envoy-upstream-healthchecked-cluster'], await proxied.body.text()], [200, 'test-cluster', '']);
  });

  test('an edit of the control plane\'s file moves traffic in both modes', async () => {
    replaceFile(join(dir, 'resources.yaml'), resources(service2.port));
    await eventually(viaMesh, 'service2');
    await eventually(viaSidecar, 'service2');
  });
});
