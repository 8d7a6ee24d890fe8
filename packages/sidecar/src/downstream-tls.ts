/**
 * How the sidecar's listening port serves a new connection, from the filter chains of the listener it serves (the
 * sidecar's `listener` option, else the only listener of the snapshot): the chain Envoy would pick for it
 * (`selectFilterChain`, from its addresses and, when a chain asks for them, its TLS ClientHello's SNI and ALPN or
 * the HTTP inspector's protocol), which terminates TLS with its own DownstreamTlsContext (`@xmesh/tls`'s ServerTls)
 * or not, then serves HTTP with its own HttpConnectionManager or relays bytes (tcp_proxy). Built with each snapshot
 * before it applies (a missing certificate refuses the update); a chain's TLS server is kept across snapshots while
 * its TLS config is unchanged, and refreshed when a watched secret changes.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { FieldError } from '@xmesh/core';
import type { SnapshotCheck, SnapshotCheckContext } from '@xmesh/client';
import { configKey, ServerTls, SslStats, type TlsSecrets } from '@xmesh/tls';
import { selectFilterChain, type ConnectionFacts, type ListenerConfig, type ListenerFilterChain, type MeshSnapshot, type TcpProxyConfig } from '@xmesh/xds';

/** What serves a connection once its chain is chosen. */
export type ServedChain =
  /** HTTP with the HCM of the ListenerConfig named `listener` (`<listener>/<chain>`; '' for the listener's own: routed as usual). */
  | { readonly kind: 'http'; readonly listener: string; readonly tls: { accept(socket: Socket): void } | undefined }
  | { readonly kind: 'tcp'; readonly tls: { accept(socket: Socket): void } | undefined; serve(socket: Socket): void };

/** What the listening port does with a new connection. */
export interface DownstreamGate {
  /** True when choosing a chain needs the connection's first bytes (a chain matches on SNI, ALPN or the transport protocol). */
  readonly inspects: boolean;
  /** The listener has the HTTP inspector: plaintext connections offer `h2c` / `http/1.1` as their application protocol. */
  readonly httpInspector: boolean;
  /** The chain that serves a connection with these facts; undefined = none (the connection is closed). */
  select(facts: ConnectionFacts): ServedChain | undefined;
}

/** The chain listener a connection secured by TLS belongs to (set before it is delivered). */
export const CHAIN_LISTENER = Symbol('xmesh.chain-listener');
type ChainSocket = TLSSocket & { [CHAIN_LISTENER]?: string };

/** The ListenerConfig name a connection's requests route with, when its chain set one. */
export function chainListenerOf(socket: object | null | undefined): string | undefined {
  return socket === null || socket === undefined ? undefined : (socket as ChainSocket)[CHAIN_LISTENER];
}

export function markChainListener(socket: object, listener: string): void {
  (socket as ChainSocket)[CHAIN_LISTENER] = listener;
}

const LISTENER_ITSELF: ServedChain = Object.freeze({ kind: 'http', listener: '', tls: undefined });

const PLAINTEXT_ONLY: DownstreamGate = Object.freeze({
  inspects: false,
  httpInspector: false,
  select: () => LISTENER_ITSELF,
});

interface ChainServer {
  readonly key: string;
  readonly tls: ServerTls;
}

export class DownstreamTls {
  private gate: DownstreamGate = PLAINTEXT_ONLY;
  /** The TLS server of each chain that terminates TLS, by chain name. */
  private servers = new Map<string, ChainServer>();
  /** The snapshot secrets the kept servers were last resolved with (kept servers re-resolve when they change). */
  private secretsKey: string | undefined = undefined;
  private unsubscribe: (() => void) | undefined = undefined;

  constructor(
    /** The listener to serve; undefined = the only one. */
    private readonly listenerName: string | undefined,
    /** Receives each HTTP connection that passed the TLS handshake and the client checks. */
    private readonly deliver: (socket: TLSSocket) => void,
    private readonly onRefreshError: (errors: readonly FieldError[]) => void,
    /** Serves a tcp_proxy chain's connection. */
    private readonly tcpProxy: (config: TcpProxyConfig, socket: Socket) => void = (_config, socket) => socket.destroy(),
  ) {}

  /** What new connections get now. */
  current(): DownstreamGate {
    return this.gate;
  }

  /** `CreateMeshOptions.beforeApply`: builds what `snapshot`'s listener needs, applied at `commit`. */
  check(snapshot: MeshSnapshot, { secrets, stats }: SnapshotCheckContext): SnapshotCheck {
    const chosen = this.chooseListener(snapshot);
    if ('errors' in chosen) return { ok: false, errors: chosen.errors };
    const listener = chosen.listener;
    const chains = listener?.filterChains;
    if (listener === undefined || chains === undefined || isPlain(chains)) return { ok: true, commit: () => this.use(PLAINTEXT_ONLY, new Map(), secrets) };
    const secretsKey = configKey(snapshot.secrets ?? {});
    const servers = new Map<string, ChainServer>();
    const rotations: (() => void)[] = [];
    const errors: FieldError[] = [];
    for (const chain of chains) {
      if (chain.tls === undefined) continue;
      const key = configKey([chain.tls, chain.handshakeTimeoutMs, chain.network.kind]);
      const kept = this.servers.get(chain.name);
      if (kept?.key === key) {
        if (secretsKey !== this.secretsKey) {
          const staged = kept.tls.stage();
          if (Array.isArray(staged)) errors.push(...staged);
          else rotations.push(staged);
        }
        servers.set(chain.name, kept);
        continue;
      }
      const where = `listeners["${listener.name}"].filter_chains("${chain.name}").transport_socket`;
      const address = listener.address;
      const scope = address ? `${address.address}_${address.port}` : listener.name;
      const created = ServerTls.create(chain.tls, where, secrets, new SslStats(stats.root.scope(`listener.${scope}`, 'listener', { envoy_listener_address: scope })), {
        handshakeTimeoutMs: chain.handshakeTimeoutMs,
        deliver: this.deliverFor(chain, listener.name),
      });
      if (Array.isArray(created)) errors.push(...created);
      else servers.set(chain.name, { key, tls: created });
    }
    if (errors.length > 0) return { ok: false, errors };
    const gate = this.gateFor(listener, chains, servers);
    return {
      ok: true,
      commit: () => {
        for (const rotate of rotations) rotate();
        this.secretsKey = secretsKey;
        this.use(gate, servers, secrets);
      },
    };
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Where a chain's secured connections go: HTTP with the chain's listener (marked unless it is the listener's own), or its tcp_proxy. */
  private deliverFor(chain: ListenerFilterChain, listener: string): (socket: TLSSocket) => void {
    const network = chain.network;
    if (network.kind === 'tcp_proxy') return (socket) => this.tcpProxy(network.tcpProxy, socket);
    const name = network.listener.name;
    if (name === listener) return this.deliver;
    return (socket) => {
      markChainListener(socket, name);
      this.deliver(socket);
    };
  }

  private gateFor(listener: ListenerConfig, chains: readonly ListenerFilterChain[], servers: ReadonlyMap<string, ChainServer>): DownstreamGate {
    const served = new Map<ListenerFilterChain, ServedChain>();
    for (const chain of chains) {
      const tls = servers.get(chain.name)?.tls;
      const network = chain.network;
      served.set(chain, network.kind === 'http'
        ? { kind: 'http', listener: network.listener.name === listener.name ? '' : network.listener.name, tls }
        : { kind: 'tcp', tls, serve: (socket) => this.tcpProxy(network.tcpProxy, socket) });
    }
    const inspects = chains.some((c) => c.match.serverNames.length > 0 || c.match.transportProtocol !== '' || c.match.applicationProtocols.length > 0);
    return {
      inspects,
      httpInspector: listener.httpInspector === true,
      select: (facts) => {
        const chain = selectFilterChain(chains, facts);
        return chain === undefined ? undefined : served.get(chain);
      },
    };
  }

  private use(gate: DownstreamGate, servers: Map<string, ChainServer>, secrets: TlsSecrets): void {
    this.gate = gate;
    this.servers = servers;
    this.unsubscribe ??= secrets.onChange(() => {
      const errors: FieldError[] = [];
      for (const server of this.servers.values()) errors.push(...server.tls.refresh());
      if (errors.length > 0) this.onRefreshError(errors);
    });
  }

  private chooseListener(snapshot: MeshSnapshot): { listener: ListenerConfig | undefined } | { errors: FieldError[] } {
    const listeners = Object.values(snapshot.listeners);
    const secured = listeners.filter((l) => l.filterChains !== undefined && !isPlain(l.filterChains)).map((l) => l.name);
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
    // Several listeners, some with filter chains that secure or split connections: serving the wrong one could drop TLS.
    return { errors: [{ path: `listeners["${secured[0]}"]`, message: `the sidecar serves one listener and the config has ${listeners.length}, some with filter chain TLS or several filter chains: name the one to serve (the sidecar's listener option, --listener)` }] };
  }
}

/** One plaintext HTTP chain that takes every connection: served as the listener itself, nothing to choose. */
function isPlain(chains: readonly ListenerFilterChain[]): boolean {
  if (chains.length !== 1) return false;
  const [chain] = chains;
  const m = chain!.match;
  return chain!.tls === undefined && chain!.network.kind === 'http' && m.destinationPort === undefined && m.prefixRanges.length === 0 && m.serverNames.length === 0
    && m.transportProtocol === '' && m.applicationProtocols.length === 0 && m.directSourcePrefixRanges.length === 0 && m.sourceType === 'ANY'
    && m.sourcePrefixRanges.length === 0 && m.sourcePorts.length === 0;
}
