// The cluster-wide rate limit tier: two meshes (as two replicas would) share one Redis budget;
// a frozen Redis fails open or closed within the command timeout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { RedisRateLimiter } from '@xmesh/ratelimit';
import { createMesh, type Mesh } from '@xmesh/client';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../../../test/support/echo-server.js';
import { bootstrap } from '../../../test/support/mesh-config.js';
import { unary } from '../../../test/support/grpc-call.js';
import { startRedis, type RedisServer } from '../../../test/support/redis-server.js';

const { EchoClient: EchoCtor } = loadEcho();

describe('cluster-wide rate limit (real redis-server)', () => {
  let redis: RedisServer;
  let server: EchoServer;
  const limiters: RedisRateLimiter[] = [];
  const meshes: Mesh[] = [];
  const clients: EchoClient[] = [];

  before(async () => {
    redis = await startRedis();
    server = await startEchoServer('echo');
    for (const failureMode of ['closed', 'closed', 'open'] as const) {
      const limiter = new RedisRateLimiter({ host: '127.0.0.1', port: redis.port, bucket: { maxTokens: 10, tokensPerFill: 10, fillIntervalMs: 60_000 }, failureMode, commandTimeoutMs: 2_000, keyPrefix: `t${limiters.length === 2 ? 'open' : 'shared'}:` });
      await limiter.ready();
      limiters.push(limiter);
      const mesh = await createMesh({
        config: bootstrap({ routes: [{ prefix: '/', cluster: 'echo' }], clusters: { echo: [server.address] } }),
        clusterRateLimit: { limiter, key: (_request, decision) => decision.route.name },
      });
      meshes.push(mesh);
      clients.push(mesh.grpcClient(EchoCtor, 'dns:///echo.svc:50051') as EchoClient);
    }
  });

  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(meshes.map((m) => m.close()));
    await Promise.all(limiters.map((l) => l.close()));
    await server.close();
    await redis.stop();
  });

  test('two meshes share one budget: 10 of 30 calls pass, the rest fail UNAVAILABLE (429 as Envoy maps it)', async () => {
    // Alternating, one call at a time: which connection Redis reads first cannot skew the split.
    const results: PromiseSettledResult<unknown>[] = [];
    for (let i = 0; i < 30; i++) results.push(...(await Promise.allSettled([unary(clients[i % 2]!, { message: `m${i}` })])));
    const passed = results.filter((r) => r.status === 'fulfilled').length;
    assert.equal(passed, 10);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as grpc.ServiceError).code, grpc.status.UNAVAILABLE);
    const ok = meshes.map((m) => m.observability.store.value('cluster.echo.ratelimit.ok'));
    const over = meshes.map((m) => m.observability.store.value('cluster.echo.ratelimit.over_limit'));
    assert.equal(ok[0]! + ok[1]!, 10);
    assert.deepEqual([ok[0], ok[1]], [5, 5], `both meshes drew from the budget alternately: ${ok.join(',')}`);
    assert.equal(over[0]! + over[1]!, 20);
  });

  test('a frozen Redis: fail-closed rejects and fail-open admits, both within the timeout', async () => {
    redis.pause();
    try {
      const started = performance.now();
      await assert.rejects(unary(clients[0]!, { message: 'closed' }), { code: grpc.status.UNAVAILABLE });
      const reply = await unary(clients[2]!, { message: 'open' });
      const took = performance.now() - started;
      assert.equal(reply.message, 'open');
      assert.ok(took < 15_000, `both decided in ${took.toFixed(0)} ms (2 s command timeout each), not left hanging`);
      assert.equal(meshes[0]!.observability.store.value('cluster.echo.ratelimit.error'), 1);
      assert.equal(meshes[2]!.observability.store.value('cluster.echo.ratelimit.failure_mode_allowed'), 1);
    } finally {
      redis.resume();
    }
  });
});
