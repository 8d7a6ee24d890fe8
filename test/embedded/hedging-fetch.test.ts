// hedge_on_per_try_timeout on `mesh.fetch`, against stock node:http (HTTP/1.1) and node:http2 (h2c)
// upstreams: a request whose body was read whole keeps its timed-out attempt running while a retry
// races it; the first response wins, only its bytes reach the caller, the other upstream request is
// aborted (the server sees it close unanswered). A body still streaming at the per-try timeout is not
// raced: the attempt is aborted before the retry, as before. The routes carry
// `hedge_policy: { hedge_on_per_try_timeout: true }`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createServer as createH2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createMesh, type Mesh } from '@xmesh/client';
import { bootstrap } from '../support/mesh-config.js';
import { behaviourHandler, whenSeen, type SeenRequest } from '../support/stalling-upstreams.js';

type Cfg = { static_resources: { listeners: { filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: { routes: { route: Record<string, unknown> }[] }[] } } }[] }[] }[] } };

describe('mesh.fetch: hedge_on_per_try_timeout', () => {
  const seen = new Map<string, SeenRequest[]>();
  const h1 = createServer(behaviourHandler(seen));
  const h2 = createH2Server(behaviourHandler(seen));
  let mesh: Mesh;

  before(async () => {
    await Promise.all([h1, h2].map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
    const address = (server: typeof h1 | typeof h2) => `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const cfg = bootstrap({
      routes: [{ prefix: '/h1', cluster: 'h1' }, { prefix: '/h2', cluster: 'h2' }, { prefix: '/plain', cluster: 'plain' }],
      clusters: { h1: [address(h1)], h2: [address(h2)], plain: [address(h1)] },
      http2: ['h2'],
    }) as Cfg;
    // `/plain` has no hedge_policy.
    for (const route of cfg.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes) {
      Object.assign(route.route, {
        timeout: '3s',
        ...(route.route['cluster'] === 'plain' ? {} : { hedge_policy: { hedge_on_per_try_timeout: true } }),
        retry_policy: { retry_on: '5xx', num_retries: 3, per_try_timeout: '0.2s', retry_back_off: { base_interval: '0.001s', max_interval: '0.002s' } },
      });
    }
    mesh = await createMesh({ config: cfg, env: {} });
  });

  after(async () => {
    await mesh.close();
    h1.closeAllConnections();
    await Promise.all([new Promise((resolve) => h1.close(resolve)), new Promise((resolve) => h2.close(resolve))]);
  });

  const post = (cluster: string, behaviour: string, init: RequestInit = {}) =>
    mesh.fetch(`http://web.default.svc/${cluster}`, { method: 'POST', body: 'payload', headers: { 'x-behaviour': behaviour }, ...init });

  const stat = (cluster: string, name: string) => mesh.observability.store.value(`cluster.${cluster}.${name}`);

  for (const cluster of ['h1', 'h2'] as const) {
    test(`${cluster}: the stalled attempt keeps running; the retry answers, the call succeeds and the stalled request is aborted`, async () => {
      const behaviour = `stall-first-${cluster}`;
      const response = await post(cluster, behaviour);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), `${behaviour}#2:payload`, 'the retry\'s reply, with the whole body');
      const requests = seen.get(behaviour)!;
      assert.equal(requests.length, 2);
      assert.equal(await requests[0]!.abandoned, true, 'the stalled request was aborted once the retry answered');
      assert.equal(stat(cluster, 'upstream_rq_retry'), 1);
      assert.equal(stat(cluster, 'upstream_rq_per_try_timeout'), 0, 'Envoy counts no per-try timeout for an attempt it leaves running');
    });

    test(`${cluster}: the timed-out attempt answers first: exactly its bytes reach the caller, the racing retry is aborted`, async () => {
      const behaviour = `late-first-${cluster}`;
      const response = await post(cluster, behaviour);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), `${behaviour}#1:payload`);
      const requests = seen.get(behaviour)!;
      assert.ok(requests.length >= 2, 'a retry raced the slow attempt');
      const abandoned = await Promise.all(requests.slice(1).map((r) => r.abandoned));
      assert.ok(abandoned.every(Boolean), 'every racing retry was aborted');
    });

    test(`${cluster}: the caller aborts while attempts race: every upstream request is aborted, fetch rejects once`, async () => {
      const behaviour = `stall-all-cancel-${cluster}`;
      const abort = new AbortController();
      whenSeen(seen, behaviour, 2, () => abort.abort());
      await assert.rejects(post(cluster, behaviour, { signal: abort.signal }), { name: 'AbortError' });
      const abandoned = await Promise.all(seen.get(behaviour)!.map((r) => r.abandoned));
      assert.ok(abandoned.length >= 2);
      assert.ok(abandoned.every(Boolean), 'every racing request aborted');
    });

    test(`${cluster}: retries exhausted: the route timeout answers 504 once and aborts every attempt`, async () => {
      const behaviour = `stall-all-timeout-${cluster}`;
      const started = Date.now();
      const response = await post(cluster, behaviour);
      assert.equal(response.status, 504);
      assert.equal(response.headers.get('x-xmesh-error-code'), 'XMESH_TIMEOUT');
      await response.text();
      assert.ok(Date.now() - started < 15_000, 'ended by the 3 s route timeout');
      const abandoned = await Promise.all(seen.get(behaviour)!.map((r) => r.abandoned));
      assert.deepEqual(abandoned, [true, true, true, true], 'each per-try timeout raced one more (num_retries 3), all aborted');
      assert.equal(stat(cluster, 'upstream_rq_timeout'), 1);
    });

    test(`${cluster}: a body still streaming at the per-try timeout is not raced: the attempt is aborted, the retry sends the whole body`, async () => {
      const behaviour = `stream-${cluster}`;
      let finish = () => {};
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('a'));
          finish = () => {
            controller.enqueue(new TextEncoder().encode('b'));
            controller.close();
          };
        },
      });
      const pending = post(cluster, behaviour, { body, duplex: 'half' } as RequestInit);
      const requests = () => seen.get(behaviour) ?? [];
      while (requests().length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
      // The per-try timeout ended the first attempt (a hedge would leave it running and count no per-try
      // timeout). On HTTP/1.1 its connection closes unanswered; on h2c undici ends an aborted request's
      // stream with the body cut short, and the upstream's answer to it is dropped.
      assert.equal(await requests()[0]!.abandoned, cluster === 'h1');
      assert.ok(stat(cluster, 'upstream_rq_per_try_timeout') >= 1, 'a per-try timeout, counted as before');
      finish();
      const response = await pending;
      assert.equal(response.status, 200);
      // The retry got the whole body (a loaded machine may time out one more retry before it ends).
      assert.match(await response.text(), new RegExp(`^${behaviour}#[234]:ab$`));
    });
  }

  test('the app\'s x-envoy-hedge-on-per-try-timeout: true hedges a route without hedge_policy, false turns a route\'s off', async () => {
    const on = 'stall-first-header-true';
    const hedged = await post('plain', on, { headers: { 'x-behaviour': on, 'x-envoy-hedge-on-per-try-timeout': 'true' } });
    assert.equal(await hedged.text(), `${on}#2:payload`);
    assert.equal(await seen.get(on)![0]!.abandoned, true);
    assert.equal(stat('plain', 'upstream_rq_per_try_timeout'), 0, 'raced, not cancelled by its per-try timeout');
    const off = 'stall-first-header-false';
    const before = stat('h1', 'upstream_rq_per_try_timeout');
    const cancelled = await post('h1', off, { headers: { 'x-behaviour': off, 'x-envoy-hedge-on-per-try-timeout': 'false' } });
    assert.equal(await cancelled.text(), `${off}#2:payload`);
    assert.equal(stat('h1', 'upstream_rq_per_try_timeout'), before + 1, 'the per-try timeout cancelled the first attempt');
  });
});
