/**
 * The pipeline's terminal in the sidecar: forwards to the picked endpoint over HTTP/2 when the
 * cluster speaks HTTP/2 or the request is gRPC (as the embedded gRPC transport does), else over
 * the endpoint's HTTP/1.1 pool.
 */
import { addHeaderOptions, editHeaderRecord, headerText, removeHeaders, traceHeadersFor, type Invoke } from '@xmesh/client';
import { RecordHeaders, type UpstreamRewrite } from '@xmesh/router';
import { H2Downstream, type Downstream } from './downstream.js';
import { forwardH1 } from './forward-h1.js';
import { forwardH2 } from './forward-h2.js';
import { forwardConnect } from './forward-connect.js';
import { forwardUpgrade } from './forward-upgrade.js';
import { UpgradeDownstream } from './upgrade-downstream.js';
import { cancelledOutcome, type ProxyAttempt } from './proxy-attempt.js';

export const proxyTransport: Invoke<ProxyAttempt> = (attempt) => {
  const ds = attempt.downstream;
  if (ds.closed) {
    attempt.finish(cancelledOutcome(ds.grpc, attempt.elapsed()));
    return;
  }
  const rewrite = attempt.decision?.rewrite;
  // The router's x-envoy-* headers differ per attempt (expected timeout, attempt count): edited for
  // every attempt, before the route's header mutations (Envoy's order).
  if (attempt.upstreamEdits !== undefined) editHeaderRecord(ds.requestHeaders, attempt.upstreamEdits);
  if (!ds.decorated) {
    // Once per request (a retry sends the same ids and headers): the request headers are forwarded from here.
    ds.decorated = true;
    const headers = ds.requestHeaders;
    const trace = traceHeadersFor(attempt, headers, headerText);
    if (trace !== undefined) Object.assign(headers, trace);
    if (attempt.requestHeadersToAdd !== undefined) addHeaderOptions(headers, attempt.requestHeadersToAdd);
    removeHeaders(headers, attempt.requestHeadersToRemove);
    // A route's idle_timeout replaces the connection manager's stream_idle_timeout for this stream.
    const idleTimeoutMs = attempt.decision?.route.action.idleTimeoutMs;
    if (idleTimeoutMs !== undefined) ds.setIdleTimeout(idleTimeoutMs);
    if (rewrite !== undefined && !rewriteRequest(attempt, rewrite)) return;
  }
  // The Host may depend on the endpoint (auto_host_rewrite): set for every attempt.
  if (rewrite?.rewritesHost === true) setAuthority(ds, rewrite.upstreamAuthority(attempt.request.authority, attempt.endpoint, undefined));
  const transports = attempt.transports!;
  if (attempt.request.method === 'CONNECT') {
    forwardConnect(attempt);
    return;
  }
  if (ds instanceof UpgradeDownstream) {
    // The filter chain let it through: the listener or the route allows this upgrade. It goes over HTTP/1.1.
    forwardUpgrade(attempt, ds, transports.http(false), String(ds.requestHeaders.upgrade));
    return;
  }
  if (attempt.request.grpc || attempt.cluster!.config.http2) {
    forwardH2(attempt, transports.attachment(attempt.proxy.sessionKey, attempt.proxy.newSession).get());
  } else {
    forwardH1(attempt, transports.http(false));
  }
};

/**
 * The route's rewrite of the request, once (Envoy's router finalizes the request after the
 * filters): header mutations, `x-forwarded-host` for a route's host rewrite, then the path. False
 * when the path is refused (the call is answered).
 */
function rewriteRequest(attempt: ProxyAttempt, rewrite: UpstreamRewrite): boolean {
  const ds = attempt.downstream;
  const writer = new RecordHeaders(ds.requestHeaders as Record<string, string | string[] | undefined>);
  if (rewrite.mutatesRequestHeaders) rewrite.requestHeaders(writer, attempt.request);
  if (rewrite.rewritesHost) rewrite.upstreamAuthority(attempt.request.authority, attempt.endpoint, writer);
  if (!rewrite.rewritesPath) return true;
  const path = rewrite.upstreamPath(attempt.request.path);
  if (typeof path !== 'string') {
    attempt.finish({ kind: 'local_error', httpStatus: path.httpStatus, grpcStatus: undefined, latencyMs: attempt.elapsed() });
    attempt.retry?.end();
    ds.reject(path);
    return false;
  }
  ds.upstreamPath = path;
  if (ds instanceof H2Downstream) ds.headers[':path'] = path;
  return true;
}

function setAuthority(ds: Downstream, authority: string): void {
  ds.upstreamAuthority = authority;
  if (ds instanceof H2Downstream) ds.headers[':authority'] = authority;
}
