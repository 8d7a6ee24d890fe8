import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./config-scale.ts', import.meta.url));

test('config-scale runs at a tiny size and prints every figure', { timeout: 120_000 }, async () => {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--conditions=xmesh-source', '--import', 'tsx', '--expose-gc', script, '--endpoints', '50', '--clusters', '20', '--per-cluster', '3', '--updates', '3', '--rounds', '1'],
      { timeout: 110_000 }, (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)));
  });
  assert.match(stdout, /^machine: .+; Node v\d+/m);
  assert.match(stdout, /^mesh of 20 clusters × 3 endpoints: applied with every picker built in \d+ ms; heap [\d.]+ MB, -?[\d.]+ MB over a one-cluster mesh$/m);
  for (const label of ['one-endpoint delta, 20 clusters', 'one-endpoint delta, 2 clusters', '50-endpoint update, no metadata', '50-endpoint update, with metadata']) {
    assert.match(stdout, new RegExp(`^${label}: p50 [\\d.]+ ms, p99 [\\d.]+ ms \\(n=3\\)$`, 'm'));
    assert.match(stdout, new RegExp(`^${label}: [\\d.]+ ms \\(p50s [\\d.]+\\)$`, 'm'));
  }
  // The others' per-endpoint state is kept: one pool membership joined and one left for the one changed endpoint.
  assert.match(stdout, /^one endpoint changed among 50 \(metadata\): [\d.]+ ms; transport-pool joins 1, leaves 1 .+; cluster runtime and outlier detector kept$/m);
});
