/**
 * Decoded protobufjs messages → canonical proto3 JSON (snake_case keys, as loaded with keepCase).
 * Follows the proto3 JSON mapping: well-known types in their JSON form, enums by name, 64-bit integers
 * as decimal strings, bytes as base64, unset and default-valued scalars omitted (oneof members and
 * proto3 `optional` fields are emitted whenever set), nested `Any` decoded recursively with its `@type`.
 */
import protobuf from 'protobufjs';
import type { Field, Type } from 'protobufjs';
import { lowerCamel, type EnvoyProtos } from './load.js';
import { fieldPath, type ProtoIssues } from './issues.js';
import { formatDuration, formatTimestamp, SPECIAL_JSON_TYPES, toNumber, WRAPPER_TYPES, type JsonValue } from './wkt.js';

type Msg = Record<string, unknown>;

export interface ToJsonContext {
  readonly protos: EnvoyProtos;
  readonly issues: ProtoIssues;
}

/**
 * Decodes `bytes` as `type` and converts to JSON with field paths under `path`; malformed bytes are
 * recorded at `bytesPath` and give undefined.
 */
export function decodeToJson(ctx: ToJsonContext, type: Type, bytes: Uint8Array, path: string, bytesPath: string): JsonValue | undefined {
  let msg: Msg;
  try {
    msg = type.decode(bytes) as unknown as Msg;
  } catch (err) {
    ctx.issues.add(bytesPath, `malformed ${type.fullName.slice(1)} bytes: ${(err as Error).message}`);
    return undefined;
  }
  return messageToJson(ctx, type, msg, path);
}

export function messageToJson(ctx: ToJsonContext, type: Type, msg: Msg, path: string): JsonValue {
  const special = wellKnownToJson(ctx, type, msg, path);
  if (special !== NOT_WELL_KNOWN) return special;
  const out: { [k: string]: JsonValue } = {};
  for (const field of type.fieldsArray) {
    if (!Object.prototype.hasOwnProperty.call(msg, field.name)) continue;
    const value = msg[field.name];
    if (value === null || value === undefined) continue;
    const at = fieldPath(path, field.name);
    if (field.map) {
      const entries = Object.keys(value as Msg);
      if (entries.length === 0) continue;
      const obj: { [k: string]: JsonValue } = {};
      for (const key of entries) obj[key] = valueToJson(ctx, field, (value as Msg)[key], `${at}["${key}"]`);
      out[field.name] = obj;
    } else if (field.repeated) {
      const list = value as unknown[];
      if (list.length === 0) continue;
      out[field.name] = list.map((item, i) => valueToJson(ctx, field, item, `${at}[${i}]`));
    } else {
      if (!field.partOf && !(field.resolvedType instanceof protobuf.Type) && isDefaultScalar(value)) continue;
      out[field.name] = valueToJson(ctx, field, value, at);
    }
  }
  return out;
}

function valueToJson(ctx: ToJsonContext, field: Field, value: unknown, path: string): JsonValue {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return messageToJson(ctx, resolved, value as Msg, path);
  if (resolved instanceof protobuf.Enum) {
    if (resolved.fullName === '.google.protobuf.NullValue') return null;
    return resolved.valuesById[value as number] ?? (value as number);
  }
  return scalarToJson(field.type, value);
}

export function scalarToJson(protoType: string, value: unknown): JsonValue {
  switch (protoType) {
    case 'int64': case 'uint64': case 'sint64': case 'fixed64': case 'sfixed64':
      return String(value); // Long#toString or number: decimal either way
    case 'bytes':
      return Buffer.from(value as Uint8Array).toString('base64');
    case 'double': case 'float': {
      const n = value as number;
      if (Number.isNaN(n)) return 'NaN';
      if (n === Infinity) return 'Infinity';
      if (n === -Infinity) return '-Infinity';
      return n;
    }
    default:
      return value as JsonValue;
  }
}

function isDefaultScalar(value: unknown): boolean {
  switch (typeof value) {
    case 'string': return value === '';
    case 'number': return value === 0 && !Object.is(value, -0);
    case 'boolean': return value === false;
    case 'object':
      if (value instanceof Uint8Array) return value.length === 0;
      return isZeroLong(value);
    default: return false;
  }
}

function isZeroLong(value: unknown): boolean {
  const v = value as { low?: unknown; high?: unknown };
  return v.low === 0 && v.high === 0;
}

const NOT_WELL_KNOWN = Symbol('not well-known');

function wellKnownToJson(ctx: ToJsonContext, type: Type, msg: Msg, path: string): JsonValue | typeof NOT_WELL_KNOWN {
  const name = type.fullName;
  if (!name.startsWith('.google.protobuf.')) return NOT_WELL_KNOWN;
  switch (name) {
    case '.google.protobuf.Any':
      return anyToJson(ctx, String(msg['type_url'] ?? ''), (msg['value'] as Uint8Array | undefined) ?? new Uint8Array(), path);
    case '.google.protobuf.Duration':
      return formatDuration(toNumber(msg['seconds']), toNumber(msg['nanos']));
    case '.google.protobuf.Timestamp':
      return formatTimestamp(toNumber(msg['seconds']), toNumber(msg['nanos']));
    case '.google.protobuf.FieldMask':
      return ((msg['paths'] as string[] | undefined) ?? []).map(lowerCamel).join(',');
    case '.google.protobuf.Empty':
      return {};
    case '.google.protobuf.Struct':
      return structToJson(msg);
    case '.google.protobuf.Value':
      return protoValueToJson(msg);
    case '.google.protobuf.ListValue':
      return ((msg['values'] as Msg[] | undefined) ?? []).map(protoValueToJson);
  }
  const wrapped = WRAPPER_TYPES[name];
  if (wrapped !== undefined) return scalarToJson(wrapped, msg['value'] ?? (wrapped === 'bytes' ? new Uint8Array() : 0));
  return NOT_WELL_KNOWN;
}

/** `Any` → its message as JSON with `"@type"` first; a well-known type with a non-object JSON form goes under `value`. */
export function anyToJson(ctx: ToJsonContext, typeUrl: string, bytes: Uint8Array, path: string): JsonValue {
  if (typeUrl === '' && bytes.length === 0) return {};
  const type = ctx.protos.typeOf(typeUrl);
  if (!type) {
    ctx.issues.add(fieldPath(path, '@type'), `unknown or unsupported type URL ${JSON.stringify(typeUrl)}`);
    return { '@type': typeUrl };
  }
  const valuePath = fieldPath(path, 'value');
  if (!isWellKnownScalarForm(type)) {
    const inner = decodeToJson(ctx, type, bytes, path, valuePath);
    return { '@type': typeUrl, ...(inner as { [k: string]: JsonValue } | undefined) };
  }
  const inner = decodeToJson(ctx, type, bytes, valuePath, valuePath);
  return { '@type': typeUrl, value: inner ?? null };
}

/** Well-known types with a special JSON mapping: inside an Any their JSON sits under `value`. */
export function isWellKnownScalarForm(type: Type): boolean {
  return type.fullName in WRAPPER_TYPES || SPECIAL_JSON_TYPES.has(type.fullName);
}

function structToJson(msg: Msg): JsonValue {
  const fields = (msg['fields'] as Record<string, Msg> | undefined) ?? {};
  const out: { [k: string]: JsonValue } = {};
  for (const key of Object.keys(fields)) out[key] = protoValueToJson(fields[key]!);
  return out;
}

/**
 * google.protobuf.Value → JSON. protobufjs bundles struct.proto with lowerCamelCase field names
 * (`numberValue`) whatever `keepCase` says, so both spellings are read.
 */
function protoValueToJson(msg: Msg): JsonValue {
  const get = (snake: string, camel: string): unknown => {
    if (Object.prototype.hasOwnProperty.call(msg, camel) && msg[camel] != null) return msg[camel];
    if (Object.prototype.hasOwnProperty.call(msg, snake) && msg[snake] != null) return msg[snake];
    return undefined;
  };
  let v: unknown;
  if ((v = get('number_value', 'numberValue')) !== undefined) return scalarToJson('double', v);
  if ((v = get('string_value', 'stringValue')) !== undefined) return v as string;
  if ((v = get('bool_value', 'boolValue')) !== undefined) return v as boolean;
  if ((v = get('struct_value', 'structValue')) !== undefined) return structToJson(v as Msg);
  if ((v = get('list_value', 'listValue')) !== undefined) return ((v as Msg)['values'] as Msg[] | undefined ?? []).map(protoValueToJson);
  return null; // null_value, or no kind set
}
