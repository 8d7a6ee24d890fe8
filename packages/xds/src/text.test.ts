import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, splitPath, withLines } from './text.js';

test('parses YAML and JSON alike', () => {
  const y = parseConfigText('a:\n  b: [1, 2]\n');
  const j = parseConfigText('{"a": {"b": [1, 2]}}');
  assert.ok(y.ok && j.ok);
  assert.deepEqual(y.value, { a: { b: [1, 2] } });
  assert.deepEqual(j.value, y.value);
});

test('several YAML documents become a list', () => {
  const r = parseConfigText('a: 1\n---\nb: 2\n');
  assert.ok(r.ok);
  assert.deepEqual(r.value, [{ a: 1 }, { b: 2 }]);
});

test('syntax errors carry the source name and line', () => {
  const r = parseConfigText('a: 1\nb: [1, 2\nc: 3\n', 'mesh.yaml');
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.errors[0]!.path, 'mesh.yaml');
  assert.equal(typeof r.errors[0]!.line, 'number');
});

test('duplicate keys are rejected', () => {
  const r = parseConfigText('a: 1\na: 2\n');
  assert.equal(r.ok, false);
});

test('empty input is an error, not an empty config', () => {
  const r = parseConfigText('# nothing\n');
  assert.equal(r.ok, false);
});

test('locate maps a field path to its line', () => {
  const text = 'static_resources:\n  clusters:\n  - name: a\n  - name: b\n    lb_policy: BOGUS\n';
  const r = parseConfigText(text);
  assert.ok(r.ok);
  assert.equal(r.locate('static_resources.clusters[1].lb_policy'), 5);
  assert.equal(r.locate('static_resources.clusters[0]'), 3);
  const [e] = withLines([{ path: 'static_resources.clusters[1].lb_policy', message: 'x' }], r.locate);
  assert.equal(e!.line, 5);
});

test('splitPath understands dots and indexes', () => {
  assert.deepEqual(splitPath('a.b[2].c[10]'), ['a', 'b', 2, 'c', 10]);
  assert.deepEqual(splitPath('[3].@type'), [3, '@type']);
});
