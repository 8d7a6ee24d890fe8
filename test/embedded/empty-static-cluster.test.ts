// A STATIC cluster without `load_assignment` is a cluster with no endpoints, as Envoy accepts it: calls
// to it get the mesh's "no healthy upstream" at once, in both modes, and the rest of the config serves.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { createMesh, type Mesh } from '@xmesh/client';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { buildSnapshot } from '@xmesh/xds';
import { bootstrap } from '../support/mesh-config.js';
import { within } from '../support/within.js';

describe('a STATIC cluster without load_assignment', () => {
  let upstream: Server;
  let mesh: Mesh;
  let sidecar: Sidecar;
  let config: { static_resources: { clusters: Record<string, unknown>[] } };

  before(async () => {
    upstream = createServer((_req, res) => res.end('ok'));
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    config = bootstrap({
      routes: [{ prefix: '/empty', cluster: 'empty' }, { prefix: '/', cluster: 'web' }],
      clusters: { empty: [], web: [`127.0.0.1:${(upstream.address() as AddressInfo).port}`] },
    }) as typeof config;
    delete config.static_resources.clusters.find((c) => c['name'] === 'empty')!['load_assignment'];
    mesh = await createMesh({ config });
    sidecar = await startSidecar({ config, listen: '127.0.0.1:0', admin: false });
  });
  after(async () => {
    await mesh.close();
    await sidecar.close();
    upstream.closeAllConnections();
    upstream.close();
  });

  test('is accepted with no endpoints; a LOGICAL_DNS one is still refused (Envoy needs its one endpoint)', () => {
    const built = buildSnapshot(config);
    assert.ok(built.ok, JSON.stringify(!built.ok && built.errors));
    assert.equal(built.snapshot.clusters['empty']!.loadAssignment, undefined);
    const logical = structuredClone(config);
    Object.assign(logical.static_resources.clusters.find((c) => c['name'] === 'empty')!, { type: 'LOGICAL_DNS' });
    const refused = buildSnapshot(logical);
    assert.deepEqual(!refused.ok && refused.errors.map((e) => e.path), ['static_resources.clusters[0].load_assignment']);
  });

  test('calls to it get 503 no healthy upstream at once; the other routes serve', async () => {
    const embedded = await within(mesh.fetch('http://svc.local/empty'), 10_000, 'the embedded call');
    assert.equal(embedded.status, 503);
    assert.equal(await embedded.text(), 'no healthy upstream\n');
    const proxied = await within(request(`http://${sidecar.address.host}:${sidecar.address.port}/empty`, { headers: { host: 'svc.local' } }), 10_000, 'the proxied call');
    assert.equal(proxied.statusCode, 503);
    assert.equal(proxied.headers['x-xmesh-error-code'], 'XMESH_NO_HEALTHY_UPSTREAM');
    await proxied.body.text();
    assert.equal(await (await mesh.fetch('http://svc.local/')).text(), 'ok');
  });
});
