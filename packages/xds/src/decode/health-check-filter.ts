/**
 * `envoy.extensions.filters.http.health_check.v3.HealthCheck`: which requests are health checks (`headers`, all of
 * them matching) and whether they are answered here (`pass_through_mode: false`) or go on upstream. Answering from
 * a cached upstream answer (`cache_time`) and from the health of other clusters (`cluster_min_healthy_percentages`)
 * would change the answer a health checker gets: refused, not implemented.
 */
import type { HealthCheckFilterConfig } from '../filter-model.js';
import { rejectUnsupported } from './fields.js';
import { headerMatchersField } from './matchers.js';
import type { Reader } from './reader.js';

export function decodeHealthCheckFilter(r: Reader): HealthCheckFilterConfig {
  if (!r.has('pass_through_mode')) r.error('pass_through_mode', 'is required');
  const passThroughMode = r.bool('pass_through_mode', false);
  const headers = headerMatchersField(r, 'headers');
  rejectUnsupported(r, {
    cache_time: 'answering health checks from a cached upstream answer is not implemented',
    cluster_min_healthy_percentages: 'answering health checks from the health of clusters is not implemented',
  });
  r.finish();
  return { passThroughMode, headers };
}
