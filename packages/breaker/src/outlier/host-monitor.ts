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
  ejectionDurationMs = 0;
  /** The ejection-time multiplier: +1 per ejection, −1 per interval spent healthy. */
  ejections = 0;

  constructor(readonly id: string) {}

  get ejected(): boolean {
    return this.ejectedAt !== undefined;
  }

  resetInterval(): void {
    this.externalSuccess = this.externalFailure = this.localSuccess = this.localFailure = 0;
  }
}
