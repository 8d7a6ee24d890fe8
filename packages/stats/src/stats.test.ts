import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry, register as globalRegistry } from 'prom-client';
import { StatStore } from './stat-store.js';
import { UpstreamStats } from './upstream-stats.js';
import { PrometheusExporter } from './prometheus.js';
import { envoyStatsText } from './envoy-text.js';
import { parsePrometheusText } from './prometheus-parse.js';
import { Histogram } from './stats.js';

function populated(): StatStore {
  const store = new StatStore();
  const backend = new UpstreamStats(store.cluster('backend'));
  backend.chargeResponse(200, 3);
  backend.chargeResponse(200, 7);
  backend.chargeResponse(503, 40);
  backend.rqRetry.inc();
  const other = new UpstreamStats(store.cluster('outbound|80||other.ns'));
  other.chargeResponse(404, 0.2);
  store.localRateLimit('ingress_rl').counter('ok').inc(5);
  store.localRateLimit('ingress_rl').counter('rate_limited').inc(2);
  store.http('mesh').counter('fault.delays_injected').inc(3);
  return store;
}

test('stats carry Envoy dotted names and the plain /stats text lists them sorted', () => {
  const store = populated();
  assert.equal(store.value('cluster.backend.upstream_rq_total'), 3);
  assert.equal(store.value('cluster.backend.upstream_rq_200'), 2);
  assert.equal(store.value('cluster.backend.upstream_rq_2xx'), 2);
  assert.equal(store.value('cluster.backend.upstream_rq_5xx'), 1);
  assert.equal(store.value('cluster.backend.upstream_rq_retry'), 1);
  assert.equal(store.value('ingress_rl.http_local_rate_limit.rate_limited'), 2);
  assert.equal(store.value('http.mesh.fault.delays_injected'), 3);
  const text = envoyStatsText(store);
  const lines = text.trimEnd().split('\n');
  assert.deepEqual(lines, [...lines].sort());
  assert.ok(lines.includes('cluster.backend.upstream_rq_503: 1'));
  assert.ok(lines.includes('cluster.backend.outlier_detection.ejections_active: 0'));
  const time = lines.find((l) => l.startsWith('cluster.backend.upstream_rq_time: '));
  assert.match(time!, /^cluster\.backend\.upstream_rq_time: P0\(nan,[\d.]+\) P25\(nan,[\d.]+\) P50/);
  assert.equal(envoyStatsText(store, /rate_limit/), 'ingress_rl.http_local_rate_limit.ok: 5\ningress_rl.http_local_rate_limit.rate_limited: 2\n');
});

test('/stats/prometheus parses with a strict Prometheus text parser, tags extracted as Envoy does', async () => {
  const store = populated();
  const exporter = new PrometheusExporter(store);
  store.cluster('late').counter('upstream_rq_total').inc(9); // created after the exporter
  const text = await exporter.metrics();
  const families = parsePrometheusText(text);
  const rq = families.get('envoy_cluster_upstream_rq')!;
  assert.equal(rq.type, 'counter');
  assert.deepEqual(
    rq.samples.map((s) => [s.labels.envoy_cluster_name, s.labels.envoy_response_code, s.value]).sort(),
    [['backend', '200', 2], ['backend', '503', 1], ['outbound|80||other.ns', '404', 1]],
  );
  const total = families.get('envoy_cluster_upstream_rq_total')!;
  assert.deepEqual(total.samples.find((s) => s.labels.envoy_cluster_name === 'late')?.value, 9);
  const xx = families.get('envoy_cluster_upstream_rq_xx')!;
  assert.deepEqual(xx.samples.find((s) => s.labels.envoy_cluster_name === 'backend' && s.labels.envoy_response_code_class === '5')?.value, 1);
  const time = families.get('envoy_cluster_upstream_rq_time')!;
  assert.equal(time.type, 'histogram');
  const count = time.samples.find((s) => s.name.endsWith('_count') && s.labels.envoy_cluster_name === 'backend');
  assert.equal(count?.value, 3);
  const le5 = time.samples.find((s) => s.labels.le === '5' && s.labels.envoy_cluster_name === 'backend');
  assert.equal(le5?.value, 1, 'one of 3, 7, 40 ms is <= 5');
  const rl = families.get('envoy_http_local_rate_limit_rate_limited')!;
  assert.deepEqual(rl.samples[0]?.labels, { envoy_local_http_ratelimit_prefix: 'ingress_rl' });
  assert.equal(families.get('envoy_http_fault_delays_injected')?.samples[0]?.labels.envoy_http_conn_manager_prefix, 'mesh');
  assert.equal(exporter.registry === (globalRegistry as unknown as Registry), false);
  assert.equal((await globalRegistry.metrics()).includes('envoy_cluster'), false, 'the global registry stays untouched');
});

test('the strict parser rejects broken exposition', () => {
  const good = '# HELP a_total x\n# TYPE a_total counter\na_total{k="v"} 1\n';
  assert.equal(parsePrometheusText(good).get('a_total')?.samples[0]?.value, 1);
  assert.throws(() => parsePrometheusText('a_total 1\n'), /line 1: sample a_total has no declared family/);
  assert.throws(() => parsePrometheusText('# TYPE a counter\na{k=v} 1\n'), /line 2: label k value not quoted/);
  assert.throws(() => parsePrometheusText('# TYPE a counter\na{k="v"} one\n'), /line 2: bad value "one"/);
  assert.throws(() => parsePrometheusText('# TYPE a counter\na 1\na 2\n'), /line 3: duplicate series/);
  assert.throws(() => parsePrometheusText('# TYPE a counter\na{1k="v"} 1\n'), /bad label name "1k"/);
  assert.throws(
    () => parsePrometheusText('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'),
    /buckets not cumulative/,
  );
  assert.throws(() => parsePrometheusText('# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n'), /\+Inf bucket 2 != _count 1/);
});

test('two stores (two meshes) do not share stats or registries', async () => {
  const a = new StatStore();
  const b = new StatStore();
  a.cluster('x').counter('upstream_rq_total').inc();
  assert.equal(b.value('cluster.x.upstream_rq_total'), 0);
  const ea = new PrometheusExporter(a);
  const eb = new PrometheusExporter(b);
  assert.notEqual(ea.registry, eb.registry);
  assert.match(await ea.metrics(), /envoy_cluster_upstream_rq_total\{envoy_cluster_name="x"\} 1/);
  assert.equal((await eb.metrics()).trim(), '');
});

test('histogram quantiles interpolate inside Envoy buckets; a kind clash is refused', () => {
  const h = new Histogram();
  for (let i = 0; i < 100; i++) h.record(i < 50 ? 3 : 30);
  assert.equal(h.quantile(0.5), 5);
  assert.equal(h.quantile(0.25), 3, 'halfway through the (1, 5] bucket');
  assert.equal(h.quantile(0.99), 49.5, '49 of 50 through the (25, 50] bucket');
  const store = new StatStore();
  store.root.counter('x');
  assert.throws(() => store.root.gauge('x'), /stat x is a counter, not a gauge/);
});
