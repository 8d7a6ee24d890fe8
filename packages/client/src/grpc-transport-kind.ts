/**
 * Which gRPC transport carries a cluster's calls: `lean` (the node:http2 client of
 * `@xmesh/grpc-lean`, plaintext) or `grpc-js` (a stock grpc-js channel). A cluster picks one with
 * `metadata.filter_metadata.xmesh.transport`; clusters that do not get the mesh-wide default.
 */
import { MeshError } from '@xmesh/core';

export type GrpcTransportKind = 'grpc-js' | 'lean';

/**
 * The mesh-wide default, chosen by `bench/`: embedded mode on the lean transport makes more calls
 * per second than stock grpc-js direct, at less client CPU per call (see the client README).
 */
export const DEFAULT_GRPC_TRANSPORT: GrpcTransportKind = 'lean';

/** Environment variable that overrides the mesh-wide default at mesh creation. */
export const GRPC_TRANSPORT_ENV = 'XMESH_GRPC_TRANSPORT';

/**
 * The mesh-wide default transport: `XMESH_GRPC_TRANSPORT` when set, else `option`, else grpc-js
 * when custom channel credentials are given (the lean transport is plaintext only), else
 * {@link DEFAULT_GRPC_TRANSPORT}.
 * @throws MeshError XMESH_CONFIG_INVALID for a value other than `lean` or `grpc-js`.
 */
export function resolveGrpcTransport(option: string | undefined, envValue: string | undefined, hasCredentials: boolean): GrpcTransportKind {
  const fromEnv = envValue === undefined || envValue.trim() === '' ? undefined : envValue.trim();
  const chosen = fromEnv ?? option;
  if (chosen === undefined) return hasCredentials ? 'grpc-js' : DEFAULT_GRPC_TRANSPORT;
  if (chosen === 'lean' || chosen === 'grpc-js') return chosen;
  const path = fromEnv !== undefined ? GRPC_TRANSPORT_ENV : 'transport.grpc';
  throw new MeshError('XMESH_CONFIG_INVALID', `${path}: must be one of grpc-js, lean, got "${chosen}"`, {
    errors: [{ path, message: `must be one of grpc-js, lean, got "${chosen}"` }],
  });
}
