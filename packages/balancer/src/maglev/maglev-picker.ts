import type { Endpoint, PickInput, PickResult, Picker } from '@xmesh/core';
import { xxHash64 } from '../hash/xxhash64.js';
import { completeResult } from '../picker.js';

/**
 * Envoy's Maglev: a lookup table of `tableSize` (prime, default 65 537) slots. Each endpoint walks
 * its own permutation, offset = xxHash64(id, 0) mod M, skip = xxHash64(id, 1) mod (M − 1) + 1,
 * claiming its next free slot in turn; weights thin an endpoint's turns (one in
 * max_weight / weight rounds). A request hash maps to slot hash mod M. Removing one of N endpoints
 * moves about 1/N of the keys. Without a hash, a random slot. The n-th selection made again for a
 * retry host predicate looks up hash XOR (2^64 − n), as Envoy's, to land far from the first slot.
 */
const TWO_TO_64 = 1n << 64n;

export class MaglevPicker implements Picker {
  private readonly results: readonly PickResult[];
  private readonly table: Int32Array;
  private readonly tableSizeBig: bigint;

  constructor(endpoints: readonly Endpoint[], tableSize: number, private readonly random: () => number) {
    if (endpoints.length === 0) throw new RangeError('MaglevPicker needs at least one endpoint');
    this.results = endpoints.map(completeResult);
    this.table = buildTable(endpoints, tableSize);
    this.tableSizeBig = BigInt(tableSize);
  }

  pick(input: PickInput): PickResult {
    let hash = input.hash;
    if (hash === undefined) return this.results[this.table[Math.floor(this.random() * this.table.length)]!]!;
    if (input.selectionAttempt > 0) hash ^= TWO_TO_64 - BigInt(input.selectionAttempt);
    return this.results[this.table[Number(hash % this.tableSizeBig)]!]!;
  }

  /** Slots owned by each endpoint, in endpoint order (for inspection and tests). */
  slotCounts(): number[] {
    const counts = new Array<number>(this.results.length).fill(0);
    for (const owner of this.table) counts[owner]!++;
    return counts;
  }
}

function buildTable(endpoints: readonly Endpoint[], tableSize: number): Int32Array {
  const m = BigInt(tableSize);
  const totalWeight = endpoints.reduce((a, e) => a + e.weight, 0);
  const weights = endpoints.map((e) => e.weight / totalWeight);
  const maxWeight = Math.max(...weights);
  const offsets = endpoints.map((e) => Number(xxHash64(e.id, 0n) % m));
  const skips = endpoints.map((e) => Number(xxHash64(e.id, 1n) % (m - 1n)) + 1);
  const next = new Float64Array(endpoints.length);
  const targets = new Float64Array(endpoints.length);
  const table = new Int32Array(tableSize).fill(-1);
  let filled = 0;
  for (let iteration = 1; filled < tableSize; iteration++) {
    for (let i = 0; i < endpoints.length && filled < tableSize; i++) {
      if (iteration * weights[i]! < targets[i]!) continue;
      targets[i]! += maxWeight;
      let slot = permutation(offsets[i]!, skips[i]!, next[i]!, tableSize);
      while (table[slot] !== -1) {
        next[i]!++;
        slot = permutation(offsets[i]!, skips[i]!, next[i]!, tableSize);
      }
      table[slot] = i;
      next[i]!++;
      filled++;
    }
  }
  return table;
}

/** (offset + skip × n) mod size without leaving exact integer range. */
function permutation(offset: number, skip: number, n: number, size: number): number {
  return (offset + ((skip * (n % size)) % size)) % size;
}
