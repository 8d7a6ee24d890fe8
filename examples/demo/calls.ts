/**
 * Calls to the echo service and how their outcomes are counted: per replica, per cluster,
 * ok / rate-limited / failed, and a steady closed-loop load that can be read and reset per step.
 */
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import type { EchoClient, EchoReply } from '@xmesh/example-quickstart';

export type Outcome = { readonly ok: true; readonly replica: string } | { readonly ok: false; readonly rateLimited: boolean; readonly error: string };

/** One unary Echo call; never rejects. */
export function echoOnce(client: EchoClient, metadata = new Metadata(), deadlineMs = 5000): Promise<Outcome> {
  return new Promise((resolve) => {
    client.echo({ message: 'hello' }, metadata, { deadline: Date.now() + deadlineMs }, (err: ServiceError | null, reply?: EchoReply) => {
      if (err === null && reply !== undefined) resolve({ ok: true, replica: reply.server.slice(0, reply.server.indexOf('@')) });
      else resolve({ ok: false, rateLimited: isRateLimited(err), error: err?.message ?? 'empty reply' });
    });
  });
}

function isRateLimited(err: ServiceError | null): boolean {
  if (err === null) return false;
  return err.details.startsWith('XMESH_RATE_LIMITED') || err.metadata?.get('x-xmesh-error-code')[0] === 'XMESH_RATE_LIMITED';
}

export class Tally {
  ok = 0;
  failed = 0;
  rateLimited = 0;
  readonly perReplica = new Map<string, number>();
  readonly errors = new Map<string, number>();

  add(outcome: Outcome): void {
    if (outcome.ok) {
      this.ok++;
      this.perReplica.set(outcome.replica, (this.perReplica.get(outcome.replica) ?? 0) + 1);
    } else if (outcome.rateLimited) this.rateLimited++;
    else {
      this.failed++;
      this.errors.set(outcome.error, (this.errors.get(outcome.error) ?? 0) + 1);
    }
  }

  get total(): number {
    return this.ok + this.failed + this.rateLimited;
  }
}

/** Runs `total` calls with at most `concurrency` in flight. */
export async function runCalls(total: number, concurrency: number, call: () => Promise<Outcome>): Promise<Tally> {
  const tally = new Tally();
  let started = 0;
  const worker = async () => {
    while (started < total) {
      started++;
      tally.add(await call());
    }
  };
  await Promise.all(Array.from({ length: Math.min(total, concurrency) }, worker));
  return tally;
}

/** A closed loop of `concurrency` workers calling until `stop()`; `take()` returns the tally so far and starts a new one. */
export class SteadyLoad {
  private tally = new Tally();
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(concurrency: number, call: () => Promise<Outcome>) {
    const worker = async () => {
      while (!this.stopped) this.tally.add(await call());
    };
    this.done = Promise.all(Array.from({ length: concurrency }, worker)).then(() => undefined);
  }

  take(): Tally {
    const tally = this.tally;
    this.tally = new Tally();
    return tally;
  }

  /** Stops the workers once their in-flight calls finished; resolves with what they counted since the last `take()`. */
  async stop(): Promise<Tally> {
    this.stopped = true;
    await this.done;
    return this.take();
  }
}
