// The same registered instances, reached three ways in the same proportions (±2 % over 5 000 calls):
// embedded mode reading etcd itself; an app in sidecar mode through the xmesh sidecar fed by a
// control plane reading etcd; a stock @grpc/grpc-js-xds client on that control plane.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createMesh, type Mesh } from '@xmesh/client';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { registerService, type Registration } from '@xmesh/registry-etcd';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { runConcurrently, unary } from '../support/grpc-call.js';
import { shareOf } from '../support/steady-load.js';
import { REGISTRY_LISTENER, registryResources } from '../support/registry-config.js';
import { bootstrapFor, startRegistryPlane, type RegistryPlane } from '../support/registry-plane.js';

const { EchoClient: EchoCtor } = loadEcho();
const CALLS = 5_000;
const NAMES = ['r1', 'r2', 'r3'];

describe('embedded, sidecar and grpc-js-xds on one registry', () => {
  let etcd: EtcdCluster;
  const servers: EchoServer[] = [];
  const registrations: Registration[] = [];
  let cp: RegistryPlane;
  let sidecar: Sidecar;
  let embedded: Mesh;
  let viaSidecar: Mesh;
  const clients: Record<string, EchoClient> = {};

  before(async () => {
    etcd = await startEtcd();
    for (const name of NAMES) {
      const server = await startEchoServer(name);
      servers.push(server);
      registrations.push(await registerService({ etcd: etcd.url, service: 'echo', address: '127.0.0.1', port: server.port }));
    }
    const resources = registryResources(etcd.endpoints);
    cp = await startRegistryPlane(resources, etcd.url);
    sidecar = await startSidecar({ xds: bootstrapFor([cp.serverUri], 'sidecar'), listen: '127.0.0.1:0', admin: false });
    embedded = await createMesh({ config: resources, listener: REGISTRY_LISTENER, env: {} });
    viaSidecar = await createMesh({ config: resources, listener: REGISTRY_LISTENER, env: {}, mode: 'sidecar', sidecar: { address: sidecar.target } });
    clients['embedded'] = embedded.grpcClient(EchoCtor, `${REGISTRY_LISTENER}:80`) as EchoClient;
    clients['sidecar'] = viaSidecar.grpcClient(EchoCtor, `${REGISTRY_LISTENER}:80`) as EchoClient;
    // grpc-js-xds reads the bootstrap when its first xds: channel is made.
    process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = JSON.stringify(bootstrapFor([cp.serverUri], 'grpc-js-xds'));
    const xds = await import('@grpc/grpc-js-xds');
    xds.register();
    clients['grpc-js-xds'] = new EchoCtor(`xds:///${REGISTRY_LISTENER}`, grpc.credentials.createInsecure()) as EchoClient;
  });

  after(async () => {
    for (const c of Object.values(clients)) c.close();
    await viaSidecar?.close();
    await embedded?.close();
    await sidecar?.close();
    await cp?.close();
    for (const r of registrations) await r.deregister();
    await Promise.all(servers.map((s) => s.close()));
    await etcd?.stop();
  });

  const callMany = async (client: EchoClient, n: number) =>
    (await runConcurrently(n, 16, () => unary(client, { message: 'x' }, { deadline: Date.now() + 5000 }))).map((r) => r.server);

  test('reach the same instances in the same proportions', async () => {
    const landed: Record<string, string[]> = {};
    for (const [mode, client] of Object.entries(clients)) landed[mode] = await callMany(client, CALLS);
    for (const [mode, list] of Object.entries(landed)) {
      assert.deepEqual(new Set(list.map((s) => s.split('@')[0])), new Set(NAMES), `${mode} reached every registered instance and nothing else`);
    }
    for (const name of NAMES) {
      const shares = Object.fromEntries(Object.entries(landed).map(([mode, list]) => [mode, shareOf(list, name)]));
      const values = Object.values(shares);
      assert.ok(Math.max(...values) - Math.min(...values) <= 0.02, `${name}: ${JSON.stringify(shares)}`);
      assert.ok(Math.abs(shares['embedded']! - 1 / 3) <= 0.02, `${name}: ${JSON.stringify(shares)}`);
    }
  });

  test('follow a deregistration, each its own way', async () => {
    const gone = registrations.shift()!;
    await gone.deregister();
    for (const [mode, client] of Object.entries(clients)) {
      const started = Date.now();
      let recent: string[] = [];
      while (Date.now() - started < 10_000) {
        recent = await callMany(client, 60);
        if (recent.every((s) => !s.startsWith('r1@'))) break;
      }
      assert.ok(recent.every((s) => !s.startsWith('r1@')), `${mode} still calls r1`);
    }
  });
});
