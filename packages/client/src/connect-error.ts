/** Error codes of a connection that never opened (undici and node sockets): what `retry_on: connect-failure` covers. */
const CONNECT_ERROR_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);

/** True when `error` says the connection to the upstream could not be made (as opposed to a reset after it was). */
export function isConnectError(error: Error): boolean {
  return CONNECT_ERROR_CODES.has((error as { code?: string }).code ?? '');
}
