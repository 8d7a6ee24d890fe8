// setSnapshot from code: whatever object it is given, it throws XMESH_CONFIG_INVALID with paths, or serves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '@xmesh/core';
import { loadEnvoyProtos } from '@xmesh/xds';
import { ControlPlane, silentLogger } from './index.js';
import { echoResources } from '../../../test/xds/echo-resources.js';

test('setSnapshot refuses hostile objects with XMESH_CONFIG_INVALID and keeps the previous snapshot', () => {
  const plane = new ControlPlane({ protos: loadEnvoyProtos(), logger: silentLogger });
  plane.setSnapshot('good', echoResources({ endpoints: { a: [1001] }, split: { a: 1 } }));
  const cyclic: Record<string, unknown> = { resources: [] };
  (cyclic['resources'] as unknown[]).push(cyclic);
  const cases: [unknown, string][] = [
    [Object.defineProperty({}, 'resources', { enumerable: true, get: () => { throw new Error('boom'); } }), 'resources'],
    [cyclic, 'resources[0]'],
    [new Proxy({}, { ownKeys: () => { throw new Error('keys'); } }), '(root)'],
  ];
  for (const [input, path] of cases) {
    assert.throws(() => plane.setSnapshot('bad', input), (err: unknown) => {
      assert.ok(hasCode(err, 'XMESH_CONFIG_INVALID'), String(err));
      assert.equal(err.errors[0]!.path, path);
      return true;
    });
  }
  assert.equal(plane.versionFor(), 'good');
});
