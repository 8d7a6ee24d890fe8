/**
 * The answer of a route that answers itself, compiled once per route: a `direct_response` (status and
 * body; a body from a file or an environment variable is read when the snapshot is compiled, within the
 * route configuration's `max_direct_response_body_size_bytes`) or a `redirect` (Location built as
 * Envoy's router builds it: scheme, host, port and path each replaced or kept, `prefix_rewrite` /
 * `regex_rewrite` of the path, `strip_query`; the request's port is dropped when a port is given or when
 * it is the default port of the request's `x-forwarded-proto` and the scheme changes). A `direct_response`
 * with a 201 or 3xx status carries a Location too: the request's own URL (Envoy's newUri without redirect).
 */
import { readFileSync } from 'node:fs';
import { ErrorCode, MeshError, type LocalReply } from '@xmesh/core';
import type { DataSource, LocalRouteAction, RedirectAction, Route } from '@xmesh/xds';
import type { HeaderSource } from './types.js';
import { compilePathRewrite } from './upstream-rewrite.js';

const NO_HEADERS: LocalReply['headers'] = Object.freeze([]);

export class LocalRouteAnswer {
  private readonly pathRewrite: ((path: string) => string) | undefined;
  /** The reply when it does not depend on the request (no Location). */
  private readonly fixed: LocalReply | undefined;
  private readonly body: string;

  /** @throws MeshError XMESH_CONFIG_INVALID when a direct response body cannot be read or is too long (`where` names the route). */
  constructor(
    private readonly action: LocalRouteAction,
    route: Route,
    where: string,
  ) {
    if (action.kind === 'redirect') {
      this.pathRewrite = compilePathRewrite(route.match.path, action.prefixRewrite, action.regexRewrite);
      this.fixed = undefined;
      this.body = '';
    } else {
      this.pathRewrite = undefined;
      const body = action.body === undefined ? '' : readBody(action.body, action.maxBodyBytes, `${where}.direct_response.body`);
      const addsLocation = action.status === 201 || (action.status >= 300 && action.status < 400);
      this.fixed = addsLocation ? undefined : Object.freeze({ status: action.status, headers: NO_HEADERS, body, route: true });
      this.body = body;
    }
  }

  /** The reply to `request` (whose `:scheme` header, else `http`, is its scheme). */
  reply(request: HeaderSource): LocalReply {
    if (this.fixed !== undefined) return this.fixed;
    const action = this.action;
    const location = action.kind === 'redirect' ? this.redirectUri(action, request) : requestUri(request);
    return { status: action.status, headers: [['location', location]], body: this.body, route: true };
  }

  /** The answer as the error a pipeline ends the call with. */
  error(request: HeaderSource): MeshError {
    const reply = this.reply(request);
    return new MeshError(ErrorCode.LOCAL_REPLY, `the route answered ${reply.status} itself (${this.action.kind})`, { reply });
  }

  private redirectUri(action: RedirectAction, request: HeaderSource): string {
    const requestScheme = schemeOf(request);
    const scheme = action.scheme !== '' ? action.scheme : requestScheme;
    const port = action.port === 0 ? '' : `:${action.port}`;
    const host = action.host !== '' ? action.host : hostOf(request, scheme, port);
    let path: string;
    let pathHasQuery = false;
    if (action.path !== '') {
      pathHasQuery = action.path.includes('?');
      // A path_redirect with its own query keeps it (strip_query does not apply); otherwise the request's query follows.
      const queryAt = request.path.indexOf('?');
      path = pathHasQuery || queryAt < 0 ? action.path : action.path + request.path.slice(queryAt);
    } else {
      path = this.pathRewrite === undefined ? request.path : this.pathRewrite(request.path);
    }
    if (!path.startsWith('/')) path = `/${path}`;
    if (!pathHasQuery && action.stripQuery) {
      const queryAt = path.indexOf('?');
      if (queryAt >= 0) path = path.slice(0, queryAt);
    }
    return `${scheme}://${host}${port}${path}`;
  }
}

/** The request's URL as Envoy's newUri builds it with no redirect: its scheme, host and path. */
function requestUri(request: HeaderSource): string {
  const scheme = schemeOf(request);
  const path = request.path.startsWith('/') ? request.path : `/${request.path}`;
  return `${scheme}://${hostOf(request, scheme, '')}${path}`;
}

function schemeOf(request: HeaderSource): string {
  return request.headers.get(':scheme') ?? 'http';
}

/**
 * The request's host, without its port when a port is given, or when the scheme changes from the one in
 * `x-forwarded-proto` and the port is that one's default (Envoy's processRequestHost).
 */
function hostOf(request: HeaderSource, scheme: string, newPort: string): string {
  const host = request.authority;
  if (host === '') return host;
  const portAt = host.startsWith('[') ? (host.lastIndexOf(']:') < 0 ? -1 : host.lastIndexOf(']:') + 1) : host.lastIndexOf(':');
  if (portAt < 0) return host;
  const requestPort = host.slice(portAt);
  const forwardedProto = request.headers.get('x-forwarded-proto') ?? '';
  let removePort = newPort !== '';
  if (scheme !== forwardedProto) {
    removePort ||= (forwardedProto === 'https' && requestPort === ':443') || (forwardedProto === 'http' && requestPort === ':80');
  }
  return removePort ? host.slice(0, portAt) : host;
}

function readBody(source: DataSource, maxBytes: number, where: string): string {
  let text: string;
  switch (source.kind) {
    case 'inline':
      text = source.text;
      break;
    case 'env': {
      const value = process.env[source.name];
      if (value === undefined) throw invalid(where, `environment variable ${source.name} is not set`);
      text = value;
      break;
    }
    case 'file': {
      let bytes: Buffer;
      try {
        bytes = readFileSync(source.path);
      } catch (error) {
        throw invalid(where, `cannot read ${source.path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
      if (bytes.length > maxBytes) throw invalid(where, `${source.path} is ${bytes.length} bytes, more than max_direct_response_body_size_bytes (${maxBytes})`);
      text = bytes.toString('utf8');
      break;
    }
  }
  if (Buffer.byteLength(text) > maxBytes) throw invalid(where, `the body is ${Buffer.byteLength(text)} bytes, more than max_direct_response_body_size_bytes (${maxBytes})`);
  return text;
}

function invalid(where: string, message: string): MeshError {
  return new MeshError(ErrorCode.CONFIG_INVALID, `${where}: ${message}`, { errors: [{ path: where, message }] });
}
