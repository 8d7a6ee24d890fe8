import type { Endpoint, PickInput, PickResult, Picker } from '@xmesh/core';
import { completeResult } from '../picker.js';

/**
 * Smooth weighted round robin (nginx): each pick adds every endpoint's weight to its running
 * score, takes the highest, and subtracts the total from it. Over sum(weights) picks each
 * endpoint is chosen exactly `weight` times, interleaved (1:1:8 gives c c c c a c c c b c ...
 * rather than a burst). O(n) per pick, no allocation.
 */
export class WeightedRoundRobinPicker implements Picker {
  private readonly results: readonly PickResult[];
  private readonly weights: Float64Array;
  private readonly scores: Float64Array;
  private readonly total: number;

  constructor(endpoints: readonly Endpoint[], random: () => number) {
    if (endpoints.length === 0) throw new RangeError('WeightedRoundRobinPicker needs at least one endpoint');
    this.results = endpoints.map(completeResult);
    this.weights = Float64Array.from(endpoints, (e) => e.weight);
    this.total = this.weights.reduce((a, b) => a + b, 0);
    // A random phase so a fleet of clients does not move in step.
    this.scores = Float64Array.from(this.weights, (w) => w * random());
  }

  pick(_input: PickInput): PickResult {
    const { weights, scores } = this;
    let best = 0;
    for (let i = 0; i < weights.length; i++) {
      scores[i]! += weights[i]!;
      if (scores[i]! > scores[best]!) best = i;
    }
    scores[best]! -= this.total;
    return this.results[best]!;
  }
}
