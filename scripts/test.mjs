// The test command: install, build every package (types included), then run every *.test.ts with Node's
// test runner. Its TAP summary (# tests / # pass / # fail) is the closing output.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build, ensureDebian, install, root, run } from './setup.mjs';
import { ZOOKEEPER_SCRIPT } from './zookeeper.mjs';

const skipInstall = process.argv.includes('--no-install');
if (!skipInstall) install();
build();
// Real servers some tests start on loopback: without redis-server or zookeeperd (ZooKeeper, run from its
// jars by scripts/zookeeper.mjs) their tests fail; without haproxy the bench's HAProxy scenario tests
// skip, saying why.
const missing = ensureDebian({ 'redis-server': 'redis-server', haproxy: 'haproxy', [ZOOKEEPER_SCRIPT]: 'zookeeperd' });
if (missing.length > 0) console.warn(`not installed: ${missing.join(', ')}`);

const SKIP = new Set(['node_modules', 'dist', '.git', 'results']);
function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) find(full, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, full));
  }
  return out;
}

const filter = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const files = ['packages', 'test', 'examples', 'bench']
  .flatMap((d) => find(join(root, d)))
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
run(process.execPath, [
  '--conditions=xmesh-source',
  '--import', 'tsx',
  '--test',
  '--test-reporter=tap',
  '--test-timeout=120000',
  ...files,
]);
