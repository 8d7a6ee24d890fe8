/** A message codec: bytes ↔ messages for one content type. Decoding failures are MeshError XMESH_PROTOCOL. */
import { MeshError } from '@xmesh/core';

export interface Codec<T = unknown> {
  /** The content type this codec speaks, e.g. `application/grpc+proto`. */
  readonly contentType: string;
  encode(message: T): Uint8Array;
  /** @throws MeshError XMESH_PROTOCOL when `bytes` is not a valid message. */
  decode(bytes: Uint8Array): T;
}

/** The codecs of one RPC method, found by its path `/pkg.Service/Method`. */
export interface MethodCodecs<Req = unknown, Res = unknown> {
  readonly path: string;
  readonly requestType: string;
  readonly responseType: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly request: Codec<Req>;
  readonly response: Codec<Res>;
}

/** Codecs of one serialization (protobuf, JSON), by message name and by method path. */
export interface CodecFamily {
  /** Codec for a fully-qualified message name (`pkg.Message`), or undefined if unknown. */
  message(name: string): Codec | undefined;
  /** Codecs for a method path (`/pkg.Service/Method`), or undefined if unknown. */
  method(path: string): MethodCodecs | undefined;
}

export function protocolError(message: string, cause?: unknown): MeshError {
  return new MeshError('XMESH_PROTOCOL', message, cause === undefined ? {} : { cause });
}
