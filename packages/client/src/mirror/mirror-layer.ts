/**
 * Request mirroring (`request_mirror_policies`), once per call, after the filters: the call goes on
 * first, untouched; then each policy whose `runtime_fraction` draw hits gets a copy of the request
 * (from the front end, see `PipelineCall.mirrorRequest`) sent to its cluster (or the one its
 * `cluster_header` names, see `clusterNamed`), fire and forget (see
 * ShadowCall). The copy's Host gets Envoy's `-shadow` suffix (`host-shadow:port`) unless
 * `disable_shadow_host_suffix_append`; `trace_sampled` sets the sampled flag of its `traceparent`
 * (under the Zipkin tracer the copy is a child span, see `shadowTraceHeaders`).
 * A body is copied whole, within the route's buffer limit; a request that cannot be copied is
 * counted (`cluster.<mirror>.xmesh.mirror.skipped`), as are the copies sent (`...mirror.sent`) and
 * those that failed (`...mirror.failed`, also in the mirror cluster's upstream stats). At most
 * `MAX_OUTSTANDING_MIRRORS` copies of a mesh are under way (waiting for their body or sent); past
 * it a copy is skipped. The mirror cluster's circuit breakers admit each copy like any request.
 */
import { MeshError } from '@xmesh/core';
import { fractionHit } from '@xmesh/ratelimit';
import { RecordHeaders } from '@xmesh/router';
import { newSpanId } from '@xmesh/stats';
import type { RequestMirrorPolicy } from '@xmesh/xds';
import type { Layer } from '../pipeline.js';
import type { PipelineCall } from '../pipeline-call.js';
import { bodyBufferLimit } from '../retry/request-body.js';
import { ShadowCall, UNTIMED_MIRROR_MS, type MirrorRequest } from './shadow-call.js';

/** Copies one mesh has under way at most. */
export const MAX_OUTSTANDING_MIRRORS = 1024;

export const mirrorLayer: Layer = (next) => (call) => {
  const policies = call.decision?.route.action.requestMirrorPolicies;
  next(call);
  if (policies !== undefined) startMirrors(call, policies);
};

function startMirrors(call: PipelineCall, policies: readonly RequestMirrorPolicy[]): void {
  const services = call.state.services;
  const decision = call.decision;
  if (services === undefined || decision === undefined || services.shadowInvoke === undefined) return;
  const invoke = services.shadowInvoke;
  const tracing = decision.listener?.tracing;
  const b3 = tracing !== undefined && tracing !== false && tracing.kind === 'b3';
  for (const policy of policies) {
    if (policy.runtimeFraction !== undefined && !fractionHit(policy.runtimeFraction, services.random)) continue;
    // A cluster named by a header is read from the request as the route sends it (Envoy reads it after the
    // route's header mutations): the copy is made first.
    let copy = policy.clusterHeader === undefined ? undefined : routedCopy(call.mirrorRequest(bodyBufferLimit(decision)), call);
    const cluster = policy.clusterHeader === undefined ? policy.cluster : clusterNamed(copy, policy.clusterHeader, call);
    if (cluster === undefined) continue;
    const scope = services.stats.cluster(cluster);
    const skipped = () => scope.counter('xmesh.mirror.skipped').inc();
    if (services.outstandingMirrors >= MAX_OUTSTANDING_MIRRORS) {
      skipped();
      continue;
    }
    copy ??= routedCopy(call.mirrorRequest(bodyBufferLimit(decision)), call);
    if (copy === undefined) {
      skipped();
      continue;
    }
    services.outstandingMirrors++;
    const routeTimeoutMs = decision.route.action.timeoutMs;
    const copyTimeoutMs = routeTimeoutMs > 0 ? routeTimeoutMs : UNTIMED_MIRROR_MS;
    const send = (body: Buffer | null | undefined): void => {
      if (body === undefined) {
        services.outstandingMirrors--;
        skipped();
        return;
      }
      const shadow = new ShadowCall(
        call.state,
        { ...copy, headers: shadowTraceHeaders(copy.headers, policy.traceSampled, b3), body },
        policy.disableShadowHostSuffixAppend ? copy.authority : shadowHost(copy.authority),
        { ...decision, cluster },
        copyTimeoutMs,
        (failed) => {
          services.outstandingMirrors--;
          if (failed) scope.counter('xmesh.mirror.failed').inc();
        },
      );
      scope.counter('xmesh.mirror.sent').inc();
      try {
        invoke(shadow);
      } catch (error) {
        // Nothing about a copy may reach the caller: a copy that could not go out is a failed copy.
        shadow.fail(new MeshError('XMESH_CONNECT_FAILED', `mirror copy to "${cluster}" not sent: ${String(error)}`, { cluster }));
      }
    };
    const body = copy.body;
    if (body instanceof Promise) awaitBody(body, copyTimeoutMs, send);
    else send(body);
  }
}

/**
 * The mirror cluster a `cluster_header` names in `copy` (the request as the route sends it): the header's first
 * value, when the mesh has that cluster. As Envoy: a request without the header (or with it empty) is not copied,
 * nor one naming a cluster that does not exist, and neither is counted (a header value never becomes a stats name).
 */
function clusterNamed(copy: MirrorRequest | undefined, header: string, call: PipelineCall): string | undefined {
  if (copy === undefined) return undefined;
  let value: string | readonly string[] | undefined;
  if (header === ':authority') value = copy.authority;
  else if (header === ':path') value = copy.path;
  else if (header === ':method') value = copy.method;
  else value = copy.headers[header];
  const first = (typeof value === 'string' ? value : value?.[0])?.split(',')[0]!.trim();
  if (first === undefined || first === '' || !call.state.clusters.has(first)) return undefined;
  return first;
}

/**
 * The copy as the route sends the request (Envoy's router finalizes the request headers before it
 * copies them for its shadows): the route's header mutations, its Host rewrite (a literal; an endpoint's
 * hostname is the primary's pick, not the copy's) and its path rewrite. Undefined when the rewritten path
 * is refused (the call itself fails with it).
 */
function routedCopy(copy: MirrorRequest | undefined, call: PipelineCall): MirrorRequest | undefined {
  const rewrite = call.decision!.rewrite;
  if (copy === undefined || rewrite === undefined || copy.routed === true) return copy;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(copy.headers)) headers[name] = typeof value === 'string' ? value : [...value];
  const upstream = rewrite.rewriteRequest(new RecordHeaders(headers), call.request, undefined, copy.authority, copy.path);
  if (upstream instanceof MeshError) return undefined;
  return { ...copy, headers, authority: upstream.authority, path: upstream.path };
}

/**
 * Hands `send` the body once the call sent all of it, or undefined (not copied) when it fails or is
 * not whole within `timeoutMs` (a request streaming for ever holds no copy, nor its slot).
 */
function awaitBody(body: Promise<Buffer | null | undefined>, timeoutMs: number, send: (body: Buffer | null | undefined) => void): void {
  let waiting = true;
  const settle = (value: Buffer | null | undefined): void => {
    if (!waiting) return;
    waiting = false;
    clearTimeout(timer);
    send(value);
  };
  const timer = setTimeout(() => settle(undefined), timeoutMs);
  timer.unref();
  body.then(settle, () => settle(undefined));
}

/** Envoy's shadow host: `-shadow` after the host name, before any port (`svc:8080` → `svc-shadow:8080`). */
export function shadowHost(authority: string): string {
  const port = /:\d+$/.exec(authority);
  if (port === null || authority.endsWith(']')) return `${authority}-shadow`;
  return `${authority.slice(0, port.index)}-shadow${port[0]}`;
}

/**
 * The copy's trace headers. Under the Zipkin tracer (`b3`) the copy is a child span of the call's, as
 * Envoy's shadow request is: a new `x-b3-spanid`, the call's span id as `x-b3-parentspanid`, and
 * `x-b3-sampled` as `trace_sampled` says (when set). The `traceparent` sampled flag is set as
 * `trace_sampled` says; unchanged when unset.
 */
function shadowTraceHeaders(headers: MirrorRequest['headers'], sampled: boolean | undefined, b3: boolean): MirrorRequest['headers'] {
  const span = headers['x-b3-spanid'];
  const child = b3 && typeof span === 'string'
    ? { ...headers, 'x-b3-spanid': newSpanId(), 'x-b3-parentspanid': span, ...(sampled === undefined ? {} : { 'x-b3-sampled': sampled ? '1' : '0' }) }
    : headers;
  if (sampled === undefined) return child;
  const traceparent = child['traceparent'];
  if (typeof traceparent !== 'string' || !/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(traceparent)) return child;
  const flags = (parseInt(traceparent.slice(-2), 16) & ~1) | (sampled ? 1 : 0);
  return { ...child, traceparent: `${traceparent.slice(0, -2)}${flags.toString(16).padStart(2, '0')}` };
}
