/**
 * Envoy's TCP health checker (source/extensions/health_checkers/tcp): connect; without `receive`
 * the connection alone passes (and is closed); otherwise `send` goes out and the check passes once
 * every `receive` segment arrived in order. A connection that fails or closes first is a network
 * failure. With `reuse_connection` the connection stays for the next check, else it closes after each.
 * What the host sends is kept up to MAX_RECEIVE_BYTES, so a host that streams cannot grow it.
 */
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HealthCheckConfig, TcpHealthCheckConfig } from '@xmesh/xds';
import { NETWORK_FAILURE, SUCCESS, payloadMatches, type Probe, type ProbeOutcome, type ProbeTarget } from './probe.js';

/** The most of a host's answer kept while waiting for the `receive` segments. */
export const MAX_RECEIVE_BYTES = 64 * 1024;

export class TcpProbe implements Probe {
  private socket: Duplex | undefined = undefined;
  private connected = false;
  private received: Buffer[] = [];
  private receivedBytes = 0;
  private done: ((outcome: ProbeOutcome) => void) | undefined = undefined;
  private readonly send: Buffer | undefined;
  private readonly receive: readonly Buffer[];

  constructor(
    config: HealthCheckConfig,
    private readonly target: ProbeTarget,
    private readonly reuse = config.reuseConnection,
  ) {
    const tcp = config.checker as TcpHealthCheckConfig;
    this.send = tcp.send === undefined ? undefined : Buffer.from(tcp.send, 'hex');
    this.receive = tcp.receive.map((hex) => Buffer.from(hex, 'hex'));
  }

  start(done: (outcome: ProbeOutcome) => void): void {
    this.done = done;
    this.received = [];
    this.receivedBytes = 0;
    const existing = this.socket;
    if (existing !== undefined && this.connected && !existing.destroyed) {
      this.write(existing);
      return;
    }
    const { host, port, dial } = this.target;
    const socket: Duplex = dial === undefined ? connect({ host, port, noDelay: true }) : dial(host, port, 'http/1.1');
    this.socket = socket;
    this.connected = false;
    socket.on('error', () => this.lost(socket));
    socket.on('close', () => this.lost(socket));
    socket.on('data', (chunk: Buffer) => this.data(socket, chunk));
    socket.once(dial === undefined ? 'connect' : 'secureConnect', () => {
      this.connected = true;
      if (this.receive.length === 0) {
        // A connect-only check: the connection is the answer (Envoy writes nothing then).
        this.closeSocket();
        this.finish(SUCCESS);
        return;
      }
      this.write(socket);
    });
  }

  abort(): void {
    this.done = undefined;
    this.closeSocket();
  }

  close(): void {
    this.abort();
  }

  private write(socket: Duplex): void {
    if (this.send !== undefined && this.send.length > 0) socket.write(this.send);
  }

  private data(socket: Duplex, chunk: Buffer): void {
    if (socket !== this.socket || this.done === undefined) return;
    if (this.receivedBytes < MAX_RECEIVE_BYTES) {
      const kept = chunk.subarray(0, MAX_RECEIVE_BYTES - this.receivedBytes);
      this.received.push(kept);
      this.receivedBytes += kept.length;
    }
    if (!payloadMatches(this.receive, Buffer.concat(this.received))) return;
    this.received = [];
    this.receivedBytes = 0;
    if (!this.reuse) this.closeSocket();
    this.finish(SUCCESS);
  }

  /** The connection failed or closed: a network failure if a check was waiting on it. */
  private lost(socket: Duplex): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.connected = false;
    socket.destroy();
    if (this.done !== undefined) this.finish(NETWORK_FAILURE);
  }

  private closeSocket(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.connected = false;
    socket?.destroy();
  }

  private finish(outcome: ProbeOutcome): void {
    const done = this.done;
    this.done = undefined;
    if (done !== undefined) process.nextTick(done, outcome);
  }
}
