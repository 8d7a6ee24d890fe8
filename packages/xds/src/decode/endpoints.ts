/**
 * `envoy.config.endpoint.v3.ClusterLoadAssignment`, both as a cluster's inline `load_assignment` and as a
 * standalone EDS resource.
 */
import { isIP } from 'node:net';
import type { Endpoint, Locality } from '@xmesh/core';
import type { DiscoveryType, DropOverload, LoadAssignment, LocalityEndpoints } from '../model.js';
import { ignoreListed, Messages } from './ignored-fields.js';
import { rejectUnsupported } from './fields.js';
import { addressPathOf, decodeLbEndpoint, hostPathOf } from './lb-endpoint.js';
import { describe, type Reader } from './reader.js';

export const DEFAULT_OVERPROVISIONING_FACTOR = 140;
export const MAX_PRIORITY = 128;

export interface LoadAssignmentContext {
  /**
   * Type of the cluster that owns an inline `load_assignment`. STATIC requires IP addresses; LOGICAL_DNS exactly
   * one endpoint. Undefined for standalone EDS resources, whose addresses must be IP addresses too (Envoy
   * resolves no names for EDS endpoints). `'unknown'` for an inline assignment whose cluster type was refused:
   * no rule of a type it may not have is checked (the refused type is the only error).
   */
  readonly clusterType?: DiscoveryType | 'unknown';
}

interface DecodedLocality {
  readonly config: LocalityEndpoints;
  /** The LocalityLbEndpoints message, for reports at its `priority` and `lb_endpoints`. */
  readonly reader: Reader;
  /** Entries in lb_endpoints, decodable or not. */
  readonly lbEndpointCount: number;
  /** The lb_endpoints entry each of `config.endpoints` was decoded from, by index. */
  readonly endpointReaders: readonly Reader[];
}

export function decodeLoadAssignment(r: Reader, context: LoadAssignmentContext = {}): LoadAssignment {
  const clusterName = r.requiredStr('cluster_name');
  const endpointsPath = r.at('endpoints');
  const localities = r.objects('endpoints').map(decodeLocality);
  rejectUnsupported(r, { named_endpoints: 'give each endpoint inline' });
  const policy = decodePolicy(r.obj('policy'));
  r.finish();

  checkPriorities(r, localities);
  const unique = checkDuplicates(r, localities);
  if (r.issues.rules === 'grpc') checkGrpcLocalities(r, localities);
  if (context.clusterType === 'STATIC') checkIpLiterals(r, localities, 'in a STATIC cluster', 'use STRICT_DNS or LOGICAL_DNS for host names');
  if (context.clusterType === undefined) checkIpLiterals(r, localities, 'in an EDS resource', 'Envoy and gRPC clients resolve no names for EDS endpoints');
  if (context.clusterType === 'LOGICAL_DNS') checkSingleEndpoint(r, localities, endpointsPath);

  const assignment: LoadAssignment = { clusterName, localities: localities.map((l) => l.config), ...policy };
  if (unique) markUniqueEndpointIds(assignment);
  return assignment;
}

/** Assignments whose endpoint ids were checked to be unique (every decoded one without a duplicate error). */
const uniqueIds = new WeakSet<LoadAssignment>();

/** Records that no endpoint id appears twice in `assignment` (decoders only). */
export function markUniqueEndpointIds(assignment: LoadAssignment): void {
  uniqueIds.add(assignment);
}

/**
 * True when `assignment` was decoded and checked to list each endpoint id once: consumers that would
 * otherwise drop repeated ids (so no host gets double traffic) can take its lists as they are.
 */
export function hasUniqueEndpointIds(assignment: LoadAssignment): boolean {
  return uniqueIds.has(assignment);
}

function decodeLocality(r: Reader): DecodedLocality {
  const locality = decodeLocalityName(r.obj('locality'));
  const priority = r.int('priority', 0, 0, MAX_PRIORITY);
  const loadBalancingWeight = r.optionalUint32('load_balancing_weight', 1);
  const ctx = { locality, priority, localityWeight: loadBalancingWeight };
  const endpoints: Endpoint[] = [];
  const endpointReaders: Reader[] = [];
  const lbEndpoints = r.objects('lb_endpoints');
  for (const e of lbEndpoints) {
    const endpoint = decodeLbEndpoint(e, ctx);
    if (endpoint === undefined) continue;
    endpoints.push(endpoint);
    endpointReaders.push(e);
  }
  ignoreListed(r, Messages.LOCALITY_ENDPOINTS);
  // load_balancer_endpoints and leds_cluster_locality_config are left to finish(): not supported.
  r.finish();
  // Each endpoint is frozen already: freezing the list now spares the snapshot's deepFreeze a walk over it.
  return {
    config: { locality, priority, loadBalancingWeight, endpoints: Object.freeze(endpoints) },
    reader: r,
    lbEndpointCount: lbEndpoints.length,
    endpointReaders,
  };
}

/** Frozen: every endpoint of the locality shares it. */
function decodeLocalityName(r: Reader | undefined): Locality {
  if (!r) return Object.freeze({ region: '', zone: '', subZone: '' });
  const locality = { region: r.str('region') ?? '', zone: r.str('zone') ?? '', subZone: r.str('sub_zone') ?? '' };
  r.finish();
  return Object.freeze(locality);
}

type Policy = Pick<LoadAssignment, 'overprovisioningFactor' | 'dropOverloads' | 'endpointStaleAfterMs'>;

function decodePolicy(r: Reader | undefined): Policy {
  if (!r) return { overprovisioningFactor: DEFAULT_OVERPROVISIONING_FACTOR, dropOverloads: [], endpointStaleAfterMs: undefined };
  const dropOverloads: DropOverload[] = r.objects('drop_overloads').map((d) => {
    const drop = {
      category: d.requiredStr('category'),
      dropPercentage: d.fraction('drop_percentage') ?? { numerator: 0, denominator: 100 as const },
    };
    d.finish();
    return drop;
  });
  const policy: Policy = {
    overprovisioningFactor: r.int('overprovisioning_factor', DEFAULT_OVERPROVISIONING_FACTOR, 1),
    dropOverloads,
    endpointStaleAfterMs: r.positiveDuration('endpoint_stale_after'),
  };
  // weighted_priority_health is left to finish(): priority health is always computed from host counts.
  r.finish();
  return policy;
}

/** As Envoy: the priorities in use must be 0, 1, ... without a gap. */
function checkPriorities(r: Reader, localities: readonly DecodedLocality[]): void {
  const used = new Set(localities.map((l) => l.config.priority));
  let missing = 0;
  while (used.has(missing)) missing++;
  const beyondGap = localities.find((l) => l.config.priority > missing);
  if (beyondGap) {
    r.issues.error(beyondGap.reader.at('priority'), `priorities must be contiguous from 0, but no locality has priority ${missing}`);
  }
}

/** Endpoint ids (`host:port`) key per-endpoint state, so each may appear once per assignment. True when none repeats. */
function checkDuplicates(r: Reader, localities: readonly DecodedLocality[]): boolean {
  const ids = new Set<string>();
  let unique = true;
  for (const l of localities) {
    const endpoints = l.config.endpoints;
    for (let i = 0; i < endpoints.length; i++) {
      const id = endpoints[i]!.id;
      const before = ids.size;
      if (ids.add(id).size !== before) continue;
      const first = firstWithId(localities, id);
      r.issues.error(addressPathOf(l.endpointReaders[i]!), `duplicate endpoint ${id} (first at ${addressPathOf(first)})`);
      unique = false;
    }
  }
  return unique;
}

/** The lb_endpoints entry of the first endpoint with `id` (for reports; there is one). */
function firstWithId(localities: readonly DecodedLocality[], id: string): Reader {
  for (const l of localities) {
    const i = l.config.endpoints.findIndex((e) => e.id === id);
    if (i >= 0) return l.endpointReaders[i]!;
  }
  throw new Error(`no endpoint ${id}`);
}

/**
 * Envoy resolves no names for STATIC clusters nor for EDS endpoints. `isIP` is strict: `1.2.3` (which a
 * resolver would dial as 1.2.0.3) and `::gggg` are not addresses.
 */
function checkIpLiterals(r: Reader, localities: readonly DecodedLocality[], where: string, hint: string): void {
  for (const l of localities) {
    l.config.endpoints.forEach((endpoint, i) => {
      if (isIP(endpoint.host) === 0) {
        r.issues.error(hostPathOf(l.endpointReaders[i]!), `must be an IP address ${where}, got ${describe(endpoint.host)} (${hint})`);
      }
    });
  }
}

const UINT32_MAX = 0xffff_ffff;

/**
 * gRFC A27 (as gRPC clients validate EDS): every locality is named, no locality appears twice at one
 * priority, and a priority's locality weights sum to at most 2^32 - 1.
 */
function checkGrpcLocalities(r: Reader, localities: readonly DecodedLocality[]): void {
  const seen = new Map<string, string>();
  const weights = new Map<number, number>();
  for (const l of localities) {
    if (!l.reader.has('locality')) {
      r.issues.error(l.reader.at('locality'), 'is required by a gRPC client (gRFC A27)');
      continue;
    }
    const { locality, priority, loadBalancingWeight } = l.config;
    const key = `${priority}\0${locality.region}\0${locality.zone}\0${locality.subZone}`;
    const first = seen.get(key);
    if (first !== undefined) r.issues.error(l.reader.at('locality'), `duplicate locality at priority ${priority} (first at ${first})`);
    else seen.set(key, l.reader.at('locality'));
    weights.set(priority, (weights.get(priority) ?? 0) + (loadBalancingWeight ?? 0));
  }
  for (const [priority, total] of weights) {
    if (total > UINT32_MAX) r.issues.error(r.at('endpoints'), `the locality weights of priority ${priority} sum to ${total}, over 4294967295`);
  }
}

/** A LOGICAL_DNS cluster has exactly one locality with exactly one endpoint (Envoy rejects anything else). */
function checkSingleEndpoint(r: Reader, localities: readonly DecodedLocality[], endpointsPath: string): void {
  if (localities.length !== 1) {
    r.issues.error(endpointsPath, `a LOGICAL_DNS cluster needs exactly one locality with one endpoint, got ${localities.length} localities`);
    return;
  }
  const only = localities[0]!;
  const count = only.lbEndpointCount;
  if (count !== 1) {
    r.issues.error(only.reader.at('lb_endpoints'), `a LOGICAL_DNS cluster needs exactly one endpoint, got ${count}`);
  }
}
