/**
 * A Bolt call through the mesh pipeline: `BoltCall` spans the call's attempts, `BoltAttempt` is
 * one pass down the layers; `boltTransport` is the terminal that sends the frame on the picked
 * endpoint's multiplexed connection (or on the sidecar's Bolt listener in sidecar mode).
 *
 * A Bolt response status is read as the HTTP status of `httpStatusOfBolt` (`@xmesh/codec`), so
 * `retry_on` (5xx, gateway-error, connect-failure, reset, retriable-status-codes), outlier
 * detection and stats treat Bolt like HTTP. The caller's deadline ends the call with
 * XMESH_TIMEOUT (on the mesh's deadline scheduler: no timer per call); the route timeout and
 * per-try timeouts are the retry layer's, as for every protocol.
 */
import { MeshError, type CallOutcome, type Endpoint } from '@xmesh/core';
import { BoltStatus, boltStatusName, encodeBoltHeaders, encodeBoltRequest, httpStatusOfBolt, type BoltFrame } from '@xmesh/codec';
import { PipelineCall, type Invoke, type MeshState } from '@xmesh/client';
import { RecordHeaders, type RouteDecision, type RouteRequest } from '@xmesh/router';
import type { BoltConnection, BoltEndpointConnections, BoltReceiver } from './connection.js';

/** A request ready to frame: everything but the request id and the timeout field. */
export interface BoltRequest {
  readonly codec: number;
  /** Latin-1 class name bytes (`com.alipay.sofa.rpc.core.request.SofaRequest`). */
  readonly className: Uint8Array;
  /** Header-map entries, sent as given (plus headers the route adds). */
  readonly headers: ReadonlyMap<string, string>;
  /** `headers` encoded (`encodeBoltHeaders`): what is sent when nothing is added. */
  readonly header: Uint8Array;
  /** A oneway request: sent, never answered; the call ends once the frame is written (with a null response). */
  readonly oneway?: boolean;
  readonly content: Uint8Array;
}

/** The end of a Bolt call: the response frame (any status; null for a oneway request), or the typed error. */
export type BoltCallback = (error: MeshError | null, response: BoltFrame | null) => void;

/** What a Bolt call needs from its client. */
export interface BoltCallHost {
  state(): MeshState | MeshError;
  readonly invoke: Invoke<BoltAttempt>;
  /** The connections to an endpoint the pipeline picked (kept in the mesh's transport pool). */
  connectionsOf(attempt: BoltAttempt): BoltEndpointConnections;
}

/** What the deadline scheduler of the mesh needs of an entry. */
interface DeadlineSlot {
  deadlineDue: number;
  deadlineSlot: number;
  onDeadline(): void;
}

const OK_RESULT = Object.freeze({ httpStatus: 200, grpcStatus: undefined, failure: 'none' as const, headers: undefined });

export class BoltAttempt extends PipelineCall implements BoltReceiver {
  private connection: BoltConnection | undefined = undefined;
  private requestId = -1;
  private abortedWith: MeshError | undefined = undefined;

  constructor(
    readonly owner: BoltCall,
    state: MeshState,
    request: RouteRequest,
    deadline: number,
  ) {
    super(state, request, deadline);
  }

  /** Pipeline terminal: frames the request for this attempt and sends it. */
  send(): void {
    const owner = this.owner;
    if (owner.ended) {
      this.finish(localOutcome(0, this.elapsed()));
      return;
    }
    const header = this.upstreamHeader();
    const connection = owner.host.connectionsOf(this).get();
    const request = owner.request;
    if (request.oneway === true) {
      this.sendOneway(connection, header);
      return;
    }
    const id = connection.reserve(this);
    if (typeof id !== 'number') {
      this.onBoltFailure(id, 'connect');
      return;
    }
    this.connection = connection;
    this.requestId = id;
    const timeout = owner.remainingMs(this.state.clock.now());
    connection.write(encodeBoltRequest({ id, codec: request.codec, timeout, className: request.className, header, content: request.content }));
  }

  /** A oneway request ends once written: a success for the pipeline, nothing to wait for. */
  private sendOneway(connection: BoltConnection, header: Uint8Array): void {
    const request = this.owner.request;
    if (!connection.usable) {
      this.onBoltFailure(new MeshError('XMESH_CONNECT_FAILED', `Bolt connection to ${connection.address} is closed`, { endpoint: connection.address }), 'connect');
      return;
    }
    connection.write(encodeBoltRequest({ id: connection.onewayId(), codec: request.codec, timeout: 0, className: request.className, header, content: request.content, oneway: true }));
    this.finish({ kind: 'success', httpStatus: 200, grpcStatus: undefined, latencyMs: this.elapsed() });
    this.retry?.onAttemptEnd(this, OK_RESULT, true);
    this.owner.completeSoon(null);
  }

  onBoltResponse(frame: BoltFrame): void {
    this.connection = undefined;
    const status = frame.status;
    const httpStatus = httpStatusOfBolt(status);
    this.finish({ kind: status === BoltStatus.SUCCESS ? 'success' : 'upstream_error', httpStatus, grpcStatus: undefined, latencyMs: this.elapsed() });
    const result = status === BoltStatus.SUCCESS ? OK_RESULT : { httpStatus, grpcStatus: undefined, failure: 'none' as const, headers: undefined };
    if (this.retry?.onAttemptEnd(this, result, false)) return;
    const timeout = this.retry?.timeoutError ?? this.abortedWith;
    if (timeout !== undefined) this.owner.complete(timeout, null);
    else this.owner.complete(null, frame);
  }

  onBoltFailure(error: MeshError, failure: 'connect' | 'reset'): void {
    this.connection = undefined;
    this.finish(localOutcome(0, this.elapsed()));
    if (this.retry?.onAttemptEnd(this, { httpStatus: 0, grpcStatus: undefined, failure, headers: undefined }, false)) return;
    this.owner.complete(this.retry?.timeoutError ?? this.abortedWith ?? withWhere(error, this), null);
  }

  fail(error: MeshError): void {
    this.finish(localOutcome(error.httpStatus, this.elapsed()));
    this.retry?.end();
    this.owner.completeSoon(error);
  }

  override nextAttempt(): BoltAttempt | undefined {
    return this.owner.retryAttempt(this);
  }

  /** A per-try or route timeout: the response, if it comes, is dropped; the attempt ends now. */
  override abortAttempt(error: MeshError): void {
    const connection = this.connection;
    if (connection === undefined) {
      super.abortAttempt(error);
      return;
    }
    this.abortedWith = error;
    connection.cancel(this.requestId);
    this.connection = undefined;
    this.finish(localOutcome(504, this.elapsed()));
    if (this.retry?.onAttemptEnd(this, { httpStatus: 504, grpcStatus: undefined, failure: 'per_try_timeout', headers: undefined }, false)) return;
    this.owner.complete(this.retry?.timeoutError ?? error, null);
  }

  /** The caller gave up (its deadline passed, or it cancelled): no retry, the response is dropped. */
  cancelCall(error: MeshError): void {
    this.cancel(error);
    this.retry?.end();
    const connection = this.connection;
    if (connection !== undefined) {
      connection.cancel(this.requestId);
      this.connection = undefined;
      this.finish(localOutcome(error.code === 'XMESH_TIMEOUT' ? 504 : 499, this.elapsed()));
      this.owner.complete(error, null);
      return;
    }
    this.fail(error);
  }

  /** The encoded header map: the caller's, plus what the filters and the route add (`request_headers_to_add`, ...). */
  private upstreamHeader(): Uint8Array {
    const added = this.requestHeadersToAdd;
    const removed = this.requestHeadersToRemove;
    const rewrite = this.decision?.rewrite;
    const mutates = rewrite?.mutatesRequestHeaders === true;
    if ((added === undefined || added.length === 0) && removed === undefined && !mutates) return this.owner.request.header;
    const record: Record<string, string | string[] | undefined> = Object.fromEntries(this.owner.request.headers);
    for (const { key, value, append } of added ?? []) {
      const name = key.toLowerCase();
      record[name] = append && record[name] !== undefined ? `${String(record[name])},${value}` : value;
    }
    for (const name of removed ?? []) delete record[name];
    if (mutates) rewrite!.requestHeaders(new RecordHeaders(record), this.request);
    const out = new Map<string, string>();
    for (const [key, value] of Object.entries(record)) if (value !== undefined) out.set(key, Array.isArray(value) ? value.join(',') : value);
    return encodeBoltHeaders(out);
  }
}

/** The pipeline's terminal for Bolt. */
export const boltTransport: Invoke<BoltAttempt> = (attempt) => {
  attempt.send();
};

/** A Bolt call across its attempts; ends once, on a later tick, through `callback`. */
export class BoltCall implements DeadlineSlot {
  ended = false;
  deadlineDue = Infinity;
  deadlineSlot = -1;
  private attempt: BoltAttempt | undefined = undefined;
  private deadline = Infinity;
  private state: MeshState | undefined = undefined;

  constructor(
    readonly host: BoltCallHost,
    readonly request: BoltRequest,
    /** The caller's timeout, ms (0 or Infinity: none but the route's). */
    private readonly timeoutMs: number,
    private readonly callback: BoltCallback,
  ) {}

  /** Runs the first attempt of the call described by `route`; `decision` when the front end routed it already. */
  start(route: RouteRequest, decision?: RouteDecision): this {
    const state = this.host.state();
    if (state instanceof MeshError) {
      this.completeSoon(state);
      return this;
    }
    this.state = state;
    const now = state.clock.now();
    if (this.timeoutMs > 0 && Number.isFinite(this.timeoutMs)) {
      this.deadline = now + this.timeoutMs;
      state.services?.deadlines.schedule(this, this.deadline);
    }
    const attempt = new BoltAttempt(this, state, route, this.deadline);
    if (decision !== undefined) attempt.decision = decision;
    this.attempt = attempt;
    this.host.invoke(attempt);
    return this;
  }

  /** Milliseconds the caller has left (0 when it set no timeout): the frame's timeout field. */
  remainingMs(now: number): number {
    return Number.isFinite(this.deadline) ? Math.max(1, this.deadline - now) : 0;
  }

  /** The caller's deadline passed. */
  onDeadline(): void {
    this.deadlineSlot = -1;
    this.cancelWith(new MeshError('XMESH_TIMEOUT', `Bolt call had no response within its ${this.timeoutMs} ms timeout`));
  }

  cancel(details = 'cancelled by the caller'): void {
    this.cancelWith(new MeshError('XMESH_CANCELLED', details));
  }

  private cancelWith(error: MeshError): void {
    if (this.ended) return;
    if (this.attempt === undefined) this.completeSoon(error);
    else this.attempt.cancelCall(error);
  }

  /** @internal A new attempt for a retry of `previous`; undefined once the call ended. */
  retryAttempt(previous: BoltAttempt): BoltAttempt | undefined {
    if (this.ended || previous !== this.attempt) return undefined;
    const next = new BoltAttempt(this, previous.state, previous.request, previous.deadline);
    this.attempt = next;
    return next;
  }

  /** @internal Ends the call (from a socket event or a timer, so never synchronous to the caller). */
  complete(error: MeshError | null, response: BoltFrame | null): void {
    if (this.ended) return;
    this.ended = true;
    if (this.deadlineSlot >= 0) this.state?.services?.deadlines.cancel(this);
    this.callback(error, response);
  }

  /** @internal Ends the call on a later tick: with a mesh-originated error, or (null) a oneway request written. */
  completeSoon(error: MeshError | null): void {
    if (this.ended) return;
    this.ended = true;
    if (this.deadlineSlot >= 0) this.state?.services?.deadlines.cancel(this);
    process.nextTick(this.callback, error, null);
  }
}

function localOutcome(httpStatus: number, latencyMs: number): CallOutcome {
  return { kind: 'local_error', httpStatus, grpcStatus: undefined, latencyMs };
}

function withWhere(error: MeshError, attempt: BoltAttempt): MeshError {
  if (error.cluster !== undefined || attempt.decision === undefined) return error;
  return new MeshError(error.code, error.message, { cause: error.cause, cluster: attempt.decision.cluster, endpoint: attempt.endpoint?.id ?? error.endpoint });
}

/** A provider's non-SUCCESS status as the error a caller sees (the status in the message, the class as the HTTP status). */
export function statusError(frame: BoltFrame, detail: string, where: { cluster?: string | undefined; endpoint?: Endpoint | undefined } = {}): MeshError {
  const status = frame.status;
  const code = status === BoltStatus.TIMEOUT ? 'XMESH_TIMEOUT' : 'XMESH_UPSTREAM_STATUS';
  return new MeshError(code, `${boltStatusName(status)}: ${detail}`, { httpStatus: httpStatusOfBolt(status), cluster: where.cluster, endpoint: where.endpoint?.id });
}
