/** `envoy.config.endpoint.v3.LbEndpoint` → an `Endpoint` of @xmesh/core, with the paths later checks report at. */
import { endpointId, type Endpoint, type HealthStatus, type Locality } from '@xmesh/core';
import { deepFreeze } from '../freeze.js';
import { ignoreListed, Messages } from './ignored-fields.js';
import { rejectUnsupported } from './fields.js';
import { describe, type Reader } from './reader.js';

const HEALTH_STATUSES = ['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED'] as const satisfies readonly HealthStatus[];
const HEALTH_STATUS_NUMBERS: Readonly<Record<number, HealthStatus>> = { ...HEALTH_STATUSES };

/** What the enclosing LocalityLbEndpoints gives each of its endpoints. */
export interface LocalityContext {
  readonly locality: Locality;
  readonly priority: number;
  readonly localityWeight: number | undefined;
}

export interface DecodedEndpoint {
  readonly endpoint: Endpoint;
  /** Path of `endpoint.address`, for duplicate reports. */
  readonly addressPath: string;
  /** Path of `endpoint.address.socket_address.address`, for per-cluster-type address checks. */
  readonly hostPath: string;
}

/** Decodes one lb_endpoints[] entry; undefined when it has no usable address (the error is recorded). */
export function decodeLbEndpoint(r: Reader, ctx: LocalityContext): DecodedEndpoint | undefined {
  const healthStatus = r.enumOf('health_status', HEALTH_STATUSES, 'UNKNOWN', HEALTH_STATUS_NUMBERS);
  const weight = r.int('load_balancing_weight', 1, 1);
  const metadata = decodeFilterMetadata(r.obj('metadata'));
  if (!r.has('endpoint') && !r.has('endpoint_name')) r.error('endpoint', 'is required');
  const address = decodeEndpoint(r.obj('endpoint'));
  // endpoint_name (a named_endpoints reference) is left to finish(): named endpoints are not supported.
  r.finish();
  if (!address) return undefined;
  return {
    endpoint: {
      id: endpointId(address.host, address.port),
      host: address.host,
      port: address.port,
      weight,
      healthStatus,
      priority: ctx.priority,
      locality: ctx.locality,
      localityWeight: ctx.localityWeight,
      metadata,
    },
    addressPath: address.addressPath,
    hostPath: address.hostPath,
  };
}

interface DecodedAddress {
  readonly host: string;
  readonly port: number;
  readonly addressPath: string;
  readonly hostPath: string;
}

function decodeEndpoint(r: Reader | undefined): DecodedAddress | undefined {
  if (!r) return undefined;
  if (!r.has('address')) r.error('address', 'is required');
  const address = r.obj('address');
  let decoded: DecodedAddress | undefined;
  if (address) {
    const other = address.has('pipe') || address.has('envoy_internal_address');
    rejectUnsupported(address, { pipe: 'upstreams are reached over TCP', envoy_internal_address: 'upstreams are reached over TCP' });
    if (!other && !address.has('socket_address')) address.error('socket_address', 'is required');
    const socket = address.obj('socket_address');
    const hostPort = socket ? decodeSocketAddress(socket) : undefined;
    if (hostPort) decoded = { ...hostPort, addressPath: address.path, hostPath: socket!.at('address') };
    address.finish();
  }
  ignoreListed(r, Messages.ENDPOINT);
  // additional_addresses is left to finish(): not supported.
  r.finish();
  return decoded;
}

function decodeSocketAddress(r: Reader): { host: string; port: number } | undefined {
  const protocol = r.enumOf('protocol', ['TCP', 'UDP'] as const, 'TCP', { 0: 'TCP', 1: 'UDP' });
  if (protocol !== 'TCP') r.error('protocol', 'only TCP is supported for upstream endpoints');
  const host = r.requiredStr('address');
  rejectUnsupported(r, {
    named_port: 'use port_value',
    resolver_name: 'custom resolvers; give an IP address or a DNS name',
  });
  let port: number | undefined;
  if (!r.has('port_value')) {
    r.get('port_value');
    if (!r.has('named_port')) r.error('port_value', 'is required');
  } else {
    port = r.int('port_value', 0, 1, 65_535);
  }
  ignoreListed(r, Messages.SOCKET_ADDRESS);
  r.finish();
  return host !== '' && port !== undefined && port !== 0 ? { host, port } : undefined;
}

/**
 * `metadata.filter_metadata` as plain, deep-frozen data (a copy: the input is not frozen). Each entry must be an
 * object (a google.protobuf.Struct).
 */
export function decodeFilterMetadata(r: Reader | undefined): Readonly<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  if (!r) return deepFreeze(out);
  for (const { key, value, path } of r.entries('filter_metadata')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      r.issues.error(path, `must be an object, got ${describe(value)}`);
      continue;
    }
    Object.defineProperty(out, key, { value: structuredClone(value), enumerable: true, writable: true, configurable: true });
  }
  ignoreListed(r, Messages.METADATA);
  r.finish();
  return deepFreeze(out);
}
