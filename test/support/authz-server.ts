/**
 * External authorization servers for ext_authz tests, written for them from the service's definition:
 * a stock grpc-js server for `envoy.service.auth.v3.Authorization/Check` (its proto loaded with
 * @grpc/proto-loader from the Envoy API that ships in @grpc/grpc-js-xds), and a node:http server for the
 * HTTP service variant. Both decide with a function the test gives, and keep what they were asked.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const require = createRequire(import.meta.url);

/** A CheckRequest as proto-loader decodes it (keepCase; longs as strings; bytes as Buffers). */
export interface CheckRequest {
  attributes: {
    source?: { address?: { socket_address?: { address: string; port_value: number } }; principal: string; certificate: string; service: string };
    destination?: { address?: { socket_address?: { address: string; port_value: number } }; principal: string };
    request: { time?: { seconds: string; nanos: number }; http: { id: string; method: string; headers: Record<string, string>; path: string; host: string; scheme: string; query: string; fragment: string; size: string; protocol: string; body: string; raw_body: Buffer } };
    context_extensions: Record<string, string>;
  };
}

type HeaderOption = { header: { key: string; value: string }; append?: { value: boolean } };

/** A CheckResponse in proto-loader's object form. */
export interface CheckResponse {
  status: { code: number; message?: string };
  ok_response?: { headers?: HeaderOption[]; headers_to_remove?: string[]; response_headers_to_add?: HeaderOption[]; query_parameters_to_set?: { key: string; value: string }[] };
  denied_response?: { status?: { code: number }; headers?: HeaderOption[]; body?: string };
}

export interface GrpcAuthzServer {
  readonly address: string;
  /** Every CheckRequest received, in order. */
  readonly requests: CheckRequest[];
  close(): Promise<void>;
}

/** `decide` answers each check; returning `'hang'` never answers (the caller's timeout decides). */
export async function startGrpcAuthzServer(decide: (request: CheckRequest) => CheckResponse | 'hang' | Promise<CheckResponse>): Promise<GrpcAuthzServer> {
  const xds = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  const definition = protoLoader.loadSync('envoy/service/auth/v3/external_auth.proto', {
    keepCase: true, longs: String, enums: Number, defaults: true, oneofs: true,
    includeDirs: ['deps/envoy-api', 'deps/xds', 'deps/googleapis', 'deps/protoc-gen-validate'].map((d) => join(xds, d)),
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { envoy: { service: { auth: { v3: { Authorization: grpc.ServiceClientConstructor } } } } };
  const server = new grpc.Server();
  const requests: CheckRequest[] = [];
  server.addService(pkg.envoy.service.auth.v3.Authorization.service, {
    Check: (call: grpc.ServerUnaryCall<CheckRequest, CheckResponse>, callback: grpc.sendUnaryData<CheckResponse>) => {
      requests.push(call.request);
      Promise.resolve(decide(call.request)).then(
        (answer) => {
          if (answer !== 'hang') callback(null, answer);
        },
        (error: Error) => callback(error, null),
      );
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))));
  return {
    address: `127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())).then(() => server.forceShutdown()),
  };
}

export const allowCheck = (ok: CheckResponse['ok_response'] = {}): CheckResponse => ({ status: { code: 0 }, ok_response: ok });
export const denyCheck = (denied: CheckResponse['denied_response'] = {}, code = 7): CheckResponse => ({ status: { code }, denied_response: denied });

export interface HttpAuthzRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface HttpAuthzServer {
  readonly address: string;
  readonly requests: HttpAuthzRequest[];
  close(): Promise<void>;
}

/** An HTTP authorization server: `decide` gives the status, headers and body of each answer. */
export async function startHttpAuthzServer(decide: (request: HttpAuthzRequest) => { status: number; headers?: Record<string, string | string[]>; body?: string }): Promise<HttpAuthzServer> {
  const requests: HttpAuthzRequest[] = [];
  const server: HttpServer = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      requests.push(request);
      const answer = decide(request);
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as { port: number }).port}`,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
