/**
 * Child-process entry: starts `count` stock grpc-js echo servers (one per port) on 127.0.0.1, plus one that
 * requires mutual TLS when given a certificate file list (JSON, see tls-certs.ts), reports `{ ports, tlsPort }`
 * to the parent over IPC, and exits when the parent disconnects.
 * Usage: node echo-server-child.js <count> [<tls files JSON>]
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { startEchoServer } from '@xmesh/example-quickstart';
import type { BenchTlsFiles } from './tls-certs.js';

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? '1');
  if (!Number.isInteger(count) || count < 1) throw new Error(`bad server count: ${process.argv[2]}`);
  const servers = await Promise.all(Array.from({ length: count }, (_, i) => startEchoServer(`s${i}`)));
  const tls = process.argv[3] === undefined ? undefined : (JSON.parse(process.argv[3]) as BenchTlsFiles);
  if (tls !== undefined) {
    const credentials = grpc.ServerCredentials.createSsl(readFileSync(tls.ca), [{ cert_chain: readFileSync(tls.serverCert), private_key: readFileSync(tls.serverKey) }], true);
    servers.push(await startEchoServer('tls', 0, '127.0.0.1', credentials));
  }
  process.send?.({ ports: servers.slice(0, count).map((s) => s.port), tlsPort: tls === undefined ? undefined : servers[count]!.port });
  const stop = () => void Promise.all(servers.map((s) => s.close())).finally(() => process.exit(0));
  process.once('disconnect', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
