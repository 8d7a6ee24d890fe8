/**
 * A CommonTlsContext resolved to what Node's TLS needs: a SecureContext (our certificate and key, trusted CAs,
 * versions, ciphers, curves, signature algorithms) and the peer checks that follow chain verification. Resolving
 * reads files, SDS secrets and certificate providers through TlsSecrets; every problem is a FieldError at the
 * config path, and key material never appears in one.
 */
import { createHash } from 'node:crypto';
import type { SecureContext, SecureContextOptions } from 'node:tls';
import type { FieldError } from '@xmesh/core';
import type { CommonTlsConfig, TlsCertificateConfig, TrustSource, ValidationContextConfig } from '@xmesh/xds';
import { loadDataSource } from './data-source.js';
import { compilePeerCheck, type PeerCheck } from './peer-check.js';
import type { TlsSecrets } from './secrets.js';

/** node:tls's values without an ESM import of it: that import evaluates every export, `rootCertificates` (the parsed CA bundle) included. */
const tls = process.getBuiltinModule('node:tls');

/** TLS 1.3 suites are not configurable in Envoy (`cipher_suites` applies to TLS ≤ 1.2); these are BoringSSL's. */
const TLS13_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

export interface TlsMaterial {
  readonly context: SecureContext;
  /** What `context` was made from (a server is built from these). Holds the key: never log it. */
  readonly contextOptions: SecureContextOptions;
  /** True when a trusted CA is configured: the peer's chain must verify (Node's `rejectUnauthorized`). */
  readonly verifyChain: boolean;
  /** SAN / hash / SPKI checks after the chain; undefined when none are configured. */
  readonly peerCheck: PeerCheck | undefined;
  /** True when this side validates peers (a server then asks clients for a certificate). */
  readonly validatesPeer: boolean;
  /** Changes exactly when anything that goes into a handshake changed. */
  readonly fingerprint: string;
}

interface Resolved {
  cert: string | undefined;
  key: string | undefined;
  ca: string[] | undefined;
  validation: ValidationContextConfig | undefined;
}

/** Resolves `common` (at config path `where`) with the current secrets. */
export function buildMaterial(common: CommonTlsConfig, secrets: TlsSecrets, where: string): TlsMaterial | FieldError[] {
  const errors: FieldError[] = [];
  const resolved: Resolved = { cert: undefined, key: undefined, ca: undefined, validation: undefined };
  resolveCertificate(common, secrets, `${where}.common_tls_context`, resolved, errors);
  resolveValidation(common, secrets, `${where}.common_tls_context`, resolved, errors);
  if (errors.length > 0) return errors;

  const { params } = common;
  const options: SecureContextOptions = {
    minVersion: params.minVersion,
    maxVersion: params.maxVersion,
    ciphers: `${TLS13_SUITES}:${params.cipherSuites.join(':')}`,
    ecdhCurve: params.ecdhCurves.join(':'),
    ...(params.signatureAlgorithms.length > 0 ? { sigalgs: params.signatureAlgorithms.join(':') } : {}),
    ...(resolved.cert !== undefined ? { cert: resolved.cert, key: resolved.key } : {}),
    ...(resolved.ca !== undefined ? { ca: resolved.ca } : {}),
  };
  let context: SecureContext;
  try {
    context = tls.createSecureContext(options);
  } catch (error) {
    // OpenSSL's messages name the problem ("key values mismatch", "no such cipher"), never the key.
    return [{ path: `${where}.common_tls_context`, message: `cannot build a TLS context: ${(error as Error).message}` }];
  }
  let peerCheck: PeerCheck | undefined;
  if (resolved.validation !== undefined) {
    try {
      peerCheck = compilePeerCheck(resolved.validation, `${where}.common_tls_context.validation_context`);
    } catch (error) {
      return [{ path: `${where}.common_tls_context.validation_context`, message: (error as Error).message }];
    }
  }
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([resolved.cert, resolved.key, resolved.ca, resolved.validation, params, common.alpnProtocols]))
    .digest('base64');
  return { context, contextOptions: options, verifyChain: resolved.ca !== undefined, peerCheck, validatesPeer: resolved.validation !== undefined, fingerprint };
}

function resolveCertificate(common: CommonTlsConfig, secrets: TlsSecrets, where: string, out: Resolved, errors: FieldError[]): void {
  const ref = common.certificate;
  if (ref === undefined) return;
  switch (ref.kind) {
    case 'static':
      loadCertificate(ref.certificate, `${where}.tls_certificates[0]`, out, errors);
      return;
    case 'sds': {
      const at = `${where}.tls_certificate_sds_secret_configs[0]`;
      const secret = secrets.secret(ref.secret, at);
      if ('path' in secret) errors.push(secret);
      else if (secret.kind !== 'tls_certificate') errors.push({ path: at, message: `secret "${ref.secret.name}" is a ${secret.kind}, not a tls_certificate` });
      else loadCertificate(secret.certificate, `${at}(secret "${ref.secret.name}")`, out, errors);
      return;
    }
    case 'provider': {
      const at = `${where}.tls_certificate_provider_instance`;
      const material = secrets.provider(ref.instance, at);
      if ('path' in material) errors.push(material);
      else if (material.certificate === undefined || material.privateKey === undefined) {
        errors.push({ path: at, message: `certificate provider "${ref.instance}" has no certificate_file and private_key_file` });
      } else {
        out.cert = material.certificate;
        out.key = material.privateKey;
      }
    }
  }
}

function loadCertificate(certificate: TlsCertificateConfig, where: string, out: Resolved, errors: FieldError[]): void {
  const chain = loadDataSource(certificate.certificateChain, `${where}.certificate_chain`);
  const key = loadDataSource(certificate.privateKey, `${where}.private_key`);
  if (!chain.ok) errors.push(chain.error);
  if (!key.ok) errors.push(key.error);
  if (chain.ok && key.ok) {
    out.cert = chain.text;
    out.key = key.text;
  }
}

function resolveValidation(common: CommonTlsConfig, secrets: TlsSecrets, where: string, out: Resolved, errors: FieldError[]): void {
  const ref = common.validation;
  if (ref === undefined) return;
  let validation: ValidationContextConfig;
  let at: string;
  if (ref.kind === 'static') {
    validation = ref.validation;
    at = `${where}.validation_context`;
  } else {
    at = ref.defaults === undefined ? `${where}.validation_context_sds_secret_config` : `${where}.combined_validation_context`;
    const secret = secrets.secret(ref.secret, at);
    if ('path' in secret) {
      errors.push(secret);
      return;
    }
    if (secret.kind !== 'validation_context') {
      errors.push({ path: at, message: `secret "${ref.secret.name}" is a ${secret.kind}, not a validation_context` });
      return;
    }
    validation = ref.defaults === undefined ? secret.validation : mergeValidation(ref.defaults, secret.validation);
  }
  out.validation = validation;
  if (validation.trustedCa !== undefined) {
    const ca = loadTrust(validation.trustedCa, secrets, `${at}.trusted_ca`, errors);
    if (ca !== undefined) out.ca = ca;
  }
}

function loadTrust(trust: TrustSource, secrets: TlsSecrets, where: string, errors: FieldError[]): string[] | undefined {
  switch (trust.kind) {
    case 'system':
      return [...tls.rootCertificates];
    case 'data': {
      const loaded = loadDataSource(trust.data, where);
      if (!loaded.ok) {
        errors.push(loaded.error);
        return undefined;
      }
      return [loaded.text];
    }
    case 'provider': {
      const material = secrets.provider(trust.instance, where);
      if ('path' in material) {
        errors.push(material);
        return undefined;
      }
      if (material.ca === undefined) {
        errors.push({ path: where, message: `certificate provider "${trust.instance}" has no ca_certificate_file` });
        return undefined;
      }
      return [material.ca];
    }
  }
}

/**
 * `combined_validation_context`: as Envoy's merge of the dynamic context into the default one — repeated fields
 * are concatenated, a trust source set in the dynamic context replaces the default's.
 */
function mergeValidation(defaults: ValidationContextConfig, dynamic: ValidationContextConfig): ValidationContextConfig {
  return {
    trustedCa: dynamic.trustedCa ?? defaults.trustedCa,
    sanMatchers: [...defaults.sanMatchers, ...dynamic.sanMatchers],
    spkiPins: [...defaults.spkiPins, ...dynamic.spkiPins],
    certificateHashes: [...defaults.certificateHashes, ...dynamic.certificateHashes],
  };
}

/**
 * The material of one TLS context, kept current: `stage` resolves it anew (after a secret changed) without using
 * it, `refresh` stages and switches. A change of fingerprint bumps `generation` and calls `rotated`.
 */
export abstract class RotatingMaterial {
  /** Bumped each time the material changed (certificates rotated); starts at 0. */
  generation = 0;

  protected constructor(
    private readonly common: CommonTlsConfig,
    /** The config path of the context, for errors. */
    readonly where: string,
    private readonly secrets: TlsSecrets,
    protected material: TlsMaterial,
  ) {}

  /** What changes when the certificates do. */
  get fingerprint(): string {
    return this.material.fingerprint;
  }

  /**
   * Re-resolves the certificates (after a secret or file changed). New material applies to new connections and
   * bumps `generation`; unchanged material changes nothing. On a problem the last good material stays in use and
   * the errors are returned.
   */
  refresh(): FieldError[] {
    const staged = this.stage();
    if (Array.isArray(staged)) return staged;
    staged();
    return [];
  }

  /** Resolves the certificates anew without using them yet: the returned function switches to them. */
  stage(): FieldError[] | (() => void) {
    const material = buildMaterial(this.common, this.secrets, this.where);
    if (Array.isArray(material)) return material;
    return () => {
      if (material.fingerprint === this.material.fingerprint) return;
      this.material = material;
      this.rotated(material);
      this.generation++;
    };
  }

  /** Called with new material as it becomes current. */
  protected rotated(_material: TlsMaterial): void {}
}
