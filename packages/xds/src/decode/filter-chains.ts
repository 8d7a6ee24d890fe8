/**
 * A listener's filter chains (`filter_chains[]`, `default_filter_chain`), each with its `filter_chain_match`, its
 * transport socket (a DownstreamTlsContext, or none), and the network filter that serves its connections: an
 * HttpConnectionManager (its own routes and HTTP filters) or tcp_proxy. A connection takes the chain Envoy's
 * filter chain manager picks (selectFilterChain). As in Envoy, two chains may not match the same connections
 * (the same values at every level). Every FilterChainMatch field is implemented except `address_suffix` /
 * `suffix_len` (Envoy does not implement them either).
 */
import type { CidrRange, DownstreamProtection, ListenerConfig, RouteConfig } from '../model.js';
import type { FilterChainMatchConfig, ListenerFilterChain, TcpProxyConfig } from '../filter-model.js';
import { TypeUrl } from '../type-urls.js';
import { readCidrRange } from './cidr.js';
import { describeType, ignoreAll, rejectUnsupported } from './fields.js';
import { decodeHcm, type HcmContext } from './hcm.js';
import { Reader } from './reader.js';
import { decodeTcpProxy } from './tcp-proxy.js';
import { decodeTransportSocket } from './transport-socket.js';

/** A bound on a TLS handshake when the chain sets no `transport_socket_connect_timeout` (Envoy's listener_filters_timeout). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 15_000;

/** FilterChain fields xmesh reads but does not act on, with the reason. */
export const FILTER_CHAIN_IGNORED: Readonly<Record<string, string>> = {
  metadata: 'metadata is not used',
};

/** FilterChainMatch fields ignored: Envoy does not implement them either. */
export const FILTER_CHAIN_MATCH_IGNORED: Readonly<Record<string, string>> = {
  address_suffix: 'not implemented by Envoy either (not-implemented-hide)',
  suffix_len: 'not implemented by Envoy either (not-implemented-hide)',
};

const HCM_FILTER = 'envoy.filters.network.http_connection_manager';
const TCP_PROXY_FILTER = 'envoy.filters.network.tcp_proxy';
const TRANSPORT_PROTOCOLS = ['', 'tls', 'raw_buffer'] as const;
const SOURCE_TYPES = ['ANY', 'SAME_IP_OR_LOOPBACK', 'EXTERNAL'] as const;
/** Match combinations compared for duplicates; a listener with more is refused rather than checked slowly. */
const MAX_MATCH_COMBINATIONS = 100_000;

export interface DecodedChains {
  readonly chains: readonly ListenerFilterChain[];
  /** The inline route configurations of the chains' HCMs, by chain name. */
  readonly inlineRoutes: ReadonlyMap<string, RouteConfig>;
  /** Each chain's path in the input, by chain name. */
  readonly paths: ReadonlyMap<string, string>;
}

/** Decodes the chains of listener `r`; `context` is the listener's (each HCM gets `<listener>/<chain>` as its name). */
export function decodeFilterChains(r: Reader, context: HcmContext): DecodedChains {
  const readers = r.objects('filter_chains').map((reader, i) => ({ reader, isDefault: false, fallbackName: `filter_chains[${i}]` }));
  const fallback = r.obj('default_filter_chain');
  if (fallback) readers.push({ reader: fallback, isDefault: true, fallbackName: 'default_filter_chain' });
  const chains: ListenerFilterChain[] = [];
  const inlineRoutes = new Map<string, RouteConfig>();
  const paths = new Map<string, string>();
  for (const { reader, isDefault, fallbackName } of readers) {
    const name = reader.str('name') || fallbackName;
    if (paths.has(name)) reader.error('name', `duplicate filter chain name "${name}"`);
    paths.set(name, reader.path);
    const match = isDefault ? NO_MATCH : decodeMatch(reader.obj('filter_chain_match'));
    if (isDefault && reader.has('filter_chain_match')) reader.error('filter_chain_match', 'is not allowed on the default filter chain');
    const tls = decodeTransportSocket(reader.obj('transport_socket'), 'downstream');
    const handshakeTimeoutMs = reader.positiveDuration('transport_socket_connect_timeout') ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    const network = decodeNetworkFilters(reader, { ...context, name: `${context.name}/${name}` });
    rejectUnsupported(reader, {
      use_proxy_proto: 'the PROXY protocol is not implemented',
      on_demand_configuration: 'on-demand filter chains are not implemented',
    });
    ignoreAll(reader, FILTER_CHAIN_IGNORED);
    reader.finish();
    if (match.transportProtocol === 'raw_buffer' && tls !== undefined) reader.error('transport_socket', 'a chain matching transport_protocol raw_buffer cannot terminate TLS');
    if (network === undefined) continue;
    if (network.kind === 'http' && tls === undefined && match.transportProtocol === 'tls') {
      reader.error('filter_chain_match', 'transport_protocol tls needs a TLS transport_socket on an HttpConnectionManager chain (TLS passthrough needs tcp_proxy)');
    }
    if (network.kind === 'http' && network.inlineRoutes !== undefined) inlineRoutes.set(name, network.inlineRoutes);
    chains.push({
      name, isDefault, match, tls, handshakeTimeoutMs,
      network: network.kind === 'http' ? { kind: 'http', listener: network.listener } : { kind: 'tcp_proxy', tcpProxy: network.tcpProxy },
    });
  }
  if (readers.length === 0) r.error('filter_chains', 'a listener needs a filter chain (filter_chains or default_filter_chain), got none');
  checkDuplicates(r, chains);
  return { chains, inlineRoutes, paths };
}

/** The chains' HCMs must protect the listener's connections alike: the sidecar applies one set of downstream protections per listener. */
export function checkSameProtection(r: Reader, decoded: DecodedChains, main: DownstreamProtection): void {
  for (const chain of decoded.chains) {
    if (chain.network.kind !== 'http' || JSON.stringify(chain.network.listener.protection) === JSON.stringify(main)) continue;
    r.issues.error(decoded.paths.get(chain.name) ?? r.path, `its ${HCM_FILTER} must set the same downstream protections (timeouts, header limits, HTTP/1.1 and HTTP/2 options) as the listener's main chain: the sidecar applies one set per listener`);
  }
}

type Network =
  | { kind: 'http'; listener: ListenerConfig; inlineRoutes: RouteConfig | undefined }
  | { kind: 'tcp_proxy'; tcpProxy: TcpProxyConfig };

/** The chain's one terminal network filter (errors recorded); undefined when it has none that could be read. */
function decodeNetworkFilters(chain: Reader, context: HcmContext): Network | undefined {
  const filters = chain.objects('filters');
  if (filters.length === 0) {
    chain.error('filters', `must contain the ${HCM_FILTER} or ${TCP_PROXY_FILTER} network filter`);
    return undefined;
  }
  let found: Network | undefined;
  for (const f of filters) {
    const filterName = f.requiredStr('name');
    let any = f.obj('typed_config');
    rejectUnsupported(f, { config_discovery: 'filter configs must be given inline in typed_config' });
    f.finish();
    if (!any) {
      // Without typed_config Envoy finds the filter by its name and configures it with defaults
      // (RegistryUtils::getAndCheckFactory, source/common/config/registry_utils.h).
      if (filterName === HCM_FILTER) any = Reader.of({ '@type': TypeUrl.HttpConnectionManager }, `${f.path}.typed_config`, f.issues);
      else if (filterName === TCP_PROXY_FILTER) any = Reader.of({ '@type': TypeUrl.TcpProxy }, `${f.path}.typed_config`, f.issues);
      else {
        if (!f.has('config_discovery') && filterName !== '') f.error('name', `unsupported network filter "${filterName}": only ${HCM_FILTER} and ${TCP_PROXY_FILTER} are supported`);
        continue;
      }
    }
    if (!any) continue;
    const type = any.raw['@type'];
    let network: Network | undefined;
    if (type === TypeUrl.HttpConnectionManager) {
      network = { kind: 'http', ...decodeHcm(any, context) };
    } else if (type === TypeUrl.TcpProxy) {
      network = { kind: 'tcp_proxy', tcpProxy: decodeTcpProxy(any) };
    } else {
      any.issues.error(any.at('@type'), type === undefined ? 'is required' : `unsupported network filter "${filterName}" type ${describeType(type)}: only ${HCM_FILTER} and ${TCP_PROXY_FILTER} are supported`);
      continue;
    }
    if (found !== undefined) f.error('typed_config', `a filter chain takes one terminal network filter (${HCM_FILTER} or ${TCP_PROXY_FILTER})`);
    else found = network;
  }
  return found;
}

const NO_MATCH: FilterChainMatchConfig = Object.freeze({
  destinationPort: undefined, prefixRanges: [], serverNames: [], transportProtocol: '', applicationProtocols: [], directSourcePrefixRanges: [],
  sourceType: 'ANY', sourcePrefixRanges: [], sourcePorts: [],
});

function decodeMatch(m: Reader | undefined): FilterChainMatchConfig {
  if (!m) return NO_MATCH;
  const destinationPort = m.optionalUint32('destination_port', 1, 65_535);
  const ranges = (key: string): CidrRange[] => m.objects(key).map(readCidrRange).filter((c): c is CidrRange => c !== undefined);
  const prefixRanges = ranges('prefix_ranges');
  const serverNames = m.strings('server_names').map((n) => n.toLowerCase());
  serverNames.forEach((n, i) => {
    if (n.includes('*') && !(n.startsWith('*.') && !n.slice(1).includes('*'))) m.issues.error(`${m.at('server_names')}[${i}]`, `"${n}": only a leading "*." wildcard is allowed`);
  });
  const transportProtocol = m.enumOf('transport_protocol', TRANSPORT_PROTOCOLS, '');
  const applicationProtocols = m.strings('application_protocols');
  const directSourcePrefixRanges = ranges('direct_source_prefix_ranges');
  const sourceType = m.enumOf('source_type', SOURCE_TYPES, 'ANY', { 0: 'ANY', 1: 'SAME_IP_OR_LOOPBACK', 2: 'EXTERNAL' });
  const sourcePrefixRanges = ranges('source_prefix_ranges');
  const sourcePorts = m.list('source_ports').map(({ value, path }) => {
    const port = typeof value === 'string' ? Number(value) : value;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) {
      m.issues.error(path, 'must be a port (1..65535)');
      return 0;
    }
    return port;
  });
  ignoreAll(m, FILTER_CHAIN_MATCH_IGNORED);
  m.finish();
  return { destinationPort, prefixRanges, serverNames, transportProtocol, applicationProtocols, directSourcePrefixRanges, sourceType, sourcePrefixRanges, sourcePorts };
}

/** Envoy refuses "multiple filter chains with the same matching rules": two chains sharing a value at every level. */
function checkDuplicates(r: Reader, chains: readonly ListenerFilterChain[]): void {
  const seen = new Map<string, string>();
  let count = 0;
  for (const chain of chains) {
    if (chain.isDefault) continue;
    const m = chain.match;
    const levels: string[][] = [
      [String(m.destinationPort ?? 0)],
      orAny(m.prefixRanges.map(cidrKey)),
      orAny(m.serverNames),
      [m.transportProtocol],
      orAny(m.applicationProtocols),
      orAny(m.directSourcePrefixRanges.map(cidrKey)),
      [m.sourceType],
      orAny(m.sourcePrefixRanges.map(cidrKey)),
      orAny(m.sourcePorts.map(String)),
    ];
    count += levels.reduce((n, l) => n * l.length, 1);
    if (count > MAX_MATCH_COMBINATIONS) {
      r.error('filter_chains', `the chains' matches expand to more than ${MAX_MATCH_COMBINATIONS} combinations`);
      return;
    }
    for (const key of combinations(levels)) {
      const prior = seen.get(key);
      if (prior !== undefined && prior !== chain.name) {
        r.error('filter_chains', `multiple filter chains with the same matching rules: "${prior}" and "${chain.name}" both match ${describeCombination(key)}`);
        return;
      }
      seen.set(key, chain.name);
    }
  }
}

function orAny(values: readonly string[]): string[] {
  return values.length === 0 ? [''] : [...new Set(values)];
}

function cidrKey(c: CidrRange): string {
  return `${c.addressPrefix}/${c.prefixLen}`;
}

function* combinations(levels: readonly (readonly string[])[], prefix = ''): Generator<string> {
  if (levels.length === 0) {
    yield prefix;
    return;
  }
  for (const value of levels[0]!) yield* combinations(levels.slice(1), `${prefix}\u0000${value}`);
}

function describeCombination(key: string): string {
  const [, port, dest, sni, transport, alpn, directSource, sourceType, source, sourcePort] = key.split('\u0000');
  const parts = [
    port !== '0' && `destination_port ${port}`, dest !== '' && `prefix_range ${dest}`, sni !== '' && `server_name ${sni}`,
    transport !== '' && `transport_protocol ${transport}`, alpn !== '' && `application_protocol ${alpn}`, directSource !== '' && `direct_source ${directSource}`,
    sourceType !== 'ANY' && `source_type ${sourceType}`, source !== '' && `source ${source}`, sourcePort !== '' && `source_port ${sourcePort}`,
  ].filter(Boolean);
  return parts.length === 0 ? 'every connection' : parts.join(', ');
}
