import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError } from '@xmesh/core';
import { grpcLocalReply, httpLocalReply } from './local-reply.js';

test('a gRPC local reply is trailers-only: HTTP 200, grpc-status, percent-encoded message, the xmesh code', () => {
  const headers = grpcLocalReply(new MeshError('XMESH_NO_HEALTHY_UPSTREAM', 'no endpoint of "a b"'));
  assert.deepEqual(headers, {
    ':status': 200,
    'content-type': 'application/grpc',
    'grpc-status': '14',
    'grpc-message': 'XMESH_NO_HEALTHY_UPSTREAM: no endpoint of "a b"',
    'x-xmesh-error-code': 'XMESH_NO_HEALTHY_UPSTREAM',
  });
  assert.equal(grpcLocalReply(new MeshError('XMESH_NO_ROUTE', 'x'))['grpc-status'], '12');
  // The gRPC spec's percent-encoding: only bytes outside printable ASCII, and "%" itself (grpc-js decodes nothing else).
  assert.equal(grpcLocalReply(new MeshError('XMESH_NO_ROUTE', '100% café\n'))['grpc-message'], 'XMESH_NO_ROUTE: 100%25 caf%C3%A9%0A');
});

test('an HTTP local reply has the error status and Envoy\'s short body', () => {
  const reply = httpLocalReply(new MeshError('XMESH_NO_HEALTHY_UPSTREAM', 'whatever'));
  assert.equal(reply.headers[':status'], 503);
  assert.equal(reply.body, 'no healthy upstream\n');
  assert.equal(reply.headers['content-length'], 20);
  const limited = httpLocalReply(new MeshError('XMESH_RATE_LIMITED', 'x'));
  assert.equal(limited.headers[':status'], 429);
  assert.equal(limited.body, 'local_rate_limited\n');
  assert.equal(httpLocalReply(new MeshError('XMESH_PROTOCOL', 'bad frame')).body, 'XMESH_PROTOCOL: bad frame\n');
  const protocol = httpLocalReply(new MeshError('XMESH_UPSTREAM_PROTOCOL', 'invalid HTTP status (0)'));
  assert.equal(protocol.headers[':status'], 502);
  assert.equal(protocol.body, 'upstream connect error or disconnect/reset before headers. reset reason: protocol error\n');
  assert.equal(httpLocalReply(new MeshError('XMESH_FAULT_ABORT', 'x', { httpStatus: 418 })).body, 'fault filter abort\n');
  assert.equal(httpLocalReply(new MeshError('XMESH_FAULT_ABORT', 'x', { httpStatus: 418 })).headers[':status'], 418);
});
