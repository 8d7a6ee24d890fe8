/**
 * The demo's steps against a running mesh: (a) the weighted split, (b) the flaky replica's
 * ejection, (c) a local rate limit tripping, (d) the ramp to sidecar mode and back. Each prints
 * its lines and returns the problems it saw (empty = passed).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Metadata } from '@grpc/grpc-js';
import type { Mesh, ModeOptions } from '@xmesh/client';
import type { EchoClient } from '@xmesh/example-quickstart';
import { echoOnce, runCalls, SteadyLoad, type Tally } from './calls.js';
import { FLAKY_REPLICA, type ReplicaInfo } from './upstreams.js';

export interface StepContext {
  readonly mesh: Mesh;
  readonly client: EchoClient;
  readonly replicas: readonly ReplicaInfo[];
  readonly clusterOfReplica: ReadonlyMap<string, string>;
  /** Ejections seen since the mesh started. */
  readonly ejections: readonly { readonly cluster: string; readonly endpoint: string; readonly reason: string; readonly durationMs: number }[];
  /** Requests the sidecar received so far (its `http.sidecar.downstream_rq_total`). */
  sidecarRequests(): Promise<number>;
}

const pct = (n: number, of: number) => `${of === 0 ? 0 : Math.round((100 * n) / of)}%`.padStart(4);

function failedLines(tally: Tally): string[] {
  return [...tally.errors].map(([error, n]) => `    ${n} × ${error}`);
}

/** Retries the mesh made so far, per cluster (`cluster.<name>.upstream_rq_retry`). */
function retries(mesh: Mesh): number {
  let total = 0;
  for (const match of mesh.observability.statsText(/upstream_rq_retry$/).matchAll(/^cluster\.\S+\.upstream_rq_retry: (\d+)$/gm)) total += Number(match[1]);
  return total;
}

export async function showSplit(ctx: StepContext, calls = 400): Promise<string[]> {
  console.log(`\n== (a) weighted split: ${calls} calls to echo.demo.svc (route: 80 % echo-stable, 20 % echo-canary)`);
  const retriesBefore = retries(ctx.mesh);
  const tally = await runCalls(calls, 4, () => echoOnce(ctx.client));
  const perCluster = new Map<string, number>();
  for (const [replica, n] of tally.perReplica) {
    const cluster = ctx.clusterOfReplica.get(replica) ?? '?';
    perCluster.set(cluster, (perCluster.get(cluster) ?? 0) + n);
  }
  for (const [cluster, n] of [...perCluster].sort()) console.log(`  ${cluster.padEnd(12)} ${String(n).padStart(4)}  ${pct(n, tally.ok)}`);
  for (const [replica, n] of [...tally.perReplica].sort()) console.log(`    ${replica.padEnd(10)} ${String(n).padStart(4)}${replica === FLAKY_REPLICA ? '  (flaky)' : ''}`);
  console.log(`split: ${tally.ok} ok, ${tally.failed} failed, ${retries(ctx.mesh) - retriesBefore} retried attempts`);
  failedLines(tally).forEach((l) => console.log(l));
  const problems: string[] = [];
  if (tally.failed > 0) problems.push(`split: ${tally.failed} calls failed`);
  const stable = perCluster.get('echo-stable') ?? 0;
  if (Math.abs(stable / calls - 0.8) > 0.1) problems.push(`split: echo-stable got ${pct(stable, calls).trim()}, expected about 80%`);
  return problems;
}

export async function showEjection(ctx: StepContext, calls = 200): Promise<string[]> {
  const flaky = ctx.replicas.find((r) => r.name === FLAKY_REPLICA);
  const flakyEndpoint = `127.0.0.1:${flaky?.port}`;
  console.log(`\n== (b) outlier detection: ${FLAKY_REPLICA} (${flakyEndpoint}) fails ~40 % of its calls`);
  const deadline = Date.now() + 10_000;
  while (!ctx.ejections.some((e) => e.endpoint === flakyEndpoint) && Date.now() < deadline) await runCalls(20, 4, () => echoOnce(ctx.client));
  const ejection = ctx.ejections.find((e) => e.endpoint === flakyEndpoint);
  if (!ejection) return [`ejection: ${FLAKY_REPLICA} was not ejected within 10 s`];
  console.log(`ejected: ${FLAKY_REPLICA} (${ejection.endpoint}) from ${ejection.cluster}, reason ${ejection.reason}, for ${ejection.durationMs / 1000} s`);
  const retriesBefore = retries(ctx.mesh);
  const tally = await runCalls(calls, 4, () => echoOnce(ctx.client));
  const reached = tally.perReplica.get(FLAKY_REPLICA) ?? 0;
  console.log(`after the ejection: ${calls} calls, ${tally.ok} ok, ${tally.failed} failed, ${reached} reached ${FLAKY_REPLICA}, ${retries(ctx.mesh) - retriesBefore} retried attempts`);
  failedLines(tally).forEach((l) => console.log(l));
  const problems: string[] = [];
  if (tally.failed > 0) problems.push(`ejection: ${tally.failed} calls failed`);
  if (reached > 0) problems.push(`ejection: ${reached} calls still reached the ejected ${FLAKY_REPLICA}`);
  return problems;
}

export async function showRateLimit(ctx: StepContext, burst = 50): Promise<string[]> {
  console.log(`\n== (c) local rate limit: a burst of ${burst} calls on the route for x-demo-route: burst (20 tokens per minute)`);
  const metadata = new Metadata();
  metadata.set('x-demo-route', 'burst');
  const tally = await runCalls(burst, 10, () => echoOnce(ctx.client, metadata));
  console.log(`rate limit: ${burst} calls: ${tally.ok} ok / ${tally.rateLimited} limited / ${tally.failed} failed`);
  failedLines(tally).forEach((l) => console.log(l));
  const problems: string[] = [];
  if (tally.rateLimited === 0) problems.push('rate limit: no call was limited');
  if (tally.failed > 0) problems.push(`rate limit: ${tally.failed} calls failed otherwise`);
  return problems;
}

interface RampStep {
  readonly label: string;
  readonly mode: ModeOptions;
}

const RAMP: readonly RampStep[] = [
  { label: 'embedded, sidecar 0 %', mode: { mode: 'embedded', sidecar: { percent: 0 } } },
  { label: 'embedded, sidecar 50 %', mode: { sidecar: { percent: 50 } } },
  { label: 'sidecar 100 %', mode: { sidecar: { percent: 100 } } },
  { label: 'back to embedded', mode: { mode: 'embedded', sidecar: { percent: 0 } } },
];

export async function showRamp(ctx: StepContext, stepMs = 2000, concurrency = 8): Promise<string[]> {
  console.log(`\n== (d) mode ramp under a steady load (${concurrency} calls in flight), ${stepMs / 1000} s per step`);
  const problems: string[] = [];
  const load = new SteadyLoad(concurrency, () => echoOnce(ctx.client));
  try {
    for (const step of RAMP) {
      // Calls finishing between two steps count in the later one: none is left uncounted.
      const sidecarBefore = await ctx.sidecarRequests();
      ctx.mesh.setMode(step.mode);
      await sleep(stepMs);
      const tally = load.take();
      const viaSidecar = (await ctx.sidecarRequests()) - sidecarBefore;
      console.log(`ramp ${step.label.padEnd(22)} ${String(tally.total).padStart(5)} calls, ${String(tally.ok).padStart(5)} ok, ${tally.failed} failed (sidecar received ${viaSidecar}, ${pct(viaSidecar, tally.total).trim()})`);
      failedLines(tally).forEach((l) => console.log(l));
      if (tally.failed > 0) problems.push(`ramp "${step.label}": ${tally.failed} calls failed`);
      if (tally.ok === 0) problems.push(`ramp "${step.label}": no call completed`);
    }
  } finally {
    const rest = await load.stop();
    if (rest.failed > 0) problems.push(`ramp: ${rest.failed} calls failed while stopping`);
  }
  return problems;
}
