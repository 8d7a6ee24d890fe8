/**
 * The `xmesh` command as a child process, run from source: what it prints, waiting for a line, its
 * exit. Tests kill it with `stop()` (SIGKILL unless given a signal) in their `finally`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'packages', 'cli', 'src', 'bin.ts');
const NODE_ARGS = ['--conditions=xmesh-source', '--import', 'tsx', BIN];

export interface XmeshRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `xmesh ...args` to its end (at most `timeoutMs`). */
export function runXmesh(args: readonly string[], timeoutMs = 60_000): XmeshRun {
  const r = spawnSync(process.execPath, [...NODE_ARGS, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export class XmeshProcess {
  readonly child: ChildProcess;
  alive = true;
  stdout = '';
  stderr = '';
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  private readonly waiters = new Set<() => void>();

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, [...NODE_ARGS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.take('stdout', chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.take('stderr', chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => {
      this.alive = false;
      for (const w of this.waiters) w();
      resolve(code);
    }));
  }

  /** Resolves with the first match of `pattern` in `stream` from `from` on; rejects after `ms` or if the process exits first. */
  waitFor(pattern: RegExp, stream: 'stdout' | 'stderr' = 'stdout', ms = 30_000, from = 0): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(this[stream].slice(from));
        if (match) return done(() => resolve(match));
        if (!this.alive) return done(() => reject(new Error(`xmesh exited before ${pattern} on ${stream}:\n${this.stdout}\n${this.stderr}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no ${pattern} on ${stream} within ${ms} ms:\n${this.stdout}\n${this.stderr}`))), ms);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }

  stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.alive) this.child.kill(signal);
    return this.exited;
  }

  private take(stream: 'stdout' | 'stderr', chunk: string): void {
    this[stream] += chunk;
    for (const w of [...this.waiters]) w();
  }
}
