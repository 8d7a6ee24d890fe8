/**
 * xxHash64, the hash Envoy uses for ring hash, maglev and `hash_policy`, so embedded mode and an
 * Envoy sidecar map a key to the same host. The WebAssembly module (xxhash64.wat, 600 bytes) is
 * compiled and instantiated synchronously when this module loads — no top-level await, so CommonJS
 * apps can `require()` the package. The instance is per process but holds no state between calls
 * (scratch memory only): a key's UTF-8 bytes are written into it and hashed there; only the
 * returned bigint is allocated.
 */
import { Buffer } from 'node:buffer';
import { XXHASH64_WASM_BASE64 } from './xxhash64-wasm.js';

/** The parts of the WebAssembly JS API used here (the DOM lib that declares it is not in this package's `lib`). */
interface WebAssemblyApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown };
}

interface XxHash64Exports {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  /** Hashes memory [8, 8 + length) with `seed` and stores the hash at offset 0. */
  readonly xxh64: (length: number, seed: bigint) => void;
}

/** Where the module reads the input; [0, 8) holds the result. */
const INPUT_OFFSET = 8;
const PAGE = 65536;
/** Keys up to this many UTF-16 units are copied byte by byte when ASCII; longer ones go through the encoder. */
const SHORT_KEY = 16;

const { Module, Instance } = (globalThis as unknown as { readonly WebAssembly: WebAssemblyApi }).WebAssembly;
const wasm = new Instance(new Module(Buffer.from(XXHASH64_WASM_BASE64, 'base64')), {}).exports as XxHash64Exports;
const encoder = new TextEncoder();
let bytes = new Uint8Array(wasm.memory.buffer);
let input = bytes.subarray(INPUT_OFFSET);
let result = new DataView(wasm.memory.buffer, 0, 8);

/** Grows the module's memory so `maxBytes` input bytes fit; views are rebuilt on the new buffer. */
function reserve(maxBytes: number): void {
  const needed = INPUT_OFFSET + maxBytes;
  if (needed <= bytes.length) return;
  wasm.memory.grow(Math.ceil((needed - bytes.length) / PAGE));
  bytes = new Uint8Array(wasm.memory.buffer);
  input = bytes.subarray(INPUT_OFFSET);
  result = new DataView(wasm.memory.buffer, 0, 8);
}

/** Writes `input`'s UTF-8 bytes at INPUT_OFFSET and returns their count. */
function writeUtf8(key: string): number {
  const n = key.length;
  if (n <= SHORT_KEY) {
    let i = 0;
    for (; i < n; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0x80) break;
      bytes[INPUT_OFFSET + i] = c;
    }
    if (i === n) return n;
  }
  if (INPUT_OFFSET + n * 3 > bytes.length) reserve(n * 3);
  return encoder.encodeInto(key, input).written;
}

/** xxHash64 of the UTF-8 bytes of `input` with `seed` (Envoy's seed is 0 unless stated). */
export function xxHash64(input: string, seed: bigint = 0n): bigint {
  wasm.xxh64(writeUtf8(input), seed);
  return result.getBigUint64(0, true);
}
