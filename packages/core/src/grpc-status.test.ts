import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GrpcStatus } from './errors.js';
import { isGrpcStatus, parseGrpcStatus } from './grpc-status.js';

test('grpc-status: a decimal 0..16 is the code; anything else, empty and absent included, is UNKNOWN', () => {
  assert.equal(parseGrpcStatus('0'), GrpcStatus.OK);
  assert.equal(parseGrpcStatus('14'), GrpcStatus.UNAVAILABLE);
  assert.equal(parseGrpcStatus('16'), GrpcStatus.UNAUTHENTICATED);
  assert.equal(parseGrpcStatus('05'), GrpcStatus.NOT_FOUND);
  assert.equal(parseGrpcStatus(['13', '0']), GrpcStatus.INTERNAL, 'a repeated header: the first value');
  for (const bad of [undefined, '', ' ', ' 0', '0 ', 'abc', '999', '17', '-1', '+1', '0x1', '1.0', '1e1', '014', 'OK', 'NaN', 'Infinity']) {
    assert.equal(parseGrpcStatus(bad), GrpcStatus.UNKNOWN, JSON.stringify(bad));
  }
  assert.equal(parseGrpcStatus([]), GrpcStatus.UNKNOWN);
});

test('isGrpcStatus accepts the 17 codes only (what grpc-js hands on unchecked is not one)', () => {
  for (let code = 0; code <= 16; code++) assert.equal(isGrpcStatus(code), true);
  for (const bad of [-1, 17, 999, NaN, 1.5, Infinity, undefined, null, '0']) assert.equal(isGrpcStatus(bad), false, String(bad));
});
