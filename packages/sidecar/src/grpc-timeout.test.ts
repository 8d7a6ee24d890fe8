import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grpcTimeoutMs } from './grpc-timeout.js';

test('grpc-timeout parses every unit and rejects malformed values', () => {
  assert.equal(grpcTimeoutMs('2H'), 7_200_000);
  assert.equal(grpcTimeoutMs('3M'), 180_000);
  assert.equal(grpcTimeoutMs('5S'), 5000);
  assert.equal(grpcTimeoutMs('250m'), 250);
  assert.equal(grpcTimeoutMs('1500u'), 1.5);
  assert.equal(grpcTimeoutMs('2000000n'), 2);
  for (const bad of ['', '5', 'S', '123456789S', '5s ', '-1S']) assert.equal(grpcTimeoutMs(bad), undefined, bad);
  assert.equal(grpcTimeoutMs(undefined), undefined);
  assert.equal(grpcTimeoutMs(['1S']), undefined);
});
