/**
 * Protobuf codecs from `.proto` files (protobufjs 7, the copy @grpc/proto-loader uses). Messages are
 * plain objects: encode accepts what protobufjs `fromObject` accepts; decode returns `toObject` output
 * with the conversion options given (default: longs and enums as strings, defaults and oneofs set).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import type { IConversionOptions, Message, Type } from 'protobufjs';
import { MeshError } from '@xmesh/core';
import type { Codec, CodecFamily, MethodCodecs } from './codec.js';
import { protocolError } from './codec.js';

export interface ProtoLoadOptions {
  /** Directories searched for the files and their imports, in order. */
  readonly includeDirs?: readonly string[];
  /** Keep field names as written (snake_case); default false: lowerCamelCase, as @grpc/proto-loader. */
  readonly keepCase?: boolean;
  /** How decoded messages are converted to plain objects. */
  readonly conversion?: IConversionOptions;
  /** Content type the codecs report; default `application/grpc+proto`. */
  readonly contentType?: string;
}

export const DEFAULT_CONVERSION: IConversionOptions = Object.freeze({ longs: String, enums: String, defaults: true, oneofs: true });

/** Protobuf codecs for every message and method in the loaded files. */
export interface ProtoCodecs extends CodecFamily {
  readonly root: protobuf.Root;
  /** Every method path (`/pkg.Service/Method`) found. */
  readonly methods: readonly string[];
}

/**
 * Loads `files` (synchronously) and returns their codecs.
 * @throws MeshError XMESH_CONFIG_INVALID when a file cannot be found or parsed.
 */
export function loadProtoCodecs(files: string | readonly string[], options: ProtoLoadOptions = {}): ProtoCodecs {
  const includeDirs = options.includeDirs ?? [];
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of includeDirs) {
      const candidate = path.resolve(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return origin ? path.resolve(path.dirname(origin), target) : path.resolve(target);
  };
  try {
    root.loadSync(typeof files === 'string' ? [files] : [...files], { keepCase: options.keepCase ?? false });
    root.resolveAll();
  } catch (err) {
    throw new MeshError('XMESH_CONFIG_INVALID', `cannot load proto files: ${(err as Error).message}`, { cause: err });
  }
  return new LoadedProtoCodecs(root, options.conversion ?? DEFAULT_CONVERSION, options.contentType ?? 'application/grpc+proto');
}

/** A codec for one protobufjs message type. */
export function protobufCodec<T = Record<string, unknown>>(type: Type, conversion: IConversionOptions = DEFAULT_CONVERSION, contentType = 'application/grpc+proto'): Codec<T> {
  const name = type.fullName.slice(1);
  return {
    contentType,
    encode(message: T): Uint8Array {
      try {
        const msg = message instanceof type.ctor ? (message as unknown as Message) : type.fromObject(message as Record<string, unknown>);
        return type.encode(msg).finish();
      } catch (err) {
        throw protocolError(`cannot encode ${name}: ${(err as Error).message}`, err);
      }
    },
    decode(bytes: Uint8Array): T {
      try {
        return type.toObject(type.decode(bytes), conversion) as T;
      } catch (err) {
        throw protocolError(`invalid ${name} message: ${(err as Error).message}`, err);
      }
    },
  };
}

class LoadedProtoCodecs implements ProtoCodecs {
  private readonly messages = new Map<string, Codec>();
  private readonly methodMap = new Map<string, MethodCodecs>();
  readonly methods: readonly string[];

  constructor(
    readonly root: protobuf.Root,
    private readonly conversion: IConversionOptions,
    private readonly contentType: string,
  ) {
    collectMethods(root, (service, method) => {
      const path = `/${service.fullName.slice(1)}/${method.name}`;
      const request = method.resolvedRequestType!;
      const response = method.resolvedResponseType!;
      this.methodMap.set(path, {
        path,
        requestType: request.fullName.slice(1),
        responseType: response.fullName.slice(1),
        requestStream: method.requestStream === true,
        responseStream: method.responseStream === true,
        request: this.codecOf(request),
        response: this.codecOf(response),
      });
    });
    this.methods = [...this.methodMap.keys()];
  }

  message(name: string): Codec | undefined {
    const cached = this.messages.get(name.startsWith('.') ? name.slice(1) : name);
    if (cached) return cached;
    let found: protobuf.ReflectionObject | null = null;
    try {
      found = this.root.lookup(name.startsWith('.') ? name : `.${name}`);
    } catch {
      found = null;
    }
    return found instanceof protobuf.Type ? this.codecOf(found) : undefined;
  }

  method(path: string): MethodCodecs | undefined {
    return this.methodMap.get(path);
  }

  private codecOf(type: Type): Codec {
    const name = type.fullName.slice(1);
    let codec = this.messages.get(name);
    if (!codec) {
      codec = protobufCodec(type, this.conversion, this.contentType);
      this.messages.set(name, codec);
    }
    return codec;
  }
}

function collectMethods(ns: protobuf.NamespaceBase, visit: (service: protobuf.Service, method: protobuf.Method) => void): void {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Service) for (const method of nested.methodsArray) visit(nested, method);
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type || nested instanceof protobuf.Service) collectMethods(nested, visit);
  }
}
