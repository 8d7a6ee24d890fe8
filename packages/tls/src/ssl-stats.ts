/**
 * Envoy's `ssl.*` stats of one TLS context, under the scope it serves (`cluster.<name>.ssl.` upstream,
 * `listener.<address>.ssl.` downstream). Verification failures count in their `fail_verify_*` counter only;
 * `connection_error` counts the other failed handshakes, as Envoy's does.
 */
import type { Counter, StatScope } from '@xmesh/stats';
import type { TlsFailureKind } from './failure.js';

export class SslStats {
  /** Completed handshakes (= connections that went on to carry traffic). */
  readonly handshake: Counter;
  readonly connectionError: Counter;
  readonly failVerifyError: Counter;
  readonly failVerifySan: Counter;
  readonly failVerifyNoCert: Counter;
  readonly failVerifyCertHash: Counter;
  /** Handshakes in which the peer presented no certificate (downstream, when not required). */
  readonly noCertificate: Counter;

  constructor(scope: StatScope) {
    const ssl = scope.scope('ssl', 'ssl');
    this.handshake = ssl.counter('handshake');
    this.connectionError = ssl.counter('connection_error');
    this.failVerifyError = ssl.counter('fail_verify_error');
    this.failVerifySan = ssl.counter('fail_verify_san');
    this.failVerifyNoCert = ssl.counter('fail_verify_no_cert');
    this.failVerifyCertHash = ssl.counter('fail_verify_cert_hash');
    this.noCertificate = ssl.counter('no_certificate');
  }

  failed(kind: TlsFailureKind): void {
    switch (kind) {
      case 'expired':
      case 'unknown_ca':
      case 'verify_failed':
        this.failVerifyError.inc();
        return;
      case 'san_mismatch':
        this.failVerifySan.inc();
        return;
      case 'pin_mismatch':
        this.failVerifyCertHash.inc();
        return;
      case 'no_peer_certificate':
        this.failVerifyNoCert.inc();
        return;
      case 'peer_rejected':
      case 'handshake':
        this.connectionError.inc();
        return;
    }
  }
}
