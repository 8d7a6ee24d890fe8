/**
 * `envoy.filters.http.ext_authz` for one config: asks the authorization server about each request and
 * allows, denies or answers it as Envoy's filter does.
 * - gRPC service: a CheckRequest (source and destination peers, the request's HTTP attributes, the
 *   route's merged `context_extensions`) to `Authorization/Check`; status OK allows (applying the OK
 *   response's header mutations), any other status denies (the denied response's status, default 403,
 *   headers and body are the reply).
 * - HTTP service: the request's method and `path_prefix` + path, with the allowed headers, to the cluster;
 *   200 allows (allowed upstream headers set or appended, `x-envoy-auth-headers-to-remove` removed,
 *   allowed client headers added to the response), 5xx is an error, anything else denies with the
 *   server's status, body and allowed client headers.
 * - The server not reachable, too slow (`timeout`), or answering garbage is an error: with
 *   `failure_mode_allow` the request goes on (with `x-envoy-auth-failure-mode-allowed: true` when
 *   `failure_mode_allow_header_add`), otherwise it is answered `status_on_error` (403) with no body.
 * - `with_request_body`: the body (up to `max_request_bytes`; longer is 413 unless partial) is sent too.
 * Stats: `http.<hcm>.ext_authz.[<stat_prefix>.]{ok,denied,error,failure_mode_allowed,disabled,invalid}`.
 */
import { ErrorCode, MeshError, type LocalReply } from '@xmesh/core';
import { compileStringMatch, type RouteDecision, type StringPredicate } from '@xmesh/router';
import type { Counter } from '@xmesh/stats';
import type { ExtAuthzBufferSettings, ExtAuthzConfig, ExtAuthzGrpcService, ExtAuthzHttpService, ExtAuthzPerRoute, HeaderValueOption, StringMatch } from '@xmesh/xds';
import { fractionHit } from '@xmesh/ratelimit';
import type { BufferedBody, DownstreamConnection, FilterCall } from '../chain/filter-call.js';
import type { SideCallHandle, SideCalls } from '../chain/side-calls.js';
import { decodeCheckResponse, encodeCheckRequest, type CheckHeader, type CheckHttpRequest, type CheckRequestFields } from './check-wire.js';

export interface ExtAuthzStats {
  readonly ok: Counter;
  readonly denied: Counter;
  readonly error: Counter;
  readonly failureModeAllowed: Counter;
  readonly disabled: Counter;
  readonly invalid: Counter;
}

/** How a check ended, for the chain: go on, or end the call with this error. */
export type CheckOutcome = MeshError | undefined;

export const FAILURE_MODE_ALLOWED_HEADER = 'x-envoy-auth-failure-mode-allowed';
export const PARTIAL_BODY_HEADER = 'x-envoy-auth-partial-body';
export const HEADERS_TO_REMOVE_HEADER = 'x-envoy-auth-headers-to-remove';

const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';
/** An HTTP authorization server's response body is bounded like a direct response's. */
const MAX_HTTP_RESPONSE_BYTES = 64 * 1024;
const PAYLOAD_TOO_LARGE: LocalReply = Object.freeze({ status: 413, headers: Object.freeze([]), body: 'Payload Too Large' });
/** Connection-specific headers of an HTTP server's answer, never copied to a reply or a request. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);
/** Headers an HTTP authorization request always carries when present (Envoy's defaults). */
const HTTP_DEFAULT_ALLOWED = new Set([':method', ':path', ':authority', 'host', 'authorization', 'content-length']);

type Matcher = (name: string) => boolean;

export class ExtAuthzFilter {
  private readonly allowed: Matcher | undefined;
  private readonly disallowed: Matcher | undefined;
  private readonly http: {
    readonly upstream: Matcher;
    readonly upstreamAppend: Matcher;
    readonly client: Matcher;
    readonly clientOnSuccess: Matcher;
  } | undefined;
  private nextId = 1;

  constructor(
    readonly config: ExtAuthzConfig,
    private readonly stats: ExtAuthzStats,
    private readonly sideCalls: SideCalls | undefined,
    private readonly random: () => number,
    private readonly now: () => number,
  ) {
    const service = config.service;
    const allowed = config.allowedHeaders === undefined ? undefined : anyOf(config.allowedHeaders);
    this.allowed = service.kind === 'http' ? (name) => HTTP_DEFAULT_ALLOWED.has(name) || (allowed?.(name) ?? false) : allowed;
    this.disallowed = config.disallowedHeaders.length === 0 ? undefined : anyOf(config.disallowedHeaders);
    this.http = service.kind === 'http'
      ? {
          upstream: anyOf(service.allowedUpstreamHeaders),
          upstreamAppend: anyOf(service.allowedUpstreamHeadersToAppend),
          // Unset: every header but Host; set: the listed ones and Envoy's fixed ones.
          client: service.allowedClientHeaders === undefined
            ? (name) => name !== 'host' && name !== ':authority'
            : orNames(anyOf(service.allowedClientHeaders), [':status', 'content-length', 'www-authenticate', 'location']),
          clientOnSuccess: anyOf(service.allowedClientHeadersOnSuccess),
        }
      : undefined;
  }

  /**
   * Checks `call`: returns the outcome when it is known at once (skipped, disabled), else 'pending' and calls
   * `done` once, later (never synchronously), unless the caller cancels first.
   */
  check(call: FilterCall, decision: RouteDecision, filterName: string, embedded: DownstreamConnection, done: (outcome: CheckOutcome) => void): CheckOutcome | 'pending' {
    const perRoute = routeSettings(decision, filterName);
    if (perRoute.disabled) return undefined;
    const config = this.config;
    if (config.filterEnabled !== undefined && !fractionHit(config.filterEnabled, this.random)) {
      this.stats.disabled.inc();
      return config.denyAtDisable ? this.onError(call, true) : undefined;
    }
    const settings = perRoute.disableRequestBodyBuffering ? undefined : perRoute.withRequestBody ?? config.withRequestBody;
    const connection = call.downstreamConnection ?? embedded;
    if (settings === undefined || call.bufferBody === undefined || isUpgrade(call)) {
      return this.send(call, connection, perRoute.contextExtensions, undefined, done);
    }
    let cancelled = false;
    call.onCancel(() => {
      cancelled = true;
    });
    call.bufferBody(settings.maxRequestBytes, settings.allowPartialMessage, (body) => {
      call.onCancel(undefined);
      if (cancelled || call.cancelled) return;
      if (body === 'too_large') {
        done(new MeshError(ErrorCode.LOCAL_REPLY, 'the request body is larger than ext_authz with_request_body.max_request_bytes', { reply: PAYLOAD_TOO_LARGE }));
        return;
      }
      const outcome = this.send(call, connection, perRoute.contextExtensions, typeof body === 'string' ? undefined : { body, settings }, done);
      if (outcome !== 'pending') done(outcome);
    });
    return 'pending';
  }

  /** Sends the check; its result comes to `done` (or at once when no check could be made). */
  private send(
    call: FilterCall,
    connection: DownstreamConnection,
    contextExtensions: Readonly<Record<string, string>>,
    body: { body: { bytes: Buffer; complete: boolean }; settings: ExtAuthzBufferSettings } | undefined,
    done: (outcome: CheckOutcome) => void,
  ): CheckOutcome | 'pending' {
    const sideCalls = this.sideCalls;
    if (sideCalls === undefined) return this.onError(call, false);
    const service = this.config.service;
    let handle: SideCallHandle;
    const finish = (outcome: CheckOutcome): void => {
      call.onCancel(undefined);
      if (call.cancelled) return;
      done(outcome);
    };
    if (service.kind === 'grpc') {
      const message = encodeCheckRequest(this.checkRequest(call, connection, contextExtensions, body, service.kind));
      handle = sideCalls.grpcUnary(
        { cluster: service.cluster, authority: service.authority, path: CHECK_PATH, message, metadata: service.initialMetadata.map((m) => [m.key, m.value] as const), timeoutMs: service.timeoutMs },
        (error, reply) => finish(error !== undefined || reply === undefined ? this.onError(call, false) : this.onGrpcReply(call, reply, service)),
      );
    } else {
      handle = sideCalls.http(this.httpRequest(call, body, service), (error, response) => {
        if (error !== undefined || response === undefined) finish(this.onError(call, false));
        else finish(this.onHttpReply(call, response.status, response.headers, response.body.toString('utf8')));
      });
    }
    call.onCancel(() => handle.cancel());
    return 'pending';
  }

  private checkRequest(
    call: FilterCall,
    connection: DownstreamConnection,
    contextExtensions: Readonly<Record<string, string>>,
    body: { body: { bytes: Buffer; complete: boolean }; settings: ExtAuthzBufferSettings } | undefined,
    kind: 'grpc' | 'http',
  ): CheckRequestFields {
    const request = call.request;
    const headers: [string, string][] = [];
    for (const [name, value] of request.headers) {
      if (name === PARTIAL_BODY_HEADER || !this.sends(name)) continue;
      headers.push([name, value]);
    }
    if (body !== undefined) headers.push([PARTIAL_BODY_HEADER, String(!body.body.complete)]);
    const path = request.path;
    const queryAt = path.indexOf('?');
    const fragmentAt = path.indexOf('#');
    const peer = connection.tls?.peer;
    const http: CheckHttpRequest = {
      id: String(this.nextId++),
      method: request.method,
      headers,
      path,
      host: request.authority,
      scheme: request.headers.get(':scheme') ?? (connection.tls === undefined ? 'http' : 'https'),
      query: queryAt < 0 ? '' : path.slice(queryAt + 1, fragmentAt > queryAt ? fragmentAt : path.length),
      fragment: fragmentAt < 0 ? '' : path.slice(fragmentAt + 1),
      size: body?.body.bytes.length ?? contentLength(call),
      protocol: connection.protocol,
      body: body !== undefined && !(kind === 'grpc' && body.settings.packAsBytes) ? body.body.bytes.toString('utf8') : undefined,
      rawBody: body !== undefined && kind === 'grpc' && body.settings.packAsBytes ? body.body.bytes : undefined,
    };
    return {
      source: {
        address: connection.remoteAddress,
        port: connection.remotePort,
        principal: peer === undefined ? '' : peer.uriSans[0] ?? peer.subject,
        certificate: this.config.includePeerCertificate && peer !== undefined ? encodeURIComponent(peer.pem) : '',
      },
      destination: { address: connection.localAddress, port: connection.localPort, principal: '', certificate: '' },
      timeMs: this.now(),
      http,
      contextExtensions,
    };
  }

  /** The HTTP service's check request: the request's method and prefixed path, its allowed headers, the body when buffered. */
  private httpRequest(
    call: FilterCall,
    body: { body: { bytes: Buffer; complete: boolean }; settings: ExtAuthzBufferSettings } | undefined,
    service: ExtAuthzHttpService,
  ): Parameters<SideCalls['http']>[0] {
    const request = call.request;
    const headers = new Map<string, string>();
    for (const [name, value] of request.headers) {
      if (name.startsWith(':') || name === 'host' || name === 'content-length' || name === PARTIAL_BODY_HEADER || HOP_BY_HOP.has(name) || !this.sends(name)) continue;
      headers.set(name, value);
    }
    if (body !== undefined && this.sends(PARTIAL_BODY_HEADER)) headers.set(PARTIAL_BODY_HEADER, String(!body.body.complete));
    headers.set('host', request.authority);
    headers.set('content-length', String(body?.body.bytes.length ?? 0));
    for (const { key, value } of service.headersToAdd) headers.set(key, value);
    return {
      cluster: service.cluster,
      method: request.method,
      path: service.pathPrefix + request.path,
      headers: [...headers],
      body: body?.body.bytes,
      timeoutMs: service.timeoutMs,
      maxResponseBytes: MAX_HTTP_RESPONSE_BYTES,
    };
  }

  private sends(name: string): boolean {
    if (this.allowed !== undefined && !this.allowed(name)) return false;
    return this.disallowed === undefined || !this.disallowed(name);
  }

  private onGrpcReply(call: FilterCall, reply: Buffer, service: ExtAuthzGrpcService): CheckOutcome {
    const response = decodeCheckResponse(reply);
    if (response instanceof Error) return this.onError(call, false, `the CheckResponse from ${service.cluster} is malformed: ${response.message}`);
    if (response.kind === 'denied') {
      const headers: [string, string][] = [];
      for (const h of response.headers) if (h.append !== true && h.key !== '') headers.push([h.key, h.value]);
      return this.deny(response.status > 0 ? response.status : 403, headers, response.body);
    }
    if (response.queryParameterMutations) {
      return this.invalid('the authorization server asked for query parameter changes, which xmesh does not make');
    }
    if (this.config.validateMutations) {
      for (const h of [...response.headers, ...response.responseHeadersToAdd]) if (!validHeader(h.key, h.value)) return this.invalid(`invalid header "${h.key}" in the CheckResponse`);
    }
    const set: HeaderValueOption[] = [];
    for (const h of response.headers) {
      if (h.key === '') continue;
      if (h.append === true) {
        // Appended only to a header the request has (Envoy joins the values with ",").
        const current = call.request.headers.get(h.key);
        if (current !== undefined) set.push({ key: h.key, value: `${current},${h.value}`, append: false });
      } else {
        set.push({ key: h.key, value: h.value, append: false });
      }
    }
    if (set.length > 0) call.addRequestHeaders?.(set);
    const removable = response.headersToRemove.map((n) => n.toLowerCase()).filter(isRemovable);
    if (removable.length > 0) call.removeRequestHeaders?.(removable);
    const responseHeaders = responseHeadersOf(response.responseHeadersToAdd);
    if (responseHeaders !== undefined) call.addResponseHeaders?.(responseHeaders);
    this.stats.ok.inc();
    return undefined;
  }

  private onHttpReply(call: FilterCall, status: number, headers: readonly (readonly [string, string])[], body: string): CheckOutcome {
    if (status >= 500 && status < 600) return this.onError(call, false);
    const http = this.http!;
    if (status !== 200) {
      const reply: [string, string][] = [];
      for (const [name, value] of headers) if (!HOP_BY_HOP.has(name) && http.client(name) && name !== HEADERS_TO_REMOVE_HEADER) reply.push([name, value]);
      return this.deny(status, reply, body);
    }
    const set: HeaderValueOption[] = [];
    const toRemove: string[] = [];
    const onSuccess: Record<string, string> = {};
    let anyOnSuccess = false;
    for (const [name, value] of headers) {
      if (HOP_BY_HOP.has(name)) continue;
      if (name === HEADERS_TO_REMOVE_HEADER) {
        for (const n of value.split(',')) {
          const removable = n.trim().toLowerCase();
          if (removable !== '' && isRemovable(removable)) toRemove.push(removable);
        }
        continue;
      }
      if (http.upstream(name)) set.push({ key: name, value, append: false });
      if (http.upstreamAppend(name)) set.push({ key: name, value, append: true });
      if (http.clientOnSuccess(name)) {
        onSuccess[name] = value;
        anyOnSuccess = true;
      }
    }
    if (set.length > 0) call.addRequestHeaders?.(set);
    if (toRemove.length > 0) call.removeRequestHeaders?.(toRemove);
    if (anyOnSuccess) call.addResponseHeaders?.(onSuccess);
    this.stats.ok.inc();
    return undefined;
  }

  private deny(status: number, headers: readonly (readonly [string, string])[], body: string): MeshError {
    this.stats.denied.inc();
    return new MeshError(ErrorCode.DENIED, `the authorization server denied the request (${status})`, { reply: { status, headers, body } });
  }

  /** The server could not be asked (or its answer was unusable): allowed with failure_mode_allow, else `status_on_error`. */
  private onError(call: FilterCall, disabled: boolean, why = 'the authorization server could not be reached'): CheckOutcome {
    const config = this.config;
    if (disabled) return reject(config.statusOnError, 'ext_authz is disabled for this request and deny_at_disable is set');
    this.stats.error.inc();
    if (config.failureModeAllow) {
      this.stats.failureModeAllowed.inc();
      if (config.failureModeAllowHeaderAdd) call.addRequestHeaders?.([{ key: FAILURE_MODE_ALLOWED_HEADER, value: 'true', append: false }]);
      return undefined;
    }
    return reject(config.statusOnError, why);
  }

  /** A CheckResponse xmesh cannot apply: 500, as Envoy answers an invalid one. */
  private invalid(why: string): MeshError {
    this.stats.invalid.inc();
    return reject(500, why);
  }
}

function reject(status: number, why: string): MeshError {
  return new MeshError(ErrorCode.DENIED, why, { reply: { status, headers: [], body: '' } });
}

/**
 * The route's ExtAuthzPerRoute: disabled by the most specific one (weighted cluster, route, virtual host);
 * `context_extensions` merged over all of them, the more specific key winning; the most specific body settings.
 */
function routeSettings(decision: RouteDecision, name: string): {
  disabled: boolean;
  contextExtensions: Readonly<Record<string, string>>;
  disableRequestBodyBuffering: boolean;
  withRequestBody: ExtAuthzBufferSettings | undefined;
} {
  const levels = [decision.virtualHost.typedPerFilterConfig[name], decision.route.typedPerFilterConfig[name], decision.weightedEntry.typedPerFilterConfig[name]];
  let mostSpecific: ExtAuthzPerRoute | { kind: 'filter_disabled' } | undefined;
  let contextExtensions: Record<string, string> | undefined;
  for (const level of levels) {
    if (level === undefined) continue;
    if (level.kind === 'disabled') {
      mostSpecific = { kind: 'filter_disabled' };
      continue;
    }
    if (level.kind !== 'ext_authz') continue;
    mostSpecific = level.config;
    if (level.config.kind === 'check_settings') contextExtensions = { ...contextExtensions, ...level.config.contextExtensions };
  }
  const settings = mostSpecific?.kind === 'check_settings' ? mostSpecific : undefined;
  return {
    disabled: mostSpecific?.kind === 'disabled' || mostSpecific?.kind === 'filter_disabled',
    contextExtensions: contextExtensions ?? NO_EXTENSIONS,
    disableRequestBodyBuffering: settings?.disableRequestBodyBuffering ?? false,
    withRequestBody: settings?.withRequestBody,
  };
}

const NO_EXTENSIONS: Readonly<Record<string, string>> = Object.freeze({});

function anyOf(matches: readonly StringMatch[]): Matcher {
  const predicates: StringPredicate[] = matches.map((m) => compileStringMatch(m, 'ext_authz'));
  return (name) => predicates.some((p) => p(name));
}

function orNames(matcher: Matcher, names: readonly string[]): Matcher {
  const fixed = new Set(names);
  return (name) => fixed.has(name) || matcher(name);
}

/**
 * The OK response's `response_headers_to_add` as the headers the caller's response gets: appended values
 * (`append: true`, or the default APPEND_IF_EXISTS_OR_ADD) join a repeated name with ","; overwriting ones
 * replace it. The response's own value of the header is replaced either way.
 */
function responseHeadersOf(headers: readonly CheckHeader[]): Record<string, string> | undefined {
  if (headers.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const h of headers) if (h.key !== '') out[h.key] = out[h.key] === undefined || h.append === false || h.appendAction === 2 ? h.value : `${out[h.key]},${h.value}`;
  return out;
}

/** Envoy never lets ext_authz remove pseudo-headers or Host. */
function isRemovable(name: string): boolean {
  return name !== '' && !name.startsWith(':') && name !== 'host';
}

function validHeader(name: string, value: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name) && !/[\0\r\n]/.test(value);
}

function contentLength(call: FilterCall): number {
  const value = Number(call.request.headers.get('content-length') ?? '0');
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}

function isUpgrade(call: FilterCall): boolean {
  return call.request.headers.has('upgrade') || call.request.method === 'CONNECT';
}

export type { BufferedBody };
