/**
 * Loads `resources.yaml` (what the control plane serves) and rewrites its endpoint ports to the
 * ones the replicas really listen on.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { RESOURCE_PORTS, type ReplicaInfo } from './upstreams.js';

export const RESOURCES_PATH = join(dirname(fileURLToPath(import.meta.url)), 'resources.yaml');

/** The logical name the app calls; the served listener has the same name. */
export const ECHO_SERVICE = 'echo.demo.svc';

export interface DemoResources {
  /** Proto3-JSON resources with `@type`, ports replaced. */
  readonly resources: Record<string, unknown>[];
  /** `name@127.0.0.1:<port>` server label prefix → cluster, e.g. `replica-3` → `echo-canary`. */
  readonly clusterOfReplica: ReadonlyMap<string, string>;
}

interface SocketAddress {
  port_value?: number;
}

export function loadDemoResources(replicas: readonly ReplicaInfo[], path = RESOURCES_PATH): DemoResources {
  const resources = parse(readFileSync(path, 'utf8')) as Record<string, unknown>[];
  const byPort = new Map<number, ReplicaInfo>();
  RESOURCE_PORTS.forEach((port, i) => {
    const replica = replicas[i];
    if (replica) byPort.set(port, replica);
  });
  const clusterOfReplica = new Map<string, string>();
  for (const resource of resources) {
    if (!String(resource['@type']).endsWith('.ClusterLoadAssignment')) continue;
    const cluster = String(resource['cluster_name']);
    for (const socket of socketAddresses(resource)) {
      const replica = socket.port_value === undefined ? undefined : byPort.get(socket.port_value);
      if (!replica) throw new Error(`${path}: ${cluster} lists port ${socket.port_value}, which no replica serves`);
      socket.port_value = replica.port;
      clusterOfReplica.set(replica.name, cluster);
    }
  }
  return { resources, clusterOfReplica };
}

function socketAddresses(assignment: Record<string, unknown>): SocketAddress[] {
  const localities = (assignment['endpoints'] ?? []) as { lb_endpoints?: { endpoint?: { address?: { socket_address?: SocketAddress } } }[] }[];
  return localities.flatMap((l) => (l.lb_endpoints ?? []).flatMap((e) => (e.endpoint?.address?.socket_address ? [e.endpoint.address.socket_address] : [])));
}
