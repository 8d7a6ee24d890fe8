/**
 * `node:diagnostics_channel` channels for per-call tracing. Publishers check `hasSubscribers`
 * first, so an unobserved mesh pays one property read per event and builds no message.
 */
import diagnostics from 'node:diagnostics_channel';

/** `{ authority, path, cluster, attempt }` when an attempt starts on an endpoint. */
export const attemptStartChannel = diagnostics.channel('xmesh:attempt:start');
/** `{ authority, path, cluster, endpoint, attempt, outcome }` when an attempt ends. */
export const attemptEndChannel = diagnostics.channel('xmesh:attempt:end');
/** `{ authority, path, cluster, retry, backoffMs }` when a retry is scheduled. */
export const retryChannel = diagnostics.channel('xmesh:retry');
/** `{ authority, path, cluster, kind: 'delay' | 'abort', delayMs?, status? }` when a fault is injected. */
export const faultChannel = diagnostics.channel('xmesh:fault');
/** `{ authority, path, statPrefix, verdict }` when the local rate limiter limits a call. */
export const rateLimitChannel = diagnostics.channel('xmesh:ratelimit');
