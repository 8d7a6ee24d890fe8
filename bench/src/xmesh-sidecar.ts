/**
 * The xmesh sidecar (`@xmesh/sidecar`) as a benchmark proxy: each hop is a child process, so its
 * CPU and RSS are measured apart from the client's, as HAProxy's are.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stopChild } from './server-process.js';

export interface XmeshSidecarProcess {
  readonly pid: number;
  readonly port: number;
  /** The child's heap after a full GC (0 without --expose-gc among `execArgv`), RSS and active handles. */
  memory(timeoutMs?: number): Promise<SidecarMemory>;
  stop(): Promise<void>;
}

export interface SidecarMemory {
  readonly heapUsed: number;
  readonly rss: number;
  readonly handles: number;
}

/**
 * How a sidecar child (`child`: the entry's base name) runs. The built entry (`dist/xmesh-sidecar-child.js`, loading the packages'
 * `dist`) runs on plain node, as users run `xmesh sidecar`: no TypeScript loader in the measured
 * process's CPU and RSS. Without a build (`npx tsc -b bench/tsconfig.json`) it runs from sources
 * with this process's loader flags.
 */
export function sidecarChildCommand(child = 'xmesh-sidecar-child'): { readonly entry: string; readonly execArgv: readonly string[] } {
  const fromDist = import.meta.url.endsWith('.js');
  const built = fileURLToPath(new URL(fromDist ? `./${child}.js` : `../dist/${child}.js`, import.meta.url));
  if (fromDist || existsSync(built)) return { entry: built, execArgv: [] };
  return { entry: fileURLToPath(new URL(`./${child}.ts`, import.meta.url)), execArgv: process.execArgv };
}

/**
 * Starts one sidecar forwarding to `upstreamPort`; resolves once it listens (at most `timeoutMs`).
 * `nodeArgs` are added to the child's Node options (the soak passes `--expose-gc`).
 */
export function startXmeshSidecar(upstreamPort: number, timeoutMs = 20_000, nodeArgs: readonly string[] = []): Promise<XmeshSidecarProcess> {
  return startChildEntry('xmesh-sidecar-child', [String(upstreamPort)], timeoutMs, nodeArgs);
}

/**
 * Starts the child entry `childName` of this directory (run as `sidecarChildCommand` says) with
 * `args`; resolves with the port it reports as `{ port }` over IPC.
 */
export async function startChildEntry(childName: string, args: readonly string[], timeoutMs = 20_000, nodeArgs: readonly string[] = []): Promise<XmeshSidecarProcess> {
  const command = sidecarChildCommand(childName);
  const child = fork(command.entry, [...args], { execArgv: [...command.execArgv, ...nodeArgs], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${childName} did not start within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    child.once('message', (msg: { port?: number }) => {
      clearTimeout(timer);
      if (typeof msg.port === 'number') resolve(msg.port);
      else fail(new Error(`unexpected message from ${childName}: ${JSON.stringify(msg)}`));
    });
    child.once('exit', (code) => fail(new Error(`${childName} exited with code ${code}`)));
  });
  child.removeAllListeners('exit');
  if (child.pid === undefined) throw new Error(`${childName} has no pid`);
  const memory = (memoryTimeoutMs = 10_000) =>
    new Promise<SidecarMemory>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.off('message', onMessage);
        reject(new Error(`xmesh sidecar did not report its memory within ${memoryTimeoutMs} ms`));
      }, memoryTimeoutMs);
      const onMessage = (msg: { type?: string } & Partial<SidecarMemory>) => {
        if (msg.type !== 'memory') return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve({ heapUsed: msg.heapUsed ?? 0, rss: msg.rss ?? 0, handles: msg.handles ?? 0 });
      };
      child.on('message', onMessage);
      child.send({ type: 'memory' });
    });
  return { pid: child.pid, port, memory, stop: () => stopChild(child) };
}
