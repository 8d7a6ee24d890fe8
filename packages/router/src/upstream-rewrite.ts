/**
 * What a route decision changes in the upstream request and in the response, compiled once per
 * decision so front ends (the mesh's HTTP dispatcher and gRPC calls, the sidecar's forwarders) apply
 * the same thing in one call. The order is Envoy's (RouteEntryImplBase::finalizeRequestHeaders and
 * WeightedClusterEntry): the weighted cluster's header mutations, then the route's, virtual host's and
 * route configuration's (reversed with `most_specific_header_mutations_wins`); then the Host (the
 * weighted cluster's `host_rewrite_literal`, overridden by the route's, overridden by
 * `auto_host_rewrite` once an endpoint with a hostname is picked); then the path (the listener's
 * normalization, then `prefix_rewrite` or `regex_rewrite`). A decision with none of these has no
 * UpstreamRewrite at all: routes without rewrites cost nothing.
 */
import { RE2JS } from 're2js';
import type { Endpoint, MeshError } from '@xmesh/core';
import type { HeaderMutation, ListenerConfig, PathMatch, RegexRewrite, Route, RouteConfig, VirtualHost, WeightedClusterEntry } from '@xmesh/xds';
import { HeaderMutator, requestReader, type FormatContext, type HeaderWriter, type RequestFields } from './header-mutation.js';
import { PathNormalizer } from './path-normalization.js';

export class UpstreamRewrite {
  /** The path sent may differ from the request's (normalization, prefix or regex rewrite). */
  readonly rewritesPath: boolean;
  readonly mutatesRequestHeaders: boolean;
  /** The Host may be rewritten (literal, or the endpoint's hostname). */
  readonly rewritesHost: boolean;
  readonly mutatesResponseHeaders: boolean;

  constructor(
    private readonly normalizer: PathNormalizer | undefined,
    private readonly pathRewrite: ((path: string) => string) | undefined,
    private readonly requestLevels: readonly HeaderMutator[],
    private readonly responseLevels: readonly HeaderMutator[],
    private readonly host: { readonly literal: string | undefined; readonly fromEndpoint: boolean; readonly appendForwardedHost: boolean; readonly routeLiteral: boolean },
  ) {
    this.rewritesPath = normalizer !== undefined || pathRewrite !== undefined;
    this.mutatesRequestHeaders = requestLevels.length > 0;
    this.rewritesHost = host.literal !== undefined || host.fromEndpoint;
    this.mutatesResponseHeaders = responseLevels.length > 0;
  }

  /** The path to send for the request's `path` (query included): itself when unchanged; a MeshError (400) when normalization rejects it. */
  upstreamPath(path: string): string | MeshError {
    let out = path;
    if (this.normalizer !== undefined) {
      const normalized = this.normalizer.normalize(path);
      if (typeof normalized !== 'string') return normalized;
      out = normalized;
    }
    return this.pathRewrite === undefined ? out : this.pathRewrite(out);
  }

  /** Applies the request header mutations to `target`, the request's headers as they go upstream. */
  requestHeaders(target: HeaderWriter, request: RequestFields): void {
    const context: FormatContext = { request: requestReader(target, request), response: undefined };
    for (const level of this.requestLevels) level.apply(target, context);
  }

  /**
   * The authority to send for a request to `authority` picked to `endpoint`; `authority` itself when
   * not rewritten. With `append_x_forwarded_host`, a route's rewrite appends the original to
   * `x-forwarded-host` in `target`.
   */
  upstreamAuthority(authority: string, endpoint: Endpoint | undefined, target: HeaderWriter | undefined): string {
    const host = this.host;
    const fromEndpoint = host.fromEndpoint ? endpoint?.hostname || undefined : undefined;
    const rewritten = fromEndpoint ?? host.literal;
    if (rewritten === undefined) return authority;
    if (host.appendForwardedHost && target !== undefined && (fromEndpoint !== undefined || host.routeLiteral)) {
      target.append('x-forwarded-host', authority);
    }
    return rewritten;
  }

  /**
   * The request side for one attempt, in Envoy's order: header mutations into `target`, then the
   * authority, then the path. Returns the authority and path to send (`authority` / `path` themselves
   * when unchanged), or the MeshError a refused path ends the call with.
   */
  rewriteRequest(target: HeaderWriter, request: RequestFields, endpoint: Endpoint | undefined, authority: string, path: string): { authority: string; path: string } | MeshError {
    if (this.mutatesRequestHeaders) this.requestHeaders(target, request);
    const upstreamAuthority = this.rewritesHost ? this.upstreamAuthority(authority, endpoint, target) : authority;
    const upstreamPath = this.rewritesPath ? this.upstreamPath(path) : path;
    return typeof upstreamPath === 'string' ? { authority: upstreamAuthority, path: upstreamPath } : upstreamPath;
  }

  /** Applies the response header mutations to `target`, the response's headers as the caller gets them. */
  responseHeaders(target: HeaderWriter, request: RequestFields): void {
    const context: FormatContext = { request: requestReader(request.headers, request), response: target };
    for (const level of this.responseLevels) level.apply(target, context);
  }
}

/** The rewrite of one decision, or undefined when it changes nothing. */
export function compileUpstreamRewrite(
  listener: ListenerConfig | undefined,
  routeConfig: RouteConfig,
  virtualHost: VirtualHost,
  route: Route,
  entry: WeightedClusterEntry,
): UpstreamRewrite | undefined {
  const normalizer = listener?.pathNormalization === undefined ? undefined : new PathNormalizer(listener.pathNormalization);
  const pathRewrite = compilePathRewrite(route.match.path, route.action.prefixRewrite, route.action.regexRewrite);
  const routeLevels = routeConfig.mostSpecificHeaderMutationsWins === true ? [routeConfig, virtualHost, route] : [route, virtualHost, routeConfig];
  const requestLevels = mutators([entry.requestHeaders, ...routeLevels.map((l) => l.requestHeaders)]);
  const responseLevels = mutators([entry.responseHeaders, ...routeLevels.map((l) => l.responseHeaders)]);
  const routeLiteral = route.action.hostRewriteLiteral;
  const host = {
    literal: routeLiteral ?? entry.hostRewriteLiteral,
    fromEndpoint: route.action.autoHostRewrite === true,
    appendForwardedHost: route.action.appendXForwardedHost === true,
    routeLiteral: routeLiteral !== undefined,
  };
  if (normalizer === undefined && pathRewrite === undefined && requestLevels.length === 0 && responseLevels.length === 0 && host.literal === undefined && !host.fromEndpoint) {
    return undefined;
  }
  return new UpstreamRewrite(normalizer, pathRewrite, requestLevels, responseLevels, host);
}

function mutators(levels: readonly (HeaderMutation | undefined)[]): HeaderMutator[] {
  const out: HeaderMutator[] = [];
  for (const level of levels) if (level !== undefined && (level.add.length > 0 || level.remove.length > 0)) out.push(new HeaderMutator(level));
  return out;
}

/**
 * `prefix_rewrite` replaces what the route matched (the prefix; the whole path for `path` and
 * `safe_regex` matches) and keeps the rest, query included; `regex_rewrite` replaces every match in
 * the path before the query, and an empty result leaves the path as it was (Envoy's
 * rewritePathByPrefixOrRegex).
 */
export function compilePathRewrite(match: PathMatch, prefixRewrite: string | undefined, regexRewrite: RegexRewrite | undefined): ((path: string) => string) | undefined {
  if (prefixRewrite !== undefined && prefixRewrite !== '') {
    if (match.kind === 'prefix' || match.kind === 'path_separated_prefix') {
      const length = match.value.length;
      return (path) => prefixRewrite + path.slice(length);
    }
    return (path) => prefixRewrite + path.slice(pathEnd(path));
  }
  if (regexRewrite === undefined) return undefined;
  const regex = RE2JS.compile(regexRewrite.regex);
  const substitute = compileSubstitution(regexRewrite.substitution);
  return (path) => {
    const end = pathEnd(path);
    const replaced = regex.matcher(path.slice(0, end)).replaceAll(substitute);
    return replaced === '' ? path : replaced + path.slice(end);
  };
}

/** Where the path ends: at the first `?` or `#` (Envoy's removeQueryAndFragment). */
function pathEnd(path: string): number {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) return i;
  }
  return path.length;
}

/** RE2 rewrite syntax (`\1`, `\0`, `\\`; checked when decoded) as a replacer for re2js's replaceAll (match, groups..., offset, input). */
function compileSubstitution(substitution: string): (...args: unknown[]) => string {
  const parts: (string | number)[] = [];
  let text = '';
  for (let i = 0; i < substitution.length; i++) {
    const c = substitution[i]!;
    if (c !== '\\') {
      text += c;
      continue;
    }
    const next = substitution[++i]!;
    if (next === '\\') {
      text += '\\';
      continue;
    }
    if (text !== '') parts.push(text);
    text = '';
    parts.push(Number(next));
  }
  if (text !== '') parts.push(text);
  return (...args) => {
    let out = '';
    for (const part of parts) out += typeof part === 'string' ? part : ((args[part] as string | null | undefined) ?? '');
    return out;
  };
}
