// Outlier detection and retries under real faults, in embedded mode, against real servers on port
// 0 under closed-loop load at c=16: a replica whose process is down (connections refused), a
// replica that accepts calls and never answers, a replica killed mid-load, and Redis stopped under
// the cluster-wide rate limit tier. Every test counts the calls it started against the calls that
// ended, and bounds the share that failed. Time-based parts use the real clock with bounds on the
// side that cannot flake (a run stops on a condition, with a generous cap).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { isMeshError } from '@xmesh/core';
import { RedisRateLimiter } from '@xmesh/ratelimit';
import { createMesh, type Mesh } from '@xmesh/client';
import { loadEcho, startEchoServer, type EchoClient, type EchoReply, type EchoRequest, type EchoServer } from '../support/echo-server.js';
import { bootstrap } from '../support/mesh-config.js';
import { unary } from '../support/grpc-call.js';
import { failures, runLoad, type CallRecord } from '../support/load.js';
import { startRedis } from '../support/redis-server.js';
import { waitFor } from '../support/wait.js';

const { EchoClient: EchoCtor, service } = loadEcho();
const TARGET = 'echo.default.svc:50051';
const ECHO = '/xmesh.echo.Echo/Echo';
/** The stock generated serializers of Echo, for the fast unary API (serialized messages in and out). */
const echoCodec = service['Echo']! as grpc.MethodDefinition<EchoRequest, EchoReply>;
const CONCURRENCY = 16;

type Json = Record<string, unknown>;

/** The bootstrap for `clusters: { echo: addresses }` with `cluster` merged into the cluster and `route` into its route action. */
function meshConfig(addresses: readonly string[], cluster: Json, route: Json): object {
  const config = bootstrap({ routes: [{ cluster: 'echo' }], clusters: { echo: addresses } }) as {
    static_resources: { clusters: Json[]; listeners: { filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: { routes: { route: Json }[] }[] } } }[] }[] }[] };
  };
  Object.assign(config.static_resources.clusters[0]!, cluster);
  Object.assign(config.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes[0]!.route, route);
  return config;
}

/** Retries on connect failures that avoid hosts already tried (Envoy's previous_hosts predicate). */
const RETRY_CONNECT_FAILURE = {
  retry_policy: {
    retry_on: 'connect-failure',
    num_retries: 2,
    retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
    host_selection_retry_max_attempts: 3,
  },
};

interface Ejection { readonly endpoint: string; readonly reason: string; readonly durationMs: number; readonly at: number }

/** Records the mesh's ejection and return events with their time (performance.now()). */
function watchEjections(mesh: Mesh): { ejected: Ejection[]; returned: { endpoint: string; at: number }[] } {
  const ejected: Ejection[] = [];
  const returned: { endpoint: string; at: number }[] = [];
  mesh.on('endpoint.ejected', (e) => ejected.push({ endpoint: e.endpoint, reason: e.reason, durationMs: e.durationMs, at: performance.now() }));
  mesh.on('endpoint.returned', (e) => returned.push({ endpoint: e.endpoint, at: performance.now() }));
  return { ejected, returned };
}

/** HTTP/1.1 echo servers for the fetch path. */
async function startHttpServer(name: string): Promise<{ address: string; server: Server; close(): Promise<void> }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => res.end(name));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    address: `127.0.0.1:${port}`,
    server,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A describable failure: the gRPC code and mesh error code (or the error's name). */
function describeError(error: unknown): string {
  if (isMeshError(error)) return `${error.code}/${error.grpcStatus}`;
  const e = error as grpc.ServiceError;
  if (typeof e?.code === 'number') return `grpc ${e.code} ${String(e.metadata?.get('x-xmesh-error-code')[0] ?? '')} ${e.details}`;
  return String(error);
}

function summary<R>(calls: readonly CallRecord<R>[]): string {
  const counts = new Map<string, number>();
  for (const c of failures(calls)) {
    const key = describeError((c.result as { error: unknown }).error);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return JSON.stringify(Object.fromEntries(counts));
}

type Api = 'grpc-js client, lean transport' | 'grpc-js client, grpc-js transport' | 'fast unary API' | 'fetch';

interface DeadReplicaCase {
  readonly api: Api;
  readonly detector: 'consecutive_5xx' | 'consecutive_gateway_failure' | 'consecutive_local_origin_failure';
}

const DETECTORS: Record<DeadReplicaCase['detector'], Json> = {
  consecutive_5xx: { consecutive_5xx: 5 },
  // Gateway failures alone: consecutive_5xx out of reach.
  consecutive_gateway_failure: { consecutive_5xx: 1000, consecutive_gateway_failure: 5, enforcing_consecutive_gateway_failure: 100 },
  // Split: a refused connection is a local-origin failure and must not count as a 5xx.
  consecutive_local_origin_failure: { split_external_local_origin_errors: true, consecutive_local_origin_failure: 5 },
};

const DEAD_REPLICA_CASES: readonly DeadReplicaCase[] = [
  { api: 'grpc-js client, lean transport', detector: 'consecutive_5xx' },
  { api: 'grpc-js client, lean transport', detector: 'consecutive_gateway_failure' },
  { api: 'grpc-js client, lean transport', detector: 'consecutive_local_origin_failure' },
  { api: 'grpc-js client, grpc-js transport', detector: 'consecutive_local_origin_failure' },
  { api: 'fast unary API', detector: 'consecutive_local_origin_failure' },
  { api: 'fetch', detector: 'consecutive_local_origin_failure' },
];

describe('a replica whose process is down (connections refused), one of three, retries on connect-failure', () => {
  for (const { api, detector } of DEAD_REPLICA_CASES) {
    test(`${api}, ${detector}: the dead replica is ejected and no call fails after the first detection interval`, async (t) => {
      const http = api === 'fetch';
      const grpcServers: EchoServer[] = [];
      const httpServers: Awaited<ReturnType<typeof startHttpServer>>[] = [];
      for (const name of ['a', 'b', 'dead']) {
        if (http) httpServers.push(await startHttpServer(name));
        else grpcServers.push(await startEchoServer(name));
      }
      const addresses = http ? httpServers.map((s) => s.address) : grpcServers.map((s) => s.address);
      const dead = addresses[2]!;
      const mesh = await createMesh({
        env: {},
        transport: { grpc: api === 'grpc-js client, grpc-js transport' ? 'grpc-js' : 'lean' },
        config: meshConfig(addresses, {
          outlier_detection: { interval: '1s', base_ejection_time: '60s', max_ejection_percent: 34, ...DETECTORS[detector] },
        }, RETRY_CONNECT_FAILURE),
      });
      const events = watchEjections(mesh);
      const client = http ? undefined : (mesh.grpcClient(EchoCtor, TARGET) as EchoClient);
      const call = async (i: number): Promise<string> => {
        if (api === 'fetch') {
          const res = await mesh.fetch(`http://${TARGET}/echo/${i}`);
          const body = await res.text();
          if (res.status !== 200) throw new Error(`HTTP ${res.status} ${res.headers.get('x-xmesh-error-code')} ${body}`);
          return body;
        }
        if (api === 'fast unary API') return echoCodec.responseDeserialize(await mesh.unary(TARGET, ECHO, echoCodec.requestSerialize({ message: String(i) }))).server;
        return (await unary(client!, { message: String(i) })).server;
      };
      try {
        // Warm: every replica connected and serving.
        for (let i = 0; i < 9; i++) await call(i);
        if (http) await httpServers[2]!.close();
        else await grpcServers[2]!.close();

        // Stop 300 calls and one interval tick after the ejection: enough to show that none of them fails.
        let afterEjection = 0;
        const until = () => afterEjection >= 300 && performance.now() - events.ejected[0]!.at >= 1_200;
        const run = await runLoad({ concurrency: CONCURRENCY, maxMs: 20_000, until }, (i) => {
          if (events.ejected.length > 0) afterEjection++;
          return call(i);
        });
        assert.equal(run.resolved, run.started, 'every call started ended');
        assert.deepEqual(events.ejected.map((e) => `${e.endpoint} ${e.reason}`), [`${dead} ${detector}`], 'the dead replica alone, by the configured detector');
        const ejectedAt = events.ejected[0]!.at;
        const later = run.calls.filter((c) => c.startedAt > ejectedAt);
        assert.ok(later.length >= 300, `${later.length} calls after the ejection`);
        assert.equal(failures(later).length, 0, `no call fails once the dead replica is ejected: ${summary(later)}`);
        const failed = failures(run.calls).length;
        // Before it, a call fails only when its retry overflows max_retries (3): at most the calls in flight.
        assert.ok(failed <= 2 * CONCURRENCY, `${failed} of ${run.calls.length} failed before the ejection: ${summary(run.calls)}`);
        assert.equal(mesh.stats()['echo']!.cluster[`outlier_detection.ejections_enforced_${detector}`], 1);
        t.diagnostic(`${run.started} calls, ${failed} failed before the ejection, ${later.length} after it (none failed)`);
      } finally {
        client?.close();
        await mesh.close();
        await Promise.all([...grpcServers.slice(0, 2).map((s) => s.close()), ...httpServers.slice(0, 2).map((s) => s.close())]);
      }
    });
  }
});

/** A gRPC server that accepts every call and never answers (a hung process). */
async function startHungServer(): Promise<{ address: string; calls: () => number; close(): void }> {
  const server = new grpc.Server();
  let calls = 0;
  const hang = () => void calls++;
  server.addService(service, { Echo: hang, ServerStream: hang, ClientStream: hang, Bidi: hang });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { address: `127.0.0.1:${port}`, calls: () => calls, close: () => server.forceShutdown() };
}

describe('a replica that accepts calls and never answers, one of three', () => {
  test('consecutive_gateway_failure 3, interval 1 s: re-ejected on every return while it stays hung; throughput stays near the two healthy replicas\'', async (t) => {
    const healthy = [await startEchoServer('a'), await startEchoServer('b')];
    const hung = await startHungServer();
    const outlier = { interval: '1s', base_ejection_time: '1s', max_ejection_percent: 34, consecutive_5xx: 1000, consecutive_gateway_failure: 3, enforcing_consecutive_gateway_failure: 100 };
    const route = { timeout: '0.5s' };
    const baselineMesh = await createMesh({ env: {}, config: meshConfig(healthy.map((s) => s.address), { outlier_detection: outlier }, route) });
    const mesh = await createMesh({ env: {}, config: meshConfig([...healthy.map((s) => s.address), hung.address], { outlier_detection: outlier }, route) });
    const events = watchEjections(mesh);
    const baselineClient = baselineMesh.grpcClient(EchoCtor, TARGET) as EchoClient;
    const client = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
    try {
      const rate = (run: { calls: readonly CallRecord<unknown>[] }, from: number, to: number) =>
        run.calls.filter((c) => c.result.ok && c.startedAt >= from && c.startedAt < to).length / ((to - from) / 1000);
      const baselineStart = performance.now();
      const baseline = await runLoad({ concurrency: CONCURRENCY, maxMs: 1_500 }, () => unary(baselineClient, { message: 'base' }));
      const baselineRate = rate(baseline, baselineStart, baseline.stoppedAt);
      assert.equal(failures(baseline.calls).length, 0);

      // Run until the hung replica has been ejected four times (three returns, each followed by a re-ejection).
      const hungEjections = () => events.ejected.filter((e) => e.endpoint === hung.address).length;
      const run = await runLoad({ concurrency: CONCURRENCY, maxMs: 40_000, settleMs: 5_000, until: () => hungEjections() >= 4 }, () => unary(client, { message: 'x' }));
      assert.equal(run.resolved, run.started, 'every call started ended (the hung ones by the 0.5 s route timeout)');
      const ejected = events.ejected.filter((e) => e.endpoint === hung.address);
      const returned = events.returned.filter((e) => e.endpoint === hung.address);
      assert.ok(ejected.length >= 4, `ejected ${ejected.length} times, returned ${returned.length} times (a host still hung must be ejected again)`);
      assert.ok(ejected.every((e) => e.reason === 'consecutive_gateway_failure'));
      assert.ok(events.ejected.every((e) => e.endpoint === hung.address), 'the healthy replicas are never ejected');
      // Each return is followed by an ejection before the next return.
      for (let i = 0; i < returned.length; i++) {
        assert.ok(ejected[i + 1] !== undefined && ejected[i + 1]!.at >= returned[i]!.at && (returned[i + 1] === undefined || ejected[i + 1]!.at <= returned[i + 1]!.at), `return ${i + 1} followed by an ejection`);
      }
      // Failures are the calls that went to the hung replica before each detection: typed, bounded.
      for (const c of failures(run.calls)) {
        const e = (c.result as { error: grpc.ServiceError }).error;
        assert.equal(e.code, grpc.status.DEADLINE_EXCEEDED, describeError(e));
        assert.equal(e.metadata.get('x-xmesh-error-code')[0], 'XMESH_TIMEOUT');
      }
      assert.ok(failures(run.calls).length <= CONCURRENCY * ejected.length * 2, `${failures(run.calls).length} failures for ${ejected.length} ejections`);
      // Throughput from the first ejection on, against the two healthy replicas alone. Without
      // re-ejection every worker ends up waiting on the hung replica: ~2 calls per 0.5 s per worker
      // (< 1 % of the baseline here).
      const hungRate = rate(run, ejected[0]!.at, run.stoppedAt);
      t.diagnostic(`baseline ${baselineRate.toFixed(0)} ok/s; with the hung replica ${hungRate.toFixed(0)} ok/s; ${run.started} calls, ${failures(run.calls).length} failed; ejections ${ejected.map((e) => e.durationMs).join(', ')} ms`);
      assert.ok(hungRate >= 0.1 * baselineRate, `${hungRate.toFixed(0)} ok/s with a hung replica vs ${baselineRate.toFixed(0)} ok/s on the two healthy ones`);
    } finally {
      baselineClient.close();
      client.close();
      await Promise.all([mesh.close(), baselineMesh.close()]);
      hung.close();
      await Promise.all(healthy.map((s) => s.close()));
    }
  });
});

describe('a replica killed mid-load, one of three, retries on connect-failure, reset and unavailable', () => {
  for (const api of ['grpc-js client, lean transport', 'fast unary API'] as const) {
    test(`${api}: every call started ends, failures are few and typed, the killed replica is ejected`, async (t) => {
      const servers = [await startEchoServer('a'), await startEchoServer('b'), await startEchoServer('killed')];
      const killed = servers[2]!;
      const mesh = await createMesh({
        env: {},
        config: meshConfig(servers.map((s) => s.address), {
          outlier_detection: { interval: '1s', base_ejection_time: '60s', max_ejection_percent: 34, consecutive_5xx: 5 },
        // Calls in flight on the killed replica end with a reset (Envoy's `reset`, no grpc-status) or an
        // UNAVAILABLE status, depending on how the transport words the lost connection: both are retried.
        }, { retry_policy: { ...RETRY_CONNECT_FAILURE.retry_policy, retry_on: 'connect-failure,refused-stream,reset,unavailable' } }),
      });
      const events = watchEjections(mesh);
      const client = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
      const call = async (i: number): Promise<string> => {
        if (api === 'fast unary API') return echoCodec.responseDeserialize(await mesh.unary(TARGET, ECHO, echoCodec.requestSerialize({ message: String(i) }))).server;
        return (await unary(client, { message: String(i) })).server;
      };
      try {
        const KILL_AT = 2_000;
        let killedAt = Infinity;
        let afterEjection = 0;
        const until = () => events.ejected.length > 0 && afterEjection >= 300 && performance.now() - events.ejected[0]!.at >= 1_200;
        const run = await runLoad({ concurrency: CONCURRENCY, maxMs: 30_000, until }, (i) => {
          if (i === KILL_AT) {
            killedAt = performance.now();
            killed.kill();
          }
          if (events.ejected.length > 0) afterEjection++;
          return call(i);
        });
        assert.equal(run.resolved, run.started, 'every call started ended');
        assert.ok(killedAt !== Infinity, 'killed under load');
        assert.deepEqual(events.ejected.map((e) => e.endpoint), [killed.address], 'the killed replica alone is ejected');
        const failed = failures(run.calls);
        // Typed: a lost connection or refused one is UNAVAILABLE, a stream reset INTERNAL (grpc-js's mapping).
        const LOST = [grpc.status.UNAVAILABLE, grpc.status.INTERNAL];
        for (const c of failed) {
          const error = (c.result as { error: unknown }).error;
          if (api === 'fast unary API') assert.ok(isMeshError(error) && /^XMESH_/.test(error.code) && LOST.includes(error.grpcStatus), describeError(error));
          else assert.ok(LOST.includes((error as grpc.ServiceError).code), describeError(error));
        }
        assert.ok(failed.length <= 2 * CONCURRENCY, `${failed.length} of ${run.calls.length} failed: ${summary(run.calls)}`);
        assert.equal(failures(run.calls.filter((c) => c.startedAt > events.ejected[0]!.at)).length, 0, 'none fails once it is ejected');
        // Before the kill only calls still in flight on the killed replica may fail (a retry overflowing max_retries).
        assert.ok(failures(run.calls.filter((c) => c.startedAt < killedAt)).length <= CONCURRENCY, 'none fails long before the kill');
        t.diagnostic(`${run.started} calls, ${failed.length} failed (${summary(run.calls)})`);
      } finally {
        client.close();
        await mesh.close();
        await Promise.all(servers.slice(0, 2).map((s) => s.close()));
      }
    });
  }
});

describe('Redis stopped under load, cluster-wide rate limit tier', () => {
  test('every call ends; fail-open admits every call, fail-closed rejects with XMESH_RATE_LIMITED (UNAVAILABLE) once Redis is gone', async (t) => {
    const redis = await startRedis();
    const server = await startEchoServer('echo');
    const limiters = (['open', 'closed'] as const).map((failureMode) => new RedisRateLimiter({
      // Long enough for a running Redis to decide on a busy machine; once it is stopped, refused
      // connections fail at once (the offline queue is off), whatever the timeout.
      host: '127.0.0.1', port: redis.port, failureMode, commandTimeoutMs: 5_000, keyPrefix: `faults-${failureMode}:`,
      bucket: { maxTokens: 1_000_000, tokensPerFill: 1_000_000, fillIntervalMs: 1_000 },
    }));
    await Promise.all(limiters.map((l) => l.ready()));
    const meshes = await Promise.all(limiters.map((limiter) => createMesh({
      env: {},
      config: meshConfig([server.address], {}, {}),
      clusterRateLimit: { limiter, key: (_request, decision) => decision.route.name || 'echo' },
    })));
    const clients = meshes.map((m) => m.grpcClient(EchoCtor, TARGET) as EchoClient);
    try {
      // Calls alternate between the fail-open mesh (even) and the fail-closed one (odd); each
      // result (or error) carries which mesh it went through.
      const FAIL_OPEN = 0;
      const FAIL_CLOSED = 1;
      const STOP_AT = 1_000;
      let stopping: Promise<void> | undefined;
      let stopBegan = Infinity;
      let stoppedAt = Infinity;
      let afterStop = 0;
      const run = await runLoad({ concurrency: CONCURRENCY, maxMs: 30_000, until: () => afterStop >= 1_000 }, (i) => {
        if (i === STOP_AT) {
          stopBegan = performance.now();
          stopping = redis.stop().then(() => void (stoppedAt = performance.now()));
        }
        if (stoppedAt !== Infinity) afterStop++;
        const mode = i % 2;
        return unary(clients[mode]!, { message: String(i) }).then(() => mode, (error: grpc.ServiceError) => Promise.reject({ mode, error }));
      });
      await stopping;
      assert.equal(run.resolved, run.started, 'every call started ended');
      const failed = failures(run.calls).map((c) => ({ startedAt: c.startedAt, ...(c.result as { error: { mode: number; error: grpc.ServiceError } }).error }));
      for (const f of failed) {
        assert.equal(f.mode, FAIL_CLOSED, `only fail-closed rejects: ${describeError(f.error)}`);
        assert.equal(f.error.code, grpc.status.UNAVAILABLE, describeError(f.error));
        assert.equal(f.error.metadata.get('x-xmesh-error-code')[0], 'XMESH_RATE_LIMITED', describeError(f.error));
      }
      // Before the stop, only calls whose decision was still in flight when Redis died may fail.
      assert.ok(failed.filter((f) => f.startedAt < stopBegan).length <= CONCURRENCY, 'nothing fails while Redis is up');
      const store = (m: Mesh, name: string) => m.observability.store.value(`cluster.echo.ratelimit.${name}`) ?? 0;
      const [open, closed] = meshes as [Mesh, Mesh];
      assert.equal(store(open, 'error'), 0, 'fail-open never rejects');
      assert.ok(store(open, 'failure_mode_allowed') > 0, 'fail-open admitted calls Redis could not decide');
      assert.equal(failed.length, store(closed, 'error'), 'every failure is a fail-closed rejection, counted');
      // Once Redis is gone every fail-closed call is rejected and every fail-open call admitted.
      const afterStopCalls = run.calls.filter((c) => c.startedAt > stoppedAt);
      assert.ok(afterStopCalls.length >= 1_000);
      for (const c of afterStopCalls) {
        const mode = c.result.ok ? c.result.value : (c.result.error as { mode: number }).mode;
        assert.equal(c.result.ok, mode === FAIL_OPEN, `after the stop: fail-${mode === FAIL_OPEN ? 'open admits' : 'closed rejects'}`);
      }
      t.diagnostic(`${run.started} calls, ${failed.length} rejected by fail-closed; fail-open admitted ${store(open, 'failure_mode_allowed')} without Redis`);
    } finally {
      for (const c of clients) c.close();
      await Promise.all(meshes.map((m) => m.close()));
      await Promise.all(limiters.map((l) => l.close()));
      await server.close();
      await redis.stop().catch(() => undefined);
    }
  });
});

describe('callers that give up are not the upstream\'s failures', () => {
  test('fetch aborted by its caller and gRPC calls cancelled by theirs never eject a slow but healthy replica', async () => {
    let httpRequests = 0;
    const slowHttp = createServer((req, res) => {
      httpRequests++;
      req.resume();
      const timer = setTimeout(() => res.end('late'), 2_000);
      res.on('close', () => clearTimeout(timer));
    });
    await new Promise<void>((resolve) => slowHttp.listen(0, '127.0.0.1', resolve));
    const slowGrpc = await startHungServer();
    const httpAddress = `127.0.0.1:${(slowHttp.address() as { port: number }).port}`;
    const outlier = { outlier_detection: { interval: '1s', consecutive_5xx: 3, consecutive_gateway_failure: 3, enforcing_consecutive_gateway_failure: 100, max_ejection_percent: 100 } };
    const httpMesh = await createMesh({ env: {}, config: meshConfig([httpAddress], outlier, {}) });
    const grpcMesh = await createMesh({ env: {}, config: meshConfig([slowGrpc.address], outlier, {}) });
    const ejected = [...Object.values(watchEjections(httpMesh)), ...Object.values(watchEjections(grpcMesh))];
    const client = grpcMesh.grpcClient(EchoCtor, TARGET) as EchoClient;
    try {
      for (let i = 0; i < 10; i++) {
        const controller = new AbortController();
        // Each is abandoned once its upstream has it: an attempt that reached an endpoint.
        const pending = httpMesh.fetch(`http://${TARGET}/slow/${i}`, { signal: controller.signal });
        await waitFor(() => httpRequests === i + 1, 'the request to reach the upstream');
        controller.abort();
        await assert.rejects(pending);
        let ended!: () => void;
        const cancelled = new Promise<void>((resolve) => (ended = resolve));
        const call = client['Echo']({ message: 'm' }, () => ended());
        await waitFor(() => slowGrpc.calls() === i + 1, 'the call to reach the upstream');
        call.cancel();
        await cancelled;
      }
      assert.deepEqual(ejected[0], [], 'HTTP: no ejection');
      assert.deepEqual(ejected[2], [], 'gRPC: no ejection');
      assert.equal(httpMesh.stats()['echo']!.cluster['outlier_detection.ejections_detected_consecutive_5xx'], 0);
      assert.equal(grpcMesh.stats()['echo']!.cluster['outlier_detection.ejections_detected_consecutive_5xx'], 0);
    } finally {
      client.close();
      await Promise.all([httpMesh.close(), grpcMesh.close()]);
      slowHttp.closeAllConnections();
      slowHttp.close();
      slowGrpc.close();
    }
  });
});
