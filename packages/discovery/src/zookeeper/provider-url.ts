/**
 * SOFARPC provider entries in ZooKeeper: each child of `<root>/<interface>/providers` is a
 * URL-encoded provider URL, e.g.
 * `bolt://10.0.0.7:12200?startTime=...&pid=...&dynamic=true&weight=100&serialization=hessian2&interface=com.example.HelloService&version=1.0&group=SOFA`.
 * Which entries serve a consumer follows the stock `sofa-rpc-node` registry: the interface must
 * match, `category` (if any) be `providers`, `enabled` (if any) be `true`, and a consumer's
 * version / group must equal the provider's when both name one (`default.version` and
 * `default.group` count too). A weight of 0 serves nothing (xmesh drops it: Envoy weights are ≥ 1).
 * Each serving entry is a registry instance: its labels (`version`, `group`, `serialization`) become
 * the endpoint's `envoy.lb` metadata, as every registry's labels do.
 */
import { endpointId } from '@xmesh/core';
import type { RegistryInstance } from '../registry/registry.js';

/** The consumer's side of the stock client's filter: the interface, and the version / group it asks for. */
export interface ProviderFilter {
  readonly interface: string;
  readonly version?: string;
  readonly group?: string;
}

/** SOFA's default provider weight. */
const DEFAULT_WEIGHT = 100;

/** The instance a child node names, or undefined when it does not serve `filter` (or is not a Bolt provider URL). */
export function providerInstance(child: string, filter: ProviderFilter): RegistryInstance | undefined {
  let url: URL;
  try {
    url = new URL(decodeURIComponent(child));
  } catch {
    return undefined;
  }
  if (url.protocol !== 'bolt:') return undefined;
  const params = url.searchParams;
  const iface = params.get('interface') ?? url.pathname.slice(1);
  if (iface !== '' && iface !== filter.interface) return undefined;
  const category = params.get('category');
  if (category !== null && category !== 'providers') return undefined;
  const enabled = params.get('enabled');
  if (enabled !== null && enabled !== 'true') return undefined;
  const group = params.get('group') ?? params.get('default.group');
  const version = params.get('version') ?? params.get('default.version');
  if (filter.group !== undefined && group !== null && group !== filter.group) return undefined;
  if (filter.version !== undefined && version !== null && version !== filter.version) return undefined;
  const weightText = params.get('weight');
  const weight = weightText === null ? DEFAULT_WEIGHT : Number(weightText);
  if (!Number.isFinite(weight) || weight <= 0) return undefined;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = Number(url.port || '12200');
  if (host === '' || !(port > 0 && port < 65536)) return undefined;
  const serialization = params.get('serialization');
  const metadata: Record<string, string> = {};
  if (version !== null) metadata['version'] = version;
  if (group !== null) metadata['group'] = group;
  if (serialization !== null) metadata['serialization'] = serialization;
  return Object.freeze({
    id: endpointId(host, port),
    address: host,
    port,
    weight: Math.min(Math.round(weight), 0xffffffff) || 1,
    zone: '',
    healthy: true,
    metadata: Object.freeze(metadata),
  });
}

/** The instances of a provider list: one per address (the first entry of an address wins), in id order. */
export function providerInstances(children: readonly string[], filter: ProviderFilter): readonly RegistryInstance[] {
  const byId = new Map<string, RegistryInstance>();
  for (const child of children) {
    const instance = providerInstance(child, filter);
    if (instance !== undefined && !byId.has(instance.id)) byId.set(instance.id, instance);
  }
  return Object.freeze([...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
}
