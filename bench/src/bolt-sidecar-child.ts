/**
 * Child-process entry: one xmesh sidecar whose Bolt listener (a free loopback port) routes every
 * Bolt call to the SOFARPC provider on `127.0.0.1:<port>`, with the bench's policies. Reports the
 * Bolt port as `{ port }` over IPC; drains and exits when the parent disconnects.
 * Usage: node bolt-sidecar-child.js <provider-port>
 */
import { startSidecar } from '@xmesh/sidecar';
import { boltBenchConfig } from './bolt.js';

async function main(): Promise<void> {
  const upstream = Number(process.argv[2]);
  if (!Number.isInteger(upstream) || upstream < 1) throw new Error(`bad upstream port: ${process.argv[2]}`);
  const sidecar = await startSidecar({ config: boltBenchConfig(upstream), listen: '127.0.0.1:0', admin: false });
  process.send?.({ port: sidecar.boltAddresses[0]!.port });
  const stop = () => void sidecar.drain(2000).finally(() => process.exit(0));
  process.once('disconnect', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
