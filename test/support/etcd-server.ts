/**
 * Throwaway etcd members (Debian `etcd-server`) for tests: 127.0.0.1 on free ports, a temp data dir
 * each, removed on `stop()`. `startEtcd()` runs one member; `startEtcdCluster(3)` a cluster whose
 * members can be killed (`kill`, SIGKILL) and started again (`restart`, same ports and data).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort } from '../../scripts/free-port.mjs';

export interface EtcdMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  /** `127.0.0.1:<clientPort>`. */
  readonly endpoint: string;
  readonly running: boolean;
  /** SIGKILL; resolves once the process exited. */
  kill(): Promise<void>;
  /** Starts the member again with its ports and data; resolves once it accepts connections. */
  restart(): Promise<void>;
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** Every member's `host:port`. */
  readonly endpoints: readonly string[];
  /** `etcd://h:p,h:p,...`. */
  readonly url: string;
  /** Kills every member and removes the data dirs. */
  stop(): Promise<void>;
}

interface MemberSpec {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
}

/** One etcd member. */
export function startEtcd(): Promise<EtcdCluster> {
  return startEtcdCluster(1);
}

/** `size` members forming one cluster; resolves once each accepts client connections and the cluster is healthy. */
export async function startEtcdCluster(size: number, timeoutMs = 20_000): Promise<EtcdCluster> {
  const root = mkdtempSync(join(tmpdir(), 'xmesh-etcd-'));
  const specs: MemberSpec[] = [];
  for (let i = 0; i < size; i++) {
    specs.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort(), dataDir: join(root, `m${i}`) });
  }
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
  const members = specs.map((spec) => new Member(spec, initialCluster));
  try {
    await Promise.all(members.map((m) => m.restart(timeoutMs)));
    await waitHealthy(members[0]!.endpoint, timeoutMs);
  } catch (error) {
    await Promise.all(members.map((m) => m.kill()));
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  const endpoints = members.map((m) => m.endpoint);
  return {
    members,
    endpoints,
    url: `etcd://${endpoints.join(',')}`,
    stop: async () => {
      await Promise.all(members.map((m) => m.kill()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

class Member implements EtcdMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly endpoint: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly spec: MemberSpec, private readonly initialCluster: string) {
    this.name = spec.name;
    this.clientPort = spec.clientPort;
    this.peerPort = spec.peerPort;
    this.endpoint = `127.0.0.1:${spec.clientPort}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async restart(timeoutMs = 20_000): Promise<void> {
    if (this.running) return;
    const { spec } = this;
    const child = spawn('etcd', [
      '--name', spec.name,
      '--data-dir', spec.dataDir,
      '--listen-client-urls', `http://127.0.0.1:${spec.clientPort}`,
      '--advertise-client-urls', `http://127.0.0.1:${spec.clientPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${spec.peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${spec.peerPort}`,
      '--initial-cluster', this.initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', specToken(this.initialCluster),
      // Loopback: short heartbeats so a lost leader is replaced quickly.
      '--heartbeat-interval', '50',
      '--election-timeout', '500',
      '--log-level', 'error',
    ], { stdio: 'ignore' });
    child.on('error', () => undefined);
    this.child = child;
    this.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const end = Date.now() + timeoutMs;
    while (!(await accepts(spec.clientPort))) {
      if (Date.now() > end || !this.running) {
        child.kill('SIGKILL');
        throw new Error(`etcd ${spec.name} did not listen on ${spec.clientPort} (is the etcd-server package installed?)`);
      }
      await sleep(50);
    }
  }

  async kill(): Promise<void> {
    if (!this.running) return this.exited;
    this.child!.kill('SIGKILL');
    await this.exited;
  }
}

/** Waits until `/health` says the cluster has a leader and answers. */
async function waitHealthy(endpoint: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`http://${endpoint}/health`, { signal: AbortSignal.timeout(2_000) });
      const body = (await res.json()) as { health?: string };
      if (body.health === 'true') return;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error(`etcd at ${endpoint} did not become healthy within ${timeoutMs} ms`);
    await sleep(100);
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/** One token per cluster (every member must give the same). */
function specToken(initialCluster: string): string {
  return `xmesh-test-${initialCluster.replace(/[^0-9]/g, '').slice(-12)}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
