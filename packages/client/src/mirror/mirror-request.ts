/** Helpers front ends share to build a mirror's copy of their request (see `PipelineCall.mirrorRequest`). */
import type { HeaderValueOption } from '@xmesh/xds';
import { addHeaderOptions } from '../header-options.js';

/** Headers a copy never carries as given: pseudo-headers, Host (the copy has its own), hop-by-hop ones, the length (the copy's is set). */
const NOT_COPIED: ReadonlySet<string> = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'content-length', 'http2-settings', 'expect']);

type HeaderSource = Readonly<Record<string, unknown>>;

/**
 * The request headers to copy: text values as they are, bytes (gRPC `-bin` metadata) in base64, with
 * the filters' request headers (`added`) applied, as the call sends them.
 */
export function copyHeaders(source: HeaderSource | undefined, added: readonly HeaderValueOption[] | undefined, grpc: boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (source !== undefined) {
    for (const [rawName, value] of Object.entries(source)) {
      const name = rawName.toLowerCase();
      if (name.startsWith(':') || NOT_COPIED.has(name) || value === undefined || value === null) continue;
      const values = (Array.isArray(value) ? value : [value]).map(text);
      out[name] = values.length === 1 ? values[0]! : values;
    }
  }
  if (added !== undefined && added.length > 0) addHeaderOptions(out, added);
  if (grpc) {
    out['content-type'] ??= 'application/grpc';
    out.te = 'trailers';
  }
  return out;
}

/** gRPC messages, each with its 5-byte prefix (uncompressed). */
export function grpcFrames(messages: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const message of messages) {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(message.byteLength, 1);
    parts.push(header, Buffer.from(message.buffer, message.byteOffset, message.byteLength));
  }
  return Buffer.concat(parts);
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  return String(value);
}
