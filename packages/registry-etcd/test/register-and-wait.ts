// A server process stand-in for tests: registers one instance (argv: etcd url, service, port, ttl
// seconds), prints "registered", then waits to be killed.
import { registerService } from '../src/index.js';

const [etcd, service, port, ttl] = process.argv.slice(2);
registerService({ etcd: etcd!, service: service!, address: '127.0.0.1', port: Number(port), ttlSeconds: Number(ttl) }).then(
  () => {
    process.stdout.write('registered\n');
    setInterval(() => undefined, 60_000);
  },
  (error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  },
);
