import type { ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import type { StreamCall } from './stream-call.js';

const OWNER = Symbol('xmesh.grpc-lean.call');
type OwnedStream = ClientHttp2Stream & { [OWNER]: StreamCall };

/**
 * Routes a stream's events to its call through shared module-level
 * listeners (the call is stored on the stream), so opening a stream
 * allocates no closures.
 */
export function attachStreamListeners(stream: ClientHttp2Stream, call: StreamCall): void {
  (stream as OwnedStream)[OWNER] = call;
  stream.on('response', onStreamResponse);
  stream.on('data', onStreamData);
  stream.on('trailers', onStreamTrailers);
  stream.on('end', onStreamEnd);
  stream.on('error', onStreamError);
  stream.on('close', onStreamClose);
}

function ownerOf(stream: ClientHttp2Stream): StreamCall {
  return (stream as OwnedStream)[OWNER];
}

function onStreamResponse(this: ClientHttp2Stream, headers: IncomingHttpHeaders): void {
  ownerOf(this).handleResponse(headers);
}

function onStreamData(this: ClientHttp2Stream, chunk: Buffer): void {
  ownerOf(this).handleData(chunk);
}

function onStreamTrailers(this: ClientHttp2Stream, trailers: IncomingHttpHeaders): void {
  ownerOf(this).handleTrailers(trailers);
}

function onStreamEnd(this: ClientHttp2Stream): void {
  ownerOf(this).handleEnd();
}

function onStreamError(this: ClientHttp2Stream, error: Error): void {
  ownerOf(this).handleError(error);
}

function onStreamClose(this: ClientHttp2Stream): void {
  ownerOf(this).handleClose(this);
}
