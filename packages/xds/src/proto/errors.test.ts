/** Typed errors with field paths: unknown type URLs, malformed bytes, bad JSON; never a crash on garbage. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshError, type FieldError } from '@xmesh/core';
import { TypeUrl } from '../type-urls.js';
import { loadEnvoyProtos } from './load.js';
import { decodeResource, encodeResource, type AnyResource } from './resource.js';
import { snapshotFromAnys } from './snapshot-from-anys.js';

const protos = loadEnvoyProtos();

/** The FieldErrors of the XMESH_CONFIG_INVALID MeshError `fn` throws. */
function errorsOf(fn: () => unknown): readonly FieldError[] {
  try {
    fn();
  } catch (err) {
    assert.ok(isMeshError(err), `expected a MeshError, got ${String(err)}`);
    assert.equal(err.code, 'XMESH_CONFIG_INVALID');
    return err.errors;
  }
  assert.fail('expected an error');
}

test('an unknown type URL is an error at @type', () => {
  const errors = errorsOf(() => decodeResource(protos, { type_url: 'type.googleapis.com/acme.v1.Widget', value: new Uint8Array([8, 1]) }));
  assert.deepEqual(errors, [{ path: '@type', message: 'unknown or unsupported type URL "type.googleapis.com/acme.v1.Widget"' }]);
  assert.deepEqual(errorsOf(() => encodeResource(protos, { '@type': 'acme.v1.Widget', name: 'w' })).map((e) => e.path), ['@type']);
  assert.deepEqual(errorsOf(() => encodeResource(protos, { name: 'w' })), [{ path: '@type', message: 'is required' }]);
});

test('an unknown type URL inside (typed_config) is reported at its path', () => {
  const Any = protos.root.lookupType('google.protobuf.Any');
  const Listener = protos.root.lookupType('envoy.config.listener.v3.Listener');
  const bytes = Listener.encode(Listener.fromObject({
    name: 'l',
    filter_chains: [{ filters: [{ name: 'f', typed_config: Any.fromObject({ type_url: 'type.googleapis.com/acme.Filter', value: [1, 2] }) }] }],
  })).finish();
  const errors = errorsOf(() => decodeResource(protos, { type_url: TypeUrl.Listener, value: bytes }));
  assert.deepEqual(errors.map((e) => e.path), ['filter_chains[0].filters[0].typed_config.@type']);
});

test('malformed bytes are an error at value, for the resource and for a nested Any', () => {
  const truncated = errorsOf(() => decodeResource(protos, { type_url: TypeUrl.Cluster, value: Uint8Array.from([0x0a, 0x10, 0x61]) }));
  assert.equal(truncated.length, 1);
  assert.equal(truncated[0]!.path, 'value');
  assert.match(truncated[0]!.message, /^malformed envoy\.config\.cluster\.v3\.Cluster bytes: /);
  const badWireType = errorsOf(() => decodeResource(protos, { type_url: TypeUrl.Cluster, value: Uint8Array.from([0x0f]) }));
  assert.equal(badWireType[0]!.path, 'value');

  const Any = protos.root.lookupType('google.protobuf.Any');
  const Cluster = protos.root.lookupType('envoy.config.cluster.v3.Cluster');
  const bytes = Cluster.encode(Cluster.fromObject({
    name: 'c',
    typed_extension_protocol_options: { opts: Any.fromObject({ type_url: TypeUrl.HttpProtocolOptions, value: [0x0a, 0x7f] }) },
  })).finish();
  const nested = errorsOf(() => decodeResource(protos, { type_url: TypeUrl.Cluster, value: bytes }));
  assert.deepEqual(nested.map((e) => e.path), ['typed_extension_protocol_options["opts"].value']);
});

test('a value that is not an Any is a typed error', () => {
  assert.deepEqual(errorsOf(() => decodeResource(protos, { type_url: TypeUrl.Cluster, value: 'abc' } as unknown as AnyResource)).map((e) => e.path), ['value']);
  assert.deepEqual(errorsOf(() => decodeResource(protos, null as unknown as AnyResource)).map((e) => e.path), ['(root)']);
});

test('random bytes never crash the decoder: a result or the typed error', () => {
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  let decoded = 0;
  let rejected = 0;
  for (let i = 0; i < 2000; i++) {
    const bytes = Uint8Array.from({ length: 1 + (next() % 40) }, next);
    for (const type_url of [TypeUrl.Cluster, TypeUrl.Listener, TypeUrl.RouteConfiguration]) {
      try {
        decodeResource(protos, { type_url, value: bytes });
        decoded++;
      } catch (err) {
        assert.ok(isMeshError(err) && err.code === 'XMESH_CONFIG_INVALID', String(err));
        rejected++;
      }
    }
  }
  assert.ok(decoded > 0 && rejected > 0, `decoded ${decoded}, rejected ${rejected}`);
});

test('encode reports every problem with its path', () => {
  const errors = errorsOf(() => encodeResource(protos, {
    '@type': TypeUrl.Cluster,
    name: 7,
    conect_timeout: '1s',
    lb_policy: 'FASTEST',
    outlier_detection: { interval: '10 seconds', max_ejection_percent: -1 },
    circuit_breakers: { thresholds: { max_requests: 'many' } },
    load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { port_value: 'http' } } } }] }] },
    typed_extension_protocol_options: { x: { '@type': TypeUrl.HttpProtocolOptions, explicit_http_config: { http9: {} } } },
    type: 'STATIC',
    cluster_type: { name: 'custom' },
    transportSocket: null,
    transport_socket: null,
  }));
  assert.deepEqual(errors.map((e) => e.path), [
    'name',
    'conect_timeout',
    'lb_policy',
    'outlier_detection.interval',
    'outlier_detection.max_ejection_percent',
    'circuit_breakers.thresholds.max_requests',
    'load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value',
    'typed_extension_protocol_options["x"].explicit_http_config.http9',
    'cluster_type',
    'transport_socket',
  ]);
  assert.match(errors[1]!.message, /unknown field "conect_timeout" in envoy\.config\.cluster\.v3\.Cluster/);
  assert.match(errors[2]!.message, /unknown LbPolicy value "FASTEST": one of ROUND_ROBIN, /);
  assert.match(errors[8]!.message, /only one of the "cluster_discovery_type" fields may be set \(also given: "type"\)/);
  assert.match(errors[9]!.message, /duplicate field \(also given as "transportSocket"\)/);
});

test('snapshotFromAnys: decode problems become FieldErrors with the resource index', () => {
  const good = encodeResource(protos, { '@type': TypeUrl.ClusterLoadAssignment, cluster_name: 'c' });
  const result = snapshotFromAnys(protos, [
    good,
    { type_url: 'type.googleapis.com/acme.Thing', value: new Uint8Array() },
    { type_url: TypeUrl.Cluster, value: Uint8Array.from([0xff]) },
  ]);
  assert.equal(result.ok, false);
  assert.deepEqual(!result.ok && result.errors.map((e) => e.path), ['[1].@type', '[2].value']);
});

test('encoding reads JSON as Envoy does: enum names in any case or as numbers, one value for a one-element list', () => {
  const any = encodeResource(protos, {
    '@type': TypeUrl.Cluster,
    name: 'c',
    type: 'strict_dns',
    lb_policy: '1',
    circuit_breakers: { thresholds: { max_requests: 7 } },
  });
  const back = decodeResource(protos, any) as { type: string; lb_policy: string; circuit_breakers: { thresholds: { max_requests: number }[] } };
  assert.equal(back.type, 'STRICT_DNS');
  assert.equal(back.lb_policy, 'LEAST_REQUEST');
  assert.deepEqual(back.circuit_breakers.thresholds.map((t) => t.max_requests), [7]);
});
