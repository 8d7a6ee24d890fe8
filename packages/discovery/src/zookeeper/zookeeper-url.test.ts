import { test } from 'node:test';
import assert from 'node:assert/strict';
import { zookeeperOptionsFromUrl } from './zookeeper-registry.js';

test('xmesh control-plane --registry zookeeper://...: servers, root and the provider filters', () => {
  assert.deepEqual(zookeeperOptionsFromUrl('zookeeper://127.0.0.1:2181'), { servers: ['127.0.0.1:2181'] });
  assert.deepEqual(zookeeperOptionsFromUrl('zookeeper://a:2181,b:2182/rpc?version=1.0&group=SOFA&session_timeout_ms=10000'), {
    servers: ['a:2181', 'b:2182'], root: '/rpc', version: '1.0', group: 'SOFA', sessionTimeoutMs: 10_000,
  });
  for (const bad of ['etcd://a:1', 'zookeeper://', 'zookeeper://a', 'zookeeper://a:1?weight=3', 'zookeeper://a:1?session_timeout_ms=soon']) {
    assert.throws(() => zookeeperOptionsFromUrl(bad), (e: { code?: string }) => e.code === 'XMESH_CONFIG_INVALID', bad);
  }
});
