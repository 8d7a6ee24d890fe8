// UpstreamTlsContext / Secret decoding: Envoy's defaults, every refusal at its path, and key material never shown.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { buildSnapshot } from '../snapshot.js';
import { encodeResource, loadEnvoyProtos, snapshotFromAnys } from '../proto/index.js';
import { TypeUrl } from '../type-urls.js';
import { SensitiveText, type UpstreamTlsConfig } from '../tls-model.js';
import { DEFAULT_CLIENT_CIPHERS } from './tls-context.js';

const KEY = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';

const cluster = (context: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}) => ({
  '@type': TypeUrl.Cluster,
  name: 'pay',
  load_assignment: { cluster_name: 'pay', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 443 } } } }] }] },
  ...(context === undefined ? {} : { transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TypeUrl.UpstreamTlsContext, ...context } } }),
  ...extra,
});

const certs = { tls_certificates: [{ certificate_chain: { filename: '/etc/certs/cert.pem' }, private_key: { filename: '/etc/certs/key.pem' } }] };

function tlsOf(resources: unknown[]): UpstreamTlsConfig {
  const result = buildSnapshot(resources);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.snapshot.clusters['pay']!.tls!;
}

function errorsOf(resources: unknown[]): { path: string; message: string }[] {
  const result = buildSnapshot(resources);
  return result.ok ? [] : [...result.errors];
}

describe('UpstreamTlsContext', () => {
  it('decodes a full context with Envoy\'s client defaults (TLS 1.2 only, Envoy\'s ciphers and curves)', () => {
    const tls = tlsOf([cluster({
      sni: 'pay.example',
      common_tls_context: {
        ...certs,
        validation_context: {
          trusted_ca: { filename: '/etc/certs/ca.pem' },
          match_typed_subject_alt_names: [
            { san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/pay/sa/pay' } },
            { san_type: 'DNS', matcher: { suffix: '.pay.svc' } },
          ],
          verify_certificate_hash: ['DF:6F:F7:2F:E9:11:65:21:26:8F:6F:2D:D4:96:6F:51:DF:47:88:83:11:FC:5A:89:D1:F8:67:82:CE:5F:AD:AB'],
          verify_certificate_spki: ['NvqYIYSbgK2vCJpQhObf77vv+bQWtc5ek5RIOwPiC9A='],
        },
        alpn_protocols: ['h2'],
      },
      max_session_keys: 4,
    })]);
    assert.deepEqual(tls, {
      sni: 'pay.example',
      common: {
        params: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', cipherSuites: DEFAULT_CLIENT_CIPHERS, ecdhCurves: ['X25519', 'P-256'], signatureAlgorithms: [] },
        certificate: { kind: 'static', certificate: { certificateChain: { kind: 'file', path: '/etc/certs/cert.pem' }, privateKey: { kind: 'file', path: '/etc/certs/key.pem' } } },
        validation: {
          kind: 'static',
          validation: {
            trustedCa: { kind: 'data', data: { kind: 'file', path: '/etc/certs/ca.pem' } },
            sanMatchers: [
              { type: 'URI', matcher: { kind: 'exact', value: 'spiffe://cluster.local/ns/pay/sa/pay', ignoreCase: false } },
              { type: 'DNS', matcher: { kind: 'suffix', value: '.pay.svc', ignoreCase: false } },
            ],
            spkiPins: ['NvqYIYSbgK2vCJpQhObf77vv+bQWtc5ek5RIOwPiC9A='],
            certificateHashes: ['df6ff72fe9116521268f6f2dd4966f51df47888311fc5a89d1f86782ce5fadab'],
          },
        },
        alpnProtocols: ['h2'],
      },
    });
  });

  it('tls_params: versions by name or number, BoringSSL cipher groups flattened', () => {
    const tls = tlsOf([cluster({ common_tls_context: { tls_params: {
      tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 4,
      cipher_suites: ['[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]', 'ECDHE-RSA-AES256-GCM-SHA384'],
      ecdh_curves: ['P-256'], signature_algorithms: ['ecdsa_secp256r1_sha256'],
    } } })]);
    assert.deepEqual(tls.common.params, {
      minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3',
      cipherSuites: ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-AES256-GCM-SHA384'],
      ecdhCurves: ['P-256'], signatureAlgorithms: ['ecdsa_secp256r1_sha256'],
    });
    assert.equal(tls.sni, undefined);
    assert.equal(tls.common.validation, undefined);
  });

  it('gRFC A29 shape: certificate provider instances, and a combined context with only defaults', () => {
    const tls = tlsOf([cluster({ common_tls_context: {
      tls_certificate_provider_instance: { instance_name: 'google_cloud_private_spiffe', certificate_name: 'default' },
      combined_validation_context: { default_validation_context: { ca_certificate_provider_instance: { instance_name: 'google_cloud_private_spiffe' } } },
    } })]);
    assert.deepEqual(tls.common.certificate, { kind: 'provider', instance: 'google_cloud_private_spiffe', certificateName: 'default' });
    assert.deepEqual(tls.common.validation, { kind: 'static', validation: { trustedCa: { kind: 'provider', instance: 'google_cloud_private_spiffe', certificateName: '' }, sanMatchers: [], spkiPins: [], certificateHashes: [] } });
  });

  const refusals: [string, Record<string, unknown>, string][] = [
    ['allow_renegotiation', { allow_renegotiation: true }, 'transport_socket.typed_config.allow_renegotiation'],
    ['enforce_rsa_key_usage', { enforce_rsa_key_usage: true }, 'transport_socket.typed_config.enforce_rsa_key_usage'],
    ['sni over 255 bytes', { sni: 'a'.repeat(256) }, 'transport_socket.typed_config.sni'],
    ['an IP address as sni', { sni: '10.0.0.1' }, 'transport_socket.typed_config.sni'],
    ['SAN checks without a trusted CA', { common_tls_context: { validation_context: { match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'x' } }] } } }, 'transport_socket.typed_config.common_tls_context.validation_context.match_typed_subject_alt_names'],
    ['ACCEPT_UNTRUSTED', { common_tls_context: { validation_context: { trusted_ca: { filename: '/ca' }, trust_chain_verification: 'ACCEPT_UNTRUSTED' } } }, 'transport_socket.typed_config.common_tls_context.validation_context.trust_chain_verification'],
    ['allow_expired_certificate', { common_tls_context: { validation_context: { trusted_ca: { filename: '/ca' }, allow_expired_certificate: true } } }, 'transport_socket.typed_config.common_tls_context.validation_context.allow_expired_certificate'],
    ['crl', { common_tls_context: { validation_context: { trusted_ca: { filename: '/ca' }, crl: { filename: '/crl' } } } }, 'transport_socket.typed_config.common_tls_context.validation_context.crl'],
    ['custom validator (SPIFFE)', { common_tls_context: { validation_context: { custom_validator_config: { name: 'envoy.tls.cert_validator.spiffe' } } } }, 'transport_socket.typed_config.common_tls_context.validation_context.custom_validator_config'],
    ['OTHER_NAME SANs', { common_tls_context: { validation_context: { trusted_ca: { filename: '/ca' }, match_typed_subject_alt_names: [{ san_type: 'OTHER_NAME', matcher: { exact: 'x' } }] } } }, 'transport_socket.typed_config.common_tls_context.validation_context.match_typed_subject_alt_names[0].san_type'],
    ['untyped SAN matchers without a CA', { common_tls_context: { validation_context: { match_subject_alt_names: [{ exact: 'x' }] } } }, 'transport_socket.typed_config.common_tls_context.validation_context.match_subject_alt_names'],
    ['pkcs12', { common_tls_context: { tls_certificates: [{ pkcs12: { filename: '/p12' } }] } }, 'transport_socket.typed_config.common_tls_context.tls_certificates[0].pkcs12'],
    ['private key provider', { common_tls_context: { tls_certificates: [{ certificate_chain: { filename: '/c' }, private_key_provider: { provider_name: 'cryptomb' } }] } }, 'transport_socket.typed_config.common_tls_context.tls_certificates[0].private_key_provider'],
    ['two certificates', { common_tls_context: { tls_certificates: [certs.tls_certificates[0], certs.tls_certificates[0]] } }, 'transport_socket.typed_config.common_tls_context.tls_certificates'],
    ['a separate SDS server', { common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: { api_config_source: { api_type: 'GRPC' } } }] } }, 'transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].sds_config.api_config_source'],
    ['custom handshaker', { common_tls_context: { custom_handshaker: { name: 'x' } } }, 'transport_socket.typed_config.common_tls_context.custom_handshaker'],
    ['min version above max', { common_tls_context: { tls_params: { tls_minimum_protocol_version: 'TLSv1_3', tls_maximum_protocol_version: 'TLSv1_2' } } }, 'transport_socket.typed_config.common_tls_context.tls_params.tls_minimum_protocol_version'],
    ['an unknown field', { common_tls_context: { validation_context: { trusted_ca: { filename: '/ca' }, frobnicate: 1 } } }, 'transport_socket.typed_config.common_tls_context.validation_context.frobnicate'],
  ];
  for (const [name, context, path] of refusals) {
    it(`refuses ${name} at its path`, () => {
      const errors = errorsOf([cluster(context)]);
      assert.deepEqual(errors.map((e) => e.path), [`[0].${path}`], JSON.stringify(errors));
    });
  }

  it('auto_sni / auto_san_validation are refused on a TLS cluster and ignored on a plaintext one', () => {
    const options = { upstream_http_protocol_options: { auto_sni: true, auto_san_validation: true } };
    assert.deepEqual(errorsOf([cluster({}, options)]).map((e) => e.path), ['[0].upstream_http_protocol_options.auto_sni', '[0].upstream_http_protocol_options.auto_san_validation']);
    const result = buildSnapshot([cluster(undefined, options)]);
    assert.ok(result.ok && result.snapshot.ignored.includes('[0].upstream_http_protocol_options'));
  });
});

describe('key material is never shown', () => {
  it('an inline key is SensitiveText: [redacted] in JSON (config dump), util.inspect and String()', () => {
    const tls = tlsOf([cluster({ common_tls_context: { tls_certificates: [{ certificate_chain: { inline_string: 'CERT' }, private_key: { inline_string: KEY } }] } })]);
    const certificate = tls.common.certificate;
    assert.ok(certificate?.kind === 'static' && certificate.certificate.privateKey.kind === 'inline');
    const key = certificate.certificate.privateKey.text;
    assert.ok(key instanceof SensitiveText);
    assert.equal(key.reveal(), KEY);
    for (const shown of [JSON.stringify(tls), inspect(tls, { depth: 10 }), String(key), `${key}`]) {
      assert.doesNotMatch(shown, /PRIVATE KEY|MIGHAgEA/);
    }
    assert.match(JSON.stringify(tls), /"text":"\[redacted\]"/);
    assert.match(JSON.stringify(tls), /"text":"CERT"/, 'certificates are public and shown');
  });

  it('inline_bytes keys too; a key given in the wrong shape is reported without its value', () => {
    const b64 = Buffer.from(KEY).toString('base64');
    const tls = tlsOf([cluster({ common_tls_context: { tls_certificates: [{ certificate_chain: { inline_string: 'C' }, private_key: { inline_bytes: b64 } }] } })]);
    assert.doesNotMatch(JSON.stringify(tls), new RegExp(b64.slice(0, 20)));
    for (const misplaced of [{ inline_string: { secret: KEY } }, KEY, [KEY]]) {
      const errors = errorsOf([cluster({ common_tls_context: { tls_certificates: [{ certificate_chain: { inline_string: 'C' }, private_key: misplaced }] } })]);
      assert.equal(errors.length, 1, JSON.stringify(errors));
      assert.doesNotMatch(JSON.stringify(errors), /PRIVATE KEY|MIGHAgEA/);
    }
  });
});

describe('secrets by reference', () => {
  const secret = (name: string, body: Record<string, unknown>) => ({ '@type': TypeUrl.Secret, name, ...body });
  const sdsContext = (certificate: string, validation: string, sdsConfig?: unknown) => ({ common_tls_context: {
    tls_certificate_sds_secret_configs: [{ name: certificate, ...(sdsConfig === undefined ? {} : { sds_config: sdsConfig }) }],
    validation_context_sds_secret_config: { name: validation, ...(sdsConfig === undefined ? {} : { sds_config: sdsConfig }) },
  } });

  it('resolve against Secret resources (and static_resources.secrets), which the snapshot keeps', () => {
    const resources = [
      cluster(sdsContext('cert', 'ca', { ads: {} })),
      secret('cert', { tls_certificate: { certificate_chain: { inline_string: 'C' }, private_key: { inline_string: KEY } } }),
      secret('ca', { validation_context: { trusted_ca: { inline_string: 'CA' } } }),
    ];
    const result = buildSnapshot(resources);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.deepEqual(Object.keys(result.snapshot.secrets ?? {}).sort(), ['ca', 'cert']);
    assert.doesNotMatch(JSON.stringify(result.snapshot), /PRIVATE KEY/);
    const bootstrap = buildSnapshot({ static_resources: { clusters: [cluster(sdsContext('cert', 'ca'))], secrets: [resources[1], resources[2]] } });
    assert.ok(bootstrap.ok, JSON.stringify(!bootstrap.ok && bootstrap.errors));
    assert.deepEqual(bootstrap.snapshot.clusters['pay']!.tls!.common.certificate, { kind: 'sds', secret: { name: 'cert', source: { kind: 'static' } } });
  });

  it('an undefined secret, or one of the wrong kind, is an error; SDS files are checked when read', () => {
    const errors = errorsOf([cluster(sdsContext('missing', 'cert')), secret('cert', { tls_certificate: { certificate_chain: { inline_string: 'C' }, private_key: { inline_string: KEY } } })]);
    assert.deepEqual(errors.map((e) => e.message), ['refers to secret "missing", which is not defined', 'refers to secret "cert", a tls_certificate secret; a validation_context secret is needed here']);
    const file = buildSnapshot([cluster(sdsContext('a', 'b', { path_config_source: { path: '/etc/sds/secrets.yaml' } }))]);
    assert.ok(file.ok);
    assert.deepEqual(file.snapshot.clusters['pay']!.tls!.common.certificate, { kind: 'sds', secret: { name: 'a', source: { kind: 'file', path: '/etc/sds/secrets.yaml' } } });
  });
});

describe('Istio auto-mTLS shape: transport_socket_matches by endpoint metadata, plaintext fallback', () => {
  it('decodes the matches in order', () => {
    const result = buildSnapshot([cluster(undefined, {
      transport_socket_matches: [
        { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TypeUrl.UpstreamTlsContext, common_tls_context: certs, sni: 'outbound_.8080_._.pay' } } },
        { name: 'tlsMode-disabled', match: {}, transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } } },
      ],
    })]);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    const matches = result.snapshot.clusters['pay']!.transportSocketMatches!;
    assert.deepEqual(matches.map((m) => [m.name, m.match, m.tls?.sni]), [['tlsMode-istio', { tlsMode: 'istio' }, 'outbound_.8080_._.pay'], ['tlsMode-disabled', {}, undefined]]);
    assert.equal(result.snapshot.clusters['pay']!.tls, undefined);
  });
});

describe('from protobuf (ADS)', () => {
  it('a TLS cluster and a Secret round-trip through Any bytes', () => {
    const protos = loadEnvoyProtos();
    const resources = [
      cluster({ sni: 'x', common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'cert', sds_config: { ads: {} } }], validation_context: { trusted_ca: { filename: '/ca' } } } }),
      { '@type': TypeUrl.Secret, name: 'cert', tls_certificate: { certificate_chain: { inline_string: 'C' }, private_key: { inline_bytes: Buffer.from(KEY).toString('base64') } } },
    ].map((r) => encodeResource(protos, r));
    const result = snapshotFromAnys(protos, resources);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.equal(result.snapshot.clusters['pay']!.tls!.sni, 'x');
    const secret = result.snapshot.secrets!['cert']!;
    assert.ok(secret.kind === 'tls_certificate' && secret.certificate.privateKey.kind === 'inline');
    assert.equal(secret.certificate.privateKey.text.reveal(), KEY);
  });
});
