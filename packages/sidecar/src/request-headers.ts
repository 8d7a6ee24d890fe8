/**
 * Upstream request headers. An HTTP/2 request to an HTTP/2 upstream forwards the incoming header
 * object itself (no copy); the other three combinations translate between the protocols' forms,
 * dropping connection-specific headers and keeping the logical authority.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { HOP_BY_HOP } from './downstream.js';

/** HTTP/1.1 request → HTTP/2 request headers with pseudo-headers; `te: trailers` survives (gRPC needs it). */
export function h2FromH1(raw: IncomingHttpHeaders, method: string, path: string, authority: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':method': method, ':path': path, ':scheme': 'http', ':authority': authority };
  for (const name in raw) {
    if (HOP_BY_HOP.has(name)) {
      if (name === 'te' && raw.te === 'trailers') out.te = 'trailers';
      continue;
    }
    out[name] = raw[name];
  }
  return out;
}

/** Any incoming request → HTTP/1.1 request headers for undici: no pseudo- or hop-by-hop headers, `host` = authority. */
export function h1Headers(raw: IncomingHttpHeaders, authority: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = { host: authority };
  for (const name in raw) {
    if (name.charCodeAt(0) === 58 || HOP_BY_HOP.has(name)) continue;
    const value = raw[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** HTTP/1.1 response headers (undici's record) → HTTP/2 response headers with `:status`. */
export function h2ResponseFromH1(status: number, raw: Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':status': status };
  for (const name in raw) {
    if (HOP_BY_HOP.has(name)) continue;
    const value = raw[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
