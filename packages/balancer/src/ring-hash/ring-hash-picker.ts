import type { Endpoint, PickInput, PickResult, Picker } from '@xmesh/core';
import { xxHash64 } from '../hash/xxhash64.js';
import { completeResult } from '../picker.js';

export interface RingSize {
  readonly minimumRingSize: number;
  readonly maximumRingSize: number;
}

/**
 * Envoy's ring hash (ketama). Each endpoint gets `scale × normalized weight` points, scale being
 * the smallest that gives the lightest endpoint a whole number of points while the ring holds at
 * least `minimumRingSize` (capped at `maximumRingSize`); point k of an endpoint is
 * xxHash64(`<host:port>_<k>`). A request hash maps to the first point at or after it, wrapping.
 * Removing one of N endpoints moves only the keys it held (~1/N). Without a hash, a random point.
 * The n-th selection made again for a retry host predicate takes the point n places further on,
 * as Envoy's (which may still be the same endpoint).
 */
export class RingHashPicker implements Picker {
  private readonly results: readonly PickResult[];
  /** Point hashes, ascending. */
  private readonly hashes: BigUint64Array;
  /** Endpoint index of each point. */
  private readonly owners: Int32Array;

  constructor(endpoints: readonly Endpoint[], size: RingSize, private readonly random: () => number) {
    if (endpoints.length === 0) throw new RangeError('RingHashPicker needs at least one endpoint');
    this.results = endpoints.map(completeResult);
    const points = buildRing(endpoints, size);
    this.hashes = BigUint64Array.from(points, (p) => p.hash);
    this.owners = Int32Array.from(points, (p) => p.owner);
  }

  /** Number of points on the ring. */
  get size(): number {
    return this.hashes.length;
  }

  pick(input: PickInput): PickResult {
    const count = this.hashes.length;
    let point = input.hash === undefined ? Math.floor(this.random() * count) : this.lowerBound(input.hash);
    if (input.selectionAttempt > 0) point = (point + input.selectionAttempt) % count;
    return this.results[this.owners[point]!]!;
  }

  /** Index of the first point with hash >= h, or 0 past the end. */
  private lowerBound(h: bigint): number {
    const hashes = this.hashes;
    let lo = 0;
    let hi = hashes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hashes[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return lo === hashes.length ? 0 : lo;
  }
}

function buildRing(endpoints: readonly Endpoint[], size: RingSize): { hash: bigint; owner: number }[] {
  const totalWeight = endpoints.reduce((a, e) => a + e.weight, 0);
  const normalized = endpoints.map((e) => e.weight / totalWeight);
  const minNormalized = Math.min(...normalized);
  const scale = Math.min(Math.ceil(minNormalized * size.minimumRingSize) / minNormalized, size.maximumRingSize);
  const points: { hash: bigint; owner: number }[] = [];
  let current = 0;
  let target = 0;
  endpoints.forEach((e, owner) => {
    target += scale * normalized[owner]!;
    for (let k = 0; current < target; k++, current++) points.push({ hash: xxHash64(`${e.id}_${k}`), owner });
  });
  points.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  return points;
}
