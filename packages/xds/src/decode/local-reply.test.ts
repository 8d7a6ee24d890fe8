import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Issues, Reader } from './reader.js';
import { decodeLocalReplyConfig } from './local-reply.js';

function run(input: unknown): { value: ReturnType<typeof decodeLocalReplyConfig>; issues: Issues } {
  const issues = new Issues();
  return { value: decodeLocalReplyConfig(Reader.of(input, 'lr', issues)!), issues };
}

test('mappers decode: filters (nested and/or), status, inline body, headers to add', () => {
  const { value, issues } = run({
    mappers: [{
      filter: { or_filter: { filters: [{ status_code_filter: { comparison: { op: 'GE', value: { default_value: 500, runtime_key: 'k' } } } }, { not_health_check_filter: {} }] } },
      status_code: 503,
      body: { inline_bytes: Buffer.from('down').toString('base64') },
      headers_to_add: [{ header: { key: 'X-A', value: 'b' } }],
    }],
  });
  assert.deepEqual(issues.errors, []);
  const mapper = value.mappers[0]!;
  assert.deepEqual(mapper.filter, { kind: 'or', filters: [{ kind: 'status_code', op: 'GE', value: 500 }, { kind: 'not_health_check' }] });
  assert.equal(mapper.statusCode, 503);
  assert.equal(mapper.body, 'down');
  assert.equal(mapper.headersToAdd?.add[0]?.name, 'x-a');
});

test('what would change the reply and is not implemented is refused with its path', () => {
  const { issues } = run({
    body_format: { json_format: { body: '%LOCAL_REPLY_BODY%' } },
    mappers: [
      { filter: { response_flag_filter: { flags: ['UF'] } }, body: { filename: '/etc/motd' } },
      { filter: { status_code_filter: { comparison: { value: { default_value: 404 } } } }, body_format_override: { text_format: '%START_TIME%' }, status_code: 700 },
      { filter: { and_filter: { filters: [{ not_health_check_filter: {} }] } } },
      { status_code: 404 },
    ],
  });
  assert.deepEqual(issues.errors.map((e) => e.path), [
    'lr.mappers[0].filter.response_flag_filter',
    'lr.mappers[0].body.filename',
    'lr.mappers[1].status_code',
    'lr.mappers[1].body_format_override.text_format',
    'lr.mappers[2].filter.and_filter.filters',
    'lr.mappers[3].filter',
    'lr.body_format.json_format',
  ]);
});
