/**
 * A listener's filter chains (`filter_chains[]`, `default_filter_chain`) as xmesh serves them: one route table per
 * listener, so every chain must carry the same HttpConnectionManager; chains differ only in how connections are
 * secured, chosen by `filter_chain_match.transport_protocol` (`tls` for connections that open with a TLS
 * ClientHello, `raw_buffer` for the others, as Envoy's tls_inspector sets it). The default chain takes the
 * protocol no other chain claims.
 */
import type { DownstreamChains } from '../model.js';
import type { DownstreamTlsConfig } from '../tls-model.js';
import type { Reader } from './reader.js';
import { decodeTransportSocket } from './transport-socket.js';

/** A bound on a TLS handshake when the chain sets no `transport_socket_connect_timeout` (Envoy's listener_filters_timeout). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 15_000;

const TRANSPORT_PROTOCOLS = ['', 'tls', 'raw_buffer'] as const;
type TransportProtocol = (typeof TRANSPORT_PROTOCOLS)[number];

const LONE_CHAIN = 'a lone filter chain takes every connection; with several chains this field is refused (only transport_protocol tells them apart)';

/** FilterChainMatch fields other than transport_protocol, ignored on a lone chain (and refused when there are several). */
export const FILTER_CHAIN_MATCH_IGNORED: Readonly<Record<string, string>> = Object.fromEntries(
  ['destination_port', 'prefix_ranges', 'address_suffix', 'suffix_len', 'direct_source_prefix_ranges', 'source_type',
    'source_prefix_ranges', 'source_ports', 'server_names', 'application_protocols'].map((f) => [f, LONE_CHAIN]),
);

export interface DecodedChain {
  readonly reader: Reader;
  readonly isDefault: boolean;
}

/** The chains of listener `r`: `filter_chains[]`, then `default_filter_chain`. */
export function filterChainsOf(r: Reader): DecodedChain[] {
  const chains = r.objects('filter_chains').map((reader) => ({ reader, isDefault: false }));
  const fallback = r.obj('default_filter_chain');
  if (fallback) chains.push({ reader: fallback, isDefault: true });
  return chains;
}

/**
 * Reads each chain's `filter_chain_match`, `transport_socket` and `transport_socket_connect_timeout`, and what the
 * listener accepts. Undefined when every chain is plaintext and claims no protocol (the listener as before TLS).
 */
export function decodeDownstream(r: Reader, chains: readonly DecodedChain[]): DownstreamChains | undefined {
  let tls: { config: DownstreamTlsConfig; timeoutMs: number } | undefined;
  let plaintext = false;
  let claimedTls = false;
  let claimedRaw = false;
  let fallback: { tls: DownstreamTlsConfig | undefined; timeoutMs: number } | undefined;
  let anyProtocol = false;
  const protocols = chains.map(({ reader }) => decodeMatch(reader, chains.length));
  const explicit = chains.filter((c) => !c.isDefault).length;
  const ambiguous = explicit > 1 && chains.some((c, i) => !c.isDefault && protocols[i] === '');
  if (ambiguous) r.error('filter_chains', 'with several filter chains, each needs filter_chain_match.transport_protocol (tls or raw_buffer)');
  for (const [i, { reader: chain, isDefault }] of chains.entries()) {
    const protocol = protocols[i]!;
    const context = decodeTransportSocket(chain.obj('transport_socket'), 'downstream');
    const timeoutMs = chain.positiveDuration('transport_socket_connect_timeout') ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    if (protocol !== '') anyProtocol = true;
    if (isDefault) {
      fallback = { tls: context, timeoutMs };
      continue;
    }
    if (protocol === 'raw_buffer' && context) {
      chain.error('transport_socket', 'a chain matching transport_protocol raw_buffer cannot terminate TLS');
      continue;
    }
    if (protocol === 'tls' && !context) {
      chain.error('filter_chain_match', 'transport_protocol tls needs a TLS transport_socket here (TLS passthrough is not supported)');
      continue;
    }
    if (context !== undefined) {
      if (claimedTls && !ambiguous) chain.error('filter_chain_match', 'another filter chain already takes TLS connections');
      claimedTls = true;
      tls = { config: context, timeoutMs };
      // A TLS chain that does not say transport_protocol takes every connection: plaintext ones fail its handshake.
      if (protocol === '') claimedRaw = true;
    } else {
      if (claimedRaw && !ambiguous) chain.error('filter_chain_match', 'another filter chain already takes plaintext connections');
      claimedRaw = true;
      plaintext = true;
      if (protocol === '') claimedTls = true;
    }
  }
  if (fallback) {
    if (!claimedTls && fallback.tls) tls = { config: fallback.tls, timeoutMs: fallback.timeoutMs };
    if (!claimedRaw && !fallback.tls) plaintext = true;
  }
  if (tls === undefined && plaintext && !anyProtocol) return undefined;
  if (tls === undefined && !plaintext) r.error('filter_chains', 'no filter chain accepts any connection');
  return { tls: tls?.config, plaintext, handshakeTimeoutMs: tls?.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS };
}

/** `filter_chain_match.transport_protocol`; other match fields are ignored for a lone chain and refused otherwise. */
function decodeMatch(chain: Reader, chainCount: number): TransportProtocol {
  const match = chain.obj('filter_chain_match');
  if (!match) return '';
  const protocol = match.enumOf('transport_protocol', TRANSPORT_PROTOCOLS, '');
  for (const field of Object.keys(FILTER_CHAIN_MATCH_IGNORED)) {
    if (!match.has(field)) continue;
    if (chainCount > 1) match.error(field, 'is not supported: filter chains are told apart by transport_protocol only');
    else match.ignore(field);
  }
  match.finish();
  return protocol;
}
