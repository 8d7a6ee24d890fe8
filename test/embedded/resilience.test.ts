// Circuit breaking, outlier detection, the fail-fast breaker and priority failover through the
// whole embedded pipeline, against real gRPC servers on port 0. Time-driven parts (ejection
// expiry, breaker reset) run on a fake mesh clock.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createMesh, type Mesh } from '@xmesh/client';
import { loadEcho, type EchoClient, type EchoReply, type EchoRequest } from '../support/echo-server.js';
import { bootstrap } from '../support/mesh-config.js';
import { unary } from '../support/grpc-call.js';
import { FakeClock } from '../support/fake-clock.js';

const { EchoClient: EchoCtor, service } = loadEcho();
const TARGET = 'echo.default.svc:50051';

/** A gRPC echo server whose answers the test controls: UNAVAILABLE with `failRate`, delayed by `delayMs`. */
interface ControlledServer {
  readonly name: string;
  readonly address: string;
  calls: number;
  failRate: number;
  delayMs: number;
  close(): Promise<void>;
}

async function startServer(name: string, seed = 1): Promise<ControlledServer> {
  const server = new grpc.Server();
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  const s: ControlledServer = {
    name, address: '', calls: 0, failRate: 0, delayMs: 0,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
  server.addService(service, {
    Echo: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
      s.calls++;
      const answer = () => {
        if (random() < s.failRate) callback({ code: grpc.status.UNAVAILABLE, details: `${name} is flaky` });
        else callback(null, { message: call.request.message ?? '', payload: Buffer.alloc(0), server: name });
      };
      if (s.delayMs > 0) setTimeout(answer, s.delayMs);
      else answer();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  (s as { address: string }).address = `127.0.0.1:${port}`;
  return s;
}

/** The bootstrap with `patch` merged into cluster `name`. */
function withCluster(config: object, name: string, patch: Record<string, unknown>): object {
  const clusters = (config as { static_resources: { clusters: Record<string, unknown>[] } }).static_resources.clusters;
  const cluster = clusters.find((c) => c.name === name)!;
  Object.assign(cluster, patch);
  return config;
}

const settleAll = (calls: Promise<EchoReply>[]) => Promise.allSettled(calls);
const codeOf = (r: PromiseSettledResult<EchoReply>) => (r.status === 'rejected' ? (r.reason as grpc.ServiceError).code : grpc.status.OK);
const meshCodeOf = (r: PromiseSettledResult<EchoReply>) =>
  r.status === 'rejected' ? String((r.reason as grpc.ServiceError).metadata?.get('x-xmesh-error-code')[0] ?? '') : '';

describe('outlier detection', () => {
  const servers: ControlledServer[] = [];
  let mesh: Mesh;
  let echo: EchoClient;
  const clock = new FakeClock(1_000_000);

  before(async () => {
    for (const name of ['a', 'b', 'flaky']) servers.push(await startServer(name, 7));
    servers[2]!.failRate = 0.5;
    const config = withCluster(
      bootstrap({ routes: [{ cluster: 'echo' }], clusters: { echo: servers.map((s) => s.address) } }),
      'echo',
      { outlier_detection: { consecutive_5xx: 3, interval: '10s', base_ejection_time: '30s', max_ejection_percent: 34 } },
    );
    mesh = await createMesh({ config, clock });
    echo = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
  });

  after(async () => {
    echo.close();
    await mesh.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  test('a server failing 50 % is ejected after 3 consecutive failures, gets no calls while ejected, and returns after its time', async () => {
    const ejected: string[] = [];
    const returned: string[] = [];
    mesh.on('endpoint.ejected', (e) => ejected.push(`${e.endpoint}/${e.reason}/${e.durationMs}`));
    mesh.on('endpoint.returned', (e) => returned.push(e.endpoint));
    const flaky = servers[2]!;
    let consecutive = 0;
    let longestRunBeforeEjection = 0;
    for (let i = 0; i < 600 && ejected.length === 0; i++) {
      const before = flaky.calls;
      const r = await unary(echo, { message: String(i) }).then(() => 'ok', () => 'fail');
      if (flaky.calls > before) {
        consecutive = r === 'fail' ? consecutive + 1 : 0;
        longestRunBeforeEjection = Math.max(longestRunBeforeEjection, consecutive);
      }
    }
    assert.deepEqual(ejected, [`${flaky.address}/consecutive_5xx/30000`]);
    assert.equal(longestRunBeforeEjection, 3, 'ejected exactly at the third consecutive failure');

    const before = servers.map((s) => s.calls);
    for (let i = 0; i < 300; i++) await unary(echo, { message: 'x' });
    const during = servers.map((s, i) => s.calls - before[i]!);
    // Even share would be 100 calls; ejected it must get ≥ 95 % fewer (here: none).
    assert.ok(during[2]! <= 5, `flaky got ${during[2]} of 300 while ejected`);
    assert.equal(during[0]! + during[1]! + during[2]!, 300);
    assert.equal(mesh.stats()['echo']!.cluster['outlier_detection.ejections_active'], 1);

    clock.advance(29_000);
    assert.deepEqual(returned, [], 'not back before base_ejection_time');
    clock.advance(11_000); // the next interval tick after 30 s
    assert.deepEqual(returned, [flaky.address]);
    flaky.failRate = 0;
    const back = flaky.calls;
    for (let i = 0; i < 90; i++) await unary(echo, { message: 'y' });
    assert.ok(flaky.calls - back >= 20, `flaky got ${flaky.calls - back} of 90 after returning`);
    assert.equal(mesh.stats()['echo']!.cluster['outlier_detection.ejections_enforced_consecutive_5xx'], 1);
  });
});

describe('circuit-breaker thresholds', () => {
  let server: ControlledServer;
  let mesh: Mesh;
  let echo: EchoClient;

  before(async () => {
    server = await startServer('slow');
    server.delayMs = 150;
    const config = withCluster(bootstrap({ routes: [{ cluster: 'echo' }], clusters: { echo: [server.address] } }), 'echo', {
      circuit_breakers: { thresholds: [{ max_requests: 10 }] },
    });
    mesh = await createMesh({ config });
    echo = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
  });

  after(async () => {
    echo.close();
    await mesh.close();
    await server.close();
  });

  test('max_requests 10 with 50 concurrent calls: exactly 40 fail fast with XMESH_CIRCUIT_OPEN, nothing hangs', async () => {
    const results = await settleAll(Array.from({ length: 50 }, (_, i) => unary(echo, { message: String(i) }, { deadline: Date.now() + 5000 })));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const rejected = results.filter((r) => codeOf(r) === grpc.status.UNAVAILABLE && meshCodeOf(r) === 'XMESH_CIRCUIT_OPEN').length;
    assert.equal(ok, 10);
    assert.equal(rejected, 40);
    assert.equal(server.calls, 10);
    const stats = mesh.stats()['echo']!.cluster;
    assert.equal(stats['upstream_rq_pending_overflow'], 40);
    assert.equal(stats['upstream_rq_active'], 0, 'every admitted call released its slot');
    // The slots are free again: the next 10 go through.
    const again = await settleAll(Array.from({ length: 10 }, () => unary(echo, { message: 'again' })));
    assert.ok(again.every((r) => r.status === 'fulfilled'));
  });
});

describe('fail-fast breaker (xmesh.fail_fast)', () => {
  let server: ControlledServer;
  let mesh: Mesh;
  let echo: EchoClient;
  const clock = new FakeClock(5_000_000);

  before(async () => {
    server = await startServer('s');
    const config = withCluster(bootstrap({ routes: [{ cluster: 'echo' }], clusters: { echo: [server.address] } }), 'echo', {
      metadata: { filter_metadata: { xmesh: { fail_fast: { error_threshold_percentage: 50, volume_threshold: 4, rolling_window: '10s', rolling_buckets: 10, reset_timeout: '5s' } } } },
    });
    mesh = await createMesh({ config, clock });
    echo = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
  });

  after(async () => {
    echo.close();
    await mesh.close();
    await server.close();
  });

  test('opens at the error rate, rejects without calling, half-opens after reset_timeout, closes on success', async () => {
    const events: string[] = [];
    mesh.on('breaker.open', () => events.push('open'));
    mesh.on('breaker.halfOpen', () => events.push('halfOpen'));
    mesh.on('breaker.close', () => events.push('close'));
    const call = () => settleAll([unary(echo, { message: 'm' })]).then((r) => r[0]!);

    // 2 successes, then failures: 2 of 4 = 50 % is not above the threshold; 3 of 5 = 60 % is.
    for (let i = 0; i < 2; i++) assert.equal(codeOf(await call()), grpc.status.OK);
    server.failRate = 1;
    for (let i = 0; i < 2; i++) assert.equal(codeOf(await call()), grpc.status.UNAVAILABLE);
    assert.deepEqual(events, []);
    await call();
    assert.deepEqual(events, ['open']);

    const reached = server.calls;
    const rejected = await call();
    assert.equal(meshCodeOf(rejected), 'XMESH_CIRCUIT_OPEN');
    assert.equal(codeOf(rejected), grpc.status.UNAVAILABLE);
    assert.equal(server.calls, reached, 'an open breaker does not reach the server');

    server.failRate = 0;
    clock.advance(5_000);
    assert.equal(codeOf(await call()), grpc.status.OK);
    assert.deepEqual(events, ['open', 'halfOpen', 'close']);
    assert.equal(codeOf(await call()), grpc.status.OK);
    assert.equal(mesh.stats()['echo']!.cluster['xmesh.fail_fast.rejected'], 1);
  });
});

describe('priority failover', () => {
  const servers: ControlledServer[] = [];
  let mesh: Mesh;
  let echo: EchoClient;

  const config = (p0Health: 'HEALTHY' | 'UNHEALTHY') => {
    const c = bootstrap({ routes: [{ cluster: 'echo' }], clusters: { echo: [] } });
    const endpoint = (s: ControlledServer, health: string) => {
      const i = s.address.lastIndexOf(':');
      return { endpoint: { address: { socket_address: { address: s.address.slice(0, i), port_value: Number(s.address.slice(i + 1)) } } }, health_status: health };
    };
    return withCluster(c, 'echo', {
      load_assignment: {
        cluster_name: 'echo',
        endpoints: [
          { priority: 0, lb_endpoints: [endpoint(servers[0]!, p0Health), endpoint(servers[1]!, p0Health)] },
          { priority: 1, lb_endpoints: [endpoint(servers[2]!, 'HEALTHY')] },
        ],
      },
    });
  };

  before(async () => {
    for (const name of ['p0a', 'p0b', 'p1']) servers.push(await startServer(name));
    mesh = await createMesh({ config: config('HEALTHY') });
    echo = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
  });

  after(async () => {
    echo.close();
    await mesh.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  const servedBy = async (n: number) => {
    const seen: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const reply = await unary(echo, { message: 'p' });
      seen[reply.server] = (seen[reply.server] ?? 0) + 1;
    }
    return seen;
  };

  test('P0 healthy takes all; P0 all down → P1 takes the traffic; P0 back → traffic returns', async () => {
    assert.deepEqual(await servedBy(40), { p0a: 20, p0b: 20 });
    await mesh.update(config('UNHEALTHY'));
    assert.deepEqual(await servedBy(40), { p1: 40 });
    await mesh.update(config('HEALTHY'));
    assert.deepEqual(await servedBy(40), { p0a: 20, p0b: 20 });
  });
});

describe('queued admission (resilience.queue, off by default)', () => {
  let server: ControlledServer;
  let mesh: Mesh;
  let echo: EchoClient;

  before(async () => {
    server = await startServer('slow');
    server.delayMs = 50;
    const config = withCluster(bootstrap({ routes: [{ cluster: 'echo' }], clusters: { echo: [server.address] } }), 'echo', {
      circuit_breakers: { thresholds: [{ max_requests: 2, max_pending_requests: 10 }] },
    });
    mesh = await createMesh({ config, resilience: { queue: { maxWaitMs: 5_000 } } });
    echo = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
  });

  after(async () => {
    echo.close();
    await mesh.close();
    await server.close();
  });

  test('calls over max_requests wait instead of failing; beyond max_pending_requests they are refused', async () => {
    const results = await settleAll(Array.from({ length: 15 }, (_, i) => unary(echo, { message: String(i) })));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter((r) => meshCodeOf(r) === 'XMESH_CIRCUIT_OPEN').length;
    assert.equal(ok + refused, 15);
    assert.ok(ok >= 12, `${ok} served (2 running + 10 queued expected)`);
    assert.equal(server.calls, ok);
    assert.equal(mesh.stats()['echo']!.cluster['upstream_rq_pending_overflow'], refused);
  });

  test('a queued call ends at its own deadline (DEADLINE_EXCEEDED), not when the queue would let it go', async () => {
    server.delayMs = 4_000;
    try {
      const running = [unary(echo, { message: 'a' }), unary(echo, { message: 'b' })];
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = Date.now();
      const queued = await settleAll([unary(echo, { message: 'queued' }, { deadline: Date.now() + 200 })]);
      const elapsed = Date.now() - started;
      assert.equal(codeOf(queued[0]!), grpc.status.DEADLINE_EXCEEDED);
      // The slots free at ~4 s and the queue's own bound is 5 s: ending well before either is the deadline's doing.
      assert.ok(elapsed < 3_000, `ended after ${elapsed} ms`);
      await settleAll(running);
    } finally {
      server.delayMs = 50;
    }
  });
});
