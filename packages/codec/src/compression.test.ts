import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { isMeshError } from '@xmesh/core';
import { compressionFor, gzipCompression, identity } from './compression.js';

const text = Buffer.from('hello gRPC '.repeat(200));

test('gzip compresses and decompresses, sync and async, interoperating with node:zlib', async () => {
  const packed = gzipCompression.compressSync(text);
  assert.ok(packed.length < text.length / 10);
  assert.deepEqual(Buffer.from(gzipCompression.decompressSync(packed)), text);
  assert.deepEqual(Buffer.from(await gzipCompression.decompress(await gzipCompression.compress(text))), text);
  assert.deepEqual(Buffer.from(gzipCompression.decompressSync(gzipSync(text))), text);
});

test('a gzip bomb is stopped at the maximum message size, sync and async', async () => {
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024)); // 64 MiB of zeros in ~64 KiB
  assert.ok(bomb.length < 100 * 1024);
  assert.throws(() => gzipCompression.decompressSync(bomb), (e) => isMeshError(e) && e.code === 'XMESH_MESSAGE_TOO_LARGE');
  await assert.rejects(gzipCompression.decompress(bomb, 1024), (e) => isMeshError(e) && e.code === 'XMESH_MESSAGE_TOO_LARGE' && /maximum of 1024/.test(e.message));
  assert.equal(gzipCompression.decompressSync(gzipSync(Buffer.alloc(1024)), 1024).length, 1024);
});

test('corrupt gzip is a protocol error', async () => {
  assert.throws(() => gzipCompression.decompressSync(Buffer.from('not gzip at all')), (e) => isMeshError(e) && e.code === 'XMESH_PROTOCOL');
  await assert.rejects(gzipCompression.decompress(Buffer.from([0x1f, 0x8b, 8, 0, 1])), (e) => isMeshError(e) && e.code === 'XMESH_PROTOCOL');
});

test('identity passes bytes through, still bounded', async () => {
  assert.equal(identity.compressSync(text), text);
  assert.equal(await identity.decompress(text), text);
  assert.throws(() => identity.decompressSync(text, 10), (e) => isMeshError(e) && e.code === 'XMESH_MESSAGE_TOO_LARGE');
});

test('compressions are found by their grpc-encoding names', () => {
  assert.equal(compressionFor('gzip'), gzipCompression);
  assert.equal(compressionFor(' GZIP '), gzipCompression);
  assert.equal(compressionFor('identity'), identity);
  assert.equal(compressionFor(undefined), identity);
  assert.equal(compressionFor('deflate'), undefined);
  assert.equal(compressionFor('snappy'), undefined);
});
