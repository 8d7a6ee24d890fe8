import type { HeaderMap } from '@xmesh/core';
import type { ListenerConfig, Route, RouteConfig, VirtualHost, WeightedClusterEntry } from '@xmesh/xds';
import type { UpstreamRewrite } from './upstream-rewrite.js';
import type { LocalRouteAnswer } from './local-route.js';

/** What the router reads from a request. */
export interface RouteRequest {
  /** `host[:port]` as the app addressed it (`:authority` / Host). */
  readonly authority: string;
  /** `:path`; may include a query string, which path matching ignores. */
  readonly path: string;
  /** `POST` for gRPC. */
  readonly method: string;
  /** Lower-case names. */
  readonly headers: HeaderMap;
  /** True when content-type is `application/grpc*`. */
  readonly grpc: boolean;
  /**
   * The Listener this request must use (an `xds:///name` target names one, as gRPC clients resolve
   * it): no other listener is chosen; when the snapshot lacks it the request has no route.
   */
  readonly listener?: string;
}

/** The request fields header matchers read; `CallContext` and `RouteRequest` both have them. */
export type HeaderSource = Pick<RouteRequest, 'authority' | 'path' | 'method' | 'headers'>;

/** Where a request goes. Decisions are precomputed and shared: treat them as immutable. */
export interface RouteDecision {
  /** The listener whose routes were used; undefined when every route config was searched. */
  readonly listener: ListenerConfig | undefined;
  readonly routeConfig: RouteConfig;
  readonly virtualHost: VirtualHost;
  readonly route: Route;
  /** The chosen cluster, after the weighted pick. */
  readonly cluster: string;
  readonly weightedEntry: WeightedClusterEntry;
  /** What the decision changes in the upstream request and the response; undefined when nothing. */
  readonly rewrite: UpstreamRewrite | undefined;
  /**
   * Set when the route answers itself (`direct_response`, `redirect`; `cluster` is then ''): the answer is given
   * once the HTTP filters passed the request, as Envoy's router gives it.
   */
  readonly local?: LocalRouteAnswer;
}
