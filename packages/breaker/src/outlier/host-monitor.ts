/**
 * One endpoint's outlier state: consecutive-failure runs, this interval's success / failure
 * counts (external and local-origin apart), and its ejection.
 */
export class HostMonitor {
  consecutive5xx = 0;
  consecutiveGatewayFailure = 0;
  consecutiveLocalOriginFailure = 0;
  /** Current interval, externally-originated (upstream responses). */
  externalSuccess = 0;
  externalFailure = 0;
  /** Current interval, locally-originated (connect failure, reset, timeout); used when split. */
  localSuccess = 0;
  localFailure = 0;
  /** Mesh-clock ms the ejection started, or undefined when not ejected. */
  ejectedAt: number | undefined = undefined;
  /** Mesh-clock ms the host last returned from an ejection, or undefined if it never did. */
  returnedAt: number | undefined = undefined;
  /** Whole ms added to this ejection's time (`max_ejection_time_jitter`), drawn at ejection. */
  jitterMs = 0;
  /**
   * The ejection-time multiplier (Envoy's eject time backoff): +1 per ejection while
   * base × it < max_ejection_time + base, −1 per interval spent in after returning.
   */
  ejections = 0;

  constructor(readonly id: string) {}

  get ejected(): boolean {
    return this.ejectedAt !== undefined;
  }

  /** Every consecutive run starts over (at un-ejection, so a host still failing is ejected again). */
  resetRuns(): void {
    this.consecutive5xx = this.consecutiveGatewayFailure = this.consecutiveLocalOriginFailure = 0;
  }

  resetInterval(): void {
    this.externalSuccess = this.externalFailure = this.localSuccess = this.localFailure = 0;
  }
}
