/**
 * Per-mesh deadlines on one clock timer. Every call under a route timeout registers its deadline
 * here instead of arming a timer of its own: a call costs a heap insert and a heap removal
 * (O(log n) in the calls in flight, no allocation), and the clock timer is re-armed only when a
 * deadline earlier than the armed one arrives, or when the armed one fires.
 *
 * Contract: `onDeadline()` of an entry runs once, at or after its due time on the mesh clock (no
 * later than the clock timer's own lateness plus 1 ms), unless the entry was cancelled first. The
 * timer stays armed after the last entry goes (it then fires once and stops), so a steady stream of
 * calls never churns it; it is unref'd, so it never keeps a process alive.
 */
import type { Clock, TimerHandle } from '@xmesh/core';

/** Something with a deadline. The scheduler owns the two fields while the entry is scheduled. */
export interface DeadlineEntry {
  /** Due time on the mesh clock (ms). */
  deadlineDue: number;
  /** Position in the scheduler's heap; -1 when not scheduled. Initialise to -1. */
  deadlineSlot: number;
  onDeadline(): void;
}

export class DeadlineScheduler {
  private readonly heap: DeadlineEntry[] = [];
  private timer: TimerHandle | undefined = undefined;
  /** Due time the clock timer is armed for; Infinity when none is armed. */
  private armedFor = Infinity;

  constructor(private readonly clock: Clock) {}

  /** Entries waiting for their deadline. */
  get size(): number {
    return this.heap.length;
  }

  /** True while the clock timer is armed (at most one per scheduler). */
  get timerArmed(): boolean {
    return this.timer !== undefined;
  }

  /** Schedules `entry` (not already scheduled) to fire at `due` on the mesh clock. */
  schedule(entry: DeadlineEntry, due: number): void {
    entry.deadlineDue = due;
    const heap = this.heap;
    entry.deadlineSlot = heap.length;
    heap.push(entry);
    this.siftUp(entry.deadlineSlot);
    if (due < this.armedFor) this.arm(due, this.clock.now());
  }

  /** Removes `entry` if scheduled; it will not fire. The clock timer is left as it is. */
  cancel(entry: DeadlineEntry): void {
    const slot = entry.deadlineSlot;
    if (slot < 0) return;
    entry.deadlineSlot = -1;
    const heap = this.heap;
    const last = heap.pop()!;
    if (slot === heap.length) return;
    heap[slot] = last;
    last.deadlineSlot = slot;
    if (slot > 0 && last.deadlineDue < heap[(slot - 1) >> 1]!.deadlineDue) this.siftUp(slot);
    else this.siftDown(slot);
  }

  /** Drops every entry without firing it and clears the clock timer. */
  close(): void {
    for (const entry of this.heap) entry.deadlineSlot = -1;
    this.heap.length = 0;
    this.disarm();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.armedFor = Infinity;
    const heap = this.heap;
    let now = this.clock.now();
    for (;;) {
      const first = heap[0];
      if (first === undefined) return;
      if (first.deadlineDue > now) break;
      this.cancel(first);
      first.onDeadline();
      now = this.clock.now();
    }
    if (heap[0]!.deadlineDue < this.armedFor) this.arm(heap[0]!.deadlineDue, now);
  };

  private arm(due: number, now: number): void {
    this.disarm();
    this.armedFor = due;
    // Clock timers may fire up to 1 ms early on a fractional clock; `fire` then re-arms for the rest.
    this.timer = this.clock.setTimeout(this.fire, Math.max(0, due - now));
    this.timer.unref?.();
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  private siftUp(slot: number): void {
    const heap = this.heap;
    const entry = heap[slot]!;
    while (slot > 0) {
      const parentSlot = (slot - 1) >> 1;
      const parent = heap[parentSlot]!;
      if (parent.deadlineDue <= entry.deadlineDue) break;
      heap[slot] = parent;
      parent.deadlineSlot = slot;
      slot = parentSlot;
    }
    heap[slot] = entry;
    entry.deadlineSlot = slot;
  }

  private siftDown(slot: number): void {
    const heap = this.heap;
    const size = heap.length;
    const entry = heap[slot]!;
    for (;;) {
      let child = 2 * slot + 1;
      if (child >= size) break;
      const right = child + 1;
      if (right < size && heap[right]!.deadlineDue < heap[child]!.deadlineDue) child = right;
      const smaller = heap[child]!;
      if (smaller.deadlineDue >= entry.deadlineDue) break;
      heap[slot] = smaller;
      smaller.deadlineSlot = slot;
      slot = child;
    }
    heap[slot] = entry;
    entry.deadlineSlot = slot;
  }
}
