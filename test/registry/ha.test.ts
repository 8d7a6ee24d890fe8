// High availability on a 3-member etcd cluster (real etcd processes): a member killed under load
// costs no call and the watches go on; two control planes reading the same etcd, the client's
// bootstrap listing both (gRFC A71 order): the one in use killed, the client moves to the other
// and keeps serving and following the registry, with no failed call.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMesh, type Mesh } from '@xmesh/client';
import { registerService, type Registration } from '@xmesh/registry-etcd';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd-server.js';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { eventually, sleep, startLoad } from '../support/steady-load.js';
import { REGISTRY_LISTENER, registryResources } from '../support/registry-config.js';
import { bootstrapFor, startRegistryPlane, type RegistryPlane } from '../support/registry-plane.js';

const { EchoClient: EchoCtor } = loadEcho();

describe('high availability', () => {
  let etcd: EtcdCluster;
  const servers: EchoServer[] = [];
  const registrations: Registration[] = [];

  const addReplica = async (name: string): Promise<{ server: EchoServer; registration: Registration }> => {
    const server = await startEchoServer(name);
    const registration = await registerService({ etcd: etcd.url, service: 'echo', address: '127.0.0.1', port: server.port });
    servers.push(server);
    registrations.push(registration);
    return { server, registration };
  };

  before(async () => {
    etcd = await startEtcdCluster(3);
    for (const name of ['a', 'b', 'c']) await addReplica(name);
  });

  after(async () => {
    for (const r of registrations) await r.deregister();
    await Promise.all(servers.map((s) => s.close()));
    await etcd?.stop();
  });

  test('an etcd member killed under load: no call fails, the watches go on', async () => {
    const mesh: Mesh = await createMesh({ config: registryResources(etcd.endpoints), listener: REGISTRY_LISTENER, env: {} });
    const client = mesh.grpcClient(EchoCtor, `${REGISTRY_LISTENER}:80`) as EchoClient;
    const ports = () => (mesh.state() as { clusters: ReadonlyMap<string, { endpoints: readonly { port: number }[] }> }).clusters.get('echo')!.endpoints.map((e) => e.port);
    const load = startLoad(client, 8);
    try {
      assert.equal(ports().length, 3);
      await sleep(300);
      // Every member is killed in turn (and brought back), so the one the mesh's watch stream uses is among them.
      for (const member of etcd.members) {
        await member.kill();
        const { server } = await addReplica(`after-${member.name}`);
        // Generous: on a loaded machine the surviving members' election and the watch's move to one of them
        // take a few seconds (3–5 s with two CPU hogs beside the test); the bound only catches a watch that never recovers.
        await eventually(`a replica registered with ${member.name} down, seen`, () => ports().includes(server.port), 40_000);
        await member.restart();
      }
    } finally {
      await load.stop();
      client.close();
      await mesh.close();
    }
    assert.deepEqual(load.failures, []);
    assert.ok(load.landed.length > 100, `only ${load.landed.length} calls`);
  });

  test('two control planes: the one in use killed, the client moves to the other, no call fails', async () => {
    const resources = registryResources(etcd.endpoints);
    const planes: RegistryPlane[] = [await startRegistryPlane(resources, etcd.url), await startRegistryPlane(resources, etcd.url)];
    const [first, second] = planes as [RegistryPlane, RegistryPlane];
    const mesh = await createMesh({ xds: bootstrapFor([first.serverUri, second.serverUri], 'ha-client', true), listener: REGISTRY_LISTENER, env: {} });
    const client = mesh.grpcClient(EchoCtor, `${REGISTRY_LISTENER}:80`) as EchoClient;
    const ports = () => (mesh.state() as { clusters: ReadonlyMap<string, { endpoints: readonly { port: number }[] }> }).clusters.get('echo')!.endpoints.map((e) => e.port);
    const load = startLoad(client, 8);
    try {
      assert.equal(first.plane.streamCount, 1, 'the client uses the first server listed');
      assert.equal(second.plane.streamCount, 0);
      await sleep(300);
      await first.close();
      await eventually('the client on the second control plane', () => second.plane.streamCount === 1, 30_000);
      const { server } = await addReplica('late');
      await eventually('a replica registered after the move, seen through the second control plane', () => ports().includes(server.port), 30_000);
      await sleep(300);
    } finally {
      await load.stop();
      client.close();
      await mesh.close();
      await Promise.all(planes.map((p) => p.close()));
    }
    assert.deepEqual(load.failures, []);
    assert.ok(load.landed.some((s) => s.startsWith('late@')), 'the late replica got calls');
  });
});
