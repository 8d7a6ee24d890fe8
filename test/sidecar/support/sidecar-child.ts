// A sidecar in its own process, for suites that must see it crash without crashing themselves.
// argv[2] is a JSON file: { config, limits?, listener? }. It has no 'uncaughtException' handler on
// purpose: whatever a peer makes throw kills it, and the parent sees the exit. Talks over IPC:
// 'ready' (with its target), and answers 'memory' (after GC) and 'stats'.
import { readFileSync } from 'node:fs';
import { startSidecar, type SidecarLimits } from '@xmesh/sidecar';

interface ChildSpec {
  readonly config: object;
  readonly limits?: Partial<SidecarLimits>;
  readonly listener?: string;
}

function send(message: object): void {
  process.send?.(message);
}

function main(): void {
  const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ChildSpec;
  startSidecar({ config: spec.config, listen: '127.0.0.1:0', admin: false, ...(spec.limits ? { limits: spec.limits } : {}), ...(spec.listener ? { listener: spec.listener } : {}) }).then(
    (sidecar) => {
      send({ type: 'ready', target: sidecar.target });
      process.on('message', (message: { type: string; id: number }) => {
        if (message.type === 'memory') {
          const gc = (globalThis as { gc?: () => void }).gc;
          gc?.();
          setImmediate(() => {
            gc?.();
            const usage = process.memoryUsage();
            send({ type: 'memory', id: message.id, rss: usage.rss, heapUsed: usage.heapUsed });
          });
        } else if (message.type === 'stats') {
          const s = sidecar.stats;
          send({
            type: 'stats', id: message.id, connections: sidecar.connections, requestsActive: s.downstream_rq_active, requestsTotal: s.downstream_rq_total,
            overflow: s.downstream_cx_overflow, prematureResetCloses: s.downstream_rq_too_many_premature_resets,
          });
        } else if (message.type === 'stop') {
          void sidecar.close().then(() => process.exit(0));
        }
      });
      process.on('disconnect', () => process.exit(0));
    },
    (error: unknown) => {
      process.stderr.write(`sidecar failed to start: ${(error as Error).stack}\n`);
      process.exit(2);
    },
  );
}

main();
