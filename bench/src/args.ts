/** Command-line options of the benchmark. */
import { parseArgs } from 'node:util';
import type { Workload } from './workload.js';

export type LoopSpec = { kind: 'closed'; concurrency: number } | { kind: 'open'; ratePerSec: number };

export interface BenchOptions {
  scenarios: string[];
  /** Unary workloads in `--payload` order, then the stream workload when selected. */
  workloads: Workload[];
  loops: LoopSpec[];
  durationMs: number;
  warmupMs: number;
  rounds: number;
  outDir: string | undefined;
}

export const USAGE = `usage: bench [--quick] [--scenarios a,b,...] [--workload unary,stream,bidi] [--payload 100,1024]
             [--stream-messages 10] [--stream-payload 100] [--concurrency 1,16,64] [--rate 500]
             [--duration 1.25] [--warmup 0.5] [--rounds 2] [--out DIR]
  --scenarios        comma list (default: all)
  --workload         any of unary, stream, bidi (default unary,stream)
  --payload          unary request payload sizes in bytes, one workload each (default 100,1024)
  --stream-messages  replies per ServerStream call, requests (each echoed) per Bidi call (default 10)
  --stream-payload   payload bytes of the ServerStream request, of each Bidi request and of each reply (default 100)
  --concurrency      closed-loop worker counts (default 1,16,64)
  --rate             open-loop calls/s, 0 = no open loop (default 500)
  --duration         measured seconds per slice (default 1.25; --quick 0.15)
  --warmup           warm-up seconds before each slice (default 0.5; --quick 0.1)
  --rounds           interleaved rounds, merged per scenario (default 2; --quick 1)
  --out              where latest.json and latest.html go (default bench/results)`;

function numbers(text: string, flag: string): number[] {
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v < 0)) throw new Error(`${flag}: expected non-negative numbers, got "${text}"`);
  return values;
}

function positive(text: string | undefined, fallback: number, flag: string): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${flag}: expected a positive number, got "${text}"`);
  return v;
}

function integers(text: string, flag: string, min: number): number[] {
  const values = numbers(text, flag);
  if (values.some((v) => !Number.isInteger(v) || v < min)) throw new Error(`${flag}: expected integers >= ${min}, got "${text}"`);
  return values;
}

function parseWorkloads(kinds: string | undefined, payloads: string | undefined, streamMessages: string | undefined, streamPayload: string | undefined): Workload[] {
  const selected = (kinds ?? 'unary,stream').split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = selected.filter((k) => k !== 'unary' && k !== 'stream' && k !== 'bidi');
  if (unknown.length > 0 || selected.length === 0) throw new Error(`--workload: expected unary, stream and/or bidi, got "${kinds}"`);
  const sizes = integers(payloads ?? '100,1024', '--payload', 0);
  if (new Set(sizes).size !== sizes.length) throw new Error(`--payload: repeated size in "${payloads}"`);
  const messages = integers(streamMessages ?? '10', '--stream-messages', 1)[0] ?? 10;
  const streamBytes = integers(streamPayload ?? '100', '--stream-payload', 0)[0] ?? 100;
  const workloads: Workload[] = [];
  if (selected.includes('unary')) for (const payloadBytes of sizes) workloads.push({ kind: 'unary', payloadBytes });
  if (selected.includes('stream')) workloads.push({ kind: 'stream', payloadBytes: streamBytes, messages });
  if (selected.includes('bidi')) workloads.push({ kind: 'bidi', payloadBytes: streamBytes, messages });
  return workloads;
}

/** Parses argv; throws with a message naming the flag on bad input. */
export function parseBenchArgs(argv: string[], allScenarios: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      scenarios: { type: 'string' },
      workload: { type: 'string' },
      payload: { type: 'string' },
      'stream-messages': { type: 'string' },
      'stream-payload': { type: 'string' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick === true;
  const scenarios = values.scenarios === undefined ? [...allScenarios] : values.scenarios.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = scenarios.filter((s) => !allScenarios.includes(s));
  if (unknown.length > 0) throw new Error(`--scenarios: unknown ${unknown.join(', ')} (known: ${allScenarios.join(', ')})`);
  const workloads = parseWorkloads(values.workload, values.payload, values['stream-messages'], values['stream-payload']);
  const concurrencies = numbers(values.concurrency ?? '1,16,64', '--concurrency');
  if (concurrencies.some((c) => !Number.isInteger(c) || c < 1)) throw new Error('--concurrency: expected integers >= 1');
  const rate = numbers(values.rate ?? '500', '--rate')[0] ?? 0;
  const loops: LoopSpec[] = concurrencies.map((concurrency) => ({ kind: 'closed', concurrency }));
  if (rate > 0) loops.push({ kind: 'open', ratePerSec: rate });
  const rounds = positive(values.rounds, quick ? 1 : 2, '--rounds');
  if (!Number.isInteger(rounds)) throw new Error('--rounds: expected an integer');
  return {
    scenarios,
    workloads,
    loops,
    durationMs: positive(values.duration, quick ? 0.15 : 1.25, '--duration') * 1000,
    warmupMs: positive(values.warmup, quick ? 0.1 : 0.5, '--warmup') * 1000,
    rounds,
    outDir: values.out,
  };
}

export function loopLabel(loop: LoopSpec): string {
  return loop.kind === 'closed' ? `c=${loop.concurrency}` : `open ${loop.ratePerSec}/s`;
}
