/**
 * CPU and memory meters: this process through `process.cpuUsage()`, other processes
 * (proxies, servers) through `/proc/<pid>/stat` and `/proc/<pid>/status`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Starts measuring this process; the returned function gives user+system CPU ms since. */
export function startClientCpu(): () => number {
  const before = process.cpuUsage();
  return () => {
    const d = process.cpuUsage(before);
    return (d.user + d.system) / 1000;
  };
}

/** Clock ticks per second for /proc times (`getconf CLK_TCK`), 100 when unknown. */
export function clockTicksPerSecond(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

/** utime + stime of `pid` in clock ticks, from /proc/<pid>/stat (fields 14 and 15). */
export function processCpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Resident set size of `pid` in kB (VmRSS), or undefined when it is not reported. */
export function processRssKb(pid: number): number | undefined {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** Starts measuring the summed CPU of `pids`; the returned function gives CPU ms since. */
export function startProcessCpu(pids: readonly number[], ticksPerSecond: number): () => number {
  const total = () => pids.reduce((sum, pid) => sum + processCpuTicks(pid), 0);
  const before = total();
  return () => ((total() - before) * 1000) / ticksPerSecond;
}
