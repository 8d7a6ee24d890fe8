/**
 * A closed-loop load generator for fault tests: `concurrency` workers each run one call at a time
 * until `until()` says stop (checked between calls) or the hrtime deadline passes. A loop that
 * awaits only resolved promises starves timers, so the stop condition is read from hrtime, never
 * from a timer. Every call is recorded with its start time (ms on `performance.now()`) and result,
 * and calls still running after the loop are given `settleMs` to end before the run is returned:
 * `started - resolved` is then the number of calls that never ended.
 */
export interface CallRecord<R> {
  readonly startedAt: number;
  /** The call's value, or the error it rejected with. */
  readonly result: { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: unknown };
}

export interface LoadRun<R> {
  readonly started: number;
  readonly resolved: number;
  readonly calls: readonly CallRecord<R>[];
  /** performance.now() when the loop stopped starting calls. */
  readonly stoppedAt: number;
}

export interface LoadOptions {
  readonly concurrency: number;
  /** Upper bound of the run, ms. */
  readonly maxMs: number;
  /** Stop early once this returns true (read between calls). */
  readonly until?: () => boolean;
  /** How long calls still running at the end may take to end, ms. */
  readonly settleMs?: number;
}

export async function runLoad<R>(options: LoadOptions, call: (i: number) => Promise<R>): Promise<LoadRun<R>> {
  const deadline = process.hrtime.bigint() + BigInt(Math.round(options.maxMs * 1e6));
  const calls: CallRecord<R>[] = [];
  let started = 0;
  let resolved = 0;
  let stop = false;
  const shouldStop = () => stop || process.hrtime.bigint() >= deadline || (options.until?.() ?? false);
  const worker = async () => {
    while (!shouldStop()) {
      const i = started++;
      const startedAt = performance.now();
      let result: CallRecord<R>['result'];
      try {
        result = { ok: true, value: await call(i) };
      } catch (error) {
        result = { ok: false, error };
      }
      resolved++;
      calls.push({ startedAt, result });
    }
  };
  const workers = Promise.all(Array.from({ length: options.concurrency }, worker));
  // Workers poll the stop condition between calls; this only bounds the wait for calls still running.
  let stoppedAt = 0;
  const stopThenSettle = async () => {
    while (!shouldStop()) await sleep(20);
    stop = true;
    stoppedAt = performance.now();
    await sleep(options.settleMs ?? 10_000);
  };
  await Promise.race([workers, stopThenSettle()]);
  stop = true;
  if (stoppedAt === 0) stoppedAt = performance.now();
  return { started, resolved, calls, stoppedAt };
}

/** Calls whose result was an error. */
export function failures<R>(calls: readonly CallRecord<R>[]): CallRecord<R>[] {
  return calls.filter((c) => !c.result.ok);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
