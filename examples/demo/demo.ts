/**
 * The demo: a control plane serving `resources.yaml`, three echo replicas (one flaky) and the xmesh
 * sidecar as child processes, and an app here in embedded mode driven by xDS. It shows the weighted
 * split, the flaky replica's ejection, a local rate limit, a ramp to sidecar mode and back under
 * load, and ends with a short benchmark. Everything it starts, it stops. Exits 0 when every step
 * passed, 1 otherwise. `--no-bench` skips the benchmark.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMesh, type Mesh } from '@xmesh/client';
import { ControlPlane, silentLogger } from '@xmesh/control-plane';
import type { XdsBootstrap } from '@xmesh/discovery';
import { loadEchoService, type EchoClient } from '@xmesh/example-quickstart';
import { runQuickBench, BENCH_SCENARIOS } from './bench-table.js';
import { ChildGroup, type Child } from './processes.js';
import { ECHO_SERVICE, loadDemoResources, RESOURCES_PATH } from './resources.js';
import { showEjection, showRamp, showRateLimit, showSplit, type StepContext } from './steps.js';
import type { ReplicaInfo } from './upstreams.js';

const bootstrapFor = (port: number, nodeId: string): XdsBootstrap => ({
  xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
  node: { id: nodeId, cluster: 'xmesh-demo' },
});

/** `xmesh sidecar listening on H:P, admin on H:Q` → both addresses. */
function sidecarAddresses(line: string): { target: string; admin: string } {
  const match = /listening on (\S+?), admin on (\S+)/.exec(line);
  if (!match) throw new Error(`unexpected sidecar output: ${line}`);
  return { target: match[1]!, admin: match[2]! };
}

async function downstreamRequests(admin: string): Promise<number> {
  const text = await (await fetch(`http://${admin}/stats`)).text();
  return Number(/^http\.sidecar\.downstream_rq_total: (\d+)$/m.exec(text)?.[1] ?? 0);
}

async function main(): Promise<number> {
  const started = Date.now();
  const children = new ChildGroup();
  process.once('exit', () => children.killAll());
  const cleanup: (() => Promise<void> | void)[] = [];
  const problems: string[] = [];
  try {
    console.log('== starting: three echo replicas, the control plane, the xmesh sidecar');
    const upstreams = await children.start('upstreams', 'examples/demo/upstreams.ts', ['--free-ports'], /^\{"replicas"/);
    cleanup.push(() => upstreams.stop());
    const { replicas } = JSON.parse(upstreams.readyLine) as { replicas: ReplicaInfo[] };
    for (const r of replicas) console.log(`  ${r.name.padEnd(10)} 127.0.0.1:${r.port}${r.flaky ? '  flaky: UNAVAILABLE on ~40 % of calls' : ''}`);

    const { resources, clusterOfReplica } = loadDemoResources(replicas);
    const plane = new ControlPlane({ logger: silentLogger });
    plane.setSnapshot('demo-1', resources);
    const planePort = await plane.listen(0);
    cleanup.push(() => plane.close());
    console.log(`  control plane 127.0.0.1:${planePort} serving ${RESOURCES_PATH.slice(RESOURCES_PATH.indexOf('examples/'))} (${resources.length} resources)`);

    const dir = mkdtempSync(join(tmpdir(), 'xmesh-demo-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const bootstrapFile = join(dir, 'sidecar-bootstrap.json');
    writeFileSync(bootstrapFile, JSON.stringify(bootstrapFor(planePort, 'demo-sidecar')));
    const sidecarChild: Child = await children.start('sidecar', 'packages/cli/src/bin.ts',
      ['sidecar', '--xds', bootstrapFile, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--drain-ms', '2000'], /listening on/);
    cleanup.push(() => sidecarChild.stop());
    const sidecar = sidecarAddresses(sidecarChild.readyLine);
    console.log(`  sidecar    ${sidecar.target} (admin ${sidecar.admin}), config from the control plane`);

    const mesh: Mesh = await createMesh({
      xds: bootstrapFor(planePort, 'demo-app'),
      listener: ECHO_SERVICE,
      mode: 'embedded',
      sidecar: { address: sidecar.target, percent: 0 },
      env: {},
    });
    cleanup.push(() => mesh.close());
    const ejections: StepContext['ejections'][number][] = [];
    mesh.on('endpoint.ejected', (e) => ejections.push(e));
    mesh.on('config.rejected', ({ errors }) => problems.push(`config rejected: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`));
    console.log(`  app        embedded mode, xDS from the control plane (snapshot ${mesh.snapshot.version})`);
    const client = mesh.grpcClient(loadEchoService(), `${ECHO_SERVICE}:50051`) as EchoClient;
    cleanup.push(() => client.close());

    const ctx: StepContext = { mesh, client, replicas, clusterOfReplica, ejections, sidecarRequests: () => downstreamRequests(sidecar.admin) };
    problems.push(...(await showSplit(ctx)));
    problems.push(...(await showEjection(ctx)));
    problems.push(...(await showRateLimit(ctx)));
    problems.push(...(await showRamp(ctx)));

    if (!process.argv.includes('--no-bench')) {
      console.log(`\n== smoke benchmark (one short round, not a result): bench --quick --scenarios ${BENCH_SCENARIOS.join(',')} (closed loop, 16 in flight)`);
      const bench = await runQuickBench();
      bench.lines.forEach((l) => console.log(l));
      if (!bench.ok) problems.push('benchmark: the run failed');
    }
  } catch (error) {
    problems.push(`error: ${(error as Error).stack ?? String(error)}`);
  } finally {
    for (const step of cleanup.reverse()) {
      try {
        await step();
      } catch (error) {
        problems.push(`cleanup: ${(error as Error).message}`);
      }
    }
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (problems.length === 0) console.log(`\ndemo: ok (${seconds} s, everything stopped)`);
  else console.log(`\ndemo: FAILED (${seconds} s)\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
