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
  /** Every call waits this long before it is handled, ms (0: none). */
  delayMs: number;
  close(): Promise<void>;
}

export interface ProviderOptions {
  readonly name: string;
  /**
   * ZooKeeper `host:port` to publish in (under `/sofa-rpc`), through this process's one stock
   * registry for it (stock registries of one process share their ZooKeeper client and its watches,
   * so a second one would disturb the first); none: not registered.
   */
  readonly zookeeper?: string;
  readonly version?: string;
  readonly group?: string;
  /** Custom metadata published in the provider URL (e.g. `{ enabled: 'false' }`; not `weight`: the stock publish then never sees itself). */
  readonly meta?: Record<string, unknown>;
  /** Serve `ProtoService` with protobuf. */
  readonly protobuf?: boolean;
}

/**
 * Starts a stock `RpcServer` serving `HelloService` (Hessian2): `sayHello(name)`, `whoami()`,
 * `fail(message)` (throws), `sleep(ms)`, `echo(value)`; and with `protobuf` `ProtoService.echoObj`.
 */
export async function startProvider(options: ProviderOptions): Promise<SofaProvider> {
  const registry = options.zookeeper === undefined ? undefined : sharedRegistry(options.zookeeper);
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
    delayMs: 0,
    close: async () => {
      await server.close();
    },
  };
  const count = (method: string) => state.calls.set(method, (state.calls.get(method) ?? 0) + 1);
  const guard = (method: string, handler: Handler): Handler => async (...args) => {
    count(method);
    if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
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

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const registries = new Map<string, any>();

/** This process's stock ZooKeeper registry for `zookeeper` (created once; `closeRegistries` closes them). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function sharedRegistry(zookeeper: string): any {
  let registry = registries.get(zookeeper);
  if (registry === undefined) {
    registry = stockRegistry(zookeeper);
    registries.set(zookeeper, registry);
  }
  return registry;
}

export async function closeRegistries(): Promise<void> {
  const all = [...registries.values()];
  registries.clear();
  await Promise.all(all.map((r) => r.close()));
}

/** A stock ZooKeeper registry (what providers publish with and consumers subscribe with). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function stockRegistry(zookeeper: string): any {
  const registry = new sofa.registry.ZookeeperRegistry({ logger: quietLogger, address: zookeeper });
  registry.on('error', () => undefined);
  return registry;
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
  const registry = zookeeper === undefined ? undefined : stockRegistry(zookeeper);
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

export interface ProviderProcess {
  /** Provider name → port. */
  readonly ports: Readonly<Record<string, number>>;
  /** SIGKILL: the providers die at once, their ZooKeeper session with them. */
  kill(): Promise<void>;
  /** SIGTERM: the providers unpublish and close. */
  close(): Promise<void>;
}

/** Starts `sofa-provider-process.ts` with `spec`; resolves once its providers are published. */
export async function spawnProviders(spec: import('./sofa-provider-process.js').ProviderProcessSpec): Promise<ProviderProcess> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['--conditions=xmesh-source', '--import', 'tsx', join(import.meta.dirname, 'sofa-provider-process.ts'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('the provider process did not start within 60 s')); }, 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = /ready (\{.*\})\n/.exec(out);
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line[1]!) as Record<string, number>);
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the provider process exited (${code}) before it was ready`)); });
  });
  // A provider that does not finish closing (its stock registry waiting on ZooKeeper) is killed after 10 s.
  const stop = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };
  return { ports, kill: () => stop('SIGKILL'), close: () => stop('SIGTERM') };
}
