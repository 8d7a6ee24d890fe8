// docs/api/ is the TypeDoc reference of the public API as the sources document it now
// (regenerate with `node scripts/gen-api-docs.mjs` after changing an exported type or its comment).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

test('docs/api matches the API reference TypeDoc generates from the sources', () => {
  const check = spawnSync(process.execPath, [join(ROOT, 'scripts', 'gen-api-docs.mjs'), '--check'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(check.status, 0, `${check.stdout}\n${check.stderr}`);
  assert.match(check.stdout, /docs\/api is up to date \(\d+ files\)/);
});
