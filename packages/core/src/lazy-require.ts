/**
 * A CommonJS dependency loaded on its first use instead of when the module that needs it is imported,
 * so a process that never takes the path that uses it (the sidecar never opens a grpc-js channel)
 * does not pay its code and heap. The first call loads it synchronously; later calls return it.
 * The module object is the one an application's own `import`/`require` of the package gets.
 */
import { createRequire } from 'node:module';

/** `id` resolved from `parentUrl` (the caller's `import.meta.url`), required on the first call of the returned function. */
export function lazyRequire<T>(parentUrl: string, id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= createRequire(parentUrl)(id) as T);
}
