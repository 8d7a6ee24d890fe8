/**
 * `envoy.filters.http.fault` for one config: decides per call whether to delay and whether to
 * abort. Each decision draws its own percentage; `headers`, `upstream_cluster` and
 * `downstream_nodes` gate both; `max_active_faults` bounds the faults in progress (delays hold a
 * slot until they end). Header-controlled faults read Envoy's request headers:
 * `x-envoy-fault-delay-request` (ms), `x-envoy-fault-abort-request` (HTTP status) and
 * `x-envoy-fault-abort-grpc-request` (gRPC status). The `-percentage` headers are not read.
 */
import { GrpcStatus, MeshError, grpcStatusFromHttp } from '@xmesh/core';
import { compileHeaderMatchers, type HeaderPredicate, type HeaderSource } from '@xmesh/router';
import { fractionHit } from '@xmesh/ratelimit';
import type { FaultConfig } from '@xmesh/xds';

export const DELAY_HEADER = 'x-envoy-fault-delay-request';
export const ABORT_HEADER = 'x-envoy-fault-abort-request';
export const ABORT_GRPC_HEADER = 'x-envoy-fault-abort-grpc-request';
export const DOWNSTREAM_NODE_HEADER = 'x-envoy-downstream-service-node';

export class FaultFilter {
  /** Faults in progress (delays waiting). */
  active = 0;
  private readonly gate: HeaderPredicate;

  constructor(readonly config: FaultConfig, private readonly random: () => number = Math.random) {
    this.gate = compileHeaderMatchers(config.headers, 'fault.headers');
  }

  /** True when this call is subject to the fault at all (headers, cluster and node gates). */
  applies(request: HeaderSource, cluster: string): boolean {
    const { upstreamCluster, downstreamNodes } = this.config;
    if (upstreamCluster !== undefined && upstreamCluster !== cluster) return false;
    if (downstreamNodes.length > 0) {
      const node = request.headers.get(DOWNSTREAM_NODE_HEADER);
      if (node === undefined || !downstreamNodes.includes(node)) return false;
    }
    return this.gate(request);
  }

  /** True while `max_active_faults` leaves room for one more. */
  hasRoom(): boolean {
    return this.config.maxActiveFaults === undefined || this.active < this.config.maxActiveFaults;
  }

  /** Delay to inject in ms; 0 for none. */
  delayMs(request: HeaderSource): number {
    const delay = this.config.delay;
    if (delay === undefined || !fractionHit(delay.percentage, this.random)) return 0;
    if (delay.kind === 'fixed') return delay.delayMs;
    const value = Number(request.headers.get(DELAY_HEADER));
    return Number.isFinite(value) && value > 0 ? value : 0;
  }

  /** The abort to inject, or undefined. `grpc` selects the status users of that protocol see. */
  abort(request: HeaderSource, grpc: boolean, cluster: string): MeshError | undefined {
    const abort = this.config.abort;
    if (abort === undefined || !fractionHit(abort.percentage, this.random)) return undefined;
    switch (abort.kind) {
      case 'http':
        return httpAbort(abort.httpStatus, cluster);
      case 'grpc':
        return grpcAbort(abort.grpcStatus, cluster);
      case 'header': {
        const grpcHeader = grpc ? request.headers.get(ABORT_GRPC_HEADER) : undefined;
        if (grpcHeader !== undefined) {
          const code = Number(grpcHeader);
          return Number.isInteger(code) && code > 0 && code <= 16 ? grpcAbort(code as GrpcStatus, cluster) : undefined;
        }
        const status = Number(request.headers.get(ABORT_HEADER));
        return Number.isInteger(status) && status >= 200 && status < 600 ? httpAbort(status, cluster) : undefined;
      }
    }
  }
}

function httpAbort(status: number, cluster: string): MeshError {
  return new MeshError('XMESH_FAULT_ABORT', `fault filter abort (HTTP ${status})`, { cluster, httpStatus: status, grpcStatus: grpcStatusFromHttp(status) });
}

function grpcAbort(code: number, cluster: string): MeshError {
  return new MeshError('XMESH_FAULT_ABORT', `fault filter abort (gRPC ${code})`, { cluster, httpStatus: 200, grpcStatus: code as GrpcStatus });
}

