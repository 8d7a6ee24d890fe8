import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Issues, Reader } from './reader.js';
import { decodeHealthCheckFilter } from './health-check-filter.js';

function decode(input: unknown) {
  const issues = new Issues();
  return { config: decodeHealthCheckFilter(Reader.of(input, 'x', issues)!), issues };
}

test('health_check: pass_through_mode (required) and header matchers, the deprecated exact_match included', () => {
  const { config, issues } = decode({ pass_through_mode: false, headers: [{ exact_match: '/healthcheck', name: ':path' }] });
  assert.deepEqual(issues.errors, []);
  assert.equal(config.passThroughMode, false);
  assert.equal(config.headers.length, 1);
  assert.equal(config.headers[0]!.name, ':path');
  assert.equal(decode({ pass_through_mode: { value: true } }).config.passThroughMode, true);
});

test('health_check: cluster_min_healthy_percentages by cluster name (a Percent each)', () => {
  const { config, issues } = decode({ pass_through_mode: false, cluster_min_healthy_percentages: { web: { value: 50 }, db: { value: 0 } } });
  assert.deepEqual(issues.errors, []);
  assert.deepEqual([...config.clusterMinHealthyPercentages], [['web', 50], ['db', 0]]);
});

test('health_check: refused by path: no pass_through_mode, cache_time, a percentage out of range', () => {
  const errors = (input: unknown) => decode(input).issues.errors.map((e) => `${e.path}: ${e.message}`);
  assert.deepEqual(errors({ headers: [] }), ['x.pass_through_mode: is required']);
  assert.match(errors({ pass_through_mode: true, cache_time: '5s' }).join('\n'), /^x\.cache_time: is not supported: answering health checks from a cached upstream answer/);
  assert.match(errors({ pass_through_mode: false, cluster_min_healthy_percentages: { web: { value: 150 } } }).join('\n'), /^x\.cluster_min_healthy_percentages\.web\.value: /);
});
