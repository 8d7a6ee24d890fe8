// Objects handed over by code (JSON parsed by the app, objects built at run time): buildSnapshot never
// throws and never runs away, whatever their shape; each problem is an error with its path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot, guardConfigValue, type BuildResult } from './index.js';
import { deepObject } from '../../../test/support/hostile-config.js';

/** A valid bootstrap with `extra` merged into its first cluster and `bootstrapExtra` into the bootstrap. */
function bootstrap(extra: Record<string, unknown> = {}, bootstrapExtra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...bootstrapExtra,
    static_resources: {
      clusters: [{
        name: 'c',
        type: 'STATIC',
        load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 1 } } } }] }] },
        ...extra,
      }],
    },
  };
}

function errorsOf(result: BuildResult): readonly { path: string; message: string }[] {
  assert.equal(result.ok, false);
  return result.ok ? [] : result.errors;
}

test('the valid bootstrap used below builds', () => {
  assert.ok(buildSnapshot(bootstrap()).ok);
});

test('a cycle, even in a field that is only ignored, is an error at its path', () => {
  const node: Record<string, unknown> = { id: 'n' };
  node['self'] = node;
  assert.deepEqual(errorsOf(buildSnapshot(bootstrap({}, { node }))), [{ path: 'node.self', message: 'refers to an object that contains it (a cycle)' }]);
});

test('a getter that throws and proxy traps that throw are errors at their paths', () => {
  const getter = Object.defineProperty({}, 'name', { enumerable: true, get: () => { throw new Error('boom'); } });
  assert.deepEqual(errorsOf(buildSnapshot({ static_resources: { clusters: [getter] } })), [{ path: 'static_resources.clusters[0].name', message: 'cannot be read: boom' }]);
  const trap = new Proxy({}, { ownKeys: () => { throw new TypeError('no keys'); } });
  assert.deepEqual(errorsOf(buildSnapshot(bootstrap({ metadata: trap }))), [{ path: 'static_resources.clusters[0].metadata', message: 'cannot be read: no keys' }]);
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  assert.match(errorsOf(buildSnapshot(proxy))[0]!.message, /^cannot be read: /);
  const thrower = new Proxy([], { get: () => { throw 'not even an Error'; } });
  assert.deepEqual(errorsOf(buildSnapshot(thrower)), [{ path: '(root)', message: 'cannot be read: not even an Error' }]);
});

test('values that are not JSON data are errors, never exceptions', () => {
  const cases: [unknown, RegExp][] = [
    [10n, /must be JSON data, got a bigint/],
    [Symbol('s'), /must be JSON data, got a symbol/],
    [() => 1, /must be JSON data, got a function/],
    [new Map([['a', 1]]), /must be a plain object or a list, got a Map/],
    [new Date(0), /must be a plain object or a list, got a Date/],
    [new Uint8Array(4), /must be a plain object or a list, got a Uint8Array/],
    [new (class Config {})(), /must be a plain object or a list, got a Config/],
  ];
  for (const [value, message] of cases) {
    const [e] = errorsOf(buildSnapshot(bootstrap({}, { node: { metadata: { value } } })));
    assert.equal(e!.path, 'node.metadata.value');
    assert.match(e!.message, message);
  }
});

test('nesting deeper than maxDepth is an error, however deep (10,000 levels here)', () => {
  for (const levels of [101, 10_000]) {
    const cluster = { metadata: { filter_metadata: { deep: deepObject(levels) } } };
    const [e] = errorsOf(buildSnapshot(bootstrap(cluster)));
    assert.match(e!.message, /nested deeper than 100 levels \(limit maxDepth\)/);
    assert.match(e!.path, /^static_resources\.clusters\[0\]\.metadata\.filter_metadata\.deep(\.k)+$/);
  }
});

test('a huge or sparse list is refused from its length, without walking it', () => {
  const sparse: unknown[] = [];
  sparse.length = 2 ** 32 - 1;
  assert.deepEqual(errorsOf(buildSnapshot({ static_resources: { clusters: sparse } })), [
    { path: 'static_resources.clusters', message: 'a list of 4294967295 elements is over the limit of 2000000 values (limit maxValues)' },
  ]);
});

test('a shared subtree counts each time it is reached: a 2^60 expansion is refused at maxValues', { timeout: 30_000 }, () => {
  let dag: unknown = 'x';
  for (let i = 0; i < 60; i++) dag = [dag, dag];
  const started = performance.now();
  const errors = errorsOf(buildSnapshot(bootstrap({ metadata: { filter_metadata: { dag } } })));
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.message, /more than 2000000 values \(limit maxValues\)/);
  assert.ok(performance.now() - started < 20_000);
});

test('`__proto__` keys (as JSON.parse makes them) stay keys: reported as unknown fields, no prototype pollution', () => {
  const input: unknown = JSON.parse('{"__proto__": {"polluted": 1}, "static_resources": {"__proto__": []}}');
  const errors = errorsOf(buildSnapshot(input));
  assert.deepEqual(errors.map((e) => e.path).sort(), ['__proto__', 'static_resources.__proto__']);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  const copied = guardConfigValue(input);
  assert.ok(copied.ok);
  assert.deepEqual(Object.keys(copied.value as object), ['__proto__', 'static_resources']);
  assert.equal(Object.getPrototypeOf(copied.value), Object.prototype);
});

test('errors are capped at 100, so a list of a million bad values cannot flood the report', () => {
  const errors = errorsOf(buildSnapshot(bootstrap({}, { node: { fns: Array.from({ length: 1_000_000 }, () => () => 0) } })));
  assert.equal(errors.length, 100);
});

test('the copy is plain data equal to the input, and the input is left as it was', () => {
  const input = bootstrap({ metadata: { filter_metadata: { a: { list: [1, 'two', null, true, { x: 1.5 }] } } } });
  const before = JSON.stringify(input);
  const copied = guardConfigValue(input);
  assert.ok(copied.ok);
  assert.notEqual(copied.value, input);
  assert.deepEqual(copied.value, input);
  assert.equal(JSON.stringify(input), before);
});
