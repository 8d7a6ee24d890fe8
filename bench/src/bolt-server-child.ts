/**
 * Child-process entry: a stock SOFARPC provider (`sofa-rpc-node` RpcServer, Hessian2) on
 * 127.0.0.1 serving `com.xmesh.bench.EchoService.echo(bytes)`, which returns its argument. Reports
 * `{ port }` to the parent over IPC and exits when the parent disconnects.
 */
import { createRequire } from 'node:module';
import { BOLT_BENCH_SERVICE } from './bolt.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const sofa = require('sofa-rpc-node') as any;
const logger = { info() {}, warn() {}, error() {}, debug() {} };

async function main(): Promise<void> {
  const server = new sofa.server.RpcServer({ appName: 'bench', logger, port: 0, publishAddress: '127.0.0.1' });
  server.on('error', () => undefined);
  server.addService({ interfaceName: BOLT_BENCH_SERVICE }, { async echo(payload: unknown) { return payload; } });
  await server.start();
  process.send?.({ port: server.publishPort as number });
  const stop = () => void Promise.resolve(server.close()).finally(() => process.exit(0));
  process.once('disconnect', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
