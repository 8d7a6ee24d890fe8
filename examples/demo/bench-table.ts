/**
 * Runs the benchmark harness (`bench/src/main.ts --quick`) as a child process and returns the
 * table it printed. Results go to a temporary directory, not to `bench/results`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './processes.js';

export const BENCH_SCENARIOS = ['direct', 'embedded', 'sidecar-xmesh'] as const;

export interface BenchTable {
  readonly ok: boolean;
  /** The table and comparison lines, or the tail of the output when the run failed. */
  readonly lines: readonly string[];
}

/** Closed loop at `concurrency`, no open loop; `timeoutMs` bounds the whole run. */
export async function runQuickBench(concurrency = 16, timeoutMs = 90_000): Promise<BenchTable> {
  const out = mkdtempSync(join(tmpdir(), 'xmesh-demo-bench-'));
  const args = ['--conditions=xmesh-source', '--import', 'tsx', 'bench/src/main.ts', '--quick',
    '--scenarios', BENCH_SCENARIOS.join(','), '--concurrency', String(concurrency), '--rate', '0',
    '--workload', 'unary', '--payload', '100', '--out', out];
  try {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
    clearTimeout(timer);
    const lines = text.split('\n');
    const start = lines.findIndex((l) => l.startsWith('scenario '));
    const end = lines.findIndex((l) => l.startsWith('wrote '));
    if (code !== 0 || start < 0) return { ok: false, lines: lines.slice(-15) };
    return { ok: true, lines: lines.slice(start, end < 0 ? undefined : end).filter((l, i, all) => l !== '' || (i > 0 && i < all.length - 1)) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
