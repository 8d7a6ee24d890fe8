/** Steady unary load for availability tests: `concurrency` callers until `stop()`, every outcome kept. */
import type { EchoClient } from './echo-server.js';
import { unary } from './grpc-call.js';

export interface LoadRun {
  /** Server names (`name@host:port`) of the successful calls, in completion order. */
  readonly landed: string[];
  /** Failures, as `code: details`. */
  readonly failures: string[];
  /** Stops starting calls; resolves once every caller finished its last call. */
  stop(): Promise<void>;
}

export function startLoad(client: EchoClient, concurrency: number, deadlineMs = 5_000): LoadRun {
  const landed: string[] = [];
  const failures: string[] = [];
  let running = true;
  const caller = async () => {
    while (running) {
      try {
        const reply = await unary(client, { message: 'load' }, { deadline: Date.now() + deadlineMs });
        landed.push(reply.server);
      } catch (error) {
        const e = error as { code?: number; details?: string; message?: string };
        failures.push(`${e.code ?? '?'}: ${e.details ?? e.message}`);
      }
    }
  };
  const callers = Array.from({ length: concurrency }, caller);
  return {
    landed,
    failures,
    stop: async () => {
      running = false;
      await Promise.all(callers);
    },
  };
}

/** Share of `landed` whose server name starts with `name@`. */
export function shareOf(landed: readonly string[], name: string): number {
  return landed.length === 0 ? 0 : landed.filter((s) => s.startsWith(`${name}@`)).length / landed.length;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 20 ms until true; rejects after `timeoutMs` naming `what`. */
export async function eventually(what: string, check: () => boolean, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
  return Date.now() - started;
}
