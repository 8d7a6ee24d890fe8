/**
 * `envoy.extensions.filters.http.health_check.v3.HealthCheck`: which requests are health checks (`headers`, all of
 * them matching), whether they are answered here (`pass_through_mode: false`) or go on upstream, and the clusters
 * whose health the answer reflects (`cluster_min_healthy_percentages`). Answering from a cached upstream answer
 * (`cache_time`) would change the answer a health checker gets: refused, not implemented.
 */
import type { HealthCheckFilterConfig } from '../filter-model.js';
import { rejectUnsupported } from './fields.js';
import { headerMatchersField } from './matchers.js';
import { Reader } from './reader.js';

export function decodeHealthCheckFilter(r: Reader): HealthCheckFilterConfig {
  if (!r.has('pass_through_mode')) r.error('pass_through_mode', 'is required');
  const passThroughMode = r.bool('pass_through_mode', false);
  const headers = headerMatchersField(r, 'headers');
  const clusterMinHealthyPercentages = new Map<string, number>();
  for (const { key, value, path } of r.entries('cluster_min_healthy_percentages')) {
    const percent = Reader.of(value, path, r.issues);
    if (percent === undefined) continue;
    const share = percent.num('value', 0, 0, 100);
    percent.finish();
    clusterMinHealthyPercentages.set(key, share);
  }
  rejectUnsupported(r, { cache_time: 'answering health checks from a cached upstream answer is not implemented' });
  r.finish();
  return { passThroughMode, headers, clusterMinHealthyPercentages };
}
