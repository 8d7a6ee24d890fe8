/** A throwaway ZooKeeper (Debian `zookeeperd`) for tests: see scripts/zookeeper.mjs. */
// @ts-expect-error: a plain ES module of the repo's scripts, without type declarations
import { startZooKeeper as start } from '../../scripts/zookeeper.mjs';

export interface ZooKeeper {
  readonly port: number;
  /** `127.0.0.1:<port>`. */
  readonly connectString: string;
  /** SIGKILL (data kept): sessions are lost until `start()`. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Kills it and removes its data. */
  stop(): Promise<void>;
}

export function startZooKeeper(options: { maxSessionTimeoutMs?: number } = {}): Promise<ZooKeeper> {
  return start(options) as Promise<ZooKeeper>;
}
