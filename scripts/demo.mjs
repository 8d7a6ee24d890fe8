// The main job: validate the example configs, print their routing tables, then run the quickstart
// (real gRPC/HTTP servers called through xmesh in embedded mode).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { build, install, root, run } from './setup.mjs';

if (!process.argv.includes('--no-install')) install();
build();

const cli = join(root, 'packages/cli/dist/bin.js');
const configs = ['examples/front-proxy/envoy.yaml', 'examples/istio-sidecar/resources.yaml', 'examples/quickstart/mesh.yaml']
  .filter((f) => existsSync(join(root, f)));
console.log('== xmesh validate --routes');
run(process.execPath, [cli, 'validate', '--routes', ...configs]);

const app = join(root, 'examples/quickstart/app.ts');
if (existsSync(app)) {
  console.log('\n== quickstart: calls through xmesh embedded mode');
  run(process.execPath, ['--conditions=xmesh-source', '--import', 'tsx', app]);
}
