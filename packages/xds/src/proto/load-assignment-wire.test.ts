/**
 * The wire decoder of ClusterLoadAssignments against the generic path (protobufjs → proto3 JSON →
 * validateLoadAssignment) on bytes it did not write: resources encoded by protobufjs from Envoy's protos,
 * real-shaped fields, random valid assignments, mutated and hostile bytes. For every input it either
 * returns exactly what the generic path returns, or defers to it (undefined) — never throws, never hangs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshError } from '@xmesh/core';
import { validateLoadAssignment } from '../resource-validation.js';
import { TypeUrl } from '../type-urls.js';
import type { ClientRules } from '../decode/reader.js';
import { loadEnvoyProtos } from './load.js';
import { decodeResource, encodeResource } from './resource.js';
import { decodeLoadAssignmentWire, MAX_STRUCT_DEPTH } from './load-assignment-wire.js';

const protos = loadEnvoyProtos();
const CLA = protos.root.lookupType('envoy.config.endpoint.v3.ClusterLoadAssignment');

type Json = Record<string, unknown>;

/** The generic path: what an ADS client made of the bytes before the wire decoder. */
function generic(bytes: Uint8Array, rules: ClientRules = 'envoy'): { json: unknown; errors: readonly unknown[]; assignment: unknown } {
  let json: unknown;
  try {
    json = decodeResource(protos, { type_url: TypeUrl.ClusterLoadAssignment, value: bytes });
  } catch (err) {
    assert.ok(isMeshError(err), `generic decoding threw ${String(err)}`);
    return { json: undefined, errors: err.errors, assignment: undefined };
  }
  const { errors, assignment } = validateLoadAssignment(json, { rules });
  return { json, errors, assignment };
}

const encode = (json: Json): Uint8Array => encodeResource(protos, { '@type': TypeUrl.ClusterLoadAssignment, ...json }).value;

/** Bytes written by protobufjs's own reflection (fromObject + encode), not by encodeResource. */
function encodeWithProtobufjs(object: Json): Uint8Array {
  return CLA.encode(CLA.fromObject(object)).finish();
}

/** The decoder gives what the generic path gives, and takes the fast path (does not defer). */
function assertSame(bytes: Uint8Array, rules: ClientRules = 'envoy'): void {
  const fast = decodeLoadAssignmentWire(bytes, rules);
  const slow = generic(bytes, rules);
  assert.deepEqual(slow.errors, [], 'the generic path accepts it');
  assert.ok(fast !== undefined, 'the wire decoder reads it');
  assert.deepStrictEqual(fast.json, slow.json);
  assert.deepStrictEqual(fast.assignment, slow.assignment);
  assert.ok(Object.isFrozen(fast.json) && Object.isFrozen(fast.assignment));
}

/** The decoder defers to the generic path (which then says what it says). */
function assertDefers(bytes: Uint8Array, rules: ClientRules = 'envoy'): ReturnType<typeof generic> {
  assert.equal(decodeLoadAssignmentWire(bytes, rules), undefined);
  return generic(bytes, rules);
}

// Shaped as istiod's EDS output for a Kubernetes service (istio/istio pilot/pkg/xds/endpoints): localities by
// region/zone, per-endpoint filter_metadata `istio` and `envoy.transport_socket_match`, health status, weights.
const ISTIO_LIKE: Json = {
  cluster_name: 'outbound|9080||reviews.default.svc.cluster.local',
  endpoints: [
    {
      locality: { region: 'us-east1', zone: 'us-east1-b' },
      lb_endpoints: [
        {
          endpoint: { address: { socket_address: { address: '10.48.1.17', port_value: 9080 } } },
          health_status: 'HEALTHY',
          metadata: {
            filter_metadata: {
              istio: { workload: 'reviews-v1;default;reviews;v1;Kubernetes' },
              'envoy.transport_socket_match': { tlsMode: 'istio' },
            },
          },
          load_balancing_weight: 1,
        },
      ],
      load_balancing_weight: 1,
    },
    {
      locality: { region: 'us-east1', zone: 'us-east1-c', sub_zone: 'rack-7' },
      lb_endpoints: [
        { endpoint: { address: { socket_address: { address: '10.48.2.9', port_value: 9080 } } }, health_status: 'DRAINING', load_balancing_weight: 3 },
      ],
      load_balancing_weight: 2,
      priority: 1,
    },
  ],
};

/** Every field the decoder reads, with Struct values of every kind. */
const EVERY_FIELD: Json = {
  cluster_name: 'every',
  endpoints: [
    {
      locality: { region: 'r', zone: 'z', sub_zone: 's' },
      load_balancing_weight: 7,
      lb_endpoints: [
        {
          endpoint: {
            address: { socket_address: { protocol: 'TCP', address: '2001:db8::1', port_value: 443 } },
            hostname: 'api.example.com',
            health_check_config: { port_value: 8081, hostname: 'health.example.com', disable_active_health_check: true },
          },
          health_status: 'DEGRADED',
          load_balancing_weight: 4294967295,
          metadata: {
            filter_metadata: {
              'envoy.lb': { version: 'v2', canary: true, off: false, n: -1.5, zero: 0, nothing: null, list: [1, 'two', false, null, { deep: [[]] }], empty: {} },
              'with.dots and spaces': { 'ünïcødé ✓': 'välue ✓' },
              empty: {},
            },
          },
        },
        { endpoint: { address: { socket_address: { address: '192.0.2.1', port_value: 1 } }, health_check_config: {} }, metadata: {} },
        { endpoint: { address: { socket_address: { address: '192.0.2.2', port_value: 65535 } }, health_check_config: { port_value: 9 } }, health_status: 'UNKNOWN' },
      ],
    },
    { priority: 1 },
    { locality: {}, priority: 2, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '::ffff:192.0.2.3', port_value: 80 } } }, health_status: 'UNHEALTHY' }] },
  ],
  policy: { overprovisioning_factor: 200 },
};

/** In protobufjs's object form (wrappers as `{ value }`, Values by kind, enums by number), for CLA.fromObject. */
const PROTOBUFJS_OBJECT: Json = {
  cluster_name: 'from-protobufjs',
  endpoints: [{
    locality: { region: 'eu-west1', zone: 'eu-west1-a' },
    load_balancing_weight: { value: 5 },
    priority: 0,
    lb_endpoints: [{
      endpoint: { address: { socket_address: { address: '172.16.0.4', port_value: 8443 } }, hostname: 'pod-4' },
      health_status: 1,
      load_balancing_weight: { value: 2 },
      metadata: {
        filter_metadata: {
          'envoy.lb': {
            fields: {
              canary: { boolValue: true },
              n: { numberValue: 2.5 },
              gone: { nullValue: 0 },
              list: { listValue: { values: [{ stringValue: 'a' }, { structValue: { fields: { b: { numberValue: 1 } } } }] } },
            },
          },
        },
      },
    }],
  }],
  policy: { overprovisioning_factor: { value: 150 } },
};

test('real-shaped assignments decode as the generic path decodes them (envoy and gRPC rules)', () => {
  for (const json of [ISTIO_LIKE, EVERY_FIELD, { cluster_name: 'empty' }, { cluster_name: 'p', policy: {} }]) assertSame(encode(json));
  assertSame(encodeWithProtobufjs(PROTOBUFJS_OBJECT));
  assertSame(encode(ISTIO_LIKE), 'grpc');
  assert.equal(decodeLoadAssignmentWire(encode(EVERY_FIELD))!.assignment.localities[0]!.endpoints[0]!.id, '[2001:db8::1]:443');
});

test("the JSON's endpoints are made when first read, once, from a copy of the bytes", () => {
  const bytes = Buffer.from(encode(ISTIO_LIKE));
  const fast = decodeLoadAssignmentWire(bytes)!;
  assert.equal(typeof Object.getOwnPropertyDescriptor(fast.json, 'endpoints')!.get, 'function');
  bytes.fill(0); // the caller's buffer is reused: the JSON does not depend on it
  const endpoints = fast.json.endpoints;
  assert.equal(fast.json.endpoints, endpoints);
  assert.ok(Object.isFrozen(endpoints));
  assert.deepStrictEqual(JSON.parse(JSON.stringify(fast.json)), { '@type': TypeUrl.ClusterLoadAssignment, ...ISTIO_LIKE });
  assert.deepEqual(Object.keys(fast.json), ['@type', 'cluster_name', 'endpoints']);
});

test('fields outside the common shapes, and invalid resources, go the generic way with their errors', () => {
  const endpoint = (extra: Json = {}, socket: Json = {}): Json => ({
    cluster_name: 'c',
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80, ...socket } } }, ...extra }] }],
  });
  const valid: Json[] = [
    // Supported or ignored by the generic path, not read here.
    { cluster_name: 'c', policy: { drop_overloads: [{ category: 'x', drop_percentage: { numerator: 5 } }] } },
    { cluster_name: 'c', policy: { endpoint_stale_after: '5s' } },
    { cluster_name: 'c', endpoints: [{ metadata: { filter_metadata: { a: { b: 1 } } } }] },
    { cluster_name: 'c', endpoints: [{ proximity: 3 }] },
    endpoint({}, { ipv4_compat: true }),
    endpoint({ metadata: { typed_filter_metadata: { x: { '@type': 'type.googleapis.com/google.protobuf.Struct', value: { a: 1 } } } } }),
    endpoint({ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } }, health_check_config: { address: { socket_address: { address: '10.0.0.9', port_value: 81 } } } } }),
  ];
  for (const json of valid) {
    const slow = assertDefers(encode(json));
    assert.deepEqual(slow.errors, [], JSON.stringify(json));
  }
  const invalid: [Json, string][] = [
    [{ endpoints: [] }, 'cluster_name'],
    [endpoint({}, { port_value: 0 }), 'endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value'],
    [endpoint({}, { address: 'backend.local' }), 'endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address'],
    [endpoint({}, { protocol: 'UDP' }), 'endpoints[0].lb_endpoints[0].endpoint.address.socket_address.protocol'],
    [{ cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', named_port: 'http' } } } }] }] }, 'endpoints[0].lb_endpoints[0].endpoint.address.socket_address.named_port'],
    [endpoint({ load_balancing_weight: 0 }), 'endpoints[0].lb_endpoints[0].load_balancing_weight'],
    [endpoint({ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } }, additional_addresses: [{ address: { socket_address: { address: '10.0.0.2', port_value: 80 } } }] } }), 'endpoints[0].lb_endpoints[0].endpoint.additional_addresses'],
    [{ cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint_name: 'named' }] }] }, 'endpoints[0].lb_endpoints[0].endpoint_name'],
    [{ cluster_name: 'c', endpoints: [{ priority: 1 }] }, 'endpoints[0].priority'],
    [{ cluster_name: 'c', endpoints: [{ priority: 129 }] }, 'endpoints[0].priority'],
    [{ cluster_name: 'c', endpoints: [{ load_balancing_weight: 0 }] }, 'endpoints[0].load_balancing_weight'],
    [{ cluster_name: 'c', named_endpoints: { a: {} } }, 'named_endpoints'],
    [{ cluster_name: 'c', policy: { overprovisioning_factor: 0 } }, 'policy.overprovisioning_factor'],
    [{ cluster_name: 'c', endpoints: [endpoint().endpoints as Json, endpoint().endpoints as Json].flat() }, 'endpoints[1].lb_endpoints[0].endpoint.address'],
    [{ cluster_name: 'c', endpoints: [{ lb_endpoints: [{ health_status: 'HEALTHY' }] }] }, 'endpoints[0].lb_endpoints[0].endpoint'],
  ];
  for (const [json, path] of invalid) {
    const slow = assertDefers(encode(json));
    assert.ok(slow.errors.some((e) => (e as { path: string }).path === path), `${JSON.stringify(json)}: ${JSON.stringify(slow.errors)}`);
  }
  // gRPC clients require named, distinct localities (gRFC A27); Envoy does not.
  const unnamed = encode({ cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } } }] }] });
  assertSame(unnamed, 'envoy');
  assert.deepEqual(assertDefers(unnamed, 'grpc').errors.map((e) => (e as { path: string }).path), ['endpoints[0].locality']);
  const twice = encode({ cluster_name: 'c', endpoints: [{ locality: { zone: 'a' } }, { locality: { zone: 'a' } }] });
  assertSame(twice, 'envoy');
  assert.deepEqual(assertDefers(twice, 'grpc').errors.map((e) => (e as { path: string }).path), ['endpoints[1].locality']);
});

/** Protobuf wire writing, for bytes no encoder would produce. */
const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
};
const tag = (field: number, wire: number): number[] => varint(field * 8 + wire);
const len = (field: number, body: readonly number[]): number[] => [...tag(field, 2), ...varint(body.length), ...body];
const str = (field: number, s: string): number[] => len(field, [...Buffer.from(s)]);
const socketEndpoint = (host: string, port: number): number[] =>
  len(2, len(1, len(1, len(1, [...str(2, host), ...tag(3, 0), ...varint(port)]))));

test('hostile bytes: the decoder defers without throwing, and the generic path rejects them with a path', () => {
  const good = [...str(1, 'c'), ...len(2, socketEndpoint('10.0.0.1', 80))];
  assertSame(Uint8Array.from(good));
  const hostile: [string, number[]][] = [
    ['a truncated varint', [...good, 0x80]],
    ['a ten-byte port', [...str(1, 'c'), ...len(2, len(2, len(1, len(1, len(1, [...str(2, '10.0.0.1'), ...tag(3, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])))))]],
    ['a length past the end', [...str(1, 'c'), ...tag(2, 2), ...varint(1000), 1, 2, 3]],
    ['a huge length', [...str(1, 'c'), ...tag(2, 2), 0xff, 0xff, 0xff, 0xff, 0x0f]],
    ['a nested length past its parent', [...str(1, 'c'), ...tag(2, 2), 3, ...tag(2, 2), 50, 1]],
    ['field number 0 (protobufjs skips it as unknown)', [...str(1, 'c'), 0x02, 0x00]],
    ['a group (wire type 3)', [...str(1, 'c'), ...tag(2, 3), ...tag(2, 4)]],
    ['wire type 7', [...str(1, 'c'), ...tag(2, 7)]],
    ['the port as a string', [...str(1, 'c'), ...len(2, len(2, len(1, len(1, len(1, [...str(2, '10.0.0.1'), ...str(3, 'x')])))))]],
    ['invalid UTF-8 in the name (protobufjs skips it: substitutes U+FFFD)', [...len(1, [0xc3, 0x28]), ...len(2, socketEndpoint('10.0.0.1', 80))]],
    ['only a truncated tag', [0x8a]],
  ];
  for (const [what, bytes] of hostile) {
    const slow = assertDefers(Uint8Array.from(bytes));
    if (what.includes('skips')) {
      assert.deepEqual(slow.errors, []);
      continue;
    }
    assert.ok(slow.errors.length > 0, `${what}: rejected`);
    for (const e of slow.errors) assert.ok(typeof (e as { path: unknown }).path === 'string', `${what}: with a path`);
  }
});

test('a cluster_name given twice and a Value with two kinds are left to the generic path', () => {
  assertDefers(Uint8Array.from([...str(1, 'a'), ...str(1, 'b')]));
  const twoKinds = [...str(2, 'x'), ...tag(4, 0), 1]; // string_value then bool_value
  const struct = len(1, [...str(1, 'k'), ...len(2, twoKinds)]);
  const metadata = len(1, [...str(1, 'f'), ...len(2, struct)]);
  const lb = len(2, [...len(1, len(1, len(1, [...str(2, '10.0.0.1'), ...tag(3, 0), 80]))), ...len(3, metadata)]);
  assertDefers(Uint8Array.from([...str(1, 'c'), ...len(2, lb)]));
});

test('Structs nested beyond MAX_STRUCT_DEPTH, and very deep, are left to the generic path', () => {
  const nested = (depth: number): Json => (depth === 0 ? { leaf: 1 } : { d: nested(depth - 1) });
  const withMetadata = (depth: number): Json => ({
    cluster_name: 'c',
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } }, metadata: { filter_metadata: { f: nested(depth) } } }] }],
  });
  assertSame(encode(withMetadata(MAX_STRUCT_DEPTH - 2)));
  assert.deepEqual(assertDefers(encode(withMetadata(MAX_STRUCT_DEPTH + 1))).errors, []);
  // 20,000 levels, written by hand (no encoder recurses that far): deferred, and refused by the generic path.
  // Each level only prefixes its inner value, so the prefixes are made inside out and joined once.
  const prefixes: number[][] = [];
  const inner = [...tag(3, 2), 1, 0x78];
  let size = inner.length;
  for (let i = 0; i < 20_000; i++) {
    const entry = [...str(1, 'd'), ...tag(2, 2), ...varint(size)];
    const struct = [...tag(1, 2), ...varint(entry.length + size)];
    const value = [...tag(5, 2), ...varint(struct.length + entry.length + size)];
    prefixes.push([...value, ...struct, ...entry]);
    size += value.length + struct.length + entry.length;
  }
  const deep = Buffer.concat([...prefixes.reverse().map((p) => Buffer.from(p)), Buffer.from(inner)]);
  const field = (n: number, ...parts: (readonly number[] | Buffer)[]): Buffer => {
    const body = Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
    return Buffer.concat([Buffer.from([...tag(n, 2), ...varint(body.length)]), body]);
  };
  const struct = field(1, str(1, 'k'), field(2, deep)); // Struct.fields entry k → the deep Value
  const metadata = field(3, field(1, str(1, 'f'), field(2, struct))); // LbEndpoint.metadata.filter_metadata entry f
  const lb = field(2, field(2, len(1, len(1, len(1, [...str(2, '10.0.0.1'), ...tag(3, 0), 80]))), metadata));
  const bytes = Buffer.concat([Buffer.from(str(1, 'c')), lb]);
  assert.equal(decodeLoadAssignmentWire(bytes), undefined);
  const t0 = performance.now();
  const slow = assertDefers(bytes);
  assert.ok(slow.errors.length > 0, 'rejected');
  assert.ok(performance.now() - t0 < 30_000);
});

/** A small deterministic PRNG (mulberry32): failures reproduce. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random valid assignment over every field the decoder reads. */
function randomAssignment(next: () => number, n: number): Json {
  const int = (max: number) => Math.floor(next() * max);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const maybe = (p = 0.5) => next() < p;
  const text = () => pick(['', 'a', 'zone-1', 'üñï', 'with space', 'x'.repeat(40), '0', 'true']);
  const value = (depth: number): unknown => {
    switch (int(depth > 2 ? 4 : 6)) {
      case 0: return null;
      case 1: return pick([0, 1, -1, 0.5, 1e300, -2.5e-10, 42]);
      case 2: return text();
      case 3: return maybe();
      case 4: return struct(depth + 1);
      default: return Array.from({ length: int(4) }, () => value(depth + 1));
    }
  };
  const struct = (depth: number): Json => Object.fromEntries(Array.from({ length: int(4) }, (_, i) => [`${text()}${i}`, value(depth)]));
  const priorities = 1 + int(3);
  let id = 0;
  const host = () => (maybe(0.8) ? `10.${n & 255}.${(id >> 8) & 255}.${id++ & 255}` : `2001:db8::${(id++).toString(16)}`);
  const localities = Array.from({ length: int(5) }, (_, i): Json => {
    const priority = i < priorities ? i : int(priorities);
    return {
      ...(maybe(0.7) ? { locality: Object.fromEntries([['region', text()], ['zone', text()], ['sub_zone', text()]].filter(() => maybe())) } : {}),
      ...(maybe() ? { load_balancing_weight: 1 + int(1000) } : {}),
      ...(priority !== 0 || maybe() ? { priority } : {}),
      lb_endpoints: Array.from({ length: int(6) }, (): Json => ({
        endpoint: {
          address: { socket_address: { ...(maybe(0.2) ? { protocol: 'TCP' } : {}), address: host(), port_value: 1 + int(65535) } },
          ...(maybe(0.2) ? { hostname: text() } : {}),
          ...(maybe(0.2) ? { health_check_config: { ...(maybe() ? { port_value: int(65536) } : {}), ...(maybe() ? { hostname: text() } : {}), ...(maybe() ? { disable_active_health_check: maybe() } : {}) } } : {}),
        },
        ...(maybe() ? { health_status: pick(['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED']) } : {}),
        ...(maybe() ? { load_balancing_weight: 1 + int(100) } : {}),
        ...(maybe(0.4) ? { metadata: maybe(0.9) ? { filter_metadata: Object.fromEntries(Array.from({ length: int(3) }, (_, k) => [`${pick(['istio', 'envoy.lb', 'x'])}${k}`, struct(0)])) } : {} } : {}),
      })),
    };
  });
  // Every priority up to the highest is used.
  const used = new Set(localities.map((l) => (l.priority as number | undefined) ?? 0));
  const highest = Math.max(-1, ...used);
  for (let p = 0; p <= highest; p++) if (!used.has(p)) localities.push({ priority: p });
  return {
    cluster_name: `cluster-${n}`,
    ...(localities.length > 0 ? { endpoints: localities } : {}),
    ...(maybe(0.2) ? { policy: maybe() ? { overprovisioning_factor: 1 + int(500) } : {} } : {}),
  };
}

test('random valid assignments: the wire decoder equals the generic path', () => {
  const next = random(20);
  for (let n = 0; n < 400; n++) {
    const json = randomAssignment(next, n);
    const bytes = encode(json);
    assertSame(bytes);
  }
});

test('mutated bytes (flips, truncations, insertions): the decoder defers or equals the generic path', () => {
  const next = random(7);
  let fastTaken = 0;
  for (let n = 0; n < 1500; n++) {
    const bytes = Uint8Array.from(encode(randomAssignment(next, n)));
    const at = Math.floor(next() * bytes.length);
    let mutated: Uint8Array;
    switch (n % 4) {
      case 0: mutated = bytes.subarray(0, at); break;
      case 1: bytes[at] = Math.floor(next() * 256); mutated = bytes; break;
      case 2: mutated = Uint8Array.from([...bytes.subarray(0, at), Math.floor(next() * 256), ...bytes.subarray(at)]); break;
      default: bytes[at] ^= 1 << Math.floor(next() * 8); mutated = bytes;
    }
    for (const rules of ['envoy', 'grpc'] as const) {
      const fast = decodeLoadAssignmentWire(mutated, rules);
      if (fast === undefined) continue;
      fastTaken++;
      const slow = generic(mutated, rules);
      assert.deepEqual(slow.errors, [], `case ${n}: the generic path accepts what the wire decoder accepted`);
      assert.deepStrictEqual(fast.json, slow.json, `case ${n}`);
      assert.deepStrictEqual(fast.assignment, slow.assignment, `case ${n}`);
    }
  }
  assert.ok(fastTaken > 100, `some mutations stay valid (${fastTaken})`);
});

test('endpoints carrying equal filter_metadata Structs share one frozen object; different ones do not', () => {
  const lb = (n: number, lbMetadata: Json): Json => ({
    endpoint: { address: { socket_address: { address: `10.0.0.${n}`, port_value: 80 } } },
    metadata: { filter_metadata: { 'envoy.lb': lbMetadata, istio: { uid: `pod-${n}` } } },
  });
  const bytes = encode({ cluster_name: 'c', endpoints: [{ lb_endpoints: [lb(1, { version: 'v1' }), lb(2, { version: 'v1' }), lb(3, { version: 'v2' }), lb(4, { version: 'v1', canary: true })] }] });
  assertSame(bytes);
  const [a, b, c, d] = decodeLoadAssignmentWire(bytes)!.assignment.localities[0]!.endpoints.map((e) => e.metadata as Record<string, Json>);
  assert.equal(a!['envoy.lb'], b!['envoy.lb']);
  assert.notEqual(a!['envoy.lb'], c!['envoy.lb']);
  assert.notEqual(a!['envoy.lb'], d!['envoy.lb']);
  assert.deepEqual(c!['envoy.lb'], { version: 'v2' });
  assert.deepEqual([a!['istio'], b!['istio']], [{ uid: 'pod-1' }, { uid: 'pod-2' }]);
  assert.ok(Object.isFrozen(a!['envoy.lb']));
});
