/**
 * Interop (d): the mode switch for Bolt. Under load from the embedded drop-in, a percentage ramp
 * moves calls from embedded to the xmesh sidecar (stock providers behind both) with zero failed
 * calls; and a retry policy runs once — in the app when embedded, in the sidecar when not, never both.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMesh, type Mesh } from '@xmesh/client';
import { MeshRpcClient } from '@xmesh/bolt';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { boltConfig } from '../support/bolt-config.js';
import { failures, runLoad } from '../support/load.js';
import { HELLO_SERVICE, startProvider, type SofaProvider } from '../support/sofa.js';

let provider: SofaProvider;
let sidecar: Sidecar;
let mesh: Mesh;
let client: MeshRpcClient;

/** One config for both: the app's embedded mesh and the sidecar read the same resources. */
function config(): object {
  return boltConfig({
    virtualHosts: [{
      name: 'hello',
      domains: [HELLO_SERVICE],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'providers', retry_policy: { retry_on: '5xx', num_retries: 1 } } }],
    }],
    clusters: { providers: [provider.address] },
  });
}

before(async () => {
  provider = await startProvider({ name: 'p1' });
  sidecar = await startSidecar({ config: config(), listen: '127.0.0.1:0', admin: false });
  mesh = await createMesh({ config: config() });
  client = new MeshRpcClient(mesh, { sidecarAddress: `127.0.0.1:${sidecar.boltAddresses[0]!.port}` });
});

after(async () => {
  await client.close();
  await mesh.close();
  await sidecar.close();
  await provider.close();
});

const sidecarCalls = () => sidecar.mesh.observability.store.value('cluster.providers.upstream_rq_total');
const embeddedCalls = () => mesh.observability.store.value('cluster.providers.upstream_rq_total');

test('a percentage ramp from embedded to sidecar under load: zero failed calls, both paths used', async () => {
  const consumer = client.createConsumer({ interfaceName: HELLO_SERVICE });
  const ramp = (async () => {
    for (const percent of [0, 25, 50, 75, 100]) {
      mesh.setMode({ sidecar: { percent } });
      await new Promise((r) => setTimeout(r, 400));
    }
  })();
  const [load] = await Promise.all([runLoad({ concurrency: 16, maxMs: 2_500 }, (i) => consumer.invoke('sayHello', [`r${i}`], { responseTimeout: 10_000 })), ramp]);
  assert.equal(load.resolved, load.started, 'every call started ended');
  assert.deepEqual(failures(load.calls).map((c) => String(!c.result.ok && c.result.error)), []);
  assert.ok(load.resolved > 100, `calls made: ${load.resolved}`);
  assert.ok(embeddedCalls() > 0 && sidecarCalls() > 0, `embedded ${embeddedCalls()}, sidecar ${sidecarCalls()}`);
  // At 100 % every new call goes to the sidecar.
  const before = embeddedCalls();
  for (let i = 0; i < 20; i++) assert.equal(await consumer.invoke('sayHello', ['s']), 'hello s from p1');
  assert.equal(embeddedCalls(), before);
  assert.ok(client.bolt.sidecarOpen >= 1);
});

test('no double retries: a failing method is tried twice per call in either mode, never four times', async () => {
  const consumer = client.createConsumer({ interfaceName: HELLO_SERVICE });
  for (const mode of ['sidecar', 'embedded'] as const) {
    mesh.setMode({ mode, sidecar: { percent: 0 } });
    const before = provider.calls.get('fail') ?? 0;
    for (let i = 0; i < 10; i++) await assert.rejects(consumer.invoke('fail', ['no']));
    assert.equal((provider.calls.get('fail') ?? 0) - before, 20, `${mode}: one try and one retry per call`);
  }
});
