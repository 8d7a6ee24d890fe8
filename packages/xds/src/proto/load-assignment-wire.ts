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
import { DEFAULT_OVERPROVISIONING_FACTOR, MAX_PRIORITY } from '../decode/endpoints.js';
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
 */
export function decodeLoadAssignmentWire(bytes: Uint8Array, rules: ClientRules = 'envoy'): WireLoadAssignment | undefined {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return readAssignment(new Cursor(buf), buf.length, rules);
  } catch (err) {
    if (err === UNUSUAL || err instanceof RangeError) return undefined;
    throw err;
  }
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
  constructor(readonly buf: Buffer) {}

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
  readonly json: Json;
  readonly config: LocalityEndpoints;
  /** Whether `locality` was present (gRPC clients require it). */
  readonly named: boolean;
}

function readAssignment(c: Cursor, end: number, rules: ClientRules): WireLoadAssignment {
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

  const json: Json = { '@type': TypeUrl.ClusterLoadAssignment, cluster_name: clusterName };
  if (localities.length > 0) json.endpoints = Object.freeze(localities.map((l) => l.json));
  if (policyJson !== undefined) json.policy = policyJson;
  const assignment: LoadAssignment = Object.freeze({
    clusterName,
    localities: Object.freeze(localities.map((l) => l.config)),
    overprovisioningFactor,
    dropOverloads: NO_DROPS,
    endpointStaleAfterMs: undefined,
  });
  return { json: Object.freeze(json), assignment };
}

/** `LocalityLbEndpoints`: its lb_endpoints are read once the locality's own fields (which may follow them) are known. */
function readLocality(c: Cursor, end: number): RawLocality {
  let locality = NO_LOCALITY;
  let localityJson: Json | undefined;
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
        const read = readLocalityName(c, c.lengthEnd(end));
        locality = read.locality;
        localityJson = read.json;
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
  const endpoints: Endpoint[] = new Array(lbStarts.length);
  const endpointsJson: Json[] = new Array(lbStarts.length);
  const after = c.pos;
  for (let i = 0; i < lbStarts.length; i++) {
    c.pos = lbStarts[i]!;
    const stop = c.lengthEnd(end);
    const read = readLbEndpoint(c, stop, context);
    endpoints[i] = read.endpoint;
    endpointsJson[i] = read.json;
  }
  c.pos = after;

  // Keys in the proto's declaration order, as the generic JSON has them.
  const json: Json = {};
  if (localityJson !== undefined) json.locality = localityJson;
  if (endpointsJson.length > 0) json.lb_endpoints = Object.freeze(endpointsJson);
  if (weight !== undefined) json.load_balancing_weight = weight;
  if (priority !== 0) json.priority = priority;
  return {
    json: Object.freeze(json),
    config: Object.freeze({ locality, priority, loadBalancingWeight: weight, endpoints: Object.freeze(endpoints) }),
    named: localityJson !== undefined,
  };
}

function readLocalityName(c: Cursor, end: number): { locality: Locality; json: Json } {
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
  const json: Json = {};
  if (region !== '') json.region = region;
  if (zone !== '') json.zone = zone;
  if (subZone !== '') json.sub_zone = subZone;
  return { locality: Object.freeze({ region, zone, subZone }), json: Object.freeze(json) };
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

function readLbEndpoint(c: Cursor, end: number, context: EndpointContext): { endpoint: Endpoint; json: Json } {
  let address: ReadEndpoint | undefined;
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
        address = readEndpoint(c, c.lengthEnd(end));
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
        const read = readMetadata(c, c.lengthEnd(end));
        metadata = read.metadata;
        metadataJson = read.json;
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
  if (address === undefined) throw UNUSUAL;
  const json: Json = { endpoint: address.json };
  if (status !== 0) json.health_status = HEALTH_STATUSES[status];
  if (metadataJson !== undefined) json.metadata = metadataJson;
  if (weight !== undefined) json.load_balancing_weight = weight;
  // One literal for the common case (no spread: object spread takes a slow path per endpoint).
  const endpoint: { -readonly [K in keyof Endpoint]: Endpoint[K] } = {
    id: endpointId(address.host, address.port),
    host: address.host,
    port: address.port,
    weight: weight ?? 1,
    healthStatus: HEALTH_STATUSES[status]!,
    priority: context.priority,
    locality: context.locality,
    localityWeight: context.localityWeight,
    metadata,
  };
  if (address.hostname !== undefined) endpoint.hostname = address.hostname;
  if (address.healthCheck !== undefined) endpoint.healthCheck = address.healthCheck;
  return { endpoint: Object.freeze(endpoint), json: Object.freeze(json) };
}

interface ReadEndpoint {
  readonly host: string;
  readonly port: number;
  readonly hostname: string | undefined;
  readonly healthCheck: EndpointHealthCheck | undefined;
  readonly json: Json;
}

/** `Endpoint`: a socket address (required), `hostname`, `health_check_config`. */
function readEndpoint(c: Cursor, end: number): ReadEndpoint {
  let socket: { host: string; port: number; json: Json } | undefined;
  let hostname = '';
  let healthCheck: { config: EndpointHealthCheck | undefined; json: Json } | undefined;
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
        socket = readSocketAddress(c, c.lengthEnd(stop));
        if (c.pos !== stop) throw UNUSUAL;
        break;
      }
      case 2:
        seen = once(seen, 2);
        healthCheck = readHealthCheckConfig(c, c.lengthEnd(end));
        break;
      case 3:
        seen = once(seen, 3);
        hostname = c.string(end);
        break;
      default:
        throw UNUSUAL;
    }
  }
  if (socket === undefined) throw UNUSUAL;
  const json: Json = { address: Object.freeze({ socket_address: socket.json }) };
  if (healthCheck !== undefined) json.health_check_config = healthCheck.json;
  if (hostname !== '') json.hostname = hostname;
  return {
    host: socket.host,
    port: socket.port,
    hostname: hostname === '' ? undefined : hostname,
    healthCheck: healthCheck?.config,
    json: Object.freeze(json),
  };
}

/** `SocketAddress` over TCP with an IP address and a `port_value` in [1, 65535]. */
function readSocketAddress(c: Cursor, end: number): { host: string; port: number; json: Json } {
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
  return { host, port, json: Object.freeze({ address: host, port_value: port }) };
}

/** `Endpoint.HealthCheckConfig` without `address`. */
function readHealthCheckConfig(c: Cursor, end: number): { config: EndpointHealthCheck | undefined; json: Json } {
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
  const json: Json = {};
  if (port !== 0) json.port_value = port;
  if (hostname !== '') json.hostname = hostname;
  if (disabled) json.disable_active_health_check = true;
  const changes = port !== 0 || hostname !== '' || disabled;
  const config: EndpointHealthCheck | undefined = changes
    ? Object.freeze({
      ...(port === 0 ? {} : { port }),
      ...(hostname === '' ? {} : { hostname }),
      ...(disabled ? { disabled } : {}),
    })
    : undefined;
  return { config, json: Object.freeze(json) };
}

/**
 * `Metadata` with `filter_metadata` only. The endpoint's metadata is the very object the JSON holds under
 * `filter_metadata` (both frozen), so the Structs are built once.
 */
function readMetadata(c: Cursor, end: number): { metadata: Readonly<Json>; json: Json } {
  let filterMetadata: Json | undefined;
  while (c.pos < end) {
    const tag = tagAt(c, end);
    if (tag !== ((1 << 3) | WIRE_LEN)) throw UNUSUAL;
    filterMetadata ??= {};
    readMapEntry(c, c.lengthEnd(end), filterMetadata, 0, readStruct);
  }
  if (filterMetadata === undefined) return { metadata: Object.freeze({}), json: NO_METADATA };
  Object.freeze(filterMetadata);
  return { metadata: filterMetadata, json: Object.freeze({ filter_metadata: filterMetadata }) };
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
