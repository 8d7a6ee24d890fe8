/**
 * Transport security in the resolved config: Envoy's `UpstreamTlsContext`, `DownstreamTlsContext`, `Secret` and
 * the references between them, with Envoy's defaults applied. Key material never appears in clear in a snapshot's
 * JSON or `util.inspect` output: inline private keys are `SensitiveText`.
 */
import type { Dict, StringMatch } from './model.js';

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * Text that must not be shown: JSON and `util.inspect` print `[redacted]` (as Envoy's config dump does for
 * sensitive fields). `reveal()` hands the text to the code that needs it (building a TLS context).
 */
export class SensitiveText {
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
    Object.freeze(this);
  }

  reveal(): string {
    return this.#text;
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return '[redacted]';
  }

  [INSPECT](): string {
    return '[redacted]';
  }
}

/** `envoy.config.core.v3.DataSource`: bytes from a file (read when the config applies), inline, or an environment variable. */
export type DataSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'inline'; readonly text: string }
  | { readonly kind: 'env'; readonly name: string };

/** A DataSource holding key material: inline text is `SensitiveText`. */
export type SensitiveDataSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'inline'; readonly text: SensitiveText }
  | { readonly kind: 'env'; readonly name: string };

/** Node's names for TLS versions (`tls.SecureVersion`). */
export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** `TlsParameters` with Envoy's defaults for the side it is on (client: TLS 1.2 only; server: 1.2 – 1.3). */
export interface TlsParams {
  readonly minVersion: TlsVersion;
  readonly maxVersion: TlsVersion;
  /** OpenSSL cipher names for TLS ≤ 1.2, in preference order (BoringSSL's `[a|b]` groups are flattened). */
  readonly cipherSuites: readonly string[];
  readonly ecdhCurves: readonly string[];
  readonly signatureAlgorithms: readonly string[];
}

/** `TlsCertificate`: the chain and key this side presents. */
export interface TlsCertificateConfig {
  readonly certificateChain: DataSource;
  readonly privateKey: SensitiveDataSource;
}

/** `SubjectAltNameMatcher`; `ANY` is the deprecated untyped `match_subject_alt_names` (any DNS, URI, IP or email SAN). */
export interface SanMatcher {
  readonly type: 'DNS' | 'URI' | 'IP_ADDRESS' | 'EMAIL' | 'ANY';
  readonly matcher: StringMatch;
}

/** Where trusted CA certificates come from. */
export type TrustSource =
  | { readonly kind: 'data'; readonly data: DataSource }
  /** gRFC A29 `ca_certificate_provider_instance`: a certificate provider instance of the xDS bootstrap. */
  | { readonly kind: 'provider'; readonly instance: string; readonly certificateName: string }
  /** `system_root_certs`: Node's bundled root CAs. */
  | { readonly kind: 'system' };

/** `CertificateValidationContext`: how the peer's certificate is checked. */
export interface ValidationContextConfig {
  /** undefined: the peer's chain is not verified (Envoy's semantics without `trusted_ca`). */
  readonly trustedCa: TrustSource | undefined;
  /** Any one must match one SAN of the peer's leaf certificate; empty = no SAN check. */
  readonly sanMatchers: readonly SanMatcher[];
  /** `verify_certificate_spki`: base64 SHA-256 of the leaf's SubjectPublicKeyInfo; any one must match. */
  readonly spkiPins: readonly string[];
  /** `verify_certificate_hash`: lower-case hex SHA-256 of the leaf (DER), no colons; any one must match. */
  readonly certificateHashes: readonly string[];
}

/** Where a secret comes from when referenced by name (`SdsSecretConfig.sds_config`). */
export type SdsSource =
  /** No `sds_config`: a secret of `static_resources.secrets` (or of the same resource list). */
  | { readonly kind: 'static' }
  /** `sds_config.ads`: a `Secret` resource from the control plane the config came from. */
  | { readonly kind: 'ads' }
  /** `sds_config.path_config_source` (or the deprecated `path`): a file of Secret resources, watched. */
  | { readonly kind: 'file'; readonly path: string };

export interface SdsRef {
  readonly name: string;
  readonly source: SdsSource;
}

/** The certificate this side presents, if any. */
export type CertificateRef =
  | { readonly kind: 'static'; readonly certificate: TlsCertificateConfig }
  | { readonly kind: 'sds'; readonly secret: SdsRef }
  /** gRFC A29 / Envoy `tls_certificate_provider_instance`. */
  | { readonly kind: 'provider'; readonly instance: string; readonly certificateName: string };

/** How the peer is validated, if at all. */
export type ValidationRef =
  | { readonly kind: 'static'; readonly validation: ValidationContextConfig }
  /** `validation_context_sds_secret_config`, or `combined_validation_context` (then `defaults` add SAN matchers and pins). */
  | { readonly kind: 'sds'; readonly secret: SdsRef; readonly defaults: ValidationContextConfig | undefined };

/** `CommonTlsContext`. */
export interface CommonTlsConfig {
  readonly params: TlsParams;
  readonly certificate: CertificateRef | undefined;
  readonly validation: ValidationRef | undefined;
  /** `alpn_protocols`; empty = the transport's own protocol (h2 for HTTP/2 and gRPC, http/1.1 otherwise). */
  readonly alpnProtocols: readonly string[];
}

/** `envoy.transport_sockets.tls` with an `UpstreamTlsContext`. */
export interface UpstreamTlsConfig {
  /** `sni`; undefined = no SNI is sent (Envoy). */
  readonly sni: string | undefined;
  readonly common: CommonTlsConfig;
}

/** `envoy.transport_sockets.tls` with a `DownstreamTlsContext`. */
export interface DownstreamTlsConfig {
  readonly common: CommonTlsConfig;
  /** `require_client_certificate` (default false). */
  readonly requireClientCertificate: boolean;
}

/** `Cluster.transport_socket_matches[]`. */
export interface TransportSocketMatch {
  readonly name: string;
  /**
   * Every key must be present with an equal value in the endpoint's
   * `metadata.filter_metadata["envoy.transport_socket_match"]`; an empty match applies to every endpoint.
   */
  readonly match: Dict<unknown>;
  /** undefined = plaintext (raw_buffer). */
  readonly tls: UpstreamTlsConfig | undefined;
}

/** `envoy.extensions.transport_sockets.tls.v3.Secret`. */
export type SecretConfig =
  | { readonly kind: 'tls_certificate'; readonly name: string; readonly certificate: TlsCertificateConfig }
  | { readonly kind: 'validation_context'; readonly name: string; readonly validation: ValidationContextConfig };

/** The metadata key under which endpoints carry the labels `transport_socket_matches` select on. */
export const TRANSPORT_SOCKET_MATCH_KEY = 'envoy.transport_socket_match';
