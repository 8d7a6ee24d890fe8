/** Well-known types, one by one, in both directions: bytes from protobufjs → proto3 JSON, and back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadEnvoyProtos } from './load.js';
import { decodeResource, encodeResource } from './resource.js';
import { formatDuration, parseDuration } from './wkt.js';

const protos = loadEnvoyProtos();
const url = (name: string) => `type.googleapis.com/google.protobuf.${name}`;

/** Bytes of `google.protobuf.<name>` written by protobufjs from its own object form. */
function bytesOf(name: string, object: Record<string, unknown>): Uint8Array {
  const type = protos.root.lookupType(`google.protobuf.${name}`);
  return type.encode(type.fromObject(object)).finish();
}

function decodeWkt(name: string, object: Record<string, unknown>): unknown {
  return decodeResource(protos, { type_url: url(name), value: bytesOf(name, object) });
}

/** JSON → bytes → JSON, asserting the bytes equal what protobufjs writes for `object`. */
function roundTrip(name: string, json: unknown, object: Record<string, unknown>): void {
  const any = encodeResource(protos, { '@type': url(name), value: json });
  assert.deepEqual(Buffer.from(any.value), Buffer.from(bytesOf(name, object)), `${name} ${JSON.stringify(json)} bytes`);
  assert.deepEqual(decodeResource(protos, any), { '@type': url(name), value: json });
}

test('Duration ↔ "<seconds>[.fraction]s" with 0, 3, 6 or 9 fractional digits', () => {
  assert.deepEqual(decodeWkt('Duration', { seconds: 1, nanos: 500_000_000 }), { '@type': url('Duration'), value: '1.500s' });
  assert.deepEqual(decodeWkt('Duration', {}), { '@type': url('Duration'), value: '0s' });
  assert.equal(formatDuration(3, 1_000), '3.000001s');
  assert.equal(formatDuration(0, 1), '0.000000001s');
  assert.equal(formatDuration(-1, -500_000_000), '-1.500s');
  assert.equal(formatDuration(0, -250_000_000), '-0.250s');
  assert.deepEqual(parseDuration('1.5s'), { seconds: '1', nanos: 500_000_000 });
  assert.deepEqual(parseDuration('-0.25s'), { seconds: '0', nanos: -250_000_000 });
  assert.match(parseDuration('1.5') as string, /must be a duration/);
  assert.match(parseDuration('1.0000000001s') as string, /must be a duration/);
  roundTrip('Duration', '90.025s', { seconds: 90, nanos: 25_000_000 });
});

test('Timestamp ↔ RFC 3339 in UTC', () => {
  assert.deepEqual(decodeWkt('Timestamp', {}), { '@type': url('Timestamp'), value: '1970-01-01T00:00:00Z' });
  roundTrip('Timestamp', '2023-11-14T22:13:20.123Z', { seconds: 1_700_000_000, nanos: 123_000_000 });
  const offset = encodeResource(protos, { '@type': url('Timestamp'), value: '2023-11-14T23:13:20+01:00' });
  assert.deepEqual(decodeResource(protos, offset), { '@type': url('Timestamp'), value: '2023-11-14T22:13:20Z' });
});

test('wrappers ↔ the bare value, defaults included', () => {
  assert.deepEqual(decodeWkt('UInt32Value', {}), { '@type': url('UInt32Value'), value: 0 });
  assert.deepEqual(decodeWkt('BoolValue', {}), { '@type': url('BoolValue'), value: false });
  assert.deepEqual(decodeWkt('StringValue', {}), { '@type': url('StringValue'), value: '' });
  roundTrip('UInt32Value', 4_294_967_295, { value: 4_294_967_295 });
  roundTrip('Int32Value', -7, { value: -7 });
  roundTrip('BoolValue', true, { value: true });
  roundTrip('DoubleValue', 0.5, { value: 0.5 });
  roundTrip('FloatValue', 0.25, { value: 0.25 });
  roundTrip('StringValue', 'héllo', { value: 'héllo' });
  roundTrip('BytesValue', 'AAEC/w==', { value: [0, 1, 2, 255] });
  roundTrip('Int64Value', '-9007199254740993', { value: '-9007199254740993' });
  roundTrip('UInt64Value', '18446744073709551615', { value: '18446744073709551615' });
  assert.deepEqual(decodeWkt('DoubleValue', { value: NaN }), { '@type': url('DoubleValue'), value: 'NaN' });
  assert.deepEqual(decodeWkt('DoubleValue', { value: -Infinity }), { '@type': url('DoubleValue'), value: '-Infinity' });
});

test('Struct, Value and ListValue ↔ plain JSON', () => {
  const json = { s: 'x', n: -1.25, b: false, z: null, l: [1, 'two', [true], { k: {} }], o: { deep: { deeper: [] } } };
  const any = encodeResource(protos, { '@type': url('Struct'), value: json });
  assert.deepEqual(decodeResource(protos, any), { '@type': url('Struct'), value: json });
  assert.deepEqual(decodeResource(protos, encodeResource(protos, { '@type': url('Value'), value: null })), { '@type': url('Value'), value: null });
  assert.deepEqual(decodeResource(protos, encodeResource(protos, { '@type': url('ListValue'), value: [1, null] })), { '@type': url('ListValue'), value: [1, null] });
});

test('Empty ↔ {}', () => {
  roundTrip('Empty', {}, {});
});

test('nested Any: a well-known type sits under "value"; a message spreads its fields', () => {
  const cluster = {
    '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
    name: 'c',
    typed_extension_protocol_options: {
      duration: { '@type': url('Duration'), value: '2s' },
      nested: { '@type': url('Any'), value: { '@type': url('BoolValue'), value: true } },
    },
  };
  assert.deepEqual(decodeResource(protos, encodeResource(protos, cluster)), cluster);
});

test('enums by name, unknown enum numbers as numbers; 64-bit integers as decimal strings; bytes as base64', () => {
  const Cluster = protos.root.lookupType('envoy.config.cluster.v3.Cluster');
  const bytes = Cluster.encode(Cluster.fromObject({ name: 'e', lb_policy: 42, dns_lookup_family: 'V6_ONLY' })).finish();
  assert.deepEqual(decodeResource(protos, { type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', value: bytes }), {
    '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
    name: 'e',
    lb_policy: 42,
    dns_lookup_family: 'V6_ONLY',
  });
  const route = {
    '@type': 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
    name: 'r',
    virtual_hosts: [{
      name: 'v',
      domains: ['*'],
      routes: [{
        match: { prefix: '', headers: [{ name: 'n', range_match: { start: '-5', end: '9223372036854775807' } }] },
        direct_response: { status: 200, body: { inline_bytes: 'AP8=' } },
      }],
    }],
  };
  // A oneof member set to its default (prefix "") is kept: it says which member is set.
  assert.deepEqual(decodeResource(protos, encodeResource(protos, route)), route);
  // Numbers are accepted for 64-bit fields and come back as strings.
  const fromNumbers = structuredClone(route);
  fromNumbers.virtual_hosts[0]!.routes[0]!.match.headers[0]!.range_match = { start: -5 as never, end: '9223372036854775807' };
  assert.deepEqual(decodeResource(protos, encodeResource(protos, fromNumbers)), route);
});
