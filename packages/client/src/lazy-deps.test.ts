// grpc-js and undici load on first use: importing `@xmesh/client` and creating a mesh loads neither
// (the sidecar's case); the first grpc-js channel or undici dispatcher loads them, and what they
// hand out is complete (the dispatcher has undici's `request`, which undici's index adds to its base class).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const CHILD = `
import { createRequire } from 'node:module';
import { createMesh } from '@xmesh/client';
const cache = createRequire(import.meta.url).cache;
const loaded = (name) => Object.keys(cache).some((file) => file.replace(/\\\\/g, '/').includes('/node_modules/' + name + '/') && file.endsWith('index.js'));
const config = { static_resources: { clusters: [{ name: 'c', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9 } } } }] }] } }] } };
const mesh = await createMesh({ config });
const steps = { created: { grpc: loaded('@grpc/grpc-js/build/src'), undici: loaded('undici') } };
const requestType = typeof mesh.dispatcher.request;
steps.dispatcher = { grpc: loaded('@grpc/grpc-js/build/src'), undici: loaded('undici'), request: requestType };
await mesh.close();
console.log(JSON.stringify(steps));
`;

test('createMesh loads neither grpc-js nor undici; mesh.dispatcher loads undici and has its request()', () => {
  const run = spawnSync(process.execPath, [...process.execArgv, '--input-type=module', '-e', CHILD], { encoding: 'utf8', timeout: 60_000, cwd: import.meta.dirname });
  assert.equal(run.status, 0, run.stderr);
  const steps = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, Record<string, unknown>>;
  assert.deepEqual(steps['created'], { grpc: false, undici: false });
  assert.deepEqual(steps['dispatcher'], { grpc: false, undici: true, request: 'function' });
});
