/**
 * Proto3 JSON (snake_case or lowerCamelCase keys) → protobuf bytes. The JSON is walked against the
 * message descriptors and turned into the plain object shape protobufjs `fromObject` takes; every
 * problem (unknown field, wrong type, unknown enum name, bad duration, unknown `@type`) is recorded
 * with its path, so one pass reports all of them.
 */
import protobuf from 'protobufjs';
import type { Field, Type } from 'protobufjs';
import type { EnvoyProtos } from './load.js';
import { fieldPath, type ProtoIssues } from './issues.js';
import { parseDuration, parseTimestamp, WRAPPER_TYPES } from './wkt.js';
import { isWellKnownScalarForm } from './to-json.js';
import { describe, protoEnumName } from '../decode/reader.js';

type Plain = Record<string, unknown>;

export interface FromJsonContext {
  readonly protos: EnvoyProtos;
  readonly issues: ProtoIssues;
}

/** Encodes `json` as `type`; undefined (with the problems recorded) when it cannot. */
export function encodeFromJson(ctx: FromJsonContext, type: Type, json: unknown, path: string): Uint8Array | undefined {
  const before = ctx.issues.errors.length;
  const plain = jsonToPlain(ctx, type, json, path);
  if (plain === undefined || ctx.issues.errors.length > before) return undefined;
  try {
    return type.encode(type.fromObject(plain)).finish();
  } catch (err) {
    ctx.issues.add(path, `cannot encode ${type.fullName.slice(1)}: ${(err as Error).message}`);
    return undefined;
  }
}

function isObject(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** JSON for one message → the plain object protobufjs `fromObject` accepts. */
export function jsonToPlain(ctx: FromJsonContext, type: Type, json: unknown, path: string): Plain | undefined {
  const special = wellKnownFromJson(ctx, type, json, path);
  if (special !== NOT_WELL_KNOWN) return special;
  if (!isObject(json)) {
    ctx.issues.add(path, `must be an object (${type.fullName.slice(1)}), got ${describe(json)}`);
    return undefined;
  }
  const fields = ctx.protos.fieldsOf(type);
  const out: Plain = {};
  const given = new Map<string, string>(); // field name → key used
  const oneofs = new Map<string, string>(); // oneof name → key used
  for (const key of Object.keys(json)) {
    const at = fieldPath(path, key);
    const field = fields.get(key);
    if (!field) {
      ctx.issues.add(at, `unknown field "${key}" in ${type.fullName.slice(1)}`);
      continue;
    }
    const prior = given.get(field.name);
    if (prior !== undefined) {
      ctx.issues.add(at, `duplicate field (also given as "${prior}")`);
      continue;
    }
    given.set(field.name, key);
    const value = json[key];
    if (value === null && field.resolvedType?.fullName !== '.google.protobuf.Value') continue; // null = unset
    const oneof = field.partOf;
    if (oneof && !oneof.name.startsWith('_')) {
      const other = oneofs.get(oneof.name);
      if (other !== undefined) {
        ctx.issues.add(at, `only one of the "${oneof.name}" fields may be set (also given: "${other}")`);
        continue;
      }
      oneofs.set(oneof.name, key);
    }
    const converted = fieldFromJson(ctx, field, value, at);
    if (converted === undefined) continue;
    // proto3 implicit presence: a default-valued scalar is not written, so encodings are canonical.
    if (!field.partOf && !field.repeated && !field.map && !(field.resolvedType instanceof protobuf.Type) && isDefault(converted)) continue;
    out[field.name] = converted;
  }
  return out;
}

function fieldFromJson(ctx: FromJsonContext, field: Field, value: unknown, path: string): unknown {
  if (field.map) {
    if (!isObject(value)) return void ctx.issues.add(path, `must be a map (object), got ${describe(value)}`);
    const out: Plain = {};
    for (const key of Object.keys(value)) out[key] = valueFromJson(ctx, field, value[key], `${path}["${key}"]`);
    return out;
  }
  if (field.repeated) {
    // As Envoy's loader (protobuf's JSON parser, legacy syntax): one value stands for a one-element list.
    if (!Array.isArray(value)) return [valueFromJson(ctx, field, value, path)];
    return value.map((item, i) => valueFromJson(ctx, field, item, `${path}[${i}]`));
  }
  return valueFromJson(ctx, field, value, path);
}

function valueFromJson(ctx: FromJsonContext, field: Field, value: unknown, path: string): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return jsonToPlain(ctx, resolved, value, path);
  if (resolved instanceof protobuf.Enum) {
    if (resolved.fullName === '.google.protobuf.NullValue') return 0;
    if (typeof value === 'string') {
      // Any ASCII case, or the number as a decimal string, as Envoy's loader reads enums (see protoEnumName).
      const name = protoEnumName(value, resolved.valuesById);
      const n = name === undefined ? undefined : resolved.values[name];
      if (n === undefined) {
        const names = Object.keys(resolved.values);
        const list = names.length <= 12 ? `: one of ${names.join(', ')}` : '';
        return void ctx.issues.add(path, `unknown ${resolved.name} value ${JSON.stringify(value)}${list}`);
      }
      return n;
    }
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    return void ctx.issues.add(path, `must be a ${resolved.name} name, got ${describe(value)}`);
  }
  return scalarFromJson(ctx, field.type, value, path);
}

function isDefault(value: unknown): boolean {
  if (value instanceof Uint8Array) return value.length === 0;
  return value === 0 || value === '0' || value === '' || value === false;
}

const INT_RE = /^-?\d+$/;
const BASE64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;
const INT_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n], sint32: [-(2n ** 31n), 2n ** 31n - 1n], sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n], fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n], sint64: [-(2n ** 63n), 2n ** 63n - 1n], sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n], fixed64: [0n, 2n ** 64n - 1n],
};

/** One proto scalar from JSON: numbers or decimal strings for integers (64-bit kept as strings), base64 for bytes. */
export function scalarFromJson(ctx: FromJsonContext, protoType: string, value: unknown, path: string): unknown {
  const range = INT_RANGES[protoType];
  if (range) {
    const text = typeof value === 'number' && Number.isInteger(value) ? String(value) : typeof value === 'string' ? value : '';
    if (!INT_RE.test(text)) return void ctx.issues.add(path, `must be an integer (${protoType}), got ${describe(value)}`);
    const big = BigInt(text);
    if (big < range[0] || big > range[1]) return void ctx.issues.add(path, `${text} is out of range for ${protoType}`);
    return range[1] > 2n ** 32n ? big.toString() : Number(big);
  }
  switch (protoType) {
    case 'double': case 'float':
      if (typeof value === 'number') return value;
      if (value === 'NaN') return NaN;
      if (value === 'Infinity') return Infinity;
      if (value === '-Infinity') return -Infinity;
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
      return void ctx.issues.add(path, `must be a number, got ${describe(value)}`);
    case 'bool':
      if (typeof value === 'boolean') return value;
      return void ctx.issues.add(path, `must be true or false, got ${describe(value)}`);
    case 'string':
      if (typeof value === 'string') return value;
      return void ctx.issues.add(path, `must be a string, got ${describe(value)}`);
    case 'bytes':
      if (value instanceof Uint8Array) return value;
      if (typeof value === 'string' && BASE64_RE.test(value)) return Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
      return void ctx.issues.add(path, `must be base64 bytes, got ${describe(value)}`);
    default:
      return void ctx.issues.add(path, `unsupported field type ${protoType}`);
  }
}

const NOT_WELL_KNOWN = Symbol('not well-known');

function wellKnownFromJson(ctx: FromJsonContext, type: Type, json: unknown, path: string): Plain | undefined | typeof NOT_WELL_KNOWN {
  const name = type.fullName;
  if (!name.startsWith('.google.protobuf.')) return NOT_WELL_KNOWN;
  const wrapped = WRAPPER_TYPES[name];
  if (wrapped !== undefined) {
    const value = scalarFromJson(ctx, wrapped, json, path);
    return value === undefined ? undefined : { value };
  }
  switch (name) {
    case '.google.protobuf.Any': return anyFromJson(ctx, json, path);
    case '.google.protobuf.Duration':
    case '.google.protobuf.Timestamp': {
      if (typeof json !== 'string') return void ctx.issues.add(path, `must be a ${name === '.google.protobuf.Duration' ? 'duration string like "1.5s"' : 'timestamp string'}, got ${describe(json)}`);
      const parsed = name === '.google.protobuf.Duration' ? parseDuration(json) : parseTimestamp(json);
      if (typeof parsed === 'string') return void ctx.issues.add(path, parsed);
      return parsed;
    }
    case '.google.protobuf.FieldMask':
      if (typeof json !== 'string') return void ctx.issues.add(path, `must be a comma-separated field mask, got ${describe(json)}`);
      return { paths: json === '' ? [] : json.split(',').map((p) => p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)) };
    case '.google.protobuf.Empty':
      if (!isObject(json) || Object.keys(json).length > 0) return void ctx.issues.add(path, `must be {}, got ${describe(json)}`);
      return {};
    case '.google.protobuf.Struct':
      if (!isObject(json)) return void ctx.issues.add(path, `must be an object, got ${describe(json)}`);
      return structFromJson(valueFieldNames(ctx, type), json);
    case '.google.protobuf.Value':
      return protoValueFromJson(valueFieldNames(ctx, type), json);
    case '.google.protobuf.ListValue':
      if (!Array.isArray(json)) return void ctx.issues.add(path, `must be a list, got ${describe(json)}`);
      return listFromJson(valueFieldNames(ctx, type), json);
    default:
      return NOT_WELL_KNOWN;
  }
}

/** `{"@type": url, ...fields}` (or `{"@type": url, "value": json}` for well-known types) → `{type_url, value}`. */
export function anyFromJson(ctx: FromJsonContext, json: unknown, path: string): Plain | undefined {
  if (!isObject(json)) return void ctx.issues.add(path, `must be an object with "@type", got ${describe(json)}`);
  const typeUrl = json['@type'];
  if (typeof typeUrl !== 'string') return void ctx.issues.add(fieldPath(path, '@type'), typeUrl === undefined ? 'is required' : `must be a type URL string, got ${describe(typeUrl)}`);
  const type = ctx.protos.typeOf(typeUrl);
  if (!type) return void ctx.issues.add(fieldPath(path, '@type'), `unknown or unsupported type URL ${JSON.stringify(typeUrl)}`);
  let inner: unknown;
  if (isWellKnownScalarForm(type)) {
    for (const key of Object.keys(json)) {
      if (key !== '@type' && key !== 'value') ctx.issues.add(fieldPath(path, key), `unknown field "${key}" (a ${type.fullName.slice(1)} in an Any goes under "value")`);
    }
    inner = json['value'];
  } else {
    const { '@type': _drop, ...rest } = json;
    inner = rest;
  }
  const bytes = encodeFromJson(ctx, type, inner, isWellKnownScalarForm(type) ? fieldPath(path, 'value') : path);
  return bytes === undefined ? undefined : { type_url: typeUrl, value: bytes };
}

/** Field names of google.protobuf.Value as loaded (protobufjs bundles it with lowerCamelCase names). */
interface ValueNames {
  readonly null: string;
  readonly number: string;
  readonly string: string;
  readonly bool: string;
  readonly struct: string;
  readonly list: string;
}

function valueFieldNames(ctx: FromJsonContext, anyStructType: Type): ValueNames {
  const valueType = anyStructType.lookupType('google.protobuf.Value');
  const fields = ctx.protos.fieldsOf(valueType);
  const name = (snake: string) => fields.get(snake)?.name ?? snake;
  return {
    null: name('null_value'), number: name('number_value'), string: name('string_value'),
    bool: name('bool_value'), struct: name('struct_value'), list: name('list_value'),
  };
}

function structFromJson(names: ValueNames, json: Plain): Plain {
  const fields: Plain = {};
  for (const key of Object.keys(json)) fields[key] = protoValueFromJson(names, json[key]);
  return { fields };
}

function listFromJson(names: ValueNames, json: readonly unknown[]): Plain {
  return { values: json.map((item) => protoValueFromJson(names, item)) };
}

/** Any JSON value → google.protobuf.Value (never fails: JSON maps onto Value completely). */
function protoValueFromJson(names: ValueNames, json: unknown): Plain {
  if (json === null || json === undefined) return { [names.null]: 0 };
  if (typeof json === 'number') return { [names.number]: json };
  if (typeof json === 'string') return { [names.string]: json };
  if (typeof json === 'boolean') return { [names.bool]: json };
  if (Array.isArray(json)) return { [names.list]: listFromJson(names, json) };
  if (json instanceof Date) return { [names.string]: json.toISOString() };
  return { [names.struct]: structFromJson(names, json as Plain) };
}
