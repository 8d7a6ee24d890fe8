/**
 * The four backends of Envoy's locality-load-balancing example (its service.py, as node servers):
 * `GET /` answers "Hello from <name>!" while healthy and 503 once `/unhealthy` was called; each
 * counts the health checks it got (user-agent `Envoy/HC`). Plus the example's config
 * (test/fixtures/health/locality-load-balancing.yaml) with their ports, and a helper that runs the
 * health checks due on a fake clock and waits until they ended.
 */
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FakeClock } from './fake-clock.js';
import { waitFor } from './wait.js';

export const BACKENDS = ['backend-local-1', 'backend-local-2', 'backend-remote-1', 'backend-remote-2'] as const;
export type BackendName = (typeof BACKENDS)[number];

export class Backend {
  healthy = true;
  healthChecks = 0;
  private server: Server | undefined = undefined;
  port = 0;

  constructor(readonly name: BackendName) {}

  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      if (req.headers['user-agent'] === 'Envoy/HC') this.healthChecks++;
      if (req.url === '/healthy' || req.url === '/unhealthy') {
        this.healthy = req.url === '/healthy';
        res.writeHead(201).end(`[${this.name}] Set to ${this.healthy ? 'healthy' : 'unhealthy'}\n`);
        return;
      }
      if (this.healthy) res.end(`Hello from ${this.name}!\n`);
      else res.writeHead(503).end('Unhealthy');
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** The host dies: its port refuses connections. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export async function startBackends(): Promise<Record<BackendName, Backend>> {
  const out = {} as Record<BackendName, Backend>;
  for (const name of BACKENDS) {
    out[name] = new Backend(name);
    await out[name].start();
  }
  return out;
}

/** The fixture's YAML with the backends' ports filled in. */
export function localityConfig(backends: Record<BackendName, Backend>): string {
  let text = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'health', 'locality-load-balancing.yaml'), 'utf8');
  for (const name of BACKENDS) text = text.replaceAll(`{{${name.toUpperCase().replaceAll('-', '_')}}}`, String(backends[name].port));
  return text;
}

/**
 * Moves `clock` by `ms` in steps of at most `step`, and after each step waits (in real time, with a
 * generous bound) until every health check it started has ended (`attempts()` equals `ended()`).
 */
export async function advanceChecks(clock: FakeClock, ms: number, counts: { attempts(): number; ended(): number }, step = ms): Promise<void> {
  for (let moved = 0; moved < ms; moved += step) {
    clock.advance(Math.min(step, ms - moved));
    await waitFor(() => counts.attempts() === counts.ended(), 'the health checks in flight to end');
  }
}

/** Counts replies by their text over `n` calls. */
export async function tally(n: number, call: () => Promise<string>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const text = (await call()).trim();
    out.set(text, (out.get(text) ?? 0) + 1);
  }
  return out;
}
