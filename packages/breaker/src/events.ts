/** The typed events of the resilience layer (eventemitter3 event map). None fires per call on the success path. */
export type EjectionReason =
  | 'consecutive_5xx'
  | 'consecutive_gateway_failure'
  | 'consecutive_local_origin_failure'
  | 'success_rate'
  | 'local_origin_success_rate'
  | 'failure_percentage'
  | 'local_origin_failure_percentage';

export interface ResilienceEvents {
  'breaker.open': (event: { readonly cluster: string; readonly errorPercentage: number }) => void;
  'breaker.halfOpen': (event: { readonly cluster: string }) => void;
  'breaker.close': (event: { readonly cluster: string }) => void;
  'endpoint.ejected': (event: {
    readonly cluster: string;
    readonly endpoint: string;
    readonly reason: EjectionReason;
    /** How long this ejection lasts, ms (base × multiplier, capped at max, plus jitter). */
    readonly durationMs: number;
    /** The ejection-time multiplier after this ejection: +1 per ejection (capped), −1 per interval in since. */
    readonly ejections: number;
  }) => void;
  'endpoint.returned': (event: { readonly cluster: string; readonly endpoint: string }) => void;
  /** A threshold refused a call or retry. `resource` names the limit. */
  'overflow': (event: { readonly cluster: string; readonly resource: 'requests' | 'pending' | 'retries' | 'connections' | 'queue' }) => void;
}
