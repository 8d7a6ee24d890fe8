import type { PickInput, PickResult, Picker } from '@xmesh/core';

const HASH_SPAN = 1n << 32n;

/**
 * Chooses a bucket (priority / locality share) by weight, then delegates to that bucket's
 * algorithm picker. With `byHash`, a request hash chooses the bucket (as Envoy's hash balancers
 * do), so a key keeps its bucket; otherwise `random` does.
 */
export class BucketPicker implements Picker {
  private readonly cumulative: Float64Array;
  private readonly total: number;

  constructor(
    private readonly pickers: readonly Picker[],
    weights: readonly number[],
    private readonly random: () => number,
    private readonly byHash: boolean,
  ) {
    this.cumulative = new Float64Array(weights.length);
    let sum = 0;
    weights.forEach((w, i) => (this.cumulative[i] = sum += w));
    this.total = sum;
  }

  pick(input: PickInput): PickResult {
    const hash = input.hash;
    const unit = this.byHash && hash !== undefined ? Number(hash % HASH_SPAN) / 2 ** 32 : this.random();
    const target = unit * this.total;
    const cumulative = this.cumulative;
    let i = 0;
    const last = cumulative.length - 1;
    while (i < last && cumulative[i]! <= target) i++;
    return this.pickers[i]!.pick(input);
  }
}
