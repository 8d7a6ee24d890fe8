import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCluster } from './cluster.js';
import { Issues, Reader } from './reader.js';

function errorsOf(input: unknown): { path: string; message: string }[] {
  const issues = new Issues();
  const r = Reader.of(input, 'clusters[0]', issues);
  assert.ok(r);
  decodeCluster(r);
  return issues.errors;
}

const HTTP_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const socket = (address: string, port = 80) => ({ endpoint: { address: { socket_address: { address, port_value: port } } } });
const assignment = (...lbEndpoints: unknown[]) => ({ cluster_name: 'svc', endpoints: [{ lb_endpoints: lbEndpoints }] });
const base = { name: 'svc', load_assignment: assignment(socket('10.0.0.1')) };
const xmesh = (settings: Record<string, unknown>) => ({ metadata: { filter_metadata: { xmesh: settings } } });
const LA = 'clusters[0].load_assignment.endpoints[0].lb_endpoints';

interface Case {
  readonly name: string;
  readonly input: Record<string, unknown>;
  readonly path: string;
  readonly fragment: string;
}

const cases: readonly Case[] = [
  { name: 'missing name', input: { name: undefined }, path: 'clusters[0].name', fragment: 'is required' },
  { name: 'empty name', input: { name: '' }, path: 'clusters[0].name', fragment: 'must not be empty' },
  { name: 'unknown field', input: { foo: 1 }, path: 'clusters[0].foo', fragment: 'unknown or unsupported field "foo"' },
  { name: 'bad type enum', input: { type: 'MAGIC' }, path: 'clusters[0].type', fragment: 'must be one of STATIC, STRICT_DNS, LOGICAL_DNS, EDS, got "MAGIC"' },
  { name: 'ORIGINAL_DST', input: { type: 'ORIGINAL_DST' }, path: 'clusters[0].type', fragment: 'ORIGINAL_DST is not supported' },
  { name: 'ORIGINAL_DST as a number', input: { type: 4 }, path: 'clusters[0].type', fragment: 'ORIGINAL_DST is not supported' },
  { name: 'cluster_type', input: { cluster_type: { name: 'envoy.clusters.aggregate' } }, path: 'clusters[0].cluster_type', fragment: 'is not supported: custom cluster types' },
  { name: 'bad lb_policy', input: { lb_policy: 'FASTEST' }, path: 'clusters[0].lb_policy', fragment: 'must be one of ROUND_ROBIN, LEAST_REQUEST, RING_HASH, RANDOM, MAGLEV, got "FASTEST"' },
  { name: 'CLUSTER_PROVIDED', input: { lb_policy: 'CLUSTER_PROVIDED' }, path: 'clusters[0].lb_policy', fragment: 'CLUSTER_PROVIDED is not supported' },
  { name: 'LOAD_BALANCING_POLICY_CONFIG as number', input: { lb_policy: 7 }, path: 'clusters[0].lb_policy', fragment: 'LOAD_BALANCING_POLICY_CONFIG is not supported' },
  { name: 'load_balancing_policy', input: { load_balancing_policy: { policies: [] } }, path: 'clusters[0].load_balancing_policy', fragment: 'is not supported: use lb_policy' },
  { name: 'bad duration "5"', input: { connect_timeout: '5' }, path: 'clusters[0].connect_timeout', fragment: 'must be a duration like "0.25s", got "5"' },
  { name: 'zero connect_timeout', input: { connect_timeout: '0s' }, path: 'clusters[0].connect_timeout', fragment: 'must be greater than 0' },
  { name: 'dns_refresh_rate under 1 ms', input: { dns_refresh_rate: '0.0005s' }, path: 'clusters[0].dns_refresh_rate', fragment: 'must be at least 1ms' },
  { name: 'bad dns_lookup_family', input: { dns_lookup_family: 'V5' }, path: 'clusters[0].dns_lookup_family', fragment: 'must be one of AUTO, V4_ONLY, V6_ONLY, V4_PREFERRED, ALL' },
  { name: 'non-prime maglev table', input: { lb_policy: 'MAGLEV', maglev_lb_config: { table_size: 65536 } }, path: 'clusters[0].maglev_lb_config.table_size', fragment: 'must be a prime number, got 65536' },
  { name: 'maglev table too large', input: { maglev_lb_config: { table_size: 5_000_012 } }, path: 'clusters[0].maglev_lb_config.table_size', fragment: 'must be a uint64 in [1, 5000011]' },
  { name: 'min ring > max ring', input: { ring_hash_lb_config: { minimum_ring_size: 4096, maximum_ring_size: 2048 } }, path: 'clusters[0].ring_hash_lb_config.minimum_ring_size', fragment: 'must not exceed maximum_ring_size (4096 > 2048)' },
  { name: 'max ring over 8M', input: { ring_hash_lb_config: { maximum_ring_size: 8_388_609 } }, path: 'clusters[0].ring_hash_lb_config.maximum_ring_size', fragment: 'in [1, 8388608], got 8388609' },
  { name: 'bad hash function', input: { ring_hash_lb_config: { hash_function: 'SHA1' } }, path: 'clusters[0].ring_hash_lb_config.hash_function', fragment: 'must be one of XX_HASH, MURMUR_HASH_2' },
  { name: 'choice_count 1', input: { least_request_lb_config: { choice_count: 1 } }, path: 'clusters[0].least_request_lb_config.choice_count', fragment: 'must be a uint32 in [2, 4294967295], got 1' },
  { name: 'negative active_request_bias', input: { least_request_lb_config: { active_request_bias: { default_value: -1, runtime_key: 'k' } } }, path: 'clusters[0].least_request_lb_config.active_request_bias.default_value', fragment: 'must be a number in [0, Infinity], got -1' },
  { name: 'slow start', input: { least_request_lb_config: { slow_start_config: {} } }, path: 'clusters[0].least_request_lb_config.slow_start_config', fragment: 'unknown or unsupported field' },
  { name: 'two lb configs', input: { maglev_lb_config: {}, ring_hash_lb_config: {} }, path: 'clusters[0]', fragment: 'got ring_hash_lb_config and maglev_lb_config' },
  { name: 'max_requests "ten"', input: { circuit_breakers: { thresholds: [{ max_requests: 'ten' }] } }, path: 'clusters[0].circuit_breakers.thresholds[0].max_requests', fragment: 'must be a uint32, got "ten"' },
  { name: 'duplicate threshold priority', input: { circuit_breakers: { thresholds: [{ priority: 'HIGH' }, { priority: 1 }] } }, path: 'clusters[0].circuit_breakers.thresholds[1].priority', fragment: 'duplicate thresholds for priority HIGH (first at clusters[0].circuit_breakers.thresholds[0])' },
  { name: 'retry budget 150 %', input: { circuit_breakers: { thresholds: [{ retry_budget: { budget_percent: { value: 150 } } }] } }, path: 'clusters[0].circuit_breakers.thresholds[0].retry_budget.budget_percent.value', fragment: 'must be a number in [0, 100], got 150' },
  { name: 'max_ejection_percent 150', input: { outlier_detection: { max_ejection_percent: 150 } }, path: 'clusters[0].outlier_detection.max_ejection_percent', fragment: 'must be a percentage in [0, 100], got 150' },
  { name: 'enforcing_consecutive_5xx 101', input: { outlier_detection: { enforcing_consecutive_5xx: 101 } }, path: 'clusters[0].outlier_detection.enforcing_consecutive_5xx', fragment: 'in [0, 100], got 101' },
  { name: 'zero interval', input: { outlier_detection: { interval: '0s' } }, path: 'clusters[0].outlier_detection.interval', fragment: 'must be greater than 0' },
  { name: 'max ejection < base', input: { outlier_detection: { base_ejection_time: '60s', max_ejection_time: '30s' } }, path: 'clusters[0].outlier_detection.max_ejection_time', fragment: 'must not be less than base_ejection_time (60000 ms)' },
  { name: 'panic threshold 150 %', input: { common_lb_config: { healthy_panic_threshold: { value: 150 } } }, path: 'clusters[0].common_lb_config.healthy_panic_threshold.value', fragment: 'in [0, 100], got 150' },
  { name: 'fail_fast window not divisible', input: xmesh({ fail_fast: { rolling_window: '10s', rolling_buckets: 3 } }), path: 'clusters[0].metadata.filter_metadata.xmesh.fail_fast.rolling_buckets', fragment: 'must divide rolling_window evenly' },
  { name: 'fail_fast threshold 150', input: xmesh({ fail_fast: { error_threshold_percentage: 150 } }), path: 'clusters[0].metadata.filter_metadata.xmesh.fail_fast.error_threshold_percentage', fragment: 'in [0, 100], got 150' },
  { name: 'unknown xmesh key', input: xmesh({ retries: 3 }), path: 'clusters[0].metadata.filter_metadata.xmesh.retries', fragment: 'unknown or unsupported xmesh setting "retries"' },
  { name: 'bad xmesh transport', input: xmesh({ transport: 'quic' }), path: 'clusters[0].metadata.filter_metadata.xmesh.transport', fragment: 'must be one of grpc-js, lean, got "quic"' },
  { name: 'bad xmesh lb_policy', input: xmesh({ lb_policy: 'P2C' }), path: 'clusters[0].metadata.filter_metadata.xmesh.lb_policy', fragment: 'must be PEAK_EWMA, got "P2C"' },
  { name: 'PEAK_EWMA over RING_HASH', input: { lb_policy: 'RING_HASH', ...xmesh({ lb_policy: 'PEAK_EWMA' }) }, path: 'clusters[0].metadata.filter_metadata.xmesh.lb_policy', fragment: 'PEAK_EWMA needs Envoy lb_policy ROUND_ROBIN or LEAST_REQUEST' },
  { name: 'zero ewma_decay', input: xmesh({ ewma_decay: '0s' }), path: 'clusters[0].metadata.filter_metadata.xmesh.ewma_decay', fragment: 'must be greater than 0' },
  { name: 'EDS with load_assignment', input: { type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } }, path: 'clusters[0].load_assignment', fragment: 'must not be set on an EDS cluster' },
  { name: 'EDS without eds_cluster_config', input: { type: 'EDS', load_assignment: undefined }, path: 'clusters[0].eds_cluster_config', fragment: 'cannot create an EDS cluster without an EDS config' },
  { name: 'eds_cluster_config on STATIC', input: { eds_cluster_config: { service_name: 'x' } }, path: 'clusters[0].eds_cluster_config', fragment: 'is only valid for an EDS cluster, this one is STATIC' },
  { name: 'STATIC hostname', input: { load_assignment: assignment(socket('db.local')) }, path: `${LA}[0].endpoint.address.socket_address.address`, fragment: 'must be an IP address in a STATIC cluster, got "db.local"' },
  { name: 'LOGICAL_DNS with two endpoints', input: { type: 'LOGICAL_DNS', load_assignment: assignment(socket('a.local'), socket('b.local')) }, path: LA, fragment: 'needs exactly one endpoint, got 2' },
  { name: 'port 70000', input: { load_assignment: assignment(socket('10.0.0.1', 70000)) }, path: `${LA}[0].endpoint.address.socket_address.port_value`, fragment: 'must be a uint32 in [1, 65535], got 70000' },
  { name: 'wrong typed options @type', input: { typed_extension_protocol_options: { [HTTP_OPTIONS]: { '@type': 'type.googleapis.com/x.Y', explicit_http_config: { http2_protocol_options: {} } } } }, path: `clusters[0].typed_extension_protocol_options["${HTTP_OPTIONS}"].@type`, fragment: `must be "type.googleapis.com/${HTTP_OPTIONS}"` },
  { name: 'unknown typed options', input: { typed_extension_protocol_options: { 'envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions': {} } }, path: 'clusters[0].typed_extension_protocol_options["envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions"]', fragment: 'unsupported protocol options' },
  { name: 'http3 upstream', input: { typed_extension_protocol_options: { [HTTP_OPTIONS]: { '@type': `type.googleapis.com/${HTTP_OPTIONS}`, explicit_http_config: { http3_protocol_options: {} } } } }, path: `clusters[0].typed_extension_protocol_options["${HTTP_OPTIONS}"].explicit_http_config.http3_protocol_options`, fragment: 'unknown or unsupported field' },
  { name: 'deprecated and typed http2 together', input: { http2_protocol_options: {}, typed_extension_protocol_options: { [HTTP_OPTIONS]: { '@type': `type.googleapis.com/${HTTP_OPTIONS}`, explicit_http_config: { http2_protocol_options: {} } } } }, path: 'clusters[0].http2_protocol_options', fragment: 'must not be set together with typed_extension_protocol_options' },
  { name: 'lb_subset_config', input: { lb_subset_config: {} }, path: 'clusters[0].lb_subset_config', fragment: 'unknown or unsupported field "lb_subset_config"' },
  { name: 'both consecutive_5xx spellings', input: { outlier_detection: { consecutive_5xx: 3, consecutive5xx: 4 } }, path: 'clusters[0].outlier_detection.consecutive5xx', fragment: 'duplicate field (also given as "consecutive_5xx")' },
];

describe('decodeCluster rejects invalid input with the exact path', () => {
  for (const c of cases) {
    it(c.name, () => {
      const errors = errorsOf({ ...base, ...c.input });
      assert.equal(errors.length, 1, `expected one error, got ${JSON.stringify(errors)}`);
      assert.equal(errors[0]!.path, c.path);
      assert.ok(errors[0]!.message.includes(c.fragment), `"${errors[0]!.message}" should contain "${c.fragment}"`);
    });
  }

  it('reports every error of one input, not just the first', () => {
    const errors = errorsOf({
      name: 'many',
      type: 'LOGICAL_DNS',
      lb_policy: 'MAGLEV',
      maglev_lb_config: { table_size: 100 },
      connect_timeout: 'soon',
      circuit_breakers: { thresholds: [{ priority: 'DEFAULT' }, { priority: 'DEFAULT', max_retries: -1 }] },
      outlier_detection: { failure_percentage_threshold: 101 },
      load_assignment: assignment(socket('a.local', 0), socket('b.local')),
      unknown_thing: true,
    });
    assert.deepEqual(errors.map((e) => e.path).sort(), [
      'clusters[0].circuit_breakers.thresholds[1].max_retries',
      'clusters[0].circuit_breakers.thresholds[1].priority',
      'clusters[0].connect_timeout',
      `${LA}`,
      `${LA}[0].endpoint.address.socket_address.port_value`,
      'clusters[0].maglev_lb_config.table_size',
      'clusters[0].outlier_detection.failure_percentage_threshold',
      'clusters[0].unknown_thing',
    ].sort());
  });
});
