/**
 * The peer-certificate checks of a CertificateValidationContext that come after chain verification: subject
 * alternative names (`match_typed_subject_alt_names`), certificate hashes and SPKI pins. Built once per context
 * into one function, as Node's `checkServerIdentity` expects: an Error says why the certificate is refused.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { PeerCertificate } from 'node:tls';
import { compileStringMatch, type StringPredicate } from '@xmesh/router';
import type { SanMatcher, ValidationContextConfig } from '@xmesh/xds';
import { NO_PEER_CERTIFICATE_CODE, PIN_MISMATCH_CODE, SAN_MISMATCH_CODE } from './failure.js';

export type PeerCheck = (certificate: PeerCertificate | undefined) => Error | undefined;

export interface SubjectAltNames {
  readonly DNS: readonly string[];
  readonly URI: readonly string[];
  readonly IP_ADDRESS: readonly string[];
  readonly EMAIL: readonly string[];
}

/** The checks of `validation`, or undefined when it asks for none beyond the chain. */
export function compilePeerCheck(validation: ValidationContextConfig, where: string): PeerCheck | undefined {
  const { sanMatchers, spkiPins, certificateHashes } = validation;
  if (sanMatchers.length === 0 && spkiPins.length === 0 && certificateHashes.length === 0) return undefined;
  const sans = sanMatchers.map((m, i) => ({ type: m.type, test: compileSan(m, `${where}.match_typed_subject_alt_names[${i}]`) }));
  const hashes = new Set(certificateHashes);
  const pins = new Set(spkiPins);
  return (certificate) => {
    if (certificate === undefined || certificate.raw === undefined) return codedError(NO_PEER_CERTIFICATE_CODE, 'the peer presented no certificate');
    // Envoy: when both hashes and SPKI pins are given, matching either one suffices.
    if (hashes.size > 0 || pins.size > 0) {
      const hashOk = hashes.size > 0 && hashes.has(createHash('sha256').update(certificate.raw).digest('hex'));
      const pinOk = pins.size > 0 && pins.has(spkiPin(certificate));
      if (!hashOk && !pinOk) return codedError(PIN_MISMATCH_CODE, 'the peer certificate matches no verify_certificate_hash / verify_certificate_spki');
    }
    if (sans.length > 0) {
      const names = subjectAltNames(certificate);
      if (!sans.some((m) => namesOf(names, m.type).some(m.test))) {
        return codedError(SAN_MISMATCH_CODE, `no subject alternative name of the peer certificate (${describeNames(names)}) matches`);
      }
    }
    return undefined;
  };
}

function namesOf(names: SubjectAltNames, type: SanMatcher['type']): readonly string[] {
  return type === 'ANY' ? [...names.DNS, ...names.URI, ...names.IP_ADDRESS, ...names.EMAIL] : names[type];
}

function compileSan(m: SanMatcher, where: string): StringPredicate {
  const test = compileStringMatch(m.matcher, where);
  // IP SANs are compared in canonical form (Node prints IPv6 SANs uncompressed).
  if ((m.type === 'IP_ADDRESS' || m.type === 'ANY') && m.matcher.kind === 'exact' && isIP(m.matcher.value) !== 0) {
    const expected = canonicalIp(m.matcher.value);
    return (value) => canonicalIp(value) === expected;
  }
  return test;
}

/** The base64 SHA-256 of the certificate's SubjectPublicKeyInfo (DER), Envoy's `verify_certificate_spki` form. */
export function spkiPin(certificate: PeerCertificate): string {
  const spki = new X509Certificate(certificate.raw).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** The SANs of a certificate by type, from Node's `subjectaltname` text (`DNS:a, URI:b, IP Address:c`, quoted when needed). */
export function subjectAltNames(certificate: Pick<PeerCertificate, 'subjectaltname'>): SubjectAltNames {
  const out = { DNS: [] as string[], URI: [] as string[], IP_ADDRESS: [] as string[], EMAIL: [] as string[] };
  for (const entry of splitSanText(certificate.subjectaltname ?? '')) {
    const colon = entry.indexOf(':');
    if (colon < 0) continue;
    const type = entry.slice(0, colon);
    let value = entry.slice(colon + 1);
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        continue;
      }
    }
    if (type === 'DNS') out.DNS.push(value);
    else if (type === 'URI') out.URI.push(value);
    else if (type === 'IP Address') out.IP_ADDRESS.push(canonicalIp(value));
    else if (type === 'email') out.EMAIL.push(value);
  }
  return out;
}

/** Splits `a, b, "c, d"` at top-level `, `. */
function splitSanText(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (start < text.length) out.push(text.slice(start).trim());
  return out.filter((s) => s !== '');
}

function canonicalIp(value: string): string {
  if (isIP(value) !== 6) return value;
  try {
    return new URL(`http://[${value}]/`).hostname.slice(1, -1);
  } catch {
    return value;
  }
}

function describeNames(names: SubjectAltNames): string {
  const parts = [
    ...names.DNS.map((n) => `DNS:${n}`), ...names.URI.map((n) => `URI:${n}`),
    ...names.IP_ADDRESS.map((n) => `IP:${n}`), ...names.EMAIL.map((n) => `email:${n}`),
  ];
  const shown = parts.slice(0, 4).join(', ');
  return parts.length === 0 ? 'none' : parts.length > 4 ? `${shown}, …` : shown;
}

function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}
