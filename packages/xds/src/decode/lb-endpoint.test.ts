/**
 * The EDS decoding fast path: paths composed only on error (spelled as given, also in camelCase), endpoints frozen
 * as they are decoded, filter metadata copied and frozen, deepFreeze skipping frozen subtrees.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LoadAssignment } from '../model.js';
import { deepFreeze } from '../freeze.js';
import { decodeLoadAssignment, type LoadAssignmentContext } from './endpoints.js';
import { Issues, Reader } from './reader.js';

function decode(input: unknown, context: LoadAssignmentContext = {}): { cla: LoadAssignment; issues: Issues } {
  const issues = new Issues();
  const r = Reader.of(input, 'resources[3]', issues);
  assert.ok(r);
  return { cla: decodeLoadAssignment(r, context), issues };
}

const camel = (address: string, port: number) => ({ endpoint: { address: { socketAddress: { address, portValue: port } } } });
const snake = (address: string, port: number) => ({ endpoint: { address: { socket_address: { address, port_value: port } } } });

describe('EDS errors found after decoding carry the path as spelled', () => {
  it('duplicates in camelCase input, among valid endpoints and one without an address', () => {
    const input = {
      clusterName: 'c',
      endpoints: [
        { lbEndpoints: [camel('10.0.0.1', 80), { healthStatus: 'HEALTHY' }, camel('10.0.0.2', 80)] },
        { priority: 1, lbEndpoints: [snake('10.0.0.3', 80), camel('10.0.0.2', 80), snake('10.0.0.1', 80)] },
      ],
    };
    const { issues } = decode(input);
    assert.deepEqual(issues.errors, [
      { path: 'resources[3].endpoints[0].lbEndpoints[1].endpoint', message: 'is required' },
      {
        path: 'resources[3].endpoints[1].lbEndpoints[1].endpoint.address',
        message: 'duplicate endpoint 10.0.0.2:80 (first at resources[3].endpoints[0].lbEndpoints[2].endpoint.address)',
      },
      {
        path: 'resources[3].endpoints[1].lbEndpoints[2].endpoint.address',
        message: 'duplicate endpoint 10.0.0.1:80 (first at resources[3].endpoints[0].lbEndpoints[0].endpoint.address)',
      },
    ]);
  });

  it('a STATIC host name under camelCase keys, after an endpoint that failed to decode', () => {
    const input = { cluster_name: 'c', endpoints: [{ lb_endpoints: [camel('10.0.0.1', 0), snake('10.0.0.2', 80), camel('db.local', 80)] }] };
    const { issues } = decode(input, { clusterType: 'STATIC' });
    assert.deepEqual(issues.errors.map((e) => e.path), [
      'resources[3].endpoints[0].lb_endpoints[0].endpoint.address.socketAddress.portValue',
      'resources[3].endpoints[0].lb_endpoints[2].endpoint.address.socketAddress.address',
    ]);
    assert.match(issues.errors[1]!.message, /must be an IP address in a STATIC cluster, got "db.local"/);
  });

  it('a field given in both spellings is reported once, at the later spelling, and the later value is read', () => {
    const input = { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80, portValue: 81 } } } }] }] };
    const { cla, issues } = decode(input);
    assert.deepEqual(issues.errors, [
      { path: 'resources[3].endpoints[0].lb_endpoints[0].endpoint.address.socket_address.portValue', message: 'duplicate field (also given as "port_value")' },
    ]);
    assert.equal(cla.localities[0]!.endpoints[0]!.port, 81);
  });
});

describe('decoded endpoints are frozen as they are built', () => {
  it('endpoints, their list, their shared locality and their metadata', () => {
    const metadata = { filter_metadata: { 'envoy.lb': { canary: true, tags: ['a', { b: 1 }] } } };
    const input = { cluster_name: 'c', endpoints: [{ locality: { zone: 'z1' }, lb_endpoints: [{ ...snake('10.0.0.1', 80), metadata }, snake('10.0.0.2', 80)] }] };
    const { cla, issues } = decode(input);
    assert.deepEqual(issues.errors, []);
    const [first, second] = cla.localities[0]!.endpoints;
    assert.ok(first && second);
    assert.ok(Object.isFrozen(cla.localities[0]!.endpoints));
    assert.ok(Object.isFrozen(first) && Object.isFrozen(second));
    assert.equal(first.locality, second.locality);
    assert.ok(Object.isFrozen(first.locality));
    assert.deepEqual(first.locality, { region: '', zone: 'z1', subZone: '' });
    assert.deepEqual(second.metadata, {});
    assert.ok(Object.isFrozen(second.metadata));

    const lb = first.metadata['envoy.lb'] as { canary: boolean; tags: [string, { b: number }] };
    assert.deepEqual(lb, { canary: true, tags: ['a', { b: 1 }] });
    assert.ok(Object.isFrozen(lb) && Object.isFrozen(lb.tags) && Object.isFrozen(lb.tags[1]));
    // A copy: the input stays writable and later changes to it do not reach the endpoint.
    assert.ok(!Object.isFrozen(metadata.filter_metadata['envoy.lb']));
    metadata.filter_metadata['envoy.lb'].canary = false;
    assert.equal(lb.canary, true);
  });

  it('metadata keys named __proto__ stay own data, at every depth', () => {
    const entry = JSON.parse('{"__proto__": {"x": 1}, "y": {"__proto__": 2}}') as Record<string, unknown>;
    const filterMetadata = JSON.parse('{"__proto__": {"z": 3}}') as Record<string, unknown>;
    filterMetadata['envoy.lb'] = entry;
    const { cla, issues } = decode({ cluster_name: 'c', endpoints: [{ lb_endpoints: [{ ...snake('10.0.0.1', 80), metadata: { filter_metadata: filterMetadata } }] }] });
    assert.deepEqual(issues.errors, []);
    const metadata = cla.localities[0]!.endpoints[0]!.metadata;
    assert.deepEqual(Object.keys(metadata), ['__proto__', 'envoy.lb']);
    assert.equal(Object.getPrototypeOf(metadata), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(metadata, '__proto__')?.value, { z: 3 });
    const lb = metadata['envoy.lb'] as Record<string, unknown>;
    assert.deepEqual(Object.getOwnPropertyDescriptor(lb, '__proto__')?.value, { x: 1 });
    assert.equal(Object.getOwnPropertyDescriptor(lb['y'] as object, '__proto__')?.value, 2);
    assert.equal(Object.getPrototypeOf(lb), Object.prototype);
  });
});

describe('Reader', () => {
  it('tracks read fields beyond the 31st and reports only the unread ones', () => {
    const raw: Record<string, number> = {};
    for (let i = 0; i < 40; i++) raw[`f${i}`] = i;
    const issues = new Issues();
    const r = Reader.of({ list: [1, raw] }, 'root', issues)!;
    const [inner] = r.objects('list');
    assert.ok(inner);
    for (let i = 0; i < 40; i++) if (i !== 5 && i !== 33) assert.equal(inner.int(`f${i}`, -1), i);
    inner.ignore('f39', 'absent');
    inner.finish();
    assert.deepEqual(issues.errors, [
      { path: 'root.list[0]', message: 'must be an object, got 1' },
      { path: 'root.list[1].f5', message: 'unknown or unsupported field "f5"' },
      { path: 'root.list[1].f33', message: 'unknown or unsupported field "f33"' },
    ]);
    assert.deepEqual(issues.ignored, ['root.list[1].f39']);
  });

  it('composes nested paths from an empty root and from camelCase keys', () => {
    const issues = new Issues();
    const r = Reader.of({ outerList: [{ innerObj: { leafValue: 'x' } }] }, '', issues)!;
    assert.equal(r.path, '');
    const leaf = r.objects('outer_list')[0]!.obj('inner_obj')!;
    assert.equal(leaf.path, 'outerList[0].innerObj');
    assert.equal(leaf.at('leaf_value'), 'outerList[0].innerObj.leafValue');
    assert.equal(leaf.at('other'), 'outerList[0].innerObj.other');
  });
});

describe('deepFreeze', () => {
  it('freezes every unfrozen object and takes a frozen one as frozen all the way down', () => {
    const shared = { a: [1, { b: 2 }] };
    const tree = { x: shared, y: [shared, { c: new Map() }] };
    assert.equal(deepFreeze(tree), tree);
    assert.ok(Object.isFrozen(tree) && Object.isFrozen(tree.y) && Object.isFrozen(tree.y[1]));
    assert.ok(Object.isFrozen(shared.a[1]));
    const frozenTop = Object.freeze({ inner: { d: 1 } });
    deepFreeze({ frozenTop });
    assert.ok(!Object.isFrozen(frozenTop.inner));
  });
});
