// The example and fixture configs: each must validate, and resolve to the values a user would read in them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSnapshot, parseConfigText, type MeshSnapshot } from '@xmesh/xds';

const root = join(import.meta.dirname, '..', '..');

function load(file: string): MeshSnapshot {
  const parsed = parseConfigText(readFileSync(join(root, file), 'utf8'), file);
  assert.ok(parsed.ok, parsed.ok ? '' : JSON.stringify(parsed.errors));
  const built = buildSnapshot(parsed.value);
  assert.ok(built.ok, built.ok ? '' : built.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return built.snapshot;
}

test('front proxy bootstrap', () => {
  const s = load('examples/front-proxy/envoy.yaml');
  const l = s.listeners.ingress_http!;
  assert.deepEqual(l.address, { address: '0.0.0.0', port: 8080 });
  assert.equal(l.rds, false);
  assert.deepEqual(l.httpFilters.map((f) => f.kind), ['local_ratelimit', 'router']);
  const rl = l.httpFilters[0]!;
  assert.ok(rl.kind === 'local_ratelimit');
  assert.deepEqual(rl.config.tokenBucket, { maxTokens: 1000, tokensPerFill: 1000, fillIntervalMs: 1000 });
  assert.deepEqual(rl.config.filterEnforced, { numerator: 100, denominator: 100 });
  const routes = s.routeConfigs[l.routeConfigName]!.virtualHosts[0]!.routes;
  assert.equal(routes.length, 3);
  assert.equal(routes[0]!.action.timeoutMs, 5000);
  assert.deepEqual(routes[0]!.action.retryPolicy!.retryOn, ['5xx', 'connect-failure', 'reset']);
  assert.equal(routes[0]!.action.retryPolicy!.numRetries, 2);
  assert.equal(routes[0]!.action.retryPolicy!.perTryTimeoutMs, 1000);
  assert.equal(routes[1]!.action.timeoutMs, 15_000, 'Envoy default route timeout');
  assert.equal(routes[1]!.action.retryPolicy, undefined, 'no retry policy means no retries');
  const s1 = s.clusters.service1!;
  assert.equal(s1.type, 'STRICT_DNS');
  assert.equal(s1.connectTimeoutMs, 250);
  assert.equal(s1.dnsRefreshRateMs, 10_000);
  assert.deepEqual(
    { ...s1.circuitBreakers.default },
    { maxConnections: 100, maxPendingRequests: 100, maxRequests: 200, maxRetries: 5, retryBudget: undefined, trackRemaining: false },
  );
  assert.equal(s1.circuitBreakers.high.maxRequests, 1024);
  assert.equal(s.clusters.service2!.dnsLookupFamily, 'V4_ONLY');
  const hcm = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';
  assert.deepEqual([...s.ignored].sort(), [
    'admin',
    `${hcm}.codec_type`,
    `${hcm}.http_filters[0].typed_config.filter_enabled.runtime_key`,
    `${hcm}.http_filters[0].typed_config.filter_enforced.runtime_key`,
  ]);
});

test('istio-style outbound sidecar resources', () => {
  const s = load('examples/istio-sidecar/resources.yaml');
  const l = s.listeners['0.0.0.0_9080']!;
  assert.equal(l.rds, true);
  assert.equal(l.routeConfigName, '9080');
  const vh = s.routeConfigs['9080']!.virtualHosts[0]!;
  assert.ok(vh.domains.includes('reviews.default.svc.cluster.local:9080'));
  const [jason, split] = vh.routes;
  assert.equal(jason!.match.headers[0]!.name, 'end-user');
  assert.equal(jason!.action.clusters[0]!.name, 'outbound|9080|v2|reviews.default.svc.cluster.local');
  assert.equal(jason!.action.retryPolicy!.avoidPreviousHosts, true);
  assert.equal(jason!.action.retryPolicy!.hostSelectionRetryMaxAttempts, 5);
  assert.equal(jason!.action.timeoutMs, 0);
  assert.deepEqual(split!.action.clusters.map((c) => [c.name.split('|')[2], c.weight]), [['v1', 50], ['v2', 30], ['v3', 20]]);
  assert.equal(split!.action.totalWeight, 100);
  const fault = split!.typedPerFilterConfig['envoy.filters.http.fault'];
  assert.ok(fault && fault.kind === 'fault');
  assert.deepEqual(fault.config.delay, { kind: 'fixed', delayMs: 500, percentage: { numerator: 10, denominator: 100 } });
  const v1 = s.clusters['outbound|9080|v1|reviews.default.svc.cluster.local']!;
  assert.equal(v1.type, 'EDS');
  assert.equal(v1.lbPolicy, 'LEAST_REQUEST');
  assert.equal(v1.http2, true);
  assert.equal(v1.localityWeightedLb, true);
  assert.equal(v1.circuitBreakers.default.maxRequests, 4294967295);
  assert.equal(v1.outlierDetection!.consecutive5xx, 3);
  assert.equal(v1.outlierDetection!.intervalMs, 5000);
  assert.equal(v1.outlierDetection!.enforcingConsecutive5xx, 100, 'Envoy default');
  const loc = v1.loadAssignment!.localities;
  assert.deepEqual(loc.map((l) => [l.locality.zone, l.loadBalancingWeight, l.endpoints.length]), [['us-east1-b', 3, 2], ['us-east1-c', 1, 1]]);
  assert.equal(loc[1]!.endpoints[0]!.healthStatus, 'DRAINING');
  assert.deepEqual(loc[0]!.endpoints[0]!.metadata, { istio: { workload: 'reviews-v1-5b8d8c9b4-x7k2p' } });
  assert.equal(s.clusters['outbound|9080|v3|reviews.default.svc.cluster.local']!.http2, false);
  assert.equal(s.clusters['outbound|9080|v3|reviews.default.svc.cluster.local']!.loadAssignment!.localities[0]!.endpoints[1]!.weight, 2);
});

test('the every-field fixture resolves every field', () => {
  const s = load('test/fixtures/every-field.yaml');
  const l = s.listeners.every_field!;
  assert.deepEqual(l.httpFilters.map((f) => f.kind), ['fault', 'local_ratelimit', 'router']);
  const vh = s.routeConfigs[l.routeConfigName]!.virtualHosts[0]!;
  assert.equal(s.routeConfigs[l.routeConfigName]!.name, 'every_route');
  assert.equal(vh.retryPolicy!.numRetries, 4);
  assert.deepEqual(vh.retryPolicy!.backOff, { baseIntervalMs: 50, maxIntervalMs: 1000 });
  assert.deepEqual(vh.typedPerFilterConfig['envoy.filters.http.fault'], { kind: 'disabled' });
  const byName = Object.fromEntries(vh.routes.map((r) => [r.name, r]));
  assert.equal(byName['exact-path']!.match.caseSensitive, false);
  assert.equal(byName['exact-path']!.action.retryPolicy!.numRetries, 4, 'vhost retry policy applies when the route has none');
  assert.equal(byName['regex-and-headers']!.match.headers.length, 10);
  assert.equal(byName['regex-and-headers']!.action.hashPolicy.length, 4);
  assert.equal(byName['canary-fraction']!.match.runtimeFraction!.denominator, 10_000);
  assert.equal(byName['grpc-split']!.match.grpcOnly, true);
  assert.equal(byName['grpc-split']!.action.grpcTimeoutHeaderMaxMs, 30_000);
  const c = s.clusters['static-rr']!;
  assert.equal(c.healthyPanicThreshold, 25);
  assert.deepEqual(c.circuitBreakers.high.retryBudget, { budgetPercent: 25, minRetryConcurrency: 5 });
  assert.equal(c.outlierDetection!.successRateStdevFactor, 1500);
  assert.equal(c.xmesh.transport, 'lean');
  assert.equal(c.xmesh.failFast!.rollingBuckets, 20);
  assert.equal(c.loadAssignment!.overprovisioningFactor, 150);
  assert.equal(s.clusters.ring!.ringHash.hashFunction, 'MURMUR_HASH_2');
  assert.equal(s.clusters.maglev!.maglev.tableSize, 5003);
  assert.equal(s.clusters.least!.choiceCount, 3);
  assert.equal(s.clusters.least!.http2, true);
  assert.equal(s.clusters.random!.http2, true);
  assert.equal(s.clusters['eds-backed']!.lbPolicy, 'PEAK_EWMA');
  assert.equal(s.clusters['eds-backed']!.loadAssignment, undefined);
});
