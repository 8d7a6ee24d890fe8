/**
 * Which filter chain of a listener a new connection takes, as Envoy's filter chain manager decides
 * (FilterChainManagerImpl::findFilterChain): the criteria in its order — destination port, destination IP
 * (most specific range), server name (exact, then the longest wildcard suffix), transport protocol, application
 * protocol (the connection's in order), directly connected source IP, source type, source IP, source port —
 * each narrowing the chains to those that match the connection most specifically at that level, else to those
 * that do not constrain it. There is no going back: a level that leaves no chain means no match, and the
 * listener's default chain (when it has one) takes the connection; otherwise the connection is closed.
 */
import { BlockList, isIP } from 'node:net';
import type { CidrRange } from './model.js';
import type { ConnectionFacts, FilterChainMatchConfig, ListenerFilterChain } from './filter-model.js';

/** The chain `facts` takes among `chains` (default chain included), or undefined when none does. */
export function selectFilterChain(chains: readonly ListenerFilterChain[], facts: ConnectionFacts): ListenerFilterChain | undefined {
  const explicit = chains.filter((c) => !c.isDefault);
  const chosen = narrow(explicit, facts);
  return chosen ?? chains.find((c) => c.isDefault);
}

function narrow(chains: readonly ListenerFilterChain[], facts: ConnectionFacts): ListenerFilterChain | undefined {
  let c = chains;
  c = exactOrAny(c, (m) => (m.destinationPort === undefined ? undefined : m.destinationPort === facts.localPort));
  c = mostSpecificRange(c, (m) => m.prefixRanges, facts.localAddress);
  c = byServerName(c, facts.serverName);
  c = exactOrAny(c, (m) => (m.transportProtocol === '' ? undefined : m.transportProtocol === facts.transportProtocol));
  c = byApplicationProtocol(c, facts.applicationProtocols);
  c = mostSpecificRange(c, (m) => m.directSourcePrefixRanges, facts.remoteAddress);
  c = bySourceType(c, facts);
  c = mostSpecificRange(c, (m) => m.sourcePrefixRanges, facts.remoteAddress);
  c = exactOrAny(c, (m) => (m.sourcePorts.length === 0 ? undefined : m.sourcePorts.includes(facts.remotePort)));
  return c[0];
}

/** `test` says whether a chain matches (true), does not (false), or does not constrain this criterion (undefined). */
function exactOrAny(chains: readonly ListenerFilterChain[], test: (m: FilterChainMatchConfig) => boolean | undefined): readonly ListenerFilterChain[] {
  const exact = chains.filter((c) => test(c.match) === true);
  return exact.length > 0 ? exact : chains.filter((c) => test(c.match) === undefined);
}

/** Chains whose ranges hold `address` with the longest prefix; an empty list holds every address with length 0. */
function mostSpecificRange(chains: readonly ListenerFilterChain[], ranges: (m: FilterChainMatchConfig) => readonly CidrRange[], address: string): readonly ListenerFilterChain[] {
  let best = -1;
  const lengths = chains.map((chain) => {
    const list = ranges(chain.match);
    const length = list.length === 0 ? 0 : longestContaining(list, address);
    if (length > best) best = length;
    return length;
  });
  return best < 0 ? [] : chains.filter((_, i) => lengths[i] === best);
}

/** The longest prefix length among `ranges` that contain `address`; -1 when none does. */
function longestContaining(ranges: readonly CidrRange[], address: string): number {
  const ip = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const family = isIP(ip);
  if (family === 0) return -1;
  let best = -1;
  for (const range of ranges) {
    const rangeFamily = isIP(range.addressPrefix);
    if (rangeFamily !== family || range.prefixLen <= best) continue;
    const list = new BlockList();
    list.addSubnet(range.addressPrefix, range.prefixLen, family === 6 ? 'ipv6' : 'ipv4');
    if (list.check(ip, family === 6 ? 'ipv6' : 'ipv4')) best = range.prefixLen;
  }
  return best;
}

/** The exact name, else the longest wildcard suffix (`*.b.c` before `*.c`), else chains without names. */
function byServerName(chains: readonly ListenerFilterChain[], serverName: string): readonly ListenerFilterChain[] {
  if (serverName !== '') {
    const exact = chains.filter((c) => c.match.serverNames.includes(serverName));
    if (exact.length > 0) return exact;
    for (let dot = serverName.indexOf('.', 1); dot >= 0 && dot < serverName.length - 1; dot = serverName.indexOf('.', dot + 1)) {
      const wildcard = `*${serverName.slice(dot)}`;
      const matched = chains.filter((c) => c.match.serverNames.includes(wildcard));
      if (matched.length > 0) return matched;
    }
  }
  return chains.filter((c) => c.match.serverNames.length === 0);
}

function byApplicationProtocol(chains: readonly ListenerFilterChain[], offered: readonly string[]): readonly ListenerFilterChain[] {
  for (const protocol of offered) {
    const matched = chains.filter((c) => c.match.applicationProtocols.includes(protocol));
    if (matched.length > 0) return matched;
  }
  return chains.filter((c) => c.match.applicationProtocols.length === 0);
}

/** SAME_IP_OR_LOOPBACK for a connection from its own address or loopback, EXTERNAL otherwise; ANY as the fallback. */
function bySourceType(chains: readonly ListenerFilterChain[], facts: ConnectionFacts): readonly ListenerFilterChain[] {
  const local = chains.filter((c) => c.match.sourceType === 'SAME_IP_OR_LOOPBACK');
  const external = chains.filter((c) => c.match.sourceType === 'EXTERNAL');
  if (local.length > 0 || external.length > 0) {
    const isLocal = isLoopback(facts.remoteAddress) || plain(facts.remoteAddress) === plain(facts.localAddress);
    if (isLocal && local.length > 0) return local;
    if (!isLocal && external.length > 0) return external;
  }
  return chains.filter((c) => c.match.sourceType === 'ANY');
}

function plain(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function isLoopback(address: string): boolean {
  const ip = plain(address);
  return ip === '::1' || (isIP(ip) === 4 && ip.startsWith('127.'));
}
