/**
 * Good clients kept busy through the sidecar while a hostile peer attacks it: a stock grpc-js
 * client (one channel, unary Echo with a deadline) and an undici client (HTTP/1.1 keep-alive pool).
 * Counts calls started, ended OK, and failed (by error), to assert a success rate.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { Pool } from 'undici';
import { loadEcho, type EchoClient } from '../../support/echo-server.js';
import { unary } from '../../support/grpc-call.js';

export interface TrafficResult {
  readonly started: number;
  readonly ok: number;
  readonly failed: number;
  /** ok / started. */
  readonly successRate: number;
  /** First few failures, for the assertion message. */
  readonly errors: readonly string[];
}

export class GoodTraffic {
  private readonly grpcClient: EchoClient;
  private readonly pool: Pool;
  private running = false;
  private loops: Promise<void>[] = [];
  private started = 0;
  private ok = 0;
  private failed = 0;
  private readonly errors: string[] = [];

  /**
   * @param target the sidecar's `host:port`
   * @param httpPath a path the sidecar routes to a good HTTP/1.1 upstream
   */
  constructor(target: string, private readonly httpPath: string, private readonly options: { grpcLoops?: number; httpLoops?: number; pauseMs?: number } = {}) {
    const { EchoClient } = loadEcho();
    this.grpcClient = new EchoClient(target, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'echo.svc', 'grpc.use_local_subchannel_pool': 1 }) as EchoClient;
    this.pool = new Pool(`http://${target}`, { connections: 2, headersTimeout: 10_000, bodyTimeout: 10_000 });
  }

  /** One round of each client, so their connections are open before an attack starts. */
  async warm(): Promise<void> {
    await unary(this.grpcClient, { message: 'warm' }, { deadline: Date.now() + 10_000 });
    const res = await this.pool.request({ path: this.httpPath, method: 'GET', headers: { host: 'web.svc' } });
    await res.body.text();
  }

  /** Starts the loops; counts start from zero. */
  start(): void {
    this.running = true;
    this.started = 0;
    this.ok = 0;
    this.failed = 0;
    this.errors.length = 0;
    const pause = this.options.pauseMs ?? 5;
    for (let i = 0; i < (this.options.grpcLoops ?? 2); i++) this.loops.push(this.loop(pause, () => this.grpcCall()));
    for (let i = 0; i < (this.options.httpLoops ?? 1); i++) this.loops.push(this.loop(pause, () => this.httpCall()));
  }

  async stop(): Promise<TrafficResult> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
    return { started: this.started, ok: this.ok, failed: this.failed, successRate: this.started === 0 ? 0 : this.ok / this.started, errors: this.errors.slice(0, 5) };
  }

  async close(): Promise<void> {
    this.grpcClient.close();
    await this.pool.close();
  }

  private async loop(pauseMs: number, call: () => Promise<void>): Promise<void> {
    while (this.running) {
      this.started++;
      try {
        await call();
        this.ok++;
      } catch (error) {
        this.failed++;
        if (this.errors.length < 20) this.errors.push((error as Error).message);
      }
      await sleep(pauseMs);
    }
  }

  private async grpcCall(): Promise<void> {
    const reply = await unary(this.grpcClient, { message: 'good' }, { deadline: Date.now() + 10_000 });
    if (reply.message !== 'good') throw new Error(`unexpected reply ${reply.message}`);
  }

  private async httpCall(): Promise<void> {
    const res = await this.pool.request({ path: this.httpPath, method: 'GET', headers: { host: 'web.svc' } });
    const body = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${body}`);
  }
}
