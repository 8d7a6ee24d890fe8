// Every sample xDS bootstrap in the docs is accepted by stock @grpc/grpc-js-xds 1.14 (its own bootstrap
// validation: it needs `node.locality`, for one) and by xmesh, so one file serves both clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { resolveBootstrap } from '@xmesh/discovery';

const ROOT = join(import.meta.dirname, '..', '..');
const DOCS = ['README.md', 'docs/migration-grpc-js-xds.md', 'packages/control-plane/README.md'];
const require = createRequire(import.meta.url);
const { validateBootstrapConfig } = require('@grpc/grpc-js-xds/build/src/xds-bootstrap.js') as { validateBootstrapConfig(obj: unknown): unknown };

/** The JSON code blocks of `file` that hold an xDS bootstrap. */
function bootstraps(file: string): unknown[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((block) => block.includes('"xds_servers"')).map((block) => JSON.parse(block));
}

test('the sample bootstraps of the README and docs are accepted by grpc-js-xds 1.14 and by xmesh', () => {
  const found = DOCS.flatMap((file) => bootstraps(file).map((bootstrap) => ({ file, bootstrap })));
  assert.ok(found.length >= 3, `found ${found.length} sample bootstraps`);
  for (const { file, bootstrap } of found) {
    assert.doesNotThrow(() => validateBootstrapConfig(bootstrap), `${file}: grpc-js-xds refuses its bootstrap`);
    assert.doesNotThrow(() => resolveBootstrap(bootstrap as never), `${file}: xmesh refuses its bootstrap`);
  }
  // The check can fail: without node.locality grpc-js-xds refuses a bootstrap xmesh reads.
  const withoutLocality = { xds_servers: [{ server_uri: 'cp:18000', channel_creds: [{ type: 'insecure' }] }], node: { id: 'n' } };
  assert.throws(() => validateBootstrapConfig(withoutLocality), /locality field missing/);
  assert.equal(resolveBootstrap(withoutLocality).node.id, 'n');
});
