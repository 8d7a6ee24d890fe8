// hedge_on_per_try_timeout on the fast unary path (`mesh.unary`), against a stock node:http2 gRPC
// upstream: a first attempt that stalls past per_try_timeout keeps running while a retry races it; the
// first response wins and the other stream is reset (the upstream sees the RST_STREAM); the caller's
// cancel or the route timeout resets every stream of the race. The route carries
// `hedge_policy: { hedge_on_per_try_timeout: true }`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerHttp2Stream } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { isMeshError } from '@xmesh/core';
import { createMesh, type Mesh } from '@xmesh/client';
import { bootstrap } from '../support/mesh-config.js';
import { loadEcho, type EchoClient } from '../support/echo-server.js';
import { startHostileGrpcServer, type HostileServer } from '../support/hostile-upstreams.js';

/** A gRPC OK answer with one message (an empty Echo reply). */
function answerOk(stream: ServerHttp2Stream): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(Buffer.from([0, 0, 0, 0, 2, 0x0a, 0x00]));
}

const { EchoClient: EchoCtor } = loadEcho();
const TARGET = 'echo.default.svc:50051';
const REQUEST = Buffer.from([0x0a, 0x01, 0x78]);

type Cfg = { static_resources: { listeners: { filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: { routes: { route: Record<string, unknown> }[] }[] } } }[] }[] }[] } };

describe('fast unary: hedge_on_per_try_timeout', () => {
  let upstream: HostileServer;
  let mesh: Mesh;
  /** Streams the upstream left unanswered, by behaviour, with how each ended. */
  const stalled = new Map<string, { closed: Promise<number> }[]>();

  before(async () => {
    // `stall-first-*`: the first stream is never answered; `stall-all-*`: none is; `late-first-*`: the
    // first stream is answered 400 ms late, later ones never.
    upstream = await startHostileGrpcServer((stream: ServerHttp2Stream, behaviour, count) => {
      if (behaviour.startsWith('late-first-') && count === 1) {
        const timer = setTimeout(() => answerOk(stream), 400);
        stream.once('close', () => clearTimeout(timer));
        return true;
      }
      const stall = behaviour.startsWith('stall-all-') || behaviour.startsWith('late-first-') || (behaviour.startsWith('stall-first-') && count === 1);
      if (!stall) return false;
      const closed = new Promise<number>((resolve) => stream.once('close', () => resolve(stream.rstCode ?? -1)));
      stalled.set(behaviour, [...(stalled.get(behaviour) ?? []), { closed }]);
      return true;
    });
    const cfg = bootstrap({ routes: [{ prefix: '/', cluster: 'grpc' }], clusters: { grpc: [upstream.address] } }) as Cfg;
    Object.assign(cfg.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes[0]!.route, {
      timeout: '3s',
      hedge_policy: { hedge_on_per_try_timeout: true },
      retry_policy: { retry_on: 'unavailable', num_retries: 1, per_try_timeout: '0.2s', retry_back_off: { base_interval: '0.001s', max_interval: '0.002s' } },
    });
    mesh = await createMesh({ config: cfg, env: {}, transport: { grpc: 'lean' } });
  });

  after(async () => {
    await mesh.close();
    await upstream.close();
  });

  test('the stalled attempt keeps running; the retry answers, the call succeeds and the stalled stream is reset', async () => {
    const reply = await mesh.unary(TARGET, '/xmesh.echo.Echo/Echo', REQUEST, { metadata: { 'x-behaviour': 'stall-first-ok' }, deadline: Date.now() + 10_000 });
    assert.ok(reply.length > 0, 'the second attempt\'s reply');
    assert.equal(upstream.seen.get('stall-first-ok'), 2, 'two attempts reached the upstream');
    const [first] = stalled.get('stall-first-ok')!;
    // NGHTTP2_CANCEL (8): the loser's stream was reset once the winner's headers arrived.
    assert.equal(await first!.closed, 8);
    const stat = (name: string) => mesh.observability.store.value(`cluster.grpc.${name}`);
    assert.equal(stat('upstream_rq_retry'), 1);
    assert.equal(stat('upstream_rq_per_try_timeout'), 0, 'Envoy counts no per-try timeout for an attempt it leaves running');
  });

  test('grpc-js drop-in (lean): the timed-out attempt answers first: its reply is the call\'s, exactly once, and the racing retry is reset', async () => {
    // The grpc-js drop-in on the lean transport (the same fast unary call underneath), its callback counted.
    const client = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
    let replies = 0;
    const metadata = new grpc.Metadata();
    metadata.set('x-behaviour', 'late-first-ok');
    const reply = await new Promise<unknown>((resolve, reject) => {
      client.Echo({ message: 'x' }, metadata, { deadline: Date.now() + 10_000 }, (error: grpc.ServiceError | null, value: unknown) => {
        replies++;
        if (error !== null) reject(error);
        else resolve(value);
      });
    });
    client.close();
    assert.ok(reply !== undefined);
    assert.equal(upstream.seen.get('late-first-ok'), 2);
    const [retry] = stalled.get('late-first-ok')!;
    assert.equal(await retry!.closed, 8, 'the racing retry\'s stream was reset');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(replies, 1);
  });

  test('grpc-js drop-in (lean): the caller cancels while two attempts race: both streams are reset, the caller gets CANCELLED once', async () => {
    const client = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
    const metadata = new grpc.Metadata();
    metadata.set('x-behaviour', 'stall-all-cancel');
    let ends = 0;
    let cancelledAt = 0;
    const ended = new Promise<grpc.ServiceError | null>((resolve) => {
      const call = client.Echo({ message: 'x' }, metadata, { deadline: Date.now() + 10_000 }, (error: grpc.ServiceError | null) => {
        ends++;
        resolve(error);
      });
      // Both attempts reached the upstream (the retry started at the 200 ms per-try timeout): cancel.
      const poll = setInterval(() => {
        if ((upstream.seen.get('stall-all-cancel') ?? 0) < 2) return;
        clearInterval(poll);
        cancelledAt = Date.now();
        call.cancel();
      }, 10);
    });
    const error = await ended;
    client.close();
    assert.equal(error?.code, grpc.status.CANCELLED);
    const codes = await Promise.all(stalled.get('stall-all-cancel')!.map((s) => s.closed));
    assert.deepEqual(codes, [8, 8], 'both streams reset (RST_STREAM CANCEL)');
    // Left running, the raced stream would end only at the call's 10 s deadline.
    assert.ok(Date.now() - cancelledAt < 5000, 'reset at the cancel, not at the deadline');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(ends, 1);
  });

  test('retries exhausted: both attempts stall, the route timeout ends the call once with DEADLINE_EXCEEDED and resets both streams', async () => {
    const started = Date.now();
    const error = await mesh.unary(TARGET, '/xmesh.echo.Echo/Echo', REQUEST, { metadata: { 'x-behaviour': 'stall-all-timeout' }, deadline: Date.now() + 20_000 }).then(
      () => assert.fail('the call must fail'),
      (e: unknown) => e,
    );
    assert.ok(isMeshError(error));
    assert.equal(error.code, 'XMESH_TIMEOUT');
    assert.equal(error.grpcStatus, 4);
    assert.ok(Date.now() - started < 15_000, 'ended by the 3 s route timeout');
    assert.equal(upstream.seen.get('stall-all-timeout'), 2, 'one retry (num_retries 1)');
    const codes = await Promise.all(stalled.get('stall-all-timeout')!.map((s) => s.closed));
    assert.equal(codes.length, 2);
    for (const code of codes) assert.notEqual(code, 0, 'each stream was reset, none answered');
  });
});
