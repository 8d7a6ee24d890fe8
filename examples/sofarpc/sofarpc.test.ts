import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runExample } from './app.js';
// @ts-expect-error: a plain ES module of the repo's scripts, without type declarations
import { startZooKeeper } from '../../scripts/zookeeper.mjs';

test('the SOFARPC example: the stock provider answers through xmesh in embedded mode, then through the sidecar', async () => {
  const zk = await startZooKeeper();
  try {
    const lines: string[] = [];
    const result = await runExample(zk.connectString, (line) => lines.push(line));
    assert.deepEqual(result.embedded, ['hello call 0, from provider-1', 'hello call 1, from provider-1', 'hello call 2, from provider-1']);
    assert.deepEqual(result.sidecar, result.embedded);
    assert.match(lines.at(-1)!, /sidecar saw 3 calls; the app's embedded pipeline 3/);
  } finally {
    await zk.stop();
  }
});
