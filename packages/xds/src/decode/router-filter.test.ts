import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Issues, Reader } from './reader.js';
import { decodeRouterConfig } from './router-filter.js';
import { decodeRouteConfig } from './route.js';

function run<T>(decode: (r: Reader) => T, input: unknown): { value: T; issues: Issues } {
  const issues = new Issues();
  return { value: decode(Reader.of(input, 'x', issues)!), issues };
}

test('router settings: absent when all are defaults; decoded otherwise', () => {
  assert.equal(run(decodeRouterConfig, {}).value, undefined);
  const { value, issues } = run(decodeRouterConfig, { suppress_envoy_headers: true, strict_check_headers: ['x-envoy-max-retries'], respect_expected_rq_timeout: true });
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(value, { suppressEnvoyHeaders: true, respectExpectedRqTimeout: true, strictCheckHeaders: ['x-envoy-max-retries'] });
});

test('strict_check_headers names only the headers the router parses (the proto\'s rule), each refused with its path', () => {
  const { issues } = run(decodeRouterConfig, { strict_check_headers: ['x-envoy-retry-on', 'x-envoy-expected-rq-timeout-ms', 7] });
  assert.deepEqual(issues.errors.map((e) => e.path), ['x.strict_check_headers[1]', 'x.strict_check_headers[2]']);
  assert.match(issues.errors[0]!.message, /must be one of x-envoy-upstream-rq-timeout-ms/);
});

test('internal_only_headers are lower-cased header names; anything else is refused with its path', () => {
  const good = run((r) => decodeRouteConfig(r), { name: 'rc', virtual_hosts: [], internal_only_headers: ['X-Secret', 'x-other'] });
  assert.deepEqual(good.issues.errors, []);
  assert.deepEqual(good.value.internalOnlyHeaders, ['x-secret', 'x-other']);
  const bad = run((r) => decodeRouteConfig(r), { name: 'rc', virtual_hosts: [], internal_only_headers: ['ok', 'not a header'] });
  assert.deepEqual(bad.issues.errors.map((e) => e.path), ['x.internal_only_headers[1]']);
});

test('virtual host attempt-count settings are decoded, absent when off', () => {
  const vhost = { name: 'v', domains: ['*'], routes: [], include_request_attempt_count: true, include_attempt_count_in_response: true, include_is_timeout_retry_header: true };
  const { value, issues } = run((r) => decodeRouteConfig(r), { name: 'rc', virtual_hosts: [vhost] });
  assert.deepEqual(issues.errors, []);
  const decoded = value.virtualHosts[0]!;
  assert.deepEqual([decoded.attemptCountInRequest, decoded.attemptCountInResponse, decoded.timeoutRetryHeader], [true, true, true]);
  const plain = run((r) => decodeRouteConfig(r), { name: 'rc', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [] }] }).value.virtualHosts[0]!;
  assert.equal('attemptCountInRequest' in plain, false);
});
