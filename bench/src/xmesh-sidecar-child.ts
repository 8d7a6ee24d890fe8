/**
 * Child-process entry: one xmesh sidecar on a free loopback port, routing every request to the
 * HTTP/2 upstream `127.0.0.1:<port>` (an echo server or the next sidecar) — or, with `bolt`, every
 * Bolt call arriving on its Bolt listener to the SOFARPC provider on that port. Reports the port it
 * serves on as `{ port }` to the parent over IPC; drains and exits when the parent disconnects.
 * Answers `{ type: 'memory' }` with its heap after a full GC (with --expose-gc), RSS and active handles.
 * Usage: node xmesh-sidecar-child.js <upstream-port> [bolt]
 */
import { startSidecar } from '@xmesh/sidecar';
import { embeddedBootstrap } from './embedded.js';
import { boltBenchConfig } from './bolt.js';

async function main(): Promise<void> {
  const upstream = Number(process.argv[2]);
  if (!Number.isInteger(upstream) || upstream < 1) throw new Error(`bad upstream port: ${process.argv[2]}`);
  const bolt = process.argv[3] === 'bolt';
  const sidecar = await startSidecar({ config: bolt ? boltBenchConfig(upstream) : embeddedBootstrap([upstream]), listen: '127.0.0.1:0', admin: false });
  process.send?.({ port: bolt ? sidecar.boltAddresses[0]!.port : sidecar.address.port });
  process.on('message', (message: { type?: string }) => {
    if (message?.type !== 'memory') return;
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ type: 'memory', heapUsed: process.memoryUsage().heapUsed, rss: process.memoryUsage.rss(), handles: process.getActiveResourcesInfo().length });
  });
  const stop = () => void sidecar.drain(2000).finally(() => process.exit(0));
  process.once('disconnect', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
