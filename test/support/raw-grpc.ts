/**
 * gRPC spoken by hand over node:http2, for tests that must send or answer what no stock gRPC library
 * would: undecodable messages, impossible length prefixes, resets with any code, a socket cut mid-frame.
 */
import http2 from 'node:http2';
import net from 'node:net';

/** A gRPC length-prefixed message: flag byte, 4-byte big-endian length, payload. */
export function grpcFrame(payload: Uint8Array, compressed = false): Buffer {
  const header = Buffer.alloc(5);
  header[0] = compressed ? 1 : 0;
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/** Every HTTP/2 error code a peer can reset a stream with (RFC 9113 §7). */
export const H2_ERROR_CODES: readonly { readonly name: string; readonly code: number }[] = [
  'NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR',
  'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED',
].map((name, code) => ({ name, code }));

export interface RawGrpcCall {
  readonly session: http2.ClientHttp2Session;
  /** The TCP socket under the session, to cut it. */
  readonly socket: net.Socket;
  readonly stream: http2.ClientHttp2Stream;
  /** Resolves with the next DATA chunk (and sets the stream flowing: a client that must not read never calls it). */
  nextData(): Promise<Buffer>;
  /** Resolves with the `grpc-status` received (in trailers, or trailers-only headers), or undefined when the stream closed without one. */
  readonly closed: Promise<number | undefined>;
  close(): void;
}

/** Opens one gRPC call to `path` on 127.0.0.1:`port`; every 'error' is listened to. */
export function rawGrpcCall(port: number, path: string): RawGrpcCall {
  let socket!: net.Socket;
  const session = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => (socket = net.connect(port, '127.0.0.1')) });
  session.on('error', () => undefined);
  socket.on('error', () => undefined);
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
  stream.on('error', () => undefined);
  const closed = new Promise<number | undefined>((resolve) => {
    const note = (headers: http2.IncomingHttpHeaders) => {
      const value = headers['grpc-status'];
      if (typeof value === 'string') resolve(Number(value));
    };
    stream.on('response', note);
    stream.on('trailers', note);
    stream.once('close', () => resolve(undefined));
  });
  return {
    session, socket, stream, closed,
    nextData: () => new Promise<Buffer>((resolve) => stream.once('data', (chunk: Buffer) => resolve(chunk))),
    close() {
      stream.destroy();
      session.destroy();
    },
  };
}
