/**
 * Test certificates made at test time with Debian's `openssl` (the test command installs it; see scripts/test.mjs):
 * two CAs, and leaf certificates signed by one of them with the SANs, validity and key usage a test needs. Keys are
 * P-256, fresh per PKI, and live in a temp directory removed by `dispose()`. Nothing here is committed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Issued {
  readonly cert: string;
  readonly key: string;
  readonly certPath: string;
  readonly keyPath: string;
}

export interface IssueOptions {
  /** `DNS:a`, `URI:spiffe://...`, `IP:127.0.0.1`, `email:x@y`. */
  readonly sans?: readonly string[];
  readonly cn?: string;
  /** Days of validity from now; a negative number makes an expired certificate. Default 2. */
  readonly days?: number;
  /** The CA that signs it; default the PKI's main CA. */
  readonly ca?: Issued;
}

export class TestPki {
  readonly dir: string;
  /** The main CA. */
  readonly ca: Issued;
  /** A CA nobody trusts. */
  readonly otherCa: Issued;
  private serial = 1;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'xmesh-pki-'));
    this.ca = this.makeCa('ca', 'xmesh test CA');
    this.otherCa = this.makeCa('other-ca', 'untrusted test CA');
  }

  /** A leaf certificate for server and client use. */
  issue(name: string, options: IssueOptions = {}): Issued {
    const ca = options.ca ?? this.ca;
    const keyPath = join(this.dir, `${name}.key`);
    const csrPath = join(this.dir, `${name}.csr`);
    const certPath = join(this.dir, `${name}.pem`);
    const extPath = join(this.dir, `${name}.ext`);
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyPath]);
    openssl(['req', '-new', '-key', keyPath, '-subj', `/CN=${options.cn ?? name}`, '-out', csrPath]);
    const sans = options.sans ?? [];
    writeFileSync(extPath, [
      ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
    ].join('\n'));
    openssl([
      'x509', '-req', '-in', csrPath, '-CA', ca.certPath, '-CAkey', ca.keyPath, '-set_serial', String(++this.serial),
      '-days', String(options.days ?? 2), '-extfile', extPath, '-out', certPath,
    ]);
    return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath };
  }

  /** Writes `text` to a file of the PKI's directory and returns its path. */
  write(name: string, text: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, text);
    return path;
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private makeCa(name: string, cn: string): Issued {
    const keyPath = join(this.dir, `${name}.key`);
    const certPath = join(this.dir, `${name}.pem`);
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyPath]);
    openssl([
      'req', '-x509', '-new', '-key', keyPath, '-subj', `/CN=${cn}`, '-days', '2', '-out', certPath,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath };
  }
}

function openssl(args: readonly string[]): void {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  if (result.error) throw new Error(`openssl is needed for TLS tests (apt-get install openssl): ${result.error.message}`);
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
}

/** The usual set: a server for `server.test` / spiffe://xmesh.test/server / 127.0.0.1, a client, and the bad ones. */
export function standardPki(): TestPki & {
  server: Issued; client: Issued; expired: Issued; wrongSan: Issued; strangerServer: Issued; strangerClient: Issued;
} {
  const pki = new TestPki();
  const serverSans = ['DNS:server.test', 'URI:spiffe://xmesh.test/ns/default/sa/server', 'IP:127.0.0.1'];
  return Object.assign(pki, {
    server: pki.issue('server', { sans: serverSans }),
    client: pki.issue('client', { sans: ['URI:spiffe://xmesh.test/ns/default/sa/client'] }),
    expired: pki.issue('expired', { sans: serverSans, days: -1 }),
    wrongSan: pki.issue('wrong-san', { sans: ['DNS:elsewhere.test', 'URI:spiffe://other.test/ns/x/sa/y'] }),
    strangerServer: pki.issue('stranger-server', { sans: serverSans, ca: pki.otherCa }),
    strangerClient: pki.issue('stranger-client', { sans: ['URI:spiffe://xmesh.test/ns/default/sa/client'], ca: pki.otherCa }),
  });
}
