import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { ROOT } from './processes.js';
import { loadDemoResources } from './resources.js';
import { RESOURCE_PORTS } from './upstreams.js';

test('resources.yaml: endpoint ports are replaced by the replicas\' real ones, clusters as documented', () => {
  const replicas = [
    { name: 'replica-1', port: 41001, flaky: false },
    { name: 'replica-2', port: 41002, flaky: true },
    { name: 'replica-3', port: 41003, flaky: false },
  ];
  const { resources, clusterOfReplica } = loadDemoResources(replicas);
  const json = JSON.stringify(resources);
  for (const port of RESOURCE_PORTS) assert.ok(!json.includes(`"port_value":${port}`), `port ${port} replaced`);
  for (const r of replicas) assert.ok(json.includes(`"port_value":${r.port}`));
  assert.deepEqual([...clusterOfReplica].sort(), [['replica-1', 'echo-stable'], ['replica-2', 'echo-stable'], ['replica-3', 'echo-canary']]);
  assert.throws(() => loadDemoResources(replicas.slice(0, 2)), /echo-canary lists port 50063, which no replica serves/);
});

test('the demo runs end to end: a split, an ejection, a rate limit, a ramp without a failed call, a benchmark table', { timeout: 150_000 }, async () => {
  const child = spawn(process.execPath, ['--conditions=xmesh-source', '--import', 'tsx', 'examples/demo/demo.ts'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(code, 0, out);
  assert.match(out, /^split: \d+ ok, 0 failed, \d+ retried attempts$/m);
  const stable = Number(/^ {2}echo-stable +\d+ +(\d+)%$/m.exec(out)?.[1]);
  assert.ok(stable >= 70 && stable <= 90, `echo-stable share ${stable}%`);
  assert.match(out, /^ejected: replica-2 \(127\.0\.0\.1:\d+\) from echo-stable, reason \w+, for 30 s$/m);
  assert.match(out, /^after the ejection: 200 calls, 200 ok, 0 failed, 0 reached replica-2/m);
  const limit = /^rate limit: 50 calls: (\d+) ok \/ (\d+) limited \/ 0 failed$/m.exec(out);
  assert.ok(limit, out);
  assert.equal(Number(limit[1]), 20, '20 tokens');
  assert.equal(Number(limit[2]), 30);
  const ramp = [...out.matchAll(/^ramp (.+?) +(\d+) calls, +(\d+) ok, (\d+) failed \(sidecar received (\d+), (\d+)%\)$/gm)];
  assert.deepEqual(ramp.map((m) => m[1]), ['embedded, sidecar 0 %', 'embedded, sidecar 50 %', 'sidecar 100 %', 'back to embedded']);
  for (const m of ramp) {
    assert.equal(m[4], '0', `failed calls in "${m[1]}"`);
    assert.ok(Number(m[3]) > 0, `calls completed in "${m[1]}"`);
  }
  const sidecarShare = ramp.map((m) => Number(m[6]));
  assert.equal(sidecarShare[0], 0);
  assert.ok(sidecarShare[1]! >= 30 && sidecarShare[1]! <= 70, `50 % step sent ${sidecarShare[1]}%`);
  assert.ok(sidecarShare[2]! >= 95, `100 % step sent ${sidecarShare[2]}%`);
  assert.ok(sidecarShare[3]! <= 5, `back to embedded sent ${sidecarShare[3]}%`);
  for (const scenario of ['direct', 'embedded', 'sidecar-xmesh']) assert.match(out, new RegExp(`^${scenario} +unary +c=16 +100 +\\d+`, 'm'));
  // One short round: its table and ratios are labelled as a smoke run, never shown as results.
  assert.match(out, /^smoke run \(1 round, 0\.15 s slices\): .*not results/m);
  assert.match(out, /^demo: ok \(/m);
});
