import { test } from 'node:test';
import assert from 'node:assert/strict';
import { providerInstance, providerInstances } from './provider-url.js';

const I = 'com.example.HelloService';
const node = (query: string, host = '10.0.0.7:12200') => encodeURIComponent(`bolt://${host}?${query}`);

test('a provider node as sofa-rpc-node publishes it becomes an instance with its weight and SOFA labels', () => {
  const e = providerInstance(node(`startTime=1&pid=2&dynamic=true&weight=100&serialization=hessian2&interface=${I}&version=1.0&group=SOFA`), { interface: I, version: '1.0', group: 'SOFA' });
  assert.equal(e?.id, '10.0.0.7:12200');
  assert.deepEqual([e?.address, e?.port, e?.weight, e?.healthy, e?.zone], ['10.0.0.7', 12200, 100, true, '']);
  assert.deepEqual(e?.metadata, { version: '1.0', group: 'SOFA', serialization: 'hessian2' });
});

test('filters as the stock client: interface, category, enabled, version and group (when both name one); weight 0 serves nothing', () => {
  const f = { interface: I, version: '1.0', group: 'SOFA' };
  assert.equal(providerInstance(node('interface=other.Service'), f), undefined);
  assert.equal(providerInstance(node(`interface=${I}&category=consumers`), f), undefined);
  assert.equal(providerInstance(node(`interface=${I}&enabled=false`), f), undefined);
  assert.equal(providerInstance(node(`interface=${I}&version=2.0`), f), undefined);
  assert.equal(providerInstance(node(`interface=${I}&group=GRAY`), f), undefined);
  assert.equal(providerInstance(node(`interface=${I}&default.group=GRAY`), f), undefined);
  assert.equal(providerInstance(node(`interface=${I}&weight=0`), f), undefined);
  assert.ok(providerInstance(node(`interface=${I}`), f), 'a provider naming no version or group serves every consumer');
  assert.ok(providerInstance(node(`interface=${I}&version=2.0`), { interface: I }), 'a consumer naming no version takes any');
  assert.equal(providerInstance(node(`interface=${I}&weight=7`), f)?.weight, 7);
  assert.equal(providerInstance(node(`interface=${I}`), f)?.weight, 100, 'SOFA default weight');
});

test('garbage nodes are skipped, duplicates of an address keep the first, and the list is in id order', () => {
  const f = { interface: I };
  const list = providerInstances([
    '%%%', 'not a url', encodeURIComponent('http://10.0.0.1:80/?x'), node(`interface=${I}&weight=5`, '10.0.0.9:1'),
    node(`interface=${I}&weight=6`, '10.0.0.9:1'), node(`interface=${I}`, '10.0.0.2:2'), node(`interface=${I}`, '[::1]:3'),
  ], f);
  assert.deepEqual(list.map((e) => e.id), ['10.0.0.2:2', '10.0.0.9:1', '[::1]:3']);
  assert.equal(list.find((e) => e.id === '10.0.0.9:1')?.weight, 5);
});
