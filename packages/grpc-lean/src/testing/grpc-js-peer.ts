import * as grpc from '@grpc/grpc-js';
import { decodeRequest, encodeReply, encodeStatusDetails, type EchoRequestShape } from './echo-proto.js';
import { newPeerEvents, parseCommand, reportCancelled, type PeerEvents } from './echo-behaviour.js';
import type { EchoPeer, PeerLimits } from './peer.js';

const passThrough = (bytes: Buffer): Buffer => bytes;

function method(path: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream,
    responseStream,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: passThrough,
    responseDeserialize: passThrough,
  };
}

export const ECHO_SERVICE: grpc.ServiceDefinition = {
  Echo: method('/xmesh.echo.Echo/Echo', false, false),
  ServerStream: method('/xmesh.echo.Echo/ServerStream', false, true),
  ClientStream: method('/xmesh.echo.Echo/ClientStream', true, false),
  Bidi: method('/xmesh.echo.Echo/Bidi', true, true),
};

function serverTag(metadata: grpc.Metadata): string {
  const encoding = metadata.get('grpc-encoding')[0];
  return `grpc-js|enc=${typeof encoding === 'string' ? encoding : 'identity'}`;
}

function failure(code: number, details: string): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  metadata.set('x-trailer', 'failed');
  metadata.set('grpc-status-details-bin', encodeStatusDetails(code, details, 'detail'));
  return { code, details, metadata };
}

function unary(call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>, events: PeerEvents): void {
  const request: Required<EchoRequestShape> = decodeRequest(call.request);
  const command = parseCommand(request.message);
  const headers = new grpc.Metadata();
  const token = call.metadata.get('x-token')[0];
  if (token !== undefined) headers.set('x-echo-token', token);
  const blob = call.metadata.get('x-blob-bin')[0];
  if (blob !== undefined) headers.set('x-echo-blob-bin', blob);
  const trailers = new grpc.Metadata();
  trailers.set('x-trailer', 'done');
  const reply = (payload: Uint8Array = request.payload) => {
    call.sendMetadata(headers);
    callback(null, encodeReply({ message: request.message, payload, server: serverTag(call.metadata) }), trailers);
  };
  switch (command.kind) {
    case 'fail':
      return callback(failure(command.code, command.details));
    case 'sleep': {
      const timer = setTimeout(reply, command.ms);
      call.on('cancelled', () => clearTimeout(timer));
      return;
    }
    case 'hang':
      call.on('cancelled', () => reportCancelled(events));
      return;
    case 'big':
      return reply(Buffer.alloc(command.size, 'x'));
    case 'cancel':
      return callback({ code: grpc.status.CANCELLED, details: 'cancelled by server' });
    case 'echo':
      return reply();
  }
}

function serverStream(call: grpc.ServerWritableStream<Buffer, Buffer>): void {
  const request = decodeRequest(call.request);
  for (let i = 0; i < request.count; i++) {
    call.write(encodeReply({ message: `${request.message}#${i}`, payload: request.payload, server: 'grpc-js' }));
  }
  if (request.message === 'fail-after') {
    call.emit('error', { code: grpc.status.ABORTED, details: 'failed after replies' });
    return;
  }
  call.end();
}

function clientStream(call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): void {
  const messages: string[] = [];
  call.on('data', (bytes: Buffer) => messages.push(decodeRequest(bytes).message));
  call.on('end', () => callback(null, encodeReply({ message: messages.join(','), server: serverTag(call.metadata) })));
}

function bidi(call: grpc.ServerDuplexStream<Buffer, Buffer>, events: PeerEvents): void {
  call.on('data', (bytes: Buffer) => {
    const request = decodeRequest(bytes);
    if (request.message === 'hang') return;
    call.write(encodeReply({ message: request.message, payload: request.payload, server: 'grpc-js' }));
  });
  call.on('cancelled', () => reportCancelled(events));
  call.on('end', () => call.end());
}

/** A stock grpc-js server with the echo behaviour, on `port` (0 = any). */
export async function startGrpcJsPeer(port = 0, limits: PeerLimits = {}): Promise<EchoPeer> {
  const events = newPeerEvents();
  const serverOptions: grpc.ServerOptions = {};
  if (limits.maxConcurrentStreams !== undefined) serverOptions['grpc.max_concurrent_streams'] = limits.maxConcurrentStreams;
  if (limits.compressResponses === true) serverOptions['grpc.default_compression_algorithm'] = 2;
  if (limits.maxConnectionAgeMs !== undefined) {
    serverOptions['grpc.max_connection_age_ms'] = limits.maxConnectionAgeMs;
    serverOptions['grpc.max_connection_age_grace_ms'] = 10_000;
  }
  const server = new grpc.Server(serverOptions);
  server.addService(ECHO_SERVICE, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => unary(call, callback, events),
    ServerStream: serverStream,
    ClientStream: clientStream,
    Bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => bidi(call, events),
  });
  const boundPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  return {
    name: 'grpc-js',
    port: boundPort,
    events,
    goawayAll: () => {
      throw new Error('grpc-js peer: use grpc.max_connection_age_ms for GOAWAY');
    },
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    kill: () => server.forceShutdown(),
  };
}
