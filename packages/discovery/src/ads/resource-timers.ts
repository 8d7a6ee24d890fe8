/** Does-not-exist timers: one per requested (type, name) not yet received, on an injectable clock. */
import type { Clock, TimerHandle } from '@xmesh/core';

export class ResourceTimers {
  private readonly timers = new Map<string, TimerHandle>();

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    private readonly onTimeout: (typeUrl: string, name: string) => void,
  ) {}

  /** Starts the timer unless one runs for this resource already. */
  start(typeUrl: string, name: string): void {
    const key = `${typeUrl}\0${name}`;
    if (this.timers.has(key)) return;
    const handle = this.clock.setTimeout(() => {
      this.timers.delete(key);
      this.onTimeout(typeUrl, name);
    }, this.timeoutMs);
    handle.unref?.();
    this.timers.set(key, handle);
  }

  cancel(typeUrl: string, name: string): void {
    const key = `${typeUrl}\0${name}`;
    const handle = this.timers.get(key);
    if (handle === undefined) return;
    this.clock.clearTimeout(handle);
    this.timers.delete(key);
  }

  /** Cancels the timers of resources for which `keep` answers false. */
  retain(keep: (typeUrl: string, name: string) => boolean): void {
    for (const key of [...this.timers.keys()]) {
      const [typeUrl, name] = key.split('\0') as [string, string];
      if (!keep(typeUrl, name)) this.cancel(typeUrl, name);
    }
  }

  clear(): void {
    for (const handle of this.timers.values()) this.clock.clearTimeout(handle);
    this.timers.clear();
  }
}
