/**
 * A cluster's load-balancing choice: `lb_policy` and the `lb_config` oneof (least_request, ring_hash, maglev,
 * round_robin), with Envoy's defaults and limits (cluster.proto).
 */
import type { ClusterConfig } from '../model.js';
import { deepFreeze } from '../freeze.js';
import { ignoreListed, Messages } from './ignored-fields.js';
import { oneOf } from './fields.js';
import { describe, protoEnumName, type Reader } from './reader.js';

export type EnvoyLbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV';

const LB_POLICIES: Readonly<Record<number, EnvoyLbPolicy>> = {
  0: 'ROUND_ROBIN',
  1: 'LEAST_REQUEST',
  2: 'RING_HASH',
  3: 'RANDOM',
  5: 'MAGLEV',
};
const UNSUPPORTED_LB_POLICIES: Readonly<Record<number, string>> = { 6: 'CLUSTER_PROVIDED', 7: 'LOAD_BALANCING_POLICY_CONFIG' };
/** `Cluster.LbPolicy`, every member. */
const ALL_LB_POLICIES: Readonly<Record<number, string>> = { ...LB_POLICIES, ...UNSUPPORTED_LB_POLICIES };

export const RING_SIZE_LIMIT = 8_388_608;
export const MAGLEV_TABLE_SIZE_LIMIT = 5_000_011;

export const DEFAULT_LB = deepFreeze({
  choiceCount: 2,
  activeRequestBias: 1.0,
  ringHash: { minimumRingSize: 1024, maximumRingSize: RING_SIZE_LIMIT, hashFunction: 'XX_HASH' },
  maglev: { tableSize: 65_537 },
} as const satisfies Pick<ClusterConfig, 'choiceCount' | 'activeRequestBias' | 'ringHash' | 'maglev'>);

export type LbSettings = Pick<ClusterConfig, 'choiceCount' | 'activeRequestBias' | 'ringHash' | 'maglev'> & {
  readonly envoyLbPolicy: EnvoyLbPolicy;
};

const LB_CONFIG_ONEOF = ['ring_hash_lb_config', 'maglev_lb_config', 'least_request_lb_config', 'round_robin_lb_config'];

/** Reads `lb_policy` and the lb_config oneof from the Cluster reader `r`. */
export function decodeLbSettings(r: Reader): LbSettings {
  const envoyLbPolicy = decodeLbPolicy(r);
  oneOf(r, LB_CONFIG_ONEOF);

  const leastRequest = decodeLeastRequest(r.obj('least_request_lb_config'));
  const roundRobin = r.obj('round_robin_lb_config');
  // Its only field, slow_start_config, is unsupported: finish() reports it.
  roundRobin?.finish();
  return {
    envoyLbPolicy,
    ...leastRequest,
    ringHash: decodeRingHash(r.obj('ring_hash_lb_config')),
    maglev: decodeMaglev(r.obj('maglev_lb_config')),
  };
}

function decodeLbPolicy(r: Reader): EnvoyLbPolicy {
  const v = r.get('lb_policy');
  if (v === undefined) return 'ROUND_ROBIN';
  const name = protoEnumName(v, ALL_LB_POLICIES);
  if (name !== undefined && Object.values(LB_POLICIES).includes(name as EnvoyLbPolicy)) return name as EnvoyLbPolicy;
  if (name !== undefined) {
    r.error('lb_policy', `${name} is not supported; use one of ${Object.values(LB_POLICIES).join(', ')}`);
  } else {
    r.error('lb_policy', `must be one of ${Object.values(LB_POLICIES).join(', ')}, got ${describe(v)}`);
  }
  return 'ROUND_ROBIN';
}

function decodeLeastRequest(r: Reader | undefined): Pick<LbSettings, 'choiceCount' | 'activeRequestBias'> {
  if (!r) return { choiceCount: DEFAULT_LB.choiceCount, activeRequestBias: DEFAULT_LB.activeRequestBias };
  const choiceCount = r.int('choice_count', DEFAULT_LB.choiceCount, 2);
  let activeRequestBias: number = DEFAULT_LB.activeRequestBias;
  const bias = r.obj('active_request_bias');
  if (bias) {
    activeRequestBias = bias.num('default_value', 0, 0);
    ignoreListed(bias, Messages.RUNTIME_DOUBLE);
    bias.finish();
  }
  // slow_start_config is unsupported: finish() reports it.
  r.finish();
  return { choiceCount, activeRequestBias };
}

function decodeRingHash(r: Reader | undefined): LbSettings['ringHash'] {
  if (!r) return DEFAULT_LB.ringHash;
  const d = DEFAULT_LB.ringHash;
  const minimumRingSize = r.int('minimum_ring_size', d.minimumRingSize, 1, RING_SIZE_LIMIT, 'a uint64');
  const maximumRingSize = r.int('maximum_ring_size', d.maximumRingSize, 1, RING_SIZE_LIMIT, 'a uint64');
  if (minimumRingSize > maximumRingSize) {
    r.error('minimum_ring_size', `must not exceed maximum_ring_size (${minimumRingSize} > ${maximumRingSize})`);
  }
  const hashFunction = r.enumOf('hash_function', ['XX_HASH', 'MURMUR_HASH_2'] as const, d.hashFunction, {
    0: 'XX_HASH',
    1: 'MURMUR_HASH_2',
  });
  r.finish();
  return { minimumRingSize, maximumRingSize, hashFunction };
}

function decodeMaglev(r: Reader | undefined): LbSettings['maglev'] {
  if (!r) return DEFAULT_LB.maglev;
  const tableSize = r.int('table_size', DEFAULT_LB.maglev.tableSize, 1, MAGLEV_TABLE_SIZE_LIMIT, 'a uint64');
  if (!isPrime(tableSize)) r.error('table_size', `must be a prime number, got ${tableSize}`);
  r.finish();
  return { tableSize };
}

export function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}
