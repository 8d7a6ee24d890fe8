import type { Endpoint, PickInput, PickResult, Picker } from '@xmesh/core';
import { completeResult } from '../picker.js';

/** Attempts to avoid hosts already tried on a retry before taking whatever comes. */
const RETRY_DRAWS = 3;

/**
 * RANDOM, weighted by `load_balancing_weight`: a uniform draw over the cumulative weights
 * (binary search). On a retry, redraws a few times to avoid endpoints in `input.tried`.
 */
export class RandomPicker implements Picker {
  private readonly results: readonly PickResult[];
  private readonly ids: readonly string[];
  private readonly cumulative: Float64Array;
  private readonly total: number;

  constructor(endpoints: readonly Endpoint[], private readonly random: () => number) {
    if (endpoints.length === 0) throw new RangeError('RandomPicker needs at least one endpoint');
    this.results = endpoints.map(completeResult);
    this.ids = endpoints.map((e) => e.id);
    this.cumulative = new Float64Array(endpoints.length);
    let sum = 0;
    endpoints.forEach((e, i) => (this.cumulative[i] = sum += e.weight));
    this.total = sum;
  }

  pick(input: PickInput): PickResult {
    let index = this.draw();
    const tried = input.tried;
    if (tried !== undefined && tried.size > 0) {
      for (let n = 0; n < RETRY_DRAWS && tried.has(this.ids[index]!); n++) index = this.draw();
    }
    return this.results[index]!;
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
