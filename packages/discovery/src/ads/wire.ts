/**
 * The ADS wire: `envoy.service.discovery.v3.AggregatedDiscoveryService` messages in plain-object form
 * (snake_case, as the Envoy protos declare them) and grpc-js method definitions that (de)serialize
 * them with the protobufjs types of one loaded `EnvoyProtos`. Shared by the ADS client and the
 * control plane, so both speak exactly the same bytes.
 */
import type { EnvoyProtos } from '@xmesh/xds';
import type { Type } from 'protobufjs';

/** A `google.protobuf.Any` as carried in discovery messages. */
export interface WireAny {
  readonly type_url: string;
  readonly value: Uint8Array;
}

/** `google.rpc.Status`: the NACK reason. */
export interface WireStatus {
  readonly code?: number;
  readonly message?: string;
}

/** `envoy.config.core.v3.Node`, the fields xmesh sends and reads (`metadata` as a google.protobuf.Struct object). */
export interface WireNode {
  readonly id?: string;
  readonly cluster?: string;
  readonly locality?: { readonly region?: string; readonly zone?: string; readonly sub_zone?: string };
  readonly metadata?: unknown;
  readonly user_agent_name?: string;
  readonly user_agent_version?: string;
  readonly client_features?: readonly string[];
}

export interface DiscoveryRequest {
  readonly version_info?: string;
  readonly node?: WireNode;
  readonly resource_names?: readonly string[];
  readonly type_url?: string;
  readonly response_nonce?: string;
  readonly error_detail?: WireStatus;
}

export interface DiscoveryResponse {
  readonly version_info?: string;
  readonly resources?: readonly WireAny[];
  readonly type_url?: string;
  readonly nonce?: string;
  readonly control_plane?: { readonly identifier?: string };
}

export interface DeltaDiscoveryRequest {
  readonly node?: WireNode;
  readonly type_url?: string;
  readonly resource_names_subscribe?: readonly string[];
  readonly resource_names_unsubscribe?: readonly string[];
  readonly initial_resource_versions?: Readonly<Record<string, string>>;
  readonly response_nonce?: string;
  readonly error_detail?: WireStatus;
}

/** `envoy.service.discovery.v3.Resource`. */
export interface WireResource {
  readonly name?: string;
  readonly version?: string;
  readonly resource?: WireAny;
  readonly aliases?: readonly string[];
}

export interface DeltaDiscoveryResponse {
  readonly system_version_info?: string;
  readonly resources?: readonly WireResource[];
  readonly type_url?: string;
  readonly removed_resources?: readonly string[];
  readonly nonce?: string;
}

export const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
export const SOTW_METHOD_PATH = `/${ADS_SERVICE}/StreamAggregatedResources`;
export const DELTA_METHOD_PATH = `/${ADS_SERVICE}/DeltaAggregatedResources`;

/** One bidi-streaming method in grpc-js `MethodDefinition` shape. */
export interface AdsMethod<Req, Res> {
  readonly path: string;
  readonly originalName: string;
  readonly requestStream: true;
  readonly responseStream: true;
  readonly requestSerialize: (value: Req) => Buffer;
  readonly requestDeserialize: (bytes: Buffer) => Req;
  readonly responseSerialize: (value: Res) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => Res;
}

/** The two ADS methods; also a valid grpc-js `ServiceDefinition` for `Server#addService`. */
export interface AdsWire {
  readonly StreamAggregatedResources: AdsMethod<DiscoveryRequest, DiscoveryResponse>;
  readonly DeltaAggregatedResources: AdsMethod<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
}

const TO_PLAIN = { longs: String, enums: String, defaults: false, arrays: true, objects: true } as const;

function codec<T>(type: Type): { encode: (v: T) => Buffer; decode: (b: Buffer) => T } {
  return {
    encode: (value) => {
      const bytes = type.encode(type.fromObject(value as Record<string, unknown>)).finish();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    decode: (bytes) => type.toObject(type.decode(bytes), TO_PLAIN) as T,
  };
}

function method<Req, Res>(protos: EnvoyProtos, name: string, path: string, req: string, res: string): AdsMethod<Req, Res> {
  const q = codec<Req>(protos.root.lookupType(req));
  const s = codec<Res>(protos.root.lookupType(res));
  return {
    path,
    originalName: name,
    requestStream: true,
    responseStream: true,
    requestSerialize: q.encode,
    requestDeserialize: q.decode,
    responseSerialize: s.encode,
    responseDeserialize: s.decode,
  };
}

/** Builds the ADS method definitions from loaded protos (which include discovery/v3/ads.proto). */
export function adsWire(protos: EnvoyProtos): AdsWire {
  const pkg = 'envoy.service.discovery.v3.';
  return {
    StreamAggregatedResources: method(protos, 'streamAggregatedResources', SOTW_METHOD_PATH, `${pkg}DiscoveryRequest`, `${pkg}DiscoveryResponse`),
    DeltaAggregatedResources: method(protos, 'deltaAggregatedResources', DELTA_METHOD_PATH, `${pkg}DeltaDiscoveryRequest`, `${pkg}DeltaDiscoveryResponse`),
  };
}

/** Converts a JSON-like object to a google.protobuf.Struct object (for `node.metadata`). */
export function toStruct(value: Readonly<Record<string, unknown>>): { fields: Record<string, unknown> } {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) fields[k] = toProtoValue(v);
  return { fields };
}

function toProtoValue(v: unknown): unknown {
  if (v === null || v === undefined) return { null_value: 0 };
  if (typeof v === 'number') return { number_value: v };
  if (typeof v === 'string') return { string_value: v };
  if (typeof v === 'boolean') return { bool_value: v };
  if (Array.isArray(v)) return { list_value: { values: v.map(toProtoValue) } };
  return { struct_value: toStruct(v as Record<string, unknown>) };
}
