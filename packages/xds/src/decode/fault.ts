/**
 * `envoy.extensions.filters.http.fault.v3.HTTPFault`. Percentages are FractionalPercent (denominator
 * HUNDRED by default); an unset percentage is 0 %, as in Envoy (a default FractionalPercent).
 */
import type { FaultAbort, FaultConfig, FaultDelay, Fraction } from '../model.js';
import { headerMatchersField } from './matchers.js';
import { ignoreAll, oneOf, rejectUnsupported } from './fields.js';
import type { Reader } from './reader.js';

/** HTTPFault fields xmesh reads but does not act on, with the reason. */
export const FAULT_IGNORED: Readonly<Record<string, string>> = {
  delay_percent_runtime: 'no runtime: the configured percentage applies',
  abort_percent_runtime: 'no runtime: the configured percentage applies',
  delay_duration_runtime: 'no runtime: the configured delay applies',
  abort_http_status_runtime: 'no runtime: the configured status applies',
  max_active_faults_runtime: 'no runtime: the configured max_active_faults applies',
  response_rate_limit_percent_runtime: 'no runtime; response_rate_limit is not implemented',
  abort_grpc_status_runtime: 'no runtime: the configured status applies',
  disable_downstream_cluster_stats: 'downstream-cluster stats are not kept',
  filter_metadata: 'dynamic metadata is not emitted',
};

const ZERO_PERCENT: Fraction = { numerator: 0, denominator: 100 };

export function decodeFault(r: Reader): FaultConfig {
  const d = r.obj('delay');
  const delay = d ? readDelay(d) : undefined;
  const a = r.obj('abort');
  const abort = a ? readAbort(a) : undefined;
  const upstreamCluster = r.str('upstream_cluster') || undefined;
  const headers = headerMatchersField(r, 'headers');
  const downstreamNodes = r.strings('downstream_nodes');
  const maxActiveFaults = r.optionalUint32('max_active_faults');
  rejectUnsupported(r, { response_rate_limit: 'response body bandwidth faults are not implemented (the fault would not happen)' });
  ignoreAll(r, FAULT_IGNORED);
  r.finish();
  return { delay, abort, upstreamCluster, headers, downstreamNodes, maxActiveFaults };
}

function readDelay(d: Reader): FaultDelay {
  const kind = oneOf(d, ['fixed_delay', 'header_delay'] as const, 'one of fixed_delay, header_delay is required');
  const percentage = d.fraction('percentage') ?? ZERO_PERCENT;
  let delay: FaultDelay;
  if (kind === 'header_delay') {
    d.obj('header_delay')?.finish();
    delay = { kind: 'header', percentage };
  } else {
    let delayMs = d.duration('fixed_delay') ?? 0;
    if (kind === 'fixed_delay' && delayMs === 0 && d.has('fixed_delay')) {
      d.error('fixed_delay', 'must be greater than 0');
    }
    delayMs = Math.max(delayMs, 0);
    delay = { kind: 'fixed', delayMs, percentage };
  }
  d.get('fixed_delay');
  d.get('header_delay');
  d.finish();
  return delay;
}

function readAbort(a: Reader): FaultAbort {
  const kind = oneOf(a, ['http_status', 'grpc_status', 'header_abort'] as const, 'one of http_status, grpc_status, header_abort is required');
  const percentage = a.fraction('percentage') ?? ZERO_PERCENT;
  let abort: FaultAbort;
  switch (kind) {
    case 'grpc_status':
      abort = { kind: 'grpc', grpcStatus: a.int('grpc_status', 2), percentage };
      break;
    case 'header_abort':
      a.obj('header_abort')?.finish();
      abort = { kind: 'header', percentage };
      break;
    default:
      abort = { kind: 'http', httpStatus: a.int('http_status', 503, 200, 599), percentage };
  }
  a.get('http_status');
  a.get('grpc_status');
  a.get('header_abort');
  a.finish();
  return abort;
}
