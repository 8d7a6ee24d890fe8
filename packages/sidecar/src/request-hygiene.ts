/**
 * What the sidecar checks on a request before routing it, as Envoy's connection manager and codecs
 * do: every check is O(1) or runs only when its option asks for it.
 *
 * - HTTP/1.1 absolute-form targets (`GET http://host/path HTTP/1.1`) are routed by the target's
 *   authority, which replaces `Host` (RFC 9112 §3.2.2, Envoy's `allow_absolute_url`, default on);
 * - two `Host` headers (node joins repeated headers, so the value holds a comma) are a 400;
 * - HTTP/1.0 is refused with 426 unless `accept_http_10` (then `default_host_for_http_10` stands in
 *   for a missing Host);
 * - more than `max_headers_count` headers is a 431 (HTTP/1.1) or a stream reset (HTTP/2);
 * - `headers_with_underscores_action`: names with `_` are rejected (400) or dropped;
 * - a CONNECT request's target must be authority-form (`host:port`, RFC 9110 §9.3.6); it has no path.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { MeshError } from '@xmesh/core';
import type { DownstreamProtection } from '@xmesh/xds';

/** Pseudo-headers an HTTP/2 request carries besides its regular headers. */
const H2_PSEUDO_HEADERS = 4;

export interface RequestTarget {
  readonly authority: string;
  readonly path: string;
}

function badRequest(message: string, httpStatus = 400): MeshError {
  return new MeshError('XMESH_PROTOCOL', message, { httpStatus });
}

/**
 * The authority and path of an HTTP/1.1 request, or the error it is answered with.
 * `rawHeaderCount` is `req.rawHeaders.length`.
 */
export function http1Target(
  headers: IncomingHttpHeaders,
  url: string,
  httpVersionMinor: number,
  rawHeaderCount: number,
  protection: DownstreamProtection,
): RequestTarget | MeshError {
  const refused = http1Refusal(httpVersionMinor, rawHeaderCount, protection);
  if (refused !== undefined) return refused;
  let authority = headers.host;
  if (httpVersionMinor === 0 && authority === undefined && protection.defaultHostForHttp10 !== undefined) authority = protection.defaultHostForHttp10;
  if (authority !== undefined && authority.includes(',')) return badRequest('more than one Host header');
  if (protection.allowAbsoluteUrl && url.charCodeAt(0) !== 47 /* '/' */ && url !== '*') {
    const absolute = absoluteForm(url);
    if (absolute === undefined) return badRequest(`invalid request target "${url.slice(0, 64)}"`);
    headers.host = absolute.authority;
    return absolute;
  }
  return { authority: authority ?? '', path: url };
}

/** `host:port` (a bracketed IPv6 host allowed), as a CONNECT request names its destination. */
const AUTHORITY_FORM = /^(?:\[[0-9A-Fa-f:.]+\]|[^\s/?#@[\]:]+):\d{1,5}$/;

/** Too many headers (431), or HTTP/1.0 where it is not accepted (426): the checks every HTTP/1 request gets. */
function http1Refusal(httpVersionMinor: number, rawHeaderCount: number, protection: DownstreamProtection): MeshError | undefined {
  if (rawHeaderCount > protection.maxHeadersCount * 2) return badRequest(`more than ${protection.maxHeadersCount} request headers`, 431);
  if (httpVersionMinor === 0 && !protection.acceptHttp10) return badRequest('HTTP/1.0 is not accepted', 426);
  return undefined;
}

/**
 * The authority of an HTTP/1.1 CONNECT request (its request target; the path is empty), or the error it is
 * answered with. As Envoy's HTTP/1 codec: a CONNECT has no body, so a Content-Length other than 0 is a 400 and
 * any Transfer-Encoding a 501 (their bytes would otherwise be relayed into the tunnel).
 */
export function connectTarget(
  headers: IncomingHttpHeaders,
  url: string,
  httpVersionMinor: number,
  rawHeaderCount: number,
  protection: DownstreamProtection,
): RequestTarget | MeshError {
  const refused = http1Refusal(httpVersionMinor, rawHeaderCount, protection);
  if (refused !== undefined) return refused;
  if (headers['transfer-encoding'] !== undefined) return badRequest('a CONNECT request has no transfer encoding', 501);
  const length = headers['content-length'];
  if (length !== undefined && length !== '0') return badRequest('a CONNECT request has no body (content-length)');
  if (!AUTHORITY_FORM.test(url) || Number(url.slice(url.lastIndexOf(':') + 1)) > 65535) {
    return badRequest(`a CONNECT request target must be host:port, got "${url.slice(0, 64)}"`);
  }
  return { authority: url, path: '' };
}

/** An HTTP/2 request breaking the header count: reset by the front (Envoy resets such a stream). */
export function http2HeaderCountExceeded(rawHeaderCount: number, protection: DownstreamProtection): boolean {
  return rawHeaderCount > (protection.maxHeadersCount + H2_PSEUDO_HEADERS) * 2;
}

/**
 * Applies `headers_with_underscores_action` to `headers` (incoming, lower-case); returns the error
 * to reject the request with, or undefined. Only called when the action is not 'allow'.
 */
export function checkUnderscores(headers: IncomingHttpHeaders, action: 'reject' | 'drop'): MeshError | undefined {
  for (const name in headers) {
    if (!name.includes('_')) continue;
    if (action === 'reject') return badRequest(`header "${name}" has an underscore`);
    delete headers[name];
  }
  return undefined;
}

/** `scheme://[userinfo@]host[:port][/path][?query]` (http or https) → authority and path; undefined when malformed. */
export function absoluteForm(url: string): RequestTarget | undefined {
  const match = /^https?:\/\/([^/?#]*)([^#]*)/i.exec(url);
  if (match === null) return undefined;
  const at = match[1]!.lastIndexOf('@');
  const authority = at < 0 ? match[1]! : match[1]!.slice(at + 1);
  if (authority === '' || /[\s,]/.test(authority)) return undefined;
  const rest = match[2]!;
  return { authority, path: rest === '' ? '/' : rest.charCodeAt(0) === 63 /* '?' */ ? `/${rest}` : rest };
}
