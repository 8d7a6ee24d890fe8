import type { Endpoint, PickInput, PickResult, Picker } from '@xmesh/core';
import { completeResult } from '../picker.js';

/**
 * Round robin over a fixed endpoint list, starting at a given offset (Envoy starts each new
 * list at a random offset so a fleet of clients does not move in step). Results are
 * precomputed, so a pick allocates nothing. A selection made again for a retry host predicate is
 * simply the next in the rotation, as Envoy's.
 */
export class RoundRobinPicker implements Picker {
  private readonly results: readonly PickResult[];
  private next: number;

  constructor(endpoints: readonly Endpoint[], startIndex: number) {
    if (endpoints.length === 0) throw new RangeError('RoundRobinPicker needs at least one endpoint');
    this.results = endpoints.map(completeResult);
    this.next = startIndex % endpoints.length;
  }

  pick(_input: PickInput): PickResult {
    const index = this.next;
    this.next = (index + 1) % this.results.length;
    return this.results[index]!;
  }
}
