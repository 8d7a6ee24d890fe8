/**
 * gRPC message compression, named by `grpc-encoding` values. Decompressed output is bounded by the
 * maximum message size (zlib `maxOutputLength`), so a small compressed "bomb" cannot exhaust memory.
 */
import { gunzip, gunzipSync, gzip, gzipSync, type InputType } from 'node:zlib';
import { promisify } from 'node:util';
import { MeshError } from '@xmesh/core';
import { DEFAULT_MAX_MESSAGE_SIZE } from './framing.js';

export interface Compression {
  /** The `grpc-encoding` / `grpc-accept-encoding` token. */
  readonly name: string;
  compressSync(payload: Uint8Array): Uint8Array;
  /** @throws MeshError XMESH_MESSAGE_TOO_LARGE above `maxSize`, XMESH_PROTOCOL on corrupt input. */
  decompressSync(payload: Uint8Array, maxSize?: number): Uint8Array;
  compress(payload: Uint8Array): Promise<Uint8Array>;
  /** Rejects with MeshError XMESH_MESSAGE_TOO_LARGE above `maxSize`, XMESH_PROTOCOL on corrupt input. */
  decompress(payload: Uint8Array, maxSize?: number): Promise<Uint8Array>;
}

function tooLarge(size: number | string, maxSize: number): MeshError {
  return new MeshError('XMESH_MESSAGE_TOO_LARGE', `decompressed gRPC message (${size} bytes) exceeds the maximum of ${maxSize}`);
}

export const identity: Compression = Object.freeze({
  name: 'identity',
  compressSync: (payload: Uint8Array) => payload,
  decompressSync(payload: Uint8Array, maxSize = DEFAULT_MAX_MESSAGE_SIZE) {
    if (payload.length > maxSize) throw tooLarge(payload.length, maxSize);
    return payload;
  },
  compress: async (payload: Uint8Array) => payload,
  async decompress(payload: Uint8Array, maxSize = DEFAULT_MAX_MESSAGE_SIZE) {
    return identity.decompressSync(payload, maxSize);
  },
});

const gunzipAsync = promisify(gunzip) as (buf: InputType, options: { maxOutputLength: number }) => Promise<Buffer>;
const gzipAsync = promisify(gzip) as (buf: InputType) => Promise<Buffer>;

function gunzipError(err: unknown, maxSize: number): MeshError {
  if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return tooLarge(`more than ${maxSize}`, maxSize);
  return new MeshError('XMESH_PROTOCOL', `corrupt gzip gRPC message: ${(err as Error).message}`, { cause: err });
}

export const gzipCompression: Compression = Object.freeze({
  name: 'gzip',
  compressSync: (payload: Uint8Array) => gzipSync(payload),
  decompressSync(payload: Uint8Array, maxSize = DEFAULT_MAX_MESSAGE_SIZE) {
    try {
      return gunzipSync(payload, { maxOutputLength: maxSize });
    } catch (err) {
      throw gunzipError(err, maxSize);
    }
  },
  compress: (payload: Uint8Array) => gzipAsync(payload),
  async decompress(payload: Uint8Array, maxSize = DEFAULT_MAX_MESSAGE_SIZE) {
    try {
      return await gunzipAsync(payload, { maxOutputLength: maxSize });
    } catch (err) {
      throw gunzipError(err, maxSize);
    }
  },
});

/** The compression named by a `grpc-encoding` header value; absent means identity; unknown gives undefined. */
export function compressionFor(encoding: string | undefined): Compression | undefined {
  const name = encoding?.trim().toLowerCase() || 'identity';
  if (name === 'identity') return identity;
  if (name === 'gzip') return gzipCompression;
  return undefined;
}

/** The `grpc-accept-encoding` value for what `compressionFor` understands. */
export const ACCEPT_ENCODING = 'identity,gzip';
