/**
 * Calls a filter makes to a service of its own (ext_authz's authorization server), through one of the
 * mesh's clusters: balanced, admitted by its circuit breakers, bounded by `timeoutMs`, never routed and
 * never filtered (Envoy's async client goes straight to the cluster). Implemented by the mesh.
 */
import type { MeshError } from '@xmesh/core';

export interface SideCallHandle {
  /** Stops the call; `done` is not called after it. */
  cancel(): void;
}

export interface GrpcSideCall {
  readonly cluster: string;
  /** `:authority` of the call. */
  readonly authority: string;
  /** `/package.Service/Method`. */
  readonly path: string;
  /** The serialized request message. */
  readonly message: Uint8Array;
  readonly metadata: readonly (readonly [string, string])[];
  readonly timeoutMs: number;
}

export interface HttpSideCall {
  readonly cluster: string;
  readonly method: string;
  readonly path: string;
  /** Lower-case names; `host` is the authority. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array | undefined;
  readonly timeoutMs: number;
  /** A longer response body ends the call with an error. */
  readonly maxResponseBytes: number;
}

export interface HttpSideResponse {
  readonly status: number;
  /** Lower-case names, in order. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

export interface SideCalls {
  /** A unary gRPC call: `done(undefined, reply)`, or `done(error)` with the call's gRPC status in `error.grpcStatus`. */
  grpcUnary(call: GrpcSideCall, done: (error: MeshError | undefined, reply: Buffer | undefined) => void): SideCallHandle;
  /** An HTTP request: `done(undefined, response)`, or `done(error)` when no response came (connect failure, timeout, reset). */
  http(call: HttpSideCall, done: (error: MeshError | undefined, response: HttpSideResponse | undefined) => void): SideCallHandle;
}
