// A mesh given hostile config — an alias bomb as a file, hostile objects from code, a watched file
// that turns into a bomb — rejects it with XMESH_CONFIG_INVALID, emits `config.rejected`, and keeps
// serving its last good snapshot.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode, type FieldError } from '@xmesh/core';
import { createMesh, isMeshSnapshot, type Mesh } from '@xmesh/client';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { bootstrap } from '../support/mesh-config.js';
import { unary } from '../support/grpc-call.js';
import { aliasBomb, deepObject } from '../support/hostile-config.js';

const { EchoClient: EchoCtor } = loadEcho();

describe('a mesh given hostile config', () => {
  let upstream: EchoServer;
  let dir: string;
  const config = () => bootstrap({ routes: [{ prefix: '/', cluster: 'up' }], clusters: { up: [upstream.address] } });

  before(async () => {
    upstream = await startEchoServer('up');
    dir = mkdtempSync(join(tmpdir(), 'xmesh-hostile-config-'));
  });
  after(async () => {
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `update` on a serving mesh; asserts the typed rejection, the event, and that calls still work. */
  async function rejectedWhole(mesh: Mesh, echo: EchoClient, update: () => Promise<unknown>): Promise<readonly FieldError[]> {
    const version = mesh.snapshot.version;
    const events: { errors: readonly FieldError[]; source: string }[] = [];
    const listener = (e: { errors: readonly FieldError[]; source: string }) => events.push(e);
    mesh.on('config.rejected', listener);
    try {
      const error = await update().then(() => undefined, (e: unknown) => e);
      assert.ok(hasCode(error, 'XMESH_CONFIG_INVALID'), `rejected with ${String(error)}`);
      assert.ok(error.errors.length > 0);
      for (const e of error.errors) assert.equal(typeof e.path, 'string');
      assert.equal(events.length, 1, 'config.rejected fired once');
      assert.deepEqual(events[0]!.errors, error.errors);
      assert.equal(mesh.snapshot.version, version);
      assert.equal((await unary(echo, { message: 'still' })).server, `up@${upstream.address}`);
      return error.errors;
    } finally {
      mesh.off('config.rejected', listener);
    }
  }

  test('update(file) with an alias bomb, update(object) with hostile shapes: typed rejections, the old config serves', async () => {
    const mesh = await createMesh({ config: config() });
    const echo = mesh.grpcClient(EchoCtor, 'echo:1') as EchoClient;
    try {
      const bomb = join(dir, 'bomb.yaml');
      writeFileSync(bomb, aliasBomb());
      const [e] = await rejectedWhole(mesh, echo, () => mesh.update(bomb));
      assert.match(e!.message, /limit maxValues/);
      assert.equal(typeof e!.line, 'number');

      const cyclic = config() as { static_resources: Record<string, unknown> };
      cyclic.static_resources['self'] = cyclic;
      await rejectedWhole(mesh, echo, () => mesh.update(cyclic));
      await rejectedWhole(mesh, echo, () => mesh.update(Object.defineProperty({}, 'static_resources', { enumerable: true, get: () => { throw new Error('boom'); } })));
      // A proxy whose every trap throws, as a "snapshot" too: checking whether it is one must not throw either.
      const hostile = new Proxy({}, { get: () => { throw new Error('get'); }, ownKeys: () => { throw new Error('keys'); }, getPrototypeOf: () => { throw new Error('proto'); } });
      assert.equal(isMeshSnapshot(hostile), false);
      await rejectedWhole(mesh, echo, () => mesh.update(hostile));
      await rejectedWhole(mesh, echo, () => mesh.update({ ...config(), node: { metadata: deepObject(6_000) } }));
    } finally {
      echo.close();
      await mesh.close();
    }
  });

  test('createMesh on an alias bomb rejects with XMESH_CONFIG_INVALID', async () => {
    const bomb = join(dir, 'start-bomb.yaml');
    writeFileSync(bomb, aliasBomb());
    const error = await createMesh({ config: bomb }).then(() => undefined, (e: unknown) => e);
    assert.ok(hasCode(error, 'XMESH_CONFIG_INVALID'), String(error));
  });

  test('a watched file that becomes an alias bomb is rejected with its line; the next good edit applies', async () => {
    const file = join(dir, 'watched.yaml');
    writeFileSync(file, JSON.stringify(config(), null, 2));
    const mesh = await createMesh({ config: file, watch: true });
    const echo = mesh.grpcClient(EchoCtor, 'echo:1') as EchoClient;
    try {
      const version = mesh.snapshot.version;
      const rejected = new Promise<{ errors: readonly FieldError[] }>((resolve) => mesh.once('config.rejected', resolve));
      writeFileSync(file, aliasBomb());
      const { errors } = await rejected;
      assert.match(errors[0]!.message, /limit maxValues/);
      assert.equal(typeof errors[0]!.line, 'number');
      assert.equal(mesh.snapshot.version, version);
      assert.equal((await unary(echo, { message: 'still' })).server, `up@${upstream.address}`);

      const applied = new Promise<{ version: string }>((resolve) => mesh.once('config.applied', resolve));
      writeFileSync(file, JSON.stringify({ ...config(), node: { id: 'edited' } }, null, 2));
      assert.notEqual((await applied).version, version);
    } finally {
      echo.close();
      await mesh.close();
    }
  });

  test('watching a file whose directory does not exist reports config.rejected instead of throwing', async () => {
    const mesh = await createMesh({ config: config() });
    try {
      const rejected = new Promise<{ errors: readonly FieldError[] }>((resolve) => mesh.once('config.rejected', resolve));
      const missing = join(dir, 'no-such-dir', 'mesh.yaml');
      mesh.watch(missing);
      const { errors } = await rejected;
      assert.equal(errors[0]!.path, missing);
      assert.match(errors[0]!.message, /^cannot watch: .*ENOENT/);
    } finally {
      await mesh.close();
    }
  });
});
