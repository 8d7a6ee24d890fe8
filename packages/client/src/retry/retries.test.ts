// Retries and timeouts through the mesh with a stock generated gRPC client and real servers on port 0.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createMesh, type Mesh } from '@xmesh/client';
import { loadEcho, type EchoClient, type EchoReply, type EchoRequest } from '../../../../test/support/echo-server.js';
import { bootstrap } from '../../../../test/support/mesh-config.js';
import { unary } from '../../../../test/support/grpc-call.js';
import { FakeClock } from '../../../../test/support/fake-clock.js';

const { EchoClient: EchoCtor, service } = loadEcho();

type Behaviour = (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => void;

interface TestServer {
  readonly name: string;
  readonly address: string;
  /** `x-call` metadata of every call received, in order. */
  readonly seen: string[];
  close(): Promise<void>;
}

async function startServer(name: string, behaviour: Behaviour): Promise<TestServer> {
  const server = new grpc.Server();
  const seen: string[] = [];
  server.addService(service, {
    Echo: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
      seen.push(String(call.metadata.get('x-call')[0] ?? ''));
      behaviour(call, callback);
    },
    // Reads the whole stream, then answers like `behaviour` would for the joined messages.
    ClientStream: (call: grpc.ServerReadableStream<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
      seen.push(String(call.metadata.get('x-call')[0] ?? ''));
      const parts: string[] = [];
      call.on('data', (req: EchoRequest) => parts.push(req.message ?? ''));
      call.on('end', () => behaviour({ request: { message: parts.join(',') }, metadata: call.metadata } as never, callback));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { name, address: `127.0.0.1:${port}`, seen, close: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
}

const unavailable = (name: string): Behaviour => (_call, callback) => callback({ code: grpc.status.UNAVAILABLE, details: `${name} is down` });
const ok = (name: string): Behaviour => (call, callback) => callback(null, { message: call.request.message ?? '', payload: Buffer.alloc(0), server: name });
/** Answers after `ms`, unless the call was cancelled first; the timer never keeps the process alive. */
const slow = (name: string, ms: number): Behaviour => (call, callback) => {
  const timer = setTimeout(() => ok(name)(call, callback), ms).unref();
  (call as unknown as { on(event: 'cancelled', listener: () => void): void }).on('cancelled', () => clearTimeout(timer));
};

/** An Envoy bootstrap with one route per cluster (by `x-route` header), each with its own route action extras (and cluster extras). */
function config(clusters: Record<string, { servers: TestServer[]; action: Record<string, unknown>; cluster?: Record<string, unknown> }>): object {
  const names = Object.keys(clusters);
  const cfg = bootstrap({
    routes: names.map((name) => ({ prefix: '/', headers: { 'x-route': name }, cluster: name })),
    clusters: Object.fromEntries(names.map((n) => [n, clusters[n]!.servers.map((s) => s.address)])),
  }) as { static_resources: { listeners: { filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: { routes: { route: Record<string, unknown> }[] }[] } } }[] }[] }[] } };
  const routes = cfg.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes;
  names.forEach((name, i) => Object.assign(routes[i]!.route, clusters[name]!.action));
  for (const c of (cfg as { static_resources: { clusters: { name: string }[] } }).static_resources.clusters) Object.assign(c, clusters[c.name]!.cluster);
  return cfg;
}

function callMeta(route: string, id: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('x-route', route);
  md.set('x-call', id);
  return md;
}

describe('retries and timeouts (gRPC, real servers)', () => {
  let servers: Record<string, TestServer>;
  let mesh: Mesh;
  let echo: EchoClient;
  const backoff = { base_interval: '0.001s', max_interval: '0.002s' };

  before(async () => {
    servers = {
      down1: await startServer('down1', unavailable('down1')),
      down2: await startServer('down2', unavailable('down2')),
      down3: await startServer('down3', unavailable('down3')),
      flakyDown: await startServer('flakyDown', unavailable('flakyDown')),
      flakyUp: await startServer('flakyUp', ok('flakyUp')),
      slowA: await startServer('slowA', slow('slowA', 10_000)),
      fastB: await startServer('fastB', ok('fastB')),
      slowOnly: await startServer('slowOnly', slow('slowOnly', 10_000)),
      hashDown: await startServer('hashDown', unavailable('hashDown')),
      hashUp: await startServer('hashUp', ok('hashUp')),
    };
    const ringHash = { lb_policy: 'RING_HASH' };
    const hashed = (predicate: boolean) => ({
      hash_policy: [{ header: { header_name: 'x-key' } }],
      retry_policy: {
        retry_on: 'unavailable', num_retries: 1, retry_back_off: backoff,
        // Envoy re-picks a host already tried up to host_selection_retry_max_attempts times (default 1): with two
        // hosts a ring-hash retry would stay on the failing one for about half the keys, so allow enough re-picks.
        ...(predicate ? { retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }], host_selection_retry_max_attempts: 20 } : {}),
      },
    });
    mesh = await createMesh({
      config: config({
        allDown: {
          servers: [servers.down1!, servers.down2!, servers.down3!],
          action: { retry_policy: { retry_on: 'unavailable', num_retries: 2, retry_back_off: backoff, retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }] } },
        },
        flaky: {
          servers: [servers.flakyDown!, servers.flakyUp!],
          action: { retry_policy: { retry_on: 'unavailable', num_retries: 1, retry_back_off: backoff } },
        },
        perTry: {
          servers: [servers.slowA!, servers.fastB!],
          // A per-try timeout of 1 s: long enough for fastB to answer on a busy machine, far below slowA's 10 s.
          action: { timeout: '20s', retry_policy: { retry_on: 'unavailable,gateway-error', num_retries: 1, per_try_timeout: '1s', retry_back_off: backoff, retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }] } },
        },
        perTryOnly: {
          servers: [servers.slowOnly!],
          action: { timeout: '20s', retry_policy: { retry_on: 'gateway-error', num_retries: 1, per_try_timeout: '1s', retry_back_off: backoff } },
        },
        slowLong: { servers: [servers.slowOnly!], action: { timeout: '5s' } },
        noRetry: { servers: [servers.flakyDown!], action: {} },
        hashAvoid: { servers: [servers.hashDown!, servers.hashUp!], action: hashed(true), cluster: ringHash },
        hashSame: { servers: [servers.hashDown!, servers.hashUp!], action: hashed(false), cluster: ringHash },
      }),
    });
    echo = mesh.grpcClient(EchoCtor, 'dns:///echo.default.svc:50051') as EchoClient;
  });

  after(async () => {
    echo.close();
    await mesh.close();
    await Promise.all(Object.values(servers).map((s) => s.close()));
  });

  const stat = (name: string) => mesh.observability.store.value(name);

  test('retries land on another endpoint and stop at num_retries', async () => {
    for (let i = 0; i < 6; i++) {
      const id = `all-${i}`;
      await assert.rejects(unary(echo, { message: 'x' }, {}, 'Echo', callMeta('allDown', id)), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.UNAVAILABLE);
        return true;
      });
      const where = [servers.down1!, servers.down2!, servers.down3!].filter((s) => s.seen.includes(id)).map((s) => s.name);
      assert.equal(where.length, 3, `call ${id} reached ${where.join(',')}: three attempts on three endpoints`);
      for (const s of [servers.down1!, servers.down2!, servers.down3!]) assert.equal(s.seen.filter((x) => x === id).length, 1);
    }
    assert.equal(stat('cluster.allDown.upstream_rq_retry'), 12);
    assert.equal(stat('cluster.allDown.upstream_rq_total'), 18);
    assert.equal(stat('cluster.allDown.upstream_rq_retry_success'), 0);
  });

  test('a retry turns a failure on one endpoint into success on the other', async () => {
    for (let i = 0; i < 6; i++) {
      const reply = await unary(echo, { message: `m${i}` }, {}, 'Echo', callMeta('flaky', `flaky-${i}`));
      assert.equal(reply.server, 'flakyUp');
    }
    const retried = servers.flakyDown!.seen.filter((id) => id.startsWith('flaky-')).length;
    assert.ok(retried >= 2, `some calls first hit the failing endpoint (${retried})`);
    assert.equal(stat('cluster.flaky.upstream_rq_retry'), retried);
    assert.equal(stat('cluster.flaky.upstream_rq_retry_success'), retried);
  });

  test('retry_host_predicate previous_hosts: a ring-hash retry goes to another host; without it, to the same one (as Envoy)', async () => {
    const withKey = (route: string, key: string) => {
      const md = callMeta(route, `${route}-${key}`);
      md.set('x-key', key);
      return md;
    };
    let downKeys = 0;
    for (let i = 0; i < 20; i++) {
      const key = `k${i}`;
      const reply = await unary(echo, { message: key }, {}, 'Echo', withKey('hashAvoid', key));
      assert.equal(reply.server, 'hashUp');
      if (!servers.hashDown!.seen.includes(`hashAvoid-${key}`)) continue;
      downKeys++;
      // The same key without the predicate: both attempts hash to the failing host.
      await assert.rejects(unary(echo, { message: key }, {}, 'Echo', withKey('hashSame', key)));
      assert.equal(servers.hashDown!.seen.filter((id) => id === `hashSame-${key}`).length, 2);
      assert.equal(servers.hashUp!.seen.includes(`hashSame-${key}`), false);
    }
    assert.ok(downKeys > 0, 'some keys hash to the failing host');
  });

  test('without a retry policy nothing is retried', async () => {
    const before = servers.flakyDown!.seen.length;
    await assert.rejects(unary(echo, { message: 'x' }, {}, 'Echo', callMeta('noRetry', 'nr')), { code: grpc.status.UNAVAILABLE });
    assert.equal(servers.flakyDown!.seen.length, before + 1);
  });

  test('per-try timeouts fire and the retry goes to another endpoint', async () => {
    // Round robin starts anywhere: over four calls about half first land on the slow endpoint.
    for (let i = 0; i < 4; i++) {
      const started = performance.now();
      const reply = await unary(echo, { message: 'p' }, {}, 'Echo', callMeta('perTry', `pt-${i}`));
      const took = performance.now() - started;
      // fastB answering proves the per-try timeout fired first (slowA answers after 10 s); the bound only catches a hang.
      assert.equal(reply.server, 'fastB');
      assert.ok(took < 15_000, `answered after ${took.toFixed(0)} ms`);
      if (servers.slowA!.seen.includes(`pt-${i}`)) assert.ok(took >= 995, `the per-try timeout (1 s) ran first: ${took.toFixed(0)} ms`);
    }
    // Every per-try timeout was a first attempt (on slowA, or on its way there) and led to one retry.
    const perTryTimeouts = stat('cluster.perTry.upstream_rq_per_try_timeout');
    assert.ok(perTryTimeouts >= 1, 'some first attempts went to the slow endpoint');
    assert.ok(servers.slowA!.seen.length <= perTryTimeouts, `slowA saw ${servers.slowA!.seen.length} calls, ${perTryTimeouts} per-try timeouts`);
    assert.equal(stat('cluster.perTry.upstream_rq_retry'), perTryTimeouts);
  });

  test('per-try timeouts on every attempt end the call with DEADLINE_EXCEEDED', async () => {
    const started = performance.now();
    await assert.rejects(unary(echo, { message: 'p' }, {}, 'Echo', callMeta('perTryOnly', 'pto-1')), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
      assert.match(err.details, /per-try timeout/);
      return true;
    });
    const took = performance.now() - started;
    assert.ok(took >= 1_990 && took < 15_000, `failed after ${took.toFixed(0)} ms (two per-try timeouts of 1 s)`);
    // Both attempts timed out; on a busy machine one may have timed out before reaching the server.
    const seen = servers.slowOnly!.seen.length;
    assert.ok(seen >= 1 && seen <= 2, `the server saw ${seen} attempts`);
    assert.equal(stat('cluster.perTryOnly.upstream_rq_per_try_timeout'), 2);
  });

  test('a client-streaming call is replayed from the retry buffer on the next endpoint', async () => {
    for (let i = 0; i < 4; i++) await clientStream(`cs-${i}`);
    assert.ok(servers.flakyDown!.seen.some((id) => id.startsWith('cs-')), 'some first attempts failed and were replayed');
  });

  async function clientStream(id: string): Promise<void> {
    const reply = await new Promise<EchoReply>((resolve, reject) => {
      const call = echo.ClientStream(callMeta('flaky', id), (err: grpc.ServiceError | null, res: EchoReply) => (err ? reject(err) : resolve(res)));
      call.write({ message: 'a' });
      call.write({ message: 'b' });
      setTimeout(() => {
        call.write({ message: 'c' });
        call.end();
      }, 20);
    });
    assert.equal(reply.server, 'flakyUp');
    assert.equal(reply.message, 'a,b,c');
  }

  test("a caller's shorter gRPC deadline wins over the route timeout", async () => {
    const started = performance.now();
    // The upstream answers after 10 s and the route allows 5 s: only the caller's 150 ms can end the call early.
    await assert.rejects(unary(echo, { message: 'd' }, { deadline: Date.now() + 150 }, 'Echo', callMeta('slowLong', 'dl-1')), { code: grpc.status.DEADLINE_EXCEEDED });
    const took = performance.now() - started;
    assert.ok(took >= 140 && took < 5_000, `failed after ${took.toFixed(0)} ms`);
  });
});

describe('the route timeout cuts a retry loop (real server, fake mesh clock)', () => {
  // Back-offs and the route timeout run on the mesh clock, which the test moves: each retry waits
  // for its back-off timer, so the loop's length in mesh time is exact whatever the machine's load.
  const clock = new FakeClock(1_000_000);
  let server: TestServer;
  let mesh: Mesh;
  let echo: EchoClient;

  before(async () => {
    server = await startServer('loopDown', unavailable('loopDown'));
    mesh = await createMesh({
      clock,
      config: config({
        loop: {
          servers: [server],
          action: { timeout: '0.3s', retry_policy: { retry_on: 'unavailable', num_retries: 1000, retry_back_off: { base_interval: '0.02s', max_interval: '0.05s' } } },
        },
      }),
    });
    echo = mesh.grpcClient(EchoCtor, 'dns:///echo.default.svc:50051') as EchoClient;
  });

  after(async () => {
    echo.close();
    await mesh.close();
    await server.close();
  });

  test('the call ends with DEADLINE_EXCEEDED at the route timeout, after retries every back-off allowed', async () => {
    const idleTimers = clock.pendingTimers;
    const startedAt = clock.now();
    let outcome: grpc.ServiceError | EchoReply | undefined;
    const call = unary(echo, { message: 'l' }, {}, 'Echo', callMeta('loop', 'loop-1')).then((r) => (outcome = r), (e: grpc.ServiceError) => (outcome = e));
    // Whenever a retry waits for its back-off (the deadline timer and a back-off timer pending), run
    // the earlier of the two; real time only bounds how long one attempt may take.
    const realDeadline = performance.now() + 20_000;
    while (outcome === undefined && performance.now() < realDeadline) {
      if (clock.pendingTimers >= idleTimers + 2) clock.advance(clock.nextDue! - clock.now());
      else await new Promise((resolve) => setImmediate(resolve));
    }
    await call;
    const error = outcome as grpc.ServiceError;
    assert.equal(error.code, grpc.status.DEADLINE_EXCEEDED, `ended with ${error.code} ${error.details}`);
    assert.match(error.details, /XMESH_TIMEOUT: upstream request timeout/);
    assert.equal(clock.now() - startedAt, 300, 'cut at the route timeout on the mesh clock');
    // Every back-off is at most 50 ms: reaching 300 ms took at least six retries.
    const attempts = server.seen.length;
    assert.ok(attempts >= 7 && attempts <= 1001, `${attempts} attempts before the timeout`);
    const stat = (name: string) => mesh.observability.store.value(name);
    assert.equal(stat('cluster.loop.upstream_rq_timeout'), 1);
    // The timeout came during the back-off before the next attempt: every attempt but the first was a retry, plus the one cut.
    assert.equal(stat('cluster.loop.upstream_rq_retry'), attempts);
  });
});
