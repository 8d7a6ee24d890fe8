import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshError } from '@xmesh/core';
import { BoltDecoder, encodeBoltRequest, encodeBoltResponse, setBoltTimeout, withBoltId, type BoltFrame } from './frame.js';
import { encodeBoltHeaders } from './headers.js';
import { boltStatusOfError, httpStatusOfBolt } from './status.js';
import { BoltStatus } from './constants.js';
import { MeshError as Err } from '@xmesh/core';

function decodeAll(bytes: Buffer, maxFrameSize?: number): { frames: BoltFrame[]; errors: MeshError[] } {
  const frames: BoltFrame[] = [];
  const errors: MeshError[] = [];
  const decoder = new BoltDecoder((f) => frames.push(f), (e) => errors.push(e), maxFrameSize === undefined ? {} : { maxFrameSize });
  decoder.push(bytes);
  decoder.end();
  return { frames, errors };
}

const request = encodeBoltRequest({ id: 7, codec: 1, timeout: 3000, className: 'com.alipay.sofa.rpc.core.request.SofaRequest', header: encodeBoltHeaders({ service: 'a.B:1.0' }), content: Buffer.from('body') });

test('the fixed part is read as SOFA writes it: offsets of id, codec, timeout and the three lengths', () => {
  assert.equal(request[0], 1);
  assert.equal(request[1], 1);
  assert.equal(request.readUInt16BE(2), 1);
  assert.equal(request.readUInt32BE(5), 7);
  assert.equal(request[9], 1);
  assert.equal(request.readInt32BE(10), 3000);
  assert.equal(request.readUInt16BE(14), 44);
  const { frames } = decodeAll(request);
  assert.equal(frames[0]!.kind, 'request');
  assert.equal(frames[0]!.content.toString(), 'body');
});

test('forwarding helpers change the id and timeout of a copy, and leave the original and the content alone', () => {
  const copy = withBoltId(request, 99);
  setBoltTimeout(copy, 1234.2);
  const [frame] = decodeAll(copy).frames;
  assert.equal(frame!.id, 99);
  assert.equal(frame!.timeout, 1235);
  assert.equal(frame!.content.toString(), 'body');
  assert.equal(decodeAll(request).frames[0]!.id, 7);
});

test('bad starts are XMESH_PROTOCOL: Bolt v2, another protocol, an unknown type, a cmdcode of the wrong direction, negative lengths', () => {
  const cases: [string, Buffer, RegExp][] = [
    ['v2', Buffer.from([2, 1, 0, 1, 1, 0, 0, 0, 1]), /Bolt v2/],
    ['http', Buffer.from('GET / HTTP/1.1\r\n\r\n'), /not a Bolt frame/],
    ['type', Buffer.from([1, 9, 0, 1]), /type 9/],
    ['cmdcode', (() => { const b = Buffer.from(request); b.writeUInt16BE(2, 2); return b; })(), /cmdcode 2 in a request/],
    ['negative', (() => { const b = Buffer.from(request); b.writeInt32BE(-5, 18); return b; })(), /negative length/],
  ];
  for (const [name, bytes, message] of cases) {
    const { frames, errors } = decodeAll(bytes);
    assert.equal(frames.length, 0, name);
    assert.equal(errors.length, 1, name);
    assert.equal(errors[0]!.code, 'XMESH_PROTOCOL', name);
    assert.match(errors[0]!.message, message, name);
  }
});

test('a frame over the limit fails from its fixed part alone (nothing of its body is buffered)', () => {
  const fixed = Buffer.alloc(22);
  fixed[0] = 1;
  fixed[1] = 1;
  fixed.writeUInt16BE(1, 2);
  fixed.writeInt32BE(0x7fffffff, 18);
  const { errors } = decodeAll(fixed);
  assert.equal(errors[0]!.code, 'XMESH_MESSAGE_TOO_LARGE');
  assert.equal(decodeAll(request, 30).errors[0]!.code, 'XMESH_MESSAGE_TOO_LARGE');
});

test('input ending inside a frame is XMESH_PROTOCOL; after an error the decoder ignores input', () => {
  const { errors } = decodeAll(request.subarray(0, request.length - 1));
  assert.match(errors[0]!.message, /ended inside a Bolt frame/);
  const frames: BoltFrame[] = [];
  const seen: MeshError[] = [];
  const decoder = new BoltDecoder((f) => frames.push(f), (e) => seen.push(e));
  decoder.push(Buffer.from([9]));
  decoder.push(request);
  assert.equal(frames.length, 0);
  assert.equal(seen.length, 1);
});

test('status mapping: Bolt statuses read as HTTP classes, mesh errors answered as Bolt statuses', () => {
  assert.equal(httpStatusOfBolt(BoltStatus.SUCCESS), 200);
  assert.equal(httpStatusOfBolt(BoltStatus.SERVER_EXCEPTION), 500);
  assert.equal(httpStatusOfBolt(BoltStatus.SERVER_THREADPOOL_BUSY), 503);
  assert.equal(httpStatusOfBolt(BoltStatus.TIMEOUT), 504);
  assert.equal(httpStatusOfBolt(0x7777), 500);
  assert.equal(boltStatusOfError(new Err('XMESH_TIMEOUT', 'x')), BoltStatus.TIMEOUT);
  assert.equal(boltStatusOfError(new Err('XMESH_NO_HEALTHY_UPSTREAM', 'x')), BoltStatus.CONNECTION_CLOSED);
  assert.equal(boltStatusOfError(new Err('XMESH_RATE_LIMITED', 'x')), BoltStatus.SERVER_THREADPOOL_BUSY);
  assert.equal(boltStatusOfError(new Err('XMESH_NO_ROUTE', 'x')), BoltStatus.NO_PROCESSOR);
  const response = encodeBoltResponse({ id: 1, codec: 1, status: BoltStatus.TIMEOUT, className: '', header: Buffer.alloc(0), content: Buffer.alloc(0) });
  assert.equal(decodeAll(response).frames[0]!.status, BoltStatus.TIMEOUT);
});
