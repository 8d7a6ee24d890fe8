// docs/config.md must list every field the decoders ignore (regenerate with scripts/gen-config-doc.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IGNORED_ENVOY_FIELDS } from '@xmesh/xds';

test('docs/config.md lists every ignored Envoy field with its reason', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'config.md'), 'utf8');
  const listed = new Set([...doc.matchAll(/^\| `([^`]+)` \| `([^`]+)` \|/gm)].map((m) => `${m[1]} ${m[2]}`));
  const ignored = new Set(IGNORED_ENVOY_FIELDS.map((f) => `${f.message} ${f.field}`));
  assert.deepEqual([...ignored].filter((f) => !listed.has(f)), [], 'ignored by the decoders but not in docs/config.md');
  assert.deepEqual([...listed].filter((f) => !ignored.has(f)), [], 'listed as ignored in docs/config.md but decoded or rejected now');
  assert.ok(IGNORED_ENVOY_FIELDS.length > 50);
});
