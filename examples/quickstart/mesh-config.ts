/**
 * Loads `mesh.yaml` and rewrites its endpoint ports to the ones the servers really listen on,
 * so the file keeps realistic fixed ports while the demo runs on free ones.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { DEFAULT_PORTS, type QuickstartServers } from './servers.js';

/** Absolute path of `mesh.yaml`, from the sources or from `dist/`. */
export function meshYamlPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const found = [join(here, 'mesh.yaml'), join(here, '..', 'mesh.yaml')].find((p) => existsSync(p));
  if (found === undefined) throw new Error(`mesh.yaml not found near ${here}`);
  return found;
}

export interface QuickstartConfig {
  /** The Envoy bootstrap as parsed JSON, ports replaced. */
  readonly bootstrap: Record<string, unknown>;
  /** `127.0.0.1:<port>` → the cluster whose load_assignment lists it. */
  readonly clusterOf: ReadonlyMap<string, string>;
}

interface SocketAddress {
  address?: string;
  port_value?: number;
}

/** Reads `mesh.yaml` and maps each default port to the matching server's real port. */
export function loadQuickstartConfig(servers: QuickstartServers, path = meshYamlPath()): QuickstartConfig {
  const bootstrap = parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const portMap = new Map<number, number>();
  DEFAULT_PORTS.echo.forEach((port, i) => portMap.set(port, servers.echo[i]?.port ?? port));
  portMap.set(DEFAULT_PORTS.web, servers.web.port);

  const clusterOf = new Map<string, string>();
  for (const cluster of clustersOf(bootstrap)) {
    for (const socket of socketAddressesOf(cluster)) {
      const real = socket.port_value === undefined ? undefined : portMap.get(socket.port_value);
      if (real !== undefined) socket.port_value = real;
      clusterOf.set(`${socket.address ?? ''}:${socket.port_value ?? ''}`, String(cluster['name']));
    }
  }
  return { bootstrap, clusterOf };
}

function clustersOf(bootstrap: Record<string, unknown>): Record<string, unknown>[] {
  const staticResources = bootstrap['static_resources'] as { clusters?: Record<string, unknown>[] } | undefined;
  return staticResources?.clusters ?? [];
}

/** The mutable `socket_address` objects of a STATIC cluster's endpoints. */
function socketAddressesOf(cluster: Record<string, unknown>): SocketAddress[] {
  type Lb = { endpoint?: { address?: { socket_address?: SocketAddress } } };
  const assignment = cluster['load_assignment'] as { endpoints?: { lb_endpoints?: Lb[] }[] } | undefined;
  const out: SocketAddress[] = [];
  for (const locality of assignment?.endpoints ?? []) {
    for (const lb of locality.lb_endpoints ?? []) {
      const socket = lb.endpoint?.address?.socket_address;
      if (socket !== undefined) out.push(socket);
    }
  }
  return out;
}
