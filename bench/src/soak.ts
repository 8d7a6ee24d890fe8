/**
 * The soak: sustained unary load (100 B) at a share of the measured maximum (default 80 %) through
 * embedded mode (a stock generated client through `mesh.grpcClient`, policies on, in this process)
 * and through the xmesh sidecar (a stock client → the sidecar in its own process), each for
 * `--minutes`. Every `--sample-s` seconds the open loop pauses for a sample: heap used after a full
 * GC and RSS of the process that carries the mesh. The slope (least squares, MiB per minute, over the
 * samples after the first minute, when the heap has warmed up) says whether memory grows with time.
 * After each phase the client closes and the active handles are counted against the count before
 * the phase started: what is left open after `close()`.
 *
 * Not a test: it takes `2 × minutes` plus about a minute. Run it on a quiet machine:
 *   npm run soak -- --minutes 10
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadEchoService } from '@xmesh/example-quickstart';
import { echoUnaryCall, benchPayload } from './echo-calls.js';
import { EMBEDDED_TARGET } from './embedded.js';
import { closedLoop, openLoop, type Call } from './load.js';
import { describeMachine, machineInfo } from './machine.js';
import { SCENARIOS, type ScenarioContext } from './scenarios.js';
import { startServerProcess } from './server-process.js';
import { startXmeshSidecar, type SidecarMemory } from './xmesh-sidecar.js';

interface SoakOptions {
  readonly minutes: number;
  readonly sampleSeconds: number;
  readonly loadShare: number;
  readonly targets: readonly ('embedded' | 'sidecar')[];
  readonly out: string;
}

const MiB = 2 ** 20;

function parseArgs(argv: readonly string[]): SoakOptions {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const minutes = Number(value('--minutes') ?? 10);
  const sampleSeconds = Number(value('--sample-s') ?? 10);
  const loadShare = Number(value('--load') ?? 0.8);
  const targets = (value('--targets') ?? 'embedded,sidecar').split(',') as SoakOptions['targets'];
  if (!(minutes > 0) || !(sampleSeconds >= 1) || !(loadShare > 0 && loadShare <= 1) || targets.some((t) => t !== 'embedded' && t !== 'sidecar')) {
    throw new Error('usage: soak.ts [--minutes 10] [--sample-s 10] [--load 0.8] [--targets embedded,sidecar] [--out bench/results/soak.json]');
  }
  const out = value('--out') ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'soak.json');
  return { minutes, sampleSeconds, loadShare, targets, out };
}

interface Sample {
  /** Minutes since the load started. */
  readonly atMin: number;
  readonly heapMiB: number;
  readonly rssMiB: number;
}

export interface SoakResult {
  readonly target: 'embedded' | 'sidecar';
  readonly maxCallsPerSec: number;
  readonly rateCallsPerSec: number;
  readonly minutes: number;
  readonly calls: number;
  readonly errors: number;
  readonly p99Us: number;
  readonly samples: readonly Sample[];
  readonly heapSlopeMiBPerMin: number;
  readonly rssSlopeMiBPerMin: number;
  /** Active handles before the phase, and after the client closed (embedded: this process; sidecar: the sidecar's). */
  readonly handlesBefore: number;
  readonly handlesAfter: number;
  /** The first failed call's error, when any failed. */
  readonly firstError: string | undefined;
}

/** Least-squares slope of y over x; 0 with fewer than two points. */
export function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function ownMemory(): SidecarMemory {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run the soak with --expose-gc (npm run soak does)');
  gc();
  return { heapUsed: process.memoryUsage().heapUsed, rss: process.memoryUsage.rss(), handles: process.getActiveResourcesInfo().length };
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Phase {
  readonly call: Call;
  readonly memory: () => Promise<SidecarMemory>;
  /** Closes the client; resolves with the active handles left where memory is measured. */
  close(): Promise<number>;
}

async function embeddedPhase(ctx: ScenarioContext): Promise<Phase> {
  const scenario = SCENARIOS.find((s) => s.name === 'embedded')!;
  const instance = await scenario.start(ctx);
  const call = instance.callFor({ kind: 'unary', payloadBytes: 100 })!;
  return {
    call,
    memory: async () => ownMemory(),
    close: async () => {
      await instance.close();
      await settle(2000);
      return ownMemory().handles;
    },
  };
}

async function sidecarPhase(ctx: ScenarioContext): Promise<Phase> {
  const sidecar = await startXmeshSidecar(ctx.ports[0]!, 20_000, ['--expose-gc']);
  const client = new ctx.Echo(`127.0.0.1:${sidecar.port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'grpc.default_authority': EMBEDDED_TARGET });
  return {
    call: echoUnaryCall(client, benchPayload(100)),
    memory: () => sidecar.memory(),
    close: async () => {
      client.close();
      await settle(2000);
      const left = (await sidecar.memory()).handles;
      await sidecar.stop();
      return left;
    },
  };
}

async function soak(target: SoakResult['target'], ctx: ScenarioContext, options: SoakOptions): Promise<SoakResult> {
  const handlesBefore = target === 'embedded' ? ownMemory().handles : undefined;
  const started0 = target === 'embedded' ? await embeddedPhase(ctx) : await sidecarPhase(ctx);
  let firstError: string | undefined;
  const phase: Phase = {
    ...started0,
    call: () => started0.call().catch((error: unknown) => {
      firstError ??= `${(error as { code?: unknown }).code ?? ''} ${(error as Error).message ?? String(error)}`.trim();
      throw error;
    }),
  };
  await closedLoop({ call: phase.call, concurrency: 16, durationMs: 3000 });
  const max = await closedLoop({ call: phase.call, concurrency: 16, durationMs: 5000 });
  const maxCallsPerSec = max.calls / (Number(max.elapsedNs) / 1e9);
  const rate = Math.max(1, Math.round(maxCallsPerSec * options.loadShare));
  // The sidecar's own handles at rest (its listener, the client's connection) are the baseline it returns to.
  const sidecarBefore = target === 'sidecar' ? (await phase.memory()).handles : undefined;
  console.log(`${target}: max ${Math.round(maxCallsPerSec)} calls/s at c=16; soaking at ${rate} calls/s for ${options.minutes} min`);
  const samples: Sample[] = [];
  const started = process.hrtime.bigint();
  const atMin = () => Number(process.hrtime.bigint() - started) / 6e10;
  const sample = async () => {
    const m = await phase.memory();
    samples.push({ atMin: atMin(), heapMiB: m.heapUsed / MiB, rssMiB: m.rss / MiB });
  };
  await sample();
  let calls = 0;
  let errors = 0;
  let p99Us = 0;
  while (atMin() < options.minutes) {
    const slice = await openLoop({ call: phase.call, ratePerSec: rate, durationMs: options.sampleSeconds * 1000 });
    calls += slice.calls;
    errors += slice.errors;
    p99Us = Math.max(p99Us, slice.histogram.getValueAtPercentile(99));
    await sample();
    const last = samples.at(-1)!;
    process.stdout.write(`  ${last.atMin.toFixed(1)} min: heap ${last.heapMiB.toFixed(1)} MiB, rss ${last.rssMiB.toFixed(1)} MiB, ${slice.calls} ok, ${slice.errors} errors\n`);
  }
  const handlesAfter = await phase.close();
  const warm = samples.filter((s) => s.atMin >= Math.min(1, options.minutes / 2));
  return {
    target,
    maxCallsPerSec: Math.round(maxCallsPerSec),
    rateCallsPerSec: rate,
    minutes: options.minutes,
    calls,
    errors,
    p99Us,
    samples,
    heapSlopeMiBPerMin: slope(warm.map((s) => ({ x: s.atMin, y: s.heapMiB }))),
    rssSlopeMiBPerMin: slope(warm.map((s) => ({ x: s.atMin, y: s.rssMiB }))),
    handlesBefore: handlesBefore ?? sidecarBefore!,
    handlesAfter,
    firstError,
  };
}

export function formatSoak(results: readonly SoakResult[]): string {
  const rows = results.map((r) => {
    const first = r.samples[0]!;
    const last = r.samples.at(-1)!;
    return [
      r.target, `${r.rateCallsPerSec}/${r.maxCallsPerSec}`, r.minutes.toFixed(1), String(r.calls), String(r.errors), String(r.p99Us),
      `${first.heapMiB.toFixed(1)} → ${last.heapMiB.toFixed(1)}`, r.heapSlopeMiBPerMin.toFixed(3),
      `${first.rssMiB.toFixed(1)} → ${last.rssMiB.toFixed(1)}`, r.rssSlopeMiBPerMin.toFixed(3), `${r.handlesBefore} → ${r.handlesAfter}`,
    ];
  });
  const head = ['target', 'rate/max calls/s', 'min', 'calls', 'errors', 'p99 µs', 'heap MiB (GC)', 'heap MiB/min', 'RSS MiB', 'RSS MiB/min', 'handles'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const machine = machineInfo();
  console.log(describeMachine(machine));
  const servers = await startServerProcess(3);
  const tmpDir = mkdtempSync(join(tmpdir(), 'xmesh-soak-'));
  const ctx: ScenarioContext = { Echo: loadEchoService(), ports: servers.ports, haproxy: undefined, tmpDir };
  const results: SoakResult[] = [];
  try {
    for (const target of options.targets) results.push(await soak(target, ctx, options));
  } finally {
    await servers.stop();
    rmSync(tmpDir, { recursive: true, force: true });
  }
  console.log(`\n${formatSoak(results)}`);
  for (const r of results) if (r.firstError !== undefined) console.log(`${r.target}: first error: ${r.firstError}`);
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify({ machine, options, results }, null, 2)}\n`);
  console.log(`\nwrote ${options.out}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
