/**
 * Calls for a listener that is on its way. A call naming its listener (an `xds:///` target) whose
 * listener is not in the mesh's state yet is held — as a gRPC channel holds calls while its xDS resolver
 * resolves — until the state has the listener (the call then reads that state), the listener turns out
 * not to exist (the call fails UNAVAILABLE saying why), the caller gives up, or the wait limit passes.
 * Everything else goes straight on: the check is one field read and one property lookup.
 */
import { GrpcStatus, MeshError, type Clock } from '@xmesh/core';
import type { Invoke } from './pipeline.js';
import type { PipelineCall } from './pipeline-call.js';
import type { MeshState } from './mesh-state.js';
import type { DeadlineEntry } from './retry/deadline-scheduler.js';

/** What a held call may become, per listener. */
export type ListenerAvailability =
  /** Coming (subscribed, not received or not whole yet): wait. */
  | 'pending'
  /** Not coming: calls fail with this error. */
  | MeshError;

export interface ListenerWaitHost {
  /** The current state, or the error new calls fail with (XMESH_CLOSED). */
  state(): MeshState | MeshError;
  /** Whether a listener the current state lacks is coming; may start watching it. */
  availability(listener: string): ListenerAvailability;
  readonly clock: Clock;
}

/** A call waits at most this long for its listener: twice the does-not-exist timeout of xDS resources (a listener, then its routes). */
export const MAX_LISTENER_WAIT_MS = 30_000;
/** Calls held at once, over every listener; beyond, new ones fail at once. */
export const MAX_HELD_CALLS = 10_000;

class HeldCall implements DeadlineEntry {
  deadlineDue = 0;
  deadlineSlot = -1;

  constructor(
    readonly call: PipelineCall,
    readonly listener: string,
    readonly next: Invoke<PipelineCall>,
    /** When true the due time is the caller's deadline; otherwise the wait limit. */
    readonly callerDeadline: boolean,
    private readonly expire: (held: HeldCall) => void,
  ) {}

  onDeadline(): void {
    this.expire(this);
  }
}

export class ListenerWaits {
  private readonly held = new Map<string, Set<HeldCall>>();
  private count = 0;
  /** Deadlines of held calls; the mesh's scheduler when the state has one, else a timer per call. */
  private readonly timers = new Map<HeldCall, ReturnType<Clock['setTimeout']>>();

  constructor(private readonly host: ListenerWaitHost) {}

  /** Wraps a protocol's invoke: calls whose listener is missing from their state wait here first. */
  wrap<C extends PipelineCall>(next: Invoke<C>): Invoke<C> {
    return (call) => {
      const listener = call.request.listener;
      if (listener === undefined || call.state.snapshot.listeners[listener] !== undefined || allToSidecar(call)) {
        next(call);
        return;
      }
      this.hold(call, listener, next as Invoke<PipelineCall>);
    };
  }

  /** Calls held now. */
  get size(): number {
    return this.count;
  }

  /**
   * The state or a listener's availability changed: resumes the calls whose listener the state now has,
   * fails those whose listener is not coming.
   */
  settle(): void {
    if (this.count === 0) return;
    const state = this.host.state();
    for (const [listener, calls] of [...this.held]) {
      if (state instanceof MeshError) {
        this.release(listener, (held) => held.call.fail(state));
        continue;
      }
      if (state.snapshot.listeners[listener] !== undefined) {
        this.release(listener, (held) => {
          held.call.restate(state);
          held.next(held.call);
        });
        continue;
      }
      const availability = this.host.availability(listener);
      if (availability !== 'pending') this.release(listener, (held) => held.call.fail(availability));
      else if (calls.size === 0) this.held.delete(listener);
    }
  }

  /** Fails every held call with `error` (the mesh closes). */
  closeAll(error: MeshError): void {
    for (const listener of [...this.held.keys()]) this.release(listener, (held) => held.call.fail(error));
  }

  private hold(call: PipelineCall, listener: string, next: Invoke<PipelineCall>): void {
    const availability = this.host.availability(listener);
    if (availability !== 'pending') {
      call.fail(availability);
      return;
    }
    if (this.count >= MAX_HELD_CALLS) {
      call.fail(new MeshError('XMESH_NO_ROUTE', `listener "${listener}" is not received yet, and ${MAX_HELD_CALLS} calls already wait for listeners`, { grpcStatus: GrpcStatus.UNAVAILABLE, httpStatus: 503 }));
      return;
    }
    const now = this.host.clock.now();
    const limit = now + MAX_LISTENER_WAIT_MS;
    const held = new HeldCall(call, listener, next, call.deadline < limit, (h) => this.expire(h));
    let calls = this.held.get(listener);
    if (calls === undefined) this.held.set(listener, (calls = new Set()));
    calls.add(held);
    this.count++;
    call.onCancel(() => this.drop(held));
    const due = Math.min(call.deadline, limit);
    const deadlines = call.state.services?.deadlines;
    if (deadlines !== undefined) deadlines.schedule(held, due);
    else this.timers.set(held, this.host.clock.setTimeout(() => this.expire(held), Math.max(0, due - now)));
  }

  private expire(held: HeldCall): void {
    if (!this.drop(held)) return;
    held.call.fail(held.callerDeadline
      ? new MeshError('XMESH_TIMEOUT', `the caller's deadline passed while waiting for listener "${held.listener}"`)
      : new MeshError('XMESH_NO_ROUTE', `listener "${held.listener}" did not arrive within ${MAX_LISTENER_WAIT_MS} ms`, { grpcStatus: GrpcStatus.UNAVAILABLE, httpStatus: 503 }));
  }

  /** Forgets a held call (its deadline too); false when it was not held any more. */
  private drop(held: HeldCall): boolean {
    const calls = this.held.get(held.listener);
    if (calls === undefined || !calls.delete(held)) return false;
    if (calls.size === 0) this.held.delete(held.listener);
    this.count--;
    held.call.onCancel(undefined);
    held.call.state.services?.deadlines.cancel(held);
    const timer = this.timers.get(held);
    if (timer !== undefined) {
      this.host.clock.clearTimeout(timer);
      this.timers.delete(held);
    }
    return true;
  }

  /** Takes every call held for `listener` and runs `then` on each (not cancelled) one. */
  private release(listener: string, then: (held: HeldCall) => void): void {
    const calls = this.held.get(listener);
    if (calls === undefined) return;
    for (const held of [...calls]) {
      this.drop(held);
      if (held.call.cancelled === undefined) then(held);
    }
  }
}

/** Every call goes to the sidecar, which routes it: the mesh needs no listener for it (mode.ts). */
function allToSidecar(call: PipelineCall): boolean {
  const mode = call.state.mode;
  return mode !== undefined && mode.mode === 'sidecar' && mode.clusters.size === 0;
}
