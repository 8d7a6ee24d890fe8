import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import xxhash from 'xxhash-wasm';
import wabt from 'wabt';
import { xxHash64 } from './xxhash64.js';
import { XXHASH64_WASM_BASE64 } from './xxhash64-wasm.js';

/** A small deterministic PRNG (mulberry32) so a failure names a reproducible input. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABETS = [
  'abcdefghijklmnopqrstuvwxyz0123456789_.:-/',
  // two-, three- and four-byte UTF-8, and lone surrogates (encoded as U+FFFD, as TextEncoder does)
  'aé€\u{1F600}ß中\uD800z',
];

function randomString(random: () => number, length: number, alphabet: string): string {
  const chars = [...alphabet];
  let s = '';
  for (let i = 0; i < length; i++) s += chars[Math.floor(random() * chars.length)];
  return s;
}

test('xxHash64 equals the xxHash reference build (xxhash-wasm) on every length 0..260, ASCII and UTF-8, and several seeds', async () => {
  const reference = await xxhash();
  const random = prng(0x5eed);
  const seeds = [0n, 1n, 0xffffffffn, 0x1_0000_0000n, 0xffffffffffffffffn, 0x9e3779b185ebca87n];
  let checked = 0;
  for (let length = 0; length <= 260; length++) {
    for (const alphabet of ALPHABETS) {
      const input = randomString(random, length, alphabet);
      for (const seed of seeds) {
        assert.equal(xxHash64(input, seed), reference.h64(input, seed), `length ${length} seed ${seed} input ${JSON.stringify(input)}`);
        checked++;
      }
    }
  }
  for (let i = 0; i < 200; i++) {
    const seed = BigInt(Math.floor(random() * 2 ** 32)) * 0x1_0000_0000n + BigInt(Math.floor(random() * 2 ** 32));
    const input = randomString(random, Math.floor(random() * 100), ALPHABETS[0]!);
    assert.equal(xxHash64(input, seed), reference.h64(input, seed));
    checked++;
  }
  assert.ok(checked > 3000);
});

test('xxHash64 of a long key after short ones (the reused buffer grows and stays correct)', async () => {
  const reference = await xxhash();
  const long = 'k'.repeat(5000) + '€';
  assert.equal(xxHash64('a'), reference.h64('a'));
  assert.equal(xxHash64(long), reference.h64(long));
  assert.equal(xxHash64('a'), reference.h64('a'));
});

test('the checked-in module is xxhash64.wat compiled (scripts/gen-xxhash-wasm.mjs)', async () => {
  const tools = await wabt();
  const parsed = tools.parseWat('xxhash64.wat', readFileSync(new URL('./xxhash64.wat', import.meta.url), 'utf8'));
  parsed.validate();
  const compiled = Buffer.from(parsed.toBinary({}).buffer).toString('base64');
  parsed.destroy();
  assert.equal(XXHASH64_WASM_BASE64, compiled);
});
