// hedge_on_per_try_timeout on the grpc-js call path (generated clients over the mesh channel: the
// grpc-js transport, and clients with interceptors on the lean transport), against a stock grpc-js
// server: a first attempt that stalls past per_try_timeout keeps running while a retry races it; the
// first response wins, only its metadata, message and status reach the caller, the other server call
// is cancelled. A client-streaming call whose request is not complete is not raced: its per-try
// timeout cancels the attempt before the retry, as before. The routes carry
// `hedge_policy: { hedge_on_per_try_timeout: true }`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createMesh, type Mesh } from '@xmesh/client';
import { bootstrap } from '../support/mesh-config.js';
import { loadEcho, type EchoClient, type EchoReply, type EchoRequest } from '../support/echo-server.js';
import { echoWithBehaviour as echo, startStallingGrpcServer, whenSeen } from '../support/stalling-upstreams.js';

const { EchoClient: EchoCtor } = loadEcho();
const TARGET = 'echo.default.svc:50051';

type Cfg = { static_resources: { listeners: { filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: { routes: { route: Record<string, unknown> }[] }[] } } }[] }[] }[] } };

/** Interceptors force the grpc-js Client layer (and so the mesh channel's call) on the lean transport. */
const passThrough: grpc.Interceptor = (options, nextCall) => new grpc.InterceptingCall(nextCall(options));

describe('grpc-js call path: hedge_on_per_try_timeout', () => {
  let upstream: Awaited<ReturnType<typeof startStallingGrpcServer>>;
  const meshes: Record<'grpc-js' | 'lean', Mesh> = {} as never;
  const clients: Record<'grpc-js' | 'lean', EchoClient> = {} as never;

  before(async () => {
    upstream = await startStallingGrpcServer();
    for (const transport of ['grpc-js', 'lean'] as const) {
      const cfg = bootstrap({ routes: [{ prefix: '/', cluster: 'grpc' }], clusters: { grpc: [upstream.address] } }) as Cfg;
      Object.assign(cfg.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes[0]!.route, {
        timeout: '3s',
        hedge_policy: { hedge_on_per_try_timeout: true },
        retry_policy: { retry_on: '5xx,unavailable', num_retries: 3, per_try_timeout: '0.2s', retry_back_off: { base_interval: '0.001s', max_interval: '0.002s' } },
      });
      const mesh = await createMesh({ config: cfg, env: {}, transport: { grpc: transport } });
      meshes[transport] = mesh;
      clients[transport] = mesh.grpcClient(EchoCtor, TARGET, transport === 'lean' ? { interceptors: [passThrough] } : {}) as EchoClient;
    }
  });

  after(async () => {
    for (const transport of ['grpc-js', 'lean'] as const) {
      clients[transport]?.close();
      await meshes[transport]?.close();
    }
    upstream?.close();
  });

  for (const transport of ['grpc-js', 'lean'] as const) {
    const label = transport === 'lean' ? 'lean transport, interceptors' : 'grpc-js transport';

    test(`${label}: the stalled attempt keeps running; the retry answers, the call succeeds and the stalled server call is cancelled`, async () => {
      const behaviour = `stall-first-${transport}`;
      const call = echo(clients[transport], behaviour);
      const { error, reply } = await call.done;
      assert.equal(error, null);
      assert.equal(reply?.message, `${behaviour}#2`, 'the second attempt\'s reply');
      const calls = upstream.seen.get(behaviour)!;
      assert.equal(calls.length, 2, 'two attempts reached the upstream');
      assert.equal(await calls[0]!.cancelled, true, 'the stalled call was cancelled once the retry answered');
      const stat = (name: string) => meshes[transport].observability.store.value(`cluster.grpc.${name}`);
      assert.equal(stat('upstream_rq_retry'), 1);
      assert.equal(stat('upstream_rq_per_try_timeout'), 0, 'Envoy counts no per-try timeout for an attempt it leaves running');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(call.ends(), 1);
    });

    test(`${label}: the timed-out attempt answers first: its reply is the call's, exactly once, and the racing retry is cancelled`, async () => {
      const behaviour = `late-first-${transport}`;
      const call = echo(clients[transport], behaviour);
      const { error, reply } = await call.done;
      assert.equal(error, null);
      assert.equal(reply?.message, `${behaviour}#1`, 'the first attempt\'s reply');
      const calls = upstream.seen.get(behaviour)!;
      assert.ok(calls.length >= 2, 'a retry raced the slow attempt');
      const cancelled = await Promise.all(calls.slice(1).map((c) => c.cancelled));
      assert.ok(cancelled.every(Boolean), 'every racing retry was cancelled');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(call.ends(), 1);
    });

    test(`${label}: the caller cancels while two attempts race: both server calls are cancelled, the caller gets CANCELLED once`, async () => {
      const behaviour = `stall-all-cancel-${transport}`;
      const call = echo(clients[transport], behaviour);
      whenSeen(upstream.seen, behaviour, 2, () => call.cancel());
      const { error } = await call.done;
      assert.equal(error?.code, grpc.status.CANCELLED);
      const cancelled = await Promise.all(upstream.seen.get(behaviour)!.map((c) => c.cancelled));
      assert.ok(cancelled.length >= 2);
      assert.ok(cancelled.every(Boolean), 'every racing server call cancelled');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(call.ends(), 1);
    });

    test(`${label}: retries exhausted: the route timeout ends the call once with DEADLINE_EXCEEDED and cancels both server calls`, async () => {
      const behaviour = `stall-all-timeout-${transport}`;
      const started = Date.now();
      const call = echo(clients[transport], behaviour, 20_000);
      const { error } = await call.done;
      assert.equal(error?.code, grpc.status.DEADLINE_EXCEEDED);
      assert.ok(Date.now() - started < 15_000, 'ended by the 3 s route timeout, not the 20 s deadline');
      const cancelled = await Promise.all(upstream.seen.get(behaviour)!.map((c) => c.cancelled));
      // Each attempt's per-try timeout raced one more (num_retries 3): four, all cancelled.
      assert.deepEqual(cancelled, [true, true, true, true]);
      assert.equal(meshes[transport].observability.store.value('cluster.grpc.upstream_rq_timeout'), 1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(call.ends(), 1);
    });

    test(`${label}: a client stream still sending at its per-try timeout is not raced: the attempt is cancelled, the retry carries the whole stream`, async () => {
      const behaviour = `stream-${transport}`;
      const metadata = new grpc.Metadata();
      metadata.set('x-behaviour', behaviour);
      let ends = 0;
      let stream: grpc.ClientWritableStream<EchoRequest> | undefined;
      const done = new Promise<{ error: grpc.ServiceError | null; reply: EchoReply | undefined }>((resolve) => {
        stream = clients[transport].ClientStream(metadata, { deadline: Date.now() + 10_000 }, (error: grpc.ServiceError | null, reply?: EchoReply) => {
          ends++;
          resolve({ error, reply });
        }) as grpc.ClientWritableStream<EchoRequest>;
      });
      stream!.write({ message: 'a' });
      // Half-close once the first attempt was cancelled by its per-try timeout and a retry reached the upstream.
      const calls = () => upstream.seen.get(behaviour) ?? [];
      while (calls().length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(await calls()[0]!.cancelled, true, 'the first attempt was cancelled');
      const order = upstream.events.filter((event) => event.startsWith(`${behaviour}#`));
      assert.deepEqual(order.slice(0, 3), [`${behaviour}#1 start`, `${behaviour}#1 cancelled`, `${behaviour}#2 start`], 'cancelled before the retry started');
      stream!.end();
      const { error, reply } = await done;
      assert.equal(error, null);
      // The retry got the whole stream (a loaded machine may time out one more retry before the half-close).
      assert.match(reply?.message ?? '', new RegExp(`^${behaviour}#[234]:a$`));
      assert.ok(meshes[transport].observability.store.value('cluster.grpc.upstream_rq_per_try_timeout') >= 1, 'a per-try timeout, counted as before');
      assert.equal(ends, 1);
    });
  }
});
