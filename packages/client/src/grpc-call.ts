/**
 * The grpc-js `Call` a mesh channel hands to generated clients. At `start` it routes and picks
 * through the pipeline, then delegates every operation to a call on the chosen endpoint's channel.
 * Operations issued before the delegate exists are buffered and replayed in order. Until the call
 * commits (response metadata or a message arrives) what it sent is also kept, bounded, so the
 * retry layer can replay it on a new attempt. With `hedge_on_per_try_timeout`, a unary-response
 * call whose request is whole keeps its timed-out attempt running beside the retry: each attempt has
 * its own delegate, the first whose response metadata the retry layer takes becomes the call's, and
 * only its metadata, message and status reach the caller; the others are cancelled.
 */
import { sensitiveHeaders, type IncomingHttpHeaders } from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import { GrpcStatus, MeshError, type HeaderMap } from '@xmesh/core';
import { grpcJs } from './lazy-deps.js';
import { PipelineCall } from './pipeline-call.js';
import { grpcAttemptOutcome } from './attempt-outcome.js';
import type { Invoke } from './pipeline.js';
import type { MeshState } from './mesh-state.js';
import { TOO_MANY_RESPONSES, toGrpcMetadata, type RawMetadataListener } from '@xmesh/grpc-lean';
import { attemptResultOf, outcomeFromStatus, statusFromMeshError, tlsStatusError, wellFormedStatus } from './grpc-status.js';
import { GrpcReplayBuffer, sendOp, type ReplayOp } from './retry/grpc-replay.js';
import { metadataText, neverIndexedNames, traceHeadersFor, type TraceHeaders } from './observability/trace-propagation.js';
import { embeddedRewrite, MetadataHeaders } from './upstream-rewrite.js';
import { callLocalReplyRewrite } from './local-reply.js';
import type { MirrorRequest } from './mirror/shadow-call.js';
import { copyHeaders, grpcFrames } from './mirror/mirror-request.js';
import { framedBody, grpcFrame } from './fast-unary-call.js';
import type { BufferedBody } from '@xmesh/filters';

type CallStream = grpc.experimental.CallStream;
type MessageContext = Parameters<CallStream['sendMessageWithContext']>[0];
type AuthContext = ReturnType<CallStream['getAuthContext']>;

/** What a MeshGrpcCall needs from its channel. */
export interface GrpcCallHost {
  /** The current mesh state, or a MeshError when the mesh or channel is closed. */
  state(): MeshState | MeshError;
  readonly authority: string;
  /** The Listener the calls must use (an `xds:///` target); undefined for authority routing. */
  readonly listener?: string | undefined;
  readonly invoke: Invoke<GrpcAttempt>;
}

/** The one read operation every read issues (it carries nothing, so a streamed call allocates none per message). */
const READ_OP: ReplayOp = Object.freeze({ op: 'read' });
/** The one half-close operation. */
const HALF_CLOSE_OP: ReplayOp = Object.freeze({ op: 'halfClose' });

/** How a unary-response call ends when the upstream sent more than one message: grpc-js's `Client` status and words. */
const TOO_MANY_STATUS = Object.freeze({ code: GrpcStatus.UNIMPLEMENTED, details: TOO_MANY_RESPONSES });

/** One pass of a gRPC call through the pipeline. */
export class GrpcAttempt extends PipelineCall {
  /** @internal This attempt's call on the endpoint's channel, once the transport took it. */
  delegate: CallStream | undefined = undefined;
  /** @internal The delegate reported its status. */
  upstreamEnded = false;

  constructor(
    readonly owner: MeshGrpcCall,
    state: MeshState,
    request: { authority: string; path: string; method: string; headers: HeaderMap; grpc: boolean; listener?: string | undefined },
    deadline: number,
  ) {
    super(state, request, deadline);
  }

  fail(error: MeshError): void {
    this.finish({ kind: 'local_error', httpStatus: 0, grpcStatus: error.grpcStatus, latencyMs: this.elapsed() });
    this.retry?.end();
    this.owner.failWith(error);
  }

  override nextAttempt(): GrpcAttempt | undefined {
    return this.owner.retryAttempt(this);
  }

  override mirrorRequest(bodyLimit: number): MirrorRequest {
    return this.owner.mirrorRequest(this, bodyLimit);
  }

  override abortAttempt(error: MeshError): void {
    if (!this.owner.abortDelegate(this, error)) super.abortAttempt(error);
  }

  /** A retry may race this attempt: see `MeshGrpcCall.canRace`. */
  override get hedgeable(): boolean {
    return this.owner.canRace(this);
  }

  /** The request messages, gRPC-framed, once the caller half-closed (or sent more than `limit`). */
  bufferBody(limit: number, partial: boolean, done: (body: BufferedBody) => void): void {
    this.owner.waitForBody(limit, partial, done);
  }
}

/**
 * The pipeline's terminal for gRPC: a call on the picked endpoint's channel, of the transport the
 * cluster names (`xmesh.transport`) or the mesh-wide default (sidecar mode: the default).
 */
export const grpcTransport: Invoke<GrpcAttempt> = (attempt) => {
  attempt.owner.attach(attempt, attempt.transports!.grpcFor(attempt.cluster?.config.xmesh.transport));
};

export class MeshGrpcCall implements CallStream {
  private delegate: CallStream | undefined = undefined;
  private attempt: GrpcAttempt | undefined = undefined;
  private listener: grpc.InterceptingListener | undefined = undefined;
  private metadata: grpc.Metadata | undefined = undefined;
  /** The trace headers every attempt of this call sends (computed by the first attempt to go upstream). */
  private trace: TraceHeaders | undefined | null = null;
  private credentials: grpc.CallCredentials | undefined = undefined;
  private pending: ReplayOp[] = [];
  /** Set when the call ended (or must end) without a delegate. */
  private ended = false;
  private earlyStatus: grpc.StatusObject | undefined = undefined;
  /** What was sent while uncommitted, for retries. */
  private readonly replay = new GrpcReplayBuffer();
  /** A response reached the caller, or the caller cancelled: no retry from here on. */
  private committed = false;
  private firstAttempt: GrpcAttempt | undefined = undefined;
  /** Hedging: attempts a retry replaced while their delegate still runs (until their status). */
  private racing: Set<GrpcAttempt> | undefined = undefined;
  /** The caller got its status: any later one (a raced attempt's) is dropped. */
  private statusDelivered = false;
  /** Response messages the current attempt delivered (counted only for unary-response methods). */
  private responses = 0;
  /** Set when a unary-response method got a second message: the call fails with UNIMPLEMENTED. */
  private tooManyResponses = false;
  /** Mirror copies collecting the request messages until the caller half-closes (see `mirrorRequest`). */
  private copies: MessageCopy[] | undefined = undefined;
  /** A filter waiting for the request messages (see waitForBody). */
  private bodyWaiter: { readonly limit: number; readonly partial: boolean; readonly done: (body: BufferedBody) => void } | undefined = undefined;

  /**
   * @param unaryResponse the method answers with one message (known from the generated client's
   *   service definition): after that message the call reads once more, so a second one, which a
   *   unary client never asks for, fails the call at once, as grpc-js's `Client` fails it, instead
   *   of holding it until its deadline.
   */
  constructor(
    private readonly host: GrpcCallHost,
    private readonly method: string,
    private deadline: grpc.Deadline,
    private readonly hostOverride: string | null | undefined,
    private readonly parent: Parameters<grpc.ChannelInterface['createCall']>[3],
    private readonly propagateFlags: number | null | undefined,
    private readonly callNumber: number,
    private readonly unaryResponse = false,
  ) {
    if (parent !== null && parent !== undefined) this.inheritFromParent(parent, propagateFlags ?? grpcJs().propagate.DEFAULTS);
  }

  /**
   * `parent` (a server call this call is made for) propagates as grpc-js's channel propagates it: its
   * deadline, when earlier, becomes this call's (the mesh, the retry layer and every transport then
   * see it), and its cancellation cancels this call.
   */
  private inheritFromParent(parent: NonNullable<Parameters<grpc.ChannelInterface['createCall']>[3]>, flags: number): void {
    if ((flags & grpcJs().propagate.DEADLINE) !== 0) {
      const own = deadlineMs(this.deadline);
      const inherited = deadlineMs(parent.getDeadline());
      if (inherited < own) this.deadline = inherited;
    }
    if ((flags & grpcJs().propagate.CANCELLATION) !== 0) {
      parent.on('cancelled', () => this.cancelWithStatus(GrpcStatus.CANCELLED, 'Cancelled by parent call'));
    }
  }

  start(metadata: grpc.Metadata, listener: grpc.InterceptingListener): void {
    this.metadata = metadata;
    this.listener = listener;
    if (this.earlyStatus) {
      this.deliverStatus(this.earlyStatus);
      return;
    }
    const state = this.host.state();
    if (state instanceof MeshError) {
      this.failWith(state);
      return;
    }
    const authority = this.hostOverride ?? this.host.authority;
    const request = {
      authority,
      path: this.method,
      method: 'POST',
      headers: headersOf(metadata, authority, this.method),
      grpc: true,
      listener: this.host.listener,
    };
    const attempt = new GrpcAttempt(this, state, request, meshDeadline(this.deadline, state));
    this.attempt = attempt;
    this.firstAttempt = attempt;
    this.host.invoke(attempt);
  }

  /** Pipeline terminal: opens the delegate call on `channel` and replays buffered operations. */
  attach(attempt: GrpcAttempt, channel: grpc.ChannelInterface): void {
    if (this.ended) {
      attempt.finish(outcomeFromStatus(GrpcStatus.CANCELLED, attempt.elapsed()));
      return;
    }
    const listener = this.listener!;
    const metadata = this.metadata!;
    if (this.trace === null) this.trace = traceHeadersFor(attempt, metadata, metadataText);
    let upstream = upstreamMetadata(metadata, this.trace, attempt.requestHeadersToAdd, attempt.requestHeadersToRemove);
    const edits = attempt.upstreamEdits;
    if (edits !== undefined) {
      // The router's x-envoy-* headers: consumed ones go, the attempt's own are set (before the route's mutations, as in Envoy).
      if (upstream === metadata) upstream = metadata.clone();
      for (const name of edits.remove) upstream.remove(name);
      for (const [name, value] of edits.set) upstream.set(name, value);
    }
    let method = this.method;
    let authority = this.hostOverride ?? this.host.authority;
    const rewrite = embeddedRewrite(attempt);
    if (rewrite !== undefined) {
      // The route's rewrite, last (Envoy's router finalizes the request after the filters).
      if (upstream === metadata) upstream = metadata.clone();
      const rewritten = rewrite.rewriteRequest(new MetadataHeaders(upstream), attempt.request, attempt.endpoint, authority, method);
      if (rewritten instanceof MeshError) {
        attempt.fail(rewritten);
        return;
      }
      ({ authority, path: method } = rewritten);
    }
    const delegate = channel.createCall(method, this.deadline, authority, this.parent, this.propagateFlags);
    if (this.credentials) delegate.setCredentials(this.credentials);
    this.delegate = delegate;
    attempt.delegate = delegate;
    delegate.start(upstream, new AttemptListener(this, attempt, delegate, listener, rewrite));
    const pending = this.pending;
    this.pending = [];
    if (attempt === this.firstAttempt) {
      // Nothing to keep when this call can never be retried.
      if (attempt.retry?.canRetry !== true) this.replay.commit();
      for (const p of pending) sendOp(delegate, p);
    } else {
      this.replay.replayInto(delegate);
    }
  }

  /** @internal `attempt`'s response metadata, from its delegate. */
  receiveMetadata(attempt: GrpcAttempt, metadata: grpc.Metadata, listener: grpc.InterceptingListener, rewrite: ReturnType<typeof embeddedRewrite>): void {
    if (!this.takeResponse(attempt)) return;
    const added = attempt.responseHeadersToAdd;
    if (added !== undefined) for (const name in added) metadata.set(name, added[name]!);
    if (rewrite?.mutatesResponseHeaders === true) rewrite.responseHeaders(new MetadataHeaders(metadata), attempt.request);
    listener.onReceiveMetadata(metadata);
  }

  /**
   * @internal `attempt`'s response headers as the lean transport received them: they go on as they are to a
   * listener that takes them so (it converts them if someone reads them), unless the route edits them.
   */
  receiveRawMetadata(attempt: GrpcAttempt, headers: IncomingHttpHeaders, listener: grpc.InterceptingListener, rewrite: ReturnType<typeof embeddedRewrite>): void {
    const raw = (listener as Partial<RawMetadataListener>).onReceiveRawMetadata;
    if (raw === undefined || attempt.responseHeadersToAdd !== undefined || rewrite?.mutatesResponseHeaders === true) {
      this.receiveMetadata(attempt, toGrpcMetadata(headers), listener, rewrite);
      return;
    }
    if (this.takeResponse(attempt)) (listener as RawMetadataListener).onReceiveRawMetadata(headers);
  }

  /** Response headers of `attempt` arrived: false when another attempt's response was taken (hedging), else the call commits to it. */
  private takeResponse(attempt: GrpcAttempt): boolean {
    // Hedging: another attempt's response was taken first; this one is being cancelled.
    if (attempt.retry?.responseStarts(attempt) === false) return false;
    if (attempt !== this.attempt) this.takeAttempt(attempt);
    this.commit();
    attempt.retry?.streamActive();
    return true;
  }

  /** @internal One response message of `attempt`, from its delegate. */
  receiveMessage(attempt: GrpcAttempt, delegate: CallStream, message: Buffer, listener: grpc.InterceptingListener): void {
    if (attempt !== this.attempt) return;
    this.commit();
    attempt.retry?.streamActive();
    if (!this.unaryResponse) {
      listener.onReceiveMessage(message);
      return;
    }
    if (this.responses++ > 0) {
      this.tooManyResponses = true;
      delegate.cancelWithStatus(TOO_MANY_STATUS.code, TOO_MANY_STATUS.details);
      return;
    }
    listener.onReceiveMessage(message);
    // A unary reply ends after this message: read on, so a second message or the status comes now.
    delegate.startRead();
  }

  /** @internal `attempt`'s status, from its delegate. */
  receiveStatus(attempt: GrpcAttempt, received: grpc.StatusObject): void {
    attempt.upstreamEnded = true;
    this.racing?.delete(attempt);
    this.dropCopies();
    const status = this.tooManyResponses ? { ...TOO_MANY_STATUS, metadata: received.metadata ?? new (grpcJs().Metadata)() } : wellFormedStatus(received);
    attempt.finish(grpcAttemptOutcome(status.code, status.details, attempt.elapsed()));
    const retry = attempt.retry;
    if (retry?.onAttemptEnd(attempt, attemptResultOf(status.code, status.details), this.committed)) return;
    const cut = retry?.timeoutError;
    const final = cut !== undefined && status.code !== GrpcStatus.OK ? statusFromMeshError(cut, callLocalReplyRewrite(attempt, cut)) : status.code === GrpcStatus.UNAVAILABLE ? typedStatus(status, attempt) : status;
    // A transport may fail at once, inside the caller's start/sendMessage/halfClose (an endpoint in back-off).
    this.deliverStatus(final);
  }

  /** A retry of `previous`: the new attempt becomes current and gets the kept operations at attach. */
  retryAttempt(previous: GrpcAttempt): GrpcAttempt | undefined {
    if (this.ended || this.committed || previous !== this.attempt || !this.replay.replayable) return undefined;
    // Hedging: the previous attempt races the new one.
    if (previous.delegate !== undefined && !previous.upstreamEnded) (this.racing ??= new Set()).add(previous);
    const next = new GrpcAttempt(this, previous.state, previous.request, previous.deadline);
    this.attempt = next;
    this.delegate = undefined;
    this.replay.abandonReplay();
    return next;
  }

  /** Ends `attempt`'s delegate call with `error`'s status; false when it has no delegate (yet). */
  abortDelegate(attempt: GrpcAttempt, error: MeshError): boolean {
    const delegate = attempt.delegate;
    if (delegate === undefined) return false;
    delegate.cancelWithStatus(error.grpcStatus, `${error.code}: ${error.message}`);
    return true;
  }

  /**
   * True when a retry can race `attempt` (`hedge_on_per_try_timeout`): the method answers with one
   * message, the caller half-closed and all it sent is kept and went out to `attempt`, and no response
   * arrived. A streaming request, or one still being sent, is not raced (Envoy hedges only a complete
   * request); its per-try timeout cancels it as before.
   */
  canRace(attempt: GrpcAttempt): boolean {
    return this.unaryResponse && attempt === this.attempt && attempt.delegate !== undefined && !this.committed && !this.ended && this.replay.complete && !this.replay.replaying;
  }

  /** Hedging: `attempt`, which a newer one replaced, answered first: it becomes the call's attempt again. */
  private takeAttempt(attempt: GrpcAttempt): void {
    this.replay.abandonReplay();
    this.racing?.delete(attempt);
    this.attempt = attempt;
    this.delegate = attempt.delegate;
  }

  private commit(): void {
    if (this.committed) return;
    this.committed = true;
    this.replay.commit();
  }

  /** Ends the call with a mesh error (no delegate was opened), rewritten by the listener's `local_reply_config`. */
  failWith(error: MeshError): void {
    this.endEarly(statusFromMeshError(error, callLocalReplyRewrite(this.attempt, error)));
  }

  sendMessageWithContext(context: MessageContext, message: Buffer): void {
    if (this.ended && !this.delegate) {
      context.callback?.();
      return;
    }
    this.issue({ op: 'message', context, message, written: false });
  }

  startRead(): void {
    if (this.delegate || !this.ended) this.issue(READ_OP);
  }

  halfClose(): void {
    if (this.delegate || !this.ended) this.issue(HALF_CLOSE_OP);
  }

  /**
   * A mirror's copy of this call: its metadata now, its messages (framed) once the caller
   * half-closed, within `bodyLimit` bytes; undefined when the call ends first or sends more.
   */
  mirrorRequest(attempt: GrpcAttempt, bodyLimit: number): MirrorRequest {
    const copy: MessageCopy = { messages: [], bytes: 0, limit: bodyLimit, resolve: () => undefined };
    const body = new Promise<Buffer | null | undefined>((resolve) => (copy.resolve = resolve));
    if (this.ended) copy.resolve(undefined);
    else (this.copies ??= []).push(copy);
    return {
      method: 'POST',
      path: this.method,
      authority: attempt.request.authority,
      grpc: true,
      headers: copyHeaders(this.metadata?.getMap(), attempt.requestHeadersToAdd, true),
      body,
    };
  }

  /** Feeds the mirror copies an operation the caller issued. */
  private copyOp(op: ReplayOp): void {
    const copies = this.copies!;
    if (op.op === 'read') return;
    this.copies = undefined;
    const keep: MessageCopy[] = [];
    for (const copy of copies) {
      if (op.op === 'halfClose') {
        copy.resolve(grpcFrames(copy.messages));
        continue;
      }
      copy.bytes += op.message.length + 5;
      if (copy.bytes > copy.limit) copy.resolve(undefined);
      else {
        copy.messages.push(op.message);
        keep.push(copy);
      }
    }
    if (keep.length > 0) this.copies = keep;
  }

  /** The call ended before its request was whole: the mirror copies are dropped. */
  private dropCopies(): void {
    const copies = this.copies;
    this.copies = undefined;
    if (copies !== undefined) for (const copy of copies) copy.resolve(undefined);
  }

  /** Sends `op` to the delegate, or queues it until one exists; keeps it for replay while uncommitted. */
  private issue(op: ReplayOp): void {
    // The app's messages and half-close are the stream's traffic too (stream idle timeout).
    if (op.op !== 'read') this.attempt?.retry?.streamActive();
    if (this.copies !== undefined) this.copyOp(op);
    if (this.replay.replaying) {
      this.replay.enqueue(op);
      return;
    }
    if (!this.committed) this.replay.record(op);
    if (this.delegate) sendOp(this.delegate, op);
    else {
      this.pending.push(op);
      if (this.bodyWaiter !== undefined && op.op !== 'read') process.nextTick(() => this.checkBody());
    }
  }

  /**
   * @internal A filter needs the request body before the call goes on: `done` gets the messages sent so far,
   * framed, once the caller half-closed (all of them) or they passed `limit` (the first `limit` bytes with
   * `partial`, else `too_large`). Never synchronous; not called once the call ended.
   */
  waitForBody(limit: number, partial: boolean, done: (body: BufferedBody) => void): void {
    this.bodyWaiter = { limit, partial, done };
    process.nextTick(() => this.checkBody());
  }

  private checkBody(): void {
    const waiter = this.bodyWaiter;
    if (waiter === undefined || this.ended) return;
    const frames: Buffer[] = [];
    let size = 0;
    let closed = false;
    for (const op of this.pending) {
      if (op.op === 'message') {
        frames.push(grpcFrame(op.message));
        size += 5 + op.message.length;
      } else if (op.op === 'halfClose') {
        closed = true;
      }
    }
    if (!closed && size <= waiter.limit) return;
    this.bodyWaiter = undefined;
    waiter.done(closed && frames.length === 0 ? 'none' : framedBody(Buffer.concat(frames), waiter.limit, waiter.partial));
  }

  cancelWithStatus(status: grpc.status, details: string): void {
    this.dropCopies();
    this.commit();
    const racing = this.racing;
    if (racing !== undefined) {
      // Hedging: attempts racing the current one end with the call (the first status reaches the caller).
      this.racing = undefined;
      for (const other of racing) other.delegate!.cancelWithStatus(status, details);
    }
    if (this.delegate) {
      this.delegate.cancelWithStatus(status, details);
      return;
    }
    if (this.ended) return;
    this.attempt?.cancel(new MeshError('XMESH_CANCELLED', details));
    this.endEarly({ code: status, details, metadata: new (grpcJs().Metadata)() });
  }

  getPeer(): string {
    return this.delegate?.getPeer() ?? this.attempt?.endpoint?.id ?? 'unknown';
  }

  getCallNumber(): number {
    return this.callNumber;
  }

  setCredentials(credentials: grpc.CallCredentials): void {
    if (this.delegate) this.delegate.setCredentials(credentials);
    else this.credentials = credentials;
  }

  getAuthContext(): AuthContext {
    return this.delegate?.getAuthContext() ?? null;
  }

  private endEarly(status: grpc.StatusObject): void {
    if (this.ended) return;
    this.ended = true;
    this.dropCopies();
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) if (p.op === 'message') p.context.callback?.();
    if (this.listener) this.deliverStatus(status);
    else this.earlyStatus = status;
  }

  /** Statuses are delivered on a later tick, as grpc-js does, so callers never see re-entrant callbacks. */
  private deliverStatus(status: grpc.StatusObject): void {
    if (this.statusDelivered) return;
    this.statusDelivered = true;
    process.nextTick(statusToListener, this.listener!, status);
  }
}

/** An attempt's listener on its delegate call: the events go to the call, with the attempt they belong to (one object per attempt, no closures). */
class AttemptListener implements RawMetadataListener {
  constructor(
    private readonly call: MeshGrpcCall,
    private readonly attempt: GrpcAttempt,
    private readonly delegate: CallStream,
    private readonly listener: grpc.InterceptingListener,
    private readonly rewrite: ReturnType<typeof embeddedRewrite>,
  ) {}

  onReceiveMetadata(metadata: grpc.Metadata): void {
    this.call.receiveMetadata(this.attempt, metadata, this.listener, this.rewrite);
  }

  onReceiveRawMetadata(headers: IncomingHttpHeaders): void {
    this.call.receiveRawMetadata(this.attempt, headers, this.listener, this.rewrite);
  }

  onReceiveMessage(message: Buffer): void {
    this.call.receiveMessage(this.attempt, this.delegate, message, this.listener);
  }

  onReceiveStatus(status: grpc.StatusObject): void {
    this.call.receiveStatus(this.attempt, status);
  }
}

function statusToListener(listener: grpc.InterceptingListener, status: grpc.StatusObject): void {
  listener.onReceiveStatus(status);
}

/** One mirror copy of a call's request, collecting its messages. */
interface MessageCopy {
  readonly messages: Buffer[];
  bytes: number;
  readonly limit: number;
  resolve: (body: Buffer | null | undefined) => void;
}

/** A status reporting a failed TLS handshake as the mesh's typed error (its code in metadata); any other as is. */
function typedStatus(status: grpc.StatusObject, attempt: GrpcAttempt): grpc.StatusObject {
  const tls = tlsStatusError(status.code, status.details, { cluster: attempt.cluster?.name, endpoint: attempt.endpoint?.id });
  return tls === undefined ? status : statusFromMeshError(tls);
}

/** Request headers for routing: pseudo-headers, content-type, and every text metadata entry (first value). */
function headersOf(metadata: grpc.Metadata, authority: string, path: string): HeaderMap {
  const headers = new Map<string, string>([
    [':authority', authority],
    [':path', path],
    [':method', 'POST'],
    ['content-type', 'application/grpc'],
  ]);
  const map = metadata.getMap();
  for (const key in map) {
    const value = map[key];
    if (typeof value === 'string') headers.set(key, value);
  }
  return headers;
}

/** A grpc-js deadline as epoch ms; Infinity for none. */
function deadlineMs(deadline: grpc.Deadline): number {
  const epochMs = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isNaN(epochMs) ? Infinity : epochMs;
}

/** A grpc-js deadline (epoch ms or Date) on the mesh clock. */
function meshDeadline(deadline: grpc.Deadline, state: MeshState): number {
  const epochMs = deadlineMs(deadline);
  if (!Number.isFinite(epochMs)) return Infinity;
  return state.clock.now() + (epochMs - Date.now());
}

/**
 * `metadata` as sent upstream: one copy carrying the trace headers and the filters' request headers
 * (`append` adds a value, else replaces), or `metadata` itself when there are none.
 */
function upstreamMetadata(
  metadata: grpc.Metadata,
  trace: TraceHeaders | undefined,
  added: readonly { readonly key: string; readonly value: string; readonly append: boolean }[] | undefined,
  removed: readonly string[] | undefined,
): grpc.Metadata {
  if (trace === undefined && (added === undefined || added.length === 0) && removed === undefined) return metadata;
  const out = metadata.clone();
  if (trace !== undefined) {
    for (const name in trace) out.set(name, trace[name as keyof TraceHeaders]!);
    // Unique per call: the lean transport sends them never-indexed, so they do not evict the headers every request shares from HPACK.
    (out as grpc.Metadata & { [sensitiveHeaders]?: readonly string[] })[sensitiveHeaders] = neverIndexedNames(trace);
  }
  if (added !== undefined) {
    for (const { key, value, append } of added) {
      if (append) out.add(key.toLowerCase(), value);
      else out.set(key.toLowerCase(), value);
    }
  }
  if (removed !== undefined) for (const name of removed) out.remove(name);
  return out;
}
