/**
 * The upstream servers run in a child process, so that this process's CPU is the client's alone.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchTlsFiles } from './tls-certs.js';

export interface ServerProcess {
  readonly pid: number;
  /** One port per echo server, all on 127.0.0.1. */
  readonly ports: readonly number[];
  /** The echo server that requires mutual TLS, when certificates were given. */
  readonly tlsPort: number | undefined;
  stop(): Promise<void>;
}

/** The child entry beside this module: `.ts` when running from sources, `.js` from dist. */
function childEntry(): string {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`./echo-server-child${ext}`, import.meta.url));
}

/**
 * Forks the echo server process with `count` servers (and an mTLS one with `tls`) and waits until they listen
 * (at most `timeoutMs`).
 */
export async function startServerProcess(count: number, timeoutMs = 20_000, tls?: BenchTlsFiles): Promise<ServerProcess> {
  // execArgv carries the loader flags (tsx, conditions) when running from sources.
  const args = tls === undefined ? [String(count)] : [String(count), JSON.stringify(tls)];
  const child = fork(childEntry(), args, { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let tlsPort: number | undefined;
  const ports = await new Promise<number[]>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`echo server process did not start within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    child.once('message', (msg: { ports?: number[]; tlsPort?: number }) => {
      clearTimeout(timer);
      tlsPort = msg.tlsPort;
      if (Array.isArray(msg.ports)) resolve(msg.ports);
      else fail(new Error(`unexpected message from echo server process: ${JSON.stringify(msg)}`));
    });
    child.once('exit', (code) => fail(new Error(`echo server process exited with code ${code}`)));
  });
  child.removeAllListeners('exit');
  if (child.pid === undefined) throw new Error('echo server process has no pid');
  return { pid: child.pid, ports, tlsPort, stop: () => stopChild(child) };
}

/** Disconnects (the child exits on its own), then kills it if it has not gone within 3 s. */
export function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (child.connected) child.disconnect();
    else child.kill('SIGTERM');
  });
}
