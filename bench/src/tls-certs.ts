/**
 * Certificates for the TLS scenarios, made at start with Debian's `openssl` (never committed): a CA, a server
 * certificate for 127.0.0.1 (the servers' address) and a client certificate, P-256 keys. The client's certificate
 * and key are also written together for HAProxy's `crt`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BenchTlsFiles {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** The client certificate followed by its key (HAProxy's `crt`). */
  readonly clientPem: string;
}

/** The SPIFFE id in the server's certificate, which the embedded scenario checks. */
export const BENCH_SERVER_ID = 'spiffe://bench.xmesh/echo';
/** The DNS name in the server's certificate: grpc-js sends the target host as SNI, and Node 26 refuses an IP there. */
export const BENCH_SERVER_NAME = 'echo.bench.svc';

/** True when `openssl` can be run. */
export function hasOpenssl(): boolean {
  return spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
}

export function makeBenchCerts(dir: string): BenchTlsFiles {
  const at = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', at('ca.key'));
  ssl('req', '-x509', '-new', '-key', at('ca.key'), '-subj', '/CN=xmesh bench CA', '-days', '2', '-out', at('ca.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  const leaf = (name: string, san: string) => {
    ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', at(`${name}.key`));
    ssl('req', '-new', '-key', at(`${name}.key`), '-subj', `/CN=${name}`, '-out', at(`${name}.csr`));
    writeFileSync(at(`${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
    ssl('x509', '-req', '-in', at(`${name}.csr`), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', at(`${name}.ext`), '-out', at(`${name}.pem`));
  };
  leaf('server', `IP:127.0.0.1,DNS:${BENCH_SERVER_NAME},URI:${BENCH_SERVER_ID}`);
  leaf('client', 'URI:spiffe://bench.xmesh/client');
  writeFileSync(at('client-combined.pem'), readFileSync(at('client.pem'), 'utf8') + readFileSync(at('client.key'), 'utf8'));
  return {
    ca: at('ca.pem'), serverCert: at('server.pem'), serverKey: at('server.key'),
    clientCert: at('client.pem'), clientKey: at('client.key'), clientPem: at('client-combined.pem'),
  };
}
