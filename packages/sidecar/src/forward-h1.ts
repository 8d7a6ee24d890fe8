/**
 * Forwards one attempt to an HTTP/1.1 upstream through the endpoint's undici pool (kept by the
 * client's transport entry), streaming the body both ways with backpressure. Ends are reported to
 * the retry layer as in `forward-h2.ts`: a non-2xx response is held back until the retry layer
 * declined it.
 */
import { PassThrough, type Writable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { OutgoingHttpHeaders } from 'node:http2';
import { MeshError } from '@xmesh/core';
import { isConnectError, isHttp1ProtocolError, upstreamFailureCode } from '@xmesh/client';
import { h1Headers, h2ResponseFromH1 } from './request-headers.js';
import type { DownstreamAbortHandler } from './downstream.js';
import { cancelledOutcome, isFinalStatus, localReplyHeaders, responseOutcome, withResponseHeaders, type AttemptFailure, type ProxyAttempt } from './proxy-attempt.js';

type Controller = Dispatcher.DispatchController;
type RawHeaders = Record<string, string | string[] | undefined>;

/** The forward a downstream's response stream belongs to: its 'drain' reaches it through one shared listener. */
const FORWARD = Symbol('xmesh.h1-forward');
type ForwardedWritable = Writable & { [FORWARD]: H1Forward };

function onDownstreamDrain(this: ForwardedWritable): void {
  this[FORWARD].resume();
}

/** The request body handed to undici: undici ends it on failure; its errors must not throw. */
function ignoreError(): void {}

export function forwardH1(attempt: ProxyAttempt, pool: Dispatcher): void {
  new H1Forward(attempt).start(pool);
}

/** One attempt's undici dispatch handler, abort handler and upstream abort in one object (no closures per request). */
class H1Forward implements Dispatcher.DispatchHandler, DownstreamAbortHandler {
  private status = 0;
  private settled = false;
  private controller: Controller | undefined = undefined;
  private abortError: MeshError | undefined = undefined;

  constructor(private readonly attempt: ProxyAttempt) {}

  /** No response was relayed from this request: a retry can race it. */
  get raceable(): boolean {
    return !this.settled;
  }

  start(pool: Dispatcher): void {
    const { attempt } = this;
    const ds = attempt.downstream;
    ds.onAbort(this);
    attempt.upstreamAbort = this;
    let body: PassThrough | null = null;
    if (ds.hasBody) {
      body = new PassThrough();
      body.on('error', ignoreError);
      attempt.bodyRelay().attach(body);
    }
    const request = attempt.request;
    const path = ds.upstreamPath ?? request.path;
    pool.dispatch({ path, method: request.method as Dispatcher.HttpMethod, headers: h1Headers(ds.requestHeaders, ds.upstreamAuthority ?? request.authority), body }, this);
  }

  /** The client went away; the retry layer ends attempts still racing. */
  downstreamAborted(): void {
    const { attempt } = this;
    if (!this.settled) {
      this.settled = true;
      attempt.finish(cancelledOutcome(attempt.downstream.grpc, attempt.elapsed()));
    }
    attempt.retry?.end();
    this.controller?.abort(new Error('the client went away'));
  }

  /** The retry layer ends this attempt (per-try or route timeout). */
  abortAttempt(error: MeshError): void {
    this.abortError = error;
    this.controller?.abort(error);
  }

  /** The client's side drained: upstream data flows again. */
  resume(): void {
    this.controller?.resume();
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.abortError !== undefined || this.settled) controller.abort(this.abortError ?? new Error('the client went away'));
  }

  onResponseStart(controller: Controller, statusCode: number, headers: RawHeaders): void {
    if (this.settled) return;
    const { attempt } = this;
    if (!isFinalStatus(statusCode)) {
      // Status 0, `000`, 600+: the upstream broke HTTP; the client gets the sidecar's local reply.
      const error = new MeshError('XMESH_UPSTREAM_PROTOCOL', `upstream ${attempt.endpoint?.id}: invalid response status ${statusCode}`, { cluster: attempt.cluster?.name, endpoint: attempt.endpoint?.id });
      this.abortError = error;
      controller.abort(error);
      this.failed(error, 'reset');
      return;
    }
    this.status = statusCode;
    const response = h2ResponseFromH1(statusCode, headers);
    if (attempt.retry !== undefined && statusCode >= 300) {
      const view = new Map<string, string>();
      for (const name in response) if (name.charCodeAt(0) !== 58) view.set(name, String(response[name]));
      if (attempt.retried({ httpStatus: statusCode, grpcStatus: undefined, failure: 'none', headers: view }, false)) {
        this.settled = true;
        attempt.finish(responseOutcome(statusCode, undefined, attempt.elapsed()));
        controller.abort(new Error('retried'));
        return;
      }
    } else if (attempt.retry?.responseStarts(attempt) === false) {
      // Hedging: another attempt's response went to the client first.
      this.settled = true;
      attempt.finish(responseOutcome(statusCode, undefined, attempt.elapsed()));
      controller.abort(new Error('another attempt answered first'));
      return;
    }
    const ds = attempt.downstream;
    if (!ds.respond(withResponseHeaders(response, attempt), false)) {
      // The client could not be sent these headers and got a local reply instead.
      this.settled = true;
      attempt.retry?.end();
      attempt.finish({ kind: 'local_error', httpStatus: statusCode, grpcStatus: undefined, latencyMs: attempt.elapsed() });
      controller.abort(new Error('the response cannot be relayed'));
      return;
    }
    const writable = ds.writable as ForwardedWritable;
    writable[FORWARD] = this;
    writable.on('drain', onDownstreamDrain);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (!this.settled && !this.attempt.downstream.writable.write(chunk)) controller.pause();
  }

  onResponseEnd(_controller: Controller, trailers: RawHeaders): void {
    if (this.settled) return;
    this.settled = true;
    const { attempt } = this;
    const hasTrailers = trailers !== undefined && Object.keys(trailers).length > 0;
    attempt.downstream.finish(hasTrailers ? (trailers as OutgoingHttpHeaders) : undefined);
    attempt.retried({ httpStatus: this.status, grpcStatus: undefined, failure: 'none', headers: undefined }, true);
    attempt.finish(responseOutcome(this.status, undefined, attempt.elapsed()));
  }

  onResponseError(_controller: Controller, error: Error): void {
    this.failed(error, this.status === 0 && isConnectError(error) ? 'connect' : 'reset');
  }

  /** No usable response: retry, or a local reply (reset once headers went out). */
  private failed(error: Error, failure: AttemptFailure): void {
    if (this.settled) return;
    this.settled = true;
    const { attempt } = this;
    const ds = attempt.downstream;
    const retried = attempt.retried({ httpStatus: this.status, grpcStatus: undefined, failure, headers: undefined }, ds.headersSent);
    // undici's parser errors mean the upstream broke HTTP/1.1: an unparsable status line, bad framing.
    const code = failure !== 'connect' && isHttp1ProtocolError(error) ? 'XMESH_UPSTREAM_PROTOCOL' : upstreamFailureCode(error, failure === 'connect');
    const meshError = this.abortError ?? new MeshError(code, `upstream ${attempt.endpoint?.id}: ${error.message}`, { cause: error, cluster: attempt.cluster?.name, endpoint: attempt.endpoint?.id });
    attempt.finish({ kind: 'local_error', httpStatus: this.status, grpcStatus: undefined, latencyMs: attempt.elapsed() });
    if (!retried) ds.reject(meshError, localReplyHeaders(attempt, meshError));
  }
}
