// Start-up never hangs: `createMesh({ xds })` with no control plane rejects with XMESH_TIMEOUT at the
// initial fetch timeout (from the options or the bootstrap's `initial_fetch_timeout`); with the
// bootstrap's cache on disk it starts at once on the cached config; and what happens during start-up
// (a NACK, the stream coming up, a DNS failure) reaches listeners registered on the returned mesh.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane, silentLogger } from '@xmesh/control-plane';
import { createMesh, type Mesh, type MeshEvents } from '@xmesh/client';
import { createEndpointSource, resolveBootstrap, type XdsBootstrap } from '@xmesh/discovery';
import { loadEnvoyProtos } from '@xmesh/xds';
import { closedPort, loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { unary } from '../support/grpc-call.js';
import { bootstrap as staticBootstrap } from '../support/mesh-config.js';
import { within } from '../support/within.js';
import { echoResources, ECHO_LISTENER } from './echo-resources.js';

const { EchoClient: EchoCtor } = loadEcho();
const protos = loadEnvoyProtos();

const bootstrapFor = (port: number, id: string, extra: Partial<XdsBootstrap> = {}): XdsBootstrap => ({
  xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
  node: { id },
  ...extra,
});


/** The first `event` the mesh delivers to a listener registered now. */
function next<K extends keyof MeshEvents>(mesh: Mesh, event: K): Promise<Parameters<MeshEvents[K]>[0]> {
  return new Promise((resolve) => mesh.once(event, ((payload: Parameters<MeshEvents[K]>[0]) => resolve(payload)) as never));
}

describe('createMesh({ xds }) start-up', () => {
  let plane: ControlPlane;
  let planePort = 0;
  let echo: EchoServer;

  before(async () => {
    echo = await startEchoServer('a');
    plane = new ControlPlane({ protos, logger: silentLogger });
    planePort = await plane.listen(0);
  });
  after(async () => {
    await plane.close();
    await echo.close();
  });

  test('no control plane: rejects with XMESH_TIMEOUT at the configured initial fetch timeout', async () => {
    const port = await closedPort();
    const started = Date.now();
    const creating = createMesh({ xds: bootstrapFor(port, 'absent'), initialFetchTimeoutMs: 400 });
    await assert.rejects(within(creating, 10_000, 'createMesh'), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'XMESH_TIMEOUT');
      assert.match(error.message, /initial fetch timeout \(400 ms\)/);
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 390, `rejected after ${elapsed} ms, before the 400 ms timeout`);
  });

  test("no control plane: the bootstrap's initial_fetch_timeout applies when the options give none", async () => {
    const port = await closedPort();
    assert.equal(resolveBootstrap(bootstrapFor(port, 'b', { initial_fetch_timeout: '0.3s' })).initialFetchTimeoutMs, 300);
    assert.throws(() => resolveBootstrap(bootstrapFor(port, 'b', { initial_fetch_timeout: '3 seconds' })), /initial_fetch_timeout: must be a duration/);
    const started = Date.now();
    await assert.rejects(within(createMesh({ xds: bootstrapFor(port, 'absent-bootstrap', { initial_fetch_timeout: '0.3s' }) }), 10_000, 'createMesh'), {
      code: 'XMESH_TIMEOUT',
      message: /initial fetch timeout \(300 ms\)/,
    });
    assert.ok(Date.now() - started >= 290);
  });

  test('cache on disk, control plane gone: resolves at once on the cached config, says so, and serves calls', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xmesh-startup-'));
    const cachePath = join(dir, 'xds-cache.json');
    try {
      // A first run against the control plane writes the cache.
      plane.setSnapshot('cached-1', echoResources({ endpoints: { a: [echo.port] }, split: { a: 1 } }));
      const first = await createMesh({ xds: bootstrapFor(planePort, 'cache-writer', { cache_path: cachePath }), listener: ECHO_LISTENER });
      await first.close();
      for (let i = 0; i < 100 && !(await stat(cachePath).catch(() => undefined)); i++) await new Promise((r) => setTimeout(r, 20));

      // The second run has no control plane and a long timeout: only the cache can start it.
      const port = await closedPort();
      const started = Date.now();
      const mesh = await within(
        createMesh({ xds: bootstrapFor(port, 'cache-reader', { cache_path: cachePath }), listener: ECHO_LISTENER, initialFetchTimeoutMs: 60_000 }),
        10_000,
        'createMesh from the cache',
      );
      const client = mesh.grpcClient(EchoCtor, `${ECHO_LISTENER}:80`) as EchoClient;
      try {
        assert.ok(Date.now() - started < 10_000);
        const ready = await within(next(mesh, 'xds.ready'), 5_000, 'the replayed xds.ready');
        assert.equal(ready.origin, 'cache');
        assert.match(ready.version, /cached-1/);
        const warning = await within(next(mesh, 'xds.warning'), 5_000, 'the replayed xds.warning');
        assert.match(warning.message, /starting from cached xDS resources/);
        const reply = await unary(client, { message: 'from cache' }, { deadline: Date.now() + 5000 });
        assert.match(reply.server, /^a@/);
      } finally {
        client.close();
        await mesh.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a NACK and the stream coming up during start-up reach listeners registered after createMesh resolved', async () => {
    // The bad field is in the endpoints, the type sent last, so the fixed snapshot resends that type.
    const bad = echoResources({ endpoints: { a: [echo.port] }, split: { a: 1 } });
    const assignment = bad[3] as { endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { port_value: number } } } }[] }[] };
    assignment.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address.port_value = 99_999;
    plane.setSnapshot('bad-1', bad, { nodeId: 'replay' });
    const nacked = once(plane, 'nack');
    const creating = createMesh({ xds: bootstrapFor(planePort, 'replay'), listener: ECHO_LISTENER, initialFetchTimeoutMs: 60_000 });
    await within(nacked, 10_000, 'the NACK');
    plane.setSnapshot('good-2', echoResources({ endpoints: { a: [echo.port] }, split: { a: 1 } }), { nodeId: 'replay' });
    const mesh = await within(creating, 10_000, 'createMesh');
    try {
      const rejected = await within(next(mesh, 'config.rejected'), 5_000, 'the replayed config.rejected');
      assert.match(rejected.errors[0]!.path, /socket_address\.port_value$/);
      const connection = await within(next(mesh, 'xds.connection'), 5_000, 'the replayed xds.connection');
      assert.equal(connection.connected, true);
      const ready = await within(next(mesh, 'xds.ready'), 5_000, 'the replayed xds.ready');
      assert.equal(ready.origin, 'control-plane');
      // The invalid endpoints were the only version: the listener started with its cluster endpoint-less
      // (calls to it fail UNAVAILABLE, gRFC A74), and the good endpoints followed.
      assert.match(ready.version, /Cluster=bad-1/);
      // Replayed once: a second listener registered later gets nothing from start-up.
      let late = 0;
      mesh.on('config.rejected', () => late++);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(late, 0);
    } finally {
      await mesh.close();
      plane.clearSnapshot('replay');
    }
  });

  test('a DNS failure of the first resolution reaches a discovery.error listener registered after createMesh resolved', async () => {
    const config = staticBootstrap({ routes: [{ cluster: 'web' }], clusters: { web: ['127.0.0.1:1'] } }) as { static_resources: { clusters: Record<string, unknown>[] } };
    const cluster = config.static_resources.clusters[0]!;
    cluster.type = 'STRICT_DNS';
    cluster.load_assignment = {
      cluster_name: 'web',
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'web.example.invalid', port_value: 80 } } } }] }],
    };
    const notFound = async (host: string): Promise<string[]> => {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    };
    const mesh = await createMesh({
      config,
      components: { createEndpointSource: (c, options) => createEndpointSource(c, { ...options, resolve: notFound }) },
    });
    try {
      const { error } = await within(next(mesh, 'discovery.error'), 5_000, 'the replayed discovery.error');
      assert.equal(error.code, 'XMESH_DNS_FAILED');
      assert.match(error.message, /web\.example\.invalid/);
    } finally {
      await mesh.close();
    }
  });
});
