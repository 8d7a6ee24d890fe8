/**
 * decodeUpdate on ClusterLoadAssignments: the common shapes are read from the wire (the same JSON and
 * decoding as the generic path), everything else — invalid resources, hostile bytes — still reports each
 * error with its path, labelled by the resource.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeResource, encodeResource, loadEnvoyProtos, TypeUrl, validateLoadAssignment } from '@xmesh/xds';
import type { ResponseUpdate } from './ads-stream.js';
import { decodeUpdate } from './decode-update.js';

const protos = loadEnvoyProtos();

function response(values: readonly Uint8Array[]): ResponseUpdate {
  return {
    typeUrl: TypeUrl.ClusterLoadAssignment,
    nonce: 'n',
    version: '1',
    stateOfTheWorld: false,
    removed: [],
    resources: values.map((value) => ({ any: { type_url: TypeUrl.ClusterLoadAssignment, value } })),
  };
}

const assignment = (name: string, port: number) => ({
  '@type': TypeUrl.ClusterLoadAssignment,
  cluster_name: name,
  endpoints: [{
    locality: { zone: 'a' },
    lb_endpoints: [
      { endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: port } } }, health_status: 'HEALTHY', metadata: { filter_metadata: { 'envoy.lb': { v: '1' } } } },
      { endpoint: { address: { socket_address: { address: '10.0.0.2', port_value: port } } }, load_balancing_weight: 3 },
    ],
  }],
});

describe('decodeUpdate of ClusterLoadAssignments', () => {
  it('gives the JSON and decoding the generic path gives, frozen', () => {
    const bytes = encodeResource(protos, assignment('c', 80)).value;
    const [decoded] = decodeUpdate(protos, response([bytes]), undefined, 'envoy').resources;
    const json = decodeResource(protos, { type_url: TypeUrl.ClusterLoadAssignment, value: bytes });
    assert.deepEqual(decoded!.errors, []);
    assert.equal(decoded!.name, 'c');
    assert.deepStrictEqual(decoded!.json, json);
    assert.deepStrictEqual(decoded!.assignment, validateLoadAssignment(json).assignment);
    assert.ok(Object.isFrozen(decoded!.json) && Object.isFrozen(decoded!.assignment));
  });

  it('reports invalid resources and hostile bytes with their paths, the valid neighbours kept', () => {
    const valid = encodeResource(protos, assignment('ok', 80)).value;
    const badPort = encodeResource(protos, assignment('bad', 0)).value;
    const truncated = valid.subarray(0, valid.length - 3);
    const pastTheEnd = Uint8Array.from([0x0a, 0x01, 0x63, 0x12, 0xff, 0x01, 0x00]);
    const { resources } = decodeUpdate(protos, response([valid, badPort, truncated, pastTheEnd]), undefined, 'envoy');
    assert.deepEqual(resources[0]!.errors, []);
    assert.equal(resources[1]!.json, undefined);
    assert.deepEqual(resources[1]!.errors.map((e) => e.path), [
      'ClusterLoadAssignment "bad".endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value',
      'ClusterLoadAssignment "bad".endpoints[0].lb_endpoints[1].endpoint.address.socket_address.port_value',
    ]);
    for (const r of [resources[2]!, resources[3]!]) {
      assert.equal(r.json, undefined);
      assert.deepEqual(r.errors.map((e) => e.path), [r === resources[2] ? 'ClusterLoadAssignment[2].value' : 'ClusterLoadAssignment[3].value']);
    }
  });
});
