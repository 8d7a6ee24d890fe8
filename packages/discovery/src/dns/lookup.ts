import { promises as dns } from 'node:dns';
import type { DnsLookupFamily } from '../endpoint-source.js';

export interface LookupAnswer {
  readonly address: string;
  readonly family: number;
}

/**
 * Envoy's `dns_lookup_family` applied to an answer: V4_ONLY / V6_ONLY keep one family; AUTO
 * prefers IPv6 and falls back to IPv4; V4_PREFERRED prefers IPv4 and falls back to IPv6; ALL keeps both.
 */
export function selectFamily(answers: readonly LookupAnswer[], family: DnsLookupFamily): string[] {
  const v4 = answers.filter((a) => a.family === 4).map((a) => a.address);
  const v6 = answers.filter((a) => a.family === 6).map((a) => a.address);
  switch (family) {
    case 'V4_ONLY':
      return v4;
    case 'V6_ONLY':
      return v6;
    case 'AUTO':
      return v6.length > 0 ? v6 : v4;
    case 'V4_PREFERRED':
      return v4.length > 0 ? v4 : v6;
    case 'ALL':
      return answers.map((a) => a.address);
  }
}

/** The default resolver: the system resolver (`getaddrinfo`, honours /etc/hosts), all addresses. */
export async function lookupHost(host: string, family: DnsLookupFamily): Promise<string[]> {
  const only = family === 'V4_ONLY' ? 4 : family === 'V6_ONLY' ? 6 : 0;
  const answers = await dns.lookup(host, { all: true, family: only, verbatim: true });
  return selectFamily(answers, family);
}
