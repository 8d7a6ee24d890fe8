/**
 * The wire form of `envoy.service.auth.v3.Authorization/Check`: the CheckRequest the filter builds
 * (the attributes Envoy fills: source and destination peers, the request's time and HTTP attributes,
 * context extensions) and the parts of a CheckResponse it acts on (status code, the OK response's header
 * mutations, the denied response's status, headers and body). Field numbers are those of
 * `envoy/service/auth/v3/{external_auth,attribute_context}.proto`; anything else in a response (dynamic
 * metadata, unknown fields) is skipped. A malformed response is an error, never an exception.
 */
import protobuf from 'protobufjs';

export interface CheckPeer {
  readonly address: string | undefined;
  readonly port: number | undefined;
  readonly principal: string;
  /** URL-encoded PEM (`include_peer_certificate`). */
  readonly certificate: string;
}

export interface CheckHttpRequest {
  readonly id: string;
  readonly method: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly path: string;
  readonly host: string;
  readonly scheme: string;
  readonly query: string;
  readonly fragment: string;
  /** Body size, or -1 when unknown. */
  readonly size: number;
  readonly protocol: string;
  readonly body: string | undefined;
  readonly rawBody: Uint8Array | undefined;
}

export interface CheckRequestFields {
  readonly source: CheckPeer | undefined;
  readonly destination: CheckPeer | undefined;
  readonly timeMs: number;
  readonly http: CheckHttpRequest;
  readonly contextExtensions: Readonly<Record<string, string>>;
}

/** A `config.core.v3.HeaderValueOption` of a response: `append` is the deprecated BoolValue (undefined when unset). */
export interface CheckHeader {
  readonly key: string;
  readonly value: string;
  readonly append: boolean | undefined;
  /** `append_action` (0 APPEND_IF_EXISTS_OR_ADD, 1 ADD_IF_ABSENT, 2 OVERWRITE_IF_EXISTS_OR_ADD, 3 OVERWRITE_IF_EXISTS). */
  readonly appendAction: number;
}

export type CheckResponseFields =
  | {
      readonly kind: 'ok';
      readonly headers: readonly CheckHeader[];
      readonly headersToRemove: readonly string[];
      readonly responseHeadersToAdd: readonly CheckHeader[];
      readonly queryParameterMutations: boolean;
    }
  | { readonly kind: 'denied'; readonly code: number; readonly status: number; readonly headers: readonly CheckHeader[]; readonly body: string };

/** Encodes a CheckRequest. */
export function encodeCheckRequest(fields: CheckRequestFields): Uint8Array {
  const w = protobuf.Writer.create();
  // CheckRequest.attributes = 1
  w.uint32(10).fork();
  if (fields.source !== undefined) writePeer(w, 1, fields.source);
  if (fields.destination !== undefined) writePeer(w, 2, fields.destination);
  // AttributeContext.request = 4 { time = 1, http = 2 }
  w.uint32(34).fork();
  const seconds = Math.floor(fields.timeMs / 1000);
  w.uint32(10).fork().uint32(8).int64(seconds).uint32(16).int32((fields.timeMs - seconds * 1000) * 1_000_000).ldelim();
  writeHttp(w, fields.http);
  w.ldelim();
  for (const key of Object.keys(fields.contextExtensions)) writeMapEntry(w, 10, key, fields.contextExtensions[key]!);
  w.ldelim();
  return w.finish();
}

function writePeer(w: protobuf.Writer, field: number, peer: CheckPeer): void {
  w.uint32((field << 3) | 2).fork();
  if (peer.address !== undefined) {
    // Peer.address = 1: config.core.v3.Address { socket_address = 1 { address = 2, port_value = 3 } }
    w.uint32(10).fork().uint32(10).fork();
    w.uint32(18).string(peer.address);
    if (peer.port !== undefined && peer.port > 0) w.uint32(24).uint32(peer.port);
    w.ldelim().ldelim();
  }
  if (peer.principal !== '') w.uint32(34).string(peer.principal);
  if (peer.certificate !== '') w.uint32(42).string(peer.certificate);
  w.ldelim();
}

function writeHttp(w: protobuf.Writer, http: CheckHttpRequest): void {
  w.uint32(18).fork();
  writeString(w, 1, http.id);
  writeString(w, 2, http.method);
  for (const [name, value] of http.headers) writeMapEntry(w, 3, name, value);
  writeString(w, 4, http.path);
  writeString(w, 5, http.host);
  writeString(w, 6, http.scheme);
  writeString(w, 7, http.query);
  writeString(w, 8, http.fragment);
  if (http.size !== 0) w.uint32(72).int64(http.size);
  writeString(w, 10, http.protocol);
  if (http.body !== undefined && http.body !== '') writeString(w, 11, http.body);
  if (http.rawBody !== undefined && http.rawBody.length > 0) w.uint32(98).bytes(http.rawBody);
  w.ldelim();
}

function writeString(w: protobuf.Writer, field: number, value: string): void {
  if (value !== '') w.uint32((field << 3) | 2).string(value);
}

function writeMapEntry(w: protobuf.Writer, field: number, key: string, value: string): void {
  w.uint32((field << 3) | 2).fork().uint32(10).string(key).uint32(18).string(value).ldelim();
}

/** Decodes a CheckResponse; an Error when the bytes are not one. */
export function decodeCheckResponse(bytes: Uint8Array): CheckResponseFields | Error {
  try {
    return readCheckResponse(protobuf.Reader.create(bytes));
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function readCheckResponse(r: protobuf.Reader): CheckResponseFields {
  let code = 0;
  let denied: { status: number; headers: CheckHeader[]; body: string } | undefined;
  let ok: { headers: CheckHeader[]; headersToRemove: string[]; responseHeadersToAdd: CheckHeader[]; queryParameterMutations: boolean } | undefined;
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1: code = readStatusCode(sub(r)); break;
      case 2: denied = readDenied(sub(r)); ok = undefined; break;
      case 3: ok = readOk(sub(r)); denied = undefined; break;
      default: r.skipType(tag & 7);
    }
  }
  if (code === 0) {
    return { kind: 'ok', headers: ok?.headers ?? [], headersToRemove: ok?.headersToRemove ?? [], responseHeadersToAdd: ok?.responseHeadersToAdd ?? [], queryParameterMutations: ok?.queryParameterMutations ?? false };
  }
  return { kind: 'denied', code, status: denied?.status ?? 0, headers: denied?.headers ?? [], body: denied?.body ?? '' };
}

/** A length-delimited field as its own reader. */
function sub(r: protobuf.Reader): protobuf.Reader {
  const length = r.uint32();
  const start = r.pos;
  r.skip(length);
  return protobuf.Reader.create(r.buf.subarray(start, start + length));
}

/** google.rpc.Status.code = 1. */
function readStatusCode(r: protobuf.Reader): number {
  let code = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 8) code = r.int32();
    else r.skipType(tag & 7);
  }
  return code;
}

function readDenied(r: protobuf.Reader): { status: number; headers: CheckHeader[]; body: string } {
  let status = 0;
  const headers: CheckHeader[] = [];
  let body = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1: {
        // type.v3.HttpStatus { code = 1 }
        const s = sub(r);
        while (s.pos < s.len) {
          const t = s.uint32();
          if (t === 8) status = s.int32();
          else s.skipType(t & 7);
        }
        break;
      }
      case 2: headers.push(readHeaderOption(sub(r))); break;
      case 3: body = r.string(); break;
      default: r.skipType(tag & 7);
    }
  }
  return { status, headers, body };
}

function readOk(r: protobuf.Reader): { headers: CheckHeader[]; headersToRemove: string[]; responseHeadersToAdd: CheckHeader[]; queryParameterMutations: boolean } {
  const headers: CheckHeader[] = [];
  const headersToRemove: string[] = [];
  const responseHeadersToAdd: CheckHeader[] = [];
  let queryParameterMutations = false;
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 2: headers.push(readHeaderOption(sub(r))); break;
      case 5: headersToRemove.push(r.string()); break;
      case 6: responseHeadersToAdd.push(readHeaderOption(sub(r))); break;
      case 7:
      case 8:
        queryParameterMutations = true;
        r.skipType(tag & 7);
        break;
      default: r.skipType(tag & 7);
    }
  }
  return { headers, headersToRemove, responseHeadersToAdd, queryParameterMutations };
}

/** `config.core.v3.HeaderValueOption { header = 1 { key = 1, value = 2, raw_value = 3 }, append = 2 (BoolValue), append_action = 3 }`. */
function readHeaderOption(r: protobuf.Reader): CheckHeader {
  let key = '';
  let value = '';
  let append: boolean | undefined;
  let appendAction = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1: {
        const h = sub(r);
        while (h.pos < h.len) {
          const t = h.uint32();
          if (t === 10) key = h.string();
          else if (t === 18) value = h.string();
          else if (t === 26) value = Buffer.from(h.bytes()).toString('latin1');
          else h.skipType(t & 7);
        }
        break;
      }
      case 2: {
        const b = sub(r);
        append = false;
        while (b.pos < b.len) {
          const t = b.uint32();
          if (t === 8) append = b.bool();
          else b.skipType(t & 7);
        }
        break;
      }
      case 3: appendAction = r.int32(); break;
      default: r.skipType(tag & 7);
    }
  }
  return { key: key.toLowerCase(), value, append, appendAction };
}
