// The test command: install, build every package (types included), then run every *.test.ts with
// Node's test runner on each tested Node line — the oldest supported LTS and the newest release
// (node-runtime.mjs installs a line the machine lacks from npm). Each run prints its TAP; the
// closing line sums both runs: `N passed, N failed, N skipped` (exit 1 when either run failed).
// Runs on any Node >= 18, the machine's own included.
//
//   node scripts/test.mjs [--no-install] [--node=22[,26]] [filter ...]
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { envWithNode, nodeOfLine, TESTED_NODE_LINES, versionOf } from './node-runtime.mjs';
import { build, ensureDebian, install, root } from './setup.mjs';
import { ZOOKEEPER_SCRIPT } from './zookeeper.mjs';

const args = process.argv.slice(2);
const skipInstall = args.includes('--no-install');
const nodeArg = args.find((a) => a.startsWith('--node='));
const lines = nodeArg ? nodeArg.slice('--node='.length).split(',').map(Number) : TESTED_NODE_LINES;
const runtimes = lines.map((line) => ({ line, node: nodeOfLine(line) }));

const buildEnv = envWithNode(runtimes[0].node);
if (!skipInstall) install(buildEnv);
build(runtimes[0].node);
// Real servers some tests start on loopback: without redis-server, etcd or zookeeperd (ZooKeeper, run from
// its jars by scripts/zookeeper.mjs) their tests fail; without haproxy the bench's HAProxy scenario tests
// skip, saying why. TLS tests make their certificates with openssl.
const missing = ensureDebian({ 'redis-server': 'redis-server', etcd: 'etcd-server', [ZOOKEEPER_SCRIPT]: 'zookeeperd', haproxy: 'haproxy', openssl: 'openssl' });
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

const filter = args.filter((a) => !a.startsWith('--'));
const files = ['packages', 'test', 'examples', 'bench']
  .flatMap((d) => find(join(root, d)))
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

/**
 * Test files run two at a time, each in its own process: most of them wait on sockets, servers and
 * timers rather than on the CPU (Node's default, one less than the cores, runs one at a time on two
 * cores). Two at a time loads a two-core machine about as a busy neighbour would, which every test
 * already bears. The files that start real etcd or ZooKeeper servers and kill and restart them (the
 * registries, SOFARPC, the demo) run one at a time, before the others: side by side, one file's
 * restarted server could find its port taken by another's, and their elections stretched past the
 * tests' bounds.
 */
const TEST_CONCURRENCY = 2;
const ONE_AT_A_TIME = /zookeeper|etcd|registry|sofarpc|test\/bolt\/|examples\/demo\//;

/**
 * Keeps each failing test of a TAP stream — its path of subtest names and the first 40 lines of its YAML
 * diagnostic — so that a run can repeat them beside its closing lines, the part of a long log a reader
 * sees first. A suite that failed only because a subtest failed is left out: the subtest is kept.
 */
class TapFailures {
  /** The name of the latest `# Subtest:` at each depth (four spaces a level). */
  #names = [];
  /** The failure whose YAML block is being read, if any. */
  #current = null;
  failures = [];

  line(text) {
    if (this.#current) {
      const block = this.#current.yaml;
      if (block.length === 0 && !/^\s*---$/.test(text)) return this.#keep(text);
      if (block.length < 40) block.push(text);
      if (/^\s*\.\.\.$/.test(text)) this.#keep();
      return;
    }
    const subtest = /^( *)# Subtest: (.*)$/.exec(text);
    if (subtest) {
      const depth = subtest[1].length / 4;
      this.#names.length = depth;
      this.#names[depth] = subtest[2];
      return;
    }
    const failed = /^( *)not ok \d+ - (.*)$/.exec(text);
    if (failed) this.#current = { path: [...this.#names.slice(0, failed[1].length / 4), failed[2]], yaml: [] };
  }

  #keep(next) {
    const failure = this.#current;
    this.#current = null;
    if (!failure.yaml.some((l) => l.includes("failureType: 'subtestsFailed'"))) this.failures.push(failure);
    if (next !== undefined) this.line(next);
  }
}

/**
 * Runs the files on `node` (`concurrency` at a time), echoing its output; resolves with the TAP summary
 * it closed on and its failing tests.
 */
function runFiles(node, batch, concurrency) {
  return new Promise((resolve) => {
    const child = spawn(
      node,
      ['--conditions=xmesh-source', '--import', 'tsx', '--test', '--test-reporter=tap', '--test-timeout=120000', `--test-concurrency=${concurrency}`, ...batch],
      { cwd: root, env: envWithNode(node), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const summary = {};
    const failures = new TapFailures();
    let pending = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      const text = pending + chunk.toString('utf8');
      const parts = text.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) {
        const m = /^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$/.exec(line);
        if (m) summary[m[1]] = Number(m[2]);
        failures.line(line);
      }
    });
    child.on('close', (code, signal) => resolve({ code: code ?? 1, signal, summary, failures: failures.failures }));
  });
}

/** Every file on `node`: those that must run alone first, then the rest; the summaries summed. */
async function runSuite(node) {
  const alone = files.filter((f) => ONE_AT_A_TIME.test(f));
  const rest = files.filter((f) => !ONE_AT_A_TIME.test(f));
  const runs = [];
  if (alone.length > 0) runs.push(await runFiles(node, alone, 1));
  if (rest.length > 0) runs.push(await runFiles(node, rest, TEST_CONCURRENCY));
  const summary = {};
  for (const run of runs) for (const [key, value] of Object.entries(run.summary)) summary[key] = (summary[key] ?? 0) + value;
  const failed = runs.find((run) => run.code !== 0);
  return { code: failed?.code ?? 0, signal: failed?.signal ?? null, summary, failures: runs.flatMap((run) => run.failures) };
}

async function main() {
  const totals = { passed: 0, failed: 0, skipped: 0 };
  let failedRuns = 0;
  const report = [];
  for (const { line, node } of runtimes) {
    const started = Date.now();
    console.log(`\n== ${files.length} test files on Node ${versionOf(node)} (${node})`);
    const { code, signal, summary, failures } = await runSuite(node);
    const passed = summary.pass ?? 0;
    // A run that exited non-zero without a failing test (a crash, a killed runner) still fails.
    const failed = (summary.fail ?? 0) + (summary.cancelled ?? 0) || (code !== 0 ? 1 : 0);
    const skipped = (summary.skipped ?? 0) + (summary.todo ?? 0);
    totals.passed += passed;
    totals.failed += failed;
    totals.skipped += skipped;
    if (code !== 0 || failed > 0) failedRuns++;
    const seconds = Math.round((Date.now() - started) / 1000);
    const result = `== Node ${line}: ${passed} passed, ${failed} failed, ${skipped} skipped in ${seconds} s${code !== 0 ? ` (exit ${signal ?? code})` : ''}`;
    console.log(result);
    report.push(result);
    for (const failure of failures) report.push(`   not ok: ${failure.path.join(' > ')}`, ...failure.yaml.map((l) => `     ${l.trim()}`));
  }
  // The failing tests of both runs, repeated where a truncated log still shows them, then the closing line.
  if (totals.failed > 0) console.log(`\n${report.join('\n')}`);
  console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
  process.exit(failedRuns > 0 ? 1 : 0);
}

main();
