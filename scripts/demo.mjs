// The main job: validate the example configs, print their routing tables, run the quickstart
// (real gRPC/HTTP servers called through xmesh in embedded mode), then the full demo (a control
// plane, three replicas, the xmesh sidecar; xDS-driven embedded mode ramped to sidecar mode and
// back; a short benchmark). `--no-bench` skips the benchmark.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { build, install, root, run } from './setup.mjs';

if (!process.argv.includes('--no-install')) install();
build();

const cli = join(root, 'packages/cli/dist/bin.js');
const configs = ['examples/front-proxy/envoy.yaml', 'examples/istio-sidecar/resources.yaml', 'examples/quickstart/mesh.yaml', 'examples/demo/resources.yaml']
  .filter((f) => existsSync(join(root, f)));
console.log('== xmesh validate --routes');
run(process.execPath, [cli, 'validate', '--routes', ...configs]);

const app = join(root, 'examples/quickstart/app.ts');
if (existsSync(app)) {
  console.log('\n== quickstart: calls through xmesh embedded mode');
  run(process.execPath, ['--conditions=xmesh-source', '--import', 'tsx', app]);
}

const demo = join(root, 'examples/demo/demo.ts');
if (existsSync(demo)) {
  console.log('\n== demo: control plane, replicas, sidecar; embedded mode over xDS, ramp to the sidecar and back');
  const extra = process.argv.includes('--no-bench') ? ['--no-bench'] : [];
  run(process.execPath, ['--conditions=xmesh-source', '--import', 'tsx', demo, ...extra]);
}
