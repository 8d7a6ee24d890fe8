import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Issues, Reader } from './reader.js';
import { decodeLocalRateLimit } from './local-ratelimit.js';
import { decodeFault } from './fault.js';

function run<T>(decode: (r: Reader) => T, input: unknown): { value: T; issues: Issues } {
  const issues = new Issues();
  return { value: decode(Reader.of(input, 'x', issues)!), issues };
}
const filterRl = (r: Reader) => decodeLocalRateLimit(r, { perRoute: false });

function assertOneError<T>(decode: (r: Reader) => T, input: unknown, path: string, fragment: string): void {
  const { errors } = run(decode, input).issues;
  assert.equal(errors.length, 1, `expected one error, got ${JSON.stringify(errors)}`);
  assert.equal(errors[0]!.path, path);
  assert.ok(errors[0]!.message.includes(fragment), errors[0]!.message);
}

const BUCKET = { max_tokens: 5, fill_interval: '1s' };

test('local_ratelimit defaults: 429, tokens_per_fill 1, enabled/enforced 0 %, always consume default bucket', () => {
  const { value, issues } = run(filterRl, { stat_prefix: 'rl', token_bucket: BUCKET });
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(value, {
    statPrefix: 'rl',
    status: 429,
    tokenBucket: { maxTokens: 5, tokensPerFill: 1, fillIntervalMs: 1000 },
    filterEnabled: { numerator: 0, denominator: 100 },
    filterEnforced: { numerator: 0, denominator: 100 },
    descriptors: [],
    stage: 0,
    requestHeadersToAddWhenNotEnforced: [],
    responseHeadersToAdd: [],
    enableXRatelimitHeaders: false,
    alwaysConsumeDefaultTokenBucket: true,
    localRateLimitPerDownstreamConnection: false,
    rateLimitedAsResourceExhausted: false,
  });
});

test('a fully specified local_ratelimit decodes to the exact model', () => {
  const { value, issues } = run(filterRl, {
    stat_prefix: 'rl',
    status: { code: 'ServiceUnavailable' },
    token_bucket: { max_tokens: 100, tokens_per_fill: { value: 10 }, fill_interval: { nanos: 50_000_000 } },
    filter_enabled: { default_value: { numerator: 100 }, runtime_key: 'rl_enabled' },
    filter_enforced: { default_value: { numerator: 5000, denominator: 'TEN_THOUSAND' } },
    descriptors: [{ entries: [{ key: 'client', value: 'a' }, { key: 'path', value: '/x' }], token_bucket: { max_tokens: 1, fill_interval: '60s' } }],
    stage: 3,
    request_headers_to_add_when_not_enforced: [{ header: { key: 'X-Shadow', value: '1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
    response_headers_to_add: [{ header: { key: 'x-rl', value: 'yes' } }, { header: { key: 'x-b', value: '2' }, append: false }],
    enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
    always_consume_default_token_bucket: false,
    local_rate_limit_per_downstream_connection: true,
    rate_limited_as_resource_exhausted: true,
    vh_rate_limits: 'OVERRIDE',
  });
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(value, {
    statPrefix: 'rl',
    status: 503,
    tokenBucket: { maxTokens: 100, tokensPerFill: 10, fillIntervalMs: 50 },
    filterEnabled: { numerator: 100, denominator: 100 },
    filterEnforced: { numerator: 5000, denominator: 10_000 },
    descriptors: [{ entries: [{ key: 'client', value: 'a' }, { key: 'path', value: '/x' }], tokenBucket: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 } }],
    stage: 3,
    requestHeadersToAddWhenNotEnforced: [{ key: 'x-shadow', value: '1', append: false }],
    responseHeadersToAdd: [{ key: 'x-rl', value: 'yes', append: true }, { key: 'x-b', value: '2', append: false }],
    enableXRatelimitHeaders: true,
    alwaysConsumeDefaultTokenBucket: false,
    localRateLimitPerDownstreamConnection: true,
    rateLimitedAsResourceExhausted: true,
  });
  assert.deepEqual(issues.ignored, ['x.filter_enabled.runtime_key', 'x.vh_rate_limits']);
});

test('status codes below 400 become 429 (not an error); numbers and enum numbers are accepted', () => {
  for (const [code, expected] of [[302, 429], [200, 429], [503, 503], ['TooManyRequests', 429], [400, 400]] as const) {
    const { value, issues } = run(filterRl, { stat_prefix: 'rl', status: { code } });
    assert.deepEqual(issues.errors, []);
    assert.equal(value.status, expected, `code ${code}`);
  }
});

test('camelCase keys and protobuf shapes are accepted', () => {
  const { value, issues } = run(filterRl, {
    statPrefix: 'rl',
    tokenBucket: { maxTokens: 2, tokensPerFill: { value: 2 }, fillInterval: { seconds: '2' } },
    filterEnabled: { defaultValue: { numerator: 1, denominator: 2 } },
    enableXRatelimitHeaders: 1,
    alwaysConsumeDefaultTokenBucket: { value: false },
  });
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(value.tokenBucket, { maxTokens: 2, tokensPerFill: 2, fillIntervalMs: 2000 });
  assert.deepEqual(value.filterEnabled, { numerator: 1, denominator: 1_000_000 });
  assert.equal(value.enableXRatelimitHeaders, true);
  assert.equal(value.alwaysConsumeDefaultTokenBucket, false);
});

const INVALID_RL: { name: string; input: unknown; path: string; fragment: string }[] = [
  { name: 'vh_rate_limits INCLUDE (would change the descriptors)', input: { stat_prefix: 'rl', vh_rate_limits: 'INCLUDE' }, path: 'x.vh_rate_limits', fragment: 'OVERRIDE' },
  { name: 'fill_interval 10ms', input: { stat_prefix: 'rl', token_bucket: { max_tokens: 1, fill_interval: '0.01s' } }, path: 'x.token_bucket.fill_interval', fragment: 'at least 50ms, got 10ms' },
  { name: 'max_tokens 0', input: { stat_prefix: 'rl', token_bucket: { max_tokens: 0, fill_interval: '1s' } }, path: 'x.token_bucket.max_tokens', fragment: 'in [1, ' },
  { name: 'no fill_interval', input: { stat_prefix: 'rl', token_bucket: { max_tokens: 1 } }, path: 'x.token_bucket.fill_interval', fragment: 'is required' },
  { name: 'no stat_prefix', input: { token_bucket: BUCKET }, path: 'x.stat_prefix', fragment: 'is required' },
  { name: 'descriptor without entries', input: { stat_prefix: 'rl', descriptors: [{ entries: [], token_bucket: BUCKET }] }, path: 'x.descriptors[0].entries', fragment: 'at least one entry' },
  { name: 'descriptor without token_bucket', input: { stat_prefix: 'rl', descriptors: [{ entries: [{ key: 'k', value: 'v' }] }] }, path: 'x.descriptors[0].token_bucket', fragment: 'is required' },
  { name: 'stage 11', input: { stat_prefix: 'rl', stage: 11 }, path: 'x.stage', fragment: 'in [0, 10]' },
  { name: 'append with append_action', input: { stat_prefix: 'rl', response_headers_to_add: [{ header: { key: 'a', value: 'b' }, append: true, append_action: 'APPEND_IF_EXISTS_OR_ADD' }] }, path: 'x.response_headers_to_add[0].append_action', fragment: 'cannot be set together' },
  { name: 'unsupported append_action', input: { stat_prefix: 'rl', response_headers_to_add: [{ header: { key: 'a', value: 'b' }, append_action: 'ADD_IF_ABSENT' }] }, path: 'x.response_headers_to_add[0].append_action', fragment: 'ADD_IF_ABSENT is not supported' },
  { name: 'filter_enabled without default_value', input: { stat_prefix: 'rl', filter_enabled: { runtime_key: 'k' } }, path: 'x.filter_enabled.default_value', fragment: 'is required' },
  { name: 'local_cluster_rate_limit', input: { stat_prefix: 'rl', local_cluster_rate_limit: {} }, path: 'x.local_cluster_rate_limit', fragment: 'unknown or unsupported field' },
];
for (const { name, input, path, fragment } of INVALID_RL) {
  test(`invalid local_ratelimit: ${name}`, () => assertOneError(filterRl, input, path, fragment));
}

test('fault defaults: percentage 0 % over HUNDRED, max_active_faults unlimited', () => {
  const { value, issues } = run(decodeFault, { delay: { fixed_delay: '0.2s' }, abort: { grpc_status: 14 } });
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(value, {
    delay: { kind: 'fixed', delayMs: 200, percentage: { numerator: 0, denominator: 100 } },
    abort: { kind: 'grpc', grpcStatus: 14, percentage: { numerator: 0, denominator: 100 } },
    upstreamCluster: undefined,
    headers: [],
    downstreamNodes: [],
    maxActiveFaults: undefined,
  });
});

test('a fully specified fault decodes to the exact model', () => {
  const { value, issues } = run(decodeFault, {
    delay: { header_delay: {}, percentage: { numerator: 10, denominator: 'MILLION' } },
    abort: { http_status: 503, percentage: { numerator: 50, denominator: 1 } },
    upstream_cluster: 'orders',
    headers: [{ name: 'X-Fault', present_match: true }],
    downstream_nodes: ['a', 'b'],
    max_active_faults: { value: 7 },
    abort_percent_runtime: 'k',
  });
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(value, {
    delay: { kind: 'header', percentage: { numerator: 10, denominator: 1_000_000 } },
    abort: { kind: 'http', httpStatus: 503, percentage: { numerator: 50, denominator: 10_000 } },
    upstreamCluster: 'orders',
    headers: [{ name: 'x-fault', match: { kind: 'present', present: true }, invertMatch: false, treatMissingHeaderAsEmpty: false }],
    downstreamNodes: ['a', 'b'],
    maxActiveFaults: 7,
  });
  assert.deepEqual(issues.ignored, ['x.abort_percent_runtime']);
  const header = run(decodeFault, { abort: { header_abort: {} } });
  assert.deepEqual(header.value.abort, { kind: 'header', percentage: { numerator: 0, denominator: 100 } });
});

const INVALID_FAULT: { name: string; input: unknown; path: string; fragment: string }[] = [
  { name: 'response_rate_limit (the fault would not happen)', input: { response_rate_limit: { fixed_limit: { limit_kbps: 1 } } }, path: 'x.response_rate_limit', fragment: 'not supported' },
  { name: 'http_status 700', input: { abort: { http_status: 700 } }, path: 'x.abort.http_status', fragment: 'in [200, 599]' },
  { name: 'http_status 100', input: { abort: { http_status: 100 } }, path: 'x.abort.http_status', fragment: 'in [200, 599]' },
  { name: 'abort without error type', input: { abort: { percentage: { numerator: 1 } } }, path: 'x.abort', fragment: 'one of http_status, grpc_status, header_abort is required' },
  { name: 'delay with both kinds', input: { delay: { fixed_delay: '1s', header_delay: {} } }, path: 'x.delay', fragment: 'got fixed_delay and header_delay' },
  { name: 'zero fixed_delay', input: { delay: { fixed_delay: '0s' } }, path: 'x.delay.fixed_delay', fragment: 'greater than 0' },
  { name: 'bad denominator', input: { abort: { http_status: 500, percentage: { numerator: 1, denominator: 'THOUSAND' } } }, path: 'x.abort.percentage.denominator', fragment: 'must be one of HUNDRED' },
  { name: 'bad header regex', input: { headers: [{ name: 'h', string_match: { safe_regex: { regex: '(?!x)' } } }] }, path: 'x.headers[0].string_match.safe_regex.regex', fragment: 'invalid RE2 regex' },
];
for (const { name, input, path, fragment } of INVALID_FAULT) {
  test(`invalid fault: ${name}`, () => assertOneError(decodeFault, input, path, fragment));
}
