/**
 * Stable error codes. A code is a contract: it never changes meaning once published.
 * Each maps to the gRPC status a caller would expect (see `grpcStatusOf`).
 */
export const ErrorCode = {
  CONFIG_INVALID: 'XMESH_CONFIG_INVALID',
  NO_ROUTE: 'XMESH_NO_ROUTE',
  NO_CLUSTER: 'XMESH_NO_CLUSTER',
  NO_HEALTHY_UPSTREAM: 'XMESH_NO_HEALTHY_UPSTREAM',
  CIRCUIT_OPEN: 'XMESH_CIRCUIT_OPEN',
  RATE_LIMITED: 'XMESH_RATE_LIMITED',
  FAULT_ABORT: 'XMESH_FAULT_ABORT',
  TIMEOUT: 'XMESH_TIMEOUT',
  CANCELLED: 'XMESH_CANCELLED',
  CONNECT_FAILED: 'XMESH_CONNECT_FAILED',
  UPSTREAM_RESET: 'XMESH_UPSTREAM_RESET',
  UPSTREAM_STATUS: 'XMESH_UPSTREAM_STATUS',
  /** The upstream's response broke HTTP (status 0, an unparsable status line): Envoy's "reset reason: protocol error". */
  UPSTREAM_PROTOCOL: 'XMESH_UPSTREAM_PROTOCOL',
  PROTOCOL: 'XMESH_PROTOCOL',
  MESSAGE_TOO_LARGE: 'XMESH_MESSAGE_TOO_LARGE',
  CLOSED: 'XMESH_CLOSED',
  /** DNS resolution of an upstream host failed; the last good answer stays in use. */
  DNS_FAILED: 'XMESH_DNS_FAILED',
  /**
   * The TLS handshake with the upstream failed: its certificate is expired, not from a trusted CA, or matches no
   * SAN matcher, or it refused ours. A connect failure for retries (`connect-failure`) and outlier detection.
   */
  TLS_HANDSHAKE_FAILED: 'XMESH_TLS_HANDSHAKE_FAILED',
  /** The service registry (etcd) cannot be reached or refused an operation; clients keep their last good endpoints. */
  REGISTRY_UNAVAILABLE: 'XMESH_REGISTRY_UNAVAILABLE',
  /**
   * An authorization filter refused the request: `rbac` (403 `RBAC: access denied`), `ext_authz` (the
   * authorization server's denial, or `status_on_error` when it could not be asked). The response the
   * caller gets is in the error's `reply`.
   */
  DENIED: 'XMESH_DENIED',
  /**
   * The mesh answered the request itself, as the config says: a `direct_response` or `redirect` route, a
   * CORS preflight, a request over a `buffer` limit, an upgrade the listener does not allow. Not a failure
   * for an HTTP caller (`fetch` resolves with the response in `reply`); a gRPC caller gets the status Envoy
   * derives from the HTTP status (200 → UNKNOWN).
   */
  LOCAL_REPLY: 'XMESH_LOCAL_REPLY',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** gRPC status codes (numeric values as on the wire). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatus = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/** One validation problem: `path` is the field path in the input, e.g. `clusters[2].lb_policy`. */
export interface FieldError {
  readonly path: string;
  readonly message: string;
  /** 1-based line in the source text, when the input came from a file. */
  readonly line?: number;
}

/**
 * The response a filter or a route specifies for a request the mesh answers itself, as Envoy sends it
 * (`sendLocalReply`): HTTP callers get `status`, `headers` and `body`; gRPC callers a trailers-only
 * response with the error's `grpcStatus`, `body` as `grpc-message`, and `headers`.
 */
export interface LocalReply {
  readonly status: number;
  /** Lower-case names; each replaces the header of that name Envoy's reply would have (repeated names add). */
  readonly headers: readonly (readonly [name: string, value: string])[];
  readonly body: string;
  /** True when the route itself answered (direct_response, redirect): the route's response header mutations apply, as Envoy's router applies them. */
  readonly route?: boolean;
}

export interface MeshErrorOptions {
  readonly cause?: unknown;
  readonly cluster?: string;
  readonly endpoint?: string;
  /** The gRPC status to surface; defaults from the code. */
  readonly grpcStatus?: GrpcStatus;
  /** The HTTP status to surface; defaults from the code. */
  readonly httpStatus?: number;
  /** Validation errors, for XMESH_CONFIG_INVALID. */
  readonly errors?: readonly FieldError[];
  /** The response the caller gets, when the config specifies it (XMESH_DENIED, XMESH_LOCAL_REPLY); its status is the error's HTTP status. */
  readonly reply?: LocalReply;
}

const DEFAULT_GRPC: Record<ErrorCode, GrpcStatus> = {
  XMESH_CONFIG_INVALID: GrpcStatus.INVALID_ARGUMENT,
  XMESH_NO_ROUTE: GrpcStatus.UNIMPLEMENTED,
  XMESH_NO_CLUSTER: GrpcStatus.UNAVAILABLE,
  XMESH_NO_HEALTHY_UPSTREAM: GrpcStatus.UNAVAILABLE,
  XMESH_CIRCUIT_OPEN: GrpcStatus.UNAVAILABLE,
  XMESH_RATE_LIMITED: GrpcStatus.RESOURCE_EXHAUSTED,
  XMESH_FAULT_ABORT: GrpcStatus.UNAVAILABLE,
  XMESH_TIMEOUT: GrpcStatus.DEADLINE_EXCEEDED,
  XMESH_CANCELLED: GrpcStatus.CANCELLED,
  XMESH_CONNECT_FAILED: GrpcStatus.UNAVAILABLE,
  XMESH_UPSTREAM_RESET: GrpcStatus.UNAVAILABLE,
  XMESH_UPSTREAM_STATUS: GrpcStatus.UNKNOWN,
  XMESH_UPSTREAM_PROTOCOL: GrpcStatus.UNAVAILABLE,
  XMESH_PROTOCOL: GrpcStatus.INTERNAL,
  XMESH_MESSAGE_TOO_LARGE: GrpcStatus.RESOURCE_EXHAUSTED,
  XMESH_CLOSED: GrpcStatus.UNAVAILABLE,
  XMESH_DNS_FAILED: GrpcStatus.UNAVAILABLE,
  XMESH_TLS_HANDSHAKE_FAILED: GrpcStatus.UNAVAILABLE,
  XMESH_REGISTRY_UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  XMESH_DENIED: GrpcStatus.PERMISSION_DENIED,
  XMESH_LOCAL_REPLY: GrpcStatus.UNKNOWN,
};

const DEFAULT_HTTP: Record<ErrorCode, number> = {
  XMESH_CONFIG_INVALID: 500,
  XMESH_NO_ROUTE: 404,
  XMESH_NO_CLUSTER: 503,
  XMESH_NO_HEALTHY_UPSTREAM: 503,
  XMESH_CIRCUIT_OPEN: 503,
  XMESH_RATE_LIMITED: 429,
  XMESH_FAULT_ABORT: 503,
  XMESH_TIMEOUT: 504,
  XMESH_CANCELLED: 499,
  XMESH_CONNECT_FAILED: 503,
  XMESH_UPSTREAM_RESET: 503,
  XMESH_UPSTREAM_STATUS: 502,
  XMESH_UPSTREAM_PROTOCOL: 502,
  XMESH_PROTOCOL: 502,
  XMESH_MESSAGE_TOO_LARGE: 413,
  XMESH_CLOSED: 503,
  XMESH_DNS_FAILED: 503,
  XMESH_TLS_HANDSHAKE_FAILED: 503,
  XMESH_REGISTRY_UNAVAILABLE: 503,
  XMESH_DENIED: 403,
  XMESH_LOCAL_REPLY: 200,
};

const BRAND = Symbol.for('xmesh.MeshError');

/**
 * The one error type xmesh raises. `code` is stable; `message` is for humans.
 * Branded so `isMeshError` works across package copies.
 */
export class MeshError extends Error {
  readonly code: ErrorCode;
  readonly cluster: string | undefined;
  readonly endpoint: string | undefined;
  readonly grpcStatus: GrpcStatus;
  readonly httpStatus: number;
  readonly errors: readonly FieldError[];
  /** The response the config specifies for this end (see LocalReply); undefined for the mesh's own failures. */
  readonly reply: LocalReply | undefined;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, options: MeshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MeshError';
    this.code = code;
    this.cluster = options.cluster;
    this.endpoint = options.endpoint;
    this.grpcStatus = options.grpcStatus ?? (options.reply === undefined ? DEFAULT_GRPC[code] : grpcStatusFromHttp(options.reply.status));
    this.httpStatus = options.httpStatus ?? options.reply?.status ?? DEFAULT_HTTP[code];
    this.errors = Object.freeze([...(options.errors ?? [])]);
    this.reply = options.reply;
  }
}

export function isMeshError(value: unknown): value is MeshError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

export function hasCode<C extends ErrorCode>(value: unknown, code: C): value is MeshError & { code: C } {
  return isMeshError(value) && value.code === code;
}

/** Formats field errors one per line, `path: message`, as `xmesh validate` prints them. */
export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.path}: ${e.message}${e.line === undefined ? '' : ` (line ${e.line})`}`).join('\n');
}

/**
 * The gRPC status for an HTTP status when a response carries no grpc-status
 * (gRPC's "HTTP to gRPC Status Code Mapping").
 */
export function grpcStatusFromHttp(httpStatus: number): GrpcStatus {
  switch (httpStatus) {
    case 400: return GrpcStatus.INTERNAL;
    case 401: return GrpcStatus.UNAUTHENTICATED;
    case 403: return GrpcStatus.PERMISSION_DENIED;
    case 404: return GrpcStatus.UNIMPLEMENTED;
    case 429: case 502: case 503: case 504: return GrpcStatus.UNAVAILABLE;
    default: return GrpcStatus.UNKNOWN;
  }
}
