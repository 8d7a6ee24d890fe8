// The sidecar loads only what it uses: forwarding h2c and gRPC on node:http2, configured with an
// object, never loads the grpc-js channel stack, undici, the registries' clients (etcd3, ZooKeeper),
// the Bolt codec's Hessian serializer or the YAML parser, which the embedded transports, the
// discovery package and config files use, nor Node's own bundled undici.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./support/footprint-child.ts', import.meta.url));
const NOT_LOADED = ['@grpc/grpc-js', 'etcd3', 'node-zookeeper-client', 'sofa-hessian-node', 'yaml'];
/** undici's `Dispatcher` base class (which `MeshDispatcher` extends) and its two helpers, not the package's 100-odd modules. */
const MAX_UNDICI_FILES = 5;

test('a sidecar forwarding h2c and gRPC loads neither grpc-js, undici, the registry clients, Hessian nor YAML', () => {
  const run = spawnSync(process.execPath, [...process.execArgv, CHILD], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  const { statuses, files, nodeUndici } = JSON.parse(run.stdout.trim().split('\n').pop()!) as { statuses: string[]; files: Record<string, number>; nodeUndici: boolean };
  assert.deepEqual(statuses, ['200', '200 grpc-status 0', '200', '200 grpc-status 0'], 'the calls went through the sidecar');
  assert.ok((files['protobufjs'] ?? 0) > 0, `the child reports the packages it loaded: ${JSON.stringify(files)}`);
  for (const name of NOT_LOADED) assert.equal(files[name], undefined, `${name} was loaded: ${JSON.stringify(files)}`);
  assert.ok((files['undici'] ?? 0) <= MAX_UNDICI_FILES, `undici files loaded: ${files['undici']}`);
  // An ESM import of node:http evaluates its lazy WebSocket exports, which load Node's bundled undici.
  assert.equal(nodeUndici, false, 'Node loaded its bundled undici');
});
