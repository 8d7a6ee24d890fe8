// The benchmark: installs and builds like the other commands, makes sure HAProxy is there for the
// sidecar reference scenarios (apt-get as root; otherwise those scenarios are skipped), then runs
// bench/src/main.ts with the arguments given (e.g. `npm run bench -- --quick`).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reexecOnSupportedNode } from './node-runtime.mjs';
import { build, ensureDebian, install, root, run } from './setup.mjs';

reexecOnSupportedNode(fileURLToPath(import.meta.url));

const args = process.argv.slice(2);
if (!args.includes('--no-install')) install();
build();
ensureDebian({ haproxy: 'haproxy' });
run(process.execPath, ['--conditions=xmesh-source', '--import', 'tsx', join(root, 'bench/src/main.ts'), ...args.filter((a) => a !== '--no-install')]);
