import type { Endpoint } from './endpoint.js';
import type { MeshError } from './errors.js';

/** Request headers as the router sees them: lower-case names; pseudo-headers `:authority`, `:path`, `:method`. */
export type HeaderMap = ReadonlyMap<string, string>;

/** What the pipeline knows about one call. Created once per call; `attempt` grows with retries. */
export interface CallContext {
  /** Logical authority (`host[:port]`) the app addressed. */
  readonly authority: string;
  /** `:path`, e.g. `/helloworld.Greeter/SayHello`. */
  readonly path: string;
  readonly method: string;
  readonly headers: HeaderMap;
  /** Fires when the caller cancels or the deadline passes. */
  readonly signal: AbortSignal;
  /** Absolute deadline on the mesh clock (ms), or Infinity. */
  readonly deadline: number;
  /** 1 for the first try, 2 for the first retry, ... */
  attempt: number;
  /** Peer address of the caller, for `source_ip` hashing and remote-address descriptors. */
  readonly remoteAddress?: string;
}

/** Everything a picker may read to choose, kept small so it need not be allocated per call. */
export interface PickInput {
  /** Hash for consistent-hash balancers, computed from the route's `hash_policy`; undefined when none applies. */
  readonly hash: bigint | undefined;
  /**
   * 0 for a call's first host selection; n > 0 when the selection is made again for the n-th time
   * because a retry host predicate rejected the host chosen before (Envoy's
   * `chooseHost(hash, attempt)`): hash balancers then move off the hashed host, others pick again.
   */
  readonly selectionAttempt: number;
}

/**
 * The result of `Picker.pick()`: a strict discriminated union.
 * - `complete`: use this endpoint; call `done` exactly once when the call ends, or `undo` (when
 *   set) if the call will not go to it after all (a retry host predicate rejected it).
 * - `queue`: no decision yet (e.g. endpoints still resolving); wait for the next picker.
 * - `fail`: fail this call now with `error`.
 * - `drop`: the call was dropped by policy (drop_overloads); fail without retry.
 */
export type PickResult =
  | {
      readonly type: 'complete';
      readonly endpoint: Endpoint;
      readonly done: ((outcome: CallOutcome) => void) | undefined;
      readonly undo: (() => void) | undefined;
    }
  | { readonly type: 'queue' }
  | { readonly type: 'fail'; readonly error: MeshError }
  | { readonly type: 'drop'; readonly error: MeshError };

/** How an attempt ended, as fed back to balancers, outlier detection and breakers. */
export interface CallOutcome {
  /** Outcome class: success, an upstream error status, or a local-origin failure (connect, reset, timeout). */
  readonly kind: 'success' | 'upstream_error' | 'local_error';
  /** HTTP status seen (gRPC maps to 200 + grpc-status); 0 if none. */
  readonly httpStatus: number;
  /** gRPC status when the call was gRPC, else undefined. */
  readonly grpcStatus: number | undefined;
  /** Attempt latency in ms. */
  readonly latencyMs: number;
}

/** Immutable and synchronous: a balancer publishes a new Picker when its state changes. */
export interface Picker {
  pick(input: PickInput): PickResult;
}
