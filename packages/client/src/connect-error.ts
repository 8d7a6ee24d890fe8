import { ErrorCode } from '@xmesh/core';
import { tlsFailureOf } from '@xmesh/tls';

/** Error codes of a connection that never opened (undici and node sockets): what `retry_on: connect-failure` covers. */
const CONNECT_ERROR_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

/**
 * True when `error` says the connection to the upstream could not be made (as opposed to a reset after it was);
 * a failed TLS handshake is one (`@xmesh/tls` marks it).
 */
export function isConnectError(error: Error): boolean {
  return CONNECT_ERROR_CODES.has((error as { code?: string }).code ?? '') || tlsFailureOf(error) !== undefined;
}

/** The `XMESH_*` code of an upstream failure before any response: a failed TLS handshake, another connect failure, or a reset. */
export function upstreamFailureCode(error: Error | undefined, connect: boolean): ErrorCode {
  if (connect && error !== undefined && tlsFailureOf(error) !== undefined) return ErrorCode.TLS_HANDSHAKE_FAILED;
  return connect ? ErrorCode.CONNECT_FAILED : ErrorCode.UPSTREAM_RESET;
}

/**
 * undici's HTTP/1.1 parser errors (`HTTPParserError`, `HPE_*` codes) and response headers over its
 * limit: the upstream's bytes are not an acceptable HTTP response (Envoy: a codec protocol error).
 */
export function isHttp1ProtocolError(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return error.name === 'HTTPParserError' || code === 'UND_ERR_HEADERS_OVERFLOW' || (typeof code === 'string' && code.startsWith('HPE_'));
}
