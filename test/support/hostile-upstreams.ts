/**
 * Upstreams that misbehave on purpose, built on raw `node:http2` and `node:net` servers (none of the
 * project's code): each request picks its misbehaviour by the `x-behaviour` header (gRPC metadata),
 * so one server plays every part. Every stream and socket has an `'error'` listener; `close()` ends
 * every connection, so a test never waits for a peer that hangs on purpose.
 */
import { createServer as createH2Server, constants as h2, type Http2Server, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';

const GRPC = { ':status': 200, 'content-type': 'application/grpc' } as const;

/** A gRPC length-prefixed frame: compressed flag, uint32 length, bytes. */
export function grpcFrame(message: Buffer, compressed = false): Buffer {
  const header = Buffer.alloc(5);
  header[0] = compressed ? 1 : 0;
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** An `xmesh.echo.EchoReply` with `message: "hi"` (field 1, string), as protobuf bytes. */
export const ECHO_REPLY = Buffer.from([0x0a, 0x02, 0x68, 0x69]);

/** Replies with one message and OK, so the same server also serves well-behaved calls. */
function answerOk(stream: ServerHttp2Stream): void {
  stream.respond(GRPC, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(grpcFrame(ECHO_REPLY));
}

/** A response, then `trailers` after one message (`message` false: no message). */
function answerWithTrailers(stream: ServerHttp2Stream, trailers: Record<string, string>, message = true, headers: Record<string, string> = {}): void {
  stream.respond({ ...GRPC, ...headers }, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers(trailers));
  stream.end(message ? grpcFrame(ECHO_REPLY) : undefined);
}

/** How the hostile gRPC upstream answers, by `x-behaviour`. */
export const GRPC_BEHAVIOURS = {
  ok: answerOk,
  /** Response headers, then bytes that are no gRPC frame (compressed flag 0x67). */
  'garbage-body': (stream: ServerHttp2Stream) => {
    stream.respond(GRPC);
    stream.write(Buffer.from('garbage, not a length-prefixed message'));
  },
  /** A length prefix of 4 GB − 1, then nothing. */
  'huge-prefix': (stream: ServerHttp2Stream) => {
    stream.respond(GRPC);
    stream.write(Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
  },
  /** The first 10 of a 100-byte message, then END_STREAM without trailers. */
  'truncated-end': (stream: ServerHttp2Stream) => {
    stream.respond(GRPC);
    stream.end(grpcFrame(Buffer.alloc(100, 1)).subarray(0, 15));
  },
  /** The first 10 of a 100-byte message, then trailers with OK. */
  'truncated-ok': (stream: ServerHttp2Stream) => {
    stream.respond(GRPC, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(grpcFrame(Buffer.alloc(100, 1)).subarray(0, 15));
  },
  /** Part of a message, then RST_STREAM INTERNAL_ERROR. */
  'rst-mid-message': (stream: ServerHttp2Stream) => {
    stream.respond(GRPC);
    stream.write(grpcFrame(Buffer.alloc(100, 1)).subarray(0, 15), () => stream.close(h2.NGHTTP2_INTERNAL_ERROR));
  },
  /** RST_STREAM INTERNAL_ERROR before any response. */
  'rst-before-headers': (stream: ServerHttp2Stream) => {
    stream.close(h2.NGHTTP2_INTERNAL_ERROR);
  },
  /** Response headers, then GOAWAY(INTERNAL_ERROR) and the connection closed. */
  'goaway-after-headers': (stream: ServerHttp2Stream) => {
    stream.respond(GRPC);
    const session = stream.session;
    setImmediate(() => {
      if (session === undefined || session.destroyed) return;
      session.goaway(h2.NGHTTP2_INTERNAL_ERROR);
      session.destroy();
    });
  },
  /** Never answers (the request is read, nothing is sent). */
  silent: () => {},
  /** Response headers with 2,000 extra fields (about 60 KB). */
  'header-flood': (stream: ServerHttp2Stream) => {
    const headers: Record<string, string | number> = { ...GRPC };
    for (let i = 0; i < 2000; i++) headers[`x-flood-${i}`] = 'v'.repeat(20);
    respondOrReset(stream, headers);
  },
  /** One message, then 10,000 trailers. */
  'trailer-flood': (stream: ServerHttp2Stream) => {
    const trailers: Record<string, string> = { 'grpc-status': '0' };
    for (let i = 0; i < 10_000; i++) trailers[`x-trailer-${i}`] = 'v';
    stream.respond(GRPC, { waitForTrailers: true });
    stream.once('wantTrailers', () => {
      try {
        stream.sendTrailers(trailers);
      } catch {
        stream.close(h2.NGHTTP2_INTERNAL_ERROR);
      }
    });
    stream.end(grpcFrame(ECHO_REPLY));
  },
  'status-abc': (stream: ServerHttp2Stream) => stream.respond({ ...GRPC, 'grpc-status': 'abc' }, { endStream: true }),
  'status-999': (stream: ServerHttp2Stream) => stream.respond({ ...GRPC, 'grpc-status': '999' }, { endStream: true }),
  'status-minus-1': (stream: ServerHttp2Stream) => stream.respond({ ...GRPC, 'grpc-status': '-1' }, { endStream: true }),
  /** One message, then an empty grpc-status. */
  'status-empty': (stream: ServerHttp2Stream) => answerWithTrailers(stream, { 'grpc-status': '' }),
  /** One message, then no grpc-status at all. */
  'status-missing': (stream: ServerHttp2Stream) => answerWithTrailers(stream, { 'x-other': '1' }),
  /** A frame flagged compressed, with no `grpc-encoding` header. */
  'compressed-no-encoding': (stream: ServerHttp2Stream) => {
    stream.respond(GRPC, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(grpcFrame(ECHO_REPLY, true));
  },
  /** Two messages on a unary call, then OK. */
  'two-messages': (stream: ServerHttp2Stream) => {
    stream.respond(GRPC, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.write(grpcFrame(ECHO_REPLY));
    stream.end(grpcFrame(ECHO_REPLY));
  },
} satisfies Record<string, (stream: ServerHttp2Stream) => void>;

export type GrpcBehaviour = keyof typeof GRPC_BEHAVIOURS;

function respondOrReset(stream: ServerHttp2Stream, headers: Record<string, string | number>): void {
  try {
    stream.respond(headers, { endStream: true });
  } catch {
    stream.close(h2.NGHTTP2_INTERNAL_ERROR);
  }
}

export interface HostileServer {
  readonly address: string;
  /** Requests (streams or HTTP/1.1 requests) seen, by behaviour. */
  readonly seen: Map<string, number>;
  close(): Promise<void>;
}

/**
 * A raw node:http2 server playing a gRPC upstream; `x-behaviour` picks the answer (default `ok`).
 * `override`, when it returns true, has answered the stream itself (for per-test scripts).
 */
export async function startHostileGrpcServer(override?: (stream: ServerHttp2Stream, behaviour: string, count: number) => boolean): Promise<HostileServer> {
  const server: Http2Server = createH2Server({ maxSessionMemory: 64 });
  const sessions = new Set<ServerHttp2Session>();
  const seen = new Map<string, number>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('error', () => {});
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    stream.resume();
    const behaviour = String(headers['x-behaviour'] ?? 'ok');
    const count = (seen.get(behaviour) ?? 0) + 1;
    seen.set(behaviour, count);
    if (override?.(stream, behaviour, count)) return;
    const answer = (GRPC_BEHAVIOURS as Record<string, (stream: ServerHttp2Stream) => void>)[behaviour] ?? answerOk;
    answer(stream);
  });
  return listening(server, seen, sessions);
}

/** What the raw HTTP/1.1 upstream writes back, by the request's `x-behaviour` header; null: nothing. */
export const HTTP_BEHAVIOURS: Readonly<Record<string, string | null>> = {
  ok: 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok',
  'status-0': 'HTTP/1.1 0 Zero\r\ncontent-length: 0\r\n\r\n',
  'status-000': 'HTTP/1.1 000 Zero\r\ncontent-length: 0\r\n\r\n',
  'status-099': 'HTTP/1.1 099 Odd\r\ncontent-length: 0\r\n\r\n',
  'garbage-status-line': 'garbage garbage garbage\r\n\r\n',
  'header-flood': `HTTP/1.1 200 OK\r\n${'x-flood: vvvvvvvvvvvvvvvvvvvv\r\n'.repeat(10_000)}content-length: 0\r\n\r\n`,
  /** content-length 100, 10 bytes, then the connection closes. */
  'truncated-body': 'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789',
  silent: null,
  /** The connection is reset (RST) as soon as the request arrives. */
  reset: null,
};

/**
 * A raw node:net server playing an HTTP/1.1 upstream: it reads the request head, then writes the
 * behaviour's bytes and closes (`silent` writes nothing and keeps the socket; `reset` resets it).
 * `garbage: true` makes every connection get garbage bytes at once, whatever it sends (an HTTP/2
 * client then fails its connection preface).
 */
export async function startHostileNetServer(options: { garbage?: boolean } = {}): Promise<HostileServer> {
  const sockets = new Set<Socket>();
  const seen = new Map<string, number>();
  const server: Server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    if (options.garbage === true) {
      socket.write(Buffer.from('\x00\x01garbage garbage garbage\r\n\r\n'.repeat(4)));
      socket.on('data', () => {});
      return;
    }
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.on('data', () => {});
      const behaviour = /\r\nx-behaviour: *([^\r\n]*)/i.exec(head.slice(0, end))?.[1]?.trim() ?? 'ok';
      seen.set(behaviour, (seen.get(behaviour) ?? 0) + 1);
      if (behaviour === 'reset') {
        socket.resetAndDestroy();
        return;
      }
      const answer = behaviour in HTTP_BEHAVIOURS ? HTTP_BEHAVIOURS[behaviour]! : HTTP_BEHAVIOURS.ok!;
      if (answer !== null) socket.end(answer);
    };
    socket.on('data', onData);
  });
  return listening(server, seen, sockets);
}

/** Listens on a free loopback port; `close()` destroys every open connection, then closes the server. */
async function listening(server: Server | Http2Server, seen: Map<string, number>, connections: Set<{ destroy(): void }>): Promise<HostileServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => {
      for (const connection of connections) connection.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
