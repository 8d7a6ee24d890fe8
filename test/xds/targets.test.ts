// xds:/// targets name their Listener, in mesh.grpcClient, mesh.unary and mesh.fetch, with the same rule
// whether the config comes from a file or a control plane: a call uses that listener only (never another
// one's routes), carries the target's name as :authority, and — with a control plane — waits while the
// listener is on its way instead of failing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { ControlPlane, silentLogger } from '@xmesh/control-plane';
import { createMesh, isMeshError, parseTarget, parseXdsUrl, type Mesh } from '@xmesh/client';
import { loadEnvoyProtos, TypeUrl } from '@xmesh/xds';
import { loadEcho, startEchoServer, type EchoClient, type EchoReply, type EchoServer } from '../support/echo-server.js';
import { unary } from '../support/grpc-call.js';
import { within } from '../support/within.js';
import { frameworkCluster, frameworkEndpoints, frameworkListener, frameworkRouteConfig } from './grpc-node-framework.js';

const { EchoClient: EchoCtor } = loadEcho();
const echoMethod = (EchoCtor.service as grpc.ServiceDefinition)['Echo']!;
const protos = loadEnvoyProtos();

const serverOf = (reply: { server: string }) => reply.server.split('@')[0]!;

test('parseTarget and parseXdsUrl: xds:///name names a listener (mapped by the template), other targets are authorities', () => {
  const template = (name: string) => `xdstp://mesh/envoy.config.listener.v3.Listener/${name}`;
  assert.deepEqual(parseTarget('xds:///orders:50051', template), { authority: 'orders:50051', listener: 'xdstp://mesh/envoy.config.listener.v3.Listener/orders:50051' });
  assert.deepEqual(parseTarget('xds:orders', (n) => n), { authority: 'orders', listener: 'orders' });
  assert.deepEqual(parseTarget('dns:///orders:50051', template), { authority: 'orders:50051', listener: undefined });
  assert.deepEqual(parseTarget('orders:50051', template), { authority: 'orders:50051', listener: undefined });
  assert.throws(() => parseTarget('xds://td.example/orders', template), (e: unknown) => isMeshError(e) && e.code === 'XMESH_CONFIG_INVALID' && /xDS authorities/.test(e.message));
  assert.throws(() => parseTarget('xds:///', template), /names a listener/);
  assert.deepEqual(parseXdsUrl('xds:///web.local:8080/a/b?c=1', (n) => n), { url: 'http://web.local:8080/a/b?c=1', target: { authority: 'web.local:8080', listener: 'web.local:8080' } });
  assert.deepEqual(parseXdsUrl('xds:///web?q', (n) => n), { url: 'http://web/?q', target: { authority: 'web', listener: 'web' } });
  assert.equal(parseXdsUrl('http://web/x', (n) => n), undefined);
});

describe('xds:/// targets with a config from a file', () => {
  const backends: Record<string, EchoServer> = {};
  let http: Server;
  let httpPort = 0;
  let lastRequest: { host: string | undefined; url: string | undefined; headers: IncomingHttpHeaders } | undefined;
  let mesh: Mesh;

  before(async () => {
    for (const name of ['a', 'b']) backends[name] = await startEchoServer(name, undefined, '::1');
    http = createServer((req, res) => {
      lastRequest = { host: req.headers.host, url: req.url, headers: req.headers };
      res.end('web');
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    httpPort = (http.address() as { port: number }).port;
    mesh = await createMesh({
      config: [
        frameworkListener('l1', 'r1'),
        frameworkRouteConfig('r1', [{ cluster: 'A' }]),
        frameworkListener('l2', 'r2'),
        frameworkRouteConfig('r2', [{ cluster: 'B' }]),
        frameworkCluster('A', 'A'),
        frameworkEndpoints('A', [{ locality: {}, ports: [backends['a']!.port] }]),
        frameworkCluster('B', 'B'),
        frameworkEndpoints('B', [{ locality: {}, ports: [backends['b']!.port] }]),
        frameworkListener('web', 'web-routes'),
        frameworkRouteConfig('web-routes', [{ cluster: 'W' }]),
        { '@type': TypeUrl.Cluster, name: 'W', load_assignment: { cluster_name: 'W', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: httpPort } } } }] }] } },
      ],
    });
  });

  after(async () => {
    await mesh?.close();
    await Promise.all(Object.values(backends).map((b) => b.close()));
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });

  test('grpcClient: each target reaches its own listener\'s cluster, carrying the name as :authority', async () => {
    const l1 = mesh.grpcClient(EchoCtor, 'xds:///l1') as EchoClient;
    const l2 = mesh.grpcClient(EchoCtor, 'xds:///l2') as EchoClient;
    try {
      assert.equal(serverOf(await unary(l2, { message: 'x' }, { deadline: Date.now() + 5000 })), 'b');
      assert.equal(backends['b']!.lastAuthority, 'l2');
      assert.equal(serverOf(await unary(l1, { message: 'x' }, { deadline: Date.now() + 5000 })), 'a');
      assert.equal(backends['a']!.lastAuthority, 'l1');
    } finally {
      l1.close();
      l2.close();
    }
  });

  test('a listener the config lacks fails UNAVAILABLE at once, never through another listener\'s routes', async () => {
    const nope = mesh.grpcClient(EchoCtor, 'xds:///nope') as EchoClient;
    const calls = backends['a']!.calls + backends['b']!.calls;
    try {
      await assert.rejects(unary(nope, { message: 'x' }, { deadline: Date.now() + 5000 }), (e: grpc.ServiceError) => {
        assert.equal(e.code, grpc.status.UNAVAILABLE);
        assert.match(e.details, /listener "nope" is not in the config/);
        return true;
      });
      assert.equal(backends['a']!.calls + backends['b']!.calls, calls);
      await assert.rejects(mesh.unary('xds:///nope', echoMethod.path, echoMethod.requestSerialize({ message: 'x' })), { code: 'XMESH_NO_ROUTE', grpcStatus: 14 });
    } finally {
      nope.close();
    }
  });

  test('unary: the fast API takes xds:/// targets too', async () => {
    const reply = echoMethod.responseDeserialize(await mesh.unary('xds:///l2', echoMethod.path, echoMethod.requestSerialize({ message: 'fast' }))) as EchoReply;
    assert.equal(serverOf(reply), 'b');
    assert.equal(backends['b']!.lastAuthority, 'l2');
  });

  test('fetch: xds:///name/path goes to /path with Host: name, through that listener; a missing listener gets a 503 local reply', async () => {
    const res = await mesh.fetch('xds:///web/hello?x=1', { headers: { 'x-app': '1' } });
    assert.equal(await res.text(), 'web');
    assert.deepEqual([lastRequest?.host, lastRequest?.url, lastRequest?.headers['x-app']], ['web', '/hello?x=1', '1']);
    const viaRequest = await mesh.fetch(new Request('xds:///web/posted', { method: 'POST', body: 'hi' }));
    assert.equal(await viaRequest.text(), 'web');
    assert.deepEqual([lastRequest?.url, lastRequest?.host], ['/posted', 'web']);
    const missing = await mesh.fetch('xds:///nowhere/x');
    assert.equal(missing.status, 503);
    assert.equal(missing.headers.get('x-xmesh-error-code'), 'XMESH_NO_ROUTE');
    await assert.rejects(mesh.fetch('xds://authority/web/x'), (e: TypeError) => isMeshError(e.cause) && e.cause.code === 'XMESH_CONFIG_INVALID');
  });
});

describe('xds:/// targets with a control plane', () => {
  let plane: ControlPlane;
  let backend: EchoServer;
  let mesh: Mesh;

  before(async () => {
    backend = await startEchoServer('late', undefined, '::1');
    plane = new ControlPlane({ protos, logger: silentLogger, namedOnly: true });
    plane.setSnapshot('v1', []);
    const port = await plane.listen(0);
    mesh = await createMesh({ xds: { xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }] }], node: { id: 'targets', locality: {} } } });
  });

  after(async () => {
    await mesh?.close();
    await plane?.close();
    await backend?.close();
  });

  test('a call made before its listener exists waits for it, then lands where it routes; config.applied and xds.update name it', async () => {
    const updates: string[][] = [];
    mesh.on('xds.update', (u) => updates.push([...u.listeners, ...u.routeConfigs, ...u.clusters, ...u.endpoints]));
    const client = mesh.grpcClient(EchoCtor, 'xds:///late') as EchoClient;
    try {
      const call = unary(client, { message: 'x' }, { deadline: Date.now() + 20_000 });
      // The listener does not exist yet: the named-only control plane says nothing, the call waits.
      await new Promise((r) => setTimeout(r, 300));
      plane.setSnapshot('v2', [
        frameworkListener('late', 'late-routes'),
        frameworkRouteConfig('late-routes', [{ cluster: 'late-cluster' }]),
        frameworkCluster('late-cluster', 'late-endpoints'),
        frameworkEndpoints('late-endpoints', [{ locality: {}, ports: [backend.port] }]),
      ]);
      assert.equal(serverOf(await within(call, 15_000, 'the waiting call')), 'late');
      assert.deepEqual(updates.at(-1), ['late', 'late-routes', 'late-cluster', 'late-endpoints']);
    } finally {
      client.close();
    }
  });

  test('a waiting call ends at its deadline with DEADLINE_EXCEEDED, and a cancelled one at once', async () => {
    const client = mesh.grpcClient(EchoCtor, 'xds:///never') as EchoClient;
    try {
      const started = Date.now();
      // The listener is never sent: its does-not-exist timer (15 s) is later than the caller's deadline.
      await assert.rejects(unary(client, { message: 'x' }, { deadline: Date.now() + 300 }), (e: grpc.ServiceError) => {
        assert.equal(e.code, grpc.status.DEADLINE_EXCEEDED, e.details);
        assert.match(e.details, /deadline passed while waiting for listener "never"/);
        return true;
      });
      assert.ok(Date.now() - started < 10_000);
      const cancelled = new Promise<grpc.ServiceError>((resolve) => {
        const call = client['Echo']({ message: 'x' }, { deadline: Date.now() + 20_000 }, (e: grpc.ServiceError) => resolve(e));
        setTimeout(() => call.cancel(), 50);
      });
      assert.equal((await within(cancelled, 5_000, 'the cancelled call')).code, grpc.status.CANCELLED);
    } finally {
      client.close();
    }
  });
});

describe('a route to a cluster the control plane does not have (an Envoy bootstrap following ADS)', () => {
  let plane: ControlPlane;
  let http: Server;
  let mesh: Mesh;

  before(async () => {
    http = createServer((_req, res) => res.end('present'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const httpPort = (http.address() as { port: number }).port;
    plane = new ControlPlane({ protos, logger: silentLogger });
    const route = (prefix: string, cluster: string, extra: Record<string, unknown> = {}) => ({ match: { prefix }, route: { cluster, ...extra } });
    plane.setSnapshot('v1', [
      {
        '@type': TypeUrl.Listener,
        name: 'ingress',
        address: { socket_address: { address: '0.0.0.0', port_value: 10000 } },
        filter_chains: [{
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': TypeUrl.HttpConnectionManager,
              stat_prefix: 'ingress',
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
              route_config: {
                name: 'local',
                virtual_hosts: [{
                  name: 'all',
                  domains: ['*'],
                  routes: [
                    route('/not-found', 'gone', { cluster_not_found_response_code: 'NOT_FOUND' }),
                    route('/default', 'gone'),
                    route('/', 'present'),
                  ],
                }],
              },
            },
          }],
        }],
      },
      { '@type': TypeUrl.Cluster, name: 'present', load_assignment: { cluster_name: 'present', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: httpPort } } } }] }] } },
    ]);
    const port = await plane.listen(0);
    mesh = await createMesh({
      config: {
        node: { id: 'envoy-style', cluster: 'test' },
        dynamic_resources: { ads_config: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }] }, lds_config: { ads: {} }, cds_config: { ads: {} } },
        static_resources: {
          clusters: [{
            name: 'xds_cluster',
            type: 'STATIC',
            typed_extension_protocol_options: {
              'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
                '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
                explicit_http_config: { http2_protocol_options: {} },
              },
            },
            load_assignment: { cluster_name: 'xds_cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
          }],
        },
      },
      env: {},
    });
  });

  after(async () => {
    await mesh?.close();
    await plane?.close();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });

  test('the listener serves; calls to the missing cluster get cluster_not_found_response_code, 503 by default, as Envoy answers them', async () => {
    assert.equal(await (await mesh.fetch('http://app.local:10000/ok')).text(), 'present');
    const notFound = await mesh.fetch('http://app.local:10000/not-found');
    assert.equal(notFound.status, 404);
    assert.equal(notFound.headers.get('x-xmesh-error-code'), 'XMESH_NO_CLUSTER');
    const unavailable = await mesh.fetch('http://app.local:10000/default');
    assert.equal(unavailable.status, 503);
    assert.match(await unavailable.text(), /cluster "gone" does not exist/);
  });
});
