/**
 * What the sidecar's listening port accepts, from the filter chains of the listener it serves: plaintext, TLS
 * (a DownstreamTlsContext, terminated by `@xmesh/tls`'s ServerTls), or both (`filter_chain_match.transport_protocol`).
 * The listener served is the sidecar's `listener` option, else the only listener of the snapshot. Built with each
 * snapshot before it applies (a missing certificate refuses the update); kept across snapshots while the TLS
 * config is unchanged; refreshed when a watched secret changes.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { FieldError } from '@xmesh/core';
import type { SnapshotCheck, SnapshotCheckContext } from '@xmesh/client';
import { configKey, ServerTls, SslStats, type TlsSecrets } from '@xmesh/tls';
import type { ListenerConfig, MeshSnapshot } from '@xmesh/xds';

/** What the listening port does with a new connection, by its first byte. */
export interface DownstreamGate {
  /** Plaintext connections (HTTP/1.1, h2c) are served. */
  readonly plaintext: boolean;
  /** Terminates TLS on connections that open with a ClientHello; undefined = such connections are closed. */
  readonly tls: { accept(socket: Socket): void } | undefined;
}

const PLAINTEXT_ONLY: DownstreamGate = Object.freeze({ plaintext: true, tls: undefined });

export class DownstreamTls {
  private gate: DownstreamGate = PLAINTEXT_ONLY;
  private server: { key: string; tls: ServerTls } | undefined = undefined;
  /** The snapshot secrets the kept server was last resolved with (a kept server re-resolves when they change). */
  private secretsKey: string | undefined = undefined;
  private unsubscribe: (() => void) | undefined = undefined;

  constructor(
    /** The listener to serve; undefined = the only one. */
    private readonly listenerName: string | undefined,
    /** Receives each TLS connection that passed the handshake and the client checks. */
    private readonly deliver: (socket: TLSSocket) => void,
    private readonly onRefreshError: (errors: readonly FieldError[]) => void,
  ) {}

  /** What new connections get now. */
  current(): DownstreamGate {
    return this.gate;
  }

  /** `CreateMeshOptions.beforeApply`: builds what `snapshot`'s listener needs, applied at `commit`. */
  check(snapshot: MeshSnapshot, { secrets, stats }: SnapshotCheckContext): SnapshotCheck {
    const chosen = this.chooseListener(snapshot);
    if ('errors' in chosen) return { ok: false, errors: chosen.errors };
    const downstream = chosen.listener?.chains;
    if (downstream === undefined) return { ok: true, commit: () => this.use(PLAINTEXT_ONLY, undefined, secrets) };
    const config = downstream.tls;
    if (config === undefined) return { ok: true, commit: () => this.use({ plaintext: downstream.plaintext, tls: undefined }, undefined, secrets) };
    const where = `listeners["${chosen.listener!.name}"].filter_chains(TLS chain).transport_socket`;
    const key = configKey([config, downstream.handshakeTimeoutMs]);
    const secretsKey = configKey(snapshot.secrets ?? {});
    let server = this.server?.key === key ? this.server : undefined;
    let rotate: (() => void) | undefined;
    if (server === undefined) {
      const address = chosen.listener!.address;
      const scope = address ? `${address.address}_${address.port}` : chosen.listener!.name;
      const created = ServerTls.create(config, where, secrets, new SslStats(stats.root.scope(`listener.${scope}`, 'listener', { envoy_listener_address: scope })), {
        handshakeTimeoutMs: downstream.handshakeTimeoutMs,
        deliver: this.deliver,
      });
      if (Array.isArray(created)) return { ok: false, errors: created };
      server = { key, tls: created };
    } else if (secretsKey !== this.secretsKey) {
      const staged = server.tls.stage();
      if (Array.isArray(staged)) return { ok: false, errors: staged };
      rotate = staged;
    }
    const kept = server;
    return {
      ok: true,
      commit: () => {
        rotate?.();
        this.secretsKey = secretsKey;
        this.use({ plaintext: downstream.plaintext, tls: kept.tls }, kept, secrets);
      },
    };
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private use(gate: DownstreamGate, server: { key: string; tls: ServerTls } | undefined, secrets: TlsSecrets): void {
    this.gate = gate;
    this.server = server;
    this.unsubscribe ??= secrets.onChange(() => {
      const errors = this.server?.tls.refresh() ?? [];
      if (errors.length > 0) this.onRefreshError(errors);
    });
  }

  private chooseListener(snapshot: MeshSnapshot): { listener: ListenerConfig | undefined } | { errors: FieldError[] } {
    const listeners = Object.values(snapshot.listeners);
    const secured = listeners.filter((l) => l.chains !== undefined).map((l) => l.name);
    if (this.listenerName !== undefined) {
      const named = snapshot.listeners[this.listenerName];
      // A misspelt name must not leave the port in plaintext while the config secures a listener.
      if (named === undefined && secured.length > 0) {
        return { errors: [{ path: `listeners["${this.listenerName}"]`, message: `the sidecar serves listener "${this.listenerName}", which the config does not define (it defines ${listeners.map((l) => `"${l.name}"`).join(', ')})` }] };
      }
      return { listener: named };
    }
    if (listeners.length <= 1) return { listener: listeners[0] };
    if (secured.length === 0) return { listener: undefined };
    // Several listeners, some securing their connections: serving the wrong one could drop TLS. Make it explicit.
    return { errors: [{ path: `listeners["${secured[0]}"]`, message: `the sidecar serves one listener and the config has ${listeners.length}, some with filter chain TLS: name the one to serve (the sidecar's listener option, --listener)` }] };
  }
}
