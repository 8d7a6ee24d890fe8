import { createServer, type Http2Server, type ServerHttp2Session } from 'node:http2';
import { create, createFileRegistry, type DescMessage, type DescService } from '@bufbuild/protobuf';
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { newPeerEvents, parseCommand, reportCancelled, type PeerEvents } from './echo-behaviour.js';
import type { EchoPeer, PeerLimits } from './peer.js';

const LABEL_OPTIONAL = FieldDescriptorProto_Label.OPTIONAL;
const { STRING: TYPE_STRING, BYTES: TYPE_BYTES, UINT32: TYPE_UINT32 } = FieldDescriptorProto_Type;

/** examples/quickstart/proto/echo.proto, written as a descriptor (no code generator needed). */
const echoFile = create(FileDescriptorProtoSchema, {
  name: 'echo.proto',
  package: 'xmesh.echo',
  syntax: 'proto3',
  messageType: [
    {
      name: 'EchoRequest',
      field: [
        { name: 'message', number: 1, type: TYPE_STRING, label: LABEL_OPTIONAL, jsonName: 'message' },
        { name: 'payload', number: 2, type: TYPE_BYTES, label: LABEL_OPTIONAL, jsonName: 'payload' },
        { name: 'count', number: 3, type: TYPE_UINT32, label: LABEL_OPTIONAL, jsonName: 'count' },
      ],
    },
    {
      name: 'EchoReply',
      field: [
        { name: 'message', number: 1, type: TYPE_STRING, label: LABEL_OPTIONAL, jsonName: 'message' },
        { name: 'payload', number: 2, type: TYPE_BYTES, label: LABEL_OPTIONAL, jsonName: 'payload' },
        { name: 'server', number: 3, type: TYPE_STRING, label: LABEL_OPTIONAL, jsonName: 'server' },
      ],
    },
  ],
  service: [
    {
      name: 'Echo',
      method: [
        { name: 'Echo', inputType: '.xmesh.echo.EchoRequest', outputType: '.xmesh.echo.EchoReply' },
        { name: 'ServerStream', inputType: '.xmesh.echo.EchoRequest', outputType: '.xmesh.echo.EchoReply', serverStreaming: true },
        { name: 'ClientStream', inputType: '.xmesh.echo.EchoRequest', outputType: '.xmesh.echo.EchoReply', clientStreaming: true },
        { name: 'Bidi', inputType: '.xmesh.echo.EchoRequest', outputType: '.xmesh.echo.EchoReply', clientStreaming: true, serverStreaming: true },
      ],
    },
  ],
});

const registry = createFileRegistry(echoFile, () => undefined);
const EchoService = registry.getService('xmesh.echo.Echo') as DescService;
const EchoReplySchema = registry.getMessage('xmesh.echo.EchoReply') as DescMessage;

interface EchoRequestMessage {
  message: string;
  payload: Uint8Array;
  count: number;
}

function serverTag(ctx: HandlerContext): string {
  return `connect|enc=${ctx.requestHeader.get('grpc-encoding') ?? 'identity'}`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  });
}

function fail(code: number, details: string): never {
  const trailers = new Headers({ 'x-trailer': 'failed' });
  throw new ConnectError(details, code as Code, trailers, [{ desc: EchoReplySchema, value: { message: 'detail' } }]);
}

function routes(events: PeerEvents) {
  return (router: ConnectRouter) => {
    router.service(EchoService, {
      async echo(request: EchoRequestMessage, ctx: HandlerContext) {
        const command = parseCommand(request.message);
        const token = ctx.requestHeader.get('x-token');
        if (token !== null) ctx.responseHeader.set('x-echo-token', token);
        const blob = ctx.requestHeader.get('x-blob-bin');
        if (blob !== null) ctx.responseHeader.set('x-echo-blob-bin', blob);
        let payload = request.payload;
        switch (command.kind) {
          case 'fail':
            fail(command.code, command.details);
          case 'sleep':
            await sleep(command.ms, ctx.signal);
            break;
          case 'hang':
            await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
            reportCancelled(events);
            throw new ConnectError('cancelled', Code.Canceled);
          case 'big':
            payload = Buffer.alloc(command.size, 'x');
            break;
          case 'cancel':
            throw new ConnectError('cancelled by server', Code.Canceled);
          case 'echo':
            break;
        }
        ctx.responseTrailer.set('x-trailer', 'done');
        return { message: request.message, payload, server: serverTag(ctx) };
      },
      async *serverStream(request: EchoRequestMessage) {
        for (let i = 0; i < request.count; i++) yield { message: `${request.message}#${i}`, payload: request.payload, server: 'connect' };
        if (request.message === 'fail-after') throw new ConnectError('failed after replies', Code.Aborted);
      },
      async clientStream(requests: AsyncIterable<EchoRequestMessage>, ctx: HandlerContext) {
        const messages: string[] = [];
        for await (const request of requests) messages.push(request.message);
        return { message: messages.join(','), server: serverTag(ctx) };
      },
      async *bidi(requests: AsyncIterable<EchoRequestMessage>, ctx: HandlerContext) {
        ctx.signal.addEventListener('abort', () => reportCancelled(events), { once: true });
        for await (const request of requests) {
          if (request.message === 'hang') continue;
          yield { message: request.message, payload: request.payload, server: 'connect' };
        }
      },
    } as never);
  };
}

/** A @connectrpc/connect-node server speaking the gRPC protocol only, on `port` (0 = any). */
export async function startConnectPeer(port = 0, limits: PeerLimits = {}): Promise<EchoPeer> {
  const events = newPeerEvents();
  const handler = connectNodeAdapter({
    routes: routes(events),
    grpc: true,
    grpcWeb: false,
    connect: false,
    compressMinBytes: limits.compressResponses === true ? 1 : 1024,
    readMaxBytes: 4 * 1024 * 1024,
  });
  const server: Http2Server = createServer({ settings: { maxConcurrentStreams: limits.maxConcurrentStreams ?? 4294967295 } }, handler);
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  const boundPort = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
  return {
    name: 'connect',
    port: boundPort,
    events,
    goawayAll: () => {
      for (const session of sessions) session.close();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.close();
        server.close(() => resolve());
      }),
    kill: () => {
      for (const session of sessions) session.destroy();
      server.close();
    },
  };
}
