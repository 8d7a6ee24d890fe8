// RouteAction `priority: HIGH`: the route's calls are admitted by the cluster's HIGH circuit-breaker
// thresholds, apart from DEFAULT's (Envoy's RoutingPriority). Both modes, stock grpc-js callers, a
// stock server that holds calls until the test releases them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createMesh, type Mesh } from '@xmesh/client';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { bootstrap } from '../support/mesh-config.js';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { unary } from '../support/grpc-call.js';
import { waitFor } from '../support/wait-for.js';

const { EchoClient: EchoCtor } = loadEcho();

function config(address: string): object {
  const cfg = bootstrap({
    routes: [{ prefix: '/', headers: { 'x-priority': 'high' }, cluster: 'echo' }, { prefix: '/', cluster: 'echo' }],
    clusters: { echo: [address] },
    http2: ['echo'],
  }) as {
    static_resources: {
      listeners: { filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: { routes: { route: Record<string, unknown> }[] }[] } } }[] }[] }[];
      clusters: Record<string, unknown>[];
    };
  };
  cfg.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes[0]!.route['priority'] = 'HIGH';
  cfg.static_resources.clusters[0]!['circuit_breakers'] = { thresholds: [{ priority: 'DEFAULT', max_requests: 1 }, { priority: 'HIGH', max_requests: 3 }] };
  return cfg;
}

function priorityMeta(high: boolean): grpc.Metadata {
  const m = new grpc.Metadata();
  if (high) m.set('x-priority', 'high');
  return m;
}

describe('route priority HIGH uses the HIGH thresholds', () => {
  let server: EchoServer;
  let mesh: Mesh;
  let sidecar: Sidecar;

  before(async () => {
    server = await startEchoServer('held');
    mesh = await createMesh({ config: config(server.address) });
    sidecar = await startSidecar({ config: config(server.address), listen: '127.0.0.1:0', admin: false });
  });
  after(async () => {
    server.release();
    await mesh.close();
    await sidecar.close();
    await server.close();
  });

  for (const mode of ['embedded', 'sidecar'] as const) {
    test(`${mode}: DEFAULT admits 1 held call, HIGH 3 more, each apart`, async () => {
      const client = (mode === 'embedded'
        ? mesh.grpcClient(EchoCtor, 'dns:///echo.local:50051')
        : new EchoCtor(`${sidecar.address.host}:${sidecar.address.port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'echo.local' })) as EchoClient;
      try {
        const settled: (string | number)[] = [];
        const call = (high: boolean) => unary(client, { message: 'hold' }, {}, 'Echo', priorityMeta(high)).then(() => 'ok', (e: grpc.ServiceError) => e.code);
        const held = [call(false)];
        await waitFor(() => server.held, (n) => n === 1, 'the DEFAULT call to be held');
        settled.push(await call(false));
        for (let i = 0; i < 3; i++) held.push(call(true));
        await waitFor(() => server.held, (n) => n === 4, 'three HIGH calls held beside the DEFAULT one');
        settled.push(await call(true));
        assert.deepEqual(settled, [grpc.status.UNAVAILABLE, grpc.status.UNAVAILABLE], 'a second DEFAULT and a fourth HIGH call are over their thresholds');
        server.release();
        assert.deepEqual(await Promise.all(held), ['ok', 'ok', 'ok', 'ok']);
      } finally {
        client.close();
      }
    });
  }
});
