/**
 * The SOFARPC example: ZooKeeper (Debian zookeeperd) on loopback, a stock SOFARPC provider registered
 * in it, and an app whose one changed line makes its consumer call through xmesh — first in embedded
 * mode (the mesh finds the provider in ZooKeeper and applies the routes), then flipped to the xmesh
 * sidecar (the same config; the app's calls go to the sidecar's Bolt port, which applies it instead).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { createMesh } from '@xmesh/client';
import { MeshRpcClient } from '@xmesh/bolt';
import { startSidecar } from '@xmesh/sidecar';
import { startProvider } from './provider.js';

export interface ExampleResult {
  readonly embedded: readonly string[];
  readonly sidecar: readonly string[];
}

/** The example's config with the ZooKeeper it started and a free port for the sidecar's Bolt listener. */
export function loadConfig(zookeeper: string): object {
  const config = parse(readFileSync(join(import.meta.dirname, 'mesh.yaml'), 'utf8'));
  config.static_resources.listeners[0].address.socket_address.port_value = 0;
  const [host, port] = [zookeeper.slice(0, zookeeper.lastIndexOf(':')), Number(zookeeper.slice(zookeeper.lastIndexOf(':') + 1))];
  config.static_resources.clusters[1].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address = { address: host, port_value: port };
  return config;
}

export async function runExample(zookeeper: string, log: (line: string) => void = console.log): Promise<ExampleResult> {
  const provider = await startProvider('provider-1', zookeeper);
  log(`provider-1: stock SOFARPC server on 127.0.0.1:${provider.port}, published in ZooKeeper ${zookeeper}`);
  const config = loadConfig(zookeeper);
  const sidecar = await startSidecar({ config, listen: '127.0.0.1:0', admin: false });
  const boltPort = sidecar.boltAddresses[0]!.port;
  log(`xmesh sidecar: Bolt listener on 127.0.0.1:${boltPort}`);
  const mesh = await createMesh({ config });
  // The one changed line: `new RpcClient({ logger, registry })` becomes
  const client = new MeshRpcClient(mesh, { sidecarAddress: `127.0.0.1:${boltPort}` });
  const consumer = client.createConsumer({ interfaceName: 'com.example.HelloService' });
  await consumer.ready();
  try {
    const embedded: string[] = [];
    for (let i = 0; i < 3; i++) embedded.push(String(await consumer.invoke('sayHello', [`call ${i}`])));
    log(`embedded mode: ${embedded.join(' | ')}`);
    mesh.setMode({ mode: 'sidecar' });
    const sidecarReplies: string[] = [];
    for (let i = 0; i < 3; i++) sidecarReplies.push(String(await consumer.invoke('sayHello', [`call ${i}`])));
    log(`sidecar mode:  ${sidecarReplies.join(' | ')}`);
    log(`sidecar saw ${sidecar.mesh.observability.store.value('cluster.hello.upstream_rq_total')} calls; the app's embedded pipeline ${mesh.observability.store.value('cluster.hello.upstream_rq_total')}`);
    return { embedded, sidecar: sidecarReplies };
  } finally {
    await client.close();
    await mesh.close();
    await sidecar.close();
    await provider.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  // @ts-expect-error: a plain ES module of the repo's scripts, without type declarations
  const { startZooKeeper } = await import('../../scripts/zookeeper.mjs');
  const zk = await startZooKeeper();
  try {
    await runExample(zk.connectString);
  } finally {
    await zk.stop();
  }
}
