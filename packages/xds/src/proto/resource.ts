/**
 * Envoy resources as `google.protobuf.Any` ↔ proto3 JSON, the shape `buildSnapshot` reads.
 * Both directions raise MeshError `XMESH_CONFIG_INVALID` listing every problem with its field path
 * (`@type` for an unknown type URL, `value` for malformed bytes, `filter_chains[0]…` inside).
 */
import protobuf from 'protobufjs';
import type { EnvoyProtos } from './load.js';
import { ProtoIssues } from './issues.js';
import { anyToJson } from './to-json.js';
import { anyFromJson } from './from-json.js';

/** A `google.protobuf.Any` as it travels in a DiscoveryResponse (keepCase field names). */
export interface AnyResource {
  readonly type_url: string;
  readonly value: Uint8Array;
}

/**
 * Decodes one Any to canonical proto3 JSON with `"@type"` and snake_case keys.
 * @throws MeshError XMESH_CONFIG_INVALID on an unknown type URL (anywhere inside too) or malformed bytes.
 */
export function decodeResource(protos: EnvoyProtos, any: AnyResource): unknown {
  const issues = new ProtoIssues();
  const json = decodeResourceInto(protos, any, '', issues);
  issues.throwIfAny('cannot decode resource');
  return json;
}

/** As decodeResource, recording problems under `path` instead of throwing. */
export function decodeResourceInto(protos: EnvoyProtos, any: AnyResource, path: string, issues: ProtoIssues): unknown {
  const shape = any as { type_url?: unknown; value?: unknown } | null;
  if (typeof shape !== 'object' || shape === null) {
    issues.add(path, 'must be an Any ({type_url, value})');
    return undefined;
  }
  if (typeof shape.type_url !== 'string') {
    issues.add(path === '' ? '@type' : `${path}.@type`, 'type_url must be a string');
    return undefined;
  }
  if (!(shape.value instanceof Uint8Array)) {
    issues.add(path === '' ? 'value' : `${path}.value`, 'must be bytes (Uint8Array)');
    return undefined;
  }
  return anyToJson({ protos, issues }, shape.type_url, shape.value, path);
}

/**
 * Encodes proto3 JSON with `"@type"` (snake_case or lowerCamelCase keys) to an Any.
 * @throws MeshError XMESH_CONFIG_INVALID listing unknown fields, wrong types and unknown type URLs, with paths.
 */
export function encodeResource(protos: EnvoyProtos, json: unknown): AnyResource {
  const issues = new ProtoIssues();
  const plain = anyFromJson({ protos, issues }, json, '');
  issues.throwIfAny('cannot encode resource');
  const { type_url, value } = plain as { type_url: string; value: Uint8Array };
  return { type_url, value };
}

/** The protobufjs type of google.protobuf.Any in `protos` (for callers building DiscoveryResponses). */
export function anyType(protos: EnvoyProtos): protobuf.Type {
  return protos.root.lookupType('google.protobuf.Any');
}
