/**
 * Load loops. Both stop on an `hrtime` deadline (never a timer: a loop that only awaits
 * resolved promises would starve timers) and record successful calls' latency in µs.
 *
 * - closed loop: `concurrency` workers, each awaits its call and issues the next at once.
 * - open loop: calls are issued on a fixed-rate schedule; latency runs from the *intended*
 *   send time, so a stalled client or server is charged for the calls it delayed
 *   (coordinated omission corrected).
 */
import { build, type Histogram } from 'hdr-histogram-js';

/** One request; rejects on failure. */
export type Call = () => Promise<void>;

export interface SliceResult {
  /** Successful calls. */
  calls: number;
  errors: number;
  /** From the first issued call to the deadline (closed) or the last completion (open). */
  elapsedNs: bigint;
  /** Latency of successful calls, µs. */
  histogram: Histogram;
}

/** A histogram for latencies in µs from 1 µs to 60 s at 3 significant digits. */
export function latencyHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
}

const now = () => process.hrtime.bigint();
const toMicros = (ns: bigint) => Math.max(1, Number(ns / 1000n));

export interface ClosedLoopOptions {
  call: Call;
  concurrency: number;
  durationMs: number;
}

export async function closedLoop({ call, concurrency, durationMs }: ClosedLoopOptions): Promise<SliceResult> {
  const histogram = latencyHistogram();
  let calls = 0;
  let errors = 0;
  const start = now();
  const deadline = start + BigInt(Math.round(durationMs * 1e6));
  const worker = async () => {
    for (let t0 = now(); t0 < deadline; t0 = now()) {
      try {
        await call();
        histogram.recordValue(toMicros(now() - t0));
        calls++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { calls, errors, elapsedNs: now() - start, histogram };
}

export interface OpenLoopOptions {
  call: Call;
  ratePerSec: number;
  durationMs: number;
  /** Calls still in flight beyond this are not issued and count as errors. Default 10 000. */
  maxOutstanding?: number;
  /** How long to wait for in-flight calls after the deadline; those left count as errors. Default 10 s. */
  drainMs?: number;
}

export async function openLoop({ call, ratePerSec, durationMs, maxOutstanding = 10_000, drainMs = 10_000 }: OpenLoopOptions): Promise<SliceResult> {
  const histogram = latencyHistogram();
  let calls = 0;
  let errors = 0;
  let outstanding = 0;
  let lastCompletion = 0n;
  let onIdle: (() => void) | undefined;
  let finished = false;
  const intervalNs = 1e9 / ratePerSec;
  const start = now();
  const deadline = start + BigInt(Math.round(durationMs * 1e6));

  const settle = (intended: bigint, ok: boolean) => {
    if (finished) return;
    const end = now();
    if (ok) {
      histogram.recordValue(toMicros(end - intended));
      calls++;
    } else errors++;
    lastCompletion = end;
    if (--outstanding === 0) onIdle?.();
  };
  const issue = (intended: bigint) => {
    outstanding++;
    call().then(
      () => settle(intended, true),
      () => settle(intended, false),
    );
  };

  // Every call scheduled before the deadline is issued, late if the event loop was late (its
  // lateness counts in its latency): a late timer never thins the schedule.
  const scheduled = Math.ceil((durationMs * 1e6) / intervalNs);
  let issued = 0;
  const issueDue = (upTo: number) => {
    for (; issued < upTo; issued++) {
      const intended = start + BigInt(Math.round(issued * intervalNs));
      if (outstanding >= maxOutstanding) errors++;
      else issue(intended);
    }
  };
  for (let t = now(); t < deadline; t = now()) {
    issueDue(Math.min(scheduled, Math.floor(Number(t - start) / intervalNs) + 1));
    const nextNs = Number(start - now()) + issued * intervalNs;
    await pause(nextNs / 1e6);
  }
  issueDue(scheduled);

  if (outstanding > 0) {
    const drained = new Promise<void>((resolve) => (onIdle = resolve));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)))]);
    clearTimeout(timer);
    errors += outstanding;
  }
  finished = true;
  return { calls, errors, elapsedNs: (lastCompletion > start ? lastCompletion : now()) - start, histogram };
}

/** Yields to the event loop for about `ms` (at least one turn, so I/O callbacks run). */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => (ms >= 1 ? setTimeout(resolve, Math.floor(ms)) : setImmediate(resolve)));
}
