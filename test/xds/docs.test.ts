// docs/config.md must list every field the decoders implement and every field they ignore (regenerate
// with scripts/gen-config-doc.mjs), and every implemented field must drive at least one behaviour test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { IGNORED_ENVOY_FIELDS, IMPLEMENTED_ENVOY_FIELDS } from '@xmesh/xds';

const ROOT = join(import.meta.dirname, '..', '..');
const doc = readFileSync(join(ROOT, 'docs', 'config.md'), 'utf8');

test('docs/config.md lists every ignored Envoy field with its reason', () => {
  const section = doc.split('## Ignored fields')[1] ?? '';
  const listed = new Set([...section.matchAll(/^\| `([^`]+)` \| `([^`]+)` \|/gm)].map((m) => `${m[1]} ${m[2]}`));
  const ignored = new Set(IGNORED_ENVOY_FIELDS.map((f) => `${f.message} ${f.field}`));
  assert.deepEqual([...ignored].filter((f) => !listed.has(f)), [], 'ignored by the decoders but not in docs/config.md');
  assert.deepEqual([...listed].filter((f) => !ignored.has(f)), [], 'listed as ignored in docs/config.md but decoded or rejected now');
  assert.ok(IGNORED_ENVOY_FIELDS.length > 50);
});

test('docs/config.md lists every implemented Envoy field', () => {
  const section = doc.split('## Implemented fields')[1]?.split('## Ignored fields')[0] ?? '';
  const listed = new Set<string>();
  for (const m of section.matchAll(/^\| `([^`]+)` \| (.+) \|$/gm)) for (const f of m[2]!.matchAll(/`([^`]+)`/g)) listed.add(`${m[1]} ${f[1]}`);
  const implemented = IMPLEMENTED_ENVOY_FIELDS.map((f) => `${f.message} ${f.field}`);
  assert.deepEqual(implemented.filter((f) => !listed.has(f)), [], 'implemented but not in docs/config.md');
  assert.deepEqual([...listed].filter((f) => !implemented.includes(f)), [], 'listed as implemented in docs/config.md but not in IMPLEMENTED_ENVOY_FIELDS');
  const ignored = new Set(IGNORED_ENVOY_FIELDS.map((f) => `${f.message} ${f.field}`));
  assert.deepEqual(implemented.filter((f) => ignored.has(f)), [], 'a field cannot be both implemented and ignored');
});

/** Tests that run traffic (or routing) through configs: the cross-package tests, their fixtures, and the packages' tests outside the decoders. */
function behaviourTestFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string, keep: (path: string) => boolean) => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name === 'dist') continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path, keep);
      else if (keep(path)) out.push(path);
    }
  };
  walk(join(ROOT, 'test'), (p) => /\.(ts|ya?ml|json)$/.test(p) && !p.endsWith('docs.test.ts'));
  walk(join(ROOT, 'packages'), (p) => p.endsWith('.test.ts') && !p.includes(`${join('packages', 'xds')}`));
  return out;
}

test('every implemented field is set in the config of at least one behaviour test', () => {
  const text = behaviourTestFiles().map((p) => readFileSync(p, 'utf8')).join('\n');
  const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
  // As a key: `field:` in YAML or an object literal (quoted or not), snake_case or lowerCamelCase.
  const unused = IMPLEMENTED_ENVOY_FIELDS.filter(({ field }) => !new RegExp(`(?:^|[\\s{,'"])(?:${field}|${camel(field)})['"]?\\s*:`, 'm').test(text));
  assert.deepEqual(unused.map((f) => `${f.message} ${f.field}`), []);
});
