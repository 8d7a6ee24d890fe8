/** `envoy.config.cluster.v3.CircuitBreakers`: one set of thresholds per routing priority, Envoy defaults applied. */
import type { CircuitBreakerThresholds, RetryBudget } from '../model.js';
import { deepFreeze } from '../freeze.js';
import { ignoreListed, Messages } from './ignored-fields.js';
import type { Reader } from './reader.js';

export const DEFAULT_THRESHOLDS: CircuitBreakerThresholds = deepFreeze({
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
  retryBudget: undefined,
  trackRemaining: false,
});

const DEFAULT_BUDGET_PERCENT = 20;
const DEFAULT_MIN_RETRY_CONCURRENCY = 3;

type Priority = 'DEFAULT' | 'HIGH';

export interface ClusterCircuitBreakers {
  readonly default: CircuitBreakerThresholds;
  readonly high: CircuitBreakerThresholds;
}

/**
 * Decodes `circuit_breakers` (absent = Envoy defaults for both priorities). A priority without thresholds gets
 * every default. Envoy uses the first of duplicated priorities silently; xmesh rejects the duplicate instead.
 */
export function decodeCircuitBreakers(r: Reader | undefined): ClusterCircuitBreakers {
  const byPriority: Partial<Record<Priority, { thresholds: CircuitBreakerThresholds; path: string }>> = {};
  if (r) {
    for (const t of r.objects('thresholds')) {
      const priority = t.enumOf('priority', ['DEFAULT', 'HIGH'] as const, 'DEFAULT', { 0: 'DEFAULT', 1: 'HIGH' });
      const thresholds = decodeThresholds(t);
      const prior = byPriority[priority];
      if (prior) t.issues.error(t.at('priority'), `duplicate thresholds for priority ${priority} (first at ${prior.path})`);
      else byPriority[priority] = { thresholds, path: t.path };
    }
    ignoreListed(r, Messages.CIRCUIT_BREAKERS);
    r.finish();
  }
  return {
    default: byPriority.DEFAULT?.thresholds ?? DEFAULT_THRESHOLDS,
    high: byPriority.HIGH?.thresholds ?? DEFAULT_THRESHOLDS,
  };
}

function decodeThresholds(t: Reader): CircuitBreakerThresholds {
  const thresholds: CircuitBreakerThresholds = {
    maxConnections: t.uint32('max_connections', DEFAULT_THRESHOLDS.maxConnections),
    maxPendingRequests: t.uint32('max_pending_requests', DEFAULT_THRESHOLDS.maxPendingRequests),
    maxRequests: t.uint32('max_requests', DEFAULT_THRESHOLDS.maxRequests),
    maxRetries: t.uint32('max_retries', DEFAULT_THRESHOLDS.maxRetries),
    retryBudget: decodeRetryBudget(t.obj('retry_budget')),
    trackRemaining: t.bool('track_remaining', false),
  };
  ignoreListed(t, Messages.THRESHOLDS);
  t.finish();
  return thresholds;
}

function decodeRetryBudget(r: Reader | undefined): RetryBudget | undefined {
  if (!r) return undefined;
  const budget: RetryBudget = {
    budgetPercent: r.percent('budget_percent') ?? DEFAULT_BUDGET_PERCENT,
    minRetryConcurrency: r.uint32('min_retry_concurrency', DEFAULT_MIN_RETRY_CONCURRENCY),
  };
  r.finish();
  return budget;
}
