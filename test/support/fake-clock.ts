/**
 * A manual clock for timing tests; structurally a `Clock` from `@xmesh/core`.
 * Time moves only through `advance`, which runs due timers in due order (ties in creation order),
 * including timers they schedule that fall due within the advanced span.
 */
interface FakeTimer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

export interface FakeTimerHandle {
  readonly id: number;
  unref(): FakeTimerHandle;
  /** True once `unref()` was called. */
  readonly unrefed: boolean;
}

export class FakeClock {
  private time: number;
  private nextId = 1;
  private readonly timers = new Map<number, FakeTimer>();
  private readonly unrefed = new Set<number>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): FakeTimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.time + Math.max(0, ms), fn });
    const unrefed = this.unrefed;
    const handle: FakeTimerHandle = {
      id,
      unref() {
        unrefed.add(id);
        return handle;
      },
      get unrefed() {
        return unrefed.has(id);
      },
    };
    return handle;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === 'object' && handle !== null && 'id' in handle) this.timers.delete((handle as FakeTimerHandle).id);
  }

  /** Timers scheduled and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Pending timers that would keep a real process alive (not unref'd). */
  get pendingRefedTimers(): number {
    let count = 0;
    for (const id of this.timers.keys()) if (!this.unrefed.has(id)) count++;
    return count;
  }

  /** Due time of the earliest pending timer, or undefined. */
  get nextDue(): number | undefined {
    let earliest: number | undefined;
    for (const t of this.timers.values()) if (earliest === undefined || t.at < earliest) earliest = t.at;
    return earliest;
  }

  /**
   * Moves the time by `ms` without running timers, as a busy event loop does: timers due in that
   * span run late, at the next `advance`.
   */
  stall(ms: number): void {
    this.time += ms;
  }

  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let due: FakeTimer | undefined;
      for (const t of this.timers.values()) {
        if (t.at <= end && (due === undefined || t.at < due.at || (t.at === due.at && t.id < due.id))) due = t;
      }
      if (due === undefined) break;
      this.timers.delete(due.id);
      this.time = due.at;
      due.fn();
    }
    this.time = end;
  }
}

/** Lets pending promise callbacks and I/O callbacks run (one macrotask turn). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
