import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterConfig } from '../model.js';
import { decodeCluster } from './cluster.js';
import { Issues, Reader } from './reader.js';

function decode(input: unknown): { cluster: ClusterConfig; issues: Issues } {
  const issues = new Issues();
  const r = Reader.of(input, 'clusters[0]', issues);
  assert.ok(r);
  return { cluster: decodeCluster(r), issues };
}

function decodeOk(input: unknown): { cluster: ClusterConfig; issues: Issues } {
  const result = decode(input);
  assert.deepEqual(result.issues.errors, []);
  return result;
}

const HTTP_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

const staticAssignment = {
  cluster_name: 'svc',
  endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 8080 } } } }] }],
};

describe('decodeCluster defaults', () => {
  it('applies Envoy\'s documented defaults to a minimal cluster', () => {
    const { cluster: c } = decodeOk({ name: 'svc', load_assignment: staticAssignment });
    assert.equal(c.name, 'svc');
    assert.equal(c.type, 'STATIC');
    assert.equal(c.edsServiceName, undefined);
    assert.equal(c.lbPolicy, 'ROUND_ROBIN');
    assert.equal(c.choiceCount, 2);
    assert.equal(c.activeRequestBias, 1.0);
    assert.equal(c.ringHash.minimumRingSize, 1024);
    assert.equal(c.ringHash.maximumRingSize, 8_388_608);
    assert.equal(c.ringHash.hashFunction, 'XX_HASH');
    assert.equal(c.maglev.tableSize, 65_537);
    assert.equal(c.connectTimeoutMs, 5_000);
    assert.equal(c.dnsRefreshRateMs, 5_000);
    assert.equal(c.dnsLookupFamily, 'AUTO');
    assert.equal(c.respectDnsTtl, false);
    for (const t of [c.circuitBreakers.default, c.circuitBreakers.high]) {
      assert.equal(t.maxConnections, 1024);
      assert.equal(t.maxPendingRequests, 1024);
      assert.equal(t.maxRequests, 1024);
      assert.equal(t.maxRetries, 3);
      assert.equal(t.retryBudget, undefined);
      assert.equal(t.trackRemaining, false);
    }
    assert.equal(c.outlierDetection, undefined);
    assert.equal(c.healthyPanicThreshold, 50);
    assert.equal(c.localityWeightedLb, false);
    assert.equal(c.http2, false);
    assert.deepEqual(c.xmesh, { transport: undefined, failFast: undefined, ewmaDecayMs: 10_000 });
    assert.equal(c.loadAssignment?.overprovisioningFactor, 140);
  });

  it('fills every outlier detection default from an empty outlier_detection', () => {
    const { cluster } = decodeOk({ name: 'svc', load_assignment: staticAssignment, outlier_detection: {} });
    const od = cluster.outlierDetection;
    assert.ok(od);
    assert.equal(od.consecutive5xx, 5);
    assert.equal(od.intervalMs, 10_000);
    assert.equal(od.baseEjectionTimeMs, 30_000);
    assert.equal(od.maxEjectionTimeMs, 300_000);
    assert.equal(od.maxEjectionPercent, 10);
    assert.equal(od.enforcingConsecutive5xx, 100);
    assert.equal(od.enforcingConsecutiveGatewayFailure, 0);
    assert.equal(od.consecutiveGatewayFailure, 5);
    assert.equal(od.consecutiveLocalOriginFailure, 5);
    assert.equal(od.enforcingConsecutiveLocalOriginFailure, 100);
    assert.equal(od.enforcingSuccessRate, 100);
    assert.equal(od.enforcingLocalOriginSuccessRate, 100);
    assert.equal(od.successRateMinimumHosts, 5);
    assert.equal(od.successRateRequestVolume, 100);
    assert.equal(od.successRateStdevFactor, 1900);
    assert.equal(od.failurePercentageThreshold, 85);
    assert.equal(od.enforcingFailurePercentage, 0);
    assert.equal(od.enforcingFailurePercentageLocalOrigin, 0);
    assert.equal(od.failurePercentageMinimumHosts, 5);
    assert.equal(od.failurePercentageRequestVolume, 50);
    assert.equal(od.maxEjectionTimeJitterMs, 0);
    assert.equal(od.splitExternalLocalOriginErrors, false);
    assert.equal(od.successfulActiveHealthCheckUnejectHost, true);
    assert.equal(od.alwaysEjectOneHost, false);
  });

  it('raises the default max_ejection_time to base_ejection_time when base exceeds 300 s', () => {
    const { cluster } = decodeOk({ name: 'svc', load_assignment: staticAssignment, outlier_detection: { base_ejection_time: '400s' } });
    assert.equal(cluster.outlierDetection?.maxEjectionTimeMs, 400_000);
  });

  it('gives a priority without thresholds all defaults, and retry_budget its own defaults', () => {
    const { cluster } = decodeOk({
      name: 'svc',
      load_assignment: staticAssignment,
      circuit_breakers: { thresholds: [{ priority: 'HIGH', max_requests: 10, retry_budget: {} }] },
    });
    assert.deepEqual(cluster.circuitBreakers.default, {
      maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, retryBudget: undefined, trackRemaining: false,
    });
    assert.equal(cluster.circuitBreakers.high.maxRequests, 10);
    assert.deepEqual(cluster.circuitBreakers.high.retryBudget, { budgetPercent: 20, minRetryConcurrency: 3 });
  });

  it('gives fail_fast: {} Hystrix-style defaults', () => {
    const { cluster } = decodeOk({
      name: 'svc',
      load_assignment: staticAssignment,
      metadata: { filter_metadata: { xmesh: { fail_fast: {} } } },
    });
    assert.deepEqual(cluster.xmesh.failFast, {
      errorThresholdPercentage: 50, volumeThreshold: 20, rollingWindowMs: 10_000, rollingBuckets: 10, resetTimeoutMs: 5_000,
    });
  });
});

describe('decodeCluster, fully specified', () => {
  const full = {
    '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
    name: 'payments',
    type: 'STRICT_DNS',
    lb_policy: 'LEAST_REQUEST',
    least_request_lb_config: { choice_count: 3, active_request_bias: { default_value: 0.5, runtime_key: 'lr.bias' } },
    connect_timeout: '0.25s',
    dns_refresh_rate: '30s',
    dns_lookup_family: 'V4_PREFERRED',
    respect_dns_ttl: true,
    circuit_breakers: {
      thresholds: [
        {
          priority: 'DEFAULT', max_connections: 100, max_pending_requests: 50, max_requests: 200, max_retries: 5,
          retry_budget: { budget_percent: { value: 25 }, min_retry_concurrency: 4 }, track_remaining: true,
        },
        { priority: 'HIGH', max_connections: 7, max_pending_requests: 8, max_requests: 9, max_retries: 1 },
      ],
      per_host_thresholds: [{ max_connections: 2 }],
    },
    outlier_detection: {
      consecutive_5xx: 7, consecutive_gateway_failure: 3, consecutive_local_origin_failure: 4, interval: '2s',
      base_ejection_time: '15s', max_ejection_time: '120s', max_ejection_percent: 50, enforcing_consecutive_5xx: 90,
      enforcing_consecutive_gateway_failure: 80, enforcing_consecutive_local_origin_failure: 70, enforcing_success_rate: 60,
      enforcing_local_origin_success_rate: 55, success_rate_minimum_hosts: 3, success_rate_request_volume: 20,
      success_rate_stdev_factor: 1000, failure_percentage_threshold: 40, enforcing_failure_percentage: 30,
      enforcing_failure_percentage_local_origin: 20, failure_percentage_minimum_hosts: 2, failure_percentage_request_volume: 10,
      split_external_local_origin_errors: true, max_ejection_time_jitter: '1.5s',
      successful_active_health_check_uneject_host: false, always_eject_one_host: true,
    },
    common_lb_config: { healthy_panic_threshold: { value: 25 }, locality_weighted_lb_config: {}, update_merge_window: '1s' },
    typed_extension_protocol_options: {
      [HTTP_OPTIONS]: {
        '@type': `type.googleapis.com/${HTTP_OPTIONS}`,
        explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 100 } },
      },
    },
    metadata: {
      filter_metadata: {
        xmesh: {
          lb_policy: 'PEAK_EWMA', transport: 'lean', ewma_decay: '5s',
          fail_fast: { error_threshold_percentage: 25, volume_threshold: 5, rolling_window: '6s', rolling_buckets: 6, reset_timeout: '2s' },
        },
        'envoy.lb': { canary: true },
      },
    },
    load_assignment: {
      cluster_name: 'payments',
      endpoints: [{
        locality: { region: 'eu', zone: 'eu-1a', sub_zone: 'rack3' },
        load_balancing_weight: 3,
        lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'pay.internal', port_value: 443 } } }, load_balancing_weight: 2 }],
      }],
      policy: { overprovisioning_factor: 200 },
    },
    health_checks: [{ timeout: '1s', interval: '5s', unhealthy_threshold: 2, healthy_threshold: 1, tcp_health_check: {} }],
    transport_socket: { name: 'envoy.transport_sockets.raw_buffer' },
  };

  const expected: ClusterConfig = {
    name: 'payments',
    type: 'STRICT_DNS',
    edsServiceName: undefined,
    lbPolicy: 'PEAK_EWMA',
    choiceCount: 3,
    activeRequestBias: 0.5,
    ringHash: { minimumRingSize: 1024, maximumRingSize: 8_388_608, hashFunction: 'XX_HASH' },
    maglev: { tableSize: 65_537 },
    connectTimeoutMs: 250,
    dnsRefreshRateMs: 30_000,
    dnsLookupFamily: 'V4_PREFERRED',
    respectDnsTtl: true,
    circuitBreakers: {
      default: {
        maxConnections: 100, maxPendingRequests: 50, maxRequests: 200, maxRetries: 5,
        retryBudget: { budgetPercent: 25, minRetryConcurrency: 4 }, trackRemaining: true,
      },
      high: { maxConnections: 7, maxPendingRequests: 8, maxRequests: 9, maxRetries: 1, retryBudget: undefined, trackRemaining: false },
    },
    outlierDetection: {
      consecutive5xx: 7, consecutiveGatewayFailure: 3, consecutiveLocalOriginFailure: 4, intervalMs: 2_000,
      baseEjectionTimeMs: 15_000, maxEjectionTimeMs: 120_000, maxEjectionPercent: 50, enforcingConsecutive5xx: 90,
      enforcingConsecutiveGatewayFailure: 80, enforcingConsecutiveLocalOriginFailure: 70, enforcingSuccessRate: 60,
      enforcingLocalOriginSuccessRate: 55, successRateMinimumHosts: 3, successRateRequestVolume: 20,
      successRateStdevFactor: 1000, failurePercentageThreshold: 40, enforcingFailurePercentage: 30,
      enforcingFailurePercentageLocalOrigin: 20, failurePercentageMinimumHosts: 2, failurePercentageRequestVolume: 10,
      splitExternalLocalOriginErrors: true, maxEjectionTimeJitterMs: 1_500,
      successfulActiveHealthCheckUnejectHost: false, alwaysEjectOneHost: true,
    },
    healthyPanicThreshold: 25,
    localityWeightedLb: true,
    http2: true,
    loadAssignment: {
      clusterName: 'payments',
      localities: [{
        locality: { region: 'eu', zone: 'eu-1a', subZone: 'rack3' },
        priority: 0,
        loadBalancingWeight: 3,
        endpoints: [{
          id: 'pay.internal:443', host: 'pay.internal', port: 443, weight: 2, healthStatus: 'UNKNOWN', priority: 0,
          locality: { region: 'eu', zone: 'eu-1a', subZone: 'rack3' }, localityWeight: 3, metadata: {},
        }],
      }],
      overprovisioningFactor: 200,
      dropOverloads: [],
      endpointStaleAfterMs: undefined,
    },
    xmesh: {
      transport: 'lean',
      ewmaDecayMs: 5_000,
      failFast: { errorThresholdPercentage: 25, volumeThreshold: 5, rollingWindowMs: 6_000, rollingBuckets: 6, resetTimeoutMs: 2_000 },
    },
    healthCheck: {
      timeoutMs: 1_000, intervalMs: 5_000, initialJitterMs: 0, intervalJitterMs: 0, intervalJitterPercent: 0, unhealthyThreshold: 2,
      healthyThreshold: 1, reuseConnection: true, noTrafficIntervalMs: 60_000, noTrafficHealthyIntervalMs: 60_000, unhealthyIntervalMs: 5_000,
      unhealthyEdgeIntervalMs: 5_000, healthyEdgeIntervalMs: 5_000, checker: { kind: 'tcp', receive: [] },
      ignoreNewHostsUntilFirstHc: false, ignoreHealthOnHostRemoval: false, closeConnectionsOnHostHealthFailure: false,
    },
  };

  it('decodes every supported field to exactly the expected ClusterConfig', () => {
    const { cluster } = decodeOk(full);
    assert.deepEqual(cluster, expected);
  });

  it('records the documented ignores with their paths', () => {
    const { issues } = decodeOk(full);
    const opts = `clusters[0].typed_extension_protocol_options["${HTTP_OPTIONS}"]`;
    assert.deepEqual([...issues.ignored].sort(), [
      'clusters[0].circuit_breakers.per_host_thresholds',
      'clusters[0].common_lb_config.update_merge_window',
      'clusters[0].least_request_lb_config.active_request_bias.runtime_key',
      'clusters[0].metadata.filter_metadata["envoy.lb"]',
      `${opts}.explicit_http_config.http2_protocol_options.max_concurrent_streams`,
    ].sort());
  });

  it('decodes ring_hash and maglev settings', () => {
    const ring = decodeOk({
      name: 'r', load_assignment: staticAssignment, lb_policy: 'RING_HASH',
      ring_hash_lb_config: { minimum_ring_size: 2048, maximum_ring_size: 4096, hash_function: 'MURMUR_HASH_2' },
    }).cluster;
    assert.equal(ring.lbPolicy, 'RING_HASH');
    assert.deepEqual(ring.ringHash, { minimumRingSize: 2048, maximumRingSize: 4096, hashFunction: 'MURMUR_HASH_2' });
    const maglev = decodeOk({ name: 'm', load_assignment: staticAssignment, lb_policy: 'MAGLEV', maglev_lb_config: { table_size: 251 } }).cluster;
    assert.equal(maglev.lbPolicy, 'MAGLEV');
    assert.deepEqual(maglev.maglev, { tableSize: 251 });
    assert.equal(decodeOk({ name: 'x', load_assignment: staticAssignment, lb_policy: 'RANDOM' }).cluster.lbPolicy, 'RANDOM');
  });

  it('reads the EDS service name and accepts no load_assignment', () => {
    const { cluster } = decodeOk({ name: 'e', type: 'EDS', eds_cluster_config: { service_name: 'e-v2', eds_config: { ads: {} } } });
    assert.equal(cluster.type, 'EDS');
    assert.equal(cluster.edsServiceName, 'e-v2');
    assert.equal(cluster.loadAssignment, undefined);
  });
});

describe('decodeCluster, HTTP/2 detection', () => {
  const withOptions = (selector: Record<string, unknown>) => ({
    name: 'h', load_assignment: staticAssignment,
    typed_extension_protocol_options: { [HTTP_OPTIONS]: { '@type': `type.googleapis.com/${HTTP_OPTIONS}`, ...selector } },
  });

  it('follows the deprecated http2_protocol_options and every typed selector', () => {
    assert.equal(decodeOk({ name: 'h', load_assignment: staticAssignment, http2_protocol_options: {} }).cluster.http2, true);
    assert.equal(decodeOk(withOptions({ explicit_http_config: { http_protocol_options: {} } })).cluster.http2, false);
    assert.equal(decodeOk(withOptions({ explicit_http_config: { http2_protocol_options: {} } })).cluster.http2, true);
    assert.equal(decodeOk(withOptions({ auto_config: { http_protocol_options: {}, http2_protocol_options: {} } })).cluster.http2, true);
    assert.equal(decodeOk(withOptions({ auto_config: { http_protocol_options: {} } })).cluster.http2, false);
    assert.equal(decodeOk(withOptions({ use_downstream_protocol_config: { http2_protocol_options: {} } })).cluster.http2, true);
  });
});

describe('decodeCluster input shapes', () => {
  it('accepts lowerCamelCase keys', () => {
    const { cluster } = decodeOk({
      name: 'camel',
      connectTimeout: '2s',
      lbPolicy: 'LEAST_REQUEST',
      leastRequestLbConfig: { choiceCount: 4 },
      dnsLookupFamily: 'V6_ONLY',
      circuitBreakers: { thresholds: [{ maxRequests: 12, retryBudget: { budgetPercent: { value: 10 }, minRetryConcurrency: 1 } }] },
      outlierDetection: { consecutive5xx: 9, baseEjectionTime: '1s' },
      commonLbConfig: { healthyPanicThreshold: { value: 0 } },
      loadAssignment: { clusterName: 'camel', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '::1', portValue: 9 } } } }] }] },
    });
    assert.equal(cluster.connectTimeoutMs, 2_000);
    assert.equal(cluster.lbPolicy, 'LEAST_REQUEST');
    assert.equal(cluster.choiceCount, 4);
    assert.equal(cluster.dnsLookupFamily, 'V6_ONLY');
    assert.equal(cluster.circuitBreakers.default.maxRequests, 12);
    assert.deepEqual(cluster.circuitBreakers.default.retryBudget, { budgetPercent: 10, minRetryConcurrency: 1 });
    assert.equal(cluster.outlierDetection?.consecutive5xx, 9);
    assert.equal(cluster.outlierDetection?.baseEjectionTimeMs, 1_000);
    assert.equal(cluster.healthyPanicThreshold, 0);
    assert.equal(cluster.loadAssignment?.localities[0]?.endpoints[0]?.id, '[::1]:9');
  });

  it('accepts protobuf-decoded shapes: {seconds, nanos}, {value: n} wrappers, numeric enums, int64 strings', () => {
    const { cluster } = decodeOk({
      name: 'proto',
      type: 1,
      lb_policy: 2,
      dns_lookup_family: 1,
      connect_timeout: { seconds: 1, nanos: 500_000_000 },
      dns_refresh_rate: { seconds: '3' },
      ring_hash_lb_config: { minimum_ring_size: { value: '512' }, maximum_ring_size: { value: 1024 }, hash_function: 1 },
      circuit_breakers: { thresholds: [{ priority: 1, max_requests: { value: 77 } }] },
      outlier_detection: { interval: { seconds: 0, nanos: 250_000_000 }, max_ejection_percent: { value: 33 } },
      respect_dns_ttl: { value: true },
      load_assignment: {
        cluster_name: 'proto',
        endpoints: [{ lb_endpoints: [{ health_status: 5, endpoint: { address: { socket_address: { protocol: 0, address: 'a.b', port_value: 1 } } } }] }],
      },
    });
    assert.equal(cluster.type, 'STRICT_DNS');
    assert.equal(cluster.lbPolicy, 'RING_HASH');
    assert.equal(cluster.dnsLookupFamily, 'V4_ONLY');
    assert.equal(cluster.connectTimeoutMs, 1_500);
    assert.equal(cluster.dnsRefreshRateMs, 3_000);
    assert.deepEqual(cluster.ringHash, { minimumRingSize: 512, maximumRingSize: 1024, hashFunction: 'MURMUR_HASH_2' });
    assert.equal(cluster.circuitBreakers.high.maxRequests, 77);
    assert.equal(cluster.circuitBreakers.default.maxRequests, 1024);
    assert.equal(cluster.outlierDetection?.intervalMs, 250);
    assert.equal(cluster.outlierDetection?.maxEjectionPercent, 33);
    assert.equal(cluster.respectDnsTtl, true);
    assert.equal(cluster.loadAssignment?.localities[0]?.endpoints[0]?.healthStatus, 'DEGRADED');
  });
});
