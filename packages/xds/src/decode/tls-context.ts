/**
 * `envoy.extensions.transport_sockets.tls.v3`: UpstreamTlsContext, DownstreamTlsContext, CommonTlsContext,
 * CertificateValidationContext, TlsCertificate, SdsSecretConfig and Secret, with Envoy's defaults. A field that
 * would change what is sent, what is accepted or how a peer is checked is implemented or refused with its path;
 * only fields that cannot weaken a connection are ignored (TLS_IGNORED). Private keys are read without ever being
 * echoed in an error message.
 */
import { isIP } from 'node:net';
import type {
  CertificateRef,
  CommonTlsConfig,
  DataSource,
  DownstreamTlsConfig,
  SanMatcher,
  SdsRef,
  SecretConfig,
  SensitiveDataSource,
  TlsCertificateConfig,
  TlsParams,
  TlsVersion,
  TrustSource,
  UpstreamTlsConfig,
  ValidationContextConfig,
  ValidationRef,
} from '../tls-model.js';
import { SensitiveText } from '../tls-model.js';
import { oneOf, rejectUnsupported } from './fields.js';
import { readStringMatcher } from './matchers.js';
import { describe, type Reader } from './reader.js';

const P = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.';
export const UPSTREAM_TLS_CONTEXT_TYPE = `${P}UpstreamTlsContext`;
export const DOWNSTREAM_TLS_CONTEXT_TYPE = `${P}DownstreamTlsContext`;
export const SECRET_TYPE = `${P}Secret`;

/** TLS fields xmesh reads and does not act on, by message: none of them can weaken or redirect a connection. */
export const TLS_IGNORED: readonly (readonly [message: string, field: string, reason: string])[] = [
  [`${P.slice(20)}UpstreamTlsContext`, 'max_session_keys', 'TLS sessions are not resumed: every connection makes a full handshake'],
  [`${P.slice(20)}DownstreamTlsContext`, 'disable_stateless_session_resumption', 'TLS session tickets are not issued: every connection makes a full handshake'],
  [`${P.slice(20)}DownstreamTlsContext`, 'disable_stateful_session_resumption', 'TLS sessions are not resumed: every connection makes a full handshake'],
  [`${P.slice(20)}DownstreamTlsContext`, 'full_scan_certs_on_sni_mismatch', 'one certificate per context: there is nothing to scan'],
  [`${P.slice(20)}CommonTlsContext`, 'key_log', 'TLS keys are never logged'],
  [`${P.slice(20)}CertificateValidationContext`, 'only_verify_leaf_cert_crl', 'CRLs are not supported (`crl` is refused), so there is nothing to restrict'],
  [`${P.slice(20)}SubjectAltNameMatcher`, 'oid', 'qualifies OTHER_NAME SANs only, which are refused'],
  ['envoy.config.core.v3.ConfigSource', 'initial_fetch_timeout', 'a cluster or listener waits for its secrets as for its other resources'],
  ['envoy.config.core.v3.ConfigSource', 'resource_api_version', 'only v3 exists'],
];

const ignoredIn = (message: string): string[] => TLS_IGNORED.filter(([m]) => m.endsWith(message)).map(([, f]) => f);

/** Envoy's client default ciphers (non-FIPS), BoringSSL's equal-preference groups flattened. */
export const DEFAULT_CLIENT_CIPHERS: readonly string[] = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-RSA-CHACHA20-POLY1305', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
];
/** Envoy's server default ciphers (non-FIPS); the same list today. */
export const DEFAULT_SERVER_CIPHERS: readonly string[] = DEFAULT_CLIENT_CIPHERS;
export const DEFAULT_ECDH_CURVES: readonly string[] = ['X25519', 'P-256'];

const TLS_VERSIONS = ['TLS_AUTO', 'TLSv1_0', 'TLSv1_1', 'TLSv1_2', 'TLSv1_3'] as const;
const NODE_VERSIONS: Readonly<Record<(typeof TLS_VERSIONS)[number], TlsVersion | undefined>> = {
  TLS_AUTO: undefined, TLSv1_0: 'TLSv1', TLSv1_1: 'TLSv1.1', TLSv1_2: 'TLSv1.2', TLSv1_3: 'TLSv1.3',
};
const VERSION_ORDER: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

const SAN_TYPES = ['SAN_TYPE_UNSPECIFIED', 'EMAIL', 'DNS', 'URI', 'IP_ADDRESS', 'OTHER_NAME'] as const;

export type TlsSide = 'client' | 'server';

/** `UpstreamTlsContext` (the `typed_config` of a cluster's TLS transport socket). */
export function decodeUpstreamTlsContext(r: Reader): UpstreamTlsConfig {
  const common = decodeCommonTlsContext(r.obj('common_tls_context'), 'client');
  const sni = r.str('sni');
  if (sni !== undefined && Buffer.byteLength(sni) > 255) r.error('sni', 'must be at most 255 bytes');
  if (sni !== undefined && isIP(sni) !== 0) r.error('sni', 'must be a host name: an IP address is not a server name (RFC 6066), and Node refuses it');
  if (r.bool('allow_renegotiation', false)) r.error('allow_renegotiation', 'is not supported: renegotiation is never allowed');
  if (r.bool('enforce_rsa_key_usage', false)) r.error('enforce_rsa_key_usage', 'is not supported: the key usage extension is not checked');
  r.ignoreEach(ignoredIn('.UpstreamTlsContext'));
  r.finish();
  return { sni: sni === undefined || sni === '' ? undefined : sni, common };
}

/** `DownstreamTlsContext` (the `typed_config` of a filter chain's TLS transport socket). */
export function decodeDownstreamTlsContext(r: Reader): DownstreamTlsConfig {
  const common = decodeCommonTlsContext(r.obj('common_tls_context'), 'server');
  if (common.certificate === undefined) r.error('common_tls_context', 'a server needs a certificate: set tls_certificates, tls_certificate_sds_secret_configs or tls_certificate_provider_instance');
  const requireClientCertificate = r.bool('require_client_certificate', false);
  if (requireClientCertificate && common.validation === undefined) {
    r.error('require_client_certificate', 'needs common_tls_context.validation_context (or its SDS / provider form) with trusted_ca to verify client certificates');
  }
  if (r.bool('require_sni', false)) r.error('require_sni', 'is not supported');
  rejectUnsupported(r, {
    session_ticket_keys: 'TLS session tickets are not issued',
    session_ticket_keys_sds_secret_config: 'TLS session tickets are not issued',
    session_timeout: 'TLS sessions are not resumed',
  });
  const ocsp = r.enumOf('ocsp_staple_policy', ['LENIENT_STAPLING', 'STRICT_STAPLING', 'MUST_STAPLE'] as const, 'LENIENT_STAPLING', { 0: 'LENIENT_STAPLING', 1: 'STRICT_STAPLING', 2: 'MUST_STAPLE' });
  if (ocsp !== 'LENIENT_STAPLING') r.error('ocsp_staple_policy', `${ocsp} is not supported: OCSP responses are not stapled`);
  r.ignoreEach(ignoredIn('.DownstreamTlsContext'));
  r.finish();
  return { common, requireClientCertificate };
}

/** `Secret` (static_resources.secrets[], an SDS file's resources, an ADS Secret resource). */
export function decodeSecret(r: Reader): SecretConfig | undefined {
  const name = r.requiredStr('name');
  const which = oneOf(r, ['tls_certificate', 'validation_context', 'session_ticket_keys', 'generic_secret'] as const, 'one of tls_certificate, validation_context is required');
  rejectUnsupported(r, { session_ticket_keys: 'TLS session tickets are not issued', generic_secret: 'generic secrets have no user in xmesh' });
  const certificate = r.obj('tls_certificate');
  const validation = r.obj('validation_context');
  r.finish();
  if (which === 'tls_certificate' && certificate) {
    const decoded = decodeTlsCertificate(certificate);
    return decoded === undefined ? undefined : { kind: 'tls_certificate', name, certificate: decoded };
  }
  if (which === 'validation_context' && validation) return { kind: 'validation_context', name, validation: decodeValidationContext(validation) };
  return undefined;
}

function decodeCommonTlsContext(r: Reader | undefined, side: TlsSide): CommonTlsConfig {
  const params = decodeTlsParams(r?.obj('tls_params'), side);
  if (!r) return { params, certificate: undefined, validation: undefined, alpnProtocols: [] };
  const certificate = decodeCertificateRef(r);
  const validation = decodeValidationRef(r);
  const alpnProtocols = r.strings('alpn_protocols');
  alpnProtocols.forEach((p, i) => {
    if (p === '' || Buffer.byteLength(p) > 255) r.issues.error(`${r.at('alpn_protocols')}[${i}]`, 'must be 1 to 255 bytes');
  });
  rejectUnsupported(r, {
    custom_handshaker: 'custom handshakers are not supported',
    tls_certificate_certificate_provider: 'deprecated; use tls_certificate_provider_instance',
    tls_certificate_certificate_provider_instance: 'deprecated; use tls_certificate_provider_instance',
  });
  r.ignoreEach(ignoredIn('.CommonTlsContext'));
  r.finish();
  return { params, certificate, validation, alpnProtocols };
}

function decodeTlsParams(r: Reader | undefined, side: TlsSide): TlsParams {
  // Envoy: TLS 1.2 minimum for both; maximum 1.2 for clients, 1.3 for servers.
  const defaults = { min: 'TLSv1.2' as TlsVersion, max: (side === 'client' ? 'TLSv1.2' : 'TLSv1.3') as TlsVersion };
  if (!r) return { minVersion: defaults.min, maxVersion: defaults.max, cipherSuites: side === 'client' ? DEFAULT_CLIENT_CIPHERS : DEFAULT_SERVER_CIPHERS, ecdhCurves: DEFAULT_ECDH_CURVES, signatureAlgorithms: [] };
  const numbers = { ...TLS_VERSIONS };
  const minVersion = NODE_VERSIONS[r.enumOf('tls_minimum_protocol_version', TLS_VERSIONS, 'TLS_AUTO', numbers)] ?? defaults.min;
  const maxVersion = NODE_VERSIONS[r.enumOf('tls_maximum_protocol_version', TLS_VERSIONS, 'TLS_AUTO', numbers)] ?? defaults.max;
  if (VERSION_ORDER.indexOf(minVersion) > VERSION_ORDER.indexOf(maxVersion)) {
    r.error('tls_minimum_protocol_version', `${minVersion} is above tls_maximum_protocol_version ${maxVersion}`);
  }
  const ciphers = r.strings('cipher_suites').flatMap(flattenCipherGroup);
  const curves = r.strings('ecdh_curves');
  const signatureAlgorithms = r.strings('signature_algorithms');
  r.finish();
  return {
    minVersion,
    maxVersion,
    cipherSuites: ciphers.length > 0 ? ciphers : side === 'client' ? DEFAULT_CLIENT_CIPHERS : DEFAULT_SERVER_CIPHERS,
    ecdhCurves: curves.length > 0 ? curves : DEFAULT_ECDH_CURVES,
    signatureAlgorithms,
  };
}

/** BoringSSL's `[A|B]` equal-preference group → A, B (OpenSSL has no groups; the order is kept). */
function flattenCipherGroup(entry: string): string[] {
  const inner = entry.startsWith('[') && entry.endsWith(']') ? entry.slice(1, -1) : entry;
  return inner.split('|').filter((c) => c !== '');
}

function decodeCertificateRef(r: Reader): CertificateRef | undefined {
  const kinds = (['tls_certificates', 'tls_certificate_sds_secret_configs', 'tls_certificate_provider_instance'] as const).filter((k) => present(r, k));
  if (kinds.length > 1) r.issues.error(r.path, `only one of tls_certificates, tls_certificate_sds_secret_configs, tls_certificate_provider_instance may be set, got ${kinds.join(' and ')}`);
  const certificates = r.objects('tls_certificates');
  const sds = r.objects('tls_certificate_sds_secret_configs');
  const provider = r.obj('tls_certificate_provider_instance');
  if (certificates.length > 1) r.error('tls_certificates', 'at most one certificate is supported');
  if (sds.length > 1) r.error('tls_certificate_sds_secret_configs', 'at most one certificate is supported');
  const certificate = certificates[0] ? decodeTlsCertificate(certificates[0]) : undefined;
  const secret = sds[0] ? decodeSdsSecretConfig(sds[0]) : undefined;
  const instance = provider ? decodeProviderInstance(provider) : undefined;
  if (kinds[0] === 'tls_certificates' && certificate) return { kind: 'static', certificate };
  if (kinds[0] === 'tls_certificate_sds_secret_configs' && secret) return { kind: 'sds', secret };
  if (kinds[0] === 'tls_certificate_provider_instance' && instance) return { kind: 'provider', ...instance };
  return undefined;
}

function decodeValidationRef(r: Reader): ValidationRef | undefined {
  const which = oneOf(r, [
    'validation_context', 'validation_context_sds_secret_config', 'combined_validation_context',
    'validation_context_certificate_provider', 'validation_context_certificate_provider_instance',
  ] as const);
  rejectUnsupported(r, {
    validation_context_certificate_provider: 'deprecated; use validation_context.ca_certificate_provider_instance',
    validation_context_certificate_provider_instance: 'deprecated; use validation_context.ca_certificate_provider_instance',
  });
  const inline = r.obj('validation_context');
  const sds = r.obj('validation_context_sds_secret_config');
  const combined = r.obj('combined_validation_context');
  if (which === 'validation_context' && inline) return { kind: 'static', validation: decodeValidationContext(inline) };
  if (which === 'validation_context_sds_secret_config' && sds) {
    const secret = decodeSdsSecretConfig(sds);
    return secret && { kind: 'sds', secret, defaults: undefined };
  }
  if (which === 'combined_validation_context' && combined) {
    const defaultsReader = combined.obj('default_validation_context');
    const sdsReader = combined.obj('validation_context_sds_secret_config');
    rejectUnsupported(combined, {
      validation_context_certificate_provider: 'deprecated; use ca_certificate_provider_instance',
      validation_context_certificate_provider_instance: 'deprecated; use ca_certificate_provider_instance',
    });
    combined.finish();
    const defaults = defaultsReader ? decodeValidationContext(defaultsReader) : undefined;
    // gRPC xDS clients send a combined context with only the defaults (gRFC A29): that is a static context.
    if (!sdsReader) return defaults && { kind: 'static', validation: defaults };
    const secret = decodeSdsSecretConfig(sdsReader);
    return secret && { kind: 'sds', secret, defaults };
  }
  return undefined;
}

/** `CertificateValidationContext`. */
export function decodeValidationContext(r: Reader): ValidationContextConfig {
  const sources = (['trusted_ca', 'ca_certificate_provider_instance', 'system_root_certs'] as const).filter((k) => present(r, k));
  if (sources.length > 1) r.issues.error(r.path, `only one of trusted_ca, ca_certificate_provider_instance, system_root_certs may be set, got ${sources.join(' and ')}`);
  const trustedCa = r.obj('trusted_ca');
  const provider = r.obj('ca_certificate_provider_instance');
  const system = r.obj('system_root_certs');
  system?.finish();
  let trust: TrustSource | undefined;
  if (sources[0] === 'trusted_ca' && trustedCa) {
    const data = decodeDataSource(trustedCa);
    trust = data && { kind: 'data', data };
  } else if (sources[0] === 'ca_certificate_provider_instance' && provider) {
    const instance = decodeProviderInstance(provider);
    trust = instance && { kind: 'provider', ...instance };
  } else if (sources[0] === 'system_root_certs') {
    trust = { kind: 'system' };
  }
  const sanMatchers = r.objects('match_typed_subject_alt_names').map(decodeSanMatcher).filter((m): m is SanMatcher => m !== undefined);
  // The deprecated untyped form, which gRPC xDS control planes (and grpc-js-xds) still use: any SAN type.
  for (const m of r.objects('match_subject_alt_names')) sanMatchers.push({ type: 'ANY', matcher: readStringMatcher(m) });
  const spkiPins = r.strings('verify_certificate_spki');
  spkiPins.forEach((pin, i) => {
    if (!/^[A-Za-z0-9+/]{43}=$/.test(pin)) r.issues.error(`${r.at('verify_certificate_spki')}[${i}]`, 'must be the base64 SHA-256 of a SubjectPublicKeyInfo (44 characters)');
  });
  const certificateHashes = r.strings('verify_certificate_hash').map((hash, i) => {
    const hex = hash.replace(/:/g, '').toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex)) r.issues.error(`${r.at('verify_certificate_hash')}[${i}]`, 'must be a hex SHA-256 (64 digits, colons allowed)');
    return hex;
  });
  if (sanMatchers.length > 0 && trust === undefined) {
    // As Envoy: checking names on a certificate nobody vouched for proves nothing.
    r.error(r.has('match_typed_subject_alt_names') ? 'match_typed_subject_alt_names' : 'match_subject_alt_names', 'needs trusted_ca (or ca_certificate_provider_instance): SAN checks of an unverified certificate prove nothing');
  }
  if ((spkiPins.length > 0 || certificateHashes.length > 0) && trust === undefined) {
    r.error(spkiPins.length > 0 ? 'verify_certificate_spki' : 'verify_certificate_hash', 'needs trusted_ca (or ca_certificate_provider_instance) in xmesh');
  }
  if (r.bool('allow_expired_certificate', false)) r.error('allow_expired_certificate', 'is not supported: expired certificates are always refused');
  if (r.bool('require_signed_certificate_timestamp', false)) r.error('require_signed_certificate_timestamp', 'is not supported: signed certificate timestamps are not checked');
  const chain = r.enumOf('trust_chain_verification', ['VERIFY_TRUST_CHAIN', 'ACCEPT_UNTRUSTED'] as const, 'VERIFY_TRUST_CHAIN', { 0: 'VERIFY_TRUST_CHAIN', 1: 'ACCEPT_UNTRUSTED' });
  if (chain !== 'VERIFY_TRUST_CHAIN') r.error('trust_chain_verification', 'ACCEPT_UNTRUSTED is not supported: the chain is always verified when trusted_ca is set');
  rejectUnsupported(r, {
    crl: 'certificate revocation lists are not supported',
    custom_validator_config: 'custom certificate validators are not supported',
    max_verify_depth: 'the verification depth is not configurable',
    watched_directory: 'use an SDS file (sds_config.path_config_source) or a certificate provider to rotate',
  });
  r.ignoreEach(ignoredIn('.CertificateValidationContext'));
  r.finish();
  return { trustedCa: trust, sanMatchers, spkiPins, certificateHashes };
}

function decodeSanMatcher(r: Reader): SanMatcher | undefined {
  const type = r.enumOf('san_type', SAN_TYPES, 'SAN_TYPE_UNSPECIFIED', { ...SAN_TYPES });
  const matcher = r.obj('matcher');
  if (!matcher) r.error('matcher', 'is required');
  const match = matcher ? readStringMatcher(matcher) : undefined;
  r.ignoreEach(ignoredIn('.SubjectAltNameMatcher'));
  r.finish();
  if (type === 'SAN_TYPE_UNSPECIFIED') r.error('san_type', 'is required (DNS, URI, IP_ADDRESS or EMAIL)');
  if (type === 'OTHER_NAME') r.error('san_type', 'OTHER_NAME is not supported');
  if (type === 'SAN_TYPE_UNSPECIFIED' || type === 'OTHER_NAME' || !match) return undefined;
  return { type, matcher: match };
}

/** `TlsCertificate`: a chain and its key; undefined when either is missing (reported). */
export function decodeTlsCertificate(r: Reader): TlsCertificateConfig | undefined {
  const chainReader = r.obj('certificate_chain');
  const keyReader = sensitiveObject(r, 'private_key');
  // With pkcs12 (refused below) the chain and key are inside it: saying they are missing would mislead.
  if (!r.has('certificate_chain') && !r.has('pkcs12')) r.error('certificate_chain', 'is required');
  if (!r.has('private_key') && !r.has('private_key_provider') && !r.has('pkcs12')) r.error('private_key', 'is required');
  const certificateChain = chainReader ? decodeDataSource(chainReader) : undefined;
  const privateKey = keyReader ? decodeSensitiveDataSource(keyReader) : undefined;
  rejectUnsupported(r, {
    pkcs12: 'give certificate_chain and private_key in PEM',
    private_key_provider: 'private key providers are not supported',
    password: 'encrypted private keys are not supported',
    watched_directory: 'use an SDS file (sds_config.path_config_source) or a certificate provider to rotate',
    ocsp_staple: 'OCSP responses are not stapled',
    signed_certificate_timestamp: 'signed certificate timestamps are not sent',
  });
  r.finish();
  return certificateChain && privateKey ? { certificateChain, privateKey } : undefined;
}

/** `CertificateProviderPluginInstance` (`instance_name`, `certificate_name`). */
function decodeProviderInstance(r: Reader): { instance: string; certificateName: string } | undefined {
  const instance = r.requiredStr('instance_name');
  const certificateName = r.str('certificate_name') ?? '';
  r.finish();
  return instance === '' ? undefined : { instance, certificateName };
}

function decodeSdsSecretConfig(r: Reader): SdsRef | undefined {
  const name = r.requiredStr('name');
  const config = r.obj('sds_config');
  r.finish();
  if (name === '') return undefined;
  if (!config) return { name, source: { kind: 'static' } };
  const which = oneOf(config, ['path', 'path_config_source', 'api_config_source', 'ads', 'self'] as const, 'one of ads, self, path_config_source is required');
  rejectUnsupported(config, {
    api_config_source: 'a separate SDS server is not supported; use ads (the control plane), path_config_source or a certificate provider',
    authorities: 'xDS authorities are not supported',
  });
  const deprecatedPath = config.str('path');
  const pathSource = config.obj('path_config_source');
  let path = deprecatedPath;
  if (pathSource) {
    path = pathSource.requiredStr('path');
    rejectUnsupported(pathSource, { watched_directory: 'the file itself is watched' });
    pathSource.finish();
  }
  for (const key of ['ads', 'self']) config.obj(key)?.finish();
  config.ignoreEach(ignoredIn('.ConfigSource'));
  config.finish();
  if (which === 'ads' || which === 'self') return { name, source: { kind: 'ads' } };
  if ((which === 'path' || which === 'path_config_source') && path) return { name, source: { kind: 'file', path } };
  return undefined;
}

/** `DataSource` of public data (certificates, CAs). */
export function decodeDataSource(r: Reader): DataSource | undefined {
  const which = oneOf(r, ['filename', 'inline_bytes', 'inline_string', 'environment_variable'] as const, 'one of filename, inline_string, inline_bytes, environment_variable is required');
  const filename = r.str('filename');
  const inlineString = r.str('inline_string');
  const inlineBytes = r.str('inline_bytes');
  const env = r.str('environment_variable');
  rejectUnsupported(r, { watched_directory: 'use an SDS file (sds_config.path_config_source) or a certificate provider to rotate' });
  r.finish();
  switch (which) {
    case 'filename': return nonEmpty(r, 'filename', filename) ? { kind: 'file', path: filename! } : undefined;
    case 'environment_variable': return nonEmpty(r, 'environment_variable', env) ? { kind: 'env', name: env! } : undefined;
    case 'inline_string': return inlineString === undefined ? undefined : { kind: 'inline', text: inlineString };
    case 'inline_bytes': return inlineBytes === undefined ? undefined : { kind: 'inline', text: Buffer.from(inlineBytes, 'base64').toString('utf8') };
    default: return undefined;
  }
}

/**
 * `DataSource` holding key material: as decodeDataSource, but inline values are wrapped in SensitiveText and a
 * value of the wrong type is reported without being shown.
 */
function decodeSensitiveDataSource(r: Reader): SensitiveDataSource | undefined {
  const which = oneOf(r, ['filename', 'inline_bytes', 'inline_string', 'environment_variable'] as const, 'one of filename, inline_string, inline_bytes, environment_variable is required');
  const filename = r.str('filename');
  const env = r.str('environment_variable');
  const inlineString = hiddenString(r, 'inline_string');
  const inlineBytes = hiddenString(r, 'inline_bytes');
  rejectUnsupported(r, { watched_directory: 'use an SDS file (sds_config.path_config_source) or a certificate provider to rotate' });
  r.finish();
  switch (which) {
    case 'filename': return nonEmpty(r, 'filename', filename) ? { kind: 'file', path: filename! } : undefined;
    case 'environment_variable': return nonEmpty(r, 'environment_variable', env) ? { kind: 'env', name: env! } : undefined;
    case 'inline_string': return inlineString === undefined ? undefined : { kind: 'inline', text: new SensitiveText(inlineString) };
    case 'inline_bytes': return inlineBytes === undefined ? undefined : { kind: 'inline', text: new SensitiveText(Buffer.from(inlineBytes, 'base64').toString('utf8')) };
    default: return undefined;
  }
}

/** An object field that may hold key material: a value of another shape is reported without being shown. */
function sensitiveObject(r: Reader, key: string): Reader | undefined {
  if (!r.has(key)) return r.obj(key);
  const raw = r.raw[key] ?? r.raw[key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())];
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) return r.obj(key);
  r.get(key);
  r.error(key, `must be a DataSource object, got ${Array.isArray(raw) ? 'a list' : typeof raw} (value not shown: it may be key material)`);
  return undefined;
}

/** A string field whose value must never appear in an error. */
function hiddenString(r: Reader, key: string): string | undefined {
  const v = r.get(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') {
    r.error(key, `must be a string, got ${typeof v === 'object' ? describe(v) : typeof v} (value not shown: it may be key material)`);
    return undefined;
  }
  return v;
}

function nonEmpty(r: Reader, key: string, value: string | undefined): boolean {
  if (value === '') r.error(key, 'must not be empty');
  return value !== undefined && value !== '';
}

/** True when the field is set (a list counts when not empty). */
function present(r: Reader, key: string): boolean {
  if (!r.has(key)) return false;
  const v = r.raw[key] ?? r.raw[key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())];
  return !Array.isArray(v) || v.length > 0;
}
