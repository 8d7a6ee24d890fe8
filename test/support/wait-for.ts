/** Polls `read` until `ok` accepts its value; rejects after `ms` naming `what` and the last value. */
export function waitFor<T>(read: () => T, ok: (value: T) => boolean, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      const value = read();
      if (ok(value)) resolve(value);
      else if (Date.now() > end) reject(new Error(`timed out after ${ms} ms waiting for ${what}: ${JSON.stringify(value)}`));
      else setTimeout(poll, 50);
    };
    poll();
  });
}
