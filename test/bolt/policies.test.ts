/**
 * Mesh policies on Bolt calls from the embedded drop-in to stock `sofa-rpc-node` providers, each
 * asserted with counts as the gRPC tests do: a weighted split by method, a local rate limit on one
 * service, outlier ejection of a failing provider, a per-try timeout that moves calls to another
 * provider. The same RouteConfiguration, filters and clusters as HTTP and gRPC.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMesh, type Mesh } from '@xmesh/client';
import { MeshRpcClient } from '@xmesh/bolt';
import { isMeshError } from '@xmesh/core';
import { boltConfig } from '../support/bolt-config.js';
import { HELLO_SERVICE, PROTO_SERVICE, loadProto, startProvider, type SofaProvider } from '../support/sofa.js';

const LOCAL_RATELIMIT = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
let a: SofaProvider;
let b: SofaProvider;

before(async () => {
  [a, b] = await Promise.all([startProvider({ name: 'a', protobuf: true }), startProvider({ name: 'b', protobuf: true })]);
});

after(async () => {
  await Promise.all([a.close(), b.close()]);
});

async function withMesh(config: object, body: (mesh: Mesh, client: MeshRpcClient) => Promise<void>): Promise<void> {
  const mesh = await createMesh({ config });
  const client = new MeshRpcClient(mesh);
  try {
    await body(mesh, client);
  } finally {
    await client.close();
    await mesh.close();
  }
}

test('a weighted split by method: sayHello 80/20 over clusters a and b, whoami only to a', async () => {
  const config = boltConfig({
    virtualHosts: [{
      name: 'hello',
      domains: [HELLO_SERVICE],
      routes: [
        { match: { path: `/${HELLO_SERVICE}/sayHello` }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: 80 }, { name: 'b', weight: 20 }] } } },
        { match: { prefix: '/' }, route: { cluster: 'a' } },
      ],
    }],
    clusters: { a: [a.address], b: [b.address] },
  });
  await withMesh(config, async (_mesh, client) => {
    const consumer = client.createConsumer({ interfaceName: HELLO_SERVICE });
    const replies = await Promise.all(Array.from({ length: 500 }, () => consumer.invoke('sayHello', ['x'])));
    const toA = replies.filter((r) => r === 'hello x from a').length;
    assert.equal(replies.length - toA, replies.filter((r) => r === 'hello x from b').length);
    assert.ok(toA >= 340 && toA <= 460, `about 80 % to a, got ${toA} of 500`);
    for (let i = 0; i < 20; i++) assert.equal(await consumer.invoke('whoami', []), 'a');
  });
});

test('a local rate limit on one service: 5 of 20 HelloService calls pass, ProtoService is not limited', async () => {
  const config = boltConfig({
    httpFilters: [{ name: 'envoy.filters.http.local_ratelimit', typed_config: { '@type': LOCAL_RATELIMIT, stat_prefix: 'bolt_rl' } }],
    virtualHosts: [
      {
        name: 'hello',
        domains: [HELLO_SERVICE],
        routes: [{ match: { prefix: '/' }, route: { cluster: 'a' } }],
        typed_per_filter_config: {
          'envoy.filters.http.local_ratelimit': {
            '@type': LOCAL_RATELIMIT,
            stat_prefix: 'hello_rl',
            token_bucket: { max_tokens: 5, tokens_per_fill: 5, fill_interval: '3600s' },
            filter_enabled: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
            filter_enforced: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
          },
        },
      },
      { name: 'proto', domains: [PROTO_SERVICE], routes: [{ match: { prefix: '/' }, route: { cluster: 'a' } }] },
    ],
    clusters: { a: [a.address] },
  });
  await withMesh(config, async (_mesh, client) => {
    const hello = client.createConsumer({ interfaceName: HELLO_SERVICE });
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => hello.invoke('whoami', [])));
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 5);
    for (const o of outcomes) if (o.status === 'rejected') assert.ok(isMeshError(o.reason) && o.reason.code === 'XMESH_RATE_LIMITED', String(o.reason));
    const proto = client.createConsumer({ interfaceName: PROTO_SERVICE, codecType: 'protobuf', proto: loadProto() });
    for (let i = 0; i < 20; i++) await proto.invoke('echoObj', [{ name: 'n', group: 'g' }]);
  });
});

test('outlier detection ejects a provider whose calls fail (Bolt SERVER_EXCEPTION counts as 5xx); calls then go to the other', async () => {
  const config = boltConfig({
    virtualHosts: [{ name: 'hello', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'pair' } }] }],
    clusters: {
      pair: {
        endpoints: [a.address, b.address],
        extra: { outlier_detection: { consecutive_5xx: 3, interval: '60s', base_ejection_time: '60s', max_ejection_percent: 100 } },
      },
    },
  });
  a.failing = true;
  try {
    await withMesh(config, async (mesh, client) => {
      const consumer = client.createConsumer({ interfaceName: HELLO_SERVICE });
      const before = a.calls.get('whoami') ?? 0;
      let failures = 0;
      for (let i = 0; i < 40; i++) await consumer.invoke('whoami', []).catch(() => failures++);
      assert.equal(failures, 3, 'three consecutive failures, then a is ejected');
      assert.equal((a.calls.get('whoami') ?? 0) - before, 3);
      assert.equal(mesh.stats()['pair']!.cluster['outlier_detection.ejections_enforced_consecutive_5xx'], 1);
    });
  } finally {
    a.failing = false;
  }
});

test('a per-try timeout ends the slow provider\'s try and the retry answers from the other; none fails', async () => {
  const config = boltConfig({
    virtualHosts: [{
      name: 'hello',
      domains: ['*'],
      routes: [{
        match: { prefix: '/' },
        route: {
          cluster: 'pair',
          timeout: '10s',
          retry_policy: { retry_on: '5xx', num_retries: 1, per_try_timeout: '0.3s', retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }] },
        },
      }],
    }],
    // 20 calls retry at once: Envoy's default max_retries (3 outstanding) would refuse most of them.
    clusters: { pair: { endpoints: [a.address, b.address], extra: { circuit_breakers: { thresholds: [{ max_retries: 100 }] } } } },
  });
  a.delayMs = 3000;
  try {
    await withMesh(config, async (mesh, client) => {
      const consumer = client.createConsumer({ interfaceName: HELLO_SERVICE });
      const replies = await Promise.all(Array.from({ length: 20 }, () => consumer.invoke('whoami', [], { responseTimeout: 10_000 })));
      assert.deepEqual(new Set(replies), new Set(['b']));
      const perTry = mesh.observability.store.value('cluster.pair.upstream_rq_per_try_timeout');
      assert.ok(perTry >= 1 && perTry <= 20, `tries cut by the per-try timeout: ${perTry}`);
      assert.equal(mesh.observability.store.value('cluster.pair.upstream_rq_retry'), perTry, 'each cut try retried once');
    });
  } finally {
    a.delayMs = 0;
  }
});
