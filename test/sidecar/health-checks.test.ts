// Active health checking in the xmesh sidecar, on Envoy's locality-load-balancing example
// (test/fixtures/health): the sidecar checks the hosts and moves traffic to priority 1 within two
// intervals of the priority-0 host failing, and back after it recovers; its admin /clusters shows
// Envoy's health_flags. An app whose calls go to the sidecar runs no checks of its own.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createMesh } from '@xmesh/client';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { parseConfigText } from '@xmesh/xds';
import { FakeClock } from '../support/fake-clock.js';
import { advanceChecks, localityConfig, startBackends, tally, type Backend, type BackendName } from '../support/locality-backends.js';

const INTERVAL_MS = 2000;

function get(port: number, path: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('active health checks on the locality-load-balancing example, through the sidecar', () => {
  let backends: Record<BackendName, Backend>;
  let sidecar: Sidecar;
  let clock: FakeClock;
  let config: object;

  const stat = (name: string) => sidecar.mesh.observability.store.value(`cluster.backend.health_check.${name}`);
  const counts = { attempts: () => stat('attempt'), ended: () => stat('success') + stat('failure') };
  const call = () => get(sidecar.address.port, '/', 'backend');
  const clustersText = () => get(sidecar.adminAddress!.port, '/clusters', 'admin');

  before(async () => {
    backends = await startBackends();
    clock = new FakeClock(0);
    const parsed = parseConfigText(localityConfig(backends));
    assert.ok(parsed.ok);
    config = parsed.value as object;
    sidecar = await startSidecar({ config, clock, listen: '127.0.0.1:0', admin: '127.0.0.1:0' });
  });

  after(async () => {
    await sidecar.close();
    await Promise.all(Object.values(backends).map((b) => b.stop()));
  });

  test('traffic moves to priority 1 within two intervals of the priority-0 host failing, and back after it recovers', async () => {
    assert.deepEqual([...(await tally(20, call)).keys()], ['Hello from backend-local-1!']);
    const local1 = `backend::127.0.0.1:${backends['backend-local-1'].port}::health_flags::`;
    assert.ok((await clustersText()).includes(`${local1}healthy\n`));

    backends['backend-local-1'].healthy = false;
    await advanceChecks(clock, 2 * INTERVAL_MS, counts, INTERVAL_MS);
    assert.ok((await clustersText()).includes(`${local1}/failed_active_hc\n`), await clustersText());
    const spilled = await tally(100, call);
    assert.deepEqual([...spilled.keys()].sort(), ['Hello from backend-local-2!', 'Hello from backend-remote-1!'], JSON.stringify([...spilled]));

    backends['backend-local-1'].healthy = true;
    await advanceChecks(clock, 2 * INTERVAL_MS, counts, INTERVAL_MS);
    assert.ok((await clustersText()).includes(`${local1}healthy\n`));
    assert.deepEqual([...(await tally(20, call)).keys()], ['Hello from backend-local-1!']);
  });

  test('an app in sidecar mode runs no health checks (the sidecar does); in embedded mode it runs its own', async () => {
    const checksBefore = Object.values(backends).map((b) => b.healthChecks);
    const app = await createMesh({ config, mode: 'sidecar', sidecar: { address: sidecar.target }, env: {}, clock: new FakeClock(0) });
    const reply = await (await app.fetch('http://backend/')).text();
    assert.equal(reply.trim(), 'Hello from backend-local-1!');
    assert.deepEqual(Object.values(backends).map((b) => b.healthChecks), checksBefore, 'no check from the app');
    assert.equal(app.observability.store.value('cluster.backend.health_check.attempt'), 0);
    // Switched to embedded, the app starts checking (and warms before it routes).
    app.setMode({ mode: 'embedded' });
    const embedded = await (await app.fetch('http://backend/')).text();
    assert.equal(embedded.trim(), 'Hello from backend-local-1!');
    assert.equal(app.observability.store.value('cluster.backend.health_check.attempt'), 4);
    await app.close();
  });
});
