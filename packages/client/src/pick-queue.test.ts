// Picks made while a cluster is still resolving wait for the next picker, bounded by the call's deadline.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type { Endpoint } from '@xmesh/core';
import type { EndpointSource } from '@xmesh/discovery';
import { Mesh } from '@xmesh/client';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../../../test/support/echo-server.js';
import { bootstrap } from '../../../test/support/mesh-config.js';
import { unary } from '../../../test/support/grpc-call.js';

const { EchoClient: EchoCtor } = loadEcho();

/** An endpoint source the test resolves by hand (test-only stand-in for a slow DNS answer). */
class ManualSource implements EndpointSource {
  endpoints: readonly Endpoint[] = Object.freeze([]);
  readonly ready: Promise<void>;
  private listeners: ((e: readonly Endpoint[]) => void)[] = [];
  private markReady!: () => void;
  constructor() {
    this.ready = new Promise((resolve) => { this.markReady = resolve; });
  }
  onChange(listener: (e: readonly Endpoint[]) => void): void { this.listeners.push(listener); }
  close(): void {}
  resolve(endpoints: readonly Endpoint[]): void {
    this.endpoints = Object.freeze([...endpoints]);
    for (const l of this.listeners) l(this.endpoints);
    this.markReady();
  }
}

function endpoint(address: string): Endpoint {
  const [host, port] = address.split(':') as [string, string];
  return { id: address, host, port: Number(port), weight: 1, healthStatus: 'HEALTHY', priority: 0, locality: { region: '', zone: '', subZone: '' }, localityWeight: undefined, metadata: {} };
}

describe('queued picks', () => {
  let server: EchoServer;
  before(async () => { server = await startEchoServer('late'); });
  after(async () => { await server.close(); });

  async function meshWithManualSource(): Promise<{ mesh: Mesh; source: ManualSource }> {
    const source = new ManualSource();
    const mesh = new Mesh({ components: { createEndpointSource: () => source } });
    const applied = new Promise((resolve) => mesh.once('config.applied', resolve));
    void mesh.update(bootstrap({ routes: [{ prefix: '/', cluster: 'late' }], clusters: { late: ['127.0.0.1:1'] } })).catch(() => undefined);
    await applied;
    return { mesh, source };
  }

  test('a call started before resolution completes once endpoints arrive', async () => {
    const { mesh, source } = await meshWithManualSource();
    const echo = mesh.grpcClient(EchoCtor, 'late:1') as EchoClient;
    try {
      const call = unary(echo, { message: 'q' }, { deadline: Date.now() + 5000 });
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(server.calls, 0);
      source.resolve([endpoint(server.address)]);
      const reply = await call;
      assert.equal(reply.server, `late@${server.address}`);
    } finally {
      echo.close();
      await mesh.close();
    }
  });

  test('a queued call fails with DEADLINE_EXCEEDED (XMESH_TIMEOUT) when its deadline passes first', async () => {
    const { mesh } = await meshWithManualSource();
    const echo = mesh.grpcClient(EchoCtor, 'late:1') as EchoClient;
    try {
      const started = Date.now();
      const err = await unary(echo, { message: 'q' }, { deadline: Date.now() + 80 }).then(() => undefined, (e: grpc.ServiceError) => e);
      assert.equal(err?.code, grpc.status.DEADLINE_EXCEEDED);
      assert.match(err!.details, /^XMESH_TIMEOUT: /);
      assert.ok(Date.now() - started < 5_000, 'ended by the 80 ms deadline, not left waiting');
    } finally {
      echo.close();
      await mesh.close();
    }
  });

  test('a queued call is released by cancellation: it never goes out once endpoints arrive', async () => {
    const { mesh, source } = await meshWithManualSource();
    const echo = mesh.grpcClient(EchoCtor, 'late:1') as EchoClient;
    try {
      const callsBefore = server.calls;
      const err = await new Promise<grpc.ServiceError>((resolve) => {
        const call = echo.Echo({ message: 'q' }, (e: grpc.ServiceError) => resolve(e));
        setTimeout(() => call.cancel(), 20);
      });
      assert.equal(err.code, grpc.status.CANCELLED);
      source.resolve([endpoint(server.address)]);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(server.calls, callsBefore, 'the cancelled call was dropped from the pick queue');
    } finally {
      echo.close();
      await mesh.close();
    }
  });
});
