/**
 * The demo's upstreams: three gRPC echo replicas on 127.0.0.1, `replica-2` flaky (its unary Echo
 * answers UNAVAILABLE on `FLAKY_FAILURE_RATE` of calls). Run as a process: listens on the ports of
 * `resources.yaml` (or on free ports with `--free-ports`), prints one line
 * `{"replicas":[{"name","port","flaky"},...]}` once all listen, and stops on SIGTERM/SIGINT.
 */
import { pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { echoImplementation, loadEchoService, type EchoReply, type EchoRequest } from '@xmesh/example-quickstart';

export const REPLICA_NAMES = ['replica-1', 'replica-2', 'replica-3'] as const;
export const FLAKY_REPLICA = 'replica-2';
/** The ports `resources.yaml` lists, in replica order. */
export const RESOURCE_PORTS = [50061, 50062, 50063] as const;
export const FLAKY_FAILURE_RATE = 0.4;

export interface ReplicaInfo {
  readonly name: string;
  readonly port: number;
  readonly flaky: boolean;
}

/** Starts one replica; a flaky one fails Echo calls with UNAVAILABLE at `failureRate` (chosen by `random`). */
async function startReplica(name: string, port: number, failureRate: number, random: () => number): Promise<{ info: ReplicaInfo; server: grpc.Server }> {
  const Echo = loadEchoService();
  const server = new grpc.Server();
  let address = '';
  const implementation = echoImplementation(name, () => address);
  if (failureRate > 0) {
    const echo = implementation['Echo'] as grpc.handleUnaryCall<EchoRequest, EchoReply>;
    implementation['Echo'] = (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
      if (random() < failureRate) callback({ code: grpc.status.UNAVAILABLE, details: `${name} is flaky` });
      else echo(call, callback);
    };
  }
  server.addService(Echo.service, implementation);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  address = `127.0.0.1:${bound}`;
  return { info: { name, port: bound, flaky: failureRate > 0 }, server };
}

/** Starts the three replicas on `ports` (0 = a free port). */
export async function startReplicas(ports: readonly number[], random: () => number = Math.random): Promise<{ replicas: ReplicaInfo[]; close(): void }> {
  const started: { info: ReplicaInfo; server: grpc.Server }[] = [];
  const close = () => {
    for (const { server } of started) server.forceShutdown();
  };
  try {
    for (const [i, name] of REPLICA_NAMES.entries()) {
      started.push(await startReplica(name, ports[i] ?? 0, name === FLAKY_REPLICA ? FLAKY_FAILURE_RATE : 0, random));
    }
  } catch (error) {
    close();
    throw error;
  }
  return { replicas: started.map((s) => s.info), close };
}

async function main(): Promise<void> {
  const free = process.argv.includes('--free-ports');
  const { replicas, close } = await startReplicas(free ? [0, 0, 0] : RESOURCE_PORTS);
  process.stdout.write(`${JSON.stringify({ replicas })}\n`);
  const stop = () => {
    close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
