import type { Endpoint, PickInput, PickResult, Picker } from '@xmesh/core';
import type { LoadMetric, LoadSlot } from '../metrics/load-metric.js';
import { meteredResult } from '../picker.js';

/**
 * Power of `choiceCount` choices: draws that many endpoints uniformly and takes the one with the
 * lowest `cost()` of the load metric; ties go to the earlier draw. Draws are with replacement, as
 * Envoy's least request, unless `distinctPair` (Finagle's P2C: two different endpoints). The
 * picked slot is started; the result's `done` finishes it (`undo` takes the pick back).
 */
export class ChoiceOfNPicker implements Picker {
  private readonly results: readonly PickResult[];
  private readonly slots: readonly LoadSlot[];

  constructor(
    endpoints: readonly Endpoint[],
    metric: LoadMetric,
    private readonly choiceCount: number,
    private readonly random: () => number,
    private readonly distinctPair = false,
  ) {
    if (endpoints.length === 0) throw new RangeError('ChoiceOfNPicker needs at least one endpoint');
    this.slots = endpoints.map((e) => metric.slot(e.id));
    this.results = endpoints.map((e, i) => meteredResult(e, this.slots[i]!));
  }

  pick(_input: PickInput): PickResult {
    const n = this.slots.length;
    let best = -1;
    let bestCost = Infinity;
    if (n === 1) best = 0;
    else if (this.distinctPair) best = this.pickPair(n);
    else {
      for (let c = 0; c < this.choiceCount; c++) {
        const i = Math.floor(this.random() * n);
        const cost = this.slots[i]!.cost();
        if (cost < bestCost) {
          best = i;
          bestCost = cost;
        }
      }
    }
    this.slots[best]!.start();
    return this.results[best]!;
  }

  private pickPair(n: number): number {
    const i = Math.floor(this.random() * n);
    let j = Math.floor(this.random() * (n - 1));
    if (j >= i) j++;
    return this.slots[j]!.cost() < this.slots[i]!.cost() ? j : i;
  }
}
