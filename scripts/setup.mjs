// Installs the workspace (pnpm, pinned by package.json's packageManager) and builds every package.
// Plain `npm` is all a fresh machine needs: pnpm is fetched through npx, and a supported Node (see
// node-runtime.mjs) is installed from npm when the machine's is older.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { reexecOnSupportedNode } from './node-runtime.mjs';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options });
  if (r.status !== 0) {
    console.error(`\n${cmd} ${args.join(' ')} failed (${r.signal ?? `exit ${r.status}`})`);
    process.exit(r.status || 1);
  }
}

/** The pnpm the workspace pins (`packageManager`), e.g. "pnpm@12.4.2". */
export function pnpmSpec() {
  const pm = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager;
  return pm; // e.g. "pnpm@12.4.2"
}

/** Installs the workspace; `env` (default this process's) is the environment npx and pnpm run in. */
export function install(env = process.env) {
  const spec = pnpmSpec();
  run('npx', ['-y', spec, 'install', '--frozen-lockfile'], { env: { ...env, npm_config_yes: 'true' } });
}

/**
 * Makes sure Debian packages that tests or benchmarks start are installed (binary → package).
 * Installs with apt-get when running as root; otherwise says what is missing and lets the caller decide.
 * Returns the binaries still missing.
 */
export function ensureDebian(binaries) {
  const missing = Object.entries(binaries).filter(([bin]) => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0);
  if (missing.length === 0) return [];
  const pkgs = [...new Set(missing.map(([, pkg]) => pkg))];
  if (process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0) {
    console.log(`installing ${pkgs.join(', ')} (apt-get)`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
  }
  return missing.filter(([bin]) => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0).map(([bin]) => bin);
}

/**
 * Type-checks and builds every package, and the benchmark (its child entries run from bench/dist, so a
 * stale build would measure old code), with `tsc -b`, run by `node` (default this process's).
 */
export function build(node = process.execPath) {
  const configs = readdirSync(join(root, 'packages'))
    .map((p) => join('packages', p, 'tsconfig.json'))
    .concat(['bench/tsconfig.json'])
    .filter((p) => existsSync(join(root, p)));
  run(node, [join(root, 'node_modules/typescript/bin/tsc'), '-b', ...configs]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  reexecOnSupportedNode(fileURLToPath(import.meta.url));
  install();
  build();
}
