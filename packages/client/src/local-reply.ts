/**
 * Envoy-like local replies for mesh errors (no route, no healthy upstream, rate limited, ...), what
 * the sidecar answers and what `mesh.fetch` / `mesh.dispatcher` return, so an HTTP caller sees the
 * same response in either mode. gRPC requests get a trailers-only response: HTTP 200 with
 * `grpc-status` and `grpc-message` in the headers and the stream ended. Other requests get the
 * error's HTTP status and a one-line text body. Both carry the stable `XMESH_*` code in
 * `x-xmesh-error-code`.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { LocalReply, MeshError } from '@xmesh/core';
import { ERROR_CODE_METADATA } from './grpc-status.js';

/** Headers of a trailers-only gRPC response for `error`, pseudo-header `:status` included. */
export function grpcLocalReply(error: MeshError): OutgoingHttpHeaders {
  const reply = error.reply;
  if (reply !== undefined) {
    // Envoy's words for a reply the config specifies: the body is the grpc-message (none when empty).
    const headers: OutgoingHttpHeaders = { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(error.grpcStatus) };
    if (reply.body !== '') headers['grpc-message'] = grpcMessage(reply.body);
    applyReplyHeaders(headers, reply.headers);
    headers[ERROR_CODE_METADATA] = error.code;
    return headers;
  }
  return {
    ':status': 200,
    'content-type': 'application/grpc',
    'grpc-status': String(error.grpcStatus),
    'grpc-message': encodeURIComponent(`${error.code}: ${error.message}`),
    [ERROR_CODE_METADATA]: error.code,
  };
}

/** Headers (with `:status`) and the text body of a plain HTTP local reply for `error`. */
export function httpLocalReply(error: MeshError): { headers: OutgoingHttpHeaders; body: string } {
  const reply = error.reply;
  if (reply !== undefined) {
    // As Envoy's sendLocalReply: text/plain only when there is a body; then the config's headers.
    const headers: OutgoingHttpHeaders = { ':status': reply.status };
    if (reply.body !== '') headers['content-type'] = 'text/plain';
    applyReplyHeaders(headers, reply.headers);
    headers['content-length'] = Buffer.byteLength(reply.body);
    headers[ERROR_CODE_METADATA] = error.code;
    return { headers, body: reply.body };
  }
  const body = `${localReplyText(error)}\n`;
  return {
    headers: {
      ':status': error.httpStatus,
      'content-type': 'text/plain',
      'content-length': Buffer.byteLength(body),
      [ERROR_CODE_METADATA]: error.code,
    },
    body,
  };
}

/** The local reply for `error` to a gRPC request (trailers-only, no body) or an HTTP one (status and text body). */
export function localReply(error: MeshError, grpc: boolean): { headers: OutgoingHttpHeaders; body: string | undefined } {
  return grpc ? { headers: grpcLocalReply(error), body: undefined } : httpLocalReply(error);
}

/**
 * A `grpc-message` value as the gRPC spec (and Envoy's PercentEncoding) writes it: UTF-8, with `%` and bytes
 * outside 0x20..0x7E percent-encoded; everything else as is (`RBAC: access denied` stays readable).
 */
export function grpcMessage(text: string): string {
  let plain = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return text;
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) out += byte < 0x20 || byte > 0x7e || byte === 0x25 ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte);
  return out;
}

/** Sets `headers` on a reply: each name replaces the reply's own value, repeated names add values (`set-cookie`). */
function applyReplyHeaders(out: OutgoingHttpHeaders, headers: LocalReply['headers']): void {
  const seen = new Set<string>();
  for (const [name, value] of headers) {
    if (name === 'content-length' || name.startsWith(':')) continue;
    const previous = out[name];
    if (!seen.has(name) || previous === undefined) out[name] = value;
    else out[name] = Array.isArray(previous) ? [...previous, value] : [String(previous), value];
    seen.add(name);
  }
}

/** Envoy's wording where Envoy has one, else the error's message. */
function localReplyText(error: MeshError): string {
  switch (error.code) {
    case 'XMESH_NO_HEALTHY_UPSTREAM': return 'no healthy upstream';
    case 'XMESH_RATE_LIMITED': return 'local_rate_limited';
    case 'XMESH_FAULT_ABORT': return 'fault filter abort';
    case 'XMESH_NO_ROUTE': return 'no route';
    case 'XMESH_CONNECT_FAILED': return 'upstream connect error or disconnect/reset before headers. reset reason: connection failure';
    case 'XMESH_TLS_HANDSHAKE_FAILED': return `upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS_error: ${error.message}`;
    case 'XMESH_UPSTREAM_RESET': return 'upstream connect error or disconnect/reset before headers. reset reason: remote reset';
    case 'XMESH_UPSTREAM_PROTOCOL': return 'upstream connect error or disconnect/reset before headers. reset reason: protocol error';
    // A route (upstream) timeout is a 504; the connection manager's own (stream idle, request) are 408 and say which.
    case 'XMESH_TIMEOUT': return error.httpStatus === 504 ? 'upstream request timeout' : error.message;
    case 'XMESH_CIRCUIT_OPEN': return 'upstream connect error or disconnect/reset before headers. reset reason: overflow';
    default: return `${error.code}: ${error.message}`;
  }
}
