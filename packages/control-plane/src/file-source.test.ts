import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnvoyProtos, TypeUrl } from '@xmesh/xds';
import { ControlPlane, serveFile, type ControlPlaneLogger } from './index.js';
import { echoResources } from '../../../test/xds/echo-resources.js';
import { sotwStream } from '../../../test/xds/raw-ads.js';

const protos = loadEnvoyProtos();
const yaml = (port: number) => JSON.stringify({ resources: echoResources({ endpoints: { a: [port] }, split: { a: 1 } }) }, null, 2);

describe('serving a watched file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xmesh-cp-'));
  const file = join(dir, 'resources.yaml');
  const errors: string[] = [];
  const logger: ControlPlaneLogger = { info() {}, warn() {}, error: (m) => errors.push(m) };
  const plane = new ControlPlane({ protos, logger });
  let target = '';
  before(async () => {
    target = `127.0.0.1:${await plane.listen(0)}`;
  });
  after(async () => {
    await plane.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pushes each good edit to connected clients; a bad edit is logged with its errors and not served', async () => {
    writeFileSync(file, yaml(1001));
    const source = await serveFile(plane, file, { debounceMs: 20 });
    const s = sotwStream(protos, target);
    try {
      s.send({ node: { id: 'f' }, type_url: TypeUrl.ClusterLoadAssignment, resource_names: ['a'] });
      const first = await s.next();
      assert.equal(first.version_info, source.version);
      s.send({ type_url: TypeUrl.ClusterLoadAssignment, version_info: first.version_info!, resource_names: ['a'], response_nonce: first.nonce! });

      writeFileSync(`${file}.tmp`, yaml(2002));
      renameSync(`${file}.tmp`, file); // as editors save
      const pushed = await s.next(3000);
      assert.notEqual(pushed.version_info, first.version_info);
      assert.equal(pushed.version_info, source.version);
      s.send({ type_url: TypeUrl.ClusterLoadAssignment, version_info: pushed.version_info!, resource_names: ['a'], response_nonce: pushed.nonce! });

      // The route points at a cluster the file does not define: the whole edit is rejected.
      writeFileSync(file, yaml(3003).replace('"cluster": "a"', '"cluster": "nope"'));
      const served = source.version;
      const rejected = await source.reload();
      assert.deepEqual(rejected.map((e) => e.message), ['cluster "nope" is not defined']);
      assert.equal(source.version, served);
      assert.equal(plane.versionFor('f'), served);
      assert.ok(await s.quiet(300));
      assert.match(errors.at(-1) ?? '', /not served \(still serving version ".+"\):\n.*cluster "nope" is not defined/);
    } finally {
      s.close();
      source.close();
    }
  });

  it('refuses to start on a file that does not parse', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'resources: [\n');
    await assert.rejects(serveFile(plane, bad, { watch: false }), /bad\.yaml: cannot serve/);
  });
});
