/**
 * TLS handshake failures, classified once where the socket fails and carried to every transport: the error object
 * gets `tlsFailure` and its message a stable prefix, `TLS handshake with <host:port> failed (<kind>): `, so a
 * transport that only keeps the message (the lean and grpc-js gRPC transports report status details) still tells a
 * TLS failure from any other connect failure. `tlsFailureOf` reads either back.
 */

/** What went wrong, in the terms of Envoy's `ssl.*` stats. */
export type TlsFailureKind =
  /** The peer's certificate has expired (or is not yet valid). */
  | 'expired'
  /** The peer's chain does not lead to a trusted CA. */
  | 'unknown_ca'
  /** Chain verification failed for another reason (bad signature, revoked, unusable for the purpose, ...). */
  | 'verify_failed'
  /** No SAN of the peer's certificate matches `match_typed_subject_alt_names`. */
  | 'san_mismatch'
  /** The peer's certificate or key is not one of `verify_certificate_hash` / `verify_certificate_spki`. */
  | 'pin_mismatch'
  /** The peer presented no certificate where one is required. */
  | 'no_peer_certificate'
  /** The peer refused the handshake (a TLS alert: it does not trust our certificate, or we sent none). */
  | 'peer_rejected'
  /** Any other failure before the handshake completed (protocol mismatch, a plaintext peer, reset mid-handshake). */
  | 'handshake';

export interface TlsFailureDetails {
  readonly tlsFailure: TlsFailureKind;
}

const PREFIX = 'TLS handshake with ';
const KIND_RE = /TLS handshake with \S+ failed \(([a-z_]+)\)/;

const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED']);
const UNKNOWN_CA = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_UNTRUSTED',
]);
const VERIFY_FAILED = new Set([
  'CERT_SIGNATURE_FAILURE', 'CERT_REJECTED', 'CERT_REVOKED', 'INVALID_CA', 'INVALID_PURPOSE', 'PATH_LENGTH_EXCEEDED',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD', 'HOSTNAME_MISMATCH',
]);
export const SAN_MISMATCH_CODE = 'ERR_TLS_CERT_ALTNAME_INVALID';
export const PIN_MISMATCH_CODE = 'XMESH_TLS_PIN_MISMATCH';
export const NO_PEER_CERTIFICATE_CODE = 'XMESH_TLS_NO_PEER_CERTIFICATE';

/** The kind of a TLS failure from Node's error code; undefined when `code` says nothing about TLS. */
export function tlsFailureKindOf(code: string | undefined, beforeSecure: boolean): TlsFailureKind | undefined {
  if (code === undefined) return beforeSecure ? 'handshake' : undefined;
  if (EXPIRED.has(code)) return 'expired';
  if (UNKNOWN_CA.has(code)) return 'unknown_ca';
  if (VERIFY_FAILED.has(code)) return 'verify_failed';
  if (code === SAN_MISMATCH_CODE) return 'san_mismatch';
  if (code === PIN_MISMATCH_CODE) return 'pin_mismatch';
  if (code === NO_PEER_CERTIFICATE_CODE || code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return 'no_peer_certificate';
  // TLS 1.3 servers check the client's certificate after the client finished: their alert can follow secureConnect.
  if (code.startsWith('ERR_SSL_') && code.includes('ALERT')) return 'peer_rejected';
  return beforeSecure ? 'handshake' : undefined;
}

/**
 * Marks `error` as a TLS failure of `kind` on the connection to `peer`: sets `tlsFailure` and prefixes the message
 * (once). Returns the same object, so the transports that see the error afterwards see the mark.
 */
export function markTlsFailure(error: Error, kind: TlsFailureKind, peer: string): Error & TlsFailureDetails {
  const marked = error as Error & { tlsFailure?: TlsFailureKind };
  if (marked.tlsFailure === undefined) {
    try {
      marked.tlsFailure = kind;
      if (!error.message.startsWith(PREFIX)) error.message = `${PREFIX}${peer} failed (${kind}): ${error.message}`;
    } catch {
      // A frozen error keeps its message; the caller's classification still applies.
    }
  }
  return marked as Error & TlsFailureDetails;
}

/** The TLS failure an error or a status message carries, if any. */
export function tlsFailureOf(errorOrMessage: unknown): TlsFailureKind | undefined {
  if (typeof errorOrMessage === 'object' && errorOrMessage !== null) {
    const kind = (errorOrMessage as { tlsFailure?: unknown }).tlsFailure;
    if (typeof kind === 'string') return kind as TlsFailureKind;
    const cause = (errorOrMessage as { cause?: unknown }).cause;
    if (cause !== undefined && cause !== errorOrMessage) {
      const fromCause = tlsFailureOf(cause);
      if (fromCause !== undefined) return fromCause;
    }
    const message = (errorOrMessage as { message?: unknown }).message;
    return typeof message === 'string' ? tlsFailureOf(message) : undefined;
  }
  if (typeof errorOrMessage !== 'string' || !errorOrMessage.includes(PREFIX)) return undefined;
  return KIND_RE.exec(errorOrMessage)?.[1] as TlsFailureKind | undefined;
}

/** Envoy's `transport failure reason` words for a kind, for local replies and logs. */
export function describeTlsFailure(kind: TlsFailureKind): string {
  switch (kind) {
    case 'expired': return 'the peer certificate has expired or is not yet valid';
    case 'unknown_ca': return 'the peer certificate is not signed by a trusted CA';
    case 'verify_failed': return 'the peer certificate failed verification';
    case 'san_mismatch': return 'no subject alternative name of the peer certificate matches';
    case 'pin_mismatch': return 'the peer certificate matches no configured hash or SPKI pin';
    case 'no_peer_certificate': return 'the peer presented no certificate';
    case 'peer_rejected': return 'the peer rejected the handshake';
    case 'handshake': return 'the TLS handshake failed';
  }
}
