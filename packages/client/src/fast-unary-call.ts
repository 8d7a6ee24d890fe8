/**
 * One call of the fast unary API: the serialized request goes out on the picked endpoint's lean
 * channel (`LeanChannel.unary`), with no grpc-js Client, call or Metadata objects, after every
 * pipeline layer ran. A retry sends the same bytes again on a new attempt. The caller gets the
 * serialized reply, or a MeshError whose `grpcStatus` is what the grpc-js drop-in would report
 * (its `cause` is the transport's LeanCallError when the upstream answered).
 */
import { sensitiveHeaders } from 'node:http2';
import { GrpcStatus, MeshError } from '@xmesh/core';
import type { LeanCallError, LeanMetadata, RawMetadata, UnaryFastCall, UnaryReceiver } from '@xmesh/grpc-lean';
import type { RouteDecision, RouteRequest } from '@xmesh/router';
import type { HeaderValueOption } from '@xmesh/xds';
import { PipelineCall } from './pipeline-call.js';
import { grpcAttemptOutcome } from './attempt-outcome.js';
import type { Invoke } from './pipeline.js';
import type { MeshState } from './mesh-state.js';
import { attemptResultOf, outcomeFromStatus, tlsStatusError } from './grpc-status.js';
import type { AttemptResult, BufferedBody } from '@xmesh/filters';
import { neverIndexedNames, traceHeadersFor, type TraceHeaders } from './observability/trace-propagation.js';
import { embeddedRewrite } from './upstream-rewrite.js';
import { callLocalReplyRewrite, rewrittenError } from './local-reply.js';
import { RecordHeaders } from '@xmesh/router';
import { editHeaderRecord, editsAlone, type UpstreamHeaderEdits } from './retry/router-headers.js';
import type { MirrorRequest } from './mirror/shadow-call.js';
import { copyHeaders, grpcFrames } from './mirror/mirror-request.js';

/** Per-call options of the fast API. */
export interface FastCallOptions {
  /** Request metadata: lower-case keys; `-bin` keys carry bytes. Text entries also feed route header matches. */
  readonly metadata?: LeanMetadata;
  /** Absolute deadline (epoch ms or Date); sent as `grpc-timeout`. The route timeout applies either way. */
  readonly deadline?: number | Date;
}

/** Completion of a fast unary call: the serialized reply, or the error. Called exactly once, never synchronously. */
export type FastUnaryCallback = (error: MeshError | null, reply: Buffer | null) => void;

/** @internal A fast call's caller that also wants what the upstream sent around the reply (the grpc-js drop-in's `metadata` and `status`). */
export interface FastUnaryReceiver {
  /**
   * Response headers of the attempt whose end the caller gets (a response that started is not retried);
   * never for trailers-only responses, never after the call ended.
   */
  onFastHeaders(headers: RawMetadata, attempt: FastUnaryAttempt): void;
  /** The end of the call, as FastUnaryCallback; `trailers` are the last attempt's when the upstream answered. */
  onFastEnd(error: MeshError | null, reply: Buffer | null, trailers: RawMetadata | null): void;
}

/** What a fast call needs from the mesh. */
export interface FastCallHost {
  /** The current mesh state, or the error new calls fail with (e.g. XMESH_CLOSED). */
  state(): MeshState | MeshError;
  readonly invoke: Invoke<FastUnaryAttempt>;
}

/** One pass of a fast unary call through the pipeline. */
export class FastUnaryAttempt extends PipelineCall implements UnaryReceiver {
  private inFlight: UnaryFastCall | undefined = undefined;
  /** Why this attempt's transport call was ended locally (timeout, caller cancel): what the caller sees. */
  private abortedWith: MeshError | undefined = undefined;

  constructor(
    readonly owner: FastUnaryCall,
    state: MeshState,
    request: RouteRequest,
    deadline: number,
  ) {
    super(state, request, deadline);
  }

  /** Pipeline terminal: sends the request on the picked endpoint's lean channel. */
  send(): void {
    const owner = this.owner;
    if (owner.ended) {
      this.finish(outcomeFromStatus(GrpcStatus.CANCELLED, this.elapsed()));
      return;
    }
    let metadata = withEdits(withAddedHeaders(owner.upstreamMetadata(this), this.requestHeadersToAdd, this.requestHeadersToRemove), this.upstreamEdits);
    let path = owner.path;
    let authority = owner.authority;
    const rewrite = embeddedRewrite(this);
    if (rewrite !== undefined) {
      // The route's rewrite, last (Envoy's router finalizes the request after the filters).
      const headers: Record<string, string | string[]> = { ...(metadata as Record<string, string | string[]> | undefined) };
      const upstream = rewrite.rewriteRequest(new RecordHeaders(headers), this.request, this.endpoint, authority, path);
      if (upstream instanceof MeshError) {
        this.fail(upstream);
        return;
      }
      ({ authority, path } = upstream);
      metadata = headers as LeanMetadata;
    }
    this.inFlight = this.transports!.lean().unary(path, owner.request, metadata, owner.deadlineEpochMs, this, authority);
  }

  /** The request is one message, sent whole: a retry can race this attempt (`hedge_on_per_try_timeout`). */
  override get hedgeable(): boolean {
    return true;
  }

  /** Response headers of this attempt (from the transport): dropped when another attempt's response was taken first. */
  onUnaryHeaders(headers: RawMetadata): void {
    if (this.retry?.responseStarts(this) === false) return;
    this.owner.receivedHeaders(this, headers);
  }

  /** The transport's completion of this attempt. */
  onUnaryReply(error: LeanCallError | null, reply: Buffer | null, trailers: RawMetadata | null): void {
    this.inFlight = undefined;
    const code = error === null ? GrpcStatus.OK : error.code;
    this.finish(grpcAttemptOutcome(code, error === null ? '' : error.details, this.elapsed()));
    const retry = this.retry;
    const result = attemptResultOf(code, error === null ? '' : error.details);
    // A response the upstream had started (headers sent) is not retried, as in Envoy and the drop-in.
    if (retry?.onAttemptEnd(this, result, error !== null && error.responseStarted)) return;
    if (error === null) {
      this.owner.complete(null, reply, trailers);
      return;
    }
    // The mesh's own ends (a timeout, the caller's cancel) are local replies the listener may rewrite; the upstream's are not.
    const local = retry?.timeoutError ?? this.abortedWith;
    this.owner.complete(local === undefined ? upstreamError(error, result, this) : rewrittenError(local, callLocalReplyRewrite(this, local)), null, trailers);
  }

  fail(error: MeshError): void {
    this.finish({ kind: 'local_error', httpStatus: 0, grpcStatus: error.grpcStatus, latencyMs: this.elapsed() });
    this.retry?.end();
    this.owner.failSoon(rewrittenError(error, callLocalReplyRewrite(this, error)));
  }

  override nextAttempt(): FastUnaryAttempt | undefined {
    return this.owner.retryAttempt(this);
  }

  /** The serialized request, framed, with the call's metadata: copied whole (it is never larger than the caller made it). */
  override mirrorRequest(bodyLimit: number): MirrorRequest {
    const owner = this.owner;
    const body = grpcFrames([owner.request]);
    return {
      method: 'POST',
      path: owner.path,
      authority: owner.authority,
      grpc: true,
      headers: copyHeaders(owner.upstreamMetadata(this) as Record<string, unknown> | undefined, this.requestHeadersToAdd, true),
      body: body.length > bodyLimit ? undefined : body,
    };
  }

  /** The request body as it goes on the wire: the one message, gRPC-framed. */
  bufferBody(limit: number, partial: boolean, done: (body: BufferedBody) => void): void {
    process.nextTick(done, framedBody(grpcFrame(this.owner.request), limit, partial));
  }

  override abortAttempt(error: MeshError): void {
    const inFlight = this.inFlight;
    if (inFlight === undefined) {
      super.abortAttempt(error);
      return;
    }
    this.abortedWith = error;
    inFlight.cancel(error.grpcStatus, `${error.code}: ${error.message}`);
  }

  /** The caller cancelled: no retry; the transport call (if any) is reset, the caller sees `error`. */
  cancelCall(error: MeshError): void {
    this.cancel(error);
    const inFlight = this.inFlight;
    if (inFlight !== undefined) {
      this.abortedWith = error;
      inFlight.cancel(GrpcStatus.CANCELLED, error.message);
      return;
    }
    this.fail(error);
  }
}

/** The pipeline's terminal for the fast API. */
export const fastUnaryTransport: Invoke<FastUnaryAttempt> = (attempt) => {
  attempt.send();
};

/** A fast unary call, across its attempts. `cancel()` ends it with XMESH_CANCELLED (gRPC CANCELLED). */
export class FastUnaryCall {
  /** Request metadata: the caller's, plus the trace headers once the first attempt went upstream. */
  private metadata: LeanMetadata | undefined;
  private traced = false;
  /** The caller's deadline on the wall clock (epoch ms), or Infinity. */
  readonly deadlineEpochMs: number;
  ended = false;
  private attempt: FastUnaryAttempt | undefined = undefined;
  /** True while `start` runs: an end reached before it returns (a transport failing at once) waits for a later tick. */
  private starting = false;

  constructor(
    private readonly host: FastCallHost,
    readonly authority: string,
    readonly path: string,
    readonly request: Uint8Array,
    options: FastCallOptions | undefined,
    private readonly callback: FastUnaryCallback | FastUnaryReceiver,
  ) {
    this.metadata = options?.metadata;
    const deadline = options?.deadline;
    this.deadlineEpochMs = deadline === undefined ? Infinity : deadline instanceof Date ? deadline.getTime() : deadline;
  }

  /** Runs the first attempt of the call described by `routeRequest` (already routed to `decision`, when given). */
  start(routeRequest: RouteRequest, decision?: RouteDecision): this {
    const state = this.host.state();
    if (state instanceof MeshError) {
      this.failSoon(state);
      return this;
    }
    const deadline = Number.isFinite(this.deadlineEpochMs) ? state.clock.now() + (this.deadlineEpochMs - Date.now()) : Infinity;
    const attempt = new FastUnaryAttempt(this, state, routeRequest, deadline);
    if (decision !== undefined) attempt.decision = decision;
    this.attempt = attempt;
    this.starting = true;
    this.host.invoke(attempt);
    this.starting = false;
    return this;
  }

  cancel(details = 'Cancelled on client'): void {
    if (this.ended) return;
    const error = new MeshError('XMESH_CANCELLED', details);
    if (this.attempt === undefined) this.failSoon(error);
    else this.attempt.cancelCall(error);
  }

  /** @internal The metadata every attempt sends: the caller's plus the trace headers the first attempt's route asks for. */
  upstreamMetadata(attempt: FastUnaryAttempt): LeanMetadata | undefined {
    if (!this.traced) {
      this.traced = true;
      const metadata = this.metadata;
      const trace = traceHeadersFor(attempt, metadata, leanText);
      if (trace !== undefined) this.metadata = withTraceHeaders(metadata, trace);
    }
    return this.metadata;
  }

  /** The endpoint (`host:port`) the current attempt was sent to, or undefined before one was picked. */
  get peer(): string | undefined {
    return this.attempt?.endpoint?.id;
  }

  /**
   * @internal Response headers of `attempt`, whose response the retry layer took for the caller (with
   * hedging, possibly an attempt older than the latest): it becomes the call's attempt, and a
   * FastUnaryReceiver gets them.
   */
  receivedHeaders(attempt: FastUnaryAttempt, headers: RawMetadata): void {
    if (this.ended) return;
    this.attempt = attempt;
    const callback = this.callback;
    if (typeof callback !== 'function') callback.onFastHeaders(headers, attempt);
  }

  /** @internal A new attempt for a retry of `previous` (the retry layer's current attempt, which races may make older than the latest); undefined once the call ended. */
  retryAttempt(previous: FastUnaryAttempt): FastUnaryAttempt | undefined {
    if (this.ended) return undefined;
    const next = new FastUnaryAttempt(this, previous.state, previous.request, previous.deadline);
    this.attempt = next;
    return next;
  }

  /** @internal Delivers the end of the call: now from a transport callback, on a later tick when the transport ended it inside `start`. */
  complete(error: MeshError | null, reply: Buffer | null, trailers: RawMetadata | null): void {
    if (this.ended) return;
    this.ended = true;
    if (this.starting) {
      // E.g. the endpoint's connection is in back-off: the transport failed the call inside `start`.
      process.nextTick(deliverEnd, this.callback, error, reply, trailers);
      return;
    }
    deliverEnd(this.callback, error, reply, trailers);
  }

  /** @internal Ends the call with a mesh-originated error on a later tick. */
  failSoon(error: MeshError): void {
    if (this.ended) return;
    this.ended = true;
    process.nextTick(deliverEnd, this.callback, error, null, null);
  }
}

function deliverEnd(callback: FastUnaryCallback | FastUnaryReceiver, error: MeshError | null, reply: Buffer | null, trailers: RawMetadata | null): void {
  if (typeof callback === 'function') callback(error, reply);
  else callback.onFastEnd(error, reply, trailers);
}

/** A message with its 5-byte gRPC frame header (uncompressed). */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** `bytes` as a filter's buffered body within `limit`. */
export function framedBody(bytes: Buffer, limit: number, partial: boolean): BufferedBody {
  if (bytes.length <= limit) return { bytes, complete: true };
  return partial ? { bytes: bytes.subarray(0, limit), complete: false } : 'too_large';
}

/** A transport failure as a MeshError carrying the gRPC status; `result` is how the retry layer read it. */
function upstreamError(error: LeanCallError, result: AttemptResult, attempt: FastUnaryAttempt): MeshError {
  const where = { cluster: attempt.decision?.cluster, endpoint: attempt.endpoint?.id };
  const tls = tlsStatusError(error.code, error.details, where);
  if (tls !== undefined) return new MeshError(tls.code, tls.message, { ...where, cause: error });
  const code = result.failure === 'connect'
    ? 'XMESH_CONNECT_FAILED'
    : error.code === GrpcStatus.DEADLINE_EXCEEDED
      ? 'XMESH_TIMEOUT'
      : result.failure === 'reset' || result.failure === 'refused'
        ? 'XMESH_UPSTREAM_RESET'
        : error.code === GrpcStatus.CANCELLED
          ? 'XMESH_CANCELLED'
          : 'XMESH_UPSTREAM_STATUS';
  return new MeshError(code, error.details, { grpcStatus: error.code as GrpcStatus, cluster: attempt.decision?.cluster, endpoint: attempt.endpoint?.id, cause: error });
}

/**
 * `metadata` plus `trace`. Trace headers are unique per call: sent never-indexed
 * (`http2.sensitiveHeaders`, which the lean transport honours) so they do not evict the indexed
 * headers every request shares from HPACK.
 */
function withTraceHeaders(metadata: LeanMetadata | undefined, trace: TraceHeaders): LeanMetadata {
  const names = neverIndexedNames(trace);
  if (metadata === undefined) {
    // The common call (no caller metadata): `trace` is this call's own object (traceHeadersFor builds it per call), so it
    // becomes the metadata itself instead of being copied.
    (trace as { [sensitiveHeaders]?: readonly string[] })[sensitiveHeaders] = names;
    return trace as LeanMetadata;
  }
  const callerNeverIndexed = (metadata as { readonly [sensitiveHeaders]?: readonly string[] } | undefined)?.[sensitiveHeaders];
  return { ...metadata, ...trace, [sensitiveHeaders]: callerNeverIndexed === undefined ? names : [...callerNeverIndexed, ...names] } as LeanMetadata;
}

function leanText(metadata: LeanMetadata | undefined, name: string): string | undefined {
  return textOf(metadata?.[name]);
}

function textOf(value: LeanMetadata[string] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** `metadata`, or a copy with the filters' request headers (`append` adds a value, else replaces), then their removals. */
function withAddedHeaders(metadata: LeanMetadata | undefined, added: readonly HeaderValueOption[] | undefined, removed: readonly string[] | undefined): LeanMetadata | undefined {
  if ((added === undefined || added.length === 0) && removed === undefined) return metadata;
  const out: Record<string, LeanMetadata[string]> = { ...metadata };
  for (const { key, value, append } of added ?? []) {
    const name = key.toLowerCase();
    const previous = out[name];
    if (!append || previous === undefined) out[name] = value;
    else out[name] = Array.isArray(previous) ? [...(previous as readonly (string | Uint8Array)[]), value] : [previous as string | Uint8Array, value];
  }
  if (removed !== undefined) for (const name of removed) delete out[name];
  return out;
}

/** `metadata` with the router's x-envoy-* edits of the attempt (a shared frozen record when the call has no metadata). */
function withEdits(metadata: LeanMetadata | undefined, edits: UpstreamHeaderEdits | undefined): LeanMetadata | undefined {
  if (edits === undefined) return metadata;
  if (metadata === undefined) return editsAlone(edits) as LeanMetadata;
  const out: Record<string, LeanMetadata[string]> = { ...metadata };
  editHeaderRecord(out, edits);
  return out as LeanMetadata;
}
