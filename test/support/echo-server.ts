/**
 * Echo gRPC servers for tests: stock grpc-js `Server`s on 127.0.0.1:0, each answering with its own
 * name in `server`, plus the stock generated `EchoClient` constructor.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';

const PROTO = join(import.meta.dirname, '..', '..', 'examples', 'quickstart', 'proto', 'echo.proto');

export interface EchoRequest { message?: string; payload?: Buffer; count?: number }
export interface EchoReply { message: string; payload: Buffer; server: string }

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EchoClient = grpc.Client & Record<string, any>;
export type EchoClientCtor = grpc.ServiceClientConstructor;

export function loadEcho(): { EchoClient: EchoClientCtor; service: grpc.ServiceDefinition } {
  const definition = protoLoader.loadSync(PROTO, { keepCase: false, longs: Number, defaults: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { xmesh: { echo: { Echo: EchoClientCtor } } };
  const EchoClient = pkg.xmesh.echo.Echo;
  return { EchoClient, service: EchoClient.service };
}

export interface EchoServer {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  /** Unary calls received. Calls whose message is `slow:<ms>` wait that long before answering (unless cancelled). */
  calls: number;
  /** Metadata of the last call, as received. */
  lastMetadata: grpc.Metadata | undefined;
  /** `:authority` of the last call, as received. */
  lastAuthority: string | undefined;
  /** SANs of the client certificate of the last call (TLS servers), as Node prints them. */
  lastPeerSan: string | undefined;
  /**
   * Unary calls whose message is `hold` wait, however long, until `release()` answers them (or
   * their caller cancels): a test can act while a call is known to be in flight, whatever the
   * machine's load. The number waiting now.
   */
  readonly held: number;
  /** Answers every held call. */
  release(): void;
  close(): Promise<void>;
  /** Stops at once as a killed process would: calls in flight are reset, new connections refused. */
  kill(): void;
}

/**
 * Starts one echo server named `name` on `host` (default 127.0.0.1; `::1` for IPv6 loopback). Echo replies
 * `message`; metadata `x-echo` is returned as initial and trailing metadata. `credentials` default to
 * insecure (e.g. `ServerCredentials.createSsl(ca, [...], true)` for mTLS).
 */
export async function startEchoServer(name: string, credentials = grpc.ServerCredentials.createInsecure(), host = '127.0.0.1'): Promise<EchoServer> {
  const { service } = loadEcho();
  const server = new grpc.Server();
  const holding = new Set<() => void>();
  const state: EchoServer = {
    name, port: 0, address: '', calls: 0, lastMetadata: undefined, lastAuthority: undefined, lastPeerSan: undefined,
    get held() {
      return holding.size;
    },
    release: () => {
      const answers = [...holding];
      holding.clear();
      for (const answer of answers) answer();
    },
    close: () => {
      state.release();
      return new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
    kill: () => server.forceShutdown(),
  };
  const reply = (message: string, payload?: Buffer): EchoReply => ({ message, payload: payload ?? Buffer.alloc(0), server: `${name}@${state.address}` });
  const echoHeaders = (call: {
    metadata: grpc.Metadata;
    sendMetadata(md: grpc.Metadata): void;
    getHost(): string;
    getAuthContext(): { sslPeerCertificate?: { subjectaltname?: string } };
  }) => {
    state.calls++;
    state.lastMetadata = call.metadata;
    state.lastAuthority = call.getHost();
    state.lastPeerSan = call.getAuthContext().sslPeerCertificate?.subjectaltname;
    const value = call.metadata.get('x-echo')[0];
    if (value !== undefined) {
      const md = new grpc.Metadata();
      md.set('x-echo', String(value));
      call.sendMetadata(md);
    }
  };
  const trailers = (call: { metadata: grpc.Metadata }) => {
    const md = new grpc.Metadata();
    const value = call.metadata.get('x-echo')[0];
    if (value !== undefined) md.set('x-echo-trailer', String(value));
    return md;
  };
  server.addService(service, {
    Echo: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
      echoHeaders(call);
      const message = call.request.message ?? '';
      const slow = /^slow:(\d+)$/.exec(message);
      const answer = () => callback(null, reply(message, call.request.payload), trailers(call));
      if (slow) {
        const timer = setTimeout(answer, Number(slow[1])).unref();
        call.on('cancelled', () => clearTimeout(timer));
      } else if (message === 'hold') {
        holding.add(answer);
        call.on('cancelled', () => holding.delete(answer));
      } else {
        answer();
      }
    },
    ServerStream: (call: grpc.ServerWritableStream<EchoRequest, EchoReply>) => {
      echoHeaders(call);
      const count = call.request.count ?? 0;
      for (let i = 0; i < count; i++) call.write(reply(`${call.request.message}#${i}`));
      call.end(trailers(call));
    },
    ClientStream: (call: grpc.ServerReadableStream<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
      echoHeaders(call);
      const parts: string[] = [];
      call.on('data', (req: EchoRequest) => parts.push(req.message ?? ''));
      call.on('end', () => callback(null, reply(parts.join(',')), trailers(call)));
    },
    Bidi: (call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) => {
      echoHeaders(call);
      call.on('data', (req: EchoRequest) => call.write(reply(`echo:${req.message}`)));
      call.on('end', () => call.end(trailers(call)));
    },
  });
  const hostPort = host.includes(':') ? `[${host}]` : host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${hostPort}:0`, credentials, (err, p) => (err ? reject(err) : resolve(p))));
  Object.assign(state, { port, address: `${hostPort}:${port}` });
  return state;
}

/** A port that refuses connections (bound, then released). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
