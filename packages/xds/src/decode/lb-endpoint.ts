/** `envoy.config.endpoint.v3.LbEndpoint` → an `Endpoint` of @xmesh/core, and the paths later checks report at. */
import { endpointId, type Endpoint, type EndpointHealthCheck, type HealthStatus, type Locality } from '@xmesh/core';
import { deepFreeze } from '../freeze.js';
import { IGNORED_FIELDS, Messages } from './ignored-fields.js';
import { rejectUnsupported } from './fields.js';
import { describe, Issues, Reader } from './reader.js';

const HEALTH_STATUSES = ['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED'] as const satisfies readonly HealthStatus[];
const HEALTH_STATUS_NUMBERS: Readonly<Record<number, HealthStatus>> = { ...HEALTH_STATUSES };

/** What the enclosing LocalityLbEndpoints gives each of its endpoints. */
export interface LocalityContext {
  readonly locality: Locality;
  readonly priority: number;
  readonly localityWeight: number | undefined;
}

/** Field lists of IGNORED_FIELDS for the messages read once per endpoint, in that list's order. */
const ignoredIn = (message: string): readonly string[] => IGNORED_FIELDS.filter((f) => f.message === message).map((f) => f.field);
const ENDPOINT_IGNORED = ignoredIn(Messages.ENDPOINT);
const SOCKET_ADDRESS_IGNORED = ignoredIn(Messages.SOCKET_ADDRESS);
const METADATA_IGNORED = ignoredIn(Messages.METADATA);

const ADDRESS_UNSUPPORTED = { pipe: 'upstreams are reached over TCP', envoy_internal_address: 'upstreams are reached over TCP' } as const;
const SOCKET_ADDRESS_UNSUPPORTED = {
  named_port: 'use port_value',
  resolver_name: 'custom resolvers; give an IP address or a DNS name',
} as const;

/** The metadata of every endpoint that has none. */
const NO_METADATA: Readonly<Record<string, unknown>> = Object.freeze({});

/** `SocketAddress.protocol` (Envoy's enum, by name and number). */
export const PROTOCOLS = ['TCP', 'UDP'] as const;
export const PROTOCOL_NUMBERS = { 0: 'TCP', 1: 'UDP' } as const;

/**
 * Decodes one lb_endpoints[] entry to a frozen Endpoint (its locality and metadata frozen too); undefined when it
 * has no usable address (the error is recorded). Later checks find their paths with addressPathOf / hostPathOf.
 */
export function decodeLbEndpoint(r: Reader, ctx: LocalityContext): Endpoint | undefined {
  const healthStatus = r.enumOf('health_status', HEALTH_STATUSES, 'UNKNOWN', HEALTH_STATUS_NUMBERS);
  const weight = r.int('load_balancing_weight', 1, 1);
  const metadata = decodeFilterMetadata(r.obj('metadata'));
  if (!r.has('endpoint') && !r.has('endpoint_name')) r.error('endpoint', 'is required');
  const address = decodeEndpoint(r.obj('endpoint'));
  // endpoint_name (a named_endpoints reference) is left to finish(): named endpoints are not supported.
  r.finish();
  if (!address) return undefined;
  return Object.freeze({
    id: endpointId(address.host, address.port),
    host: address.host,
    port: address.port,
    weight,
    healthStatus,
    priority: ctx.priority,
    locality: ctx.locality,
    localityWeight: ctx.localityWeight,
    metadata,
    ...(address.hostname === undefined ? {} : { hostname: address.hostname }),
    ...(address.healthCheck === undefined ? {} : { healthCheck: address.healthCheck }),
  });
}

/** Path of `endpoint.address` (as spelled) in an lb endpoint decoded by decodeLbEndpoint: duplicates are reported there. */
export function addressPathOf(r: Reader): string {
  return nestedAt(r, ['endpoint'], 'address');
}

/** Path of `endpoint.address.socket_address.address` in an lb endpoint decoded by decodeLbEndpoint. */
export function hostPathOf(r: Reader): string {
  return nestedAt(r, ['endpoint', 'address', 'socket_address'], 'address');
}

/** For reports after decoding (rare): walks `objects` down from `r`, which decoding found to be objects; records nothing. */
function nestedAt(r: Reader, objects: readonly string[], field: string): string {
  const scratch = new Issues();
  let at = r;
  for (const key of objects) at = Reader.of(at.get(key), at.at(key), scratch)!;
  return at.at(field);
}

interface HostPort {
  readonly host: string;
  readonly port: number;
  /** `Endpoint.hostname`, when set: what auto_host_rewrite puts in Host. */
  readonly hostname: string | undefined;
  /** `Endpoint.health_check_config`, when set. */
  readonly healthCheck?: EndpointHealthCheck;
}

function decodeEndpoint(r: Reader | undefined): HostPort | undefined {
  if (!r) return undefined;
  if (!r.has('address')) r.error('address', 'is required');
  const address = r.obj('address');
  let decoded: HostPort | undefined;
  if (address) {
    const other = address.has('pipe') || address.has('envoy_internal_address');
    if (other) rejectUnsupported(address, ADDRESS_UNSUPPORTED);
    if (!other && !address.has('socket_address')) address.error('socket_address', 'is required');
    const socket = address.obj('socket_address');
    decoded = socket ? decodeSocketAddress(socket) : undefined;
    address.finish();
  }
  const hostname = r.str('hostname') || undefined;
  if (decoded !== undefined && hostname !== undefined) decoded = { ...decoded, hostname };
  const healthCheck = decodeHealthCheckConfig(r.obj('health_check_config'));
  if (decoded !== undefined && healthCheck !== undefined) decoded = { ...decoded, healthCheck };
  r.ignoreEach(ENDPOINT_IGNORED);
  // additional_addresses is left to finish(): not supported.
  r.finish();
  return decoded;
}

/**
 * `Endpoint.HealthCheckConfig`: `port_value` (0 = the endpoint's), `address` (a socket address;
 * its port when `port_value` is 0), `hostname`, `disable_active_health_check`. Frozen; undefined when
 * it changes nothing.
 */
function decodeHealthCheckConfig(r: Reader | undefined): EndpointHealthCheck | undefined {
  if (!r) return undefined;
  const portValue = r.int('port_value', 0, 0, 65_535);
  let host: string | undefined;
  let addressPort = 0;
  const address = r.obj('address');
  if (address) {
    if (address.has('pipe') || address.has('envoy_internal_address')) rejectUnsupported(address, ADDRESS_UNSUPPORTED);
    const socket = address.obj('socket_address');
    if (!socket && !address.has('pipe') && !address.has('envoy_internal_address')) address.error('socket_address', 'is required');
    if (socket) {
      const protocol = socket.enumOf('protocol', PROTOCOLS, 'TCP', PROTOCOL_NUMBERS);
      if (protocol !== 'TCP') socket.error('protocol', 'health checks reach hosts over TCP');
      host = socket.requiredStr('address') || undefined;
      addressPort = socket.int('port_value', 0, 0, 65_535);
      if (socket.has('named_port') || socket.has('resolver_name')) rejectUnsupported(socket, SOCKET_ADDRESS_UNSUPPORTED);
      socket.ignoreEach(SOCKET_ADDRESS_IGNORED);
      socket.finish();
    }
    address.finish();
  }
  const hostname = r.str('hostname') || undefined;
  const disabled = r.bool('disable_active_health_check', false);
  r.finish();
  const port = portValue !== 0 ? portValue : addressPort !== 0 ? addressPort : undefined;
  if (host === undefined && port === undefined && hostname === undefined && !disabled) return undefined;
  return Object.freeze({
    ...(host === undefined ? {} : { host }),
    ...(port === undefined ? {} : { port }),
    ...(hostname === undefined ? {} : { hostname }),
    ...(disabled ? { disabled } : {}),
  });
}

function decodeSocketAddress(r: Reader): HostPort | undefined {
  const protocol = r.enumOf('protocol', PROTOCOLS, 'TCP', PROTOCOL_NUMBERS);
  if (protocol !== 'TCP') r.error('protocol', 'only TCP is supported for upstream endpoints');
  const host = r.requiredStr('address');
  if (r.has('named_port') || r.has('resolver_name')) rejectUnsupported(r, SOCKET_ADDRESS_UNSUPPORTED);
  let port: number | undefined;
  if (!r.has('port_value')) {
    r.get('port_value');
    if (!r.has('named_port')) r.error('port_value', 'is required');
  } else {
    port = r.int('port_value', 0, 1, 65_535);
  }
  r.ignoreEach(SOCKET_ADDRESS_IGNORED);
  r.finish();
  return host !== '' && port !== undefined && port !== 0 ? { host, port, hostname: undefined } : undefined;
}

/**
 * `metadata.filter_metadata` as plain, deep-frozen data (a copy: the input is not frozen). Each entry must be an
 * object (a google.protobuf.Struct).
 */
export function decodeFilterMetadata(r: Reader | undefined): Readonly<Record<string, unknown>> {
  if (!r) return NO_METADATA;
  const out: Record<string, unknown> = {};
  const filterMetadata = r.map('filter_metadata');
  if (filterMetadata !== undefined) {
    for (const key of Object.keys(filterMetadata)) {
      const value = filterMetadata[key];
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        r.issues.error(r.entryPath('filter_metadata', key), `must be an object, got ${describe(value)}`);
        continue;
      }
      defineData(out, key, frozenCopy(value));
    }
  }
  r.ignoreEach(METADATA_IGNORED);
  r.finish();
  return Object.freeze(out);
}

/** Sets `key` as an own data property, `__proto__` included. */
function defineData(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** A deep-frozen copy of JSON data; anything else than plain objects and arrays is copied by structuredClone. */
function frozenCopy(value: unknown): unknown {
  if (typeof value === 'function' || typeof value === 'symbol') return structuredClone(value); // throws DataCloneError
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return Object.freeze(value.map(frozenCopy));
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return deepFreeze(structuredClone(value));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) defineData(out, key, frozenCopy((value as Record<string, unknown>)[key]));
  return Object.freeze(out);
}
