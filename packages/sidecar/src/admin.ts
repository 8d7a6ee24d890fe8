/**
 * The sidecar's admin endpoint: the stats package's admin server (Envoy's paths and formats:
 * `/stats`, `/stats/prometheus`, `/config_dump`, `/clusters`, `/server_info`, `/ready`, `/help`)
 * over the sidecar's mesh, with `/ready` answering 503 (and `/server_info` DRAINING) once the sidecar drains or
 * fails its health checks (`POST /healthcheck/fail`, until `POST /healthcheck/ok`).
 */
import { startAdminServer, type AdminServer } from '@xmesh/stats';
import type { Mesh } from '@xmesh/client';
import { MeshError } from '@xmesh/core';

export function startSidecarAdmin(mesh: Mesh, draining: () => boolean, at: { host: string; port: number }): Promise<AdminServer> {
  const observability = mesh.observability;
  return startAdminServer(
    {
      get store() {
        return observability.store;
      },
      prometheus: { metrics: () => observability.prometheusText(), contentType: 'text/plain; version=0.0.4; charset=utf-8' },
      configDump: (query) => observability.configDump(query),
      configStatus: () => observability.configStatus(),
      clusters: () => observability.clusters(),
      ready: () => !draining() && !(mesh.state() instanceof MeshError),
      draining: () => draining() || mesh.healthCheckFailed,
      failHealthChecks: (failed) => {
        mesh.healthCheckFailed = failed;
      },
    },
    at,
  );
}
