/**
 * The benchmark: starts the echo servers in a child process, then runs the selected scenarios
 * interleaved (A B C A B C ...) for several rounds; each scenario instance runs every workload ×
 * load slice, each after a warm-up. Prints and writes the merged results. Exits 1 when a runnable
 * scenario failed to start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEchoService } from '@xmesh/example-quickstart';
import { loopLabel, parseBenchArgs, USAGE, type BenchOptions, type LoopSpec } from './args.js';
import { clockTicksPerSecond, processRssKb, startClientCpu, startProcessCpu } from './cpu.js';
import { ensureHaproxy, haproxyVersion } from './haproxy.js';
import { closedLoop, openLoop, type Call, type SliceResult } from './load.js';
import { describeMachine, machineInfo } from './machine.js';
import { compare, formatComparisons, formatTable, smokeRunNote, writeResults } from './report.js';
import { ResultMerger, rowLoopLabel, rowWorkload, type MeasuredSlice, type ResultRow } from './results.js';
import { SCENARIOS, type Scenario, type ScenarioContext, type ScenarioInstance } from './scenarios.js';
import { startServerProcess } from './server-process.js';
import { hasOpenssl, makeBenchCerts } from './tls-certs.js';
import { workloadLabel, type Workload } from './workload.js';

function runLoop(call: Call, loop: LoopSpec, durationMs: number): Promise<SliceResult> {
  return loop.kind === 'closed' ? closedLoop({ call, concurrency: loop.concurrency, durationMs }) : openLoop({ call, ratePerSec: loop.ratePerSec, durationMs });
}

/** Warm-up, then one measured slice with client and proxy CPU around it. */
async function measureSlice(call: Call, proxyPids: readonly number[], loop: LoopSpec, opts: BenchOptions, ticksPerSecond: number): Promise<MeasuredSlice> {
  await runLoop(call, loop, opts.warmupMs);
  const proxyCpu = proxyPids.length > 0 ? startProcessCpu(proxyPids, ticksPerSecond) : undefined;
  const clientCpu = startClientCpu();
  const result = await runLoop(call, loop, opts.durationMs);
  const clientCpuMs = clientCpu();
  const proxyCpuMs = proxyCpu?.();
  const proxyRssKb = proxyPids.length > 0 ? proxyPids.map((pid) => processRssKb(pid) ?? 0) : undefined;
  return { result, clientCpuMs, proxyCpuMs, proxyRssKb };
}

/**
 * Runs every scenario once, unmeasured, before round 1: the code shared by all scenarios
 * (grpc-js, the loops) is then compiled before anything is measured, not during the first scenario.
 */
async function warmUpProcess(scenarios: readonly Scenario[], workloads: readonly Workload[], ctx: ScenarioContext, warmupMs: number): Promise<void> {
  process.stdout.write(`warming up ${scenarios.length} scenario(s) ... `);
  for (const scenario of scenarios) {
    try {
      const instance = await scenario.start(ctx);
      try {
        for (const workload of workloads) {
          const call = instance.callFor(workload);
          if (call !== undefined) await closedLoop({ call, concurrency: 8, durationMs: warmupMs });
        }
      } finally {
        await instance.close();
      }
    } catch {
      // reported when the measured rounds start it
    }
  }
  console.log('done');
}

function describeSlice({ result }: MeasuredSlice): string {
  const rps = Math.round(result.calls / (Number(result.elapsedNs) / 1e9));
  const h = result.histogram;
  const p = (q: number) => (result.calls === 0 ? '-' : String(h.getValueAtPercentile(q)));
  return `${rps} calls/s, p50 ${p(50)} µs, p99 ${p(99)} µs, errors ${result.errors}`;
}

async function selectRunnable(selected: readonly Scenario[], ctx: ScenarioContext, notes: string[]): Promise<Scenario[]> {
  const runnable: Scenario[] = [];
  for (const scenario of selected) {
    const reason = await scenario.unavailable(ctx);
    if (reason === undefined) runnable.push(scenario);
    else {
      const note = `skipping ${scenario.name}: ${reason}`;
      console.log(note);
      notes.push(note);
    }
  }
  return runnable;
}

/** Rows grouped by workload, then load (both in the order given), scenarios in their listed order inside. */
function sortRows(rows: ResultRow[], opts: BenchOptions): ResultRow[] {
  const scenarioOrder = (r: ResultRow) => SCENARIOS.findIndex((s) => s.name === r.scenario);
  const workloadOrder = (r: ResultRow) => opts.workloads.map(workloadLabel).indexOf(workloadLabel(rowWorkload(r)));
  const loopOrder = (r: ResultRow) => opts.loops.map(loopLabel).indexOf(rowLoopLabel(r));
  return rows.sort((a, b) => workloadOrder(a) - workloadOrder(b) || loopOrder(a) - loopOrder(b) || scenarioOrder(a) - scenarioOrder(b));
}

async function main(): Promise<number> {
  const parsed = parseBenchArgs(process.argv.slice(2), SCENARIOS.map((s) => s.name));
  if (parsed === 'help') {
    console.log(USAGE);
    return 0;
  }
  const opts = parsed;
  const startedAt = new Date().toISOString();
  const notes: string[] = [];
  const selected = SCENARIOS.filter((s) => opts.scenarios.includes(s.name));
  const machine = machineInfo();
  const haproxy = selected.some((s) => s.name.startsWith('sidecar-haproxy')) ? ensureHaproxy((line) => console.log(line)) : undefined;
  if (haproxy !== undefined) machine.haproxy = haproxyVersion(haproxy);
  console.log(describeMachine(machine));
  console.log(
    `${opts.rounds} round(s) × [${selected.map((s) => s.name).join(', ')}] × [${opts.loops.map(loopLabel).join(', ')}], ` +
      `[${opts.workloads.map(workloadLabel).join(', ')}], ${opts.warmupMs / 1000} s warm-up + ${opts.durationMs / 1000} s measured per slice\n`,
  );

  const tmpDir = mkdtempSync(join(tmpdir(), 'xmesh-bench-'));
  // TLS scenarios need certificates (openssl) and a server requiring client certificates.
  const wantsTls = selected.some((s) => s.name.endsWith('-tls'));
  const tlsFiles = wantsTls && hasOpenssl() ? makeBenchCerts(tmpDir) : undefined;
  const servers = await startServerProcess(3, undefined, tlsFiles);
  const tls = tlsFiles && servers.tlsPort !== undefined ? { port: servers.tlsPort, files: tlsFiles } : undefined;
  const ctx: ScenarioContext = { Echo: loadEchoService(), ports: servers.ports, haproxy, tmpDir, tls };
  const merger = new ResultMerger();
  const ticksPerSecond = clockTicksPerSecond();
  const failedToStart = new Set<string>();
  const notApplicable = new Set<string>();
  try {
    const runnable = await selectRunnable(selected, ctx, notes);
    await warmUpProcess(runnable, opts.workloads, ctx, opts.warmupMs);
    for (let round = 1; round <= opts.rounds; round++) {
      for (const scenario of runnable) {
        let instance: ScenarioInstance;
        try {
          instance = await scenario.start(ctx);
        } catch (err) {
          console.log(`[round ${round}/${opts.rounds}] ${scenario.name}: failed to start: ${(err as Error).message}`);
          failedToStart.add(scenario.name);
          continue;
        }
        try {
          for (const workload of opts.workloads) {
            const call = instance.callFor(workload);
            if (call === undefined) {
              notApplicable.add(`${scenario.name} × ${workloadLabel(workload)}: not applicable (the scenario has no such call wired)`);
              continue;
            }
            for (const loop of opts.loops) {
              process.stdout.write(`[round ${round}/${opts.rounds}] ${scenario.name} ${workloadLabel(workload)} ${loopLabel(loop)} ... `);
              const slice = await measureSlice(call, instance.proxyPids, loop, opts, ticksPerSecond);
              console.log(describeSlice(slice));
              merger.add(scenario.name, workload, loop, slice);
            }
          }
        } finally {
          await instance.close();
        }
      }
    }
  } finally {
    await servers.stop();
    rmSync(tmpDir, { recursive: true, force: true });
  }

  const rows = sortRows(merger.rows(), opts);
  console.log(`\n${formatTable(rows)}\n`);
  const smoke = smokeRunNote(opts.rounds, opts.durationMs);
  if (smoke !== undefined) {
    console.log(`${smoke}\n`);
    notes.push(smoke);
  }
  for (const note of notApplicable) {
    console.log(note);
    notes.push(note);
  }
  const comparisons = formatComparisons(compare(rows));
  if (comparisons !== '') console.log(`${comparisons}\n`);
  for (const name of failedToStart) notes.push(`${name} failed to start in at least one round`);
  const outDir = opts.outDir ?? fileURLToPath(new URL('../results', import.meta.url));
  const command = `node ${process.execArgv.join(' ')} ${relative(process.cwd(), process.argv[1] ?? '')} ${process.argv.slice(2).join(' ')}`.replace(/\s+/g, ' ').trim();
  const written = writeResults(outDir, rows, { machine, command, startedAt, notes });
  console.log(`wrote ${relative(process.cwd(), written.json)} and ${relative(process.cwd(), written.html)}`);
  return failedToStart.size === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
