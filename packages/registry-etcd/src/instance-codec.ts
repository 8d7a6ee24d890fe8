/**
 * The registry's data layout in etcd, one key per instance:
 *
 *     <prefix><service>/<instance id>  →  {"address":"10.0.0.7","port":50051,"weight":1,"zone":"eu-1a",
 *                                          "healthy":true,"metadata":{"version":"v2"}}
 *
 * `prefix` defaults to `/xmesh/services/`; the key is held by the registering process's lease. Values
 * are read as hostile input: a value that is not such an object (or is too large) is skipped.
 */
import { isIP } from 'node:net';
import type { RegistryInstance } from '@xmesh/discovery';

export const DEFAULT_PREFIX = '/xmesh/services/';
/** Larger values are skipped: a registry entry is a few hundred bytes. */
export const MAX_VALUE_BYTES = 16 * 1024;
const MAX_METADATA_ENTRIES = 64;
const MAX_LABEL_LENGTH = 256;
const MAX_WEIGHT = 1_000_000;
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** What a server registers (id excluded: it is the key's last segment). */
export type InstanceValue = Omit<RegistryInstance, 'id'>;

export function serviceKeyPrefix(prefix: string, service: string): string {
  return `${prefix}${service}/`;
}

export function instanceKey(prefix: string, service: string, id: string): string {
  return `${serviceKeyPrefix(prefix, service)}${id}`;
}

/** A service name or instance id usable as one key segment: 1–253 characters, no "/", no control characters. */
export function checkSegment(what: string, value: string): string | undefined {
  if (typeof value !== 'string' || value === '' || value.length > 253) return `${what} must be 1 to 253 characters, got ${JSON.stringify(value)}`;
  // eslint-disable-next-line no-control-regex
  if (/[/\u0000-\u001f\u007f]/.test(value)) return `${what} must not contain "/" or control characters, got ${JSON.stringify(value)}`;
  return undefined;
}

/** The (service, id) a key names under `prefix`, or undefined when it is not an instance key. */
export function parseKey(prefix: string, key: string): { readonly service: string; readonly id: string } | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  const service = rest.slice(0, slash);
  const id = rest.slice(slash + 1);
  return checkSegment('', service) === undefined && checkSegment('', id) === undefined ? { service, id } : undefined;
}

export function encodeInstance(value: InstanceValue): string {
  return JSON.stringify({
    address: value.address,
    port: value.port,
    weight: value.weight,
    zone: value.zone,
    healthy: value.healthy,
    metadata: value.metadata,
  });
}

/** Problems with what a server is about to register; empty when it is fine. */
export function checkInstance(value: InstanceValue): string[] {
  const problems: string[] = [];
  if (typeof value.address !== 'string' || (isIP(value.address) === 0 && !HOST_NAME.test(value.address))) problems.push(`address must be an IP address or host name, got ${JSON.stringify(value.address)}`);
  if (!Number.isInteger(value.port) || value.port < 1 || value.port > 65_535) problems.push(`port must be an integer from 1 to 65535, got ${String(value.port)}`);
  if (!Number.isInteger(value.weight) || value.weight < 1 || value.weight > MAX_WEIGHT) problems.push(`weight must be an integer from 1 to ${MAX_WEIGHT}, got ${String(value.weight)}`);
  if (typeof value.zone !== 'string' || value.zone.length > MAX_LABEL_LENGTH) problems.push(`zone must be a string of at most ${MAX_LABEL_LENGTH} characters`);
  if (typeof value.healthy !== 'boolean') problems.push('healthy must be true or false');
  const metadata = value.metadata;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) problems.push('metadata must be an object of strings');
  else {
    const entries = Object.entries(metadata);
    if (entries.length > MAX_METADATA_ENTRIES) problems.push(`metadata may have at most ${MAX_METADATA_ENTRIES} entries`);
    for (const [k, v] of entries) {
      if (k.length > MAX_LABEL_LENGTH || typeof v !== 'string' || v.length > MAX_LABEL_LENGTH) {
        problems.push(`metadata "${k.slice(0, 40)}" must be a string of at most ${MAX_LABEL_LENGTH} characters, with a key as long at most`);
        break;
      }
    }
  }
  return problems;
}

/** Parses a stored value; undefined (with the reason) when it is not a valid instance. */
export function decodeInstance(id: string, bytes: Buffer): { instance: RegistryInstance } | { problem: string } {
  if (bytes.length > MAX_VALUE_BYTES) return { problem: `value of ${bytes.length} bytes (more than ${MAX_VALUE_BYTES})` };
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { problem: 'value is not JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { problem: 'value is not a JSON object' };
  const r = raw as Record<string, unknown>;
  const metadata: Record<string, string> = Object.create(null) as Record<string, string>;
  if (r['metadata'] !== undefined) {
    if (typeof r['metadata'] !== 'object' || r['metadata'] === null || Array.isArray(r['metadata'])) return { problem: 'metadata is not an object' };
    for (const [k, v] of Object.entries(r['metadata'] as Record<string, unknown>)) metadata[k] = v as string;
  }
  const value: InstanceValue = {
    address: r['address'] as string,
    port: r['port'] as number,
    weight: r['weight'] === undefined ? 1 : (r['weight'] as number),
    zone: r['zone'] === undefined ? '' : (r['zone'] as string),
    healthy: r['healthy'] === undefined ? true : (r['healthy'] as boolean),
    metadata: Object.freeze({ ...metadata }),
  };
  const problems = checkInstance(value);
  if (problems.length > 0) return { problem: problems.join('; ') };
  return { instance: Object.freeze({ id, ...value }) };
}
