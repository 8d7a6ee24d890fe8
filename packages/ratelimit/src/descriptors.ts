/**
 * Descriptors from a route's (else its virtual host's) `rate_limits`, as Envoy builds them:
 * each `rate_limits` entry yields one descriptor whose entries come from its actions in order;
 * an action that cannot produce its entry drops the whole descriptor, except `request_headers`
 * with `skip_if_absent`, which drops only its entry.
 */
import type { HeaderSource } from '@xmesh/router';
import { compileHeaderMatchers, headerValue } from '@xmesh/router';
import type { RateLimit, RateLimitAction } from '@xmesh/xds';

export interface DescriptorEntry {
  readonly key: string;
  readonly value: string;
}

export type Descriptor = readonly DescriptorEntry[];

/** What the actions read. */
export interface DescriptorInput {
  readonly request: HeaderSource;
  /** Downstream peer address, for `remote_address`. */
  readonly remoteAddress: string | undefined;
  /** The routed cluster, for `destination_cluster`. */
  readonly cluster: string;
  /** The local service cluster, for `source_cluster`; undefined drops such descriptors. */
  readonly sourceCluster?: string | undefined;
}

/** Produces the request's descriptors; allocation-free (a shared empty list) when there are none. */
export type DescriptorBuilder = (input: DescriptorInput) => readonly Descriptor[];

const NONE: readonly Descriptor[] = Object.freeze([]);

/** Entry producer: an entry, `null` to drop the descriptor, `undefined` to skip just this entry. */
type ActionEval = (input: DescriptorInput) => DescriptorEntry | null | undefined;

export function compileDescriptors(rateLimits: readonly RateLimit[], stage: number, where: string): DescriptorBuilder {
  const policies = rateLimits
    .map((limit, i) => ({ limit, i }))
    .filter(({ limit }) => limit.stage === stage)
    .map(({ limit, i }) => limit.actions.map((a, j) => compileAction(a, `${where}[${i}].actions[${j}]`)));
  if (policies.length === 0) return () => NONE;
  return (input) => {
    let out: Descriptor[] | undefined;
    for (const actions of policies) {
      const entries: DescriptorEntry[] = [];
      let dropped = false;
      for (const action of actions) {
        const entry = action(input);
        if (entry === null) {
          dropped = true;
          break;
        }
        if (entry !== undefined) entries.push(entry);
      }
      if (dropped || entries.length === 0) continue;
      (out ??= []).push(entries);
    }
    return out ?? NONE;
  };
}

function compileAction(action: RateLimitAction, where: string): ActionEval {
  switch (action.kind) {
    case 'request_headers': {
      const { headerName, descriptorKey, skipIfAbsent } = action;
      return (input) => {
        const value = headerValue(input.request, headerName);
        if (value === undefined) return skipIfAbsent ? undefined : null;
        return { key: descriptorKey, value };
      };
    }
    case 'remote_address':
      return (input) => (input.remoteAddress ? { key: 'remote_address', value: input.remoteAddress } : null);
    case 'generic_key': {
      const entry = Object.freeze({ key: action.descriptorKey || 'generic_key', value: action.descriptorValue });
      return () => entry;
    }
    case 'header_value_match': {
      const matches = compileHeaderMatchers(action.headers, `${where}.headers`);
      const entry = Object.freeze({ key: action.descriptorKey || 'header_match', value: action.descriptorValue });
      const expect = action.expectMatch;
      return (input) => (matches(input.request) === expect ? entry : null);
    }
    case 'destination_cluster':
      return (input) => ({ key: 'destination_cluster', value: input.cluster });
    case 'source_cluster':
      return (input) => (input.sourceCluster ? { key: 'source_cluster', value: input.sourceCluster } : null);
  }
}
