/** What the numbers were measured on. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  grpcJs: string;
  haproxy?: string;
}

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match?.[1] !== undefined) return match[1].trim();
  } catch {
    // not Linux: fall through
  }
  return cpus()[0]?.model ?? 'unknown';
}

function grpcJsVersion(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve('@grpc/grpc-js');
  const pkgPath = main.slice(0, main.lastIndexOf('/build/')) + '/package.json';
  return (JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string }).version;
}

export function machineInfo(): MachineInfo {
  return {
    cpuModel: cpuModel(),
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    grpcJs: grpcJsVersion(),
  };
}

export function describeMachine(m: MachineInfo): string {
  return [
    `machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB`,
    `node ${m.node}, @grpc/grpc-js ${m.grpcJs}${m.haproxy === undefined ? '' : `, ${m.haproxy}`}`,
  ].join('\n');
}
