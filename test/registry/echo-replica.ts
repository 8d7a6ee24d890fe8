// One echo server process registered in etcd (argv: etcd url, service, name, ttl seconds): prints
// its port once registered; on SIGTERM deregisters, waits, drains and exits. Killed with SIGKILL it
// just vanishes, and its key goes when its lease expires.
import { registerService, shutdownGracefully } from '@xmesh/registry-etcd';
import { startEchoServer } from '../support/echo-server.js';

async function main(): Promise<void> {
  const [etcd, service, name, ttl] = process.argv.slice(2);
  const server = await startEchoServer(name!);
  const registration = await registerService({ etcd: etcd!, service: service!, address: '127.0.0.1', port: server.port, ttlSeconds: Number(ttl ?? 10) });
  process.stdout.write(`registered ${server.port}\n`);
  process.once('SIGTERM', () => {
    void shutdownGracefully(registration, { propagationMs: 500, close: () => server.close() }).then(() => process.exit(0));
  });
}

main().catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
