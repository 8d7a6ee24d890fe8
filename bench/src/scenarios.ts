/**
 * The benchmarked ways of making the same Echo calls (unary with a given payload, ServerStream).
 * Each scenario builds its client (and proxies) against the shared server process and returns a
 * call per workload; the harness measures them all the same way.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { EchoClientConstructor } from '@xmesh/example-quickstart';
import { benchPayload, stockEchoCalls, type CallFactory } from './echo-calls.js';
import { startHaproxy, type HaproxyProcess } from './haproxy.js';
import type { Call } from './load.js';
import { embeddedBootstrap, loadCreateMesh, EMBEDDED_TARGET, type BenchGrpcTransport, type EmbeddedMirror } from './embedded.js';
import { startChildEntry, startXmeshSidecar, type XmeshSidecarProcess } from './xmesh-sidecar.js';
import { h2FloorClient, type UnaryMethodDefinition } from './h2-floor.js';
import { BENCH_SERVER_ID, BENCH_SERVER_NAME, type BenchTlsFiles } from './tls-certs.js';
import { startBoltScenario } from './bolt.js';

export interface ScenarioContext {
  readonly Echo: EchoClientConstructor;
  /** Echo server ports on 127.0.0.1 (at least three). */
  readonly ports: readonly number[];
  /** haproxy binary, when available. */
  readonly haproxy: string | undefined;
  /** A scratch directory for generated config files. */
  readonly tmpDir: string;
  /** The echo server requiring mutual TLS and the certificates to reach it; undefined without openssl. */
  readonly tls?: { readonly port: number; readonly files: BenchTlsFiles } | undefined;
}

export interface ScenarioInstance {
  /** The call of a workload; undefined when this scenario has no such call (reported as not applicable). */
  readonly callFor: CallFactory;
  /** Processes that carry the calls between client and server (their CPU is the proxy's). */
  readonly proxyPids: readonly number[];
  close(): Promise<void>;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** Why it cannot run here, or undefined when it can. */
  unavailable(ctx: ScenarioContext): Promise<string | undefined>;
  start(ctx: ScenarioContext): Promise<ScenarioInstance>;
}

/** Share of the calls `embedded-mirror` copies to its shadow cluster. */
export const MIRROR_PERCENT = 30;

/** Channel options of every stock client: no subchannel sharing between scenarios. */
const LOCAL_POOL: grpc.ChannelOptions = { 'grpc.use_local_subchannel_pool': 1 };

function stockClient(ctx: ScenarioContext, target: string, options: grpc.ChannelOptions = {}): ScenarioInstance {
  const client = new ctx.Echo(target, grpc.credentials.createInsecure(), { ...LOCAL_POOL, ...options });
  return { callFor: stockEchoCalls(client), proxyPids: [], close: async () => client.close() };
}

const always = async () => undefined;

/** HAProxy hops; with `tls`, the last hop originates mutual TLS to the mTLS server. */
async function withHaproxyChain(ctx: ScenarioContext, hops: number, tls = false): Promise<ScenarioInstance> {
  if (ctx.haproxy === undefined) throw new Error('haproxy is not available');
  if (tls && ctx.tls === undefined) throw new Error('no TLS server (openssl is not available)');
  const proxies: HaproxyProcess[] = [];
  try {
    let upstream = (tls ? ctx.tls?.port : ctx.ports[0]) ?? 0;
    for (let hop = hops; hop >= 1; hop--) {
      const originate = tls && hop === hops ? { clientPem: ctx.tls!.files.clientPem, ca: ctx.tls!.files.ca } : undefined;
      const proxy = await startHaproxy(ctx.haproxy, upstream, ctx.tmpDir, `hop${hop}${originate ? '-tls' : ''}`, originate);
      proxies.push(proxy);
      upstream = proxy.port;
    }
    const inner = stockClient(ctx, `127.0.0.1:${upstream}`);
    return {
      callFor: inner.callFor,
      proxyPids: proxies.map((p) => p.pid),
      close: async () => {
        await inner.close();
        await Promise.all(proxies.map((p) => p.stop()));
      },
    };
  } catch (err) {
    await Promise.all(proxies.map((p) => p.stop()));
    throw err;
  }
}

/**
 * The stock generated client through `mesh.grpcClient`; `transport` unset = the mesh's default gRPC transport;
 * `tls`: to the mTLS server with an UpstreamTlsContext.
 */
async function withMesh(ctx: ScenarioContext, serverCount: number, transport?: BenchGrpcTransport, tls = false, mirror?: EmbeddedMirror): Promise<ScenarioInstance> {
  const createMesh = await loadCreateMesh();
  if (createMesh === undefined) throw new Error('@xmesh/client is not available');
  if (tls && ctx.tls === undefined) throw new Error('no TLS server (openssl is not available)');
  const files = ctx.tls?.files;
  const config = tls && files
    ? embeddedBootstrap([ctx.tls!.port], transport, { clientCert: files.clientCert, clientKey: files.clientKey, ca: files.ca, serverId: BENCH_SERVER_ID })
    : embeddedBootstrap(ctx.ports.slice(0, serverCount), transport, undefined, mirror);
  const mesh = await createMesh({ config });
  const client = mesh.grpcClient(ctx.Echo, EMBEDDED_TARGET);
  return {
    callFor: stockEchoCalls(client),
    proxyPids: [],
    close: async () => {
      client.close();
      await mesh.close();
    },
  };
}

/**
 * The fast mesh API (`mesh.unaryClient(target).unaryCallback`): serialized messages on the lean
 * transport, no grpc-js Client layer. Requests are encoded and replies decoded per call with the
 * same protobufjs serializers the grpc-js client uses. The fast API is unary only: the stream
 * workload is not applicable.
 */
async function withMeshFastPath(ctx: ScenarioContext): Promise<ScenarioInstance> {
  const createMesh = await loadCreateMesh();
  if (createMesh === undefined) throw new Error('@xmesh/client is not available');
  const mesh = await createMesh({ config: embeddedBootstrap(ctx.ports.slice(0, 1), 'lean') });
  const method = ctx.Echo.service.Echo ?? ctx.Echo.service.echo;
  if (method === undefined) throw new Error('Echo method not found in the service definition');
  const { path, requestSerialize, responseDeserialize } = method;
  const client = mesh.unaryClient(EMBEDDED_TARGET);
  const unaryCall = (payload: Buffer): Call => {
    const request = { message: 'bench', payload };
    return () =>
      new Promise<void>((resolve, reject) => {
        client.unaryCallback(path, requestSerialize(request), undefined, (error, reply) => {
          if (error !== null) return reject(error);
          responseDeserialize(reply!);
          resolve();
        });
      });
  };
  return { callFor: (w) => (w.kind === 'unary' ? unaryCall(benchPayload(w.payloadBytes)) : undefined), proxyPids: [], close: () => mesh.close() };
}

/** The node:http2 floor (see h2-floor.ts): unary only, straight to the first server. */
function withH2Floor(ctx: ScenarioContext): ScenarioInstance {
  const method = (ctx.Echo.service.Echo ?? ctx.Echo.service.echo) as UnaryMethodDefinition | undefined;
  if (method === undefined) throw new Error('Echo method not found in the service definition');
  const client = h2FloorClient(ctx.ports[0] ?? 0, method);
  return {
    callFor: (w) => (w.kind === 'unary' ? client.call({ message: 'bench', payload: benchPayload(w.payloadBytes) }) : undefined),
    proxyPids: [],
    close: async () => client.close(),
  };
}

/** xmesh sidecars chained like the HAProxy hops; the client keeps the logical authority the sidecars route by. */
async function withXmeshSidecarChain(ctx: ScenarioContext, hops: number): Promise<ScenarioInstance> {
  const sidecars: XmeshSidecarProcess[] = [];
  try {
    let upstream = ctx.ports[0] ?? 0;
    for (let hop = hops; hop >= 1; hop--) {
      const sidecar = await startXmeshSidecar(upstream);
      sidecars.push(sidecar);
      upstream = sidecar.port;
    }
    const inner = stockClient(ctx, `127.0.0.1:${upstream}`, { 'grpc.default_authority': EMBEDDED_TARGET });
    return {
      callFor: inner.callFor,
      proxyPids: sidecars.map((s) => s.pid),
      close: async () => {
        await inner.close();
        await Promise.all(sidecars.map((s) => s.stop()));
      },
    };
  } catch (err) {
    await Promise.all(sidecars.map((s) => s.stop()));
    throw err;
  }
}

/** Stock client → the bare node:http2 forwarding proxy (h2-proxy-child.ts, its own process) → server. */
async function withH2ProxyFloor(ctx: ScenarioContext): Promise<ScenarioInstance> {
  const proxy = await startChildEntry('h2-proxy-child', [String(ctx.ports[0] ?? 0)]);
  const inner = stockClient(ctx, `127.0.0.1:${proxy.port}`);
  return {
    callFor: inner.callFor,
    proxyPids: [proxy.pid],
    close: async () => {
      await inner.close();
      await proxy.stop();
    },
  };
}

const meshUnavailable = async () => ((await loadCreateMesh()) === undefined ? '@xmesh/client is not built or cannot load' : undefined);
const haproxyUnavailable = async (ctx: ScenarioContext) => (ctx.haproxy === undefined ? 'haproxy is not available' : undefined);
const tlsUnavailable = (ctx: ScenarioContext) => (ctx.tls === undefined ? 'no TLS server: openssl is not available to make certificates' : undefined);

/** The stock client with `credentials.createSsl` (CA, client key and certificate) straight to the mTLS server. */
function stockTlsClient(ctx: ScenarioContext): ScenarioInstance {
  const { port, files } = ctx.tls!;
  const credentials = grpc.credentials.createSsl(readFileSync(files.ca), readFileSync(files.clientKey), readFileSync(files.clientCert));
  const client = new ctx.Echo(`127.0.0.1:${port}`, credentials, { ...LOCAL_POOL, 'grpc.ssl_target_name_override': BENCH_SERVER_NAME });
  return { callFor: stockEchoCalls(client), proxyPids: [], close: async () => client.close() };
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'direct',
    description: 'stock grpc-js client straight to one server',
    unavailable: always,
    start: async (ctx) => stockClient(ctx, `127.0.0.1:${ctx.ports[0]}`),
  },
  {
    name: 'embedded',
    description: 'the same stock client through xmesh embedded mode on the mesh\'s default gRPC transport (lean, node:http2), policies on (route, retry policy, circuit-breaker thresholds, outlier detection, local rate limit that never trips), round robin over one server',
    unavailable: meshUnavailable,
    start: (ctx) => withMesh(ctx, 1),
  },
  {
    name: 'embedded-mirror',
    description: 'embedded (default transport, same policies) with a request_mirror_policies entry copying 30 % of the calls (runtime_fraction) to a shadow cluster on the second server; compare with embedded',
    unavailable: meshUnavailable,
    start: (ctx) => withMesh(ctx, 1, undefined, false, { port: ctx.ports[1] ?? 0, percent: MIRROR_PERCENT }),
  },
  {
    name: 'embedded-grpcjs',
    description: 'embedded, with the cluster pinned to the grpc-js transport (metadata xmesh.transport: grpc-js), same policies',
    unavailable: meshUnavailable,
    start: (ctx) => withMesh(ctx, 1, 'grpc-js'),
  },
  {
    name: 'embedded-lean-fast',
    description: 'the fast mesh API (mesh.unaryClient(target).unaryCallback: serialized messages, no grpc-js Client layer) on the lean transport, same policies as embedded; unary only',
    unavailable: meshUnavailable,
    start: (ctx) => withMeshFastPath(ctx),
  },
  {
    name: 'h2-floor',
    description: 'reference, not a client: the least any gRPC client on node:http2 can do per call (request, framed write, read, grpc-status; no pooling, deadlines, errors or metadata); unary only',
    unavailable: always,
    start: async (ctx) => withH2Floor(ctx),
  },
  {
    name: 'direct-tls',
    description: 'stock grpc-js client with SSL credentials (credentials.createSsl: CA, client key and certificate) straight to a server requiring client certificates (ServerCredentials.createSsl(ca, [...], true))',
    unavailable: async (ctx) => tlsUnavailable(ctx),
    start: async (ctx) => stockTlsClient(ctx),
  },
  {
    name: 'embedded-tls',
    description: 'embedded (default transport, same policies) to the same mTLS server: an UpstreamTlsContext with the client certificate, the CA and a SAN matcher on the server\'s SPIFFE id',
    unavailable: async (ctx) => (await meshUnavailable()) ?? tlsUnavailable(ctx),
    start: (ctx) => withMesh(ctx, 1, undefined, true),
  },
  {
    name: 'direct-rr-3',
    description: 'stock grpc-js channel with the round_robin service config over three servers',
    unavailable: always,
    start: async (ctx) =>
      stockClient(ctx, `ipv4:${ctx.ports.slice(0, 3).map((p) => `127.0.0.1:${p}`).join(',')}`, {
        'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
      }),
  },
  {
    name: 'embedded-3',
    description: 'xmesh embedded mode (default transport, policies on), round robin over the same three servers',
    unavailable: meshUnavailable,
    start: (ctx) => withMesh(ctx, 3),
  },
  {
    name: 'sidecar-haproxy',
    description: 'stock grpc-js client → HAProxy (h2c) → server: one proxy hop',
    unavailable: haproxyUnavailable,
    start: (ctx) => withHaproxyChain(ctx, 1),
  },
  {
    name: 'h2-proxy-floor',
    description: 'reference, not a sidecar: stock grpc-js client → the least a forwarding proxy on node:http2 does (its own process; every stream forwarded on one upstream connection, no routing or policies) → server: what any Node proxy pays per call',
    unavailable: always,
    start: (ctx) => withH2ProxyFloor(ctx),
  },
  {
    name: 'sidecar-haproxy-2hop',
    description: 'client → HAProxy → HAProxy → server: two hops, the shape of a sidecar on each side',
    unavailable: haproxyUnavailable,
    start: (ctx) => withHaproxyChain(ctx, 2),
  },
  {
    name: 'sidecar-haproxy-tls',
    description: 'stock grpc-js client → HAProxy (h2c in, mutual TLS with ALPN h2 out) → the mTLS server: one proxy hop originating TLS',
    unavailable: async (ctx) => (await haproxyUnavailable(ctx)) ?? tlsUnavailable(ctx),
    start: (ctx) => withHaproxyChain(ctx, 1, true),
  },
  {
    name: 'sidecar-xmesh',
    description: 'stock grpc-js client → xmesh sidecar (h2c, its own process) → server: one proxy hop',
    unavailable: meshUnavailable,
    start: (ctx) => withXmeshSidecarChain(ctx, 1),
  },
  {
    name: 'sidecar-xmesh-2hop',
    description: 'client → xmesh sidecar → xmesh sidecar → server: two hops, a sidecar on each side',
    unavailable: meshUnavailable,
    start: (ctx) => withXmeshSidecarChain(ctx, 2),
  },
  {
    name: 'bolt-direct',
    description: 'SOFARPC Bolt: stock sofa-rpc-node client straight to a stock provider (Hessian2 echo of bytes); unary only',
    unavailable: always,
    start: () => startBoltScenario('direct'),
  },
  {
    name: 'bolt-embedded',
    description: 'SOFARPC Bolt: the xmesh drop-in (MeshRpcClient) in embedded mode to the same provider, policies on as in embedded; unary only',
    unavailable: meshUnavailable,
    start: () => startBoltScenario('embedded'),
  },
  {
    name: 'bolt-sidecar-xmesh',
    description: 'SOFARPC Bolt: stock client → the xmesh sidecar\'s Bolt listener (its own process) → provider; unary only',
    unavailable: meshUnavailable,
    start: () => startBoltScenario('sidecar'),
  },
];
