/**
 * A ClusterLoadAssignment read straight from its wire bytes into what the generic path makes of it — the
 * proto3 JSON (`decodeResource`) and the validated, frozen `LoadAssignment` (`validateLoadAssignment`) — in
 * one pass, without protobufjs message objects.
 *
 * It reads only the shapes EDS resources have in practice: `cluster_name`; `endpoints` with `locality`,
 * `lb_endpoints`, `load_balancing_weight` and `priority`; per endpoint its socket address, `hostname`,
 * `health_check_config` (without `address`), `health_status`, `load_balancing_weight` and
 * `metadata.filter_metadata` (Structs of any value kind); `policy.overprovisioning_factor`. Anything else —
 * another field (known or unknown), a malformed or repeated singular field, a value the validation would
 * refuse, nesting deeper than MAX_STRUCT_DEPTH — gives `undefined`, and the caller takes the generic path,
 * which reports every problem with its field path. So this decoder never reports an error itself: what it
 * returns is exactly what the generic path returns for the same bytes, and for everything else it defers.
 * Every loop advances through bounded bytes; no input makes it throw or hang.
 */
import { isIP } from 'node:net';
import { endpointId, type Endpoint, type EndpointHealthCheck, type HealthStatus, type Locality } from '@xmesh/core';
import type { LoadAssignment, LocalityEndpoints } from '../model.js';
import type { ClientRules } from '../decode/reader.js';
import { DEFAULT_OVERPROVISIONING_FACTOR, markUniqueEndpointIds, MAX_PRIORITY } from '../decode/endpoints.js';
import { TypeUrl } from '../type-urls.js';

type Json = Record<string, unknown>;

/** What the generic path gives for a valid ClusterLoadAssignment: its JSON and its decoding, both deep-frozen. */
export interface WireLoadAssignment {
  readonly json: Readonly<Json>;
  readonly assignment: LoadAssignment;
}

/** Struct/ListValue nesting read here; deeper values go through the generic path. */
export const MAX_STRUCT_DEPTH = 32;

const UINT32_MAX = 0xffff_ffff;
const HEALTH_STATUSES: readonly HealthStatus[] = ['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED'];
const NO_LOCALITY: Locality = Object.freeze({ region: '', zone: '', subZone: '' });
const NO_METADATA: Readonly<Json> = Object.freeze({});
const NO_DROPS: readonly never[] = Object.freeze([]);
const FATAL_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Thrown (one instance) when the bytes leave the shapes read here: the caller falls back. */
const UNUSUAL = new Error('not a common EDS shape');

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;

/**
 * The JSON and LoadAssignment of the serialized ClusterLoadAssignment `bytes` as `decodeResource` +
 * `validateLoadAssignment` (under `rules`) give them for a valid resource of the common shape; undefined for
 * anything else (then decode it the generic way, which also reports its errors).
 *
 * The JSON's `endpoints` (kept for `/config_dump` and whole rebuilds, rarely read) is made when first read, from a
 * copy of the bytes: an update builds only the endpoints it routes to. It is a getter on the frozen JSON,
 * returning the same frozen list each time; reading it cannot fail (the bytes were read whole once already).
 */
export function decodeLoadAssignmentWire(bytes: Uint8Array, rules: ClientRules = 'envoy'): WireLoadAssignment | undefined {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let read: ReadAssignment;
  try {
    read = readAssignment(new Cursor(buf, false), buf.length, rules);
  } catch (err) {
    if (err === UNUSUAL || err instanceof RangeError) return undefined;
    throw err;
  }
  const json: Json = { '@type': TypeUrl.ClusterLoadAssignment, cluster_name: read.assignment.clusterName };
  if (read.assignment.localities.length > 0) {
    // A copy: the bytes handed in may be a view of a whole response.
    let source: Buffer | undefined = Buffer.from(buf);
    let endpoints: readonly Json[] | undefined;
    Object.defineProperty(json, 'endpoints', {
      enumerable: true,
      get(): readonly Json[] {
        if (endpoints === undefined) {
          endpoints = readAssignment(new Cursor(source!, true), source!.length, rules).endpointsJson!;
          source = undefined;
        }
        return endpoints;
      },
    });
  }
  if (read.policyJson !== undefined) json.policy = read.policyJson;
  return { json: Object.freeze(json), assignment: read.assignment };
}

/** Strings up to this length are assembled in JS: cheaper than a call into the runtime for each. */
const SHORT_STRING = 24;

function shortAscii(buf: Buffer, start: number, stop: number): string {
  let out = '';
  for (let i = start; i < stop; i++) out += String.fromCharCode(buf[i]!);
  return out;
}

/** Buffer's own latin1 slicer (what `toString('latin1', ...)` calls after checking its arguments), where there is one. */
const LATIN1_SLICE = (Buffer.prototype as unknown as { latin1Slice?: (this: Buffer, start: number, end: number) => string }).latin1Slice;

/** Map keys kept per decoding (see Cursor.key): the table's size, each bucket's bound, the longest key kept. */
const KEY_BUCKETS = 64;
const KEYS_PER_BUCKET = 8;
const MAX_KEPT_KEY = 64;

interface KeptKey {
  readonly bytes: Uint8Array;
  readonly text: string;
}

class Cursor {
  pos = 0;
  private keys: (KeptKey[] | undefined)[] | undefined;
  /** The endpoints read so far, by IPv4 address and port as one number, and (others) by id. */
  readonly ipv4Ids = new Set<number>();
  readonly otherIds = new Set<string>();
  /** filter_metadata Structs read so far, by the hash of their bytes (see readSharedStruct). */
  private readonly structs = new Map<number, { readonly bytes: Uint8Array; readonly struct: Readonly<Json> }[]>();
  private structCount = 0;

  /** A Struct read before from the same bytes [start, stop), if kept. */
  sharedStruct(start: number, stop: number, hash: number): Readonly<Json> | undefined {
    const kept = this.structs.get(hash);
    if (kept === undefined) return undefined;
    const buf = this.buf;
    const length = stop - start;
    search: for (const candidate of kept) {
      const bytes = candidate.bytes;
      if (bytes.length !== length) continue;
      for (let i = 0; i < length; i++) if (bytes[i] !== buf[start + i]) continue search;
      return candidate.struct;
    }
    return undefined;
  }

  keepStruct(start: number, stop: number, hash: number, struct: Readonly<Json>): void {
    if (this.structCount >= MAX_SHARED_STRUCTS) return;
    this.structCount++;
    const entry = { bytes: this.buf.subarray(start, stop), struct };
    const kept = this.structs.get(hash);
    if (kept === undefined) this.structs.set(hash, [entry]);
    else kept.push(entry);
  }
  /** Set by readSocketAddress / readEndpoint for their caller (no object per endpoint). */
  host = '';
  port = 0;
  hostname: string | undefined = undefined;
  healthCheck: EndpointHealthCheck | undefined = undefined;
  /** The JSON of the last message read, when `withJson`. */
  json: Json | undefined = undefined;

  constructor(
    readonly buf: Buffer,
    /** Whether the endpoints' JSON is made too (see decodeLoadAssignmentWire). */
    readonly withJson: boolean,
  ) {}

  /** A varint of at most 32 bits (5 bytes); anything larger is unusual here. */
  uint32(end: number): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos >= end) throw UNUSUAL;
    let b = buf[pos++]!;
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let result = b & 0x7f;
    for (let shift = 7; shift < 28; shift += 7) {
      if (pos >= end) throw UNUSUAL;
      b = buf[pos++]!;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return result;
      }
    }
    // The fifth byte: 4 more bits at most.
    if (pos >= end) throw UNUSUAL;
    b = buf[pos++]!;
    if (b > 0x0f) throw UNUSUAL;
    this.pos = pos;
    return (result >>> 0) + b * 2 ** 28;
  }

  /** The end of a length-delimited field starting here (its length read), within `end`. */
  lengthEnd(end: number): number {
    const length = this.uint32(end);
    const stop = this.pos + length;
    if (stop > end) throw UNUSUAL;
    return stop;
  }

  string(end: number): string {
    const stop = this.lengthEnd(end);
    return this.stringTo(this.pos, stop);
  }

  /** The UTF-8 text of bytes [start, stop); the cursor moves to stop. */
  private stringTo(start: number, stop: number): string {
    const buf = this.buf;
    this.pos = stop;
    for (let i = start; i < stop; i++) {
      if (buf[i]! >= 0x80) {
        try {
          return FATAL_UTF8.decode(buf.subarray(start, stop));
        } catch {
          throw UNUSUAL; // protobufjs would substitute U+FFFD: let the generic path say what it says
        }
      }
    }
    if (stop - start <= SHORT_STRING) return shortAscii(buf, start, stop);
    return LATIN1_SLICE !== undefined ? LATIN1_SLICE.call(buf, start, stop) : buf.toString('latin1', start, stop);
  }

  /**
   * A map key: keys repeat across endpoints (`istio`, `envoy.lb`, `version`, ...), so each distinct short key
   * is made once per decoding and found again by its bytes. Objects then get the same string as property
   * name every time, which V8 looks up far faster than a fresh string of the same text.
   */
  key(end: number): string {
    const stop = this.lengthEnd(end);
    const start = this.pos;
    const length = stop - start;
    if (length > MAX_KEPT_KEY || length === 0) return this.stringTo(start, stop);
    const buf = this.buf;
    const bucket = (length * 31 + buf[start]! * 7 + buf[stop - 1]!) & (KEY_BUCKETS - 1);
    const kept = (this.keys ??= new Array<KeptKey[] | undefined>(KEY_BUCKETS))[bucket] ??= [];
    search: for (let k = 0; k < kept.length; k++) {
      const candidate = kept[k]!;
      const bytes = candidate.bytes;
      if (bytes.length !== length) continue;
      for (let i = 0; i < length; i++) if (bytes[i] !== buf[start + i]) continue search;
      this.pos = stop;
      return candidate.text;
    }
    const text = this.stringTo(start, stop);
    if (kept.length < KEYS_PER_BUCKET) kept.push({ bytes: buf.subarray(start, stop), text });
    return text;
  }

  double(end: number): number {
    if (this.pos + 8 > end) throw UNUSUAL;
    const value = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return value;
  }
}

/** Reads a tag: the field number, with its wire type checked against `wire` by the caller via `wireOf`. */
function tagAt(c: Cursor, end: number): number {
  const tag = c.uint32(end);
  if (tag >>> 3 === 0) throw UNUSUAL;
  return tag;
}

function expect(tag: number, wire: number): void {
  if ((tag & 7) !== wire) throw UNUSUAL;
}

/** Marks field `field` (< 31) as read in `seen`; a singular field read twice is unusual. */
function once(seen: number, field: number): number {
  const bit = 1 << field;
  if ((seen & bit) !== 0) throw UNUSUAL;
  return seen | bit;
}

interface RawLocality {
  /** When the cursor is `withJson`. */
  readonly json: Json | undefined;
  readonly config: LocalityEndpoints;
  /** Whether `locality` was present (gRPC clients require it). */
  readonly named: boolean;
}

interface ReadAssignment {
  readonly assignment: LoadAssignment;
  readonly policyJson: Json | undefined;
  /** When the cursor is `withJson`. */
  readonly endpointsJson: readonly Json[] | undefined;
}

function readAssignment(c: Cursor, end: number, rules: ClientRules): ReadAssignment {
  let clusterName = '';
  let overprovisioningFactor = DEFAULT_OVERPROVISIONING_FACTOR;
  let policyJson: Json | undefined;
  const localities: RawLocality[] = [];
  let seen = 0;
  while (c.pos < end) {
    const tag = tagAt(c, end);
    switch (tag >>> 3) {
      case 1:
        expect(tag, WIRE_LEN);
        seen = once(seen, 1);
        clusterName = c.string(end);
        break;
      case 2:
        expect(tag, WIRE_LEN);
        localities.push(readLocality(c, c.lengthEnd(end)));
        break;
      case 4: {
        expect(tag, WIRE_LEN);
        seen = once(seen, 4);
        const stop = c.lengthEnd(end);
        policyJson = {};
        if (c.pos < stop) {
          const field = tagAt(c, stop);
          if (field !== ((3 << 3) | WIRE_LEN)) throw UNUSUAL; // only overprovisioning_factor
          overprovisioningFactor = readUint32Wrapper(c, c.lengthEnd(stop));
          if (overprovisioningFactor < 1) throw UNUSUAL;
          policyJson.overprovisioning_factor = overprovisioningFactor;
        }
        if (c.pos !== stop) throw UNUSUAL;
        Object.freeze(policyJson);
        break;
      }
      default:
        throw UNUSUAL;
    }
  }
  if (clusterName === '') throw UNUSUAL;
  checkPriorities(localities);
  if (rules === 'grpc') checkGrpcLocalities(localities);
  const assignment: LoadAssignment = Object.freeze({
    clusterName,
    localities: Object.freeze(localities.map((l) => l.config)),
    overprovisioningFactor,
    dropOverloads: NO_DROPS,
    endpointStaleAfterMs: undefined,
  });
  markUniqueEndpointIds(assignment); // readSocketAddress refused any repeated id
  return { assignment, policyJson, endpointsJson: c.withJson ? Object.freeze(localities.map((l) => l.json!)) : undefined };
}

/** `LocalityLbEndpoints`: its lb_endpoints are read once the locality's own fields (which may follow them) are known. */
function readLocality(c: Cursor, end: number): RawLocality {
  let locality = NO_LOCALITY;
  let localityJson: Json | undefined;
  let named = false;
  let weight: number | undefined;
  let priority = 0;
  const lbStarts: number[] = [];
  let seen = 0;
  while (c.pos < end) {
    const tag = tagAt(c, end);
    switch (tag >>> 3) {
      case 1: {
        expect(tag, WIRE_LEN);
        seen = once(seen, 1);
        locality = readLocalityName(c, c.lengthEnd(end));
        localityJson = c.json;
        named = true;
        break;
      }
      case 2: {
        expect(tag, WIRE_LEN);
        const start = c.pos;
        c.pos = c.lengthEnd(end);
        lbStarts.push(start);
        break;
      }
      case 3:
        expect(tag, WIRE_LEN);
        seen = once(seen, 3);
        weight = readUint32Wrapper(c, c.lengthEnd(end));
        if (weight < 1) throw UNUSUAL;
        break;
      case 5:
        expect(tag, WIRE_VARINT);
        seen = once(seen, 5);
        priority = c.uint32(end);
        if (priority > MAX_PRIORITY) throw UNUSUAL;
        break;
      default:
        throw UNUSUAL;
    }
  }
  const context: EndpointContext = { locality, priority, localityWeight: weight };
  const count = lbStarts.length;
  const endpoints: Endpoint[] = new Array(count);
  const endpointsJson: Json[] | undefined = c.withJson ? new Array(count) : undefined;
  const after = c.pos;
  for (let i = 0; i < count; i++) {
    c.pos = lbStarts[i]!;
    endpoints[i] = readLbEndpoint(c, c.lengthEnd(end), context);
    if (endpointsJson !== undefined) endpointsJson[i] = c.json!;
  }
  c.pos = after;
  const config: LocalityEndpoints = Object.freeze({ locality, priority, loadBalancingWeight: weight, endpoints: Object.freeze(endpoints) });
  if (endpointsJson === undefined) return { json: undefined, config, named };
  // Keys in the proto's declaration order, as the generic JSON has them.
  const json: Json = {};
  if (localityJson !== undefined) json.locality = localityJson;
  if (count > 0) json.lb_endpoints = Object.freeze(endpointsJson);
  if (weight !== undefined) json.load_balancing_weight = weight;
  if (priority !== 0) json.priority = priority;
  return { json: Object.freeze(json), config, named };
}

/** `Locality`; its JSON in `c.json` when `withJson`. */
function readLocalityName(c: Cursor, end: number): Locality {
  let region = '';
  let zone = '';
  let subZone = '';
  let seen = 0;
  while (c.pos < end) {
    const tag = tagAt(c, end);
    expect(tag, WIRE_LEN);
    const field = tag >>> 3;
    if (field < 1 || field > 3) throw UNUSUAL;
    seen = once(seen, field);
    const value = c.string(end);
    if (field === 1) region = value;
    else if (field === 2) zone = value;
    else subZone = value;
  }
  if (c.withJson) {
    const json: Json = {};
    if (region !== '') json.region = region;
    if (zone !== '') json.zone = zone;
    if (subZone !== '') json.sub_zone = subZone;
    c.json = Object.freeze(json);
  }
  return Object.freeze({ region, zone, subZone });
}

/** google.protobuf.UInt32Value: its `value` (0 when absent). */
function readUint32Wrapper(c: Cursor, end: number): number {
  let value = 0;
  let seen = 0;
  while (c.pos < end) {
    const tag = tagAt(c, end);
    if (tag !== ((1 << 3) | WIRE_VARINT)) throw UNUSUAL;
    seen = once(seen, 1);
    value = c.uint32(end);
  }
  return value;
}

interface EndpointContext {
  readonly locality: Locality;
  readonly priority: number;
  readonly localityWeight: number | undefined;
}

/** `LbEndpoint` → a frozen Endpoint; its JSON in `c.json` when `withJson`. */
function readLbEndpoint(c: Cursor, end: number, context: EndpointContext): Endpoint {
  let endpointJson: Json | undefined;
  let read = false;
  let status = 0;
  let weight: number | undefined;
  let metadata = NO_METADATA;
  let metadataJson: Json | undefined;
  let seen = 0;
  while (c.pos < end) {
    const tag = tagAt(c, end);
    switch (tag >>> 3) {
      case 1:
        expect(tag, WIRE_LEN);
        seen = once(seen, 1);
        readEndpoint(c, c.lengthEnd(end));
        endpointJson = c.json;
        read = true;
        break;
      case 2:
        expect(tag, WIRE_VARINT);
        seen = once(seen, 2);
        status = c.uint32(end);
        if (status >= HEALTH_STATUSES.length) throw UNUSUAL;
        break;
      case 3: {
        expect(tag, WIRE_LEN);
        seen = once(seen, 3);
        metadata = readMetadata(c, c.lengthEnd(end));
        metadataJson = c.json;
        break;
      }
      case 4:
        expect(tag, WIRE_LEN);
        seen = once(seen, 4);
        weight = readUint32Wrapper(c, c.lengthEnd(end));
        if (weight < 1) throw UNUSUAL;
        break;
      default:
        throw UNUSUAL;
    }
  }
  if (!read) throw UNUSUAL;
  if (c.withJson) {
    const json: Json = { endpoint: endpointJson };
    if (status !== 0) json.health_status = HEALTH_STATUSES[status];
    if (metadataJson !== undefined) json.metadata = metadataJson;
    if (weight !== undefined) json.load_balancing_weight = weight;
    c.json = Object.freeze(json);
  }
  const { host, port } = c;
  // One literal for the common case (no spread: object spread takes a slow path per endpoint).
  const endpoint: { -readonly [K in keyof Endpoint]: Endpoint[K] } = {
    id: endpointId(host, port),
    host,
    port,
    weight: weight ?? 1,
    healthStatus: HEALTH_STATUSES[status]!,
    priority: context.priority,
    locality: context.locality,
    localityWeight: context.localityWeight,
    metadata,
  };
  if (c.hostname !== undefined) endpoint.hostname = c.hostname;
  if (c.healthCheck !== undefined) endpoint.healthCheck = c.healthCheck;
  return Object.freeze(endpoint);
}

/** `Endpoint`: a socket address (required), `hostname`, `health_check_config`, into `c.host` ... `c.healthCheck` (and `c.json`). */
function readEndpoint(c: Cursor, end: number): void {
  let socketJson: Json | undefined;
  let read = false;
  let hostname = '';
  let healthCheck: EndpointHealthCheck | undefined;
  let healthCheckJson: Json | undefined;
  let seen = 0;
  while (c.pos < end) {
    const tag = tagAt(c, end);
    expect(tag, WIRE_LEN);
    switch (tag >>> 3) {
      case 1: {
        seen = once(seen, 1);
        const stop = c.lengthEnd(end);
        // Address: only its socket_address.
        if (c.pos >= stop || tagAt(c, stop) !== ((1 << 3) | WIRE_LEN)) throw UNUSUAL;
        readSocketAddress(c, c.lengthEnd(stop));
        socketJson = c.json;
        read = true;
        if (c.pos !== stop) throw UNUSUAL;
        break;
      }
      case 2:
        seen = once(seen, 2);
        healthCheck = readHealthCheckConfig(c, c.lengthEnd(end));
        healthCheckJson = c.json;
        break;
      case 3:
        seen = once(seen, 3);
        hostname = c.string(end);
        break;
      default:
        throw UNUSUAL;
    }
  }
  if (!read) throw UNUSUAL;
  c.hostname = hostname === '' ? undefined : hostname;
  c.healthCheck = healthCheck;
  if (c.withJson) {
    const json: Json = { address: Object.freeze({ socket_address: socketJson }) };
    if (healthCheckJson !== undefined) json.health_check_config = healthCheckJson;
    if (hostname !== '') json.hostname = hostname;
    c.json = Object.freeze(json);
  }
}

/** `SocketAddress` over TCP with an IP address and a `port_value` in [1, 65535], into `c.host` and `c.port`. */
function readSocketAddress(c: Cursor, end: number): void {
  let host = '';
  let port = 0;
  let seen = 0;
  while (c.pos < end) {
    const tag = tagAt(c, end);
    switch (tag >>> 3) {
      case 1: // protocol: TCP (0) only
        expect(tag, WIRE_VARINT);
        seen = once(seen, 1);
        if (c.uint32(end) !== 0) throw UNUSUAL;
        break;
      case 2:
        expect(tag, WIRE_LEN);
        seen = once(seen, 2);
        host = c.string(end);
        break;
      case 3:
        expect(tag, WIRE_VARINT);
        seen = once(seen, 3);
        port = c.uint32(end);
        break;
      default:
        throw UNUSUAL;
    }
  }
  if (port < 1 || port > 65_535) throw UNUSUAL;
  // EDS endpoints are IP addresses (Envoy and gRPC clients resolve no names for them); each once per assignment.
  const v4 = ipv4Value(host);
  if (v4 >= 0) {
    const ids = c.ipv4Ids;
    const before = ids.size;
    if (ids.add(v4 * 65_536 + port).size === before) throw UNUSUAL;
  } else {
    if (isIP(host) === 0) throw UNUSUAL;
    const ids = c.otherIds;
    const before = ids.size;
    if (ids.add(endpointId(host, port)).size === before) throw UNUSUAL;
  }
  c.host = host;
  c.port = port;
  if (c.withJson) c.json = Object.freeze({ address: host, port_value: port });
}

/** `Endpoint.HealthCheckConfig` without `address`; its JSON in `c.json` when `withJson`. */
function readHealthCheckConfig(c: Cursor, end: number): EndpointHealthCheck | undefined {
  let port = 0;
  let hostname = '';
  let disabled = false;
  let seen = 0;
  while (c.pos < end) {
    const tag = tagAt(c, end);
    switch (tag >>> 3) {
      case 1:
        expect(tag, WIRE_VARINT);
        seen = once(seen, 1);
        port = c.uint32(end);
        if (port > 65_535) throw UNUSUAL;
        break;
      case 2:
        expect(tag, WIRE_LEN);
        seen = once(seen, 2);
        hostname = c.string(end);
        break;
      case 4: {
        expect(tag, WIRE_VARINT);
        seen = once(seen, 4);
        const flag = c.uint32(end);
        if (flag > 1) throw UNUSUAL;
        disabled = flag === 1;
        break;
      }
      default:
        throw UNUSUAL;
    }
  }
  if (c.withJson) {
    const json: Json = {};
    if (port !== 0) json.port_value = port;
    if (hostname !== '') json.hostname = hostname;
    if (disabled) json.disable_active_health_check = true;
    c.json = Object.freeze(json);
  }
  if (port === 0 && hostname === '' && !disabled) return undefined;
  return Object.freeze({
    ...(port === 0 ? {} : { port }),
    ...(hostname === '' ? {} : { hostname }),
    ...(disabled ? { disabled } : {}),
  });
}

/** `Metadata` with `filter_metadata` only: the endpoint's metadata; its JSON in `c.json` when `withJson`. */
function readMetadata(c: Cursor, end: number): Readonly<Json> {
  let filterMetadata: Json | undefined;
  while (c.pos < end) {
    const tag = tagAt(c, end);
    if (tag !== ((1 << 3) | WIRE_LEN)) throw UNUSUAL;
    filterMetadata ??= {};
    readMapEntry(c, c.lengthEnd(end), filterMetadata, 0, readSharedStruct);
  }
  if (filterMetadata === undefined) {
    if (c.withJson) c.json = NO_METADATA;
    return Object.freeze({});
  }
  Object.freeze(filterMetadata);
  if (c.withJson) c.json = Object.freeze({ filter_metadata: filterMetadata });
  return filterMetadata;
}

type ValueReader = (c: Cursor, end: number, depth: number) => unknown;

/** One `map<string, V>` entry into `into`: both key and value present, the key new and not `__proto__`. */
function readMapEntry(c: Cursor, end: number, into: Json, depth: number, readValue: ValueReader): void {
  let key: string | undefined;
  let value: unknown;
  let hasValue = false;
  while (c.pos < end) {
    const tag = tagAt(c, end);
    if (tag === ((1 << 3) | WIRE_LEN) && key === undefined) key = c.key(end);
    else if (tag === ((2 << 3) | WIRE_LEN) && !hasValue) {
      value = readValue(c, c.lengthEnd(end), depth);
      hasValue = true;
    } else throw UNUSUAL;
  }
  if (key === undefined || !hasValue || key === '__proto__' || Object.prototype.hasOwnProperty.call(into, key)) throw UNUSUAL;
  into[key] = value;
}

/** filter_metadata Structs up to this size are shared between the endpoints that carry the same bytes; at most this many per decoding. */
const MAX_SHARED_STRUCT = 512;
const MAX_SHARED_STRUCTS = 1024;

/**
 * A filter_metadata Struct, the same frozen object for the same bytes: endpoints of one service mostly carry
 * equal entries (`envoy.lb` versions, `envoy.transport_socket_match`), built once per decoding.
 */
function readSharedStruct(c: Cursor, end: number, depth: number): Readonly<Json> {
  const start = c.pos;
  if (end - start > MAX_SHARED_STRUCT) return readStruct(c, end, depth);
  const buf = c.buf;
  let hash = end - start;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ buf[i]!, 0x01000193);
  const shared = c.sharedStruct(start, end, hash);
  if (shared !== undefined) {
    c.pos = end;
    return shared;
  }
  const struct = readStruct(c, end, depth);
  c.keepStruct(start, end, hash, struct);
  return struct;
}

/** google.protobuf.Struct → a frozen JSON object. */
function readStruct(c: Cursor, end: number, depth: number): Readonly<Json> {
  if (depth >= MAX_STRUCT_DEPTH) throw UNUSUAL;
  const out: Json = {};
  while (c.pos < end) {
    const tag = tagAt(c, end);
    if (tag !== ((1 << 3) | WIRE_LEN)) throw UNUSUAL;
    readMapEntry(c, c.lengthEnd(end), out, depth + 1, readValue);
  }
  return Object.freeze(out);
}

/** google.protobuf.Value → JSON (one kind at most; none = null, as the generic path reads it). */
function readValue(c: Cursor, end: number, depth: number): unknown {
  let value: unknown = null;
  let kinds = 0;
  while (c.pos < end) {
    const tag = tagAt(c, end);
    if (++kinds > 1) throw UNUSUAL;
    switch (tag >>> 3) {
      case 1: // null_value
        expect(tag, WIRE_VARINT);
        c.uint32(end);
        value = null;
        break;
      case 2: {
        expect(tag, WIRE_I64);
        const n = c.double(end);
        if (!Number.isFinite(n)) throw UNUSUAL; // proto3 JSON spells these as strings
        value = n;
        break;
      }
      case 3:
        expect(tag, WIRE_LEN);
        value = c.string(end);
        break;
      case 4: {
        expect(tag, WIRE_VARINT);
        const flag = c.uint32(end);
        if (flag > 1) throw UNUSUAL;
        value = flag === 1;
        break;
      }
      case 5:
        expect(tag, WIRE_LEN);
        value = readStruct(c, c.lengthEnd(end), depth);
        break;
      case 6:
        expect(tag, WIRE_LEN);
        value = readList(c, c.lengthEnd(end), depth);
        break;
      default:
        throw UNUSUAL;
    }
  }
  return value;
}

/** google.protobuf.ListValue → a frozen array. */
function readList(c: Cursor, end: number, depth: number): readonly unknown[] {
  if (depth >= MAX_STRUCT_DEPTH) throw UNUSUAL;
  const out: unknown[] = [];
  while (c.pos < end) {
    const tag = tagAt(c, end);
    if (tag !== ((1 << 3) | WIRE_LEN)) throw UNUSUAL;
    out.push(readValue(c, c.lengthEnd(end), depth + 1));
  }
  return Object.freeze(out);
}

/**
 * The dotted-quad IPv4 address `text` as a number, as strictly as `isIP` reads it (four decimal parts in
 * [0, 255], no leading zeros); -1 for anything else.
 */
function ipv4Value(text: string): number {
  const length = text.length;
  if (length < 7 || length > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x2e) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else if (ch >= 0x30 && ch <= 0x39) {
      if (digits === 1 && part === 0) return -1; // a leading zero
      part = part * 10 + (ch - 0x30);
      if (++digits > 3 || part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** As decodeLoadAssignment: the priorities in use are 0, 1, ... without a gap. */
function checkPriorities(localities: readonly RawLocality[]): void {
  let highest = -1;
  const used = new Set<number>();
  for (const l of localities) {
    used.add(l.config.priority);
    if (l.config.priority > highest) highest = l.config.priority;
  }
  if (used.size !== highest + 1) throw UNUSUAL;
}

/** gRFC A27: every locality named, none twice at one priority, a priority's weights within a uint32. */
function checkGrpcLocalities(localities: readonly RawLocality[]): void {
  const seen = new Set<string>();
  const weights = new Map<number, number>();
  for (const l of localities) {
    if (!l.named) throw UNUSUAL;
    const { locality, priority, loadBalancingWeight } = l.config;
    const key = `${priority}\0${locality.region}\0${locality.zone}\0${locality.subZone}`;
    if (seen.has(key)) throw UNUSUAL;
    seen.add(key);
    const total = (weights.get(priority) ?? 0) + (loadBalancingWeight ?? 0);
    if (total > UINT32_MAX) throw UNUSUAL;
    weights.set(priority, total);
  }
}
