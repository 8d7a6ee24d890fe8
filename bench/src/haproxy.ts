/**
 * HAProxy as an h2c (cleartext HTTP/2) gRPC sidecar reference: finding or installing it,
 * and running one instance in the foreground (`-db`) so its single PID holds all its CPU time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { stopChild } from './server-process.js';

/** The haproxy binary's path, or undefined. */
function findHaproxy(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path !== '' ? path : undefined;
}

/**
 * Finds haproxy; when absent and running as root, installs the Debian package (saying so).
 * Returns undefined, after printing why, when HAProxy cannot be had.
 */
export function ensureHaproxy(log: (line: string) => void): string | undefined {
  const found = findHaproxy();
  if (found !== undefined) return found;
  if (process.getuid?.() !== 0) {
    log('haproxy is not installed and this is not root: skipping the sidecar-haproxy scenarios (apt-get install haproxy to run them)');
    return undefined;
  }
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args: string[]) => {
    log(`running: apt-get ${args.join(' ')}`);
    return spawnSync('apt-get', args, { encoding: 'utf8', env: aptEnv, timeout: 300_000 });
  };
  let r = run(['install', '-y', 'haproxy']);
  if (r.status !== 0) {
    run(['update']);
    r = run(['install', '-y', 'haproxy']);
  }
  const installed = findHaproxy();
  if (installed === undefined) {
    log(`could not install haproxy: skipping the sidecar-haproxy scenarios\n${(r.stderr ?? '').trim().split('\n').slice(-3).join('\n')}`);
  }
  return installed;
}

/** The HAProxy version line, e.g. "HAProxy version 2.6.12-1+deb12u3 2025/...". */
export function haproxyVersion(bin: string): string {
  const r = spawnSync(bin, ['-v'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n')[0]?.trim() ?? '';
}

/** HAProxy originating mutual TLS to its upstream: its client certificate + key (one PEM file) and the CA it trusts. */
export interface HaproxyUpstreamTls {
  readonly clientPem: string;
  readonly ca: string;
}

/**
 * One h2c hop (h2c in; h2c out, or TLS with ALPN h2 and a client certificate when `tls`). The measured gotchas:
 * `proto h2` on the server line is required (without it gRPC gets UNAVAILABLE / HTTP 502); maxconn above ~10000
 * fails on the FD limit; `http-reuse always` keeps one upstream connection.
 */
export function haproxyConfig(listenPort: number, upstreamPort: number, tls?: HaproxyUpstreamTls): string {
  const upstreamTls = tls === undefined ? '' : ` ssl crt ${tls.clientPem} ca-file ${tls.ca} verify required alpn h2`;
  return `global
  maxconn 4096

defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always

frontend grpc_in
  bind 127.0.0.1:${listenPort} proto h2
  default_backend grpc_out

backend grpc_out
  server upstream 127.0.0.1:${upstreamPort} proto h2${upstreamTls}
`;
}

export interface HaproxyProcess {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts haproxy on a free loopback port forwarding to `upstreamPort`; resolves once it accepts connections. */
export async function startHaproxy(bin: string, upstreamPort: number, dir: string, name: string, tls?: HaproxyUpstreamTls): Promise<HaproxyProcess> {
  const port = await freePort();
  const configPath = join(dir, `${name}.cfg`);
  writeFileSync(configPath, haproxyConfig(port, upstreamPort, tls));
  const child = spawn(bin, ['-db', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const stop = () => stopChild(child);
  try {
    await waitForPort(port, 5000, () => child.exitCode !== null);
  } catch (err) {
    await stop();
    throw new Error(`haproxy (${name}) did not start: ${(err as Error).message}\n${stderr.trim()}`);
  }
  if (child.pid === undefined) throw new Error('haproxy has no pid');
  return { pid: child.pid, port, stop };
}

/** A port that was free a moment ago on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) throw new Error('process exited');
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} not accepting connections after ${timeoutMs} ms`);
}
