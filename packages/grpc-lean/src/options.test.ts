import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GRPC_CONNECTION_BACKOFF } from '@xmesh/core';
import { encodeGrpcTimeout } from './grpc-timeout.js';
import { resolveLeanOptions } from './options.js';
import { parseGrpcStatus } from './status.js';
import { parseTarget } from './target.js';

test('grpc-timeout uses at most 8 digits and the finest unit that fits', () => {
  assert.equal(encodeGrpcTimeout(150), '150m');
  assert.equal(encodeGrpcTimeout(0.25), '250000n');
  assert.equal(encodeGrpcTimeout(99_999_999), '99999999m');
  assert.equal(encodeGrpcTimeout(100_000_000), '100000S');
  assert.equal(encodeGrpcTimeout(-5), '1n');
  assert.equal(encodeGrpcTimeout(1e13), '2777778H');
  assert.equal(encodeGrpcTimeout(1e15), '99999999H');
});

test('options take grpc-js names and defaults', () => {
  const defaults = resolveLeanOptions();
  assert.equal(defaults.keepaliveTimeMs, Infinity);
  assert.equal(defaults.keepaliveTimeoutMs, 20_000);
  assert.equal(defaults.keepalivePermitWithoutCalls, false);
  assert.equal(defaults.maxReceiveMessageLength, 4 * 1024 * 1024);
  assert.equal(defaults.maxSendMessageLength, Infinity);
  assert.equal(defaults.sendCompression, 'identity');
  assert.deepEqual(defaults.backoff, GRPC_CONNECTION_BACKOFF);
  const set = resolveLeanOptions({
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 500,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_receive_message_length': -1,
    'grpc.default_compression_algorithm': 2,
    'grpc.initial_reconnect_backoff_ms': 50,
    'grpc.max_reconnect_backoff_ms': 400,
  });
  assert.equal(set.keepaliveTimeMs, 10_000);
  assert.equal(set.keepaliveTimeoutMs, 500);
  assert.equal(set.keepalivePermitWithoutCalls, true);
  assert.equal(set.maxReceiveMessageLength, Infinity);
  assert.equal(set.sendCompression, 'gzip');
  assert.equal(set.backoff.initialMs, 50);
  assert.equal(set.backoff.maxMs, 400);
  assert.throws(() => resolveLeanOptions({ 'grpc.default_compression_algorithm': 1 }), /grpc.default_compression_algorithm: 1 is not supported/);
  assert.throws(() => resolveLeanOptions({ 'grpc.keepalive_time_ms': 'soon' }), /grpc.keepalive_time_ms: expected a number, got soon/);
});

test('targets: host:port, [v6]:port and grpc-js scheme prefixes', () => {
  assert.deepEqual(parseTarget('127.0.0.1:50051'), { host: '127.0.0.1', port: 50051 });
  assert.deepEqual(parseTarget('dns:///echo.svc:80'), { host: 'echo.svc', port: 80 });
  assert.deepEqual(parseTarget('ipv6:[::1]:9000'), { host: '::1', port: 9000 });
  assert.throws(() => parseTarget('no-port'), /expected host:port/);
  assert.throws(() => parseTarget('h:70000'), /expected host:port/);
});

test('grpc-status: a decimal 0..16 is the code; anything else, empty included, is UNKNOWN', () => {
  assert.equal(parseGrpcStatus('0'), 0);
  assert.equal(parseGrpcStatus('14'), 14);
  assert.equal(parseGrpcStatus('16'), 16);
  for (const bad of [undefined, '', ' ', '17', '-1', '0x1', '1.0', '014', 'OK']) assert.equal(parseGrpcStatus(bad), 2, String(bad));
});
