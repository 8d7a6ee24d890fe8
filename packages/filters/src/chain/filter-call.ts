/**
 * What the HTTP filters read from, and do to, one routed call. `PipelineCall` (embedded calls) and the
 * sidecar's proxied requests implement it; the optional members are what a front end can offer.
 */
import type { LocalReply, MeshError } from '@xmesh/core';
import type { HeaderSource, RouteDecision } from '@xmesh/router';
import type { HeaderValueOption } from '@xmesh/xds';
import type { Transform } from 'node:stream';
import type { ResponseCompression } from '../compressor/response-compression.js';

/** The peer certificate of a TLS downstream connection, as the authorization filters read it. */
export interface PeerIdentity {
  readonly uriSans: readonly string[];
  readonly dnsSans: readonly string[];
  /** The subject, RFC 2253 (`CN=a,O=b`). */
  readonly subject: string;
  /** The certificate, PEM. */
  readonly pem: string;
}

/**
 * The downstream connection a request came on. In the sidecar it is the client's connection; in embedded
 * mode the app is its own downstream: `EMBEDDED_CONNECTION`, a plaintext loopback connection, which is what
 * an Envoy sidecar beside the app sees.
 */
export interface DownstreamConnection {
  /** The connection's peer address (IPv4-mapped IPv6 addresses as IPv4). */
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /** The address the connection was made to. */
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  /** Set on a TLS connection. */
  readonly tls: { readonly serverName: string; readonly peer: PeerIdentity | undefined } | undefined;
  /** `HTTP/1.0`, `HTTP/1.1` or `HTTP/2`. */
  readonly protocol: string;
}

/** The app as its own downstream: plaintext, loopback (what a sidecar beside it sees). */
export const EMBEDDED_CONNECTION: DownstreamConnection = Object.freeze({
  remoteAddress: '127.0.0.1',
  remotePort: undefined,
  localAddress: '127.0.0.1',
  localPort: undefined,
  tls: undefined,
  protocol: 'HTTP/1.1',
});

/**
 * A request body buffered for a filter: the bytes (the first `limit` when it was longer and partial bodies
 * are allowed), and whether they are all of it. `none`: the request has no body (Envoy's end of stream on
 * the headers). `too_large`: longer than the limit (413 unless partial). `unavailable`: the front end cannot
 * read this request's body before sending it (a streaming gRPC call); nothing was consumed.
 */
export type BufferedBody = { readonly bytes: Buffer; readonly complete: boolean } | 'none' | 'too_large' | 'unavailable';

/** What the chain reads from a call; `PipelineCall` fits. */
export interface FilterCall {
  readonly request: HeaderSource & { readonly grpc: boolean };
  readonly decision: RouteDecision | undefined;
  readonly cancelled: unknown;
  onCancel(hook: (() => void) | undefined): void;
  /** The caller's deadline on the mesh clock (ms), or Infinity: a fault delay does not outlast it. */
  readonly deadline?: number;
  /** Downstream peer, for `remote_address` descriptors. */
  readonly remoteAddress?: string | undefined;
  /** The downstream connection (the sidecar's client); undefined in embedded mode (see EMBEDDED_CONNECTION). */
  readonly downstreamConnection?: DownstreamConnection | undefined;
  /** Headers for the upstream request (`append`: another value, else the header is replaced). */
  addRequestHeaders?(headers: readonly HeaderValueOption[]): void;
  /** Request headers removed before the request goes upstream (after the ones added). */
  removeRequestHeaders?(names: readonly string[]): void;
  /** Headers for the response the caller sees (replacing the response's own). */
  addResponseHeaders?(headers: Readonly<Record<string, string>>): void;
  /**
   * Reads the request body up to `limit` bytes before the call goes on (`partial`: stop there instead of
   * reporting `too_large`); the front end then sends the bytes read, and the rest as it arrives. Absent when
   * the front end cannot; `done` is called once, never synchronously.
   */
  bufferBody?(limit: number, partial: boolean, done: (body: BufferedBody) => void): void;
  /**
   * The compressor filters that ran for this call, created by the first of them with the client's
   * Accept-Encoding (read before a filter removed it); the front end asks it for an encoder when the
   * response headers arrive. Absent when the front end cannot compress.
   */
  compression?: ResponseCompression | undefined;
  /**
   * The request body goes upstream through `decoder` (a decompressor filter); a decoder error ends the call
   * with that error. Ignored for a request without body. Absent when the front end cannot.
   */
  decodeRequestBody?(decoder: Transform): void;
  /**
   * The gRPC HTTP/1.1 bridge: the response is held until it ends and then sent whole, its trailers' status as headers
   * (see grpc-http1-bridge.ts), its body held up to `limit` bytes. Present only on front ends whose caller speaks
   * HTTP/1.x: the sidecar's HTTP/1.x clients, and in embedded mode `mesh.fetch` and the undici dispatcher (whose
   * requests a sidecar gets over HTTP/1.1; a gRPC client's calls reach it over HTTP/2).
   */
  bridgeGrpcResponse?(limit: number): void;
}

/** A local reply as the MeshError a filter ends the call with. */
export type ReplyError = MeshError & { readonly reply: LocalReply };
