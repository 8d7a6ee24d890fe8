import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterConfig } from '../model.js';
import { decodeCluster } from './cluster.js';
import { Issues, Reader } from './reader.js';

function decode(input: Record<string, unknown>): { cluster: ClusterConfig; errors: string[]; ignored: string[] } {
  const issues = new Issues();
  const r = Reader.of({ name: 'svc', load_assignment: assignment, ...input }, 'clusters[0]', issues)!;
  const cluster = decodeCluster(r);
  return { cluster, errors: issues.errors.map((e) => `${e.path}: ${e.message}`), ignored: issues.ignored };
}

const assignment = {
  cluster_name: 'svc',
  endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 8080 } } } }] }],
};
const BASE = { timeout: '1s', interval: '2s', unhealthy_threshold: 3, healthy_threshold: 2 };

describe('health_checks', () => {
  it('applies Envoy\'s defaults (interval-derived intervals, no-traffic 60 s, reuse, GET, 200)', () => {
    const { cluster, errors } = decode({ health_checks: [{ ...BASE, http_health_check: { path: '/healthz' } }] });
    assert.deepEqual(errors, []);
    assert.deepEqual(cluster.healthCheck, {
      timeoutMs: 1000, intervalMs: 2000, initialJitterMs: 0, intervalJitterMs: 0, intervalJitterPercent: 0, unhealthyThreshold: 3,
      healthyThreshold: 2, reuseConnection: true, noTrafficIntervalMs: 60_000, noTrafficHealthyIntervalMs: 60_000, unhealthyIntervalMs: 2000,
      unhealthyEdgeIntervalMs: 2000, healthyEdgeIntervalMs: 2000,
      checker: { kind: 'http', host: '', path: '/healthz', method: 'GET', receive: [], responseBufferSize: 1024, expectedStatuses: [[200, 201]], retriableStatuses: [], http2: false },
      ignoreNewHostsUntilFirstHc: false, ignoreHealthOnHostRemoval: false, closeConnectionsOnHostHealthFailure: false,
    });
  });

  it('chains the interval defaults as Envoy does (unhealthy_edge from unhealthy, no_traffic_healthy from no_traffic)', () => {
    const { cluster } = decode({ health_checks: [{ ...BASE, unhealthy_interval: '5s', no_traffic_interval: '7s', tcp_health_check: {} }] });
    assert.equal(cluster.healthCheck?.unhealthyEdgeIntervalMs, 5000);
    assert.equal(cluster.healthCheck?.noTrafficHealthyIntervalMs, 7000);
    assert.equal(cluster.healthCheck?.healthyEdgeIntervalMs, 2000);
  });

  it('reads hex text and base64 binary payloads', () => {
    const { cluster, errors } = decode({ health_checks: [{ ...BASE, tcp_health_check: { send: { text: '50494E47' }, receive: [{ binary: Buffer.from('PONG').toString('base64') }] } }] });
    assert.deepEqual(errors, []);
    assert.deepEqual(cluster.healthCheck?.checker, { kind: 'tcp', send: '50494e47', receive: ['504f4e47'] });
  });

  it('refuses what Envoy refuses, each at its path', () => {
    const { errors } = decode({
      health_checks: [
        { interval: '0s', unhealthy_threshold: 1, http_health_check: { path: '/', method: 'GET', send: { text: 'zz' }, expected_statuses: [{ start: 200, end: 200 }, { start: 50, end: 99 }], codec_client_type: 'HTTP3' } },
        { ...BASE, tcp_health_check: {} },
      ],
    });
    assert.deepEqual(errors, [
      'clusters[0].health_checks: only one health check per cluster is supported (as in Envoy), got 2',
      'clusters[0].health_checks[0].timeout: is required',
      'clusters[0].health_checks[0].interval: must be greater than 0',
      'clusters[0].health_checks[0].healthy_threshold: is required',
      'clusters[0].health_checks[0].http_health_check.send.text: must be hex (two digits a byte), got "zz"',
      'clusters[0].health_checks[0].http_health_check.send: needs a method that carries a request body (POST, PUT, PATCH, OPTIONS), the method is GET',
      'clusters[0].health_checks[0].http_health_check.expected_statuses[0]: must have start < end, got start=200 and end=200',
      'clusters[0].health_checks[0].http_health_check.expected_statuses[1].start: must be at least 100, got 50',
      'clusters[0].health_checks[0].http_health_check.codec_client_type: HTTP3 is not supported; use HTTP1 or HTTP2',
    ]);
  });

  it('needs an HTTP/2 cluster for gRPC checks, and one checker kind', () => {
    assert.deepEqual(decode({ health_checks: [{ ...BASE, grpc_health_check: {} }] }).errors, [
      'clusters[0].health_checks[0].grpc_health_check: needs an HTTP/2 cluster (http2_protocol_options or typed_extension_protocol_options), as in Envoy',
    ]);
    assert.deepEqual(decode({ health_checks: [{ ...BASE }] }).errors, ['clusters[0].health_checks[0]: one of http_health_check, tcp_health_check, grpc_health_check is required']);
    assert.match(decode({ health_checks: [{ ...BASE, custom_health_check: { name: 'redis' } }] }).errors.join(), /custom_health_check: is not supported/);
  });

  it('ignores the logging fields only', () => {
    const { errors, ignored } = decode({ health_checks: [{ ...BASE, tcp_health_check: {}, always_log_health_check_failures: true, event_log_path: '/dev/null' }] });
    assert.deepEqual(errors, []);
    assert.deepEqual(ignored.sort(), ['clusters[0].health_checks[0].always_log_health_check_failures', 'clusters[0].health_checks[0].event_log_path']);
  });

  it('reads the cluster fields that only act with a health check', () => {
    const { cluster } = decode({
      health_checks: [{ ...BASE, tcp_health_check: {} }],
      common_lb_config: { ignore_new_hosts_until_first_hc: true },
      ignore_health_on_host_removal: true,
      close_connections_on_host_health_failure: true,
    });
    assert.equal(cluster.healthCheck?.ignoreNewHostsUntilFirstHc, true);
    assert.equal(cluster.healthCheck?.ignoreHealthOnHostRemoval, true);
    assert.equal(cluster.healthCheck?.closeConnectionsOnHostHealthFailure, true);
  });
});
