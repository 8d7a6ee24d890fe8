// Every runtime package loads with CommonJS `require()` (Node >= 22.12 loads ES modules that have
// no top-level await): each package requires itself by name from its own directory, so the
// resolution goes through its `exports` with the `require` condition to the built dist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const PACKAGES = readdirSync(join(ROOT, 'packages')).filter((dir) => existsSync(join(ROOT, 'packages', dir, 'package.json')));

const PROBE = `
const { createRequire } = require('node:module');
const results = {};
for (const [dir, name] of JSON.parse(process.argv[1])) {
  try {
    const loaded = createRequire(dir + '/package.json')(name);
    results[name] = Object.keys(loaded).length;
  } catch (error) {
    results[name] = String(error.code || '') + ' ' + String(error.message).split('\\n')[0];
  }
}
console.log(JSON.stringify(results));
`;

test('require() loads every package (no top-level await anywhere in their module graphs)', () => {
  const packages = PACKAGES.map((dir) => {
    const path = join(ROOT, 'packages', dir);
    const manifest = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')) as { name: string; main: string };
    assert.ok(existsSync(join(path, manifest.main)), `${manifest.name}: ${manifest.main} is not built (npm test builds first)`);
    return [path, manifest.name] as const;
  });
  assert.ok(packages.length >= 15);
  const probe = spawnSync(process.execPath, ['-e', PROBE, JSON.stringify(packages)], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(probe.status, 0, probe.stderr);
  const results = JSON.parse(probe.stdout) as Record<string, number | string>;
  for (const [, name] of packages) {
    assert.equal(typeof results[name], 'number', `${name}: ${results[name]}`);
    assert.ok((results[name] as number) > 0, `${name} exports nothing`);
  }
});
