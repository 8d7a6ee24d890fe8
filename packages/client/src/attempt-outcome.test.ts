// How gRPC attempt ends are reported to outlier detection: the words grpc-js and the lean transport
// use for ends on this side of the wire are local-origin; statuses an upstream sent are external.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GrpcStatus } from '@xmesh/core';
import { grpcAttemptOutcome, isLocalOriginEnd } from './attempt-outcome.js';

const LOCAL_ENDS: readonly [string, number, string][] = [
  ['lean: connection refused', GrpcStatus.UNAVAILABLE, 'Failed to connect to 127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1'],
  ['lean: connect timeout', GrpcStatus.UNAVAILABLE, 'Failed to connect to 10.0.0.1:80: Connection timed out'],
  ['grpc-js: connection refused', GrpcStatus.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1'],
  ['lean: RST_STREAM', GrpcStatus.INTERNAL, 'Received RST_STREAM with code 2'],
  ['lean: connection lost', GrpcStatus.UNAVAILABLE, 'Connection error: read ECONNRESET'],
  ['lean: truncated message', GrpcStatus.INTERNAL, 'Stream ended in the middle of a message'],
  ['lean: no status', GrpcStatus.UNKNOWN, 'Stream ended without gRPC status'],
  ['grpc-js: RST_STREAM', GrpcStatus.INTERNAL, 'Received RST_STREAM with code 2 (Internal server error)'],
  ['grpc-js: connection dropped', GrpcStatus.UNAVAILABLE, 'Connection dropped'],
  ['grpc-js: refused stream', GrpcStatus.UNAVAILABLE, 'Stream refused by server'],
  ['transport deadline (both)', GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded'],
  ['grpc-js deadline with timing', GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded after 1.002s,LB pick: 0.001s'],
  ['mesh route / per-try timeout', GrpcStatus.DEADLINE_EXCEEDED, 'XMESH_TIMEOUT: upstream request timeout (route timeout 500 ms)'],
];

const UPSTREAM_ENDS: readonly [string, number, string][] = [
  ['UNAVAILABLE from the service', GrpcStatus.UNAVAILABLE, 'backend is shedding load'],
  ['INTERNAL from the service', GrpcStatus.INTERNAL, 'boom'],
  ['DEADLINE_EXCEEDED from the service', GrpcStatus.DEADLINE_EXCEEDED, 'downstream dependency timed out'],
  ['NOT_FOUND', GrpcStatus.NOT_FOUND, 'Deadline exceeded'],
];

test('connect failures, resets and local timeouts are local-origin ends, in both transports\' words', () => {
  for (const [name, code, details] of LOCAL_ENDS) {
    assert.equal(isLocalOriginEnd(code, details), true, name);
    assert.deepEqual(grpcAttemptOutcome(code, details, 7), { kind: 'local_error', httpStatus: 0, grpcStatus: code, latencyMs: 7 }, name);
  }
});

test('statuses the upstream sent are external, with gRPC\'s HTTP 200', () => {
  for (const [name, code, details] of UPSTREAM_ENDS) {
    assert.equal(isLocalOriginEnd(code, details), false, name);
    assert.deepEqual(grpcAttemptOutcome(code, details, 7), { kind: 'upstream_error', httpStatus: 200, grpcStatus: code, latencyMs: 7 }, name);
  }
  assert.deepEqual(grpcAttemptOutcome(GrpcStatus.OK, '', 3), { kind: 'success', httpStatus: 200, grpcStatus: 0, latencyMs: 3 });
});

test('a cancel is neither: CANCELLED stays an upstream status that outlier detection does not count', () => {
  assert.equal(isLocalOriginEnd(GrpcStatus.CANCELLED, 'Received RST_STREAM with code 8'), false);
  assert.equal(grpcAttemptOutcome(GrpcStatus.CANCELLED, 'Cancelled on client', 1).kind, 'upstream_error');
});
