import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMeshError } from '@xmesh/core';
import { loadProtoCodecs } from './protobuf.js';
import { jsonCodec } from './json.js';
import { CodecRegistry, normalizeContentType } from './registry.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../test-fixtures');
const protos = loadProtoCodecs('echo.proto', { includeDirs: [fixtures] });

test('protobuf codecs by message name encode and decode real messages', () => {
  const codec = protos.message('xmesh.test.echo.EchoRequest')!;
  assert.equal(codec.contentType, 'application/grpc+proto');
  const bytes = codec.encode({ message: 'hi', payload: Buffer.from([1, 2]), count: 3, sequence: '9007199254740993', priority: 'PRIORITY_HIGH', shard: 4, meta: { labels: { a: 'b' } }, tags: ['x', 'y'] });
  // Field 1 (message, length-delimited) first: tag 0x0a, length 2, "hi".
  assert.deepEqual([...bytes.subarray(0, 4)], [0x0a, 2, 0x68, 0x69]);
  assert.deepEqual(codec.decode(bytes), {
    message: 'hi', payload: Buffer.from([1, 2]), count: 3, sequence: '9007199254740993', priority: 'PRIORITY_HIGH',
    shard: 4, target: 'shard', meta: { labels: { a: 'b' } }, tags: ['x', 'y'],
  });
  assert.deepEqual(codec.decode(new Uint8Array()), { message: '', payload: Buffer.alloc(0), count: 0, sequence: '0', priority: 'PRIORITY_UNSPECIFIED', meta: null, tags: [] });
  assert.equal(protos.message('.xmesh.test.echo.EchoRequest'), codec);
  assert.equal(protos.message('xmesh.test.echo.Nope'), undefined);
  assert.equal(protos.message('xmesh.test.echo.Echo'), undefined, 'a service is not a message');
});

test('protobuf codecs by method path, with streaming flags', () => {
  assert.deepEqual([...protos.methods].sort(), ['/xmesh.test.echo.Echo/Bidi', '/xmesh.test.echo.Echo/Echo', '/xmesh.test.echo.Echo/ServerStream']);
  const echo = protos.method('/xmesh.test.echo.Echo/Echo')!;
  assert.equal(echo.requestType, 'xmesh.test.echo.EchoRequest');
  assert.equal(echo.responseType, 'xmesh.test.echo.EchoReply');
  assert.deepEqual([echo.requestStream, echo.responseStream], [false, false]);
  const bidi = protos.method('/xmesh.test.echo.Echo/Bidi')!;
  assert.deepEqual([bidi.requestStream, bidi.responseStream], [true, true]);
  assert.equal(echo.request, protos.message('xmesh.test.echo.EchoRequest'), 'codecs are shared');
  assert.deepEqual(echo.response.decode(echo.response.encode({ message: 'm', server: 's' })), { message: 'm', payload: Buffer.alloc(0), server: 's' });
  assert.equal(protos.method('/xmesh.test.echo.Echo/Missing'), undefined);
});

test('a malformed protobuf message is an XMESH_PROTOCOL error', () => {
  const codec = protos.message('xmesh.test.echo.EchoRequest')!;
  assert.throws(() => codec.decode(Uint8Array.from([0x0a, 0x05, 0x61])), (e) => isMeshError(e) && e.code === 'XMESH_PROTOCOL' && /invalid xmesh\.test\.echo\.EchoRequest message/.test(e.message));
  assert.throws(() => codec.decode(Uint8Array.from([0x0f])), (e) => isMeshError(e) && e.code === 'XMESH_PROTOCOL');
});

test('a missing proto file is a config error', () => {
  assert.throws(() => loadProtoCodecs('nope.proto', { includeDirs: [fixtures] }), (e) => isMeshError(e) && e.code === 'XMESH_CONFIG_INVALID');
});

test('keepCase and conversion options pass through', () => {
  const raw = loadProtoCodecs(path.join(fixtures, 'echo.proto'), { includeDirs: [fixtures], keepCase: true, conversion: { longs: Number } });
  const codec = raw.message('xmesh.test.echo.EchoRequest')!;
  assert.deepEqual(codec.decode(codec.encode({ sequence: 42, priority: 2 })), { sequence: 42, priority: 2 });
});

test('JSON codec: UTF-8 JSON text; invalid JSON or UTF-8 is XMESH_PROTOCOL', () => {
  const codec = jsonCodec<{ a: number; s: string }>();
  assert.equal(codec.contentType, 'application/grpc+json');
  const bytes = codec.encode({ a: 1, s: 'é' });
  assert.equal(Buffer.from(bytes).toString('utf8'), '{"a":1,"s":"é"}');
  assert.deepEqual(codec.decode(bytes), { a: 1, s: 'é' });
  assert.throws(() => codec.decode(Buffer.from('{"a":')), (e) => isMeshError(e) && e.code === 'XMESH_PROTOCOL');
  assert.throws(() => codec.decode(Uint8Array.from([0x22, 0xff, 0x22])), (e) => isMeshError(e) && e.code === 'XMESH_PROTOCOL');
  assert.throws(() => codec.encode(undefined as never), (e) => isMeshError(e) && e.code === 'XMESH_PROTOCOL');
});

test('registry: content types to codec families, per instance', () => {
  const registry = new CodecRegistry(protos);
  assert.equal(registry.lookup('application/grpc'), protos);
  assert.equal(registry.lookup('application/grpc+proto'), protos);
  assert.equal(registry.lookup('Application/GRPC+Proto; charset=utf-8'), protos);
  const json = registry.lookup('application/grpc+json')!;
  assert.equal(json.message('anything')!.contentType, 'application/grpc+json');
  assert.equal(json.method('/pkg.Svc/Do')!.request.contentType, 'application/grpc+json');
  assert.equal(json.method('not-a-path'), undefined);
  assert.equal(registry.lookup('application/json')!.message('x')!.contentType, 'application/json');
  assert.equal(registry.lookup('application/grpc+cbor'), undefined);
  assert.equal(normalizeContentType(' application/grpc ;x=y'), 'application/grpc');

  const bare = new CodecRegistry();
  assert.equal(bare.lookup('application/grpc'), undefined, 'no protobuf family unless given');
  bare.register('application/grpc', protos);
  assert.equal(bare.lookup('application/grpc'), protos);
  assert.equal(registry.lookup('application/grpc'), protos, 'registries are independent');
  assert.deepEqual([...new CodecRegistry().contentTypes].sort(), ['application/grpc+json', 'application/json']);
});
