// The main job: validate the example configs, print their routing tables, run the quickstart
// (real gRPC/HTTP servers called through xmesh in embedded mode), the service registry (replicas
// registering in etcd, one restarted live), then the full demo (a control plane, three replicas, the
// xmesh sidecar; xDS-driven embedded mode ramped to sidecar mode and back; a short benchmark), then
// SOFARPC (a stock sofa-rpc-node provider in ZooKeeper called through xmesh in embedded mode, then
// flipped to the sidecar). `--no-bench` skips the benchmark.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reexecOnSupportedNode } from './node-runtime.mjs';
import { build, ensureDebian, install, root, run } from './setup.mjs';
import { ZOOKEEPER_SCRIPT } from './zookeeper.mjs';

reexecOnSupportedNode(fileURLToPath(import.meta.url));

if (!process.argv.includes('--no-install')) install();
build();
const missing = ensureDebian({ etcd: 'etcd-server', [ZOOKEEPER_SCRIPT]: 'zookeeperd' });

const tsx = ['--conditions=xmesh-source', '--import', 'tsx'];
const configs = ['examples/front-proxy/envoy.yaml', 'examples/istio-sidecar/resources.yaml', 'examples/quickstart/mesh.yaml', 'examples/registry/mesh.yaml', 'examples/demo/resources.yaml', 'examples/sofarpc/mesh.yaml'];
console.log('== xmesh validate --routes');
run(process.execPath, [join(root, 'packages/cli/dist/bin.js'), 'validate', '--routes', ...configs]);

console.log('\n== quickstart: calls through xmesh embedded mode');
run(process.execPath, [...tsx, join(root, 'examples/quickstart/app.ts')]);

console.log('\n== registry: three replicas register in etcd, an app calls them in embedded mode, one is restarted live');
if (missing.includes('etcd')) console.log('skipped: etcd is not installed (Debian etcd-server)');
else run(process.execPath, [...tsx, join(root, 'examples/registry/app.ts')]);

console.log('\n== demo: control plane, replicas, sidecar; embedded mode over xDS, ramp to the sidecar and back');
run(process.execPath, [...tsx, join(root, 'examples/demo/demo.ts'), ...(process.argv.includes('--no-bench') ? ['--no-bench'] : [])]);

console.log('\n== sofarpc: a stock SOFARPC provider in ZooKeeper, called through xmesh embedded mode, then the sidecar');
if (missing.includes(ZOOKEEPER_SCRIPT)) console.log(`skipped: ZooKeeper is not installed (apt-get install zookeeperd)`);
else run(process.execPath, [...tsx, join(root, 'examples/sofarpc/app.ts')]);
