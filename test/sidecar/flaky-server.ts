/**
 * A gRPC echo upstream that fails deterministically: a call whose message is `<key>:<n>` gets
 * UNAVAILABLE on its first `n % 3` attempts (attempts counted per message), then succeeds.
 */
import * as grpc from '@grpc/grpc-js';
import { loadEcho, type EchoReply, type EchoRequest } from '../support/echo-server.js';

export interface FlakyServer {
  readonly address: string;
  /** Attempts received, successful or not. */
  attempts: number;
  close(): Promise<void>;
}

export async function startFlakyServer(): Promise<FlakyServer> {
  const { service } = loadEcho();
  const server = new grpc.Server();
  const seen = new Map<string, number>();
  const state: FlakyServer = { address: '', attempts: 0, close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
  const unimplemented = (_call: unknown, callback: grpc.sendUnaryData<EchoReply>) => callback({ code: grpc.status.UNIMPLEMENTED });
  server.addService(service, {
    Echo: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
      state.attempts++;
      const message = call.request.message ?? '';
      const attempt = (seen.get(message) ?? 0) + 1;
      seen.set(message, attempt);
      const failures = Number(message.slice(message.lastIndexOf(':') + 1)) % 3;
      if (attempt <= failures) callback({ code: grpc.status.UNAVAILABLE, details: `flaky attempt ${attempt}` });
      else callback(null, { message, payload: Buffer.alloc(0), server: `flaky@${state.address}` });
    },
    ServerStream: unimplemented,
    ClientStream: unimplemented,
    Bidi: unimplemented,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  state.address = `127.0.0.1:${port}`;
  return state;
}
