/**
 * Picks among options by weight with one random draw and no allocation.
 * Zero-weight options are never picked; when every weight is zero the first option is.
 */
export class WeightedChoice<T> {
  private readonly options: readonly T[];
  /** cumulative[i] = sum of weights[0..i]. */
  private readonly cumulative: readonly number[];
  private readonly total: number;

  constructor(options: readonly T[], weights: readonly number[]) {
    if (options.length === 0 || options.length !== weights.length) {
      throw new RangeError('WeightedChoice needs one weight per option and at least one option');
    }
    this.options = options;
    let sum = 0;
    this.cumulative = weights.map((w) => (sum += Math.max(0, w)));
    this.total = sum;
  }

  /** `random` returns a number in [0, 1); it is called only when there is more than one option. */
  pick(random: () => number): T {
    const options = this.options;
    if (options.length === 1 || this.total === 0) return options[0]!;
    const target = random() * this.total;
    const cumulative = this.cumulative;
    for (let i = 0; i < cumulative.length; i++) {
      if (target < cumulative[i]!) return options[i]!;
    }
    return options[options.length - 1]!;
  }
}
