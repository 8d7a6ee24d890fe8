// Config lifecycle: YAML file load, rejected updates (whole, with errors and an event) that leave the
// old config serving, file watching, and close() leaving no handles behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { hasCode } from '@xmesh/core';
import { createMesh, type Mesh } from '@xmesh/client';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../../../test/support/echo-server.js';
import { bootstrap } from '../../../test/support/mesh-config.js';
import { unary } from '../../../test/support/grpc-call.js';
import { waitFor } from '../../../test/support/wait.js';

const { EchoClient: EchoCtor } = loadEcho();

function yamlFor(cluster: string, address: string): string {
  // JSON is YAML: the file is the bootstrap object serialized.
  return JSON.stringify(bootstrap({ routes: [{ prefix: '/', cluster }], clusters: { [cluster]: [address] } }), null, 2);
}

describe('config lifecycle', () => {
  let a: EchoServer;
  let b: EchoServer;
  let dir: string;

  before(async () => {
    a = await startEchoServer('a');
    b = await startEchoServer('b');
    dir = mkdtempSync(join(tmpdir(), 'xmesh-config-'));
  });

  after(async () => {
    await Promise.all([a.close(), b.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a bad update is rejected whole with field errors and an event; the old config keeps serving', async () => {
    const mesh = await createMesh({ config: bootstrap({ routes: [{ prefix: '/', cluster: 'a' }], clusters: { a: [a.address] } }) });
    const echo = mesh.grpcClient(EchoCtor, 'echo:1') as EchoClient;
    try {
      const versionBefore = mesh.snapshot.version;
      const rejected: { errors: readonly { path: string }[]; source: string }[] = [];
      mesh.on('config.rejected', (e) => rejected.push(e));
      const bad = bootstrap({ routes: [{ prefix: '/', cluster: 'missing' }], clusters: { b: [b.address] } });
      const err = await mesh.update(bad).then(() => undefined, (e: unknown) => e);
      assert.ok(hasCode(err, 'XMESH_CONFIG_INVALID'));
      assert.ok(err.errors.some((e) => /route\.cluster$/.test(e.path) && /"missing"/.test(e.message)), JSON.stringify(err.errors));
      assert.equal(rejected.length, 1);
      assert.deepEqual(rejected[0]!.errors, err.errors);
      assert.equal(rejected[0]!.source, '(object)');
      assert.equal(mesh.snapshot.version, versionBefore);
      assert.equal((await unary(echo, { message: 'still' })).server, `a@${a.address}`);
    } finally {
      echo.close();
      await mesh.close();
    }
  });

  test('a watched file applies a good edit and rejects a bad one', async () => {
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, yamlFor('a', a.address));
    const mesh = await createMesh({ config: file, watch: true });
    const echo = mesh.grpcClient(EchoCtor, 'echo:1') as EchoClient;
    try {
      assert.equal((await unary(echo, { message: '1' })).server, `a@${a.address}`);
      const applied = new Promise<{ version: string; source: string }>((resolve) => mesh.once('config.applied', resolve));
      writeFileSync(file, yamlFor('b', b.address));
      const event = await applied;
      assert.equal(event.source, file);
      assert.equal(event.version, mesh.snapshot.version);
      assert.equal((await unary(echo, { message: '2' })).server, `b@${b.address}`);

      const rejected = new Promise<{ errors: readonly { path: string; message: string }[] }>((resolve) => mesh.once('config.rejected', resolve));
      writeFileSync(file, 'static_resources: {clusters: [{name: x, type: BOGUS}]');
      const bad = await rejected;
      assert.ok(bad.errors.length > 0);
      assert.deepEqual(bad.errors.map((e) => e.path), [file], 'the unparsable file itself is reported');
      assert.equal((await unary(echo, { message: '3' })).server, `b@${b.address}`);
    } finally {
      echo.close();
      await mesh.close();
    }
  });

  test('calls after close fail with XMESH_CLOSED', async () => {
    const mesh = await createMesh({ config: bootstrap({ routes: [{ prefix: '/', cluster: 'a' }], clusters: { a: [a.address] } }) });
    const echo = mesh.grpcClient(EchoCtor, 'echo:1') as EchoClient;
    await unary(echo, { message: 'x' });
    await mesh.close();
    const err = await unary(echo, { message: 'y' }).then(() => undefined, (e: grpc.ServiceError) => e);
    echo.close();
    assert.equal(err?.code, grpc.status.UNAVAILABLE);
    assert.match(err!.details, /^XMESH_CLOSED: /);
    const httpErr = await mesh.fetch('http://echo/x').then(() => undefined, (e: TypeError) => e);
    assert.ok(hasCode(httpErr?.cause, 'XMESH_CLOSED'));
  });

  test('close() leaves no handles behind', async () => {
    const file = join(dir, 'handles.yaml');
    writeFileSync(file, yamlFor('a', a.address));
    const settle = () => new Promise((r) => setTimeout(r, 100));
    await settle();
    const before = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').sort();
    const mesh = await createMesh({ config: file, watch: true });
    const echo = mesh.grpcClient(EchoCtor, 'echo:1') as EchoClient;
    await unary(echo, { message: 'x' });
    const during = process.getActiveResourcesInfo();
    assert.ok(during.length > before.length, 'the mesh held some resources while open');
    echo.close();
    await mesh.close();
    // Sockets finish closing on later turns of the event loop (a busy machine only makes that
    // slower), and handles of earlier tests may still be closing: none of any kind beyond `before`.
    const open = () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').sort();
    const extra = () => {
      const left = [...before];
      return open().filter((kind) => {
        const i = left.indexOf(kind);
        if (i < 0) return true;
        left.splice(i, 1);
        return false;
      });
    };
    await waitFor(() => extra().length === 0, 'the mesh\'s handles to close').catch(() => undefined);
    assert.deepEqual(extra(), [], 'handles left open by the mesh');
  });
});
