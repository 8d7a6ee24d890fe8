/** `envoy.config.cluster.v3.OutlierDetection` with Envoy's defaults (outlier_detection.proto). */
import type { OutlierDetectionConfig } from '../model.js';
import type { Reader } from './reader.js';

const DEFAULT_MAX_EJECTION_TIME_MS = 300_000;

export const DEFAULT_OUTLIER_DETECTION: Omit<OutlierDetectionConfig, 'maxEjectionTimeMs'> = {
  consecutive5xx: 5,
  consecutiveGatewayFailure: 5,
  consecutiveLocalOriginFailure: 5,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionPercent: 10,
  enforcingConsecutive5xx: 100,
  enforcingConsecutiveGatewayFailure: 0,
  enforcingConsecutiveLocalOriginFailure: 100,
  enforcingSuccessRate: 100,
  enforcingLocalOriginSuccessRate: 100,
  successRateMinimumHosts: 5,
  successRateRequestVolume: 100,
  successRateStdevFactor: 1900,
  failurePercentageThreshold: 85,
  enforcingFailurePercentage: 0,
  enforcingFailurePercentageLocalOrigin: 0,
  failurePercentageMinimumHosts: 5,
  failurePercentageRequestVolume: 50,
  splitExternalLocalOriginErrors: false,
  maxEjectionTimeJitterMs: 0,
  successfulActiveHealthCheckUnejectHost: true,
  alwaysEjectOneHost: false,
};

/** Decodes `outlier_detection`; absent means detection is off (undefined). */
export function decodeOutlierDetection(r: Reader | undefined): OutlierDetectionConfig | undefined {
  if (!r) return undefined;
  const d = DEFAULT_OUTLIER_DETECTION;
  const percent = (key: string, dflt: number) => r.int(key, dflt, 0, 100, 'a percentage');
  const baseEjectionTimeMs = r.positiveDuration('base_ejection_time') ?? d.baseEjectionTimeMs;
  const explicitMax = r.has('max_ejection_time');
  const maxEjectionTimeMs = r.positiveDuration('max_ejection_time') ?? Math.max(DEFAULT_MAX_EJECTION_TIME_MS, baseEjectionTimeMs);
  if (explicitMax && maxEjectionTimeMs < baseEjectionTimeMs) {
    r.error('max_ejection_time', `must not be less than base_ejection_time (${baseEjectionTimeMs} ms)`);
  }

  const config: OutlierDetectionConfig = {
    consecutive5xx: r.uint32(digitKey(r, 'consecutive_5xx'), d.consecutive5xx),
    consecutiveGatewayFailure: r.uint32('consecutive_gateway_failure', d.consecutiveGatewayFailure),
    consecutiveLocalOriginFailure: r.uint32('consecutive_local_origin_failure', d.consecutiveLocalOriginFailure),
    intervalMs: r.positiveDuration('interval') ?? d.intervalMs,
    baseEjectionTimeMs,
    maxEjectionTimeMs,
    maxEjectionPercent: percent('max_ejection_percent', d.maxEjectionPercent),
    enforcingConsecutive5xx: percent(digitKey(r, 'enforcing_consecutive_5xx'), d.enforcingConsecutive5xx),
    enforcingConsecutiveGatewayFailure: percent('enforcing_consecutive_gateway_failure', d.enforcingConsecutiveGatewayFailure),
    enforcingConsecutiveLocalOriginFailure: percent('enforcing_consecutive_local_origin_failure', d.enforcingConsecutiveLocalOriginFailure),
    enforcingSuccessRate: percent('enforcing_success_rate', d.enforcingSuccessRate),
    enforcingLocalOriginSuccessRate: percent('enforcing_local_origin_success_rate', d.enforcingLocalOriginSuccessRate),
    successRateMinimumHosts: r.uint32('success_rate_minimum_hosts', d.successRateMinimumHosts),
    successRateRequestVolume: r.uint32('success_rate_request_volume', d.successRateRequestVolume),
    successRateStdevFactor: r.uint32('success_rate_stdev_factor', d.successRateStdevFactor),
    failurePercentageThreshold: percent('failure_percentage_threshold', d.failurePercentageThreshold),
    enforcingFailurePercentage: percent('enforcing_failure_percentage', d.enforcingFailurePercentage),
    enforcingFailurePercentageLocalOrigin: percent('enforcing_failure_percentage_local_origin', d.enforcingFailurePercentageLocalOrigin),
    failurePercentageMinimumHosts: r.uint32('failure_percentage_minimum_hosts', d.failurePercentageMinimumHosts),
    failurePercentageRequestVolume: r.uint32('failure_percentage_request_volume', d.failurePercentageRequestVolume),
    splitExternalLocalOriginErrors: r.bool('split_external_local_origin_errors', d.splitExternalLocalOriginErrors),
    maxEjectionTimeJitterMs: r.duration('max_ejection_time_jitter') ?? d.maxEjectionTimeJitterMs,
    successfulActiveHealthCheckUnejectHost: r.bool('successful_active_health_check_uneject_host', d.successfulActiveHealthCheckUnejectHost),
    alwaysEjectOneHost: r.bool('always_eject_one_host', d.alwaysEjectOneHost),
  };
  // `monitors` is left to finish(): it is not implemented by Envoy either.
  r.finish();
  return config;
}

/**
 * proto3 JSON spells `consecutive_5xx` as `consecutive5xx`, which the Reader's snake-casing cannot map back
 * (an underscore before a digit is dropped). Returns the spelling present in `r`, reporting both at once.
 */
function digitKey(r: Reader, snakeKey: string): string {
  const camelKey = snakeKey.replace(/_(\d)/g, '$1');
  if (!r.has(camelKey)) return snakeKey;
  if (r.has(snakeKey)) {
    r.get(snakeKey);
    r.error(camelKey, `duplicate field (also given as "${snakeKey}")`);
  }
  return camelKey;
}
