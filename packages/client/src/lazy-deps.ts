/**
 * grpc-js and undici, loaded on first use rather than when `@xmesh/client` is imported: a process
 * that never opens a grpc-js channel or an undici pool (the sidecar, which forwards on node:http2)
 * does not load them. Type-only imports of both stay free.
 */
import type * as GrpcJs from '@grpc/grpc-js';
import type * as Undici from 'undici';
import { lazyRequire } from '@xmesh/core';

/** `@grpc/grpc-js`, required on the first call. */
export const grpcJs = lazyRequire<typeof GrpcJs>(import.meta.url, '@grpc/grpc-js');

/** `undici`, required on the first call. */
export const undici = lazyRequire<typeof Undici>(import.meta.url, 'undici');
