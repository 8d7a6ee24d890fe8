/**
 * Forwards an upgrade request (an HTTP/1.1 WebSocket handshake the listener's `upgrade_configs` allow) to the
 * picked endpoint through its undici pool, as Envoy's router proxies one: a 101 from the upstream joins the
 * client's socket and the upstream's into a tunnel; any other answer is relayed and the connection closed; a
 * failure before an answer is a local reply. The attempt ends when the upstream answered (101 counts as a
 * success): what flows in the tunnel afterwards is not a request of its own.
 */
import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import { MeshError } from '@xmesh/core';
import { isConnectError, upstreamFailureCode } from '@xmesh/client';
import { h1Headers, h2ResponseFromH1 } from './request-headers.js';
import type { DownstreamAbortHandler } from './downstream.js';
import { cancelledOutcome, localReplyHeaders, withResponseHeaders, type ProxyAttempt } from './proxy-attempt.js';
import type { UpgradeDownstream } from './upgrade-downstream.js';

type Controller = Dispatcher.DispatchController;
type RawHeaders = Record<string, string | string[] | undefined>;

export function forwardUpgrade(attempt: ProxyAttempt, ds: UpgradeDownstream, pool: Dispatcher, upgrade: string): void {
  new UpgradeForward(attempt, ds).start(pool, upgrade);
}

class UpgradeForward implements Dispatcher.DispatchHandler, DownstreamAbortHandler {
  private controller: Controller | undefined = undefined;
  private settled = false;
  private status = 0;
  private abortError: MeshError | undefined = undefined;

  constructor(
    private readonly attempt: ProxyAttempt,
    private readonly ds: UpgradeDownstream,
  ) {}

  start(pool: Dispatcher, upgrade: string): void {
    const { attempt, ds } = this;
    ds.onAbort(this);
    attempt.upstreamAbort = this;
    const request = attempt.request;
    const headers = h1Headers(ds.requestHeaders, ds.upstreamAuthority ?? request.authority);
    pool.dispatch({ path: ds.upstreamPath ?? request.path, method: request.method as Dispatcher.HttpMethod, headers, upgrade, body: null }, this);
  }

  downstreamAborted(): void {
    if (!this.settled) {
      this.settled = true;
      this.attempt.retry?.end();
      this.attempt.finish(cancelledOutcome(false, this.attempt.elapsed()));
    }
    this.controller?.abort(new Error('the client went away'));
  }

  abortAttempt(error: MeshError): void {
    this.abortError = error;
    this.controller?.abort(error);
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.abortError !== undefined || this.settled) controller.abort(this.abortError ?? new Error('the client went away'));
  }

  onRequestUpgrade(_controller: Controller, statusCode: number, headers: RawHeaders, socket: import('node:stream').Duplex): void {
    if (this.settled) {
      socket.destroy();
      return;
    }
    this.end(statusCode);
    this.ds.tunnel(101, withResponseHeaders(headers, this.attempt), socket as Socket, undefined);
  }

  onResponseStart(_controller: Controller, statusCode: number, headers: RawHeaders): void {
    if (this.settled) return;
    this.status = statusCode;
    if (statusCode < 200) return;
    // The upstream refused the upgrade: its answer goes to the client, then the connection closes.
    this.ds.respond(withResponseHeaders(h2ResponseFromH1(statusCode, headers), this.attempt), false);
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (!this.settled) this.ds.writable.write(chunk);
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.end(this.status);
    this.ds.finish();
  }

  onResponseError(_controller: Controller, error: Error): void {
    if (this.settled) return;
    this.settled = true;
    const { attempt, ds } = this;
    const connect = this.status === 0 && isConnectError(error);
    attempt.retried({ httpStatus: this.status, grpcStatus: undefined, failure: connect ? 'connect' : 'reset', headers: undefined }, true);
    attempt.finish({ kind: 'local_error', httpStatus: this.status, grpcStatus: undefined, latencyMs: attempt.elapsed() });
    const meshError = this.abortError ?? new MeshError(upstreamFailureCode(error, connect), `upstream ${attempt.endpoint?.id}: ${error.message}`, { cause: error, cluster: attempt.cluster?.name, endpoint: attempt.endpoint?.id });
    ds.reject(meshError, localReplyHeaders(attempt, meshError));
  }

  private end(status: number): void {
    this.settled = true;
    const { attempt } = this;
    attempt.retried({ httpStatus: status, grpcStatus: undefined, failure: 'none', headers: undefined }, true);
    attempt.finish({ kind: status >= 500 ? 'upstream_error' : 'success', httpStatus: status, grpcStatus: undefined, latencyMs: attempt.elapsed() });
  }
}
