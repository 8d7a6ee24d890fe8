/**
 * The floor of any gRPC client on node:http2: one `session.request()` per call, the framed request
 * written with `end()`, the reply collected and its trailers' `grpc-status` read, with the same
 * protobufjs serializers the grpc-js client uses. No pooling, reconnects, deadlines, metadata,
 * compression, flow-control care or error mapping: a reference row for what node:http2 itself
 * costs per call, never a client to use. Unary only.
 */
import { connect, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { Call } from './load.js';

const REQUEST_OPTIONS = Object.freeze({ endStream: false });

/** The Echo method as a grpc-js service definition describes it. */
export interface UnaryMethodDefinition {
  readonly path: string;
  requestSerialize(message: unknown): Buffer;
  responseDeserialize(bytes: Buffer): unknown;
}

interface FloorStream extends ClientHttp2Stream {
  chunks: Buffer[];
  status: string | undefined;
  settle: (error: Error | null) => void;
  decode: (bytes: Buffer) => unknown;
}

function onData(this: FloorStream, chunk: Buffer): void {
  this.chunks.push(chunk);
}
function onTrailers(this: FloorStream, trailers: IncomingHttpHeaders): void {
  this.status = trailers['grpc-status'] as string | undefined;
}
function onResponse(this: FloorStream, headers: IncomingHttpHeaders): void {
  // A trailers-only response carries grpc-status on its only HEADERS frame.
  if (headers['grpc-status'] !== undefined) this.status = headers['grpc-status'] as string;
}
function onError(this: FloorStream, error: Error): void {
  this.status = `error: ${error.message}`;
}
function onClose(this: FloorStream): void {
  if (this.status !== '0') return this.settle(new Error(`h2-floor: grpc-status ${this.status ?? 'missing'}`));
  const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  this.decode(body.subarray(5));
  this.settle(null);
}

/** Unary calls of `method` carrying `request` on one HTTP/2 session to `127.0.0.1:port`. */
export function h2FloorClient(port: number, method: UnaryMethodDefinition): { call(request: unknown): Call; close(): void } {
  const authority = `127.0.0.1:${port}`;
  const session: ClientHttp2Session = connect(`http://${authority}`);
  session.on('error', () => undefined); // calls fail through their streams
  const headers = Object.freeze({ ':method': 'POST', ':scheme': 'http', ':authority': authority, ':path': method.path, 'content-type': 'application/grpc', te: 'trailers' });
  const decode = (bytes: Buffer) => method.responseDeserialize(bytes);
  return {
    call(request) {
      return () =>
        new Promise<void>((resolve, reject) => {
          const message = method.requestSerialize(request);
          const frame = Buffer.allocUnsafe(5 + message.length);
          frame[0] = 0;
          frame.writeUInt32BE(message.length, 1);
          message.copy(frame, 5);
          const stream = session.request(headers, REQUEST_OPTIONS) as FloorStream;
          stream.chunks = [];
          stream.status = undefined;
          stream.decode = decode;
          stream.settle = (error) => (error === null ? resolve() : reject(error));
          stream.on('response', onResponse);
          stream.on('data', onData);
          stream.on('trailers', onTrailers);
          stream.on('error', onError);
          stream.on('close', onClose);
          stream.end(frame);
        });
    },
    close: () => session.close(),
  };
}
