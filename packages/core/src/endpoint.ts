/** Envoy's `envoy.config.core.v3.HealthStatus`, as names. */
export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

/** One upstream host. `id` is `host:port` and is the key that per-endpoint state survives under. */
export interface Endpoint {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly weight: number;
  readonly healthStatus: HealthStatus;
  readonly priority: number;
  readonly locality: Locality;
  readonly localityWeight: number | undefined;
  /** Filter metadata from the endpoint (e.g. `envoy.lb` subset keys), frozen. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /**
   * The host's name, as Envoy's `auto_host_rewrite` puts it in Host: the DNS name an endpoint of a
   * STRICT_DNS / LOGICAL_DNS cluster was resolved from, else the endpoint's `hostname` field; absent when neither.
   */
  readonly hostname?: string;
  /** `health_check_config`: where and how active health checks reach this host; absent = the endpoint itself. */
  readonly healthCheck?: EndpointHealthCheck;
}

/** `Endpoint.HealthCheckConfig`. */
export interface EndpointHealthCheck {
  /** `address`: the host checks go to; absent = the endpoint's. */
  readonly host?: string;
  /** `port_value` (or the port of `address`); absent = the endpoint's. */
  readonly port?: number;
  /** `hostname`: the Host / `:authority` of HTTP and gRPC checks (before the check's own `host`). */
  readonly hostname?: string;
  /** `disable_active_health_check`: this host is never checked (and counts as passing). */
  readonly disabled?: boolean;
}

export function endpointId(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** True for the statuses Envoy routes to in normal operation (UNKNOWN, HEALTHY). */
export function isServing(status: HealthStatus): boolean {
  return status === 'HEALTHY' || status === 'UNKNOWN';
}
