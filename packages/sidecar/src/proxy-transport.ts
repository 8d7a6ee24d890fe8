/**
 * The pipeline's terminal in the sidecar: forwards to the picked endpoint over HTTP/2 when the
 * cluster speaks HTTP/2 or the request is gRPC (as the embedded gRPC transport does), else over
 * the endpoint's HTTP/1.1 pool.
 */
import { addHeaderOptions, firstValue, traceHeadersFor, type Invoke } from '@xmesh/client';
import { forwardH1 } from './forward-h1.js';
import { forwardH2 } from './forward-h2.js';
import { cancelledOutcome, type ProxyAttempt } from './proxy-attempt.js';

export const proxyTransport: Invoke<ProxyAttempt> = (attempt) => {
  const ds = attempt.downstream;
  if (ds.closed) {
    attempt.finish(cancelledOutcome(ds.grpc, attempt.elapsed()));
    return;
  }
  if (!ds.decorated) {
    // Once per request (a retry sends the same ids and headers): the request headers are forwarded from here.
    ds.decorated = true;
    const headers = ds.requestHeaders;
    const trace = traceHeadersFor(attempt, firstValue(headers.traceparent), firstValue(headers['x-request-id']));
    if (trace !== undefined) Object.assign(headers, trace);
    if (attempt.requestHeadersToAdd !== undefined) addHeaderOptions(headers, attempt.requestHeadersToAdd);
    // A route's idle_timeout replaces the connection manager's stream_idle_timeout for this stream.
    const idleTimeoutMs = attempt.decision?.route.action.idleTimeoutMs;
    if (idleTimeoutMs !== undefined) ds.setIdleTimeout(idleTimeoutMs);
  }
  const transports = attempt.transports!;
  if (attempt.request.grpc || attempt.cluster!.config.http2) {
    forwardH2(attempt, transports.attachment(attempt.proxy.sessionKey, attempt.proxy.newSession).get());
  } else {
    forwardH1(attempt, transports.http(false));
  }
};
