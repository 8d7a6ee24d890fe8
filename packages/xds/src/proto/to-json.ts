/**
 * Decoded protobufjs messages → canonical proto3 JSON (snake_case keys, as loaded with keepCase).
 * Follows the proto3 JSON mapping: well-known types in their JSON form, enums by name, 64-bit integers
 * as decimal strings, bytes as base64, unset and default-valued scalars omitted (oneof members and
 * proto3 `optional` fields are emitted whenever set), nested `Any` decoded recursively with its `@type`.
 */
import protobuf from 'protobufjs';
import type { Type } from 'protobufjs';
import { lowerCamel, type EnvoyProtos } from './load.js';
import { fieldPath, type ProtoIssues } from './issues.js';
import { formatDuration, formatTimestamp, toNumber, WRAPPER_TYPES, type JsonValue } from './wkt.js';

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
  return planMessageToJson(ctx, planOf(type), msg, path);
}

/**
 * Where a value sits, composed into a string only when a problem is recorded there: decoding allocates one
 * small step per nested message instead of a path string per field.
 */
type PathRef = string | PathStep;

class PathStep {
  constructor(
    readonly parent: PathRef,
    readonly field: string,
    /** A list index (`[i]`), a map key (`["key"]`) or none. */
    readonly at: number | string | undefined,
  ) {}
}

function pathText(ref: PathRef): string {
  if (typeof ref === 'string') return ref;
  const field = fieldPath(pathText(ref.parent), ref.field);
  if (ref.at === undefined) return field;
  return typeof ref.at === 'number' ? `${field}[${ref.at}]` : `${field}["${ref.at}"]`;
}

type SpecialForm = 'any' | 'duration' | 'timestamp' | 'field-mask' | 'empty' | 'struct' | 'value' | 'list-value' | 'wrapper';

/** Well-known types (other than wrappers) whose JSON is not the plain object of their fields. */
const SPECIAL_FORMS: Readonly<Record<string, SpecialForm>> = {
  '.google.protobuf.Any': 'any',
  '.google.protobuf.Duration': 'duration',
  '.google.protobuf.Timestamp': 'timestamp',
  '.google.protobuf.FieldMask': 'field-mask',
  '.google.protobuf.Empty': 'empty',
  '.google.protobuf.Struct': 'struct',
  '.google.protobuf.Value': 'value',
  '.google.protobuf.ListValue': 'list-value',
};

/** What converting one message type needs, read once from its protobufjs reflection (`fullName` walks parents). */
interface TypePlan {
  readonly fullName: string;
  /** The proto3 JSON special form of a well-known type (SPECIAL_FORMS and WRAPPER_TYPES); undefined otherwise. */
  readonly special: SpecialForm | undefined;
  /** For wrappers: the proto scalar type of `value`. */
  readonly wrapped: string | undefined;
  readonly fields: readonly FieldPlan[];
}

interface FieldPlan {
  readonly name: string;
  readonly map: boolean;
  readonly repeated: boolean;
  /** Set for message-typed fields; its plan is read on first use (types can nest themselves). */
  readonly message: Type | undefined;
  /** Set for enum fields: names by number. */
  readonly enumNames: Readonly<Record<number, string>> | undefined;
  /** google.protobuf.NullValue: always JSON null. */
  readonly nullValue: boolean;
  /** The proto scalar type name (`int64`, `bytes`, ...). */
  readonly scalar: string;
  /** Singular, outside any oneof and not a message: omitted when it holds its default. */
  readonly omitDefault: boolean;
}

/**
 * Plans by type. Keyed weakly by the immutable, resolved protobufjs types, so plans live exactly as long as
 * the `EnvoyProtos` they were read from; two roots never share an entry.
 */
const plans = new WeakMap<Type, TypePlan>();

function planOf(type: Type): TypePlan {
  let plan = plans.get(type);
  if (plan === undefined) {
    plan = readPlan(type);
    plans.set(type, plan);
  }
  return plan;
}

function readPlan(type: Type): TypePlan {
  const fullName = type.fullName;
  const wrapped = WRAPPER_TYPES[fullName];
  const special = SPECIAL_FORMS[fullName] ?? (wrapped !== undefined ? 'wrapper' : undefined);
  const fields = type.fieldsArray.map((field): FieldPlan => {
    const resolved = field.resolvedType;
    const message = resolved instanceof protobuf.Type ? resolved : undefined;
    const enumType = resolved instanceof protobuf.Enum ? resolved : undefined;
    return {
      name: field.name,
      map: field.map,
      repeated: field.repeated,
      message,
      enumNames: enumType?.valuesById,
      nullValue: enumType !== undefined && enumType.fullName === '.google.protobuf.NullValue',
      scalar: field.type,
      omitDefault: !field.partOf && message === undefined,
    };
  });
  return { fullName, special, wrapped, fields };
}

const hasOwn = Object.prototype.hasOwnProperty;

function planMessageToJson(ctx: ToJsonContext, plan: TypePlan, msg: Msg, path: PathRef): JsonValue {
  if (plan.special !== undefined) return wellKnownToJson(ctx, plan, msg, path);
  const out: { [k: string]: JsonValue } = {};
  const fields = plan.fields;
  for (let f = 0; f < fields.length; f++) {
    const field = fields[f]!;
    const name = field.name;
    if (!hasOwn.call(msg, name)) continue;
    const value = msg[name];
    if (value === null || value === undefined) continue;
    if (field.map) {
      const entries = Object.keys(value as Msg);
      if (entries.length === 0) continue;
      const obj: { [k: string]: JsonValue } = {};
      for (const key of entries) obj[key] = valueToJson(ctx, field, (value as Msg)[key], path, key);
      out[name] = obj;
    } else if (field.repeated) {
      const list = value as unknown[];
      if (list.length === 0) continue;
      const items: JsonValue[] = new Array(list.length);
      for (let i = 0; i < list.length; i++) items[i] = valueToJson(ctx, field, list[i], path, i);
      out[name] = items;
    } else {
      if (field.omitDefault && isDefaultScalar(value)) continue;
      out[name] = valueToJson(ctx, field, value, path, undefined);
    }
  }
  return out;
}

/** One value of `field` in the message at `parent`; `at` is its list index or map key. */
function valueToJson(ctx: ToJsonContext, field: FieldPlan, value: unknown, parent: PathRef, at: number | string | undefined): JsonValue {
  if (field.message !== undefined) return planMessageToJson(ctx, planOf(field.message), value as Msg, new PathStep(parent, field.name, at));
  if (field.enumNames !== undefined) {
    if (field.nullValue) return null;
    return field.enumNames[value as number] ?? (value as number);
  }
  return scalarToJson(field.scalar, value);
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

function wellKnownToJson(ctx: ToJsonContext, plan: TypePlan, msg: Msg, path: PathRef): JsonValue {
  switch (plan.special) {
    case 'any':
      return anyToJson(ctx, String(msg['type_url'] ?? ''), (msg['value'] as Uint8Array | undefined) ?? new Uint8Array(), pathText(path));
    case 'duration':
      return formatDuration(toNumber(msg['seconds']), toNumber(msg['nanos']));
    case 'timestamp':
      return formatTimestamp(toNumber(msg['seconds']), toNumber(msg['nanos']));
    case 'field-mask':
      return ((msg['paths'] as string[] | undefined) ?? []).map(lowerCamel).join(',');
    case 'empty':
      return {};
    case 'struct':
      return structToJson(msg);
    case 'value':
      return protoValueToJson(msg);
    case 'list-value':
      return ((msg['values'] as Msg[] | undefined) ?? []).map(protoValueToJson);
    default: {
      const wrapped = plan.wrapped!;
      return scalarToJson(wrapped, msg['value'] ?? (wrapped === 'bytes' ? new Uint8Array() : 0));
    }
  }
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
  return planOf(type).special !== undefined;
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
  let v: unknown;
  if ((v = kindOf(msg, 'number_value', 'numberValue')) !== undefined) return scalarToJson('double', v);
  if ((v = kindOf(msg, 'string_value', 'stringValue')) !== undefined) return v as string;
  if ((v = kindOf(msg, 'bool_value', 'boolValue')) !== undefined) return v as boolean;
  if ((v = kindOf(msg, 'struct_value', 'structValue')) !== undefined) return structToJson(v as Msg);
  if ((v = kindOf(msg, 'list_value', 'listValue')) !== undefined) return ((v as Msg)['values'] as Msg[] | undefined ?? []).map(protoValueToJson);
  return null; // null_value, or no kind set
}

/** A `Value` kind set on `msg` under either spelling, or undefined. */
function kindOf(msg: Msg, snake: string, camel: string): unknown {
  if (hasOwn.call(msg, camel) && msg[camel] != null) return msg[camel];
  if (hasOwn.call(msg, snake) && msg[snake] != null) return msg[snake];
  return undefined;
}
