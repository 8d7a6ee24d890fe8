/**
 * Routes that answer themselves: `direct_response` (a status and a body) and `redirect` (a 3xx with a
 * Location built from the request, as Envoy's router builds it).
 */
import type { DirectResponseAction, RedirectAction } from '../filter-model.js';
import { oneOf, rejectUnsupported } from './fields.js';
import { readRegexRewrite } from './route-action.js';
import type { Reader } from './reader.js';
import { decodeDataSource } from './tls-context.js';

/** Envoy's default `max_direct_response_body_size_bytes`. */
export const DEFAULT_MAX_DIRECT_RESPONSE_BODY_BYTES = 4096;

const REDIRECT_CODES = ['MOVED_PERMANENTLY', 'FOUND', 'SEE_OTHER', 'TEMPORARY_REDIRECT', 'PERMANENT_REDIRECT'] as const;
const REDIRECT_STATUS: Readonly<Record<(typeof REDIRECT_CODES)[number], number>> = {
  MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308,
};

export function decodeDirectResponse(r: Reader, maxBodyBytes: number): DirectResponseAction {
  if (!r.has('status')) r.error('status', 'is required');
  const status = r.int('status', 200, 200, 599);
  const b = r.obj('body');
  const body = b ? decodeDataSource(b) : undefined;
  if (body?.kind === 'inline' && Buffer.byteLength(body.text) > maxBodyBytes) {
    r.error('body', `is ${Buffer.byteLength(body.text)} bytes, more than max_direct_response_body_size_bytes (${maxBodyBytes})`);
  }
  rejectUnsupported(r, { body_format: 'formatted bodies are not implemented; give the body as is' });
  r.finish();
  return { kind: 'direct_response', status, body, maxBodyBytes };
}

export function decodeRedirect(r: Reader): RedirectAction {
  const schemeKind = oneOf(r, ['https_redirect', 'scheme_redirect'] as const);
  const https = r.bool('https_redirect', false);
  const schemeRedirect = (r.str('scheme_redirect') ?? '').toLowerCase();
  const scheme = schemeKind === 'scheme_redirect' ? schemeRedirect : https ? 'https' : '';
  const host = r.str('host_redirect') ?? '';
  const port = r.int('port_redirect', 0, 0, 65_535);
  oneOf(r, ['path_redirect', 'prefix_rewrite', 'regex_rewrite'] as const);
  const path = r.str('path_redirect') ?? '';
  const prefix = r.str('prefix_rewrite');
  const regexRewrite = readRegexRewrite(r.obj('regex_rewrite'));
  const code = r.enumOf('response_code', REDIRECT_CODES, 'MOVED_PERMANENTLY', { 0: 'MOVED_PERMANENTLY', 1: 'FOUND', 2: 'SEE_OTHER', 3: 'TEMPORARY_REDIRECT', 4: 'PERMANENT_REDIRECT' });
  const stripQuery = r.bool('strip_query', false);
  r.finish();
  return {
    kind: 'redirect', status: REDIRECT_STATUS[code], scheme, host, port, path,
    prefixRewrite: prefix === undefined ? undefined : prefix, regexRewrite, stripQuery,
  };
}
