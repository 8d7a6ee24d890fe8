import type { Endpoint } from '@xmesh/core';
import type { EndpointSource } from './endpoint-source.js';

const EMPTY: readonly Endpoint[] = Object.freeze([]);

/**
 * What every endpoint source whose set changes shares (DNS, registries): the current set, the
 * listeners told of each new one, and closing once. A subclass publishes new sets and stops its own
 * timers and watches in `stop()`.
 */
export abstract class ChangingSource implements EndpointSource {
  endpoints: readonly Endpoint[] = EMPTY;
  abstract readonly ready: Promise<void>;
  private readonly listeners: ((endpoints: readonly Endpoint[]) => void)[] = [];
  private stopped = false;

  /** True once `close()` was called. */
  protected get closed(): boolean {
    return this.stopped;
  }

  onChange(listener: (endpoints: readonly Endpoint[]) => void): void {
    if (!this.stopped) this.listeners.push(listener);
  }

  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.listeners.length = 0;
    this.stop();
  }

  /** Makes `next` the current set and tells every listener. */
  protected publish(next: readonly Endpoint[]): void {
    this.endpoints = next;
    for (const listener of this.listeners) listener(next);
  }

  /** Stops the source's own work (timers, watches); called once, by `close`. */
  protected abstract stop(): void;
}
