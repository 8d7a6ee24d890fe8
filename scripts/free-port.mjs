// A free TCP port on 127.0.0.1, for the throwaway servers tests, the demo and the examples start
// (ZooKeeper, Redis, etcd, control planes). The port is free when this resolves; whoever binds it next gets it.
import { createServer } from 'node:net';

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
