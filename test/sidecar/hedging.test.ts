// hedge_on_per_try_timeout in the sidecar: stock clients (undici over HTTP/1.1, grpc-js over h2c) ->
// xmesh sidecar -> stock upstreams (node:http, node:http2, a grpc-js server). A request whose body
// arrived whole keeps its timed-out attempt running while a retry races it; only the winner's
// response is relayed, the losers' upstream streams are reset, the client's cancel or the route
// timeout ends them all. A request still streaming its body is not raced. The routes carry
// `hedge_policy: { hedge_on_per_try_timeout: true }`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createServer as createH2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { Agent, request } from 'undici';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { bootstrap } from '../support/mesh-config.js';
import { loadEcho, type EchoClient } from '../support/echo-server.js';
import { behaviourHandler, echoWithBehaviour, startStallingGrpcServer, whenSeen, type SeenRequest } from '../support/stalling-upstreams.js';

type Cfg = { static_resources: { listeners: { filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: { routes: { route: Record<string, unknown> }[] }[] } } }[] }[] }[] } };

const { EchoClient: EchoCtor } = loadEcho();

describe('sidecar: hedge_on_per_try_timeout', () => {
  const seen = new Map<string, SeenRequest[]>();
  const h1 = createServer(behaviourHandler(seen));
  const h2 = createH2Server(behaviourHandler(seen));
  let grpcUpstream: Awaited<ReturnType<typeof startStallingGrpcServer>>;
  let sidecar: Sidecar;
  let agent: Agent;
  let grpcClient: EchoClient;

  before(async () => {
    await Promise.all([h1, h2].map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
    grpcUpstream = await startStallingGrpcServer();
    const address = (server: typeof h1 | typeof h2) => `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const cfg = bootstrap({
      routes: [{ prefix: '/h1', cluster: 'h1' }, { prefix: '/h2', cluster: 'h2' }, { prefix: '/xmesh.echo.Echo/', cluster: 'grpc' }],
      clusters: { h1: [address(h1)], h2: [address(h2)], grpc: [grpcUpstream.address] },
      http2: ['h2', 'grpc'],
    }) as Cfg;
    for (const route of cfg.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes) {
      Object.assign(route.route, {
        timeout: '3s',
        hedge_policy: { hedge_on_per_try_timeout: true },
        retry_policy: { retry_on: '5xx,unavailable', num_retries: 3, per_try_timeout: '0.2s', retry_back_off: { base_interval: '0.001s', max_interval: '0.002s' } },
      });
    }
    sidecar = await startSidecar({ config: cfg, listen: '127.0.0.1:0', admin: false });
    agent = new Agent();
    grpcClient = new EchoCtor(sidecar.target, grpc.credentials.createInsecure()) as EchoClient;
  });

  after(async () => {
    grpcClient.close();
    await agent.close();
    await sidecar.close();
    h1.closeAllConnections();
    grpcUpstream.close();
    await Promise.all([new Promise((resolve) => h1.close(resolve)), new Promise((resolve) => h2.close(resolve))]);
  });

  const post = (cluster: string, behaviour: string, body: string | PassThrough = 'payload', signal?: AbortSignal) =>
    request(`http://${sidecar.target}/${cluster}`, { method: 'POST', body, headers: { 'x-behaviour': behaviour }, dispatcher: agent, signal });

  const stat = (cluster: string, name: string) => sidecar.mesh.observability.store.value(`cluster.${cluster}.${name}`);

  for (const cluster of ['h1', 'h2'] as const) {
    test(`HTTP/1.1 client -> ${cluster} upstream: the stalled attempt keeps running; the retry's response is relayed, the stalled request is reset`, async () => {
      const behaviour = `stall-first-sidecar-${cluster}`;
      const response = await post(cluster, behaviour);
      assert.equal(response.statusCode, 200);
      assert.equal(await response.body.text(), `${behaviour}#2:payload`, 'the retry\'s response, with the whole body replayed');
      const requests = seen.get(behaviour)!;
      assert.equal(requests.length, 2);
      assert.equal(await requests[0]!.abandoned, true, 'the stalled request was reset once the retry answered');
      assert.equal(stat(cluster, 'upstream_rq_retry'), 1);
      assert.equal(stat(cluster, 'upstream_rq_per_try_timeout'), 0, 'Envoy counts no per-try timeout for an attempt it leaves running');
    });

    test(`HTTP/1.1 client -> ${cluster} upstream: the timed-out attempt answers first: exactly its bytes are relayed, the racing retry is reset`, async () => {
      const behaviour = `late-first-sidecar-${cluster}`;
      const response = await post(cluster, behaviour);
      assert.equal(response.statusCode, 200);
      assert.equal(await response.body.text(), `${behaviour}#1:payload`);
      const requests = seen.get(behaviour)!;
      assert.ok(requests.length >= 2, 'a retry raced the slow attempt');
      const abandoned = await Promise.all(requests.slice(1).map((r) => r.abandoned));
      assert.ok(abandoned.every(Boolean), 'every racing retry was reset');
    });

    test(`HTTP/1.1 client -> ${cluster} upstream: retries exhausted: the route timeout answers 504 once and resets every attempt`, async () => {
      const behaviour = `stall-all-timeout-sidecar-${cluster}`;
      const started = Date.now();
      const response = await post(cluster, behaviour);
      assert.equal(response.statusCode, 504);
      await response.body.text();
      assert.ok(Date.now() - started < 15_000, 'ended by the 3 s route timeout');
      const abandoned = await Promise.all(seen.get(behaviour)!.map((r) => r.abandoned));
      assert.deepEqual(abandoned, [true, true, true, true], 'each per-try timeout raced one more (num_retries 3), all reset');
      assert.equal(stat(cluster, 'upstream_rq_timeout'), 1);
    });

    test(`HTTP/1.1 client -> ${cluster} upstream: the client goes away while attempts race: every upstream request is reset`, async () => {
      const behaviour = `stall-all-cancel-sidecar-${cluster}`;
      const abort = new AbortController();
      whenSeen(seen, behaviour, 2, () => abort.abort());
      await assert.rejects(post(cluster, behaviour, 'payload', abort.signal));
      const abandoned = await Promise.all(seen.get(behaviour)!.map((r) => r.abandoned));
      assert.ok(abandoned.length >= 2);
      assert.ok(abandoned.every(Boolean), 'every racing request reset');
    });

    test(`HTTP/1.1 client -> ${cluster} upstream: a body still streaming at the per-try timeout is not raced: the attempt ends, the retry gets the whole body`, async () => {
      const behaviour = `stream-sidecar-${cluster}`;
      const body = new PassThrough();
      body.write('a');
      const pending = post(cluster, behaviour, body);
      const requests = () => seen.get(behaviour) ?? [];
      while (requests().length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
      // The per-try timeout ended the first attempt (a hedge would leave it running and count no per-try
      // timeout). Over HTTP/1.1 its connection closes; over h2c the stream is reset, or, once the session's
      // reset budget (reset-budget.ts) is spent, abandoned unended until its session closes.
      const firstReset = await requests()[0]!.abandoned;
      if (cluster === 'h1') assert.equal(firstReset, true, 'the first attempt was reset');
      assert.ok(stat(cluster, 'upstream_rq_per_try_timeout') >= 1, 'a per-try timeout, counted as before');
      body.end('b');
      const response = await pending;
      assert.equal(response.statusCode, 200);
      // The retry got the whole body (a loaded machine may time out one more retry before it ends).
      assert.match(await response.body.text(), new RegExp(`^${behaviour}#[234]:ab$`));
    });
  }

  const echo = (behaviour: string) => echoWithBehaviour(grpcClient, behaviour);

  test('grpc-js client -> grpc-js upstream: the stalled call keeps running; the retry\'s reply is relayed once, the stalled call is cancelled', async () => {
    const behaviour = 'stall-first-sidecar-grpc';
    const call = echo(behaviour);
    const { error, reply } = await call.done;
    assert.equal(error, null);
    assert.equal(reply?.message, `${behaviour}#2`);
    const calls = grpcUpstream.seen.get(behaviour)!;
    assert.equal(calls.length, 2);
    assert.equal(await calls[0]!.cancelled, true);
    assert.equal(stat('grpc', 'upstream_rq_per_try_timeout'), 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(call.ends(), 1);
  });

  test('grpc-js client -> grpc-js upstream: the client cancels while calls race: every upstream call is cancelled', async () => {
    const behaviour = 'stall-all-cancel-sidecar-grpc';
    const call = echo(behaviour);
    whenSeen(grpcUpstream.seen, behaviour, 2, () => call.cancel());
    const { error } = await call.done;
    assert.equal(error?.code, grpc.status.CANCELLED);
    const cancelled = await Promise.all(grpcUpstream.seen.get(behaviour)!.map((c) => c.cancelled));
    assert.ok(cancelled.length >= 2);
    assert.ok(cancelled.every(Boolean), 'every racing upstream call cancelled');
  });
});
