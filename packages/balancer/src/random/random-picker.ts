import type { Endpoint, PickInput, PickResult, Picker } from '@xmesh/core';
import { completeResult } from '../picker.js';

/**
 * RANDOM, weighted by `load_balancing_weight`: a uniform draw over the cumulative weights
 * (binary search). A selection made again for a retry host predicate is a fresh draw, as Envoy's.
 */
export class RandomPicker implements Picker {
  private readonly results: readonly PickResult[];
  private readonly cumulative: Float64Array;
  private readonly total: number;

  constructor(endpoints: readonly Endpoint[], private readonly random: () => number) {
    if (endpoints.length === 0) throw new RangeError('RandomPicker needs at least one endpoint');
    this.results = endpoints.map(completeResult);
    this.cumulative = new Float64Array(endpoints.length);
    let sum = 0;
    endpoints.forEach((e, i) => (this.cumulative[i] = sum += e.weight));
    this.total = sum;
  }

  pick(_input: PickInput): PickResult {
    return this.results[this.draw()]!;
  }

  private draw(): number {
    const target = this.random() * this.total;
    const c = this.cumulative;
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid]! <= target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
