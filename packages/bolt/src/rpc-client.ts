/**
 * A drop-in for `sofa-rpc-node` consumers: the same `createConsumer(options)` and
 * `consumer.invoke(method, args, options)` surface as its `RpcClient`, with every call routed,
 * balanced, retried, rate limited and broken by the mesh. An app changes one line:
 *
 * ```js
 * const client = new RpcClient({ logger, registry });          // before
 * const client = new MeshRpcClient(mesh, { logger });          // after: the mesh finds the providers
 * const consumer = client.createConsumer({ interfaceName: 'com.example.HelloService' });
 * await consumer.ready();
 * const reply = await consumer.invoke('sayHello', ['mesh'], { responseTimeout: 3000 });
 * ```
 *
 * Hessian2 (the default) and protobuf (`codecType: 'protobuf'` with the consumer's `proto` root)
 * are serialized as the stock client does. Errors: the provider's exceptions reject with an
 * `Error` carrying its message (as the stock client); everything else rejects with a typed MeshError
 * (`XMESH_TIMEOUT`, `XMESH_NO_HEALTHY_UPSTREAM`, `XMESH_RATE_LIMITED`, `XMESH_UPSTREAM_STATUS` for a
 * non-SUCCESS Bolt status, ...).
 */
import { MeshError, isMeshError } from '@xmesh/core';
import type { Mesh } from '@xmesh/client';
import { BoltCodec, BoltHeader, BoltStatus, decodeBoltHeaders, decodeHessianResult, encodeHessianRequest, type BoltFrame } from '@xmesh/codec';
import { statusError } from './bolt-call.js';
import { MeshBoltClient, type BoltClientOptions } from './client.js';

/** The protobufjs root a protobuf consumer passes (`protobuf.loadSync(...)`), as far as it is used here. */
export interface ProtoRoot {
  lookupService(name: string): { get(name: string): unknown };
}
interface ProtoType {
  fromObject(value: unknown): unknown;
  encode(message: unknown): { finish(): Uint8Array };
  decode(bytes: Uint8Array): unknown;
}
interface ProtoMethod {
  readonly resolvedRequestType: ProtoType | null;
  readonly resolvedResponseType: ProtoType | null;
}

export interface MeshRpcClientOptions extends BoltClientOptions {
  /** Accepted for `RpcClient` compatibility; the mesh reports through its own events and stats. */
  readonly logger?: unknown;
  /** Defaults for consumers: group `SOFA`, version `1.0`, responseTimeout 3000 ms. */
  readonly group?: string;
  readonly version?: string;
  readonly responseTimeout?: number;
}

export interface MeshRpcConsumerOptions {
  readonly interfaceName: string;
  readonly version?: string;
  readonly group?: string;
  readonly uniqueId?: string;
  readonly targetAppName?: string;
  /** `hessian2` (default) or `protobuf`. */
  readonly codecType?: 'hessian2' | 'protobuf';
  /** The protobufjs root for `codecType: 'protobuf'`: the service is looked up by `interfaceName`. */
  readonly proto?: ProtoRoot;
  /** Default 3000 ms. */
  readonly responseTimeout?: number;
  /** As the stock consumer: resolve with null instead of rejecting. */
  readonly errorAsNull?: boolean;
  /** Accepted for compatibility; the mesh's endpoint sources find providers. */
  readonly serverHost?: string;
  readonly registry?: unknown;
}

export interface InvokeOptions {
  readonly responseTimeout?: number;
  readonly requestProps?: Readonly<Record<string, unknown>>;
  readonly codecType?: 'hessian2' | 'protobuf';
}

export class MeshRpcClient {
  readonly bolt: MeshBoltClient;
  private readonly consumers = new Map<string, MeshRpcConsumer>();

  constructor(mesh: Mesh, private readonly options: MeshRpcClientOptions = {}) {
    this.bolt = new MeshBoltClient(mesh, options);
  }

  /** One consumer per interface, version, group and uniqueId, as `RpcClient` caches them. */
  createConsumer(options: MeshRpcConsumerOptions): MeshRpcConsumer {
    const merged: MeshRpcConsumerOptions = {
      group: this.options.group ?? 'SOFA',
      version: this.options.version ?? '1.0',
      responseTimeout: this.options.responseTimeout ?? 3000,
      ...options,
    };
    const key = `${merged.interfaceName}:${merged.version}@${merged.group}:${merged.uniqueId ?? ''}:${merged.codecType ?? 'hessian2'}`;
    let consumer = this.consumers.get(key);
    if (consumer === undefined) {
      consumer = new MeshRpcConsumer(this.bolt, merged);
      this.consumers.set(key, consumer);
    }
    return consumer;
  }

  /** `RpcClient.invoke({ interfaceName, methodName, args, options })`. */
  invoke(call: MeshRpcConsumerOptions & { readonly methodName: string; readonly args: readonly unknown[]; readonly options?: InvokeOptions }): Promise<unknown> {
    return this.createConsumer(call).invoke(call.methodName, call.args, call.options);
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.consumers.clear();
    await this.bolt.close();
  }
}

export class MeshRpcConsumer {
  /** SOFA's target service name: `interface:version[:uniqueId]`. */
  readonly id: string;

  constructor(
    private readonly bolt: MeshBoltClient,
    readonly options: MeshRpcConsumerOptions,
  ) {
    const version = options.version ?? '1.0';
    this.id = `${options.interfaceName}${version === '' ? '' : `:${version}`}${options.uniqueId ? `:${options.uniqueId}` : ''}`;
  }

  get interfaceName(): string {
    return this.options.interfaceName;
  }

  /** Resolves at once: the mesh's clusters resolved their providers when the mesh started. */
  ready(): Promise<void> {
    return Promise.resolve();
  }

  /** Calls `method` with `args`; resolves with the provider's result. */
  async invoke(method: string, args: readonly unknown[], options: InvokeOptions = {}): Promise<unknown> {
    try {
      return await this.call(method, args, options);
    } catch (error) {
      if (this.options.errorAsNull === true) return null;
      throw error;
    }
  }

  close(): void {}

  private async call(method: string, args: readonly unknown[], options: InvokeOptions): Promise<unknown> {
    const codecType = options.codecType ?? this.options.codecType ?? 'hessian2';
    const timeoutMs = options.responseTimeout ?? this.options.responseTimeout ?? 3000;
    const group = this.options.group;
    if (codecType === 'protobuf') {
      const types = this.protoMethod(method);
      const headers = protobufHeaders(this.id, method, this.options.targetAppName ?? '', options.requestProps);
      const content = types.resolvedRequestType === null ? new Uint8Array(0) : types.resolvedRequestType.encode(types.resolvedRequestType.fromObject(args[0] ?? {})).finish();
      const frame = await this.bolt.call({ service: this.id, method, codec: BoltCodec.PROTOBUF, content, headers, timeoutMs, ...(group === undefined ? {} : { group }) });
      return protobufResult(frame, types);
    }
    const content = encodeHessianRequest({
      service: this.id,
      method,
      args,
      ...(this.options.targetAppName === undefined ? {} : { targetApp: this.options.targetAppName }),
      ...(options.requestProps === undefined ? {} : { requestProps: options.requestProps }),
    });
    const frame = await this.bolt.call({ service: this.id, method, codec: BoltCodec.HESSIAN2, content, timeoutMs, ...(group === undefined ? {} : { group }) });
    const result = guardDecode(() => decodeHessianResult(frame.content, frame.status === BoltStatus.SUCCESS));
    if (frame.status !== BoltStatus.SUCCESS) throw statusError(frame, result.error?.message ?? 'the provider answered with an error');
    if (result.error !== undefined) throw result.error;
    return result.appResponse;
  }

  private protoMethod(method: string): ProtoMethod {
    const proto = this.options.proto;
    if (proto === undefined) throw new MeshError('XMESH_CONFIG_INVALID', `consumer of ${this.id}: codecType protobuf needs a proto root`);
    const found = proto.lookupService(this.options.interfaceName).get(method) as { resolve?: () => Partial<ProtoMethod> } | null;
    const resolved = typeof found?.resolve === 'function' ? found.resolve() : undefined;
    if (resolved === undefined || !('resolvedRequestType' in resolved) || !('resolvedResponseType' in resolved)) {
      throw new MeshError('XMESH_CONFIG_INVALID', `no method ${method} in service ${this.options.interfaceName} of the proto root`);
    }
    return resolved as ProtoMethod;
  }
}

function protobufHeaders(service: string, method: string, targetApp: string, props: Readonly<Record<string, unknown>> | undefined): Map<string, string> {
  const headers = new Map<string, string>([
    [BoltHeader.SERVICE, service],
    [BoltHeader.METHOD, method],
    [BoltHeader.TARGET_APP, targetApp],
    [BoltHeader.TARGET_SERVICE, service],
  ]);
  if (props !== undefined) flatten('', props, headers, 0);
  return headers;
}

/** Request props as flat header entries (`a.b: value`), as the stock client sends them. */
function flatten(prefix: string, value: Readonly<Record<string, unknown>>, out: Map<string, string>, depth: number): void {
  if (depth > 8) return;
  for (const [key, item] of Object.entries(value)) {
    const name = prefix + key;
    if (typeof item === 'string') out.set(name, item);
    else if (typeof item === 'number') out.set(name, String(item));
    else if (item !== null && typeof item === 'object') flatten(`${name}.`, item as Record<string, unknown>, out, depth + 1);
  }
}

function protobufResult(frame: BoltFrame, types: ProtoMethod): unknown {
  const headers = guardDecode(() => decodeBoltHeaders(frame.header));
  const failed = frame.status !== BoltStatus.SUCCESS || headers.get(BoltHeader.RESPONSE_ERROR) === 'true';
  if (failed) {
    const message = frame.content.toString('utf8') || 'the provider answered with an error';
    if (frame.status !== BoltStatus.SUCCESS) throw statusError(frame, message);
    const error = new Error(message);
    error.name = 'RpcServerError';
    throw error;
  }
  if (types.resolvedResponseType === null) return null;
  const type = types.resolvedResponseType;
  return guardDecode(() => type.decode(frame.content));
}

function guardDecode<T>(decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (isMeshError(error)) throw error;
    throw new MeshError('XMESH_UPSTREAM_PROTOCOL', `the provider's Bolt response could not be decoded: ${(error as Error).message}`, { cause: error });
  }
}
