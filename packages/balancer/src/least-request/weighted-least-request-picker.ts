import type { Endpoint, PickInput, PickResult, Picker } from '@xmesh/core';
import type { ActiveRequests, ActiveRequestSlot } from '../metrics/active-requests.js';
import { meteredResult } from '../picker.js';

/**
 * Envoy's weighted least request (used when weights differ): every endpoint's effective weight is
 * `weight / (active + 1) ^ active_request_bias`, recomputed at each pick, and a smooth weighted
 * round robin runs over the effective weights. Bias 0 is plain weighted round robin; bias 1
 * divides by the load.
 */
export class WeightedLeastRequestPicker implements Picker {
  private readonly results: readonly PickResult[];
  private readonly slots: readonly ActiveRequestSlot[];
  private readonly weights: Float64Array;
  private readonly scores: Float64Array;

  constructor(endpoints: readonly Endpoint[], metric: ActiveRequests, private readonly bias: number) {
    if (endpoints.length === 0) throw new RangeError('WeightedLeastRequestPicker needs at least one endpoint');
    this.slots = endpoints.map((e) => metric.slot(e.id));
    this.results = endpoints.map((e, i) => meteredResult(e, this.slots[i]!));
    this.weights = Float64Array.from(endpoints, (e) => e.weight);
    this.scores = new Float64Array(endpoints.length);
  }

  pick(_input: PickInput): PickResult {
    const { weights, scores, slots, bias } = this;
    let total = 0;
    let best = 0;
    for (let i = 0; i < weights.length; i++) {
      const active = slots[i]!.active;
      const effective = bias === 1 ? weights[i]! / (active + 1) : bias === 0 ? weights[i]! : weights[i]! / Math.pow(active + 1, bias);
      scores[i]! += effective;
      total += effective;
      if (scores[i]! > scores[best]!) best = i;
    }
    scores[best]! -= total;
    slots[best]!.start();
    return this.results[best]!;
  }
}
