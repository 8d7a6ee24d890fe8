/** Helpers shared by every balancing algorithm. */
import { ErrorCode, MeshError, isServing, type CallOutcome, type Endpoint, type PickResult, type Picker } from '@xmesh/core';

/**
 * The endpoints that may take traffic: HEALTHY or UNKNOWN ones of the lowest-numbered (highest)
 * priority level that has any. Empty when no endpoint is serving. Keeps the input order.
 */
export function servingEndpoints(endpoints: readonly Endpoint[]): readonly Endpoint[] {
  let best = Infinity;
  for (const e of endpoints) if (isServing(e.healthStatus) && e.priority < best) best = e.priority;
  if (best === Infinity) return [];
  return endpoints.filter((e) => e.priority === best && isServing(e.healthStatus));
}

/** A frozen `complete` result without `done` or `undo` callbacks, reusable for every pick of `endpoint`. */
export function completeResult(endpoint: Endpoint): PickResult {
  return Object.freeze({ type: 'complete', endpoint, done: undefined, undo: undefined });
}

/** A picker that fails every pick with the same error. */
export function failingPicker(error: MeshError): Picker {
  const result: PickResult = Object.freeze({ type: 'fail', error });
  return { pick: () => result };
}

export function noHealthyUpstream(cluster: string, total: number): MeshError {
  const message =
    total === 0
      ? `cluster "${cluster}" has no endpoints`
      : `cluster "${cluster}" has no healthy endpoint (${total} known, none HEALTHY or UNKNOWN)`;
  return new MeshError(ErrorCode.NO_HEALTHY_UPSTREAM, message, { cluster });
}

export function closedBalancer(cluster: string): MeshError {
  return new MeshError(ErrorCode.CLOSED, `the balancer of cluster "${cluster}" is closed`, { cluster });
}

/**
 * A frozen `complete` result whose `done` finishes one request on `slot` (and whose `undo` takes
 * the pick back); built once per endpoint per picker, so a pick allocates nothing. The picker
 * calls `slot.start()` when it returns it.
 */
export function meteredResult(endpoint: Endpoint, slot: { finish(outcome: CallOutcome): void; undo(): void }): PickResult {
  return Object.freeze({ type: 'complete', endpoint, done: (outcome: CallOutcome) => slot.finish(outcome), undo: () => slot.undo() });
}

/** True when every endpoint has the same `weight`. */
export function equalWeights(endpoints: readonly Endpoint[]): boolean {
  for (const e of endpoints) if (e.weight !== endpoints[0]!.weight) return false;
  return true;
}
