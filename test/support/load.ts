/** A bounded load loop: `concurrency` callers, each calling `call` back to back until `durationMs` passed (on hrtime, not a timer). */
export async function runLoad(concurrency: number, durationMs: number, call: (i: number) => Promise<unknown>): Promise<{ ok: number; failed: unknown[] }> {
  const end = process.hrtime.bigint() + BigInt(durationMs) * 1_000_000n;
  let ok = 0;
  const failed: unknown[] = [];
  let n = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (process.hrtime.bigint() < end) {
      try {
        await call(n++);
        ok++;
      } catch (error) {
        failed.push(error);
      }
    }
  }));
  return { ok, failed };
}
