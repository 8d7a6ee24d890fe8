import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionBackoff, GRPC_CONNECTION_BACKOFF } from './connection-backoff.js';

test('connection backoff follows gRPC: 1 s, x1.6, capped at 120 s, jitter +-20 %', () => {
  const middle = new ConnectionBackoff(GRPC_CONNECTION_BACKOFF, () => 0.5);
  const delays = Array.from({ length: 14 }, () => middle.nextDelayMs());
  assert.deepEqual(delays.slice(0, 4).map(Math.round), [1000, 1600, 2560, 4096]);
  assert.equal(delays[13], 120_000);
  const low = new ConnectionBackoff(GRPC_CONNECTION_BACKOFF, () => 0);
  const high = new ConnectionBackoff(GRPC_CONNECTION_BACKOFF, () => 0.999999);
  assert.equal(low.nextDelayMs(), 800);
  assert.ok(Math.abs(high.nextDelayMs() - 1200) < 0.01);
  middle.reset();
  assert.equal(middle.nextDelayMs(), 1000);
});

test('a connect attempt gets at least 20 s, or the current backoff when longer', () => {
  const backoff = new ConnectionBackoff(GRPC_CONNECTION_BACKOFF, () => 0.5);
  assert.equal(backoff.connectTimeoutMs(), 20_000);
  for (let i = 0; i < 10; i++) backoff.nextDelayMs();
  assert.ok(Math.abs(backoff.connectTimeoutMs() - 1000 * 1.6 ** 10) < 1e-6);
});
