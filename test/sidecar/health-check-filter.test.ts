// Envoy's health check filter (envoy.filters.http.health_check) in both modes, configured as in
// envoyproxy/examples datadog-tracing/envoy.yaml (pass_through_mode false, `:path` exact /healthcheck), plus a
// pass-through one: undici clients (through the embedded mesh's dispatcher, and to the sidecar) against a stock
// node:http upstream. A health check is answered by the proxy (200, empty, naming the bootstrap's node.cluster in
// x-envoy-upstream-healthchecked-cluster) and never reaches the upstream; a pass-through one does. The sidecar's
// admin POST /healthcheck/fail turns the answers to 503 (pass-through ones too), marks other responses with
// x-envoy-immediate-health-check-fail and makes /ready DRAINING, until POST /healthcheck/ok.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { request } from 'undici';
import { listenLocal, startBothModes, type BothModes } from '../support/both-modes.js';
import { bootstrap } from '../support/mesh-config.js';

const HEALTH_CHECK = 'type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck';

describe('health check filter, embedded and sidecar', () => {
  let web: Server;
  let both: BothModes;
  const seen: string[] = [];

  before(async () => {
    web = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.end('ok');
    });
    const config = bootstrap({
      routes: [{ match: { prefix: '/' }, route: { cluster: 'web' } }],
      clusters: { web: [await listenLocal(web)] },
      hcm: {
        http_filters: [
          { name: 'envoy.filters.http.health_check', typed_config: { '@type': HEALTH_CHECK, pass_through_mode: false, headers: [{ exact_match: '/healthcheck', name: ':path' }] } },
          { name: 'deep', typed_config: { '@type': HEALTH_CHECK, pass_through_mode: true, headers: [{ name: ':path', string_match: { exact: '/deep-health' } }] } },
          // web has two hosts, one of them UNHEALTHY in EDS: 50 % available.
          ...[['/hc50', { web: { value: 50 } }], ['/hc60', { web: { value: 60 } }], ['/hc-missing', { nope: { value: 0 } }]].map(([path, minimums]) => ({
            name: `min${String(path)}`,
            typed_config: { '@type': HEALTH_CHECK, pass_through_mode: false, headers: [{ name: ':path', string_match: { exact: path } }], cluster_min_healthy_percentages: minimums },
          })),
          { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
        ],
      },
    });
    const down = (config as { static_resources: { clusters: { load_assignment: { endpoints: { lb_endpoints: Record<string, unknown>[] }[] } }[] } }).static_resources.clusters[0]!;
    down.load_assignment.endpoints[0]!.lb_endpoints.push({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9 } } }, health_status: 'UNHEALTHY' });
    both = await startBothModes({ ...config, node: { id: 'front-1', cluster: 'front-proxy' } });
  });
  after(async () => {
    await both.close();
    web.close();
  });

  type Answer = { status: number; body: string; cluster: unknown; immediateFail: unknown };
  const modes = (): [string, (path: string) => Promise<Answer>][] => [
    ['embedded', async (path) => answer(await request(`http://web.svc${path}`, { dispatcher: both.mesh.dispatcher }))],
    ['sidecar', async (path) => answer(await request(`http://${both.sidecar.target}${path}`, { headers: { host: 'web.svc' } }))],
  ];
  async function answer(res: Awaited<ReturnType<typeof request>>): Promise<Answer> {
    return { status: res.statusCode, body: await res.body.text(), cluster: res.headers['x-envoy-upstream-healthchecked-cluster'], immediateFail: res.headers['x-envoy-immediate-health-check-fail'] };
  }
  const admin = (method: string, path: string) => {
    const { host, port } = both.sidecar.adminAddress!;
    return request(`http://${host}:${port}${path}`, { method: method as 'POST' }).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));
  };

  test('a health check is answered by the proxy, 200 naming node.cluster, and never reaches the upstream; a pass-through one does', async () => {
    for (const [mode, send] of modes()) {
      const before = seen.length;
      assert.deepEqual(await send('/healthcheck'), { status: 200, body: '', cluster: 'front-proxy', immediateFail: undefined }, mode);
      assert.equal(seen.length, before, `${mode}: the health check did not reach the upstream`);
      assert.deepEqual(await send('/deep-health'), { status: 200, body: 'ok', cluster: 'front-proxy', immediateFail: undefined }, mode);
      assert.deepEqual(await send('/page'), { status: 200, body: 'ok', cluster: undefined, immediateFail: undefined }, mode);
      assert.deepEqual(seen.slice(before), ['/deep-health', '/page'], mode);
    }
  });

  test('cluster_min_healthy_percentages: 200 at or over the minimum share of healthy hosts, 503 under it or for a missing cluster', async () => {
    for (const [mode, send] of modes()) {
      assert.equal((await send('/hc50')).status, 200, `${mode}: 1 of 2 hosts is 50 %`);
      assert.equal((await send('/hc60')).status, 503, `${mode}: under 60 %`);
      assert.equal((await send('/hc-missing')).status, 503, `${mode}: no such cluster`);
    }
  });

  test('sidecar admin: POST /healthcheck/fail answers health checks 503 (pass-through ones too) and marks other responses; /ready DRAINING; POST /healthcheck/ok restores', async () => {
    const [, send] = modes()[1]!;
    assert.deepEqual(await admin('GET', '/healthcheck/fail'), { status: 405, body: 'method not allowed: use POST\n' });
    assert.deepEqual(await admin('POST', '/healthcheck/fail'), { status: 200, body: 'OK\n' });
    try {
      const before = seen.length;
      assert.deepEqual(await send('/healthcheck'), { status: 503, body: '', cluster: 'front-proxy', immediateFail: undefined });
      // The first filter marks the answer the second one makes (a local reply passes back through it).
      assert.deepEqual(await send('/deep-health'), { status: 503, body: '', cluster: 'front-proxy', immediateFail: 'true' });
      assert.deepEqual(await send('/page'), { status: 200, body: 'ok', cluster: undefined, immediateFail: 'true' });
      assert.deepEqual(seen.slice(before), ['/page'], 'failed health checks never reach the upstream');
      assert.deepEqual(await admin('GET', '/ready'), { status: 503, body: 'DRAINING\n' });
    } finally {
      assert.deepEqual(await admin('POST', '/healthcheck/ok'), { status: 200, body: 'OK\n' });
    }
    assert.equal((await send('/healthcheck')).status, 200);
    assert.deepEqual(await admin('GET', '/ready'), { status: 200, body: 'LIVE\n' });
  });

  test('embedded: Mesh.healthCheckFailed fails the health checks its filters answer', async () => {
    const [, send] = modes()[0]!;
    both.mesh.healthCheckFailed = true;
    try {
      assert.equal((await send('/healthcheck')).status, 503);
    } finally {
      both.mesh.healthCheckFailed = false;
    }
    assert.equal((await send('/healthcheck')).status, 200);
  });
});
