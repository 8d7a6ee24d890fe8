/**
 * Queued admission on bottleneck, for users who want calls to wait for a slot instead of being
 * refused at `max_requests`: at most `maxConcurrent` run, up to `maxQueued` wait (more are refused
 * with XMESH_CIRCUIT_OPEN, Envoy's `upstream_rq_pending_overflow`), and a waiter gives up after
 * `maxWaitMs`. Off by default: bottleneck schedules every job through timers, so even an
 * unthrottled call pays for it (see bench/layers.ts). One timer per waiting call, on the
 * injected clock, only while it waits.
 */
import { createRequire } from 'node:module';
import type Bottleneck from 'bottleneck';
import { ErrorCode, MeshError, type Clock } from '@xmesh/core';
import type { EventEmitter } from 'eventemitter3';
import type { ResilienceEvents } from '../events.js';
import type { ClusterCounter, CounterSet } from '../stats/cluster-stats.js';

export interface QueuedAdmissionConfig {
  readonly maxConcurrent: number;
  readonly maxQueued: number;
  readonly maxWaitMs: number;
}

/** Frees the slot; idempotent. */
export type Release = () => void;

export class QueuedAdmission {
  private readonly limiter: Bottleneck;

  constructor(
    private readonly cluster: string,
    private readonly config: QueuedAdmissionConfig,
    private readonly clock: Clock,
    private readonly stats: CounterSet<ClusterCounter>,
    private readonly events: EventEmitter<ResilienceEvents>,
  ) {
    // bottleneck loads with the first queue: processes without queued admission never pay for it.
    const Limiter = (createRequire(import.meta.url)('bottleneck') as { default: typeof Bottleneck }).default;
    this.limiter = new Limiter({
      maxConcurrent: config.maxConcurrent,
      highWater: config.maxQueued,
      strategy: Limiter.strategy.OVERFLOW,
    });
  }

  /** Resolves with a release once a slot is free; rejects with XMESH_CIRCUIT_OPEN when full or after maxWaitMs. */
  acquire(): Promise<Release> {
    return new Promise<Release>((resolve, reject) => {
      let settled = false;
      const timer = this.clock.setTimeout(() => {
        if (settled) return;
        settled = true;
        this.stats['xmesh.queue.timeout']++;
        this.events.emit('overflow', { cluster: this.cluster, resource: 'queue' });
        reject(new MeshError(ErrorCode.CIRCUIT_OPEN, `waited ${this.config.maxWaitMs} ms for a request slot of cluster "${this.cluster}"`, { cluster: this.cluster }));
      }, this.config.maxWaitMs);
      timer.unref?.();
      this.stats['xmesh.queue.queued']++;
      this.limiter
        .schedule(
          () =>
            new Promise<void>((done) => {
              if (settled) {
                done();
                return;
              }
              settled = true;
              this.clock.clearTimeout(timer);
              let released = false;
              resolve(() => {
                if (released) return;
                released = true;
                done();
              });
            }),
        )
        .catch(() => {
          // Dropped: the queue is at its high-water mark.
          if (settled) return;
          settled = true;
          this.clock.clearTimeout(timer);
          this.stats['upstream_rq_pending_overflow']++;
          this.events.emit('overflow', { cluster: this.cluster, resource: 'pending' });
          reject(new MeshError(ErrorCode.CIRCUIT_OPEN, `request queue of cluster "${this.cluster}" is full (${this.config.maxQueued})`, { cluster: this.cluster }));
        });
    });
  }

  /** Running and queued counts, from bottleneck. */
  counts(): { running: number; queued: number } {
    const c = this.limiter.counts();
    return { running: c.RUNNING + c.EXECUTING, queued: c.QUEUED + c.RECEIVED };
  }

  close(): void {
    void this.limiter.stop({ dropWaitingJobs: true }).catch(() => undefined);
  }
}
