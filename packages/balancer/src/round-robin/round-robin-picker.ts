import type { Endpoint, PickInput, PickResult, Picker } from '@xmesh/core';
import { completeResult } from '../picker.js';

/**
 * Round robin over a fixed endpoint list, starting at a given offset (Envoy starts each new
 * list at a random offset so a fleet of clients does not move in step). Results are
 * precomputed, so a pick allocates nothing. On a retry (`input.tried`) endpoints already tried
 * are skipped while another is left.
 */
export class RoundRobinPicker implements Picker {
  private readonly results: readonly PickResult[];
  private readonly ids: readonly string[];
  private next: number;

  constructor(endpoints: readonly Endpoint[], startIndex: number) {
    if (endpoints.length === 0) throw new RangeError('RoundRobinPicker needs at least one endpoint');
    this.results = endpoints.map(completeResult);
    this.ids = endpoints.map((e) => e.id);
    this.next = startIndex % endpoints.length;
  }

  pick(input: PickInput): PickResult {
    const count = this.results.length;
    let index = this.next;
    const tried = input.tried;
    if (tried !== undefined && tried.size > 0) {
      for (let skipped = 0; skipped < count && tried.has(this.ids[index]!); skipped++) index = (index + 1) % count;
    }
    this.next = (index + 1) % count;
    return this.results[index]!;
  }
}
