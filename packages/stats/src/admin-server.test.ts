import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatStore } from './stat-store.js';
import { PrometheusExporter } from './prometheus.js';
import { startAdminServer, type AdminSource } from './admin-server.js';
import { parsePrometheusText } from './prometheus-parse.js';
import { childTraceparent, newRequestId, propagateTrace } from './trace-context.js';

test('admin server serves Envoy paths on loopback', async () => {
  const store = new StatStore();
  store.cluster('backend').counter('upstream_rq_total').inc(4);
  let ready = false;
  const source: AdminSource = {
    store,
    prometheus: new PrometheusExporter(store),
    configDump: (query) => (query.resource === 'nope' ? { ok: false, status: 404, message: 'The resource nope was not found' } : { ok: true, dump: { configs: [], query } }),
    configStatus: () => ({ applied: { version: 'v2' }, last_rejected: { errors: [{ path: 'clusters[0].type', message: 'bad' }] } }),
    clusters: () => [{
      name: 'backend',
      hosts: [{ address: '127.0.0.1:1', healthFlags: '/failed_active_hc/active_hc_timeout', weight: 1, priority: 1, zone: 'z', region: 'r', rqActive: 2, ejected: false, edsHealthStatus: 'HEALTHY', counters: { rq_total: 3 } }],
    }],
    ready: () => ready,
  };
  const admin = await startAdminServer(source);
  try {
    assert.equal(admin.host, '127.0.0.1');
    const get = async (path: string) => {
      const res = await fetch(admin.url + path);
      return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
    };
    assert.deepEqual(await get('/ready'), { status: 503, type: 'text/plain', body: 'PRE_INITIALIZING\n' });
    ready = true;
    assert.equal((await get('/ready')).status, 200);
    assert.equal((await get('/stats')).body, 'cluster.backend.upstream_rq_total: 4\n');
    const prom = await get('/stats/prometheus');
    assert.match(prom.type!, /^text\/plain; version=0\.0\.4/);
    assert.equal(parsePrometheusText(prom.body).get('envoy_cluster_upstream_rq_total')?.samples[0]?.value, 4);
    const status = JSON.parse((await get('/xmesh/config_status')).body);
    assert.equal(status.last_rejected.errors[0].path, 'clusters[0].type');
    assert.deepEqual(JSON.parse((await get('/config_dump?resource=dynamic_listeners&mask=name&include_eds')).body).query, { resource: 'dynamic_listeners', mask: 'name', includeEds: true });
    assert.equal((await get('/config_dump?resource=nope')).status, 404);
    assert.match((await get('/clusters')).body, /^backend::127\.0\.0\.1:1::health_flags::\/failed_active_hc\/active_hc_timeout\n.*backend::127\.0\.0\.1:1::rq_active::2\n/s);
    assert.deepEqual(JSON.parse((await get('/clusters?format=json')).body), {
      cluster_statuses: [{
        name: 'backend',
        observability_name: 'backend',
        host_statuses: [{
          address: { socket_address: { address: '127.0.0.1', port_value: 1 } },
          stats: [{ name: 'rq_total', value: '3' }, { type: 'GAUGE', name: 'rq_active', value: '2' }],
          health_status: { failed_active_health_check: true, active_hc_timeout: true, eds_health_status: 'HEALTHY' },
          weight: 1,
          priority: 1,
          locality: { region: 'r', zone: 'z' },
        }],
      }],
    });
    const info = JSON.parse((await get('/server_info')).body);
    assert.equal(info.state, 'LIVE');
    assert.match(info.version, /^xmesh\/\d+\.\d+\.\d+/);
    assert.match(info.uptime_current_epoch, /^\d+s$/);
    assert.match((await get('/help')).body, /^admin commands are:\n {2}\/clusters: /);
    assert.equal((await get('/nope')).status, 404);
    assert.equal((await get('/stats?filter=(')).status, 400);
  } finally {
    await admin.close();
  }
});

test('traceparent: a child keeps trace id and flags; absent or invalid starts a new trace', () => {
  const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const child = childTraceparent(parent);
  assert.match(child, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  assert.notEqual(child.split('-')[2], '00f067aa0ba902b7');
  assert.match(childTraceparent(undefined), /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  assert.notEqual(childTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01').split('-')[1], '0'.repeat(32));
  const headers = propagateTrace(undefined, 'req-1');
  assert.equal(headers['x-request-id'], 'req-1');
  assert.match(propagateTrace(parent, undefined)['x-request-id'], /^[0-9a-f-]{36}$/);
});

test('request ids are UUID v4 (version 4, variant 10xx), distinct across more than one random batch', () => {
  const ids = new Set<string>();
  const versions = new Set<string>();
  const variants = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const id = newRequestId();
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    ids.add(id);
    versions.add(id[14]!);
    variants.add(id[19]!);
  }
  assert.equal(ids.size, 1000);
  assert.deepEqual([...versions], ['4']);
  assert.deepEqual([...variants].sort(), ['8', '9', 'a', 'b']);
});

test('/stats?filter= uses RE2 (linear time): a catastrophic pattern does not stall the event loop; long filters are refused', async () => {
  const store = new StatStore();
  // Names a backtracking engine chokes on with (a+)+$ : many a's then a character that fails the match.
  for (let i = 0; i < 50; i++) store.cluster(`${'a'.repeat(40)}${i}`).counter('upstream_rq_total').inc();
  store.cluster('backend').counter('upstream_rq_total').inc(4);
  const source: AdminSource = {
    store,
    prometheus: new PrometheusExporter(store),
    configDump: () => ({}),
    clusters: () => [],
    ready: () => true,
  };
  const admin = await startAdminServer(source);
  try {
    const started = performance.now();
    const res = await fetch(`${admin.url}/stats?filter=${encodeURIComponent('(a+)+$')}`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');
    // A backtracking RegExp needs 2^40 steps per name here (hours); RE2 answers at once. 10 s cannot flake.
    assert.ok(performance.now() - started < 10_000, `took ${performance.now() - started} ms`);
    // Envoy's semantics: matched anywhere in the name, RE2 syntax.
    assert.equal(await (await fetch(`${admin.url}/stats?filter=${encodeURIComponent('backend\\.upstream')}`)).text(), 'cluster.backend.upstream_rq_total: 4\n');
    const lookbehind = await fetch(`${admin.url}/stats?filter=${encodeURIComponent('(?<=x)y')}`);
    assert.equal(lookbehind.status, 400, 'not RE2 syntax');
    assert.match(await lookbehind.text(), /RE2/);
    const long = await fetch(`${admin.url}/stats?filter=${'a'.repeat(2000)}`);
    assert.equal(long.status, 400);
    assert.match(await long.text(), /longer than 1024/);
  } finally {
    await admin.close();
  }
});
