/**
 * The stock SOFARPC Node stack (`sofa-rpc-node` 2.10.0, pinned) as test peers: providers on
 * 127.0.0.1 (optionally registered in ZooKeeper), and stock consumers. Nothing here speaks Bolt
 * itself: every byte on the wire on this side comes from the stock packages.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const sofa = require('sofa-rpc-node') as any;

export const HELLO_SERVICE = 'com.xmesh.test.HelloService';
export const PROTO_SERVICE = 'com.xmesh.test.ProtoService';
export const PROTO_FILE = join(import.meta.dirname, '..', 'fixtures', 'bolt', 'proto-service.proto');

/** The stock logger interface, silent. */
export const quietLogger = { info() {}, warn() {}, error() {}, debug() {} };

export function loadProto(): protobuf.Root {
  return protobuf.loadSync(PROTO_FILE);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Handler = (...args: any[]) => Promise<unknown>;

export interface SofaProvider {
  readonly name: string;
  readonly port: number;
  /** `127.0.0.1:<port>`: what a static cluster lists. */
  readonly address: string;
  /** Calls handled, per method. */
  readonly calls: Map<string, number>;
  /** Set to make every call fail (throw) until cleared. */
  failing: boolean;
  close(): Promise<void>;
}

export interface ProviderOptions {
  readonly name: string;
  /** ZooKeeper `host:port` to publish in (under `/sofa-rpc`); none: not registered. */
  readonly zookeeper?: string;
  readonly version?: string;
  readonly group?: string;
  /** Custom metadata published in the provider URL (e.g. `{ weight: 50 }`). */
  readonly meta?: Record<string, unknown>;
  /** Serve `ProtoService` with protobuf. */
  readonly protobuf?: boolean;
}

/**
 * Starts a stock `RpcServer` serving `HelloService` (Hessian2): `sayHello(name)`, `whoami()`,
 * `fail(message)` (throws), `sleep(ms)`, `echo(value)`; and with `protobuf` `ProtoService.echoObj`.
 */
export async function startProvider(options: ProviderOptions): Promise<SofaProvider> {
  const registry = options.zookeeper === undefined ? undefined : new sofa.registry.ZookeeperRegistry({ logger: quietLogger, address: options.zookeeper });
  const server = new sofa.server.RpcServer({
    appName: options.name,
    logger: quietLogger,
    port: 0,
    publishAddress: '127.0.0.1',
    ...(registry === undefined ? {} : { registry }),
    ...(options.version === undefined ? {} : { version: options.version }),
    ...(options.group === undefined ? {} : { group: options.group }),
    ...(options.protobuf ? { proto: loadProto() } : {}),
  });
  server.on('error', () => undefined);
  const state: SofaProvider = {
    name: options.name,
    port: 0,
    address: '',
    calls: new Map(),
    failing: false,
    close: async () => {
      await server.close();
      await registry?.close();
    },
  };
  const count = (method: string) => state.calls.set(method, (state.calls.get(method) ?? 0) + 1);
  const guard = (method: string, handler: Handler): Handler => async (...args) => {
    count(method);
    if (state.failing) throw new Error(`${options.name} is failing`);
    return handler(...args);
  };
  const hello: Record<string, Handler> = {
    sayHello: guard('sayHello', async (name: string) => `hello ${name} from ${options.name}`),
    whoami: guard('whoami', async () => options.name),
    fail: guard('fail', async (message: string) => { throw new Error(message); }),
    sleep: guard('sleep', async (ms: number) => { await new Promise((r) => setTimeout(r, ms)); return `${options.name} slept ${ms}`; }),
    echo: guard('echo', async (value: unknown) => value),
  };
  server.addService({ interfaceName: HELLO_SERVICE, ...(options.meta ? { customMeta: options.meta } : {}) }, hello);
  if (options.protobuf) {
    server.addService({ interfaceName: PROTO_SERVICE }, {
      echoObj: guard('echoObj', async (req: { name: string; group: string }) => ({ code: 200, message: `hello ${req.name} (${req.group}) from ${options.name}` })),
    });
  }
  await server.start();
  if (registry !== undefined) await server.publish();
  const port = server.publishPort as number;
  return Object.assign(state, { port, address: `127.0.0.1:${port}` });
}

export interface StockConsumer {
  invoke(method: string, args: unknown[], options?: { responseTimeout?: number }): Promise<unknown>;
}

export interface StockClient {
  consumer(options: { interfaceName: string; serverHost?: string; codecType?: 'hessian2' | 'protobuf'; responseTimeout?: number; version?: string; group?: string }): Promise<StockConsumer>;
  close(): Promise<void>;
}

/** A stock `RpcClient`, discovering providers in ZooKeeper when `zookeeper` is given, else by `serverHost`. */
export function stockClient(zookeeper?: string): StockClient {
  const registry = zookeeper === undefined ? undefined : new sofa.registry.ZookeeperRegistry({ logger: quietLogger, address: zookeeper });
  const client = new sofa.client.RpcClient({ logger: quietLogger, ...(registry === undefined ? {} : { registry }) });
  client.on('error', () => undefined);
  return {
    consumer: async (options) => {
      const consumer = client.createConsumer({ ...options, ...(options.codecType === 'protobuf' ? { proto: loadProto() } : {}) });
      await consumer.ready();
      return consumer as StockConsumer;
    },
    close: async () => {
      await client.close();
      await registry?.close();
    },
  };
}
