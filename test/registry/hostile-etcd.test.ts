// The etcd3 client throws from inside its watch stream's handlers when the stream breaks its own
// bookkeeping (lib/watch.js: a response for a watch id it does not know, a "created" response no
// watcher waits for) and rethrows a throwing 'data' listener on a later tick: either escapes as an
// uncaught exception and ends the process. An etcd that sends exactly that — a stub speaking etcd's
// gRPC API (etcd3's own rpc.proto) — must leave the registry alive, its last good instances kept,
// and listing again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { MeshError } from '@xmesh/core';
import type { RegistryInstance } from '@xmesh/discovery';
import { EtcdRegistry } from '@xmesh/registry-etcd';
import { waitFor } from '../support/wait-for.js';

const PROTO_DIR = join(import.meta.dirname, '..', '..', 'packages', 'registry-etcd', 'node_modules', 'etcd3', 'proto');
const KEY = '/xmesh/services/svc/a';

type Misbehaviour = 'unknown-watch-id' | 'extra-created' | 'event-without-kv';

/** A stub etcd: Range lists one instance (its port counting the listings); Watch misbehaves as told, once. */
async function startStubEtcd(misbehave: Misbehaviour): Promise<{ address: string; ranges: number; close(): void }> {
  const definition = protoLoader.loadSync(join(PROTO_DIR, 'rpc.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_DIR] });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { etcdserverpb: Record<string, grpc.ServiceClientConstructor> };
  const state = { address: '', ranges: 0, close: () => undefined as void };
  let misbehaved = false;
  let revision = 10;
  const header = () => ({ cluster_id: '1', member_id: '1', revision: String(revision), raft_term: '1' });
  const server = new grpc.Server();
  server.addService(pkg.etcdserverpb['KV']!.service, {
    Range: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
      state.ranges++;
      revision++;
      const value = Buffer.from(JSON.stringify({ address: '10.0.0.1', port: 9000 + state.ranges, weight: 1, zone: '', healthy: true, metadata: {} }));
      callback(null, { header: header(), kvs: [{ key: Buffer.from(KEY), value, mod_revision: String(revision), create_revision: '10', version: '1', lease: '0' }], more: false, count: '1' });
    },
  });
  server.addService(pkg.etcdserverpb['Watch']!.service, {
    Watch: (stream: grpc.ServerDuplexStream<{ create_request?: unknown; cancel_request?: { watch_id: string } }, unknown>) => {
      stream.on('error', () => undefined);
      stream.on('data', (request: { create_request?: unknown; cancel_request?: { watch_id: string } }) => {
        if (request.cancel_request) {
          stream.write({ header: header(), watch_id: request.cancel_request.watch_id, canceled: true, events: [] });
          return;
        }
        if (!request.create_request) return;
        stream.write({ header: header(), watch_id: '1', created: true, events: [] });
        if (misbehaved) return;
        misbehaved = true;
        if (misbehave === 'unknown-watch-id') {
          stream.write({ header: header(), watch_id: '42', events: [{ type: 'PUT', kv: { key: Buffer.from(KEY), value: Buffer.from('{}'), mod_revision: '11' } }] });
        } else if (misbehave === 'extra-created') {
          stream.write({ header: header(), watch_id: '2', created: true, events: [] });
        } else {
          stream.write({ header: header(), watch_id: '1', events: [{ type: 'PUT' }] });
        }
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return Object.assign(state, { address: `127.0.0.1:${port}`, close: () => server.forceShutdown() });
}

describe('a misbehaving etcd cannot crash the process through the etcd3 client', () => {
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => void uncaught.push(error);

  before(() => {
    // Recorded, not swallowed silently: an uncaught exception fails the test (it would have ended the process).
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
  });
  after(() => {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  });

  for (const misbehave of ['unknown-watch-id', 'extra-created', 'event-without-kv'] as const) {
    test(`${misbehave}: the registry lives, keeps its instances and lists again`, async () => {
      const etcd = await startStubEtcd(misbehave);
      const errors: MeshError[] = [];
      const registry = new EtcdRegistry({ endpoints: [etcd.address], onError: (e) => errors.push(e) });
      const seen: (readonly RegistryInstance[])[] = [];
      try {
        const watch = registry.watchService('svc', (list) => seen.push(list));
        await watch.ready;
        assert.deepEqual(seen[0]?.map((i) => i.port), [9001]);
        await waitFor(() => etcd.ranges, (n) => n >= 2, 'the registry to list again after the broken watch stream');
        // Let the next ticks run: etcd3 rethrows a listener's error on one.
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.deepEqual(uncaught, [], 'nothing escaped as an uncaught exception');
        assert.ok(seen.every((list) => list.length === 1), 'the instance was never dropped');
        await waitFor(() => seen.at(-1)?.[0]?.port, (p) => p !== undefined && p >= 9002, 'the new listing to be handed on');
        assert.ok(errors.some((e) => e.code === 'XMESH_REGISTRY_UNAVAILABLE'), 'the broken stream was reported');
      } finally {
        await registry.close();
        etcd.close();
      }
    });
  }
});
