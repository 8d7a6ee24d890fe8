/**
 * xxHash64, the hash Envoy uses for ring hash, maglev and `hash_policy`, so embedded mode and an
 * Envoy sidecar map a key to the same host. The WebAssembly module is instantiated once when this
 * module loads (top-level await); afterwards hashing is synchronous.
 */
import xxhash from 'xxhash-wasm';

const api = await xxhash();

/** xxHash64 of the UTF-8 bytes of `input` with `seed` (Envoy's seed is 0 unless stated). */
export function xxHash64(input: string, seed: bigint = 0n): bigint {
  return api.h64(input, seed);
}
