/**
 * The `xmesh.echo.Echo` service: its proto, typed client constructor and a server implementation.
 * Shared by the quickstart servers and the benchmark's server process.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface EchoRequest {
  message?: string;
  payload?: Buffer;
  /** ServerStream: how many replies to send. */
  count?: number;
}

export interface EchoReply {
  message: string;
  payload: Buffer;
  /** Which server answered, as `name@host:port`. */
  server: string;
}

/** The stock grpc-js client for `xmesh.echo.Echo`, as proto-loader generates it. */
export interface EchoClient extends grpc.Client {
  echo(request: EchoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<EchoReply>): grpc.ClientUnaryCall;
  echo(request: EchoRequest, callback: grpc.requestCallback<EchoReply>): grpc.ClientUnaryCall;
  serverStream(request: EchoRequest, metadata?: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<EchoReply>;
  clientStream(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<EchoReply>): grpc.ClientWritableStream<EchoRequest>;
  bidi(metadata?: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<EchoRequest, EchoReply>;
}

/** The generated client class; `service` also serves as the server definition. */
export interface EchoClientConstructor {
  new (address: string, credentials: grpc.ChannelCredentials, options?: Partial<grpc.ClientOptions>): EchoClient;
  service: grpc.ServiceDefinition;
  serviceName: string;
}

/** Absolute path of `proto/echo.proto`, from the sources or from `dist/`. */
export function echoProtoPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'proto', 'echo.proto'), join(here, '..', 'proto', 'echo.proto')];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`echo.proto not found near ${here}`);
  return found;
}

/** Loads the proto and returns the Echo client constructor (whose `.service` serves as the server definition). */
export function loadEchoService(): EchoClientConstructor {
  const definition = protoLoader.loadSync(echoProtoPath(), { longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { xmesh: { echo: { Echo: EchoClientConstructor } } };
  return pkg.xmesh.echo.Echo;
}

/**
 * An Echo implementation that answers as `name@address`: Echo returns the request,
 * ServerStream sends `count` replies (at least one), ClientStream joins the messages, Bidi echoes each message.
 */
export function echoImplementation(name: string, address: () => string): grpc.UntypedServiceImplementation {
  const reply = (req: EchoRequest): EchoReply => ({
    message: req.message ?? '',
    payload: req.payload ?? Buffer.alloc(0),
    server: `${name}@${address()}`,
  });
  return {
    Echo(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) {
      callback(null, reply(call.request));
    },
    ServerStream(call: grpc.ServerWritableStream<EchoRequest, EchoReply>) {
      const count = Math.max(1, call.request.count ?? 1);
      for (let i = 0; i < count; i++) call.write(reply({ ...call.request, message: `${call.request.message ?? ''} #${i + 1}` }));
      call.end();
    },
    ClientStream(call: grpc.ServerReadableStream<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) {
      const messages: string[] = [];
      call.on('data', (req: EchoRequest) => messages.push(req.message ?? ''));
      call.on('end', () => callback(null, reply({ message: messages.join(' ') })));
      call.on('error', () => undefined);
    },
    Bidi(call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) {
      call.on('data', (req: EchoRequest) => call.write(reply(req)));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  };
}

/** A started gRPC echo server. */
export interface RunningEchoServer {
  readonly name: string;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Starts one stock grpc-js server with the Echo service on `host:port` (port 0 = any free port); plaintext unless
 * `credentials` say otherwise (e.g. `ServerCredentials.createSsl(ca, [...], true)` for mTLS).
 */
export async function startEchoServer(name: string, port = 0, host = '127.0.0.1', credentials = grpc.ServerCredentials.createInsecure()): Promise<RunningEchoServer> {
  const Echo = loadEchoService();
  const server = new grpc.Server();
  let address = `${host}:${port}`;
  server.addService(Echo.service, echoImplementation(name, () => address));
  const boundPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, credentials, (err, p) => (err ? reject(err) : resolve(p)));
  });
  address = `${host}:${boundPort}`;
  return {
    name,
    address,
    port: boundPort,
    close: () => shutdown(server),
  };
}

/** Graceful shutdown, forced after `graceMs` so an idle client connection cannot hold it open. */
function shutdown(server: grpc.Server, graceMs = 1000): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
