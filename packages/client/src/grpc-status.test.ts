// How a gRPC call's end reads on either transport: grpc-js's unchecked status parse made
// well-formed, and local ends (connect failures, resets, refused streams) told apart for retry_on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { attemptResultOf, wellFormedStatus } from './grpc-status.js';

test('a status grpc-js handed on unchecked becomes one of the 17 codes; a well-formed one is returned as is', () => {
  const metadata = new grpc.Metadata();
  const ok = { code: grpc.status.OK, details: '', metadata };
  assert.equal(wellFormedStatus(ok), ok, 'no copy on a normal end');
  for (const code of [NaN, 999, -1, 17, 1.5]) {
    const status = wellFormedStatus({ code: code as grpc.status, details: '', metadata });
    assert.equal(status.code, grpc.status.UNKNOWN, String(code));
    assert.match(status.details, /invalid grpc-status/);
    assert.equal(status.metadata, metadata);
  }
  assert.equal(wellFormedStatus({ code: 999 as grpc.status, details: 'from the server', metadata }).details, 'from the server');
  // grpc-js ends a call with neither code nor details when it cannot inflate a message (e.g. no grpc-encoding).
  const unreadable = wellFormedStatus({ code: undefined, details: undefined, metadata } as unknown as grpc.StatusObject);
  assert.equal(unreadable.code, grpc.status.INTERNAL);
  assert.equal(typeof unreadable.details, 'string');
});

test('retry_on reads connect failures, refused streams and resets in either transport\'s words, and upstream statuses as statuses', () => {
  const failure = (code: number, details: string) => attemptResultOf(code, details).failure;
  assert.equal(failure(14, 'Failed to connect to 127.0.0.1:1: connect ECONNREFUSED'), 'connect');
  assert.equal(failure(14, 'No connection established. Last error: connect ECONNREFUSED'), 'connect');
  assert.equal(failure(14, 'Stream refused by server'), 'refused');
  assert.equal(failure(14, 'Received RST_STREAM with code 7'), 'refused');
  for (const [code, details] of [
    [13, 'Received RST_STREAM with code 2 (Internal server error)'],
    [13, 'Received RST_STREAM with code 2'],
    [13, 'Received RST_STREAM with code 0 (Call ended without gRPC status)'],
    [14, 'Received RST_STREAM with code 8'],
    [1, 'Call cancelled'],
    [14, 'Connection dropped'],
    [8, 'Bandwidth exhausted or memory limit exceeded'],
    [14, 'Connection error: read ECONNRESET'],
  ] as const) {
    assert.equal(failure(code, details), 'reset', details);
    assert.equal(attemptResultOf(code, details).grpcStatus, undefined, 'a reset carries no grpc-status for the gRPC conditions');
  }
  assert.deepEqual(attemptResultOf(14, 'the server said so'), { httpStatus: 200, grpcStatus: 14, failure: 'none', headers: undefined });
  assert.deepEqual(attemptResultOf(1, 'Cancelled on client'), { httpStatus: 200, grpcStatus: 1, failure: 'none', headers: undefined });
  assert.equal(attemptResultOf(0, ''), attemptResultOf(0, ''), 'OK ends share one result');
});
