import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshError } from '@xmesh/core';
import { encodeFrame, FrameDecoder, DEFAULT_MAX_MESSAGE_SIZE } from './framing.js';

interface Collected {
  messages: { payload: Buffer; compressed: boolean }[];
  errors: MeshError[];
  decoder: FrameDecoder;
}

function collector(maxMessageSize?: number): Collected {
  const c: Collected = { messages: [], errors: [], decoder: undefined as unknown as FrameDecoder };
  c.decoder = new FrameDecoder(
    (payload, compressed) => c.messages.push({ payload: Buffer.from(payload), compressed }),
    (error) => c.errors.push(error),
    maxMessageSize === undefined ? {} : { maxMessageSize },
  );
  return c;
}

test('encodeFrame writes the flag, the big-endian length, then the payload', () => {
  assert.deepEqual([...encodeFrame(Buffer.from('hi'))], [0, 0, 0, 0, 2, 104, 105]);
  assert.deepEqual([...encodeFrame(new Uint8Array(0), true)], [1, 0, 0, 0, 0]);
  assert.equal(encodeFrame(Buffer.alloc(300)).readUInt32BE(1), 300);
});

const payloads = [Buffer.from('first'), Buffer.alloc(0), Buffer.from('a longer third message payload'), Buffer.from([0, 1, 2, 255])];
const stream = Buffer.concat(payloads.map((p, i) => encodeFrame(p, i === 2)));

test('decodes every message whatever the split point (one and two splits)', () => {
  for (let i = 0; i <= stream.length; i++) {
    for (let j = i; j <= stream.length; j++) {
      const c = collector();
      c.decoder.push(stream.subarray(0, i));
      c.decoder.push(stream.subarray(i, j));
      c.decoder.push(stream.subarray(j));
      c.decoder.end();
      assert.deepEqual(c.errors, [], `split at ${i},${j}`);
      assert.deepEqual(c.messages.map((m) => m.payload.toString('hex')), payloads.map((p) => p.toString('hex')), `split at ${i},${j}`);
      assert.deepEqual(c.messages.map((m) => m.compressed), [false, false, true, false]);
    }
  }
});

test('byte-at-a-time input decodes the same', () => {
  const c = collector();
  for (const byte of stream) c.decoder.push(Uint8Array.of(byte));
  c.decoder.end();
  assert.equal(c.messages.length, payloads.length);
  assert.deepEqual(c.errors, []);
});

test('a chunk holding one whole frame yields a view into it: no copy', () => {
  const frame = encodeFrame(Buffer.from('zero-copy'));
  let seen: Buffer | undefined;
  const decoder = new FrameDecoder((payload) => { seen = payload; }, assert.fail);
  decoder.push(frame);
  assert.equal(seen!.buffer, frame.buffer);
  assert.equal(seen!.byteOffset, frame.byteOffset + 5);
  assert.equal(seen!.toString(), 'zero-copy');
});

test('an oversized message is rejected from its header, before its payload is buffered', () => {
  const c = collector(1024);
  const header = Buffer.from([0, 0, 0, 4, 1]); // 1025 bytes announced
  c.decoder.push(header.subarray(0, 3));
  assert.equal(c.errors.length, 0);
  c.decoder.push(header.subarray(3));
  assert.equal(c.errors.length, 1);
  assert.equal(c.errors[0]!.code, 'XMESH_MESSAGE_TOO_LARGE');
  assert.equal(c.errors[0]!.grpcStatus, 8); // RESOURCE_EXHAUSTED
  assert.match(c.errors[0]!.message, /1025 bytes exceeds the maximum of 1024/);
  assert.equal(c.decoder.idle, true, 'nothing buffered');
  c.decoder.push(Buffer.alloc(2048)); // ignored once failed
  c.decoder.end();
  assert.equal(c.errors.length, 1);
  assert.equal(c.messages.length, 0);
});

test('the default maximum is 4 MiB; exactly the maximum is accepted', () => {
  assert.equal(DEFAULT_MAX_MESSAGE_SIZE, 4 * 1024 * 1024);
  const c = collector(16);
  c.decoder.push(encodeFrame(Buffer.alloc(16, 7)));
  assert.equal(c.messages.length, 1);
  const big = collector();
  big.decoder.push(Buffer.from([0, 0, 0x40, 0, 1]));
  assert.equal(big.errors[0]?.code, 'XMESH_MESSAGE_TOO_LARGE');
});

test('a compressed flag other than 0 or 1 is a protocol error', () => {
  const c = collector();
  c.decoder.push(encodeFrame(Buffer.from('ok')));
  c.decoder.push(Buffer.from([2, 0, 0, 0, 1, 9]));
  assert.equal(c.messages.length, 1);
  assert.equal(c.errors.length, 1);
  assert.equal(c.errors[0]!.code, 'XMESH_PROTOCOL');
  assert.equal(c.errors[0]!.grpcStatus, 13); // INTERNAL
  assert.match(c.errors[0]!.message, /compressed flag 2/);
});

test('a truncated frame at end() is a protocol error, in the header or in the payload', () => {
  const inHeader = collector();
  inHeader.decoder.push(Buffer.from([0, 0, 0]));
  inHeader.decoder.end();
  assert.equal(inHeader.errors[0]?.code, 'XMESH_PROTOCOL');
  assert.match(inHeader.errors[0]!.message, /3 of 5 header bytes/);

  const inPayload = collector();
  inPayload.decoder.push(encodeFrame(Buffer.from('hello')).subarray(0, 8));
  inPayload.decoder.end();
  assert.match(inPayload.errors[0]!.message, /3 of 5 payload bytes/);

  const clean = collector();
  clean.decoder.push(encodeFrame(Buffer.from('x')));
  clean.decoder.end();
  assert.deepEqual(clean.errors, []);
});
