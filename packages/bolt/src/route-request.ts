/**
 * What the router sees of a Bolt call, the same in embedded and sidecar mode (docs/config.md,
 * "Bolt (SOFARPC)"):
 *
 * - `:authority` — the service interface (`com.example.HelloService`), so virtual hosts select services;
 * - `:path` — `/<interface>/<method>`, so routes match methods (`path`) or whole services (`prefix`);
 * - `:method` — `POST`;
 * - every Bolt header-map entry under its own (lower-cased) name (`service`, `sofa_head_method_name`,
 *   `sofa_head_target_app`, `rpc_trace_context.*`, any request prop the caller sent);
 * - `x-sofa-version` and `x-sofa-unique-id` from the target service name (`interface:version[:uniqueId]`),
 *   `x-sofa-group` when the caller knows its group (embedded consumers do; it is not on the wire),
 *   `x-sofa-codec` (`hessian2` or `protobuf`).
 */
import type { HeaderMap } from '@xmesh/core';
import type { RouteRequest } from '@xmesh/router';
import { BoltCodec } from '@xmesh/codec';

export interface BoltRouteInput {
  /** SOFA's target service name: `interface:version[:uniqueId]` (the `service` header). */
  readonly service: string;
  readonly method: string;
  readonly codec: number;
  /** Header-map entries as sent. */
  readonly headers?: ReadonlyMap<string, string> | undefined;
  readonly group?: string | undefined;
}

/** The interface part of a SOFA service name. */
export function interfaceOf(service: string): string {
  const colon = service.indexOf(':');
  return colon < 0 ? service : service.slice(0, colon);
}

export function codecName(codec: number): string {
  return codec === BoltCodec.HESSIAN2 ? 'hessian2' : codec === BoltCodec.PROTOBUF ? 'protobuf' : String(codec);
}

export function boltRouteRequest(input: BoltRouteInput): RouteRequest {
  const [iface, version, uniqueId] = input.service.split(':');
  const authority = iface ?? input.service;
  const path = `/${authority}/${input.method}`;
  const headers = new Map<string, string>();
  if (input.headers !== undefined) {
    for (const [key, value] of input.headers) {
      if (key === '' || key.startsWith(':')) continue;
      headers.set(key.toLowerCase(), value);
    }
  }
  headers.set(':authority', authority);
  headers.set(':path', path);
  headers.set(':method', 'POST');
  headers.set('x-sofa-codec', codecName(input.codec));
  if (version !== undefined && version !== '') headers.set('x-sofa-version', version);
  if (uniqueId !== undefined && uniqueId !== '') headers.set('x-sofa-unique-id', uniqueId);
  if (input.group !== undefined && input.group !== '') headers.set('x-sofa-group', input.group);
  return Object.freeze({ authority, path, method: 'POST', headers: headers as HeaderMap, grpc: false });
}
