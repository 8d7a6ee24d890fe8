/**
 * The shared `rotateBucketController` for opossum breakers: one EventEmitter and one unref'd
 * interval per distinct bucket duration, for every breaker of a mesh, instead of opossum's
 * default interval per breaker. Owned by a mesh; `close()` stops its intervals.
 */
import { EventEmitter } from 'node:events';

export class BucketRotation {
  private readonly controllers = new Map<number, { emitter: EventEmitter; interval: ReturnType<typeof setInterval> }>();

  /** The controller emitting `rotate` every `bucketMs`. */
  controller(bucketMs: number): EventEmitter {
    let entry = this.controllers.get(bucketMs);
    if (!entry) {
      const emitter = new EventEmitter();
      emitter.setMaxListeners(0);
      const interval = setInterval(() => emitter.emit('rotate'), bucketMs);
      interval.unref();
      entry = { emitter, interval };
      this.controllers.set(bucketMs, entry);
    }
    return entry.emitter;
  }

  /** Intervals running (one per bucket duration in use). */
  get intervals(): number {
    return this.controllers.size;
  }

  close(): void {
    for (const { interval, emitter } of this.controllers.values()) {
      clearInterval(interval);
      emitter.removeAllListeners();
    }
    this.controllers.clear();
  }
}
