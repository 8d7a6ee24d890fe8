import { sensitiveHeaders, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';

/**
 * Request metadata on the fast path: lower-case keys; keys ending in `-bin`
 * carry bytes (sent base64-encoded), every other key carries ASCII strings.
 */
export type LeanMetadata = Readonly<Record<string, string | Uint8Array | readonly (string | Uint8Array)[]>>;

/** Response metadata as received: header name → value(s); `-bin` values still base64. */
export type RawMetadata = IncomingHttpHeaders;

/** Headers the transport owns; user metadata must not set them. */
const RESERVED_REQUEST_HEADERS = new Set([
  'content-type',
  'te',
  'grpc-timeout',
  'grpc-encoding',
  'grpc-accept-encoding',
  'user-agent',
  'host',
  'connection',
  'transfer-encoding',
]);

/** Headers stripped from response metadata before it reaches the caller (grpc-js does the same). */
export const TRANSPORT_RESPONSE_HEADERS: readonly string[] = [
  ':status',
  'content-type',
  'grpc-status',
  'grpc-message',
  'grpc-encoding',
  'grpc-accept-encoding',
];

function encodeValue(key: string, value: string | Uint8Array): string {
  if (key.endsWith('-bin')) {
    return typeof value === 'string' ? Buffer.from(value).toString('base64') : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  }
  if (typeof value !== 'string') throw new TypeError(`metadata ${key}: only keys ending in -bin carry bytes`);
  return value;
}

/**
 * Copies user metadata into `headers`, base64-encoding `-bin` values and skipping transport-owned names.
 * Names listed under node's `http2.sensitiveHeaders` symbol on `metadata` are sent never-indexed
 * (HPACK): a value unique per call (a trace or request id) then does not churn the connection's
 * header table, which would cost every later request its indexed headers.
 */
export function addLeanMetadata(headers: OutgoingHttpHeaders, metadata: LeanMetadata): void {
  for (const key in metadata) {
    const value = metadata[key];
    if (value === undefined || key.startsWith(':') || RESERVED_REQUEST_HEADERS.has(key)) continue;
    if (typeof value === 'string' || value instanceof Uint8Array) {
      headers[key] = encodeValue(key, value);
    } else {
      const list = value as readonly (string | Uint8Array)[];
      headers[key] = list.map((item) => encodeValue(key, item));
    }
  }
  const neverIndexed = (metadata as { readonly [sensitiveHeaders]?: readonly string[] })[sensitiveHeaders];
  if (neverIndexed !== undefined) (headers as { [sensitiveHeaders]?: readonly string[] })[sensitiveHeaders] = neverIndexed;
}

/**
 * Copies already-encoded HTTP/2 headers (e.g. grpc-js `Metadata#toHttp2Headers()`), skipping transport-owned
 * names; the names `encoded` lists under `http2.sensitiveHeaders` stay never-indexed.
 */
export function addEncodedHeaders(headers: OutgoingHttpHeaders, encoded: OutgoingHttpHeaders): void {
  for (const key in encoded) {
    const value = encoded[key];
    if (value === undefined || key.startsWith(':') || RESERVED_REQUEST_HEADERS.has(key)) continue;
    headers[key] = value;
  }
  const neverIndexed = (encoded as { readonly [sensitiveHeaders]?: readonly string[] })[sensitiveHeaders];
  if (neverIndexed !== undefined) (headers as { [sensitiveHeaders]?: readonly string[] })[sensitiveHeaders] = neverIndexed;
}

/**
 * Decodes response metadata: `-bin` values to Buffers, other values as strings,
 * transport headers removed. Values arrive comma-joined when repeated; `-bin`
 * values are split on commas as the gRPC spec allows.
 */
export function decodeMetadata(raw: RawMetadata): Record<string, (string | Buffer)[]> {
  const out: Record<string, (string | Buffer)[]> = {};
  for (const key in raw) {
    if (key.startsWith(':') || TRANSPORT_RESPONSE_HEADERS.includes(key)) continue;
    const value = raw[key];
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    if (key.endsWith('-bin')) {
      out[key] = values.flatMap((v) => v.split(',')).map((v) => Buffer.from(v.trim(), 'base64'));
    } else {
      out[key] = values;
    }
  }
  return out;
}

/** Decodes a `grpc-message` value (percent-encoded UTF-8 per the gRPC spec); malformed escapes stay as sent. */
export function decodeGrpcMessage(value: string | string[] | undefined): string {
  if (value === undefined) return '';
  const text = Array.isArray(value) ? value.join(',') : value;
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text.replace(/(%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}
