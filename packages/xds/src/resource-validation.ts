/**
 * One xDS resource validated on its own, as an ADS client validates each resource of a response before
 * accepting it (per-resource ACK/NACK, gRFC A46; Envoy applies the valid resources of a response it NACKs
 * as well). Everything the snapshot decoders check inside the resource is checked here — what a resource
 * refers to (its route configuration, its clusters, its endpoints) is not: that is absence, not invalidity.
 */
import type { FieldError } from '@xmesh/core';
import type { LoadAssignment } from './model.js';
import { decodeCluster } from './decode/cluster.js';
import { decodeLoadAssignment } from './decode/endpoints.js';
import { decodeListener } from './decode/listener.js';
import { Issues, Reader, describe, type ClientRules } from './decode/reader.js';
import { decodeRouteConfig } from './decode/route.js';
import { decodeSecret } from './decode/tls-context.js';
import { TypeUrl } from './type-urls.js';
import { deepFreeze } from './freeze.js';

export interface ResourceValidationOptions {
  /**
   * Whose rules apply to the resource: a gRPC client's (`grpc`, what a gRPC-style ADS client receives)
   * or Envoy's (`envoy`, the default: a proxy's). A Listener with an `api_listener` is always read by
   * a gRPC client's rules, one with filter chains by Envoy's.
   */
  readonly rules?: ClientRules;
}

/**
 * Every problem of one resource (proto3 JSON with `@type`), with paths relative to it
 * (`virtual_hosts[0].routes[1].match`); empty when it is valid. ClusterLoadAssignments are read as EDS
 * resources (IP addresses only). A Secret's files and inline data are checked as `static_resources.secrets`
 * are; whether its kind fits the TLS context that names it is checked when the set is built.
 */
export function validateResource(resource: unknown, options: ResourceValidationOptions = {}): readonly FieldError[] {
  const issues = new Issues(options.rules ?? 'envoy');
  const r = Reader.of(resource, '', issues);
  if (!r) return issues.errors;
  const type = r.raw['@type'];
  switch (type) {
    case TypeUrl.Listener:
      decodeListener(r);
      break;
    case TypeUrl.RouteConfiguration:
      decodeRouteConfig(r);
      break;
    case TypeUrl.Cluster:
      decodeCluster(r);
      break;
    case TypeUrl.ClusterLoadAssignment:
      decodeLoadAssignment(r);
      break;
    case TypeUrl.Secret:
      decodeSecret(r);
      break;
    default:
      issues.error('@type', type === undefined ? 'is required' : `unsupported resource type ${describe(type)}`);
  }
  return issues.errors;
}

/**
 * A ClusterLoadAssignment (proto3 JSON) validated as `validateResource` validates it, with what it decodes to
 * when valid: an ADS client keeps `assignment` so that an endpoint update is decoded once, not again when the
 * clusters using it are rebuilt.
 */
export function validateLoadAssignment(resource: unknown, options: ResourceValidationOptions = {}): { readonly errors: readonly FieldError[]; readonly assignment: LoadAssignment | undefined } {
  const issues = new Issues(options.rules ?? 'envoy');
  const r = Reader.of(resource, '', issues);
  if (!r) return { errors: issues.errors, assignment: undefined };
  if (r.raw['@type'] !== TypeUrl.ClusterLoadAssignment) return { errors: validateResource(resource, options), assignment: undefined };
  const assignment = decodeLoadAssignment(r);
  return issues.errors.length > 0 ? { errors: issues.errors, assignment: undefined } : { errors: [], assignment: deepFreeze(assignment) };
}
