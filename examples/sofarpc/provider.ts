/**
 * A stock SOFARPC provider, unchanged: `sofa-rpc-node`'s RpcServer publishing
 * `com.example.HelloService` in ZooKeeper (under /sofa-rpc) as any SOFA server does.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const { server, registry: registries } = require('sofa-rpc-node') as any;

const logger = { info() {}, warn() {}, error() {}, debug() {} };

export interface Provider {
  readonly port: number;
  close(): Promise<void>;
}

export async function startProvider(name: string, zookeeper: string): Promise<Provider> {
  const registry = new registries.ZookeeperRegistry({ logger, address: zookeeper });
  registry.on('error', () => undefined);
  const rpc = new server.RpcServer({ appName: name, logger, registry, port: 0, publishAddress: '127.0.0.1' });
  rpc.on('error', () => undefined);
  rpc.addService({ interfaceName: 'com.example.HelloService' }, {
    async sayHello(who: string) {
      return `hello ${who}, from ${name}`;
    },
  });
  await rpc.start();
  await rpc.publish();
  return {
    port: rpc.publishPort as number,
    close: async () => {
      await rpc.close();
      await registry.close();
    },
  };
}
