// docs/config.md states the config limits as they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CONFIG_LIMITS } from '@xmesh/xds';

test('docs/config.md has a Limits section giving every default limit', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'config.md'), 'utf8');
  const section = /^## Limits\n([\s\S]*?)^## /m.exec(doc)?.[1];
  assert.ok(section, 'a "## Limits" section');
  for (const [name, value] of Object.entries(DEFAULT_CONFIG_LIMITS)) {
    const row = new RegExp(`^\\| \`${name}\` \\| [^|]*${value.toLocaleString('en-US')}`, 'm');
    assert.match(section, row, `${name} = ${value.toLocaleString('en-US')}`);
  }
  assert.deepEqual(Object.keys(DEFAULT_CONFIG_LIMITS).sort(), ['maxBytes', 'maxDepth', 'maxValues']);
});
