/**
 * A throwaway `redis-server` (Debian package) for tests: 127.0.0.1 on a free port, no
 * persistence. `stop()` kills it; `pause()` / `resume()` freeze it (SIGSTOP / SIGCONT) to
 * simulate a Redis that stops answering.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from '../../scripts/free-port.mjs';

export interface RedisServer {
  readonly port: number;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export async function startRedis(timeoutMs = 5_000): Promise<RedisServer> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const end = Date.now() + timeoutMs;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > end || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not listen on ${port} (is the redis-server package installed?)`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    stop: async () => {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
