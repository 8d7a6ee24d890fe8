import type { CallOutcome } from '@xmesh/core';

/** One endpoint's load as an algorithm reads it. Lower is better. */
export interface LoadSlot {
  /** Requests picked and not yet finished. */
  readonly active: number;
  /** Called when the endpoint is picked. */
  start(): void;
  /** Called exactly once per `start`, with the attempt's outcome, unless `undo` is. */
  finish(outcome: CallOutcome): void;
  /** Takes back a `start` whose request was not sent after all (nothing to observe). */
  undo(): void;
  /** The cost the algorithm compares (active requests, or peak-EWMA latency × load). */
  cost(): number;
}

/** A load metric: owns the per-endpoint slots, kept by endpoint id across picker rebuilds. */
export interface LoadMetric {
  slot(id: string): LoadSlot;
  retain(ids: Iterable<string>): void;
}
