/** The statistical outlier detectors Envoy runs once per interval, over hosts not ejected. */
import type { OutlierDetectionConfig } from '@xmesh/xds';
import type { HostMonitor } from './host-monitor.js';

type Counts = (host: HostMonitor) => readonly [success: number, failure: number];

/**
 * Success rate: among hosts with at least `success_rate_request_volume` requests this interval,
 * if there are at least `success_rate_minimum_hosts`, those whose success rate is below
 * mean − stdev × (`success_rate_stdev_factor` / 1000).
 */
export function successRateOutliers(hosts: readonly HostMonitor[], counts: Counts, c: OutlierDetectionConfig): HostMonitor[] {
  const rated: { host: HostMonitor; rate: number }[] = [];
  for (const host of hosts) {
    const [ok, failed] = counts(host);
    const total = ok + failed;
    if (total > 0 && total >= c.successRateRequestVolume) rated.push({ host, rate: (ok * 100) / total });
  }
  if (rated.length === 0 || rated.length < c.successRateMinimumHosts) return [];
  const mean = rated.reduce((a, r) => a + r.rate, 0) / rated.length;
  const variance = rated.reduce((a, r) => a + (r.rate - mean) ** 2, 0) / rated.length;
  const threshold = mean - Math.sqrt(variance) * (c.successRateStdevFactor / 1000);
  return rated.filter((r) => r.rate < threshold).map((r) => r.host);
}

/**
 * Failure percentage: among hosts with at least `failure_percentage_request_volume` requests, if
 * there are at least `failure_percentage_minimum_hosts`, those failing at or above
 * `failure_percentage_threshold` percent.
 */
export function failurePercentageOutliers(hosts: readonly HostMonitor[], counts: Counts, c: OutlierDetectionConfig): HostMonitor[] {
  const eligible: { host: HostMonitor; failedPercent: number }[] = [];
  for (const host of hosts) {
    const [ok, failed] = counts(host);
    const total = ok + failed;
    if (total > 0 && total >= c.failurePercentageRequestVolume) eligible.push({ host, failedPercent: (failed * 100) / total });
  }
  if (eligible.length === 0 || eligible.length < c.failurePercentageMinimumHosts) return [];
  return eligible.filter((e) => e.failedPercent >= c.failurePercentageThreshold).map((e) => e.host);
}
