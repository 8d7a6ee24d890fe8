import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoint, MeshError } from '@xmesh/core';
import { createEndpointSource } from '../create-endpoint-source.js';
import { selectFamily } from './lookup.js';
import { FakeClock, settle } from '../../../../test/support/fake-clock.js';
import { FakeResolver, assignment, cluster, endpoint, locality } from '../../test/fixtures.js';

function dnsCluster(type: 'STRICT_DNS' | 'LOGICAL_DNS', hosts: { host: string; port: number; weight?: number; priority?: number }[]) {
  return cluster(type, assignment('svc', [locality('a', 0, hosts.map((h) => endpoint(h.host, h.port, { ...h, zone: 'a' })))]));
}

function setup(type: 'STRICT_DNS' | 'LOGICAL_DNS', hosts: { host: string; port: number; weight?: number; priority?: number }[]) {
  const clock = new FakeClock();
  const resolver = new FakeResolver();
  const errors: MeshError[] = [];
  const changes: (readonly Endpoint[])[] = [];
  const start = () => {
    const source = createEndpointSource(dnsCluster(type, hosts), { clock, resolve: resolver.resolve, onError: (e) => errors.push(e) });
    source.onChange((eps) => changes.push(eps));
    return source;
  };
  return { clock, resolver, errors, changes, start };
}

const ids = (eps: readonly Endpoint[]) => eps.map((e) => e.id);

test('STRICT_DNS: every address of every host becomes an endpoint with the configured fields', async () => {
  const t = setup('STRICT_DNS', [{ host: 'api.internal', port: 8080, weight: 3 }, { host: 'db.internal', port: 5432 }]);
  t.resolver.answers.set('api.internal', ['10.0.0.1', '10.0.0.2']);
  t.resolver.answers.set('db.internal', ['10.0.1.1']);
  const source = t.start();
  await source.ready;
  assert.deepEqual(ids(source.endpoints), ['10.0.0.1:8080', '10.0.0.2:8080', '10.0.1.1:5432']);
  const first = source.endpoints[0]!;
  assert.equal(first.host, '10.0.0.1');
  assert.equal(first.weight, 3);
  assert.equal(first.healthStatus, 'UNKNOWN');
  assert.deepEqual(first.locality, { region: 'r', zone: 'a', subZone: '' });
  assert.ok(Object.isFrozen(source.endpoints));
  assert.deepEqual(t.changes.length, 1);
  source.close();
});

test('re-resolves every dns_refresh_rate with a single unref\'d timer', async () => {
  const t = setup('STRICT_DNS', [{ host: 'api.internal', port: 80 }]);
  t.resolver.answers.set('api.internal', ['10.0.0.1']);
  const source = t.start();
  await source.ready;
  assert.equal(t.clock.pendingTimers, 1);
  assert.equal(t.clock.nextDue, 5000);
  assert.equal(t.clock.pendingRefedTimers, 0);
  t.resolver.answers.set('api.internal', ['10.0.0.1', '10.0.0.7']);
  t.clock.advance(4999);
  await settle();
  assert.equal(t.resolver.calls.length, 1);
  t.clock.advance(1);
  await settle();
  assert.equal(t.resolver.calls.length, 2);
  assert.deepEqual(ids(source.endpoints), ['10.0.0.1:80', '10.0.0.7:80']);
  assert.equal(t.clock.pendingTimers, 1);
  assert.equal(t.clock.nextDue, 10_000);
  source.close();
});

test('a failed lookup keeps the last good answer and reports XMESH_DNS_FAILED', async () => {
  const t = setup('STRICT_DNS', [{ host: 'api.internal', port: 80 }, { host: 'other.internal', port: 81 }]);
  t.resolver.answers.set('api.internal', ['10.0.0.1']);
  t.resolver.answers.set('other.internal', ['10.0.9.9']);
  const source = t.start();
  await source.ready;
  t.resolver.answers.set('api.internal', new Error('SERVFAIL'));
  t.resolver.answers.set('other.internal', ['10.0.9.8']);
  t.clock.advance(5000);
  await settle();
  assert.deepEqual(ids(source.endpoints), ['10.0.0.1:80', '10.0.9.8:81']);
  assert.equal(t.errors.length, 1);
  assert.equal(t.errors[0]!.code, 'XMESH_DNS_FAILED');
  assert.equal(t.errors[0]!.cluster, 'svc');
  assert.equal(t.errors[0]!.grpcStatus, 14);
  assert.match(t.errors[0]!.message, /api\.internal.*SERVFAIL.*keeping 1/);
  // an empty answer is a failure too
  t.resolver.answers.set('other.internal', []);
  t.clock.advance(5000);
  await settle();
  assert.deepEqual(ids(source.endpoints), ['10.0.0.1:80', '10.0.9.8:81']);
  assert.equal(t.errors.length, 3);
  source.close();
});

test('a first lookup that fails leaves the source empty but ready, and it retries on the timer', async () => {
  const t = setup('STRICT_DNS', [{ host: 'late.internal', port: 80 }]);
  const source = t.start();
  await source.ready;
  assert.deepEqual(source.endpoints, []);
  assert.equal(t.errors.length, 1);
  assert.equal(t.changes.length, 0);
  t.resolver.answers.set('late.internal', ['10.1.1.1']);
  t.clock.advance(5000);
  await settle();
  assert.deepEqual(ids(source.endpoints), ['10.1.1.1:80']);
  assert.equal(t.changes.length, 1);
  source.close();
});

test('LOGICAL_DNS uses only the first address of the first host', async () => {
  const t = setup('LOGICAL_DNS', [{ host: 'api.example.com', port: 443 }, { host: 'ignored.example.com', port: 443 }]);
  t.resolver.answers.set('api.example.com', ['192.0.2.10', '192.0.2.11']);
  const source = t.start();
  await source.ready;
  assert.deepEqual(ids(source.endpoints), ['192.0.2.10:443']);
  assert.deepEqual(t.resolver.calls, ['api.example.com']);
  source.close();
});

test('onChange fires only when the set of ids changes, not on reordering', async () => {
  const t = setup('STRICT_DNS', [{ host: 'api.internal', port: 80 }]);
  t.resolver.answers.set('api.internal', ['10.0.0.1', '10.0.0.2']);
  const source = t.start();
  await source.ready;
  const before = source.endpoints;
  t.resolver.answers.set('api.internal', ['10.0.0.2', '10.0.0.1']);
  t.clock.advance(5000);
  await settle();
  assert.equal(t.changes.length, 1);
  assert.equal(source.endpoints, before);
  t.resolver.answers.set('api.internal', ['10.0.0.2']);
  t.clock.advance(5000);
  await settle();
  assert.equal(t.changes.length, 2);
  assert.deepEqual(ids(t.changes[1]!), ['10.0.0.2:80']);
  source.close();
});

test('literal IPs skip DNS', async () => {
  const t = setup('STRICT_DNS', [{ host: '127.0.0.1', port: 80 }, { host: '::1', port: 81 }]);
  const source = t.start();
  await source.ready;
  assert.deepEqual(ids(source.endpoints), ['127.0.0.1:80', '[::1]:81']);
  assert.deepEqual(t.resolver.calls, []);
  source.close();
});

test('close stops the timer and later notifications', async () => {
  const t = setup('STRICT_DNS', [{ host: 'api.internal', port: 80 }]);
  t.resolver.answers.set('api.internal', ['10.0.0.1']);
  const source = t.start();
  await source.ready;
  assert.equal(t.clock.pendingTimers, 1);
  source.close();
  assert.equal(t.clock.pendingTimers, 0);
  t.clock.advance(60_000);
  await settle();
  assert.equal(t.resolver.calls.length, 1);
});

test('close during a lookup schedules nothing afterwards', async () => {
  const t = setup('STRICT_DNS', [{ host: 'api.internal', port: 80 }]);
  t.resolver.answers.set('api.internal', ['10.0.0.1']);
  const source = t.start();
  source.close();
  await source.ready;
  assert.equal(t.clock.pendingTimers, 0);
  assert.equal(t.changes.length, 0);
});

test('the real system resolver resolves localhost (default resolver)', async () => {
  const source = createEndpointSource(
    cluster('STRICT_DNS', assignment('svc', [locality('a', 0, [endpoint('localhost', 9)])]), { dnsLookupFamily: 'V4_ONLY' }),
  );
  await source.ready;
  source.close();
  assert.deepEqual(ids(source.endpoints), ['127.0.0.1:9']);
});

test('dns_lookup_family selection', () => {
  const answers = [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }];
  assert.deepEqual(selectFamily(answers, 'AUTO'), ['::1']);
  assert.deepEqual(selectFamily(answers, 'V4_PREFERRED'), ['127.0.0.1']);
  assert.deepEqual(selectFamily(answers, 'V4_ONLY'), ['127.0.0.1']);
  assert.deepEqual(selectFamily(answers, 'V6_ONLY'), ['::1']);
  assert.deepEqual(selectFamily(answers, 'ALL'), ['::1', '127.0.0.1']);
  assert.deepEqual(selectFamily([{ address: '10.0.0.1', family: 4 }], 'AUTO'), ['10.0.0.1']);
  assert.deepEqual(selectFamily([{ address: '::2', family: 6 }], 'V4_PREFERRED'), ['::2']);
});

test('a resolver answer that is not an IP address is a failure, never an endpoint', async () => {
  const t = setup('STRICT_DNS', [{ host: 'api.internal', port: 80 }]);
  t.resolver.answers.set('api.internal', ['10.0.0.1', '::gggg']);
  const source = t.start();
  await source.ready;
  assert.deepEqual(ids(source.endpoints), []);
  assert.equal(t.errors.length, 1);
  assert.equal(t.errors[0]!.code, 'XMESH_DNS_FAILED');
  assert.match(t.errors[0]!.message, /"::gggg", which is not an IP address/);
  source.close();
});
