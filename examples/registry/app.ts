/**
 * The registry example: starts etcd, three echo replicas that register in it, and an app that calls
 * them in embedded mode through mesh.yaml's registry-backed cluster. Then one replica is restarted
 * live under load — deregistered, drained, replaced by a new process registering on a new port —
 * and the app's calls keep succeeding. Run: `npm start` (needs the Debian `etcd-server` package).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Metadata } from '@grpc/grpc-js';
import { parse } from 'yaml';
import { createMesh } from '@xmesh/client';
import { loadEchoService, startEchoServer, type EchoClient, type EchoReply, type RunningEchoServer } from '@xmesh/example-quickstart';
import { registerService, shutdownGracefully, type Registration } from '@xmesh/registry-etcd';
import { startLocalEtcd } from './etcd.js';

export interface RegistryExampleResult {
  /** Calls per replica before the restart. */
  readonly before: Record<string, number>;
  /** Calls per replica after it. */
  readonly after: Record<string, number>;
  /** Calls made while the replica was restarted, and how many failed. */
  readonly duringRestart: { readonly calls: number; readonly failed: number };
}

interface Replica {
  readonly server: RunningEchoServer;
  readonly registration: Registration;
}

/** mesh.yaml with its `etcd` cluster pointed at `endpoint`. */
function meshConfig(endpoint: string): Record<string, unknown> {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const file = [join(here, 'mesh.yaml'), join(here, '..', 'mesh.yaml')].find((p) => existsSync(p))!;
  const config = parse(readFileSync(file, 'utf8')) as { static_resources: { clusters: Record<string, unknown>[] } };
  const [host, port] = endpoint.split(':');
  const etcd = config.static_resources.clusters.find((c) => c['name'] === 'etcd')!;
  etcd['load_assignment'] = { cluster_name: 'etcd', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: Number(port) } } } }] }] };
  return config;
}

function countBy(replies: readonly EchoReply[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of replies) {
    const name = r.server.split('@')[0]!;
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}

export async function runRegistryExample(log: (line: string) => void = console.log): Promise<RegistryExampleResult> {
  const etcd = await startLocalEtcd();
  log(`etcd on ${etcd.endpoint}`);
  const replicas = new Map<string, Replica>();
  const startReplica = async (name: string) => {
    const server = await startEchoServer(name);
    const registration = await registerService({ etcd: [etcd.endpoint], service: 'echo', address: '127.0.0.1', port: server.port });
    replicas.set(name, { server, registration });
    log(`replica ${name} on ${server.address} registered as ${registration.key}`);
  };
  const mesh = await (async () => {
    for (const name of ['echo-1', 'echo-2', 'echo-3']) await startReplica(name);
    return createMesh({ config: meshConfig(etcd.endpoint), listener: 'echo.registry.svc' });
  })();
  const Echo = loadEchoService();
  const client = mesh.grpcClient(Echo, 'echo.registry.svc:80') as EchoClient;
  const call = () => new Promise<EchoReply>((resolve, reject) =>
    client.echo({ message: 'hi' }, new Metadata(), { deadline: Date.now() + 5_000 }, (err, reply) => (err || !reply ? reject(err) : resolve(reply))));
  try {
    const before = countBy(await Promise.all(Array.from({ length: 300 }, call)));
    log(`300 calls: ${JSON.stringify(before)}`);

    // Restart echo-2 live while 8 callers keep calling.
    let running = true;
    let calls = 0;
    let failed = 0;
    const callers = Array.from({ length: 8 }, async () => {
      while (running) {
        calls += 1;
        await call().catch(() => { failed += 1; });
      }
    });
    const old = replicas.get('echo-2')!;
    replicas.delete('echo-2');
    await shutdownGracefully(old.registration, { propagationMs: 500, close: () => old.server.close() });
    log('echo-2 deregistered, drained and stopped');
    await startReplica('echo-2b');
    await new Promise((r) => setTimeout(r, 500));
    running = false;
    await Promise.all(callers);
    log(`during the restart: ${calls} calls, ${failed} failed`);

    const after = countBy(await Promise.all(Array.from({ length: 300 }, call)));
    log(`300 calls: ${JSON.stringify(after)}`);
    return { before, after, duringRestart: { calls, failed } };
  } finally {
    client.close();
    await mesh.close();
    for (const { server, registration } of replicas.values()) {
      await registration.deregister();
      await server.close();
    }
    await etcd.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runRegistryExample().then(
    (result) => process.exit(result.duringRestart.failed === 0 ? 0 : 1),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
