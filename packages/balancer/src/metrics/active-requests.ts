/** The active-requests load metric (Envoy's `rq_active` per host): cost = requests in flight. */
import type { CallOutcome } from '@xmesh/core';
import { EndpointSlots } from './endpoint-slots.js';
import type { LoadMetric, LoadSlot } from './load-metric.js';

export class ActiveRequestSlot implements LoadSlot {
  active = 0;

  start(): void {
    this.active++;
  }

  finish(_outcome: CallOutcome): void {
    if (this.active > 0) this.active--;
  }

  undo(): void {
    if (this.active > 0) this.active--;
  }

  cost(): number {
    return this.active;
  }
}

export class ActiveRequests implements LoadMetric {
  private readonly slots = new EndpointSlots<ActiveRequestSlot>(() => new ActiveRequestSlot());

  slot(id: string): ActiveRequestSlot {
    return this.slots.slot(id);
  }

  retain(ids: Iterable<string>): void {
    this.slots.retain(ids);
  }
}
