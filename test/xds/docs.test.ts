// docs/config.md must list every field the decoders ignore (regenerate with scripts/gen-config-doc.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IGNORED_ENVOY_FIELDS } from '@xmesh/xds';

test('docs/config.md lists every ignored Envoy field with its reason', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'config.md'), 'utf8');
  const missing = IGNORED_ENVOY_FIELDS.filter((f) => !doc.includes(`| \`${f.message}\` | \`${f.field}\` |`));
  assert.deepEqual(missing.map((f) => `${f.message}.${f.field}`), []);
  assert.ok(IGNORED_ENVOY_FIELDS.length > 50);
});
