/**
 * The Bolt header map (SOFABolt's SimpleMapSerializer): for each entry a 4-byte big-endian key
 * length, the UTF-8 key, a 4-byte value length (-1 for a null value), the UTF-8 value.
 */
import { MeshError } from '@xmesh/core';
import { DEFAULT_MAX_BOLT_HEADERS } from './constants.js';

/** Encodes entries in iteration order; a null or undefined value is written as null (-1). */
export function encodeBoltHeaders(entries: Iterable<readonly [string, string | null | undefined]> | Readonly<Record<string, string | null | undefined>>): Buffer {
  const list: [Buffer, Buffer | null][] = [];
  let size = 0;
  const pairs = Symbol.iterator in entries ? (entries as Iterable<readonly [string, string | null | undefined]>) : Object.entries(entries);
  for (const [key, value] of pairs) {
    const k = Buffer.from(key, 'utf8');
    const v = value === null || value === undefined ? null : Buffer.from(value, 'utf8');
    list.push([k, v]);
    size += 8 + k.length + (v?.length ?? 0);
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const [k, v] of list) {
    out.writeInt32BE(k.length, at);
    at += 4;
    out.set(k, at);
    at += k.length;
    out.writeInt32BE(v === null ? -1 : v.length, at);
    at += 4;
    if (v !== null) {
      out.set(v, at);
      at += v.length;
    }
  }
  return out;
}

/**
 * Decodes a header map. Null values become ''. A repeated key keeps its last value, as SOFA's
 * map does. Throws XMESH_PROTOCOL on lengths that run past the map, and when it has more than
 * `maxEntries` entries.
 */
export function decodeBoltHeaders(buf: Uint8Array, maxEntries = DEFAULT_MAX_BOLT_HEADERS): Map<string, string> {
  const bytes = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out = new Map<string, string>();
  let at = 0;
  let count = 0;
  while (at < bytes.length) {
    if (++count > maxEntries) throw new MeshError('XMESH_PROTOCOL', `Bolt header map has more than ${maxEntries} entries`);
    const keyLength = readLength(bytes, at, false);
    at += 4;
    const key = bytes.toString('utf8', at, at + keyLength);
    at += keyLength;
    const valueLength = readLength(bytes, at, true);
    at += 4;
    const value = valueLength <= 0 ? '' : bytes.toString('utf8', at, at + valueLength);
    if (valueLength > 0) at += valueLength;
    out.set(key, value);
  }
  return out;
}

function readLength(bytes: Buffer, at: number, nullable: boolean): number {
  if (at + 4 > bytes.length) throw new MeshError('XMESH_PROTOCOL', `Bolt header map truncated at byte ${at} of ${bytes.length}`);
  const length = bytes.readInt32BE(at);
  if (length < (nullable ? -1 : 0) || at + 4 + Math.max(0, length) > bytes.length) {
    throw new MeshError('XMESH_PROTOCOL', `Bolt header map: length ${length} at byte ${at} runs past its ${bytes.length} bytes`);
  }
  return length;
}
