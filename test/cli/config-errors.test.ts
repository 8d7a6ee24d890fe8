// The `xmesh` verbs on bad config files, as processes: every file is checked, every error is printed
// as `validate` prints it (path, line; no stack trace), a verb that cannot start exits 1, and a watched
// file that goes bad is logged while the last good config keeps being served.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadEnvoyProtos, TypeUrl } from '@xmesh/xds';
import { aliasBomb, deepFlow } from '../support/hostile-config.js';
import { bootstrap } from '../support/mesh-config.js';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { unary } from '../support/grpc-call.js';
import { runXmesh, XmeshProcess } from '../support/xmesh-cli.js';
import { echoResources } from '../xds/echo-resources.js';
import { sotwStream } from '../xds/raw-ads.js';

const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/m;
const protos = loadEnvoyProtos();

describe('xmesh on bad config files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xmesh-cli-config-'));
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  let upstream: EchoServer;
  let good: string;
  let bomb: string;

  before(async () => {
    upstream = await startEchoServer('up');
    good = write('good.yaml', JSON.stringify(bootstrap({ routes: [{ prefix: '/', cluster: 'up' }], clusters: { up: [upstream.address] }, http2: ['up'] }), null, 2));
    bomb = write('bomb.yaml', aliasBomb());
  });
  after(async () => {
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('validate checks every file, an alias bomb and deep nesting included, and exits 1 without a stack trace', () => {
    const deep = write('deep.yaml', deepFlow(6_000));
    const run = runXmesh(['validate', good, bomb, deep, good]);
    assert.equal(run.status, 1, run.stderr);
    assert.doesNotMatch(run.stderr, STACK_FRAME);
    assert.equal(run.stdout.match(/good\.yaml: OK/g)?.length, 2, run.stdout);
    assert.match(run.stdout, /bomb\.yaml: INVALID \(1 error\)\n {2}\S+: the config holds more than 2000000 values once its aliases are expanded \(limit maxValues\) \(line \d+\)/);
    assert.match(run.stdout, /deep\.yaml: INVALID \(1 error\)\n {2}.*deep\.yaml: nested far deeper than 100 levels .*\(line 1\)/);
  });

  test('sidecar --config on a bad or missing file prints what validate prints and exits 1', () => {
    const invalid = write('invalid.yaml', 'static_resources:\n  clusters:\n  - name: x\n    type: BOGUS\n');
    for (const file of [invalid, bomb, join(dir, 'missing.yaml')]) {
      const listed = runXmesh(['validate', file]).stdout.trim();
      const run = runXmesh(['sidecar', '--config', file, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
      assert.equal(run.status, 1, run.stdout + run.stderr);
      assert.doesNotMatch(run.stderr, STACK_FRAME);
      assert.match(listed, /INVALID/);
      assert.equal(run.stderr.trim(), listed);
    }
  });

  test('control-plane on a bad file prints what validate prints and exits 1', () => {
    const run = runXmesh(['control-plane', '--config', bomb, '--port', '0']);
    assert.equal(run.status, 1);
    assert.doesNotMatch(run.stderr, STACK_FRAME);
    assert.ok(run.stderr.includes(runXmesh(['validate', bomb]).stdout.trim()), run.stderr);
  });

  test('control-plane watching a file that becomes an alias bomb logs it with its line, keeps serving, then serves the next good edit', async () => {
    const resources = (port: number) => JSON.stringify({ resources: echoResources({ endpoints: { a: [port] }, split: { a: 1 } }) }, null, 2);
    const file = write('served.yaml', resources(1001));
    const plane = new XmeshProcess(['control-plane', '--config', file, '--port', '0']);
    const stream = { current: undefined as ReturnType<typeof sotwStream> | undefined };
    try {
      const port = (await plane.waitFor(/ADS listening on 127\.0\.0\.1:(\d+)/))[1]!;
      const s = (stream.current = sotwStream(protos, `127.0.0.1:${port}`));
      s.send({ node: { id: 'cli' }, type_url: TypeUrl.ClusterLoadAssignment, resource_names: ['a'] });
      const first = await s.next(10_000);
      s.send({ type_url: TypeUrl.ClusterLoadAssignment, version_info: first.version_info!, resource_names: ['a'], response_nonce: first.nonce! });

      writeFileSync(file, aliasBomb());
      await plane.waitFor(new RegExp(`not served \\(still serving version "${first.version_info}"\\):\\n.*limit maxValues\\) \\(line \\d+\\)`), 'stderr');
      assert.ok(plane.alive, 'the control plane lives');
      assert.ok(await s.quiet(300), 'nothing new is pushed');

      writeFileSync(file, resources(2002));
      const pushed = await s.next(10_000);
      assert.notEqual(pushed.version_info, first.version_info);
      assert.ok(plane.alive);
    } finally {
      stream.current?.close();
      await plane.stop();
    }
  });

  test('sidecar watching a file that goes bad logs every error with its line and keeps serving the last good config', async () => {
    const file = write('sidecar.yaml', JSON.stringify(bootstrap({ routes: [{ prefix: '/', cluster: 'up' }], clusters: { up: [upstream.address] }, http2: ['up'] }), null, 2));
    const sidecar = new XmeshProcess(['sidecar', '--config', file, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
    const { EchoClient: EchoCtor } = loadEcho();
    let client: EchoClient | undefined;
    try {
      const target = (await sidecar.waitFor(/listening on (\S+?),/))[1]!;
      client = new EchoCtor(target, grpc.credentials.createInsecure()) as EchoClient;
      assert.equal((await unary(client, { message: 'before' })).message, 'before');

      writeFileSync(file, aliasBomb());
      await sidecar.waitFor(/sidecar\.yaml: INVALID \(1 error\)\n.*limit maxValues\) \(line \d+\)\n {2}still serving version "\w+"/, 'stderr');
      writeFileSync(file, 'static_resources:\n  clusters:\n  - name: up\n    type: BOGUS\n');
      await sidecar.waitFor(/sidecar\.yaml: INVALID \(\d+ errors?\)\n(.*\n)*.*type: .*"BOGUS" \(line 4\)/, 'stderr');
      assert.ok(sidecar.alive);
      assert.equal((await unary(client, { message: 'after' })).message, 'after');
      assert.doesNotMatch(sidecar.stderr, STACK_FRAME);
    } finally {
      client?.close();
      await sidecar.stop();
    }
  });
});
