/**
 * Envoy's gRPC HTTP/1.1 bridge (`envoy.filters.http.grpc_http1_bridge`): a gRPC request from a client on HTTP/1.x,
 * which cannot read response trailers, gets its response whole once it ended — the body held back, then sent with
 * the trailers' `grpc-status` and `grpc-message` as headers, HTTP 503 when `grpc-status` is not 0 (or not a number),
 * and a `Content-Length`. A response that ends with its headers (a trailers-only status) goes out as it came.
 *
 * The body is held up to the stream's buffer limit (the route's `per_request_buffer_limit_bytes`, capped by the
 * listener's `per_connection_buffer_limit_bytes`): over it, the call is answered 500 instead, as Envoy answers a
 * response too large for a filter that buffers it. The front ends hold the response (`FilterCall.bridgeGrpcResponse`).
 */
import { MeshError } from '@xmesh/core';
import type { RouteDecision } from '@xmesh/router';
import { DEFAULT_CONNECTION_BUFFER_LIMIT } from '@xmesh/xds';

/** True for Envoy's gRPC content types: exactly `application/grpc`, or `application/grpc+<codec>` (gRPC-Web is not). */
export function isGrpcContentType(contentType: string | undefined): boolean {
  if (contentType === undefined || !contentType.startsWith('application/grpc')) return false;
  return contentType.length === 16 || contentType.charCodeAt(16) === 43 /* + */;
}

/**
 * The most a stream buffers, as Envoy: the route's (else the virtual host's) `per_request_buffer_limit_bytes`, capped
 * by the listener's `per_connection_buffer_limit_bytes` (1 MiB by default).
 */
export function streamBufferLimit(decision: RouteDecision | undefined): number {
  const connection = decision?.listener?.perConnectionBufferLimitBytes ?? DEFAULT_CONNECTION_BUFFER_LIMIT;
  const route = decision?.route.perRequestBufferLimitBytes;
  return route === undefined ? connection : Math.min(route, connection);
}

/** The answer to a bridged response whose body outgrew the buffer limit (Envoy's `response_payload_too_large`). */
export function bridgedResponseTooLarge(limit: number): MeshError {
  return new MeshError('XMESH_LOCAL_REPLY', `the response body is over the ${limit} byte buffer limit of the gRPC HTTP/1.1 bridge`, {
    reply: { status: 500, headers: [], body: 'Internal Server Error' },
  });
}

type HeaderValue = string | string[] | number | undefined;

/** A bridged response's body, held until the response ends. */
export class BridgedResponse {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(readonly limit: number) {}

  /** Holds `chunk`; false (nothing kept) once the body would go over the limit. */
  hold(chunk: Buffer): boolean {
    if (this.size + chunk.length > this.limit) return false;
    this.chunks.push(chunk);
    this.size += chunk.length;
    return true;
  }

  /** The body held so far. */
  body(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
  }

  /**
   * The status and headers the whole response goes out with: `headers` (lower-case names, no pseudo-headers) with
   * the trailers' `grpc-status` and `grpc-message` and the body's `content-length`; `status` 503 when `grpc-status`
   * is present and is not 0.
   */
  head(status: number, headers: Readonly<Record<string, HeaderValue>>, trailers: Readonly<Record<string, HeaderValue>> | undefined): { status: number; headers: Record<string, HeaderValue> } {
    const out: Record<string, HeaderValue> = { ...headers };
    delete out['transfer-encoding'];
    const grpcStatus = firstValue(trailers?.['grpc-status']);
    if (grpcStatus !== undefined) {
      if (!/^\s*\+?\d+\s*$/.test(grpcStatus) || Number(grpcStatus) !== 0) status = 503;
      out['grpc-status'] = grpcStatus;
    }
    const grpcMessage = firstValue(trailers?.['grpc-message']);
    if (grpcMessage !== undefined) out['grpc-message'] = grpcMessage;
    out['content-length'] = String(this.size);
    return { status, headers: out };
  }
}

function firstValue(value: HeaderValue): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value[0] : String(value);
}
