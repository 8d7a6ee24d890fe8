import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runRegistryExample } from './app.js';

test('the registry example: three registered replicas share the calls, a live restart costs none', async () => {
  const lines: string[] = [];
  const result = await runRegistryExample((line) => lines.push(line));
  assert.deepEqual(Object.keys(result.before).sort(), ['echo-1', 'echo-2', 'echo-3']);
  assert.deepEqual(Object.keys(result.after).sort(), ['echo-1', 'echo-2b', 'echo-3'], 'the restarted replica replaced the old one');
  assert.equal(result.duringRestart.failed, 0, lines.join('\n'));
  assert.ok(result.duringRestart.calls > 50, `only ${result.duringRestart.calls} calls during the restart`);
});
