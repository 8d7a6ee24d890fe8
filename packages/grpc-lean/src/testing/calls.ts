import * as grpc from '@grpc/grpc-js';
import type { LeanCallError } from '../call-error.js';
import type { LeanChannel } from '../lean-channel.js';
import type { LeanMetadata, RawMetadata } from '../metadata.js';
import { decodeReply, encodeRequest, type EchoReplyShape, type EchoRequestShape } from './echo-proto.js';
import { ECHO_SERVICE } from './grpc-js-peer.js';

export const ECHO_PATH = '/xmesh.echo.Echo/Echo';
export const SERVER_STREAM_PATH = '/xmesh.echo.Echo/ServerStream';
export const CLIENT_STREAM_PATH = '/xmesh.echo.Echo/ClientStream';
export const BIDI_PATH = '/xmesh.echo.Echo/Bidi';

export interface UnaryOutcome {
  error: LeanCallError | null;
  reply: EchoReplyShape | null;
  trailers: RawMetadata | null;
}

/** One unary call on the fast path. */
export function fastUnary(channel: LeanChannel, request: EchoRequestShape, metadata?: LeanMetadata, deadline?: number): Promise<UnaryOutcome> {
  return new Promise((resolve) => {
    channel.unary(ECHO_PATH, encodeRequest(request), metadata, deadline, (error, reply, trailers) =>
      resolve({ error, reply: reply === null ? null : decodeReply(reply), trailers }),
    );
  });
}

export interface StreamOutcome {
  headers: RawMetadata | null;
  replies: EchoReplyShape[];
  code: number;
  details: string;
  trailers: RawMetadata | null;
}

/** A streaming call on the fast path: writes `requests`, half-closes, collects everything. */
export function fastStream(channel: LeanChannel, path: string, requests: EchoRequestShape[], metadata?: LeanMetadata, deadline?: number): Promise<StreamOutcome> {
  return new Promise((resolve) => {
    const outcome: StreamOutcome = { headers: null, replies: [], code: -1, details: '', trailers: null };
    const stream = channel.stream(path, metadata, deadline, {
      onHeaders: (headers) => (outcome.headers = headers),
      onMessage: (message) => outcome.replies.push(decodeReply(message)),
      onStatus: (code, details, trailers) => resolve(Object.assign(outcome, { code, details, trailers })),
    });
    for (const request of requests) stream.write(encodeRequest(request));
    stream.end();
  });
}

/** A stock grpc-js generic client for the echo service; `channelOverride` puts it on a LeanChannel. */
export type EchoClient = grpc.Client & {
  Echo: (...args: unknown[]) => grpc.ClientUnaryCall;
  ServerStream: (...args: unknown[]) => grpc.ClientReadableStream<Buffer>;
  ClientStream: (...args: unknown[]) => grpc.ClientWritableStream<Buffer>;
  Bidi: (...args: unknown[]) => grpc.ClientDuplexStream<Buffer, Buffer>;
};

const EchoClientConstructor = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo');

export function echoClient(target: string, options: grpc.ClientOptions = {}): EchoClient {
  return new EchoClientConstructor(target, grpc.credentials.createInsecure(), options) as unknown as EchoClient;
}

export interface ClientUnaryOutcome {
  error: grpc.ServiceError | null;
  reply: EchoReplyShape | null;
  headers: grpc.Metadata | null;
  status: grpc.StatusObject | null;
}

/** One unary call through a grpc-js Client, with its metadata and status events. */
export function clientUnary(client: EchoClient, request: EchoRequestShape, metadata = new grpc.Metadata(), options: grpc.CallOptions = {}): Promise<ClientUnaryOutcome> {
  return new Promise((resolve) => {
    const outcome: ClientUnaryOutcome = { error: null, reply: null, headers: null, status: null };
    let pending = 2;
    const done = () => --pending === 0 && resolve(outcome);
    const call = client.Echo(encodeRequest(request), metadata, options, (error: grpc.ServiceError | null, reply?: Buffer) => {
      outcome.error = error;
      outcome.reply = reply === undefined ? null : decodeReply(reply);
      done();
    });
    call.on('metadata', (headers: grpc.Metadata) => (outcome.headers = headers));
    call.on('status', (status: grpc.StatusObject) => {
      outcome.status = status;
      done();
    });
  });
}
