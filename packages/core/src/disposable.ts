/** Something that holds resources (sockets, timers) until closed. `close()` is idempotent. */
export interface Disposable {
  close(): Promise<void>;
}
