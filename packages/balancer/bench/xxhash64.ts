/**
 * Cost of one xxHash64 of a string key, in ns, against the xxHash reference build in WebAssembly
 * (xxhash-wasm, which needs an asynchronous instantiation before its first hash).
 * Run: node --conditions=xmesh-source --import tsx packages/balancer/bench/xxhash64.ts
 *
 * Keys as the balancers hash them: a header value, a ring point `<host:port>_<k>`, a cookie, a
 * long value. Median of 7 rounds of a tight loop each.
 */
import xxhash from 'xxhash-wasm';
import { xxHash64 } from '../src/hash/xxhash64.js';

const ROUNDS = 7;
const CALLS = 400_000;
const KEYS: Record<string, string> = {
  'header value (5 B)': 'alice',
  'ring point (17 B)': '10.0.0.12:8080_37',
  'session cookie (36 B)': '3f2c9a1e-8b4d-4f6a-9c2e-7d1b5a0e4c3f',
  'long value (200 B)': 'x'.repeat(200),
  'UTF-8 value (12 chars)': 'grüße-中文-✓',
};

function nsPerCall(hash: (key: string) => bigint, key: string): number {
  const samples: number[] = [];
  let sink = 0n;
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) sink ^= hash(key);
    samples.push(Number(process.hrtime.bigint() - start) / CALLS);
  }
  if (sink === 42n) console.log('');
  return samples.sort((a, b) => a - b)[ROUNDS >> 1]!;
}

async function main(): Promise<void> {
  const wasm = await xxhash();
  const reference = (key: string) => wasm.h64(key, 0n);
  console.log(`node ${process.version}; ns per hash (median of ${ROUNDS} × ${CALLS})`);
  console.log('key                       xmesh (JS)  xxhash-wasm');
  for (const [name, key] of Object.entries(KEYS)) {
    const ours = nsPerCall((k) => xxHash64(k), key);
    const theirs = nsPerCall(reference, key);
    console.log(`${name.padEnd(24)}  ${ours.toFixed(0).padStart(10)}  ${theirs.toFixed(0).padStart(11)}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
