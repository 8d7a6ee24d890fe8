// Hostile config text: every input ends as a result or errors with a path (and a line), within the
// documented limits, in time linear in its size.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshotFromText, DEFAULT_CONFIG_LIMITS, parseConfigText, type ParseResult } from './index.js';
import { aliasBomb, deepBlock, deepFlow, garbageBytes, wideClusterYaml } from '../../../test/support/hostile-config.js';

function refused(result: ParseResult | ReturnType<typeof buildSnapshotFromText>): readonly { path: string; message: string; line?: number }[] {
  assert.equal(result.ok, false, 'refused');
  if (result.ok) return [];
  assert.ok(result.errors.length > 0);
  for (const e of result.errors) assert.equal(typeof e.path, 'string');
  return result.errors;
}

function elapsed(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

describe('aliases', () => {
  test('an alias bomb is refused at the alias that crosses maxValues, with its line, without expanding it', () => {
    let result: ParseResult | undefined;
    const ms = elapsed(() => (result = parseConfigText(aliasBomb(), 'bomb.yaml')));
    const [e] = refused(result!);
    assert.match(e!.message, /more than 2000000 values once its aliases are expanded \(limit maxValues\)/);
    assert.equal(typeof e!.line, 'number');
    assert.ok(ms < 10_000, `took ${ms} ms`);
  });

  test('an alias inside the node it names (a cycle) is refused', () => {
    const [e] = refused(parseConfigText('a: &x\n  b: *x\n'));
    assert.deepEqual([e!.path, e!.message, e!.line], ['a.b', 'alias *x refers to a node that contains it', 2]);
    refused(buildSnapshotFromText('static_resources: &r\n  clusters: [*r]\n'));
  });

  test('anchors and aliases within the limits are shared values, and locate follows them', () => {
    const r = parseConfigText('base: &b {x: 1, y: [1, 2]}\nuse: *b\n');
    assert.ok(r.ok);
    assert.deepEqual(r.value, { base: { x: 1, y: [1, 2] }, use: { x: 1, y: [1, 2] } });
    assert.equal(r.locate('use.y'), 1);
  });

  test('an alias that nests deeper than maxDepth is refused', () => {
    // 60 levels under `a`, then an alias to them 50 levels under `b`: 1 + 50 + 60 > 100.
    const text = `a: &a ${deepFlow(60).trim()}\nb: ${'['.repeat(50)}*a ${']'.repeat(50)}\n`;
    const [e] = refused(parseConfigText(text));
    assert.match(e!.message, /alias \*a nests deeper than 100 levels \(limit maxDepth\)/);
    assert.equal(e!.line, 2);
  });
});

describe('nesting', () => {
  test('100 levels are accepted; 101 are refused with the path and line', () => {
    assert.ok(parseConfigText(deepFlow(100)).ok);
    assert.ok(parseConfigText(deepBlock(100)).ok);
    const [flow] = refused(parseConfigText(deepFlow(101)));
    assert.match(flow!.message, /nested deeper than 100 levels \(limit maxDepth\)/);
    assert.equal(flow!.path, `${'[0]'.repeat(100)}`);
    const [block] = refused(parseConfigText(deepBlock(101)));
    assert.equal(block!.path, Array(100).fill('k').join('.'));
    assert.equal(block!.line, 101);
  });

  test('6,000 and 1,000,000 levels are refused while lexing, before the parser builds them', () => {
    for (const text of [deepFlow(6_000), deepBlock(5_000), `${'- '.repeat(1_000_000)}x\n`, deepFlow(1_000_000)]) {
      let result: ParseResult | undefined;
      const ms = elapsed(() => (result = parseConfigText(text)));
      const [e] = refused(result!);
      assert.match(e!.message, /nested far deeper than 100 levels \(limit maxDepth; stopped before parsing/);
      assert.ok(ms < 10_000, `took ${ms} ms`);
    }
  });

  test('a lower maxDepth applies', () => {
    assert.ok(parseConfigText(deepFlow(5), 'x', { maxDepth: 5 }).ok);
    refused(parseConfigText(deepFlow(6), 'x', { maxDepth: 5 }));
  });
});

describe('size and bytes', () => {
  test('text over maxBytes is refused before parsing', () => {
    const [e] = refused(parseConfigText(`a: "${'x'.repeat(DEFAULT_CONFIG_LIMITS.maxBytes)}"\n`, 'big.yaml'));
    assert.equal(e!.path, 'big.yaml');
    assert.match(e!.message, /is 16777222 bytes, over the limit of 16777216 bytes \(limit maxBytes\)/);
    // Counted in UTF-8: 400 three-byte characters are 1,200 bytes.
    refused(parseConfigText(`a: ${'€'.repeat(400)}\n`, 'x', { maxBytes: 1000 }));
    assert.ok(parseConfigText(`a: ${'€'.repeat(300)}\n`, 'x', { maxBytes: 1000 }).ok);
  });

  test('binary garbage is refused with typed errors, whatever the seed', () => {
    for (const seed of [1, 2, 3, 0xdeadbeef]) {
      const bytes = garbageBytes(64 * 1024, seed);
      refused(parseConfigText(bytes.toString('latin1')));
      refused(buildSnapshotFromText(bytes.toString('utf8')));
      const [e] = refused(parseConfigText(bytes.toString('latin1').replace(/\0/g, ' ')));
      assert.equal(typeof e!.line, 'number');
    }
    const [nul] = refused(parseConfigText('a: 1\nb: "x\0y"\n'));
    assert.deepEqual([nul!.message, nul!.line], ['contains NUL characters: not YAML or JSON text', 2]);
  });
});

describe('keys', () => {
  test('a duplicate key is reported with its path and line', () => {
    const errors = refused(parseConfigText('a:\n  b: 1\n  c: 2\n  b: 3\n'));
    assert.deepEqual(errors, [{ path: 'a.b', message: 'duplicate key "b"', line: 4 }]);
  });

  test('`__proto__` is an ordinary key, never a prototype', () => {
    const r = parseConfigText('__proto__: {polluted: true}\nx: {__proto__: [1]}\n');
    assert.ok(r.ok);
    const value = r.value as Record<string, unknown>;
    assert.deepEqual(Object.keys(value), ['__proto__', 'x']);
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    const errors = refused(buildSnapshotFromText('static_resources:\n  __proto__: {clusters: []}\n'));
    assert.deepEqual(errors, [{ path: 'static_resources.__proto__', message: 'unknown or unsupported field "__proto__"', line: 2 }]);
  });

  test('a key that is a mapping or a sequence is refused', () => {
    const [e] = refused(parseConfigText('? [a, b]\n: 1\n'));
    assert.match(e!.message, /a mapping key must be a string or a number/);
  });
});

describe('time linear in the keys of one mapping', () => {
  test('100,000 keys: every unknown field reported with its line, well within 10 s', () => {
    let result: ReturnType<typeof buildSnapshotFromText> | undefined;
    const ms = elapsed(() => (result = buildSnapshotFromText(wideClusterYaml(100_000), 'wide.yaml')));
    const errors = refused(result!).filter((e) => /unknown or unsupported field/.test(e.message));
    assert.equal(errors.length, 100_000);
    assert.deepEqual(errors.at(-1), { path: 'static_resources.clusters[0].field_99999', message: 'unknown or unsupported field "field_99999"', line: 100_003 });
    assert.ok(ms < 10_000, `took ${ms} ms`);
  });

  test('four times the keys cost well under ten times the time (quadratic would be sixteen)', () => {
    // Best of three runs each, so a stall of the machine during one run does not count.
    const best = (text: string) => Math.min(...[0, 1, 2].map(() => elapsed(() => buildSnapshotFromText(text))));
    for (const prefix of ['field_', 'camelCase']) {
      const small = best(wideClusterYaml(10_000, prefix));
      const large = best(wideClusterYaml(40_000, prefix));
      assert.ok(large / small < 10, `${prefix}: 10k keys ${small.toFixed(0)} ms, 40k keys ${large.toFixed(0)} ms`);
    }
  });
});
