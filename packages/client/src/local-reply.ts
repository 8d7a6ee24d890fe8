/**
 * Envoy-like local replies for mesh errors (no route, no healthy upstream, rate limited, ...), what
 * the sidecar answers and what `mesh.fetch` / `mesh.dispatcher` return, so an HTTP caller sees the
 * same response in either mode. gRPC requests get a trailers-only response: HTTP 200 with
 * `grpc-status` and `grpc-message` in the headers and the stream ended. Other requests get the
 * error's HTTP status and a one-line text body. Both carry the stable `XMESH_*` code in
 * `x-xmesh-error-code`.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { MeshError, type LocalReply } from '@xmesh/core';
import { compileHeaderMatcher, HeaderMutator, RecordHeaders, type HeaderPredicate, type HeaderSource } from '@xmesh/router';
import type { BodyFormat, LocalReplyConfig, LocalReplyFilter, LocalReplyMapper } from '@xmesh/xds';
import { ERROR_CODE_METADATA, grpcStatusOfHttp } from './grpc-status.js';
import type { PipelineCall } from './pipeline-call.js';

/**
 * What a listener's `local_reply_config` makes of one local reply: the first matching mapper's HTTP
 * status (a gRPC reply's status then becomes Envoy's mapping of it), its body, then the body format
 * (the mapper's override, else the config's `body_format`) applied — the final body, a gRPC reply's
 * `grpc-message` — and the headers it adds. Envoy's order (`LocalReplyImpl::rewrite`, then
 * `Http::Utility::sendLocalReply`). Fields left undefined keep the reply as made.
 */
export interface LocalReplyRewrite {
  readonly status: number | undefined;
  readonly body: string | undefined;
  /** The body format's `content_type` (HTTP replies; `text/plain` when a format gives none). */
  readonly contentType: string | undefined;
  readonly headers: HeaderMutator | undefined;
  /** The request, for the headers' `%REQ(...)%`. */
  readonly request: HeaderSource;
}

/** The rewrite of `config` for the reply to `error` of `request` (`grpc`: a gRPC request); undefined when it changes nothing. */
export function localReplyRewrite(config: LocalReplyConfig | undefined, error: MeshError, request: HeaderSource, grpc: boolean): LocalReplyRewrite | undefined {
  if (config === undefined) return undefined;
  let matched: LocalReplyMapper | undefined;
  let headers: HeaderMutator | undefined;
  for (const mapper of config.mappers) {
    const compiled = compiledMapper(mapper);
    if (!compiled.matches(error.httpStatus, request)) continue;
    matched = mapper;
    headers = compiled.headers;
    break;
  }
  const format = matched?.bodyFormat ?? config.bodyFormat;
  if (matched === undefined && format === undefined) return undefined;
  const status = matched?.statusCode;
  let body = matched?.body;
  if (format !== undefined) body = formatBody(format, body ?? replyText(error, grpc), status ?? error.httpStatus, request);
  return { status, body, contentType: format === undefined ? undefined : format.contentType ?? 'text/plain', headers, request };
}

/** The body of a reply as made: Envoy's wording for HTTP, `CODE: message` for gRPC. */
function replyText(error: MeshError, grpc: boolean): string {
  return grpc ? `${error.code}: ${error.message}` : localReplyText(error);
}

function formatBody(format: BodyFormat, body: string, status: number, request: HeaderSource): string {
  let out = '';
  for (const part of format.parts) {
    switch (part.kind) {
      case 'text': out += part.text; break;
      case 'local_reply_body': out += body; break;
      case 'response_code': out += String(status); break;
      case 'request_header': {
        let value: string | undefined;
        for (const name of part.names) if ((value = request.headers.get(name)) !== undefined) break;
        // Envoy prints "-" for a missing value in text formats.
        const text = value ?? '-';
        out += part.maxLength === undefined ? text : text.slice(0, part.maxLength);
        break;
      }
    }
  }
  return out;
}

/** The rewrite of an embedded call's local reply by its listener's `local_reply_config` (none in sidecar mode: the sidecar rewrites its own). */
export function callLocalReplyRewrite(call: PipelineCall | undefined, error: MeshError): LocalReplyRewrite | undefined {
  const config = call?.decision?.listener?.localReply;
  // A caller that gave up gets no reply to rewrite.
  if (config === undefined || call!.mode === 'sidecar' || error.code === 'XMESH_CANCELLED') return undefined;
  return localReplyRewrite(config, error, call!.request, call!.request.grpc);
}

/**
 * `error` as the caller of an embedded call sees it after the rewrite (the fast API's MeshError):
 * the same code, the rewritten statuses, the rewritten body as its message; `error` as its cause.
 */
export function rewrittenError(error: MeshError, rewrite: LocalReplyRewrite | undefined): MeshError {
  if (rewrite === undefined || (rewrite.status === undefined && rewrite.body === undefined)) return error;
  const rewritten = new MeshError(error.code, rewrite.body ?? error.message, {
    cause: error,
    cluster: error.cluster,
    endpoint: error.endpoint,
    httpStatus: rewrite.status ?? error.httpStatus,
    grpcStatus: rewrite.status === undefined ? error.grpcStatus : grpcStatusOfHttp(rewrite.status),
  });
  REWRITTEN.set(rewritten, { original: error, rewrite });
  return rewritten;
}

/** Errors made by `rewrittenError` → the mesh's own error and the rewrite applied to it. */
const REWRITTEN = new WeakMap<MeshError, { readonly original: MeshError; readonly rewrite: LocalReplyRewrite }>();

/** The original error and its rewrite when `error` is a local reply `rewrittenError` rewrote; else undefined. */
export function localReplyOf(error: MeshError): { readonly original: MeshError; readonly rewrite: LocalReplyRewrite } | undefined {
  return REWRITTEN.get(error);
}

/** Headers of a trailers-only gRPC response for `error`, pseudo-header `:status` included. */
export function grpcLocalReply(error: MeshError, rewrite?: LocalReplyRewrite): OutgoingHttpHeaders {
  const reply = error.reply;
  if (reply !== undefined) {
    // Envoy's words for a reply the config specifies: the body is the grpc-message (none when empty); the
    // listener's local_reply_config may still rewrite it.
    const body = rewrite?.body ?? reply.body;
    const headers: OutgoingHttpHeaders = {
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-status': String(rewrite?.status === undefined ? error.grpcStatus : grpcStatusOfHttp(rewrite.status)),
    };
    if (body !== '') headers['grpc-message'] = grpcMessage(body);
    applyReplyHeaders(headers, reply.headers);
    headers[ERROR_CODE_METADATA] = error.code;
    if (rewrite?.headers !== undefined) addRewriteHeaders(headers, rewrite);
    return headers;
  }
  const headers: OutgoingHttpHeaders = {
    ':status': 200,
    'content-type': 'application/grpc',
    'grpc-status': String(rewrite?.status === undefined ? error.grpcStatus : grpcStatusOfHttp(rewrite.status)),
    'grpc-message': grpcMessage(rewrite?.body ?? `${error.code}: ${error.message}`),
    [ERROR_CODE_METADATA]: error.code,
  };
  if (rewrite?.headers !== undefined) addRewriteHeaders(headers, rewrite);
  return headers;
}

/** Headers (with `:status`) and the text body of a plain HTTP local reply for `error`. */
export function httpLocalReply(error: MeshError, rewrite?: LocalReplyRewrite): { headers: OutgoingHttpHeaders; body: string } {
  const reply = error.reply;
  if (reply !== undefined) {
    // As Envoy's sendLocalReply: text/plain only when there is a body; then the config's headers.
    const body = rewrite?.body ?? reply.body;
    const headers: OutgoingHttpHeaders = { ':status': rewrite?.status ?? reply.status };
    if (body !== '') headers['content-type'] = rewrite?.contentType ?? 'text/plain';
    applyReplyHeaders(headers, reply.headers);
    headers['content-length'] = Buffer.byteLength(body);
    headers[ERROR_CODE_METADATA] = error.code;
    if (rewrite?.headers !== undefined) addRewriteHeaders(headers, rewrite);
    return { headers, body };
  }
  const body = rewrite?.body ?? `${localReplyText(error)}\n`;
  const headers: OutgoingHttpHeaders = {
    ':status': rewrite?.status ?? error.httpStatus,
    'content-type': rewrite?.contentType ?? 'text/plain',
    'content-length': Buffer.byteLength(body),
    [ERROR_CODE_METADATA]: error.code,
  };
  if (rewrite?.headers !== undefined) addRewriteHeaders(headers, rewrite);
  return { headers, body };
}

/** The local reply for `error` to a gRPC request (trailers-only, no body) or an HTTP one (status and text body). */
export function localReply(error: MeshError, grpc: boolean, rewrite?: LocalReplyRewrite): { headers: OutgoingHttpHeaders; body: string | undefined } {
  return grpc ? { headers: grpcLocalReply(error, rewrite), body: undefined } : httpLocalReply(error, rewrite);
}

function addRewriteHeaders(headers: OutgoingHttpHeaders, rewrite: LocalReplyRewrite): void {
  const writer = new RecordHeaders(headers as Record<string, string | string[] | number | undefined>);
  const request = rewrite.request;
  rewrite.headers!.apply(writer, { request: { get: (name) => request.headers.get(name) }, response: writer });
}

interface CompiledMapper {
  matches(status: number, request: HeaderSource): boolean;
  readonly headers: HeaderMutator | undefined;
}

/** Mappers are frozen config: each is compiled once, on its first local reply. */
const compiledMappers = new WeakMap<LocalReplyMapper, CompiledMapper>();

function compiledMapper(mapper: LocalReplyMapper): CompiledMapper {
  let compiled = compiledMappers.get(mapper);
  if (compiled === undefined) {
    compiled = { matches: compileFilter(mapper.filter), headers: mapper.headersToAdd === undefined ? undefined : new HeaderMutator(mapper.headersToAdd) };
    compiledMappers.set(mapper, compiled);
  }
  return compiled;
}

function compileFilter(filter: LocalReplyFilter): (status: number, request: HeaderSource) => boolean {
  switch (filter.kind) {
    case 'status_code': {
      const { op, value } = filter;
      return op === 'EQ' ? (status) => status === value : op === 'GE' ? (status) => status >= value : (status) => status <= value;
    }
    case 'header': {
      const predicate: HeaderPredicate = compileHeaderMatcher(filter.header, 'local_reply_config');
      return (_status, request) => predicate(request);
    }
    case 'and': {
      const all = filter.filters.map(compileFilter);
      return (status, request) => all.every((f) => f(status, request));
    }
    case 'or': {
      const any = filter.filters.map(compileFilter);
      return (status, request) => any.some((f) => f(status, request));
    }
    case 'not_health_check':
      return () => true;
  }
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
