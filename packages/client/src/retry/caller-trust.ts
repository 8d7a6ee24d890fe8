/**
 * Whether a proxied request's caller is internal by its listener's HttpConnectionManager, as Envoy
 * decides before honouring (rather than stripping) x-envoy-* request headers:
 * - `use_remote_address: true`: the caller is the address X-Forwarded-For names
 *   `xff_num_trusted_hops - 1` entries from the right when hops are trusted, else the connection's
 *   peer; the request can be internal only when it carries no X-Forwarded-For at all;
 * - otherwise the caller is the address X-Forwarded-For names `xff_num_trusted_hops` entries from
 *   the right, and the request can be internal only when X-Forwarded-For holds exactly one address;
 * - that address is internal when it lies in `internal_address_config.cidr_ranges`. Without ranges
 *   no address is internal (current Envoy's default; older releases trusted RFC 1918 ranges).
 * (Envoy's ConnectionManagerUtility::mutateRequestHeaders.)
 */
import { BlockList, isIP } from 'node:net';
import type { CallerTrust } from '@xmesh/xds';

/** What a proxy front end knows of the caller of one request. */
export interface DownstreamCaller {
  /** The connection's peer address. */
  readonly remoteAddress: string | undefined;
  /** The request's X-Forwarded-For header, if any. */
  readonly forwardedFor: string | undefined;
  /** True when the connection is TLS with a verified client certificate (`forward_client_cert_details` FORWARD_ONLY). */
  readonly mtls?: boolean;
}

const compiled = new WeakMap<CallerTrust, BlockList>();

export function isInternalCaller(caller: DownstreamCaller, trust: CallerTrust | undefined): boolean {
  if (trust === undefined || trust.internalCidrs.length === 0) return false;
  const entries = caller.forwardedFor?.split(',').map((e) => e.trim()).filter((e) => e !== '') ?? [];
  let address: string | undefined;
  let single: boolean;
  if (trust.useRemoteAddress) {
    single = caller.forwardedFor === undefined;
    if (trust.xffNumTrustedHops > 0) address = fromTheRight(entries, trust.xffNumTrustedHops - 1);
    address ??= caller.remoteAddress;
  } else {
    address = fromTheRight(entries, trust.xffNumTrustedHops);
    single = entries.length === 1;
  }
  if (!single) return false;
  if (address === undefined) return false;
  if (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4) address = address.slice(7);
  const family = isIP(address);
  if (family === 0) return false;
  return internalNetworks(trust).check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** The X-Forwarded-For entry `skip` entries from the right, when there is one. */
function fromTheRight(entries: readonly string[], skip: number): string | undefined {
  return entries.length > skip ? entries[entries.length - 1 - skip] : undefined;
}

function internalNetworks(trust: CallerTrust): BlockList {
  let list = compiled.get(trust);
  if (list === undefined) {
    list = new BlockList();
    for (const range of trust.internalCidrs) list.addSubnet(range.addressPrefix, range.prefixLen, isIP(range.addressPrefix) === 6 ? 'ipv6' : 'ipv4');
    compiled.set(trust, list);
  }
  return list;
}
