// The soak (bench/src/soak.ts): sustained load through embedded mode and through the xmesh sidecar,
// heap after GC and RSS sampled, the slope reported. Installs and builds like the other commands;
// runs on Node >= 22 (installed from npm when the machine's is older). A benchmark, not a test.
//   npm run soak -- [--minutes 10] [--sample-s 10] [--load 0.8] [--targets embedded,sidecar] [--no-install]
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reexecOnSupportedNode } from './node-runtime.mjs';
import { build, install, root, run } from './setup.mjs';

reexecOnSupportedNode(fileURLToPath(import.meta.url));

const args = process.argv.slice(2);
if (!args.includes('--no-install')) install();
build();
run(process.execPath, ['--expose-gc', '--conditions=xmesh-source', '--import', 'tsx', join(root, 'bench/src/soak.ts'), ...args.filter((a) => a !== '--no-install')]);
