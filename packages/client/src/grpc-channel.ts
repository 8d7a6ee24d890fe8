/**
 * A grpc-js `ChannelInterface` for one logical target. Generated clients use it through
 * `channelOverride`; every call it creates goes through the mesh pipeline.
 */
import type * as grpc from '@grpc/grpc-js';
import { MeshError } from '@xmesh/core';
import { grpcJs } from './lazy-deps.js';
import { MeshGrpcCall, type GrpcAttempt } from './grpc-call.js';
import type { Invoke } from './pipeline.js';
import type { MeshState } from './mesh-state.js';
import { authorityOf, type Target } from './targets.js';

type ChannelRef = ReturnType<grpc.ChannelInterface['getChannelzRef']>;

export interface MeshChannelHost {
  /** The current state, or the error new calls fail with (e.g. XMESH_CLOSED). */
  state(): MeshState | MeshError;
  readonly invoke: Invoke<GrpcAttempt>;
}

export { authorityOf };

export class MeshChannel implements grpc.ChannelInterface {
  readonly authority: string;
  /** The Listener an `xds:///` target names (its calls use that listener only); undefined for authority routing. */
  readonly listener: string | undefined;
  readonly invoke: Invoke<GrpcAttempt>;
  private closed = false;
  private nextCallNumber = 0;

  /**
   * @param unaryResponsePaths methods (`/pkg.Service/Method`) that answer with one message, from a
   *   generated client's service definition: their calls fail at once when the upstream sends more.
   * @param resolved what `target` names (see targets.ts); default: its authority, routed by the router's rules
   */
  constructor(
    private readonly mesh: MeshChannelHost,
    private readonly target: string,
    private readonly unaryResponsePaths: ReadonlySet<string> | undefined = undefined,
    resolved: Target = { authority: authorityOf(target), listener: undefined },
  ) {
    this.authority = resolved.authority;
    this.listener = resolved.listener;
    this.invoke = mesh.invoke;
  }

  state(): MeshState | MeshError {
    if (this.closed) return new MeshError('XMESH_CLOSED', `channel to ${this.target} is closed`);
    return this.mesh.state();
  }

  /** Closes this channel only; the mesh and its connections stay up. */
  close(): void {
    this.closed = true;
  }

  getTarget(): string {
    return this.target;
  }

  getConnectivityState(_tryToConnect: boolean): grpc.connectivityState {
    if (this.closed || this.mesh.state() instanceof MeshError) return grpcJs().connectivityState.SHUTDOWN;
    return grpcJs().connectivityState.READY;
  }

  /** The mesh channel is READY until closed; a watch from READY ends at the deadline (or at once from another state). */
  watchConnectivityState(currentState: grpc.connectivityState, deadline: Date | number, callback: (error?: Error) => void): void {
    if (currentState !== this.getConnectivityState(false)) {
      process.nextTick(callback);
      return;
    }
    const ms = (deadline instanceof Date ? deadline.getTime() : deadline) - Date.now();
    const timer = setTimeout(() => callback(new Error('Deadline passed without connectivity state change')), Math.max(0, ms));
    timer.unref();
  }

  getChannelzRef(): ChannelRef {
    return { kind: 'channel', id: 0, name: this.target } as ChannelRef;
  }

  createCall(
    method: string,
    deadline: grpc.Deadline,
    host: string | null | undefined,
    parentCall: Parameters<grpc.ChannelInterface['createCall']>[3],
    propagateFlags: number | null | undefined,
  ): grpc.experimental.CallStream {
    const unaryResponse = this.unaryResponsePaths !== undefined && this.unaryResponsePaths.has(method);
    return new MeshGrpcCall(this, method, deadline, host, parentCall, propagateFlags, this.nextCallNumber++, unaryResponse);
  }
}

/**
 * The paths of the methods that answer with one message (unary and client-streaming), from the
 * `service` definition grpc-js generated constructors carry; undefined when there is none.
 */
export function unaryResponsePathsOf(ClientCtor: unknown): ReadonlySet<string> | undefined {
  const service = (ClientCtor as { service?: unknown } | null)?.service;
  if (typeof service !== 'object' || service === null) return undefined;
  const paths = new Set<string>();
  for (const method of Object.values(service as Record<string, unknown>)) {
    const definition = method as Partial<grpc.MethodDefinition<unknown, unknown>> | null;
    if (typeof definition?.path === 'string' && definition.responseStream === false) paths.add(definition.path);
  }
  return paths;
}
