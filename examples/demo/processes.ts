/**
 * Child processes of the demo: started with the workspace's TypeScript loader, awaited until they
 * print the line that says they are ready, and always stopped (SIGTERM, then SIGKILL) — also when
 * the demo itself exits early.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (examples/demo/../..). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Child {
  readonly name: string;
  readonly pid: number;
  /** The first line that matched `ready`. */
  readonly readyLine: string;
  /** SIGTERM, SIGKILL after `graceMs`; resolves once the process exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** The children one demo run started; `killAll` is safe to call from a process 'exit' handler. */
export class ChildGroup {
  private readonly running = new Set<ChildProcess>();

  /** See `startChild`. */
  start(name: string, script: string, args: readonly string[], ready: RegExp, timeoutMs?: number): Promise<Child> {
    return startChild(name, script, args, ready, timeoutMs, this.running);
  }

  /** SIGKILL to every child still running (synchronous). */
  killAll(): void {
    for (const child of this.running) child.kill('SIGKILL');
  }
}

/**
 * Runs `node --conditions=xmesh-source --import tsx <script> ...args` from the repository root and
 * resolves once a stdout line matches `ready` (rejects on exit or after `timeoutMs`). Stderr is
 * passed through, prefixed with `name`.
 */
export function startChild(name: string, script: string, args: readonly string[], ready: RegExp, timeoutMs = 20_000, running = new Set<ChildProcess>()): Promise<Child> {
  const child = spawn(process.execPath, ['--conditions=xmesh-source', '--import', 'tsx', script, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    running.delete(child);
    resolve();
  }));
  const stop = async (graceMs = 3000) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
  };
  prefixLines(child.stderr!, (line) => process.stderr.write(`[${name}] ${line}\n`));
  return new Promise<Child>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(0);
      reject(new Error(`${name} not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? code}) before it was ready`));
    });
    prefixLines(child.stdout!, (line) => {
      if (!ready.test(line)) return;
      clearTimeout(timer);
      resolve({ name, pid: child.pid!, readyLine: line, stop });
    });
  });
}

function prefixLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      onLine(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
  });
}
