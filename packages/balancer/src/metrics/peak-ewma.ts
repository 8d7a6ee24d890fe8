/**
 * Peak-EWMA load metric (Finagle / linkerd): each endpoint keeps an exponentially weighted moving
 * average of its latency that jumps up to any slower observation at once (the peak) and decays
 * toward faster ones with time constant `decayMs`. cost = ewma latency × (active requests + 1).
 * Endpoints without an observation yet cost `active` only, so they get tried.
 */
import type { CallOutcome, Clock } from '@xmesh/core';
import { EndpointSlots } from './endpoint-slots.js';
import type { LoadMetric, LoadSlot } from './load-metric.js';

export class PeakEwmaSlot implements LoadSlot {
  active = 0;
  /** Latency estimate, ms; 0 until the first observation. */
  latencyMs = 0;
  private stamp: number;

  constructor(
    private readonly clock: Clock,
    private readonly decayMs: number,
  ) {
    this.stamp = clock.now();
  }

  start(): void {
    this.active++;
  }

  finish(outcome: CallOutcome): void {
    if (this.active > 0) this.active--;
    this.observe(outcome.latencyMs);
  }

  undo(): void {
    if (this.active > 0) this.active--;
  }

  /** Folds one latency sample in. */
  observe(sampleMs: number): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.stamp);
    this.stamp = now;
    if (sampleMs > this.latencyMs) {
      this.latencyMs = sampleMs;
    } else {
      const w = Math.exp(-elapsed / this.decayMs);
      this.latencyMs = this.latencyMs * w + sampleMs * (1 - w);
    }
  }

  cost(): number {
    if (this.latencyMs === 0) return this.active;
    return this.decayed() * (this.active + 1);
  }

  /** The estimate decayed to now (without moving the stamp), so an idle slow endpoint is retried eventually. */
  private decayed(): number {
    const elapsed = this.clock.now() - this.stamp;
    if (elapsed <= 0) return this.latencyMs;
    return this.latencyMs * Math.exp(-elapsed / this.decayMs);
  }
}

export class PeakEwma implements LoadMetric {
  private readonly slots: EndpointSlots<PeakEwmaSlot>;

  constructor(clock: Clock, decayMs: number) {
    this.slots = new EndpointSlots(() => new PeakEwmaSlot(clock, decayMs));
  }

  slot(id: string): PeakEwmaSlot {
    return this.slots.slot(id);
  }

  retain(ids: Iterable<string>): void {
    this.slots.retain(ids);
  }
}
