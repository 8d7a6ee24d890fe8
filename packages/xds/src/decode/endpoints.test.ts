import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LoadAssignment } from '../model.js';
import { decodeLoadAssignment, type LoadAssignmentContext } from './endpoints.js';
import { Issues, Reader } from './reader.js';

function decode(input: unknown, context: LoadAssignmentContext = {}): { cla: LoadAssignment; issues: Issues } {
  const issues = new Issues();
  const r = Reader.of(input, 'resources[0]', issues);
  assert.ok(r);
  return { cla: decodeLoadAssignment(r, context), issues };
}

const lbEndpoint = (address: string, port: number, extra: Record<string, unknown> = {}) => ({
  endpoint: { address: { socket_address: { address, port_value: port } } },
  ...extra,
});
const EP = 'resources[0].endpoints[0].lb_endpoints';

describe('decodeLoadAssignment', () => {
  it('decodes localities, endpoints and policy into the model', () => {
    const input = {
      '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
      cluster_name: 'orders',
      endpoints: [
        {
          locality: { region: 'us', zone: 'us-1b' },
          load_balancing_weight: 4,
          lb_endpoints: [
            lbEndpoint('10.0.0.1', 80, {
              health_status: 'HEALTHY',
              load_balancing_weight: 3,
              metadata: { filter_metadata: { 'envoy.lb': { version: 'v2', canary: true } } },
            }),
            { endpoint: { address: { socket_address: { address: 'fe80::1', port_value: 81 } }, hostname: 'h1', health_check_config: { port_value: 9901, hostname: 'h1-check' } }, health_status: 'DRAINING' },
          ],
        },
        { priority: 1, lb_endpoints: [lbEndpoint('10.0.1.1', 80)] },
      ],
      policy: {
        overprovisioning_factor: 100,
        endpoint_stale_after: '30s',
        drop_overloads: [{ category: 'throttle', drop_percentage: { numerator: 5, denominator: 'TEN_THOUSAND' } }],
      },
    };
    const { cla, issues } = decode(input);
    assert.deepEqual(issues.errors, []);
    const us = { region: 'us', zone: 'us-1b', subZone: '' };
    const none = { region: '', zone: '', subZone: '' };
    assert.deepEqual(cla, {
      clusterName: 'orders',
      localities: [
        {
          locality: us, priority: 0, loadBalancingWeight: 4,
          endpoints: [
            { id: '10.0.0.1:80', host: '10.0.0.1', port: 80, weight: 3, healthStatus: 'HEALTHY', priority: 0, locality: us, localityWeight: 4, metadata: { 'envoy.lb': { version: 'v2', canary: true } } },
            { id: '[fe80::1]:81', host: 'fe80::1', port: 81, weight: 1, healthStatus: 'DRAINING', priority: 0, locality: us, localityWeight: 4, metadata: {}, hostname: 'h1', healthCheck: { port: 9901, hostname: 'h1-check' } },
          ],
        },
        {
          locality: none, priority: 1, loadBalancingWeight: undefined,
          endpoints: [{ id: '10.0.1.1:80', host: '10.0.1.1', port: 80, weight: 1, healthStatus: 'UNKNOWN', priority: 1, locality: none, localityWeight: undefined, metadata: {} }],
        },
      ],
      overprovisioningFactor: 100,
      dropOverloads: [{ category: 'throttle', dropPercentage: { numerator: 5, denominator: 10_000 } }],
      endpointStaleAfterMs: 30_000,
    });
    assert.deepEqual(issues.ignored, []);
  });

  it('keeps endpoint metadata as a frozen copy, leaving the input unfrozen', () => {
    const meta = { 'envoy.lb': { stage: 'blue' } };
    const { cla } = decode({ cluster_name: 'c', endpoints: [{ lb_endpoints: [lbEndpoint('10.0.0.1', 1, { metadata: { filter_metadata: meta } })] }] });
    const stored = cla.localities[0]!.endpoints[0]!.metadata;
    assert.deepEqual(stored, meta);
    assert.ok(Object.isFrozen(stored) && Object.isFrozen(stored['envoy.lb']));
    assert.ok(!Object.isFrozen(meta['envoy.lb']));
  });

  it('defaults the policy and accepts an assignment with no endpoints', () => {
    const { cla, issues } = decode({ clusterName: 'empty' });
    assert.deepEqual(issues.errors, []);
    assert.deepEqual(cla, { clusterName: 'empty', localities: [], overprovisioningFactor: 140, dropOverloads: [], endpointStaleAfterMs: undefined });
  });

  it('accepts hostnames outside STATIC clusters, numeric health statuses and camelCase keys', () => {
    const { cla, issues } = decode(
      { clusterName: 'dns', endpoints: [{ lbEndpoints: [{ healthStatus: 2, loadBalancingWeight: { value: 7 }, endpoint: { address: { socketAddress: { address: 'db.local', portValue: 5432 } } } }] }] },
      { clusterType: 'STRICT_DNS' },
    );
    assert.deepEqual(issues.errors, []);
    const e = cla.localities[0]!.endpoints[0]!;
    assert.deepEqual([e.id, e.healthStatus, e.weight], ['db.local:5432', 'UNHEALTHY', 7]);
  });
});

interface Case {
  readonly name: string;
  readonly input: Record<string, unknown>;
  readonly context?: LoadAssignmentContext;
  readonly path: string;
  readonly fragment: string;
}

const one = (...lbEndpoints: unknown[]) => ({ cluster_name: 'c', endpoints: [{ lb_endpoints: lbEndpoints }] });
const withSocket = (socket: Record<string, unknown>) => one({ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80, ...socket } } } });
const SOCKET = `${EP}[0].endpoint.address.socket_address`;

const cases: readonly Case[] = [
  { name: 'missing cluster_name', input: { endpoints: [] }, path: 'resources[0].cluster_name', fragment: 'is required' },
  { name: 'port 0', input: one(lbEndpoint('10.0.0.1', 0)), path: `${SOCKET}.port_value`, fragment: 'must be a uint32 in [1, 65535], got 0' },
  { name: 'port 70000', input: one(lbEndpoint('10.0.0.1', 70000)), path: `${SOCKET}.port_value`, fragment: 'must be a uint32 in [1, 65535], got 70000' },
  { name: 'missing port', input: withSocket({ port_value: undefined }), path: `${SOCKET}.port_value`, fragment: 'is required' },
  { name: 'named_port', input: withSocket({ port_value: undefined, named_port: 'http' }), path: `${SOCKET}.named_port`, fragment: 'is not supported: use port_value' },
  { name: 'resolver_name', input: withSocket({ resolver_name: 'consul' }), path: `${SOCKET}.resolver_name`, fragment: 'is not supported: custom resolvers' },
  { name: 'UDP', input: withSocket({ protocol: 'UDP' }), path: `${SOCKET}.protocol`, fragment: 'only TCP is supported' },
  { name: 'empty address', input: withSocket({ address: '' }), path: `${SOCKET}.address`, fragment: 'must not be empty' },
  { name: 'pipe address', input: one({ endpoint: { address: { pipe: { path: '/tmp/s' } } } }), path: `${EP}[0].endpoint.address.pipe`, fragment: 'is not supported: upstreams are reached over TCP' },
  { name: 'empty address object', input: one({ endpoint: { address: {} } }), path: `${EP}[0].endpoint.address.socket_address`, fragment: 'is required' },
  { name: 'missing endpoint', input: one({ health_status: 'HEALTHY' }), path: `${EP}[0].endpoint`, fragment: 'is required' },
  { name: 'endpoint_name', input: one({ endpoint_name: 'e1' }), path: `${EP}[0].endpoint_name`, fragment: 'unknown or unsupported field "endpoint_name"' },
  { name: 'endpoint weight 0', input: one(lbEndpoint('10.0.0.1', 80, { load_balancing_weight: 0 })), path: `${EP}[0].load_balancing_weight`, fragment: 'must be a uint32 in [1, 4294967295], got 0' },
  { name: 'locality weight 0', input: { cluster_name: 'c', endpoints: [{ load_balancing_weight: 0, lb_endpoints: [] }] }, path: 'resources[0].endpoints[0].load_balancing_weight', fragment: 'in [1, 4294967295], got 0' },
  { name: 'bad health status', input: one(lbEndpoint('10.0.0.1', 80, { health_status: 'SICK' })), path: `${EP}[0].health_status`, fragment: 'must be one of UNKNOWN, HEALTHY, UNHEALTHY, DRAINING, TIMEOUT, DEGRADED, got "SICK"' },
  { name: 'health status number 9', input: one(lbEndpoint('10.0.0.1', 80, { health_status: 9 })), path: `${EP}[0].health_status`, fragment: 'got 9' },
  { name: 'priority 129', input: { cluster_name: 'c', endpoints: [{ priority: 129 }] }, path: 'resources[0].endpoints[0].priority', fragment: 'in [0, 128], got 129' },
  { name: 'priority gap', input: { cluster_name: 'c', endpoints: [{ priority: 0 }, { priority: 2 }, { priority: 3 }] }, path: 'resources[0].endpoints[1].priority', fragment: 'priorities must be contiguous from 0, but no locality has priority 1' },
  { name: 'no priority 0', input: { cluster_name: 'c', endpoints: [{ priority: 1 }] }, path: 'resources[0].endpoints[0].priority', fragment: 'no locality has priority 0' },
  { name: 'duplicate host:port across localities', input: { cluster_name: 'c', endpoints: [{ lb_endpoints: [lbEndpoint('10.0.0.1', 80)] }, { lb_endpoints: [lbEndpoint('10.0.0.1', 80)] }] }, path: 'resources[0].endpoints[1].lb_endpoints[0].endpoint.address', fragment: `duplicate endpoint 10.0.0.1:80 (first at ${EP}[0].endpoint.address)` },
  { name: 'named_endpoints', input: { cluster_name: 'c', named_endpoints: { a: {} } }, path: 'resources[0].named_endpoints', fragment: 'is not supported' },
  { name: 'overprovisioning_factor 0', input: { cluster_name: 'c', policy: { overprovisioning_factor: 0 } }, path: 'resources[0].policy.overprovisioning_factor', fragment: 'in [1, 4294967295], got 0' },
  { name: 'drop_overload without category', input: { cluster_name: 'c', policy: { drop_overloads: [{ drop_percentage: { numerator: 1 } }] } }, path: 'resources[0].policy.drop_overloads[0].category', fragment: 'is required' },
  { name: 'bad drop denominator', input: { cluster_name: 'c', policy: { drop_overloads: [{ category: 'x', drop_percentage: { numerator: 1, denominator: 'BILLION' } }] } }, path: 'resources[0].policy.drop_overloads[0].drop_percentage.denominator', fragment: 'must be one of HUNDRED, TEN_THOUSAND, MILLION' },
  { name: 'zero endpoint_stale_after', input: { cluster_name: 'c', policy: { endpoint_stale_after: '0s' } }, path: 'resources[0].policy.endpoint_stale_after', fragment: 'must be greater than 0' },
  { name: 'metadata entry not an object', input: one(lbEndpoint('10.0.0.1', 80, { metadata: { filter_metadata: { 'envoy.lb': 'v1' } } })), path: `${EP}[0].metadata.filter_metadata["envoy.lb"]`, fragment: 'must be an object, got "v1"' },
  { name: 'STATIC with a hostname', input: one(lbEndpoint('db.local', 80)), context: { clusterType: 'STATIC' }, path: `${SOCKET}.address`, fragment: 'must be an IP address in a STATIC cluster' },
  { name: 'LOGICAL_DNS with two localities', input: { cluster_name: 'c', endpoints: [{ lb_endpoints: [lbEndpoint('a', 1)] }, { lb_endpoints: [lbEndpoint('b', 1)] }] }, context: { clusterType: 'LOGICAL_DNS' }, path: 'resources[0].endpoints', fragment: 'needs exactly one locality with one endpoint, got 2 localities' },
  { name: 'LOGICAL_DNS with no endpoint', input: one(), context: { clusterType: 'LOGICAL_DNS' }, path: EP, fragment: 'needs exactly one endpoint, got 0' },
];

describe('decodeLoadAssignment rejects invalid input with the exact path', () => {
  for (const c of cases) {
    it(c.name, () => {
      const { issues } = decode(c.input, c.context);
      assert.equal(issues.errors.length, 1, `expected one error, got ${JSON.stringify(issues.errors)}`);
      assert.equal(issues.errors[0]!.path, c.path);
      assert.ok(issues.errors[0]!.message.includes(c.fragment), `"${issues.errors[0]!.message}" should contain "${c.fragment}"`);
    });
  }
});

describe('EDS endpoint addresses are IP addresses, as STATIC ones', () => {
  for (const bad of ['pay.internal', '1.2.3', '::gggg', '10.0.0.256', ' 10.0.0.1']) {
    it(`rejects ${JSON.stringify(bad)} with its path`, () => {
      const { issues } = decode({ cluster_name: 'pay', endpoints: [{ lb_endpoints: [lbEndpoint('10.0.0.1', 80), lbEndpoint(bad, 80)] }] });
      assert.deepEqual(issues.errors.map((e) => e.path), [`${EP}[1].endpoint.address.socket_address.address`]);
      assert.match(issues.errors[0]!.message, /must be an IP address in an EDS resource/);
    });
  }

  it('accepts IPv4 and IPv6 literals', () => {
    const { issues } = decode({ cluster_name: 'pay', endpoints: [{ lb_endpoints: [lbEndpoint('10.0.0.1', 80), lbEndpoint('::1', 80), lbEndpoint('fe80::1', 80)] }] });
    assert.deepEqual(issues.errors, []);
  });

  it('a DNS cluster\'s inline hosts stay names to resolve', () => {
    const { issues } = decode({ cluster_name: 'pay', endpoints: [{ lb_endpoints: [lbEndpoint('pay.internal', 80)] }] }, { clusterType: 'STRICT_DNS' });
    assert.deepEqual(issues.errors, []);
  });
});
