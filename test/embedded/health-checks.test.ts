// Active health checking in embedded mode, on Envoy's locality-load-balancing example
// (test/fixtures/health): traffic leaves priority 0 within two health-check intervals of its host
// failing (or dying) and comes back within two intervals of its recovery; priorities spill over as
// the example shows; /clusters and the stats say what Envoy's say. The checks' timers run on a fake
// clock, so "within two intervals" is exact whatever the machine's load.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMesh, type Mesh } from '@xmesh/client';
import { parseConfigText } from '@xmesh/xds';
import { FakeClock } from '../support/fake-clock.js';
import { advanceChecks, localityConfig, startBackends, tally, type Backend, type BackendName } from '../support/locality-backends.js';

const INTERVAL_MS = 2000;

describe('active health checks on the locality-load-balancing example, embedded mode', () => {
  let backends: Record<BackendName, Backend>;
  let mesh: Mesh;
  let clock: FakeClock;

  const stat = (name: string) => mesh.observability.store.value(`cluster.backend.health_check.${name}`);
  const counts = { attempts: () => stat('attempt'), ended: () => stat('success') + stat('failure') };
  const call = async () => (await mesh.fetch('http://backend/')).text();
  const flagsOf = (name: BackendName) => mesh.observability.clusters()[0]!.hosts.find((h) => h.address === `127.0.0.1:${backends[name].port}`)!.healthFlags;

  before(async () => {
    backends = await startBackends();
    clock = new FakeClock(0);
    const parsed = parseConfigText(localityConfig(backends));
    assert.ok(parsed.ok);
    mesh = await createMesh({ config: parsed.value as object, clock });
  });

  after(async () => {
    await mesh.close();
    await Promise.all(Object.values(backends).map((b) => b.stop()));
  });

  test('the cluster warms on the first checks: every host checked once before createMesh resolved, all healthy', () => {
    for (const b of Object.values(backends)) assert.equal(b.healthChecks, 1, b.name);
    assert.equal(stat('attempt'), 4);
    assert.equal(stat('success'), 4);
    assert.equal(mesh.observability.store.value('cluster.backend.health_check.healthy'), 4);
    for (const name of Object.keys(backends) as BackendName[]) assert.equal(flagsOf(name), 'healthy');
  });

  test('scenario 1: priority 0 fails → priority 1 within two intervals; both priority 1 fail → the remote localities; recovery → back to priority 0', async () => {
    assert.deepEqual([...(await tally(20, call)).keys()], ['Hello from backend-local-1!']);

    backends['backend-local-1'].healthy = false;
    await advanceChecks(clock, 2 * INTERVAL_MS, counts, INTERVAL_MS);
    assert.equal(flagsOf('backend-local-1'), '/failed_active_hc');
    const spilled = await tally(100, call);
    assert.deepEqual([...spilled.keys()].sort(), ['Hello from backend-local-2!', 'Hello from backend-remote-1!'], JSON.stringify([...spilled]));

    backends['backend-local-2'].healthy = false;
    await advanceChecks(clock, 2 * INTERVAL_MS, counts, INTERVAL_MS);
    const remote = await tally(100, call);
    assert.deepEqual([...remote.keys()].sort(), ['Hello from backend-remote-1!', 'Hello from backend-remote-2!'], JSON.stringify([...remote]));

    backends['backend-local-1'].healthy = true;
    backends['backend-local-2'].healthy = true;
    await advanceChecks(clock, 2 * INTERVAL_MS, counts, INTERVAL_MS);
    assert.equal(flagsOf('backend-local-1'), 'healthy');
    assert.deepEqual([...(await tally(20, call)).keys()], ['Hello from backend-local-1!']);
    assert.ok(stat('failure') >= 2);
  });

  test('a priority-0 host that dies (connection refused) is a network failure; traffic moves within two intervals and returns once it is back', async () => {
    const local1 = backends['backend-local-1'];
    const port = local1.port;
    const networkFailures = stat('network_failure');
    await local1.stop();
    await advanceChecks(clock, 2 * INTERVAL_MS, counts, INTERVAL_MS);
    assert.ok(stat('network_failure') > networkFailures);
    assert.equal(flagsOf('backend-local-1'), '/failed_active_hc');
    const spilled = await tally(50, call);
    assert.ok(!spilled.has('Hello from backend-local-1!'), JSON.stringify([...spilled]));
    assert.equal([...spilled.values()].reduce((a, b) => a + b, 0), 50, 'no call failed');

    await local1.start(port);
    await advanceChecks(clock, 2 * INTERVAL_MS, counts, INTERVAL_MS);
    assert.deepEqual([...(await tally(20, call)).keys()], ['Hello from backend-local-1!']);
  });

  test('the health check stats use Envoy\'s names in /stats and Prometheus', async () => {
    const text = mesh.observability.statsText();
    for (const name of ['attempt', 'success', 'failure', 'network_failure', 'passive_failure', 'verify_cluster', 'healthy']) {
      assert.match(text, new RegExp(`^cluster\\.backend\\.health_check\\.${name}: \\d+$`, 'm'), name);
    }
    assert.match(await mesh.observability.prometheusText(), /^envoy_cluster_health_check_attempt\{envoy_cluster_name="backend"\} \d+$/m);
  });
});
