import type { Endpoint, Picker } from '@xmesh/core';

/**
 * Turns a cluster's endpoints into immutable Pickers. Each `setEndpoints` / `setExcluded`
 * publishes a new picker (readable as `picker`) and then tells every `onPicker` listener, so
 * queued picks can retry. State kept per endpoint (load, EWMA, ...) is keyed by `Endpoint.id` and
 * survives updates that keep the id.
 */
export interface Balancer {
  /** The current picker. Read it once per pick. */
  readonly picker: Picker;
  setEndpoints(endpoints: readonly Endpoint[]): void;
  /**
   * Endpoint ids to leave out of picking (outlier ejections). They still count in the totals
   * behind priority health and panic, as in Envoy. Replaces the previous set.
   */
  setExcluded(ids: ReadonlySet<string>): void;
  /** Called after each new picker is published. */
  onPicker(listener: (picker: Picker) => void): void;
  /** Stops publishing; the picker then fails every pick with XMESH_CLOSED. Idempotent. */
  close(): void;
}
