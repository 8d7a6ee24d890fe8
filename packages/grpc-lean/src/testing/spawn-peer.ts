import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('./peer-process.ts', import.meta.url));

export interface PeerProcess {
  readonly port: number;
  readonly child: ChildProcess;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
}

/** Starts an echo peer in a child process and waits until it listens. */
export function spawnPeer(kind: string, port = 0): Promise<PeerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, kind, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`peer ${kind} did not start`)), 20_000);
    child.once('exit', (code) => reject(new Error(`peer ${kind} exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /LISTENING (\d+)/.exec(output);
      if (match === null) return;
      clearTimeout(timer);
      resolve({
        port: Number(match[1]),
        child,
        kill: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGKILL');
          }),
      });
    });
  });
}
