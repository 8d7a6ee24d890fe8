import type { CallOutcome } from '@xmesh/core';
import { DEFAULT_OUTLIER_DETECTION, DEFAULT_THRESHOLDS, type CircuitBreakerThresholds, type ClusterConfig, type FailFastConfig, type OutlierDetectionConfig } from '@xmesh/xds';

export const THRESHOLDS: CircuitBreakerThresholds = DEFAULT_THRESHOLDS;

/** Envoy's outlier-detection defaults (outlier_detection.proto), as the decoder applies them. */
export const OUTLIER: OutlierDetectionConfig = { ...DEFAULT_OUTLIER_DETECTION, maxEjectionTimeMs: 300_000 };

export const FAIL_FAST: FailFastConfig = {
  errorThresholdPercentage: 50,
  volumeThreshold: 4,
  rollingWindowMs: 10_000,
  rollingBuckets: 10,
  resetTimeoutMs: 5_000,
};

export function cluster(overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    name: 'c',
    circuitBreakers: { default: THRESHOLDS, high: THRESHOLDS },
    outlierDetection: undefined,
    xmesh: { transport: undefined, failFast: undefined, ewmaDecayMs: 10_000 },
    ...overrides,
  } as ClusterConfig;
}

export const OK: CallOutcome = { kind: 'success', httpStatus: 200, grpcStatus: 0, latencyMs: 1 };
export const UNAVAILABLE: CallOutcome = { kind: 'upstream_error', httpStatus: 200, grpcStatus: 14, latencyMs: 1 };
export const INTERNAL: CallOutcome = { kind: 'upstream_error', httpStatus: 200, grpcStatus: 13, latencyMs: 1 };
export const NOT_FOUND: CallOutcome = { kind: 'upstream_error', httpStatus: 200, grpcStatus: 5, latencyMs: 1 };
export const HTTP_500: CallOutcome = { kind: 'upstream_error', httpStatus: 500, grpcStatus: undefined, latencyMs: 1 };
export const CONNECT_FAILED: CallOutcome = { kind: 'local_error', httpStatus: 0, grpcStatus: undefined, latencyMs: 1 };
/** A gRPC call that timed out (DEADLINE_EXCEEDED maps to 504, a gateway failure). */
export const DEADLINE_EXCEEDED: CallOutcome = { kind: 'upstream_error', httpStatus: 200, grpcStatus: 4, latencyMs: 1000 };
