/**
 * SOFARPC's Hessian2 content (codec byte 1): a request is a `SofaRequest` object (target service,
 * method, argument signatures, request props) followed by the arguments, all in one Hessian2
 * stream; a response is a `SofaResponse` object (`isError`, `errorMsg`, `appResponse`,
 * `responseProps`), or an `RpcServerException` when the Bolt status is not SUCCESS.
 * Serialization is `sofa-hessian-node`'s (the one the stock Node SOFA stacks use).
 */
import type Hessian from 'sofa-hessian-node';
import { lazyRequire, MeshError } from '@xmesh/core';
import { RPC_SERVER_EXCEPTION_CLASS, SOFA_REQUEST_CLASS, SOFA_RESPONSE_CLASS } from './constants.js';

/** Field layouts of the SOFA classes written here (Java's field order). */
const SOFA_CLASSES = Object.freeze({
  [SOFA_REQUEST_CLASS]: {
    methodName: { type: 'java.lang.String' },
    methodArgSigs: { type: 'java.lang.String', isArray: true, arrayDepth: 1 },
    targetServiceUniqueName: { type: 'java.lang.String' },
    targetAppName: { type: 'java.lang.String' },
    requestProps: { type: 'java.util.Map', generic: [{ type: 'java.lang.String' }, { type: 'java.lang.Object' }] },
  },
});

const SERVER_EXCEPTION_CLASSES = Object.freeze({
  [RPC_SERVER_EXCEPTION_CLASS]: {
    detailMessage: { type: 'java.lang.String' },
    stackTrace: { type: 'java.lang.StackTraceElement', isArray: true, arrayDepth: 1 },
    cause: { type: 'java.lang.Throwable' },
  },
  'java.lang.Throwable': {
    detailMessage: { type: 'java.lang.String' },
    stackTrace: { type: 'java.lang.StackTraceElement', isArray: true, arrayDepth: 1 },
    cause: { type: 'java.lang.Throwable' },
  },
  'java.lang.StackTraceElement': {
    declaringClass: { type: 'java.lang.String' },
    methodName: { type: 'java.lang.String' },
    fileName: { type: 'java.lang.String' },
    lineNumber: { type: 'int' },
  },
});

/** sofa-hessian-node, loaded with the first Bolt message (importing `@xmesh/codec` does not load it). */
const hessianModule = lazyRequire<typeof Hessian>(import.meta.url, 'sofa-hessian-node');
const hessianV3 = () => hessianModule().v3;

type HessianWriter = ReturnType<typeof Hessian.v3.compile>;
/** A class writer compiled on its first use. */
function compiledWriter(compile: () => HessianWriter): HessianWriter {
  let writer: HessianWriter | undefined;
  return (value, encoder) => (writer ??= compile())(value, encoder);
}

const writeServerException = compiledWriter(() => hessianV3().compile({ type: RPC_SERVER_EXCEPTION_CLASS }, '2.0', SERVER_EXCEPTION_CLASSES));

/**
 * The content of a non-SUCCESS response as a SOFA server writes it: an `RpcServerException` whose
 * `detailMessage` is `message` (what a proxy answers for a call it could not deliver).
 */
export function encodeHessianServerException(message: string): Buffer {
  const encoder = new (hessianV3().Encoder)({ size: 128 });
  writeServerException({ detailMessage: message, stackTrace: [], cause: null }, encoder);
  return Buffer.from(encoder.get());
}

const writeSofaRequest = compiledWriter(() => hessianV3().compile({ type: SOFA_REQUEST_CLASS }, '2.0', SOFA_CLASSES));

/** A SOFARPC call as the app gives it (`sofa-rpc-node`'s `invoke(method, args)`). */
export interface SofaCall {
  /** `interface:version[:uniqueId]`. */
  readonly service: string;
  readonly method: string;
  /** Plain JS values, or `{ $class, $ }` Java-typed values (js-to-java). */
  readonly args: readonly unknown[];
  readonly targetApp?: string;
  readonly requestProps?: Readonly<Record<string, unknown>>;
}

/** What a request's Hessian2 content says before its arguments. */
export interface SofaRequestHead {
  readonly service: string;
  readonly method: string;
  readonly argSigs: readonly string[];
  readonly targetApp: string;
}

/** The end of a call as a SOFA response says it. */
export interface SofaResult {
  /** The application's (or the framework's) error; undefined on success. */
  readonly error: Error | undefined;
  readonly appResponse: unknown;
  readonly responseProps: Readonly<Record<string, unknown>> | undefined;
}

/** The Hessian2 content of a request. */
export function encodeHessianRequest(call: SofaCall): Buffer {
  const encoder = new (hessianV3().Encoder)({ size: 256 });
  writeSofaRequest({
    targetAppName: call.targetApp ?? null,
    methodName: call.method,
    methodArgSigs: call.args.map(javaClassOf),
    targetServiceUniqueName: call.service,
    requestProps: call.requestProps ?? null,
  }, encoder);
  for (const arg of call.args) encoder.write(isNullJava(arg) ? null : arg);
  return Buffer.from(encoder.get());
}

/** The `SofaRequest` object at the start of a request's content; arguments are left unread. Throws XMESH_PROTOCOL. */
export function decodeHessianRequestHead(content: Uint8Array): SofaRequestHead {
  const object = guard(() => new (hessianV3().Decoder)(toBuffer(content)).readObject(), 'request');
  const method = object.methodName;
  const service = object.targetServiceUniqueName;
  if (typeof method !== 'string' || typeof service !== 'string') {
    throw new MeshError('XMESH_PROTOCOL', 'Hessian2 Bolt request: the SofaRequest has no methodName or targetServiceUniqueName');
  }
  const sigs = Array.isArray(object.methodArgSigs) ? object.methodArgSigs.filter((s): s is string => typeof s === 'string') : [];
  return { service, method, argSigs: sigs, targetApp: typeof object.targetAppName === 'string' ? object.targetAppName : '' };
}

/**
 * A response's Hessian2 content read as the SOFA client reads it: a SUCCESS status carries a
 * SofaResponse (whose `isError`/`errorMsg` or an exception `appResponse` is an application
 * error); another status carries the server's exception (or nothing). Throws XMESH_PROTOCOL.
 */
export function decodeHessianResult(content: Uint8Array, success: boolean): SofaResult {
  if (!success) {
    if (content.length === 0) return { error: remoteError('the provider answered with an error status and no detail'), appResponse: undefined, responseProps: undefined };
    const value = guard(() => new (hessianV3().Decoder)(toBuffer(content)).read(), 'response');
    return { error: remoteError(describeException(value)), appResponse: undefined, responseProps: undefined };
  }
  if (content.length === 0) return { error: undefined, appResponse: null, responseProps: undefined };
  const value = guard(() => new (hessianV3().Decoder)(toBuffer(content)).read(), 'response');
  if (typeof value === 'string') return { error: remoteError(value), appResponse: undefined, responseProps: undefined };
  if (value instanceof Error) return { error: value, appResponse: undefined, responseProps: undefined };
  if (value === null || typeof value !== 'object') return { error: undefined, appResponse: value, responseProps: undefined };
  const response = value as { isError?: unknown; errorMsg?: unknown; appResponse?: unknown; responseProps?: Record<string, unknown> };
  const props = response.responseProps ?? undefined;
  if (response.appResponse instanceof Error) return { error: response.appResponse, appResponse: undefined, responseProps: props };
  if (response.isError === true) return { error: remoteError(String(response.errorMsg ?? 'the provider reported an error')), appResponse: undefined, responseProps: props };
  return { error: undefined, appResponse: response.appResponse ?? null, responseProps: props };
}

/** The class name SOFA responses carry. */
export const HESSIAN_RESPONSE_CLASS = SOFA_RESPONSE_CLASS;

/** A Java type name for an argument, as SOFA's `methodArgSigs` lists them. */
export function javaClassOf(value: unknown): string {
  if (value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))) return 'null';
  if (typeof value === 'object' && typeof (value as { $class?: unknown }).$class === 'string') {
    const typed = value as { $class: string; $abstractClass?: string; isArray?: boolean; arrayDepth?: number };
    const type = typed.$abstractClass ?? typed.$class;
    if (typed.isArray === true) return '['.repeat(typed.arrayDepth ?? 1) + arrayItemCode(type);
    if (type.startsWith('[')) {
      const depth = type.length - type.replace(/^\[+/, '').length;
      return type.slice(0, depth) + arrayItemCode(type.slice(depth));
    }
    return type;
  }
  switch (typeof value) {
    case 'boolean':
      return 'boolean';
    case 'string':
      return 'java.lang.String';
    case 'number':
      return Number.isInteger(value) ? (value >= -2147483648 && value <= 2147483647 ? 'int' : 'long') : 'double';
    default:
      break;
  }
  if (value instanceof Date) return 'java.util.Date';
  if (Buffer.isBuffer(value)) return '[B';
  if (Array.isArray(value)) return 'java.util.ArrayList';
  if (value instanceof Error) return 'java.lang.RuntimeException';
  return 'java.util.HashMap';
}

const ARRAY_ITEM_CODES: Readonly<Record<string, string>> = {
  short: 'S', int: 'I', boolean: 'Z', double: 'D', long: 'J', float: 'F', byte: 'B',
  string: 'Ljava.lang.String;', object: 'Ljava.lang.Object;',
};

function arrayItemCode(type: string): string {
  return ARRAY_ITEM_CODES[type] ?? `L${type};`;
}

/** `{ $class, $: null }` is written as a plain null (SOFA's own convention). */
function isNullJava(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { $class?: unknown }).$class === 'string' && ((value as { $?: unknown }).$ === null || (value as { $?: unknown }).$ === undefined);
}

function describeException(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.message;
  if (value !== null && typeof value === 'object') {
    const detail = (value as { detailMessage?: unknown; message?: unknown }).detailMessage ?? (value as { message?: unknown }).message;
    if (typeof detail === 'string') return detail;
  }
  return 'the provider reported an exception';
}

function remoteError(message: string): Error {
  const error = new Error(message);
  error.name = 'RpcServerError';
  error.stack = '';
  return error;
}

function guard<T>(read: () => T, what: string): T {
  try {
    return read();
  } catch (cause) {
    throw new MeshError('XMESH_PROTOCOL', `malformed Hessian2 Bolt ${what} content: ${(cause as Error).message}`, { cause });
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
