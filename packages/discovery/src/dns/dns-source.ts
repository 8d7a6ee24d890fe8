import { isIP } from 'node:net';
import { ErrorCode, MeshError, endpointId, systemClock, type Clock, type Endpoint, type TimerHandle } from '@xmesh/core';
import type { ClusterConfig } from '@xmesh/xds';
import type { DnsLookupFamily, SourceOptions } from '../endpoint-source.js';
import { ChangingSource } from '../changing-source.js';
import { flattenLoadAssignment, sameIds, uniqueById } from '../flatten.js';
import { lookupHost } from './lookup.js';

/**
 * STRICT_DNS: every configured host is resolved and each address becomes an endpoint.
 * LOGICAL_DNS: only the first configured host, and only the first address of its answer.
 */
export type DnsMode = 'strict' | 'logical';

/**
 * Resolves the cluster's hosts now and again `dnsRefreshRateMs` after each round ends, with one
 * unref'd timer at a time. Resolved endpoints keep the configured port, weight, priority,
 * locality, health status and metadata; `host` is the address. Literal IPs skip DNS.
 * A host whose lookup fails (or answers nothing) keeps its last good addresses and the failure
 * goes to `onError` as XMESH_DNS_FAILED. `respect_dns_ttl` is not honoured (lookups carry no TTL).
 */
export class DnsSource extends ChangingSource {
  readonly ready: Promise<void>;

  private readonly targets: readonly Endpoint[];
  /** Last good addresses per target, same index. */
  private readonly lastGood: (readonly string[] | undefined)[];
  private readonly clock: Clock;
  private readonly resolve: (host: string, family: DnsLookupFamily) => Promise<string[]>;
  private readonly onError: ((error: MeshError) => void) | undefined;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly cluster: ClusterConfig,
    private readonly mode: DnsMode,
    options: SourceOptions = {},
  ) {
    super();
    const configured = flattenLoadAssignment(cluster.loadAssignment);
    this.targets = mode === 'logical' ? configured.slice(0, 1) : configured;
    this.lastGood = this.targets.map(() => undefined);
    this.clock = options.clock ?? systemClock;
    this.resolve = options.resolve ?? lookupHost;
    this.onError = options.onError;
    this.ready = this.refresh();
  }

  protected stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async refresh(): Promise<void> {
    this.timer = undefined;
    await Promise.all(this.targets.map((target, index) => this.resolveTarget(target, index)));
    if (this.closed) return;
    this.publishResolved();
    if (this.targets.length > 0) {
      this.timer = this.clock.setTimeout(() => void this.refresh(), this.cluster.dnsRefreshRateMs);
      this.timer.unref?.();
    }
  }

  private async resolveTarget(target: Endpoint, index: number): Promise<void> {
    if (isIP(target.host) !== 0) {
      this.lastGood[index] = [target.host];
      return;
    }
    try {
      const addresses = await this.resolve(target.host, this.cluster.dnsLookupFamily);
      if (addresses.length === 0) throw new Error('no addresses');
      // A custom resolver (a registry) may answer anything: only IP addresses become endpoints.
      const notIp = addresses.find((a) => typeof a !== 'string' || isIP(a) === 0);
      if (notIp !== undefined) throw new Error(`answered ${JSON.stringify(notIp)}, which is not an IP address`);
      this.lastGood[index] = this.mode === 'logical' ? addresses.slice(0, 1) : addresses;
    } catch (cause) {
      if (this.closed) return;
      const kept = this.lastGood[index]?.length ?? 0;
      const reason = cause instanceof Error ? cause.message : String(cause);
      this.onError?.(
        new MeshError(
          ErrorCode.DNS_FAILED,
          `cluster "${this.cluster.name}": resolving ${target.host} failed (${reason}); keeping ${kept} last good address(es)`,
          { cause, cluster: this.cluster.name, endpoint: target.id },
        ),
      );
    }
  }

  private publishResolved(): void {
    const resolved: Endpoint[] = [];
    this.targets.forEach((target, index) => {
      for (const address of this.lastGood[index] ?? []) {
        // Envoy names a DNS cluster's hosts after the name they were resolved from (auto_host_rewrite uses it).
        resolved.push(Object.freeze({ ...target, id: endpointId(address, target.port), host: address, hostname: target.host }));
      }
    });
    const next = uniqueById(resolved);
    if (!sameIds(this.endpoints, next)) this.publish(next);
  }
}
