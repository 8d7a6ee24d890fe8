/**
 * Runs the sidecar in a child process (see `sidecar-child.ts`): a crash is observed (`alive`,
 * `exit`, `stderr`), not fatal to the test runner; memory is sampled in the child after GC.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SidecarLimits } from '@xmesh/sidecar';

const CHILD = join(import.meta.dirname, 'sidecar-child.ts');

export interface ChildStats {
  readonly connections: number;
  readonly requestsActive: number;
  readonly requestsTotal: number;
  readonly overflow: number;
  readonly prematureResetCloses: number;
}

export interface SidecarProcess {
  readonly target: string;
  readonly host: string;
  readonly port: number;
  /** True until the process exited. */
  alive(): boolean;
  /** RSS and heap after two GCs, bytes. */
  memory(): Promise<{ rss: number; heapUsed: number }>;
  stats(): Promise<ChildStats>;
  /** What the process wrote to stderr (a crash's stack trace). */
  stderr(): string;
  stop(): Promise<void>;
}

export async function startSidecarProcess(spec: { config: object; limits?: Partial<SidecarLimits>; listener?: string }): Promise<SidecarProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'xmesh-sidecar-child-'));
  const file = join(dir, 'spec.json');
  writeFileSync(file, JSON.stringify(spec));
  const child: ChildProcess = spawn(process.execPath, ['--expose-gc', '--conditions=xmesh-source', '--import', 'tsx', CHILD, file], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (stderr += chunk));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    rmSync(dir, { recursive: true, force: true });
    resolve();
  }));
  const waiting = new Map<number, (message: Record<string, unknown>) => void>();
  let nextId = 1;
  let ready: (target: string) => void = () => undefined;
  const started = new Promise<string>((resolve, reject) => {
    ready = resolve;
    void exit.then(() => reject(new Error(`the sidecar process exited before it was ready:\n${stderr}`)));
  });
  child.on('message', (message: Record<string, unknown>) => {
    if (message.type === 'ready') ready(message.target as string);
    else waiting.get(message.id as number)?.(message);
  });
  const ask = <T>(type: string): Promise<T> => {
    if (exited) return Promise.reject(new Error(`the sidecar process is gone:\n${stderr}`));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${type}`)), 30_000);
      waiting.set(id, (message) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(message as T);
      });
      child.send({ type, id });
    });
  };
  const target = await started;
  const at = target.lastIndexOf(':');
  return {
    target,
    host: target.slice(0, at),
    port: Number(target.slice(at + 1)),
    alive: () => !exited,
    memory: () => ask('memory'),
    stats: () => ask('stats'),
    stderr: () => stderr,
    stop: async () => {
      if (!exited) {
        child.send({ type: 'stop', id: 0 });
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exit;
        clearTimeout(timer);
      }
    },
  };
}
