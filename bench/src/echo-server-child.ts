/**
 * Child-process entry: starts `count` stock grpc-js echo servers (one per port) on 127.0.0.1,
 * reports `{ ports }` to the parent over IPC, and exits when the parent disconnects.
 * Usage: node echo-server-child.js <count>
 */
import { startEchoServer } from '@xmesh/example-quickstart';

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? '1');
  if (!Number.isInteger(count) || count < 1) throw new Error(`bad server count: ${process.argv[2]}`);
  const servers = await Promise.all(Array.from({ length: count }, (_, i) => startEchoServer(`s${i}`)));
  process.send?.({ ports: servers.map((s) => s.port) });
  const stop = () => void Promise.all(servers.map((s) => s.close())).finally(() => process.exit(0));
  process.once('disconnect', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
